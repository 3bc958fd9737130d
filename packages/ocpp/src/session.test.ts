import { describe, expect, it, vi } from 'vitest';
import { test as fcTest, fc } from '@fast-check/vitest';
import { createTestHarness, type TestHarness, type TestPeer } from '@protoplex/core/testing';
import type { BusMessage, Logger } from '@protoplex/core';
import { ocpp, type OcppOptions } from './adapter.js';
import { OcppCallError, OcppNotConnectedError, OcppTimeoutError } from './errors.js';
import type { OcppVersion } from './constants.js';

const NOW = '2026-11-25T12:00:00Z';
const boot201 = { reason: 'PowerUp', chargingStation: { model: 'M1', vendorName: 'V' } };
const boot16 = { chargePointVendor: 'V', chargePointModel: 'M1' };

async function setup(protocol: OcppVersion, options: OcppOptions = {}, identity = 'CP1', log?: Logger) {
  const csms = ocpp(options);
  const harness = createTestHarness(log ? { log } : {});
  const peer = await harness.connect(csms, { protocol, request: { params: { identity } } });
  return { csms, harness, peer };
}

function frames(peer: TestPeer): unknown[] {
  return peer.takeText().map((text) => JSON.parse(text) as unknown);
}

function collect(harness: TestHarness, filter: string): BusMessage[] {
  const seen: BusMessage[] = [];
  harness.bus.subscribe(filter, (message) => seen.push(message));
  return seen;
}

const text = (message: BusMessage): unknown => JSON.parse(new TextDecoder().decode(message.payload));

/** A logger that keeps what was logged at `error`. */
function errorLog(): { log: Logger; errors: Array<Record<string, unknown>> } {
  const errors: Array<Record<string, unknown>> = [];
  const noop = (): void => {};
  const log: Logger = {
    debug: noop,
    info: noop,
    warn: noop,
    error: (fields: Record<string, unknown> | string) => void errors.push(typeof fields === 'string' ? { message: fields } : fields),
    child: () => log,
  };
  return { log, errors };
}

describe('inbound CALLs', () => {
  it('answers a 2.0.1 BootNotification with the handler response as a CALLRESULT', async () => {
    const { csms, peer } = await setup('ocpp2.0.1');
    csms.onCall('BootNotification', () => ({ currentTime: NOW, interval: 300, status: 'Accepted' as const }));
    peer.send(JSON.stringify([2, 'a1', 'BootNotification', boot201]));
    expect(frames(peer)).toEqual([[3, 'a1', { currentTime: NOW, interval: 300, status: 'Accepted' }]]);
  });

  it('answers asynchronously when the handler returns a promise', async () => {
    const { csms, peer } = await setup('ocpp1.6');
    csms.onCall('Heartbeat', async () => ({ currentTime: NOW }));
    peer.send(JSON.stringify([2, 'h1', 'Heartbeat', {}]));
    expect(frames(peer)).toEqual([]);
    await Promise.resolve();
    await Promise.resolve();
    expect(frames(peer)).toEqual([[3, 'h1', { currentTime: NOW }]]);
  });

  it('passes identity, protocol and message id to the handler', async () => {
    const { csms, peer } = await setup('ocpp2.1');
    const seen: unknown[] = [];
    csms.onCall('Heartbeat', (_payload, context) => {
      seen.push(context);
      return { currentTime: NOW };
    });
    peer.send(JSON.stringify([2, 'h1', 'Heartbeat', {}]));
    expect(seen).toEqual([{ identity: 'CP1', protocol: 'ocpp2.1', messageId: 'h1', kind: 'call' }]);
  });

  it('uses a handler only for the versions it was registered for', async () => {
    const { csms, peer } = await setup('ocpp1.6', { defaultHandlers: false });
    csms.onCall('Heartbeat', () => ({ currentTime: NOW }), { versions: ['ocpp2.0.1'] });
    peer.send(JSON.stringify([2, 'h1', 'Heartbeat', {}]));
    expect(frames(peer)).toEqual([[4, 'h1', 'NotSupported', 'No handler for Heartbeat', {}]]);
  });

  it('stops answering once the handler is removed', async () => {
    const { csms, peer } = await setup('ocpp1.6', { defaultHandlers: false });
    const off = csms.onCall('Heartbeat', () => ({ currentTime: NOW }));
    off();
    peer.send(JSON.stringify([2, 'h1', 'Heartbeat', {}]));
    expect((frames(peer)[0] as unknown[])[2]).toBe('NotSupported');
  });

  it('answers NotImplemented for an action the version does not define', async () => {
    const { peer } = await setup('ocpp2.0.1');
    peer.send(JSON.stringify([2, 'x1', 'StartTransaction', { connectorId: 1 }]));
    expect(frames(peer)).toEqual([[4, 'x1', 'NotImplemented', 'Action StartTransaction is not known in ocpp2.0.1', {}]]);
  });

  it('answers a second CALL sent before the first was answered with the version error', async () => {
    const { csms, peer } = await setup('ocpp2.0.1');
    let release: (value: { currentTime: string }) => void = () => {};
    csms.onCall('Heartbeat', () => new Promise<{ currentTime: string }>((resolve) => (release = resolve)));
    peer.send(JSON.stringify([2, 'h1', 'Heartbeat', {}]));
    peer.send(JSON.stringify([2, 'h2', 'Heartbeat', {}]));
    const [error] = frames(peer) as unknown[][];
    expect(error?.slice(0, 3)).toEqual([4, 'h2', 'RpcFrameworkError']);
    release({ currentTime: NOW });
    await Promise.resolve();
    expect(frames(peer)).toEqual([[3, 'h1', { currentTime: NOW }]]);
  });

  it('answers a CALLERROR with the code of an OcppCallError the handler throws', async () => {
    const { csms, peer } = await setup('ocpp2.0.1');
    csms.onCall('Authorize', () => {
      throw new OcppCallError('SecurityError', 'not today', { why: 'test' });
    });
    peer.send(JSON.stringify([2, 'a1', 'Authorize', { idToken: { idToken: 'X', type: 'ISO14443' } }]));
    expect(frames(peer)).toEqual([[4, 'a1', 'SecurityError', 'not today', { why: 'test' }]]);
  });

  it('answers InternalError without details when the handler throws anything else', async () => {
    const { csms, peer } = await setup('ocpp2.0.1');
    csms.onCall('Heartbeat', () => {
      throw new Error('database password is hunter2');
    });
    peer.send(JSON.stringify([2, 'h1', 'Heartbeat', {}]));
    expect(frames(peer)).toEqual([[4, 'h1', 'InternalError', 'Internal error', {}]]);
  });

  it('answers InternalError when the handler returns a response that fails its schema', async () => {
    const { csms, peer } = await setup('ocpp1.6');
    csms.onCall('Heartbeat', () => ({ currentTime: 'yesterday' }));
    peer.send(JSON.stringify([2, 'h1', 'Heartbeat', {}]));
    expect((frames(peer)[0] as unknown[]).slice(0, 3)).toEqual([4, 'h1', 'InternalError']);
  });
});

