import { describe, expect, it } from 'vitest';
import { createTestHarness, type TestPeer } from '@protoplex/core/testing';
import { ocpp, type OcppOptions } from './adapter.js';
import { OCPP_VERSIONS, type OcppVersion } from './constants.js';
import { DEFAULT_HANDLED_ACTIONS, createDefaultHandlers } from './defaults.js';
import { isActionOf, validatePayload } from './schemas.js';

const boot = {
  'ocpp1.6': { chargePointVendor: 'V', chargePointModel: 'M1' },
  'ocpp2.0.1': { reason: 'PowerUp', chargingStation: { model: 'M1', vendorName: 'V' } },
  'ocpp2.1': { reason: 'PowerUp', chargingStation: { model: 'M1', vendorName: 'V' } },
} as const;

async function setup(protocol: OcppVersion, options: OcppOptions = {}) {
  const csms = ocpp(options);
  const harness = createTestHarness();
  const peer = await harness.connect(csms, { protocol, request: { params: { identity: 'CP1' } } });
  return { csms, harness, peer };
}

function frames(peer: TestPeer): unknown[][] {
  return peer.takeText().map((text) => JSON.parse(text) as unknown[]);
}

describe('default handlers', () => {
  for (const version of OCPP_VERSIONS) {
    it(`answers every default action of ${version} with a response its schema accepts`, () => {
      let id = 0;
      const handlers = createDefaultHandlers(version, { now: () => Date.UTC(2026, 10, 25), heartbeatInterval: 300, nextTransactionId: () => ++id });
      expect([...handlers.keys()].sort()).toEqual([...DEFAULT_HANDLED_ACTIONS[version]].sort());
      for (const [action, handler] of handlers) {
        expect(isActionOf(version, action), `${version} ${action}`).toBe(true);
        const response = handler({}, { identity: 'CP1', protocol: version, messageId: '1', kind: 'call' });
        expect(validatePayload(version, action, 'response', response), `${version} ${action}`).toBeUndefined();
      }
    });

    it(`boots a ${version} station with no handler registered: Accepted, the clock's time and a 300 s interval`, async () => {
      const { harness, peer } = await setup(version);
      peer.send(JSON.stringify([2, 'b1', 'BootNotification', boot[version]]));
      expect(frames(peer)).toEqual([[3, 'b1', { currentTime: new Date(harness.clock.now()).toISOString(), interval: 300, status: 'Accepted' }]]);
    });
  }

  it('answers the interval given by heartbeatInterval', async () => {
    const { peer } = await setup('ocpp2.0.1', { heartbeatInterval: 60 });
    peer.send(JSON.stringify([2, 'b1', 'BootNotification', boot['ocpp2.0.1']]));
    expect(frames(peer)[0]?.[2]).toMatchObject({ interval: 60 });
  });

  it('gives 1.6 StartTransaction increasing transaction ids, across stations', async () => {
    const csms = ocpp();
    const harness = createTestHarness();
    const a = await harness.connect(csms, { protocol: 'ocpp1.6', request: { params: { identity: 'A' } } });
    const b = await harness.connect(csms, { protocol: 'ocpp1.6', request: { params: { identity: 'B' } } });
    const start = { connectorId: 1, idTag: 'TAG', meterStart: 0, timestamp: '2026-11-25T12:00:00Z' };
    a.send(JSON.stringify([2, 's1', 'StartTransaction', start]));
    b.send(JSON.stringify([2, 's1', 'StartTransaction', start]));
    a.send(JSON.stringify([2, 's2', 'StartTransaction', start]));
    const ids = [...frames(a), ...frames(b)].map((frame) => (frame[2] as { transactionId: number }).transactionId);
    expect(ids).toEqual([1, 3, 2]);
    expect(frames(a)).toEqual([]);
  });

  it('answers DataTransfer with UnknownVendorId', async () => {
    const { peer } = await setup('ocpp2.1');
    peer.send(JSON.stringify([2, 'd1', 'DataTransfer', { vendorId: 'com.example' }]));
    expect(frames(peer)).toEqual([[3, 'd1', { status: 'UnknownVendorId' }]]);
  });

  it('answers Authorize Accepted with idTagInfo in 1.6 and idTokenInfo in 2.x', async () => {
    const v16 = await setup('ocpp1.6');
    v16.peer.send(JSON.stringify([2, 'a1', 'Authorize', { idTag: 'TAG' }]));
    expect(frames(v16.peer)).toEqual([[3, 'a1', { idTagInfo: { status: 'Accepted' } }]]);
    const v201 = await setup('ocpp2.0.1');
    v201.peer.send(JSON.stringify([2, 'a1', 'Authorize', { idToken: { idToken: 'TAG', type: 'ISO14443' } }]));
    expect(frames(v201.peer)).toEqual([[3, 'a1', { idTokenInfo: { status: 'Accepted' } }]]);
  });

  it('lets a registered handler override the default', async () => {
    const { csms, peer } = await setup('ocpp1.6');
    csms.onCall('BootNotification', () => ({ currentTime: '2026-11-25T12:00:00Z', interval: 10, status: 'Pending' as const }));
    peer.send(JSON.stringify([2, 'b1', 'BootNotification', boot['ocpp1.6']]));
    expect(frames(peer)).toEqual([[3, 'b1', { currentTime: '2026-11-25T12:00:00Z', interval: 10, status: 'Pending' }]]);
  });

  it('falls back to the default once the overriding handler is removed', async () => {
    const { csms, peer } = await setup('ocpp1.6');
    const off = csms.onCall('StatusNotification', () => {
      throw new Error('not reached');
    });
    off();
    peer.send(JSON.stringify([2, 's1', 'StatusNotification', { connectorId: 0, errorCode: 'NoError', status: 'Available' }]));
    expect(frames(peer)).toEqual([[3, 's1', {}]]);
  });

  it('answers NotSupported for a default action when defaultHandlers is false', async () => {
    const { peer } = await setup('ocpp2.0.1', { defaultHandlers: false });
    peer.send(JSON.stringify([2, 'h1', 'Heartbeat', {}]));
    expect(frames(peer)[0]?.slice(0, 3)).toEqual([4, 'h1', 'NotSupported']);
  });

  it('still answers NotSupported for an action without a default or a handler', async () => {
    const { peer } = await setup('ocpp2.0.1');
    peer.send(JSON.stringify([2, 'n1', 'NotifyMonitoringReport', { requestId: 1, seqNo: 0, generatedAt: '2026-11-25T12:00:00Z' }]));
    expect(frames(peer)[0]?.slice(0, 3)).toEqual([4, 'n1', 'NotSupported']);
  });

  it('refuses a heartbeatInterval that is not a whole number of seconds', () => {
    expect(() => ocpp({ heartbeatInterval: 1.5 })).toThrow(RangeError);
  });
});
