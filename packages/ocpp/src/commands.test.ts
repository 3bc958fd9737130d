import { describe, expect, it, vi } from 'vitest';
import { createTestHarness, type TestHarness, type TestPeer } from '@protoplex/core/testing';
import type { BusMessage } from '@protoplex/core';
import { ocpp, type OcppOptions } from './adapter.js';
import type { OcppVersion } from './constants.js';

const encoder = new TextEncoder();

async function setup(protocol: OcppVersion, options: OcppOptions = {}) {
  const csms = ocpp(options);
  const harness = createTestHarness();
  const peer = await harness.connect(csms, { protocol, request: { params: { identity: 'CP1' } } });
  const results: BusMessage[] = [];
  harness.bus.subscribe('ocpp/cs/+/+/result', (message) => results.push(message));
  return { csms, harness, peer, results };
}

function command(harness: TestHarness, topic: string, payload: string | Uint8Array, correlation?: string): void {
  harness.bus.publish({
    topic,
    payload: typeof payload === 'string' ? encoder.encode(payload) : payload,
    ...(correlation === undefined ? {} : { headers: { 'correlation-id': correlation } }),
    origin: { protocol: 'mqtt' },
    qos: 0,
  });
}

const body = (message: BusMessage | undefined): unknown => JSON.parse(new TextDecoder().decode(message!.payload));
const frames = (peer: TestPeer): unknown[][] => peer.takeText().map((text) => JSON.parse(text) as unknown[]);
const flush = async (): Promise<void> => {
  for (let i = 0; i < 4; i++) await Promise.resolve();
};

describe('the command inbox', () => {
  it('is one subscription to ocpp/cs/+/+ and nothing else: station traffic and other topics stay unwanted', async () => {
    const csms = ocpp();
    const harness = createTestHarness();
    const subscribe = vi.spyOn(harness.bus, 'subscribe');
    await harness.connect(csms, { protocol: 'ocpp2.0.1', request: { params: { identity: 'CP1' } } });
    await harness.connect(csms, { protocol: 'ocpp1.6', request: { params: { identity: 'CP2' } } });
    expect(subscribe.mock.calls.map(([filter]) => filter)).toEqual(['ocpp/cs/+/+']);
    subscribe.mockRestore();
    expect(harness.bus.hasSubscribers?.('ocpp/cs/CP9/Reset')).toBe(true);
    expect(harness.bus.hasSubscribers?.('ocpp/cp/CP1/Heartbeat')).toBe(false);
    expect(harness.bus.hasSubscribers?.('ocpp/cs/CP1/Reset/result')).toBe(false);
    expect(harness.bus.hasSubscribers?.('chat/room')).toBe(false);
  });

  it('is not held with commands: false', async () => {
    const harness = createTestHarness();
    await harness.connect(ocpp({ commands: false }), { protocol: 'ocpp2.0.1', request: { params: { identity: 'CP1' } } });
    expect(harness.bus.hasSubscribers?.('ocpp/cs/CP1/Reset')).toBe(false);
  });
});