describe('payload validation uses each version’s error codes', () => {
  const cases: Array<[string, OcppVersion, string, unknown, string]> = [
    ['missing required field (1.6)', 'ocpp1.6', 'BootNotification', { chargePointVendor: 'V' }, 'OccurenceConstraintViolation'],
    ['missing required field (2.0.1)', 'ocpp2.0.1', 'BootNotification', { reason: 'PowerUp' }, 'OccurrenceConstraintViolation'],
    ['missing required field (2.1)', 'ocpp2.1', 'BootNotification', { reason: 'PowerUp' }, 'OccurrenceConstraintViolation'],
    ['wrong type (1.6)', 'ocpp1.6', 'BootNotification', { chargePointVendor: 12, chargePointModel: 'M' }, 'TypeConstraintViolation'],
    ['wrong type (2.0.1)', 'ocpp2.0.1', 'StatusNotification', { timestamp: NOW, connectorStatus: 'Available', evseId: '1', connectorId: 1 }, 'TypeConstraintViolation'],
    ['string too long (1.6)', 'ocpp1.6', 'BootNotification', { chargePointVendor: 'V'.repeat(21), chargePointModel: 'M' }, 'PropertyConstraintViolation'],
    ['bad enum (2.0.1)', 'ocpp2.0.1', 'BootNotification', { reason: 'Bored', chargingStation: { model: 'M', vendorName: 'V' } }, 'PropertyConstraintViolation'],
    ['bad date-time (1.6)', 'ocpp1.6', 'StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Available', timestamp: 'noon' }, 'PropertyConstraintViolation'],
    ['unknown field (1.6)', 'ocpp1.6', 'Heartbeat', { extra: 1 }, 'FormationViolation'],
    ['unknown field (2.0.1)', 'ocpp2.0.1', 'Heartbeat', { extra: 1 }, 'ProtocolError'],
    ['corrected 1.6 maxLength (StatusNotification info 50)', 'ocpp1.6', 'StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Available', info: 'i'.repeat(51) }, 'PropertyConstraintViolation'],
    ['corrected 1.6 minItems (MeterValues meterValue)', 'ocpp1.6', 'MeterValues', { connectorId: 1, meterValue: [] }, 'OccurenceConstraintViolation'],
  ];
  for (const [name, version, action, payload, code] of cases) {
    it(`answers ${code} for ${name}`, async () => {
      const { csms, peer } = await setup(version);
      let called = false;
      csms.onCall(action as 'Heartbeat', () => {
        called = true;
        return { currentTime: NOW };
      });
      peer.send(JSON.stringify([2, 'v1', action, payload]));
      const [reply] = frames(peer) as unknown[][];
      expect(reply?.slice(0, 3)).toEqual([4, 'v1', code]);
      expect(called).toBe(false);
      expect(peer.closed).toBeUndefined();
    });
  }

  it('accepts the 1.6 Hertz unit that typed-ocpp lacks', async () => {
    const { csms, peer } = await setup('ocpp1.6');
    csms.onCall('MeterValues', () => ({}));
    peer.send(JSON.stringify([2, 'm1', 'MeterValues', { connectorId: 1, meterValue: [{ timestamp: NOW, sampledValue: [{ value: '50', unit: 'Hertz' }] }] }]));
    expect(frames(peer)).toEqual([[3, 'm1', {}]]);
  });

  it('skips validation when validate is false', async () => {
    const { csms, peer } = await setup('ocpp1.6', { validate: false });
    csms.onCall('Heartbeat', () => ({ currentTime: 'whenever' }));
    peer.send(JSON.stringify([2, 'h1', 'Heartbeat', { extra: true }]));
    expect(frames(peer)).toEqual([[3, 'h1', { currentTime: 'whenever' }]]);
  });
});

