import { describe, expect, it } from 'vitest';
import { test, fc } from '@fast-check/vitest';
import { runCodecProperties } from '@protoplex/core/testing';
import { encodeFrame, parseMessage, type OcppFrame, type ParseResult } from './codec.js';
import { ErrorClass, MAX_MESSAGE_ID_LENGTH, OCPP_VERSIONS, OcppVersion, UNKNOWN_MESSAGE_ID, type ErrorClass as ErrorClassType } from './constants.js';

/** Three tests per row: parse, generate, and generate-then-parse. */
function roundTrip(name: string, version: OcppVersion, frame: OcppFrame, wire: string): void {
  describe(`${name} (${version})`, () => {
    it('parses', () => {
      expect(parseMessage(wire, version)).toEqual({ ok: true, frame });
    });
    it('generates', () => {
      expect(encodeFrame(frame)).toBe(wire);
    });
    it('parses what it generates', () => {
      expect(parseMessage(encodeFrame(frame), version)).toEqual({ ok: true, frame });
    });
  });
}

/** The message is refused with this id, error class and description, and no frame comes out. */
function rejects(version: OcppVersion, wire: string, id: string, errorClass: ErrorClassType, description: string): void {
  it(`refuses ${wire.slice(0, 50)} in ${version} with ${errorClass}`, () => {
    const result = parseMessage(wire, version);
    expect(result.ok).toBe(false);
    expect(result).toEqual({ ok: false, error: expect.objectContaining({ id, errorClass, description }) });
    expect('frame' in result).toBe(false);
  });
}

describe('round trips', () => {
  roundTrip('CALL', OcppVersion.V16, { type: 2, id: '19223201', action: 'BootNotification', payload: { chargePointVendor: 'V', chargePointModel: 'M' } }, '[2,"19223201","BootNotification",{"chargePointVendor":"V","chargePointModel":"M"}]');
  roundTrip('CALLRESULT', OcppVersion.V201, { type: 3, id: 'a', payload: { currentTime: '2026-01-01T00:00:00Z' } }, '[3,"a",{"currentTime":"2026-01-01T00:00:00Z"}]');
  roundTrip('CALLERROR', OcppVersion.V201, { type: 4, id: 'a', code: 'NotImplemented', description: 'x', details: {} }, '[4,"a","NotImplemented","x",{}]');
  roundTrip('CALLRESULTERROR', OcppVersion.V21, { type: 5, id: 'a', code: 'FormatViolation', description: '', details: { k: 1 } }, '[5,"a","FormatViolation","",{"k":1}]');
  roundTrip('SEND', OcppVersion.V21, { type: 6, id: 's', action: 'NotifyPeriodicEventStream', payload: { id: 1 } }, '[6,"s","NotifyPeriodicEventStream",{"id":1}]');
  roundTrip('36-character id', OcppVersion.V16, { type: 3, id: 'x'.repeat(36), payload: {} }, `[3,"${'x'.repeat(36)}",{}]`);
});