describe('command results', () => {
  it('publishes a NotConnected result for a station that is not connected', async () => {
    const { harness, results } = await setup('ocpp2.0.1');
    command(harness, 'ocpp/cs/CP9/Reset', '{"type":"Immediate"}', 'c-9');
    expect(results.map((m) => m.topic)).toEqual(['ocpp/cs/CP9/Reset/result']);
    expect(body(results[0])).toEqual({ errorCode: 'NotConnected', errorDescription: 'Station "CP9" is not connected', errorDetails: {} });
    expect(results[0]!.headers).toEqual({ 'ocpp-message-type': 'CALLERROR', 'correlation-id': 'c-9' });
  });

  it('publishes NotConnected for a station that disconnected', async () => {
    const { harness, peer, results } = await setup('ocpp1.6');
    peer.close(1000, '');
    command(harness, 'ocpp/cs/CP1/ClearCache', '{}');
    expect(body(results[0])).toMatchObject({ errorCode: 'NotConnected' });
  });

  it('builds no result nobody subscribes to, though it still runs the command', async () => {
    const csms = ocpp();
    const harness = createTestHarness();
    const peer = await harness.connect(csms, { protocol: 'ocpp2.0.1', request: { params: { identity: 'CP1' } } });
    const publish = vi.spyOn(harness.bus, 'publish');
    try {
      command(harness, 'ocpp/cs/CP9/Reset', '{"type":"Immediate"}');
      command(harness, 'ocpp/cs/CP1/ClearCache', '{}');
      const [sent] = frames(peer);
      expect(sent?.[2]).toBe('ClearCache');
      peer.send(JSON.stringify([3, sent![1], { status: 'Accepted' }]));
      await flush();
      // Only the two commands themselves went through publish.
      expect(publish.mock.calls.map(([message]) => message.topic)).toEqual(['ocpp/cs/CP9/Reset', 'ocpp/cs/CP1/ClearCache']);
    } finally {
      publish.mockRestore();
    }
  });

  it('publishes nothing for a station it does not hold when replyNotConnected is false', async () => {
    const { harness, results } = await setup('ocpp1.6', { replyNotConnected: false });
    command(harness, 'ocpp/cs/CP9/ClearCache', '{}');
    expect(results).toEqual([]);
  });

  it('publishes NotConnected when the station goes away while the command is pending', async () => {
    const { harness, peer, results } = await setup('ocpp2.1');
    command(harness, 'ocpp/cs/CP1/ClearCache', '{}');
    expect(frames(peer)).toHaveLength(1);
    peer.drop();
    await flush();
    expect(body(results[0])).toMatchObject({ errorCode: 'NotConnected' });
  });

  it('publishes a Timeout result when the station does not answer in time', async () => {
    const { harness, results } = await setup('ocpp2.0.1', { callTimeout: 1000 });
    command(harness, 'ocpp/cs/CP1/ClearCache', '{}');
    harness.clock.advance(1000);
    await flush();
    expect(body(results[0])).toMatchObject({ errorCode: 'Timeout' });
    expect(results[0]!.headers).toMatchObject({ 'ocpp-message-type': 'CALLERROR', 'ocpp-protocol': 'ocpp2.0.1' });
  });

  it('publishes a FormatViolation result for a payload that is not JSON, in the station’s spelling', async () => {
    const v201 = await setup('ocpp2.0.1');
    command(v201.harness, 'ocpp/cs/CP1/ClearCache', '{nope');
    expect(body(v201.results[0])).toEqual({ errorCode: 'FormatViolation', errorDescription: 'Command payload is not JSON', errorDetails: {} });
    expect(frames(v201.peer)).toEqual([]);
    const v16 = await setup('ocpp1.6');
    command(v16.harness, 'ocpp/cs/CP1/ClearCache', new Uint8Array([0xff, 0xfe]));
    expect(body(v16.results[0])).toMatchObject({ errorCode: 'FormationViolation' });
  });

  it('publishes a FormatViolation result for a JSON payload that is not an object, even with validation off', async () => {
    const { harness, peer, results } = await setup('ocpp2.1', { validate: false });
    command(harness, 'ocpp/cs/CP1/ClearCache', '[1,2]');
    expect(body(results[0])).toMatchObject({ errorCode: 'FormatViolation', errorDescription: 'Command payload must be a JSON object' });
    expect(frames(peer)).toEqual([]);
  });

  it('publishes the schema error of a command that fails its request schema, and sends nothing', async () => {
    const { harness, peer, results } = await setup('ocpp2.0.1');
    command(harness, 'ocpp/cs/CP1/Reset', '{}', 'c-2');
    await flush();
    expect(frames(peer)).toEqual([]);
    expect(body(results[0])).toEqual({ errorCode: 'OccurrenceConstraintViolation', errorDescription: 'Reset request misses required property "type"', errorDetails: { path: '', keyword: 'required' } });
    expect(results[0]!.headers).toEqual({ 'ocpp-message-type': 'CALLERROR', 'ocpp-protocol': 'ocpp2.0.1', 'correlation-id': 'c-2' });
  });

  it('publishes NotImplemented for an action the station’s version does not define', async () => {
    const { harness, results } = await setup('ocpp2.0.1');
    command(harness, 'ocpp/cs/CP1/RemoteStartTransaction', '{"idTag":"T"}');
    await flush();
    expect(body(results[0])).toMatchObject({ errorCode: 'NotImplemented' });
  });

  it('publishes the station’s CALLERROR with the same shape', async () => {
    const { harness, peer, results } = await setup('ocpp1.6');
    command(harness, 'ocpp/cs/CP1/ClearCache', '{}');
    const [sent] = frames(peer);
    peer.send(JSON.stringify([4, sent![1], 'NotSupported', 'no', { why: 'x' }]));
    await flush();
    expect(body(results[0])).toEqual({ errorCode: 'NotSupported', errorDescription: 'no', errorDetails: { why: 'x' } });
  });

  it('stops routing commands after shutdown', async () => {
    const { csms, harness, results } = await setup('ocpp1.6');
    await csms.shutdown?.(new AbortController().signal);
    command(harness, 'ocpp/cs/CP9/ClearCache', '{}');
    expect(results).toEqual([]);
  });
});