describe('bad frames', () => {
  it('answers non-JSON with message id "-1" and RpcFrameworkError in 2.x, keeping the connection', async () => {
    const { peer } = await setup('ocpp2.0.1');
    peer.send('{not json');
    expect(frames(peer)).toEqual([[4, '-1', 'RpcFrameworkError', 'Message is not valid JSON', {}]]);
    expect(peer.closed).toBeUndefined();
  });

  it('answers non-JSON with message id "-1" and FormationViolation in 1.6', async () => {
    const { peer } = await setup('ocpp1.6');
    peer.send('[2, "a"');
    expect((frames(peer)[0] as unknown[]).slice(0, 3)).toEqual([4, '-1', 'FormationViolation']);
  });

  it('answers a message id longer than 36 characters with id "-1"', async () => {
    const { peer } = await setup('ocpp2.1');
    peer.send(JSON.stringify([2, 'x'.repeat(37), 'Heartbeat', {}]));
    expect((frames(peer)[0] as unknown[]).slice(0, 3)).toEqual([4, '-1', 'RpcFrameworkError']);
  });

  it('answers a CALL with the wrong number of elements with its own id', async () => {
    const { peer } = await setup('ocpp2.0.1');
    peer.send(JSON.stringify([2, 'short', 'Heartbeat']));
    expect((frames(peer)[0] as unknown[]).slice(0, 3)).toEqual([4, 'short', 'RpcFrameworkError']);
  });

  it('answers an unknown message type with MessageTypeNotSupported in 2.0.1', async () => {
    const { peer } = await setup('ocpp2.0.1');
    peer.send(JSON.stringify([6, 's1', 'NotifyPeriodicEventStream', {}]));
    expect((frames(peer)[0] as unknown[]).slice(0, 3)).toEqual([4, 's1', 'MessageTypeNotSupported']);
  });

  it('ignores an unknown message type in 1.6 even when its id cannot be read', async () => {
    const { peer } = await setup('ocpp1.6');
    peer.send(JSON.stringify([9, 17, 'x']));
    peer.send(JSON.stringify([6, 'x'.repeat(40), 'Heartbeat', {}]));
    expect(frames(peer)).toEqual([]);
  });

  it('answers an unknown message type with an unreadable id with MessageTypeNotSupported and id "-1" in 2.x', async () => {
    const { peer } = await setup('ocpp2.0.1');
    peer.send(JSON.stringify([9, 17]));
    expect(frames(peer)).toEqual([[4, '-1', 'MessageTypeNotSupported', 'Message type 9 is not supported', {}]]);
  });

  it('ignores an unknown message type in 1.6, as §4.1.3 requires', async () => {
    const { peer } = await setup('ocpp1.6');
    peer.send(JSON.stringify([7, 'z1', 'Heartbeat', {}]));
    expect(frames(peer)).toEqual([]);
    expect(peer.closed).toBeUndefined();
  });

  it('answers a binary frame with a CALLERROR and closes with 1003', async () => {
    const { peer } = await setup('ocpp2.0.1');
    peer.send(new TextEncoder().encode(JSON.stringify([2, 'b1', 'Heartbeat', {}])), true);
    expect(frames(peer)).toEqual([[4, '-1', 'RpcFrameworkError', 'OCPP-J messages must be text frames', {}]]);
    expect(peer.closed).toEqual({ code: 1003, reason: 'binary frames are not OCPP-J messages', by: 'server' });
  });

  it('answers a binary frame in 1.6 with FormationViolation', async () => {
    const { peer } = await setup('ocpp1.6');
    peer.send(new Uint8Array([0x5b, 0x5d]), true);
    expect((frames(peer)[0] as unknown[]).slice(0, 3)).toEqual([4, '-1', 'FormationViolation']);
    expect(peer.closed).toMatchObject({ code: 1003 });
  });

  it('answers an oversized message with a CALLERROR and closes with 1009', async () => {
    const { peer } = await setup('ocpp2.0.1', { maxMessageLength: 100 });
    peer.send(JSON.stringify([2, 'big', 'DataTransfer', { vendorId: 'v', data: 'x'.repeat(200) }]));
    expect(frames(peer)).toEqual([[4, '-1', 'RpcFrameworkError', 'Message longer than 100 characters', {}]]);
    expect(peer.closed).toEqual({ code: 1009, reason: 'message too big', by: 'server' });
  });
});

