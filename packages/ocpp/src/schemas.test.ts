import { describe, expect, it, vi } from 'vitest';
import { ErrorClass } from './constants.js';
import { SCHEMA_CORRECTIONS, actionsOf, classifyError, isSendOnly, schemaOf, validatePayload } from './schemas.js';

describe('schemas', () => {
  it('knows 39 actions in 1.6, 64 in 2.0.1 and 91 in 2.1', () => {
    expect(actionsOf('ocpp1.6').size).toBe(39);
    expect(actionsOf('ocpp2.0.1').size).toBe(64);
    expect(actionsOf('ocpp2.1').size).toBe(91);
  });

  it('treats NotifyPeriodicEventStream as a 2.1 SEND-only message', () => {
    expect(isSendOnly('ocpp2.1', 'NotifyPeriodicEventStream')).toBe(true);
    expect(isSendOnly('ocpp2.1', 'Heartbeat')).toBe(false);
    expect(schemaOf('ocpp2.1', 'NotifyPeriodicEventStream', 'response')).toBeUndefined();
  });

  it('compiles nothing at import and one validator per (version, action, direction) on use', async () => {
    vi.resetModules();
    const fresh = await import('./schemas.js');
    expect(fresh.compiledValidatorCount()).toBe(0);
    fresh.validatePayload('ocpp1.6', 'Heartbeat', 'request', {});
    fresh.validatePayload('ocpp1.6', 'Heartbeat', 'request', {});
    expect(fresh.compiledValidatorCount()).toBe(1);
    fresh.validatePayload('ocpp1.6', 'Heartbeat', 'response', { currentTime: '2026-01-01T00:00:00Z' });
    expect(fresh.compiledValidatorCount()).toBe(2);
  });

  it('applies every correction to a copy, leaving typed-ocpp’s objects alone', async () => {
    const typed16 = (await import('typed-ocpp/dist/ocpp16/schemas.js')) as Record<string, { properties: Record<string, { maxLength?: number }> }>;
    expect(typed16['ChangeConfigurationRequest']!.properties['value']!.maxLength).toBe(2048);
    for (const correction of SCHEMA_CORRECTIONS) {
      const action = correction.schema.replace(/(Request|Response)$/, '');
      const direction = correction.schema.endsWith('Request') ? 'request' : 'response';
      let node: unknown = schemaOf(correction.version, action, direction);
      for (const key of correction.path) node = (node as Record<string, unknown>)[key];
      expect(node, `${correction.version} ${correction.schema}`).toEqual(correction.value);
    }
  });

  it('returns undefined for an unknown action', () => {
    expect(schemaOf('ocpp1.6', 'TransactionEvent', 'request')).toBeUndefined();
    expect(validatePayload('ocpp1.6', 'TransactionEvent', 'request', {})).toBeUndefined();
  });
});

describe('classifyError', () => {
  const table: Array<[string, string, ErrorClass, ErrorClass]> = [
    ['required', '', ErrorClass.OccurrenceConstraintViolation, ErrorClass.OccurrenceConstraintViolation],
    ['minItems', '/a', ErrorClass.OccurrenceConstraintViolation, ErrorClass.OccurrenceConstraintViolation],
    ['maxItems', '/a', ErrorClass.OccurrenceConstraintViolation, ErrorClass.OccurrenceConstraintViolation],
    ['type', '/a', ErrorClass.TypeConstraintViolation, ErrorClass.TypeConstraintViolation],
    ['type', '', ErrorClass.FormatViolation, ErrorClass.FormatViolation],
    ['enum', '/a', ErrorClass.PropertyConstraintViolation, ErrorClass.PropertyConstraintViolation],
    ['maxLength', '/a', ErrorClass.PropertyConstraintViolation, ErrorClass.PropertyConstraintViolation],
    ['format', '/a', ErrorClass.PropertyConstraintViolation, ErrorClass.PropertyConstraintViolation],
    ['minimum', '/a', ErrorClass.PropertyConstraintViolation, ErrorClass.PropertyConstraintViolation],
    ['multipleOf', '/a', ErrorClass.PropertyConstraintViolation, ErrorClass.PropertyConstraintViolation],
    ['additionalProperties', '', ErrorClass.FormatViolation, ErrorClass.ProtocolError],
  ];
  for (const [keyword, instancePath, in16, in2x] of table) {
    it(`classifies ${keyword}${instancePath === '' ? ' at the root' : ''} as ${in16} in 1.6 and ${in2x} in 2.x`, () => {
      expect(classifyError('ocpp1.6', { keyword, instancePath })).toBe(in16);
      expect(classifyError('ocpp2.0.1', { keyword, instancePath })).toBe(in2x);
      expect(classifyError('ocpp2.1', { keyword, instancePath })).toBe(in2x);
    });
  }
});