describe('refusals', () => {
  rejects(OcppVersion.V201, 'nope', '-1', ErrorClass.RpcFrameworkError, 'Message is not valid JSON');
  rejects(OcppVersion.V201, '{"a":1}', '-1', ErrorClass.RpcFrameworkError, 'Message is not a JSON array');
  rejects(OcppVersion.V201, '[2, 17, "Heartbeat", {}]', '-1', ErrorClass.RpcFrameworkError, 'MessageId could not be read: it must be a string');
  rejects(OcppVersion.V201, `[2, "${'x'.repeat(37)}", "Heartbeat", {}]`, '-1', ErrorClass.RpcFrameworkError, 'MessageId must be 1 to 36 characters');
  rejects(OcppVersion.V201, '[2, "", "Heartbeat", {}]', '-1', ErrorClass.RpcFrameworkError, 'MessageId must be 1 to 36 characters');
  rejects(OcppVersion.V201, '["2", "a", "Heartbeat", {}]', 'a', ErrorClass.RpcFrameworkError, 'MessageTypeId must be an integer');
  rejects(OcppVersion.V201, '[2, "a", "Heartbeat"]', 'a', ErrorClass.RpcFrameworkError, 'CALL must have 4 elements');
  rejects(OcppVersion.V201, '[2, "a", 5, {}]', 'a', ErrorClass.RpcFrameworkError, 'Action must be a non-empty string');
  rejects(OcppVersion.V201, '[2, "a", "Heartbeat", []]', 'a', ErrorClass.FormatViolation, 'Payload must be a JSON object');
  rejects(OcppVersion.V16, '[3, "a", null]', 'a', ErrorClass.FormatViolation, 'Payload must be a JSON object');
  rejects(OcppVersion.V16, '[4, "a", "GenericError", "x"]', 'a', ErrorClass.RpcFrameworkError, 'CALLERROR must have 5 elements');
  rejects(OcppVersion.V16, '[4, "a", 1, "x", {}]', 'a', ErrorClass.RpcFrameworkError, 'CALLERROR needs a string code, a string description and an object of details');
  rejects(OcppVersion.V201, '[6, "a", "NotifyPeriodicEventStream", {}]', 'a', ErrorClass.MessageTypeNotSupported, 'Message type 6 is not supported');
  rejects(OcppVersion.V201, '[5, "a", "GenericError", "", {}]', 'a', ErrorClass.MessageTypeNotSupported, 'Message type 5 is not supported');
  rejects(OcppVersion.V21, '[9, "a"]', 'a', ErrorClass.MessageTypeNotSupported, 'Message type 9 is not supported');

  it('reports the unsupported message type number', () => {
    const result = parseMessage('[7,"z"]', OcppVersion.V16);
    expect(result.ok ? undefined : result.error.messageType).toBe(7);
  });
});

describe('encoding', () => {
  it('cuts a CALLERROR description to 255 characters', () => {
    const wire = encodeFrame({ type: 4, id: 'a', code: 'GenericError', description: 'd'.repeat(300), details: {} });
    expect((JSON.parse(wire) as unknown[])[3]).toHaveLength(255);
  });
});

const versions = fc.constantFrom(OcppVersion.V16, OcppVersion.V201, OcppVersion.V21);
const id = fc.string({ minLength: 1, maxLength: 36 });
const payload = fc.dictionary(fc.string(), fc.jsonValue()) as fc.Arbitrary<Record<string, unknown>>;
const frameOf = (version: OcppVersion): fc.Arbitrary<OcppFrame> => {
  const common: Array<fc.Arbitrary<OcppFrame>> = [
    fc.record({ type: fc.constant(2 as const), id, action: fc.string({ minLength: 1 }), payload }),
    fc.record({ type: fc.constant(3 as const), id, payload }),
    fc.record({ type: fc.constant(4 as const), id, code: fc.string(), description: fc.string({ maxLength: 255 }), details: payload }),
  ];
  if (version === OcppVersion.V21) {
    common.push(
      fc.record({ type: fc.constant(5 as const), id, code: fc.string(), description: fc.string({ maxLength: 255 }), details: payload }),
      fc.record({ type: fc.constant(6 as const), id, action: fc.string({ minLength: 1 }), payload }),
    );
  }
  return fc.oneof(...common);
};

// Arbitrary text, plus JSON arrays of up to six values, which reach past JSON.parse into the
// frame checks.
const inputs = fc.oneof(fc.string(), fc.array(fc.jsonValue(), { maxLength: 6 }).map((array) => JSON.stringify(array)));

for (const version of OCPP_VERSIONS) {
  runCodecProperties<OcppFrame, string, ParseResult>({
    name: `OCPP-J ${version}`,
    frames: frameOf(version),
    encode: encodeFrame,
    decode: (text) => parseMessage(text, version),
    framesOf: (result) => (result.ok ? [result.frame] : []),
    refusalOf: (result) => (result.ok ? undefined : result.error.description),
    // JSON drops -0 and undefined the same way for both sides.
    normalize: (frame) => JSON.parse(JSON.stringify(frame)) as unknown,
    inputs,
  });
}

describe('properties', () => {
  // Not one of the generic codec properties: every refusal says which id its CALLERROR answers.
  test.prop([versions, inputs])('a refusal names the id to answer with: the frame’s own, or "-1"', (version, text) => {
    const result = parseMessage(text, version);
    if (result.ok) return;
    const { id } = result.error;
    expect(id === UNKNOWN_MESSAGE_ID || (id.length >= 1 && id.length <= MAX_MESSAGE_ID_LENGTH)).toBe(true);
  });
});