describe('server CALLs', () => {
  it('sends one CALL at a time and the next once the first is answered', async () => {
    const { csms, peer } = await setup('ocpp2.0.1');
    const station = csms.station('CP1');
    const first = station.call('Reset', { type: 'Immediate' });
    const second = station.call('ClearCache', {});
    const sent = frames(peer) as unknown[][];
    expect(sent).toHaveLength(1);
    expect(sent[0]?.[0]).toBe(2);
    expect(sent[0]?.[2]).toBe('Reset');
    expect(sent[0]?.[3]).toEqual({ type: 'Immediate' });
    peer.send(JSON.stringify([3, sent[0]![1], { status: 'Accepted' }]));
    await expect(first).resolves.toEqual({ status: 'Accepted' });
    const next = frames(peer) as unknown[][];
    expect(next.map((f) => f[2])).toEqual(['ClearCache']);
    peer.send(JSON.stringify([3, next[0]![1], { status: 'Rejected' }]));
    await expect(second).resolves.toEqual({ status: 'Rejected' });
  });

  it('rejects with OcppCallError carrying the station’s CALLERROR', async () => {
    const { csms, peer } = await setup('ocpp1.6');
    const call = csms.station('CP1').call('ClearCache', {});
    const [sent] = frames(peer) as unknown[][];
    peer.send(JSON.stringify([4, sent![1], 'NotSupported', 'nope', { a: 1 }]));
    await expect(call).rejects.toMatchObject({ name: 'OcppCallError', code: 'NotSupported', description: 'nope', details: { a: 1 } });
  });

  it('rejects with OcppTimeoutError after the timeout and sends the next CALL', async () => {
    const { csms, harness, peer } = await setup('ocpp1.6');
    const first = csms.station('CP1').call('ClearCache', {}, { timeout: 1000 });
    const second = csms.station('CP1').call('ClearCache', {});
    frames(peer);
    harness.clock.advance(999);
    expect(frames(peer)).toEqual([]);
    harness.clock.advance(1);
    await expect(first).rejects.toBeInstanceOf(OcppTimeoutError);
    const [next] = frames(peer) as unknown[][];
    expect(next?.[2]).toBe('ClearCache');
    peer.send(JSON.stringify([3, next![1], { status: 'Accepted' }]));
    await expect(second).resolves.toEqual({ status: 'Accepted' });
  });

  it('ignores a late answer to a timed-out CALL', async () => {
    const { csms, harness, peer } = await setup('ocpp1.6');
    const first = csms.station('CP1').call('ClearCache', {}, { timeout: 10 });
    const [sent] = frames(peer) as unknown[][];
    harness.clock.advance(10);
    await expect(first).rejects.toBeInstanceOf(OcppTimeoutError);
    expect(() => peer.send(JSON.stringify([3, sent![1], { status: 'Accepted' }]))).not.toThrow();
    expect(frames(peer)).toEqual([]);
  });

  it('rejects a request that fails its schema without sending it', async () => {
    const { csms, peer } = await setup('ocpp2.0.1');
    await expect(csms.station('CP1').call('Reset', { type: 'Later' } as never)).rejects.toMatchObject({ code: 'PropertyConstraintViolation' });
    expect(frames(peer)).toEqual([]);
  });

  it('rejects a CALLRESULT that fails its schema, and tells a 2.1 station with CALLRESULTERROR', async () => {
    const { csms, peer } = await setup('ocpp2.1');
    const call = csms.station('CP1').call('Reset', { type: 'Immediate' });
    const [sent] = frames(peer) as unknown[][];
    peer.send(JSON.stringify([3, sent![1], { status: 'Maybe' }]));
    await expect(call).rejects.toMatchObject({ code: 'PropertyConstraintViolation' });
    expect((frames(peer)[0] as unknown[]).slice(0, 3)).toEqual([5, sent![1], 'PropertyConstraintViolation']);
  });

  it('rejects pending and queued calls with OcppNotConnectedError when the station goes away, before any timeout', async () => {
    const { csms, harness, peer } = await setup('ocpp1.6');
    const first = csms.station('CP1').call('ClearCache', {});
    const second = csms.station('CP1').call('ClearCache', {});
    const startedAt = harness.clock.now();
    peer.drop();
    expect(harness.clock.now()).toBe(startedAt);
    await expect(first).rejects.toBeInstanceOf(OcppNotConnectedError);
    await expect(second).rejects.toBeInstanceOf(OcppNotConnectedError);
    await expect(csms.station('CP1').call('ClearCache', {})).rejects.toBeInstanceOf(OcppNotConnectedError);
  });

  it('rejects a call narrowed to another version', async () => {
    const { csms } = await setup('ocpp1.6');
    await expect(csms.station('CP1', 'ocpp2.0.1').call('ClearCache', {})).rejects.toBeInstanceOf(OcppNotConnectedError);
  });
});

