import { describe, expect, it } from 'vitest';
import { createAdapterRegistry } from './adapter-registry.js';
import type { ProtocolAdapter } from './contract.js';
import { HandshakeError, RegistryError } from './errors.js';

const adapter = (name: string, protocols: string[], aliases?: string[]): ProtocolAdapter => ({
  name,
  protocols,
  ...(aliases ? { aliases } : {}),
  open: () => ({ onMessage() {}, onClose() {} }),
});

const stomp = adapter('stomp', ['v12.stomp', 'v11.stomp', 'v10.stomp']);
const mqtt = adapter('mqtt', ['mqtt'], ['mqttv3.1']);

describe('createAdapterRegistry', () => {
  it('lists ids in preference order, aliases last, and marks registration', () => {
    const registry = createAdapterRegistry([mqtt, stomp]);
    expect(registry.served.map((s) => [s.id, s.registered, s.alias])).toEqual([
      ['mqtt', true, false],
      ['v12.stomp', true, false],
      ['v11.stomp', true, false],
      ['v10.stomp', true, false],
      ['mqttv3.1', false, true],
    ]);
  });

  it('refuses two adapters claiming one id', () => {
    expect(() => createAdapterRegistry([mqtt, adapter('other', ['mqtt'])])).toThrow(
      expect.objectContaining({ code: 'PPX_REGISTRY_DUPLICATE_ID' }),
    );
  });

  it('refuses two ids that differ only by case', () => {
    expect(() => createAdapterRegistry([adapter('a', ['echo.x']), adapter('b', ['Echo.X'])])).toThrow(RegistryError);
  });

  it('refuses an unregistered id that differs only by case from an IANA id', () => {
    expect(() => createAdapterRegistry([adapter('a', ['MQTT'])])).toThrow(expect.objectContaining({ code: 'PPX_REGISTRY_CASE_CONFLICT' }));
  });

  it.each(['', 'a b', 'a,b', 'caf\u00e9', 'x/y'])('refuses the non-token id %j', (id) => {
    expect(() => createAdapterRegistry([adapter('a', [id])])).toThrow(expect.objectContaining({ code: 'PPX_REGISTRY_NOT_A_TOKEN' }));
  });

  it('refuses an adapter with no ids', () => {
    expect(() => createAdapterRegistry([adapter('a', [])])).toThrow(expect.objectContaining({ code: 'PPX_REGISTRY_NO_PROTOCOLS' }));
  });

  it('allows an id IANA does not list and flags it', () => {
    const registry = createAdapterRegistry([adapter('echo', ['echo.protoplex.dev'])]);
    expect(registry.lookup('echo.protoplex.dev')?.registered).toBe(false);
  });
});

describe('AdapterRegistry.negotiate', () => {
  const registry = createAdapterRegistry([stomp, mqtt]);

  it('accepts the server-preferred offered id', () => {
    const result = registry.negotiate('v10.stomp, v12.stomp');
    expect(result).toMatchObject({ type: 'accept', protocol: 'v12.stomp' });
  });

  it('prefers a registered id over an alias when both are offered', () => {
    expect(registry.negotiate('mqttv3.1, mqtt')).toMatchObject({ type: 'accept', protocol: 'mqtt' });
    expect(registry.negotiate('mqttv3.1')).toMatchObject({ type: 'accept', protocol: 'mqttv3.1', served: { registered: false } });
  });

  it('refuses a malformed offer with 400', () => {
    const result = registry.negotiate('mqtt,,v12.stomp');
    expect(result.type).toBe('refuse');
    if (result.type === 'refuse') {
      expect(result.error).toBeInstanceOf(HandshakeError);
      expect(result.error.status).toBe(400);
      expect(result.error.code).toBe('PPX_HANDSHAKE_MALFORMED_OFFER');
    }
  });

  it('refuses no match with 400 listing the supported ids', () => {
    const result = registry.negotiate('wamp');
    expect(result.type).toBe('refuse');
    if (result.type === 'refuse') {
      expect(result.error.status).toBe(400);
      expect(result.error.message).toContain('v12.stomp, v11.stomp, v10.stomp, mqtt, mqttv3.1');
    }
  });

  it('treats a missing header as no match', () => {
    expect(registry.negotiate(undefined)).toMatchObject({ type: 'refuse', error: { status: 400, code: 'PPX_HANDSHAKE_NO_MATCHING_PROTOCOL' } });
  });

  it('uses the fallback adapter for no match and for no header', () => {
    const withFallback = createAdapterRegistry([stomp], { fallback: mqtt });
    expect(withFallback.negotiate(undefined)).toEqual({ type: 'fallback', adapter: mqtt });
    expect(withFallback.negotiate('nope')).toEqual({ type: 'fallback', adapter: mqtt });
    expect(withFallback.negotiate('a,,b').type).toBe('refuse');
  });

  it('closes after the upgrade when asked to (OCPP-J)', () => {
    const ocpp = createAdapterRegistry([adapter('ocpp', ['ocpp2.0.1', 'ocpp1.6'])], { onNoMatch: 'close' });
    expect(ocpp.negotiate('ocpp1.5')).toMatchObject({ type: 'close', code: 1002 });
    expect(ocpp.negotiate(undefined)).toMatchObject({ type: 'close' });
  });

  it('follows client order when configured', () => {
    const client = createAdapterRegistry([stomp], { preference: 'client' });
    expect(client.negotiate('v10.stomp, v12.stomp')).toMatchObject({ protocol: 'v10.stomp' });
  });

  it('does not match a case variant', () => {
    expect(registry.negotiate('MQTT').type).toBe('refuse');
  });
});

describe('createAdapterRegistry options', () => {
  it('refuses a noMatchCloseCode that may never be sent', () => {
    expect(() => createAdapterRegistry([stomp], { onNoMatch: 'close', noMatchCloseCode: 1006 })).toThrow(RangeError);
  });
});
