import { describe, expect, it } from 'vitest';
import { createTestHarness } from '@protoplex/core/testing';
import { ocpp } from './adapter.js';
import { actionsOf, isSendOnly, isValidatorCompiled } from './schemas.js';

// Each test file gets its own module instance, so the validator cache starts empty here.
describe('precompile', () => {
  it('compiles nothing at creation or setup by default', async () => {
    const csms = ocpp();
    await createTestHarness().connect(csms, { protocol: 'ocpp2.0.1', request: { params: { identity: 'CP1' } } });
    expect(isValidatorCompiled('ocpp2.0.1', 'TransactionEvent', 'request')).toBe(false);
  });

  it('compiles the listed actions, request and response, in setup and not before', async () => {
    const csms = ocpp({ precompile: [{ version: 'ocpp2.0.1', action: 'NotifyReport' }] });
    expect(isValidatorCompiled('ocpp2.0.1', 'NotifyReport', 'request')).toBe(false);
    await csms.setup?.(createTestHarness().context);
    expect(isValidatorCompiled('ocpp2.0.1', 'NotifyReport', 'request')).toBe(true);
    expect(isValidatorCompiled('ocpp2.0.1', 'NotifyReport', 'response')).toBe(true);
    expect(isValidatorCompiled('ocpp2.1', 'NotifyReport', 'request')).toBe(false);
  });

  it('compiles every action of every served version with "all", and only the request of a SEND-only message', async () => {
    const csms = ocpp({ versions: ['ocpp1.6'], precompile: 'all' });
    await csms.setup?.(createTestHarness().context);
    for (const action of actionsOf('ocpp1.6')) {
      expect(isValidatorCompiled('ocpp1.6', action, 'request'), action).toBe(true);
      expect(isValidatorCompiled('ocpp1.6', action, 'response'), action).toBe(!isSendOnly('ocpp1.6', action));
    }
    expect(isValidatorCompiled('ocpp2.0.1', 'Heartbeat', 'request')).toBe(false);
  });

  it('refuses at creation an action the version lacks or a version that is not served', () => {
    expect(() => ocpp({ precompile: [{ version: 'ocpp1.6', action: 'TransactionEvent' }] })).toThrow(/has no action/);
    expect(() => ocpp({ versions: ['ocpp1.6'], precompile: [{ version: 'ocpp2.1', action: 'Heartbeat' }] })).toThrow(/not a served version/);
  });
});