describe('the bus', () => {
  it('publishes a station CALL on ocpp/cp/{identity}/{Action} and the answer on .../result', async () => {
    const { csms, harness, peer } = await setup('ocpp2.0.1');
    const seen = collect(harness, 'ocpp/cp/#');
    csms.onCall('Heartbeat', () => ({ currentTime: NOW }));
    peer.send(JSON.stringify([2, 'h1', 'Heartbeat', {}]));
    expect(seen.map((m) => m.topic)).toEqual(['ocpp/cp/CP1/Heartbeat', 'ocpp/cp/CP1/Heartbeat/result']);
    expect(text(seen[0]!)).toEqual({});
    expect(text(seen[1]!)).toEqual({ currentTime: NOW });
    expect(seen[0]!.headers).toMatchObject({ 'ocpp-message-id': 'h1', 'ocpp-protocol': 'ocpp2.0.1' });
  });

  it('builds no bus message for a station CALL nobody subscribes to, and publishes it once when someone does', async () => {
    const { csms, harness, peer } = await setup('ocpp2.0.1');
    csms.onCall('Heartbeat', () => ({ currentTime: NOW }));
    const publish = vi.spyOn(harness.bus, 'publish');
    // The payload is encoded only to build a bus message: no encoding means nothing was built.
    const encode = vi.spyOn(TextEncoder.prototype, 'encode');
    try {
      peer.send(JSON.stringify([2, 'h1', 'Heartbeat', {}]));
      expect(frames(peer)).toEqual([[3, 'h1', { currentTime: NOW }]]);
      expect(publish).not.toHaveBeenCalled();
      expect(encode).not.toHaveBeenCalled();

      const seen = collect(harness, 'ocpp/cp/#');
      peer.send(JSON.stringify([2, 'h2', 'Heartbeat', {}]));
      const topics = publish.mock.calls.map(([message]) => message.topic);
      expect(topics.filter((topic) => topic === 'ocpp/cp/CP1/Heartbeat')).toHaveLength(1);
      expect(topics).toEqual(['ocpp/cp/CP1/Heartbeat', 'ocpp/cp/CP1/Heartbeat/result']);
      expect(seen.map((m) => m.topic)).toEqual(topics);
    } finally {
      encode.mockRestore();
      publish.mockRestore();
    }
  });

  it('asks per topic: a subscriber to results only gets no CALL built', async () => {
    const { csms, harness, peer } = await setup('ocpp1.6');
    csms.onCall('Authorize', () => {
      throw new OcppCallError('SecurityError', 'blocked');
    });
    const seen = collect(harness, 'ocpp/cp/+/+/result');
    const publish = vi.spyOn(harness.bus, 'publish');
    try {
      peer.send(JSON.stringify([2, 'a1', 'Authorize', { idTag: 'X' }]));
      expect(publish.mock.calls.map(([message]) => message.topic)).toEqual(['ocpp/cp/CP1/Authorize/result']);
      expect(text(seen[0]!)).toEqual({ errorCode: 'SecurityError', errorDescription: 'blocked', errorDetails: {} });
      expect(seen[0]!.headers).toMatchObject({ 'ocpp-message-type': 'CALLERROR', 'ocpp-message-id': 'a1' });
    } finally {
      publish.mockRestore();
    }
  });

  it('builds no CALLERROR result and no 2.1 SEND message nobody subscribes to', async () => {
    const { csms, harness, peer } = await setup('ocpp2.1');
    csms.onCall('Heartbeat', () => {
      throw new OcppCallError('GenericError', 'no');
    });
    csms.onCall('NotifyPeriodicEventStream', () => {});
    const publish = vi.spyOn(harness.bus, 'publish');
    try {
      peer.send(JSON.stringify([2, 'h1', 'Heartbeat', {}]));
      peer.send(JSON.stringify([6, 's1', 'NotifyPeriodicEventStream', { id: 1, pending: 0, basetime: NOW, data: [] }]));
      expect(frames(peer)).toEqual([[4, 'h1', 'GenericError', 'no', {}]]);
      expect(publish).not.toHaveBeenCalled();
    } finally {
      publish.mockRestore();
    }
  });

  it('publishes nothing with publish: false, subscribers or not', async () => {
    const { csms, harness, peer } = await setup('ocpp2.0.1', { publish: false });
    csms.onCall('Heartbeat', () => ({ currentTime: NOW }));
    const seen = collect(harness, 'ocpp/cp/#');
    peer.send(JSON.stringify([2, 'h1', 'Heartbeat', {}]));
    expect(seen).toEqual([]);
  });

  it('turns a message on ocpp/cs/{identity}/{Action} into a CALL and publishes its result', async () => {
    const { harness, peer } = await setup('ocpp2.0.1');
    const results = collect(harness, 'ocpp/cs/CP1/+/result');
    harness.bus.publish({
      topic: 'ocpp/cs/CP1/Reset',
      payload: new TextEncoder().encode(JSON.stringify({ type: 'OnIdle' })),
      headers: { 'correlation-id': 'c-1' },
      origin: { protocol: 'mqtt' },
      qos: 0,
    });
    const [sent] = frames(peer) as unknown[][];
    expect(sent?.slice(2)).toEqual(['Reset', { type: 'OnIdle' }]);
    peer.send(JSON.stringify([3, sent![1], { status: 'Scheduled' }]));
    await Promise.resolve();
    expect(results.map((m) => m.topic)).toEqual(['ocpp/cs/CP1/Reset/result']);
    expect(text(results[0]!)).toEqual({ status: 'Scheduled' });
    expect(results[0]!.headers).toMatchObject({ 'ocpp-message-type': 'CALLRESULT', 'correlation-id': 'c-1' });
  });

  it('publishes a CALLERROR result for a command that fails its schema', async () => {
    const { harness, peer } = await setup('ocpp1.6');
    const results = collect(harness, 'ocpp/cs/+/+/result');
    harness.bus.publish({ topic: 'ocpp/cs/CP1/Reset', payload: new TextEncoder().encode('{"type":"Gently"}'), origin: { protocol: 'stomp' }, qos: 0 });
    await Promise.resolve();
    expect(frames(peer)).toEqual([]);
    expect(text(results[0]!)).toMatchObject({ errorCode: 'PropertyConstraintViolation' });
  });

  it('encodes an identity holding "/" and "+" so it stays one topic level', async () => {
    const { csms, harness, peer } = await setup('ocpp1.6', {}, 'a/b+c');
    const seen = collect(harness, 'ocpp/cp/+/Heartbeat');
    csms.onCall('Heartbeat', () => ({ currentTime: NOW }));
    peer.send(JSON.stringify([2, 'h1', 'Heartbeat', {}]));
    expect(seen.map((m) => m.topic)).toEqual(['ocpp/cp/a%2Fb%2Bc/Heartbeat']);
  });

  it('holds no per-connection subscription and sends nothing to a closed station', async () => {
    const { harness, peer } = await setup('ocpp1.6');
    expect(peer.scope.holdings().subscriptions).toBe(0);
    peer.close(1000, '');
    expect(peer.leaked).toEqual({ subscriptions: 0, timers: 0 });
    harness.bus.publish({ topic: 'ocpp/cs/CP1/ClearCache', payload: new TextEncoder().encode('{}'), origin: { protocol: 'mqtt' }, qos: 0 });
    expect(frames(peer)).toEqual([]);
  });
});

describe('2.1 SEND', () => {
  const stream = { id: 1, pending: 0, basetime: NOW, data: [{ t: 0, v: '1' }] };

  it('publishes a SEND, runs its handler and never answers', async () => {
    const { csms, harness, peer } = await setup('ocpp2.1');
    const seen = collect(harness, 'ocpp/cp/#');
    const got: unknown[] = [];
    csms.onCall('NotifyPeriodicEventStream', (payload, context) => {
      got.push([payload, context.kind]);
    });
    peer.send(JSON.stringify([6, 's1', 'NotifyPeriodicEventStream', stream]));
    expect(frames(peer)).toEqual([]);
    expect(got).toEqual([[stream, 'send']]);
    expect(seen.map((m) => m.topic)).toEqual(['ocpp/cp/CP1/NotifyPeriodicEventStream']);
  });

  it('drops a SEND that fails its schema without answering', async () => {
    const { csms, peer } = await setup('ocpp2.1');
    let called = false;
    csms.onCall('NotifyPeriodicEventStream', () => {
      called = true;
    });
    peer.send(JSON.stringify([6, 's1', 'NotifyPeriodicEventStream', { id: 'one' }]));
    expect(frames(peer)).toEqual([]);
    expect(called).toBe(false);
  });

  it('never answers a malformed SEND, not even with a CALLERROR', async () => {
    const { peer } = await setup('ocpp2.1');
    peer.send(JSON.stringify([6, 's1', 'NotifyPeriodicEventStream']));
    peer.send(JSON.stringify([6, 's2', 42, {}]));
    peer.send(JSON.stringify([6, 's3', 'NotifyPeriodicEventStream', 'not an object']));
    peer.send(JSON.stringify([6, 'x'.repeat(37), 'NotifyPeriodicEventStream', stream]));
    peer.send(JSON.stringify([6, 17, 'NotifyPeriodicEventStream', stream]));
    expect(frames(peer)).toEqual([]);
  });

  it('answers a type-6 frame in 2.0.1 with MessageTypeNotSupported, since SEND does not exist there', async () => {
    const { peer } = await setup('ocpp2.0.1');
    peer.send(JSON.stringify([6, 'x'.repeat(37), 'NotifyPeriodicEventStream', stream]));
    expect(frames(peer)[0]).toEqual([4, '-1', 'MessageTypeNotSupported', 'Message type 6 is not supported', {}]);
  });
});

describe('stations', () => {
  it('lists connected stations, emits connect and disconnect, and reports stats', async () => {
    const csms = ocpp();
    const harness = createTestHarness();
    const events: string[] = [];
    csms.on('connect', (s) => events.push(`connect ${s.identity} ${s.protocol}`));
    csms.on('disconnect', (s) => events.push(`disconnect ${s.identity} ${s.code}`));
    csms.onCall('Heartbeat', () => ({ currentTime: NOW }));
    const peer = await harness.connect(csms, { protocol: 'ocpp2.0.1', request: { params: { identity: 'CP9' } } });
    harness.clock.advance(5000);
    peer.send(JSON.stringify([2, 'h1', 'Heartbeat', {}]));
    expect([...csms.stations.keys()]).toEqual(['CP9']);
    expect(csms.stations.get('CP9')).toMatchObject({ protocol: 'ocpp2.0.1', lastAction: 'Heartbeat' });
    const stats = csms.stats();
    expect(stats.stations).toHaveLength(1);
    expect(stats.stations[0]!.lastMessageAt - stats.stations[0]!.connectedAt).toBe(5000);
    expect(JSON.parse(JSON.stringify(stats))).toEqual(stats);
    peer.close(1000, 'bye');
    expect(csms.stations.size).toBe(0);
    expect(events).toEqual(['connect CP9 ocpp2.0.1', 'disconnect CP9 1000']);
  });

  it('replaces the older connection when a second one uses the same identity', async () => {
    const csms = ocpp();
    const harness = createTestHarness();
    const first = await harness.connect(csms, { protocol: 'ocpp1.6', request: { params: { identity: 'CP1' } } });
    const second = await harness.connect(csms, { protocol: 'ocpp2.0.1', request: { params: { identity: 'CP1' } } });
    expect(first.closed).toEqual({ code: 1000, reason: 'replaced by a new connection', by: 'server' });
    expect(first.takeText()).toEqual([]);
    expect(second.closed).toBeUndefined();
    expect(csms.stations.get('CP1')?.protocol).toBe('ocpp2.0.1');
  });

  it('closes the newer connection with 1008 when duplicate is "refuse"', async () => {
    const csms = ocpp({ duplicate: 'refuse' });
    const harness = createTestHarness();
    const first = await harness.connect(csms, { protocol: 'ocpp1.6', request: { params: { identity: 'CP1' } } });
    const second = await harness.connect(csms, { protocol: 'ocpp1.6', request: { params: { identity: 'CP1' } } });
    expect(first.closed).toBeUndefined();
    expect(second.closed).toEqual({ code: 1008, reason: 'identity already connected', by: 'server' });
    expect(csms.stations.size).toBe(1);
  });

  it('closes with 1008 a connection opened without a valid identity', async () => {
    const csms = ocpp();
    const harness = createTestHarness();
    const peer = await harness.connect(csms, { protocol: 'ocpp2.0.1', request: { params: { identity: 'has:colon' } } });
    expect(peer.closed).toMatchObject({ code: 1008 });
  });
});

describe('robustness', () => {
  it('closes with 1011 "Internal error" and logs the bug when answering throws, without a CALLERROR', async () => {
    const { log, errors } = errorLog();
    const { csms, peer } = await setup('ocpp2.0.1', { validate: false }, 'CP1', log);
    // JSON cannot encode a BigInt: the response fails in the session, not in the handler.
    csms.onCall('Heartbeat', () => ({ currentTime: NOW, big: 1n }) as never);
    peer.send(JSON.stringify([2, 'h1', 'Heartbeat', {}]));
    expect(frames(peer)).toEqual([]);
    expect(peer.closed).toEqual({ code: 1011, reason: 'Internal error', by: 'server' });
    expect(errors.map((fields) => fields['err'])).toEqual([expect.any(TypeError)]);
    expect(peer.closeViolations).toEqual([]);
  });

  it('closes with 1011 when answering an asynchronous handler throws', async () => {
    const { log, errors } = errorLog();
    const { csms, peer } = await setup('ocpp1.6', { validate: false }, 'CP1', log);
    csms.onCall('Heartbeat', async () => ({ currentTime: NOW, big: 1n }) as never);
    peer.send(JSON.stringify([2, 'h1', 'Heartbeat', {}]));
    await vi.waitFor(() => expect(peer.closed).toMatchObject({ code: 1011, reason: 'Internal error' }));
    expect(errors).toHaveLength(1);
  });

  it('rejects a queued call whose payload JSON cannot encode, keeps the connection and sends the next', async () => {
    const { csms, peer } = await setup('ocpp2.0.1', { validate: false });
    const station = csms.station('CP1');
    const first = station.call('ClearCache', {});
    const bad = station.call('ClearCache', { big: 1n } as never);
    const third = station.call('ClearCache', {});
    const [sent] = frames(peer) as unknown[][];
    peer.send(JSON.stringify([3, sent![1], { status: 'Accepted' }]));
    await expect(first).resolves.toEqual({ status: 'Accepted' });
    await expect(bad).rejects.toBeInstanceOf(TypeError);
    const [next] = frames(peer) as unknown[][];
    expect(next?.[2]).toBe('ClearCache');
    peer.send(JSON.stringify([3, next![1], { status: 'Rejected' }]));
    await expect(third).resolves.toEqual({ status: 'Rejected' });
    expect(peer.closed).toBeUndefined();
  });

  it('answers InternalError when an async handler never settles, then takes the next CALL', async () => {
    const { csms, harness, peer } = await setup('ocpp2.0.1', { callTimeout: 1000 });
    csms.onCall('Heartbeat', () => new Promise<{ currentTime: string }>(() => {}));
    peer.send(JSON.stringify([2, 'h1', 'Heartbeat', {}]));
    harness.clock.advance(1000);
    expect((frames(peer)[0] as unknown[]).slice(0, 3)).toEqual([4, 'h1', 'InternalError']);
    csms.onCall('Heartbeat', () => ({ currentTime: NOW }));
    peer.send(JSON.stringify([2, 'h2', 'Heartbeat', {}]));
    expect(frames(peer)).toEqual([[3, 'h2', { currentTime: NOW }]]);
  });

  it('emits disconnect for a replaced connection even when it closes after its successor connected', async () => {
    const csms = ocpp();
    const harness = createTestHarness();
    const events: string[] = [];
    csms.on('connect', (s) => events.push(`connect ${s.protocol}`));
    csms.on('disconnect', (s) => events.push(`disconnect ${s.protocol}`));
    await harness.connect(csms, { protocol: 'ocpp1.6', request: { params: { identity: 'CP1' } } });
    await harness.connect(csms, { protocol: 'ocpp2.1', request: { params: { identity: 'CP1' } } });
    expect(events).toEqual(['connect ocpp1.6', 'disconnect ocpp1.6', 'connect ocpp2.1']);
    expect(csms.stations.get('CP1')?.protocol).toBe('ocpp2.1');
  });
});

describe('error spellings', () => {
  it('respells an OcppCallError code for a 1.6 station', async () => {
    const { csms, peer } = await setup('ocpp1.6');
    csms.onCall('Authorize', () => {
      throw new OcppCallError('OccurrenceConstraintViolation', 'spelled the 2.x way');
    });
    peer.send(JSON.stringify([2, 'a1', 'Authorize', { idTag: 'X' }]));
    expect((frames(peer)[0] as unknown[]).slice(0, 3)).toEqual([4, 'a1', 'OccurenceConstraintViolation']);
  });

  it('answers InternalError for an OcppCallError code no table knows', async () => {
    const { csms, peer } = await setup('ocpp2.0.1');
    csms.onCall('Heartbeat', () => {
      throw new OcppCallError('TeapotError', 'short and stout');
    });
    peer.send(JSON.stringify([2, 'h1', 'Heartbeat', {}]));
    expect((frames(peer)[0] as unknown[]).slice(0, 3)).toEqual([4, 'h1', 'InternalError']);
  });
});

describe('broken answers', () => {
  it('rejects the pending call when its CALLRESULT is malformed, without answering in 2.0.1', async () => {
    const { csms, peer } = await setup('ocpp2.0.1');
    const call = csms.station('CP1').call('ClearCache', {});
    const [sent] = frames(peer) as unknown[][];
    peer.send(JSON.stringify([3, sent![1], 'not an object']));
    await expect(call).rejects.toMatchObject({ code: 'FormatViolation' });
    expect(frames(peer)).toEqual([]);
  });

  it('answers a malformed CALLRESULT with CALLRESULTERROR in 2.1', async () => {
    const { csms, peer } = await setup('ocpp2.1');
    const call = csms.station('CP1').call('ClearCache', {});
    const [sent] = frames(peer) as unknown[][];
    peer.send(JSON.stringify([3, sent![1]]));
    await expect(call).rejects.toMatchObject({ code: 'RpcFrameworkError' });
    expect((frames(peer)[0] as unknown[]).slice(0, 3)).toEqual([5, sent![1], 'RpcFrameworkError']);
  });

  it('leaves the pending call alone when a malformed CALLRESULTERROR carries its id', async () => {
    const { csms, peer } = await setup('ocpp2.1');
    let settled = false;
    const call = csms.station('CP1').call('ClearCache', {});
    void call.then(
      () => (settled = true),
      () => (settled = true),
    );
    const [sent] = frames(peer) as unknown[][];
    peer.send(JSON.stringify([5, sent![1], 'GenericError']));
    await Promise.resolve();
    expect(settled).toBe(false);
    expect(frames(peer)).toEqual([]);
    peer.send(JSON.stringify([3, sent![1], { status: 'Accepted' }]));
    await expect(call).resolves.toEqual({ status: 'Accepted' });
  });

  it('drops a CALLRESULT or CALLERROR for no pending CALL without answering', async () => {
    const { csms, peer } = await setup('ocpp2.0.1');
    const call = csms.station('CP1').call('ClearCache', {});
    const [sent] = frames(peer) as unknown[][];
    peer.send(JSON.stringify([3, 'unknown-id', { status: 'Accepted' }]));
    peer.send(JSON.stringify([4, 'unknown-id', 'GenericError', '', {}]));
    expect(frames(peer)).toEqual([]);
    peer.send(JSON.stringify([3, sent![1], { status: 'Rejected' }]));
    await expect(call).resolves.toEqual({ status: 'Rejected' });
  });

  it('never answers a CALLRESULT whose message id cannot be read with a CALLERROR (2.0.1), and with CALLRESULTERROR "-1" in 2.1', async () => {
    const v201 = await setup('ocpp2.0.1');
    v201.peer.send(JSON.stringify([3, 17, {}]));
    v201.peer.send(JSON.stringify([4, 'x'.repeat(37), 'GenericError', '', {}]));
    expect(frames(v201.peer)).toEqual([]);
    const v21 = await setup('ocpp2.1');
    v21.peer.send(JSON.stringify([3, 17, {}]));
    expect((frames(v21.peer)[0] as unknown[]).slice(0, 3)).toEqual([5, '-1', 'RpcFrameworkError']);
  });

  it('never answers a malformed CALLERROR with a CALLERROR', async () => {
    const { peer } = await setup('ocpp1.6');
    peer.send(JSON.stringify([4, 'zz', 'GenericError']));
    expect(frames(peer)).toEqual([]);
  });
});

describe('fuzzing', () => {
  const versions = fc.constantFrom('ocpp1.6' as const, 'ocpp2.0.1' as const, 'ocpp2.1' as const);
  const message = fc.oneof(
    fc.string(),
    fc.jsonValue().map((value) => JSON.stringify(value)),
    fc.tuple(fc.integer({ min: 0, max: 8 }), fc.string({ maxLength: 40 }), fc.constantFrom('Heartbeat', 'BootNotification', 'Reset', 'X'), fc.jsonValue()).map((parts) => JSON.stringify(parts)),
  );

  fcTest.prop([versions, fc.array(message, { maxLength: 20 })])('never throws out of onMessage and closes only with sendable codes', async (version, messages) => {
    const { csms, peer } = await setup(version);
    csms.onCall('Heartbeat', () => ({ currentTime: NOW }));
    for (const text of messages) {
      if (peer.closed) break;
      expect(() => peer.send(text)).not.toThrow();
    }
    expect(peer.closeViolations).toEqual([]);
    for (const reply of peer.takeText()) expect(Array.isArray(JSON.parse(reply))).toBe(true);
  });
});
