import { describe, expect, it, vi } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { CloseCode, createMemoryBus, isSendableCloseCode, type BusMessage } from '@protoplex/core';
import { ReasonCode } from './constants.js';
import { encodePacket, type Packet, type PublishPacket } from './codec.js';
import { createMemoryPersistence } from './persistence.js';
import { createTestBroker, flush } from './_test-utils.js';

const publishes = (packets: Packet[]): PublishPacket[] => packets.filter((p): p is PublishPacket => p.cmd === 'publish');
const pub = (topic: string, payload: string, extra: Partial<PublishPacket> = {}): PublishPacket => ({ cmd: 'publish', topic, payload: Buffer.from(payload), qos: 0, retain: false, dup: false, ...extra });

describe('MQTT 5 properties and options', () => {
  it('uses topic aliases towards a client that allows them', async () => {
    const broker = createTestBroker();
    const sub = await broker.client({ version: 5, properties: { topicAliasMaximum: 1 } });
    const p = await broker.client();
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '#', qos: 0 }] });
    sub.take();
    p.send(pub('long/topic/name', 'a'), pub('long/topic/name', 'b'), pub('other', 'c'));
    const got = publishes(sub.take());
    expect(got.map((g) => [g.topic, g.properties?.topicAlias])).toEqual([
      ['long/topic/name', 1],
      ['', 1],
      ['other', undefined],
    ]);
  });

  it('refuses a topic alias above the maximum with DISCONNECT 0x94', async () => {
    const broker = createTestBroker({ topicAliasMaximum: 2 });
    const c = await broker.client({ version: 5 });
    c.take();
    c.send(pub('t', 'x', { properties: { topicAlias: 3 } }));
    expect(c.take()).toMatchObject([{ cmd: 'disconnect', reasonCode: ReasonCode.TopicAliasInvalid }]);
  });

  it('refuses a QoS 2 PUBLISH beyond the Receive Maximum with DISCONNECT 0x93', async () => {
    const broker = createTestBroker({ receiveMaximum: 1 });
    const c = await broker.client({ version: 5 });
    c.take();
    c.send(pub('t', '1', { qos: 2, messageId: 1 }), pub('t', '2', { qos: 2, messageId: 2 }));
    expect(c.take()).toMatchObject([{ cmd: 'pubrec' }, { cmd: 'disconnect', reasonCode: ReasonCode.ReceiveMaximumExceeded }]);
  });

  it('counts down the message expiry interval and drops expired queued messages', async () => {
    const broker = createTestBroker();
    const sub = await broker.client({ version: 5, clientId: 'slow', clean: false, properties: { sessionExpiryInterval: 300 } });
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'ex/#', qos: 1 }] });
    sub.peer.drop();
    const p = await broker.client({ version: 5 });
    p.send(pub('ex/short', 's', { qos: 1, messageId: 1, properties: { messageExpiryInterval: 5 } }));
    p.send(pub('ex/long', 'l', { qos: 1, messageId: 2, properties: { messageExpiryInterval: 100 } }));
    broker.harness.clock.advance(10_000);
    const back = await broker.client({ version: 5, clientId: 'slow', clean: false, properties: { sessionExpiryInterval: 300 } });
    const got = publishes(back.take());
    expect(got.map((g) => [g.topic, g.properties?.messageExpiryInterval])).toEqual([['ex/long', 90]]);
  });

  it('merges overlapping subscriptions into one delivery with every subscription identifier', async () => {
    const broker = createTestBroker();
    const sub = await broker.client({ version: 5 });
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'o/#', qos: 0 }], properties: { subscriptionIdentifier: 1 } });
    sub.send({ cmd: 'subscribe', messageId: 2, subscriptions: [{ topic: 'o/+', qos: 1 }], properties: { subscriptionIdentifier: 2 } });
    sub.take();
    const p = await broker.client();
    p.send(pub('o/x', 'm', { qos: 1, messageId: 1 }));
    const got = publishes(sub.take());
    expect(got).toHaveLength(1);
    expect(got[0]!.qos).toBe(1);
    expect(got[0]!.properties?.subscriptionIdentifier).toEqual([1, 2]);
  });

  it('does not match $-topics with a leading wildcard', async () => {
    const broker = createTestBroker();
    const sub = await broker.client();
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '#', qos: 0 }, { topic: '+/x', qos: 0 }] });
    const sys = await broker.client();
    sys.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '$app/#', qos: 0 }] });
    sub.take();
    sys.take();
    const p = await broker.client();
    p.send(pub('$app/x', 'hidden'));
    expect(publishes(sub.take())).toEqual([]);
    expect(publishes(sys.take())).toHaveLength(1);
  });

  it('answers invalid filters per filter: SUBACK 0x8F (5.0) and 0x80 (3.1.1)', async () => {
    const broker = createTestBroker();
    const v5 = await broker.client({ version: 5 });
    v5.take();
    v5.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a/#/b', qos: 0 }, { topic: 'ok', qos: 1 }, { topic: '$share/g+/x', qos: 0 }] });
    expect(v5.take()).toMatchObject([{ cmd: 'suback', granted: [0x8f, 1, 0x8f] }]);
    const v4 = await broker.client();
    v4.take();
    v4.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a+', qos: 0 }] });
    expect(v4.take()).toMatchObject([{ cmd: 'suback', granted: [0x80] }]);
  });

  it('refuses No Local on a shared subscription as a Protocol Error', async () => {
    const broker = createTestBroker();
    const c = await broker.client({ version: 5 });
    c.take();
    c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '$share/g/x', qos: 0, nl: true }] });
    expect(c.take()).toMatchObject([{ cmd: 'disconnect', reasonCode: ReasonCode.ProtocolError }]);
  });

  it('answers UNSUBSCRIBE with 0x00 or 0x11 per filter (5.0)', async () => {
    const broker = createTestBroker();
    const c = await broker.client({ version: 5 });
    c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'u', qos: 0 }] });
    c.take();
    c.send({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: ['u', 'never'] });
    expect(c.take()).toMatchObject([{ cmd: 'unsuback', messageId: 2, granted: [0x00, 0x11] }]);
  });

  it('refuses a non-zero session expiry on DISCONNECT after 0 on CONNECT', async () => {
    const broker = createTestBroker();
    const c = await broker.client({ version: 5 });
    c.take();
    c.send({ cmd: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 10 } });
    expect(c.take()).toMatchObject([{ cmd: 'disconnect', reasonCode: ReasonCode.ProtocolError }]);
  });

  it('omits reason strings from acknowledgements when Request Problem Information is 0', async () => {
    const broker = createTestBroker({ authorizePublish: () => false });
    const asks = await broker.client({ version: 5 });
    asks.take();
    asks.send(pub('t', 'x', { qos: 1, messageId: 1 }));
    expect(asks.take()).toMatchObject([{ cmd: 'puback', reasonCode: ReasonCode.NotAuthorized, properties: { reasonString: 'not authorized' } }]);
    const c = await broker.client({ version: 5, properties: { requestProblemInformation: false } });
    c.take();
    c.send(pub('t', 'x', { qos: 1, messageId: 1 }));
    const [ack] = c.take();
    expect(ack).toMatchObject({ cmd: 'puback', reasonCode: ReasonCode.NotAuthorized });
    expect((ack as { properties?: unknown }).properties).toBeUndefined();
  });
});

describe('hooks', () => {
  it('refuses a CONNECT when authenticate says no: 0x87 (5.0), 0x05 (3.1.1), 0x86 when asked', async () => {
    const broker = createTestBroker({ authenticate: ({ client, username }) => (username === 'bad' ? { ok: false, reasonCode: ReasonCode.BadUserNameOrPassword } : client.id === 'ok') });
    const v5 = await broker.client({ version: 5, clientId: 'nope' });
    expect(v5.take()).toMatchObject([{ cmd: 'connack', reasonCode: ReasonCode.NotAuthorized }]);
    expect(v5.peer.closed?.code).toBe(CloseCode.PolicyViolation);
    const v4 = await broker.client({ clientId: 'nope' });
    expect(v4.take()).toMatchObject([{ cmd: 'connack', returnCode: 0x05 }]);
    const creds = await broker.client({ clientId: 'ok', username: 'bad' });
    expect(creds.take()).toMatchObject([{ cmd: 'connack', returnCode: 0x04 }]);
    const ok = await broker.client({ clientId: 'ok', username: 'fine' });
    expect(ok.take()).toMatchObject([{ cmd: 'connack', returnCode: 0 }]);
  });

  it('holds packets that arrive while an async authenticate runs and handles them in order', async () => {
    let release!: (ok: boolean) => void;
    const broker = createTestBroker({ authenticate: () => new Promise<boolean>((resolve) => (release = resolve)) });
    const c = await broker.client({ connect: false });
    c.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'slow', clean: true, keepalive: 0 });
    c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 's', qos: 0 }] }, { cmd: 'pingreq' });
    await flush();
    expect(c.take()).toEqual([]);
    release(true);
    await flush();
    expect(c.take().map((p) => p.cmd)).toEqual(['connack', 'suback', 'pingresp']);
  });

  it('drops unauthorized publishes: PUBACK 0x87 for 5.0, a plain PUBACK for 3.1.1, nothing routed', async () => {
    const published = vi.fn();
    const broker = createTestBroker({ authorizePublish: async ({ message }) => !message.topic.startsWith('secret'), published });
    const sub = await broker.client();
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '#', qos: 1 }] });
    sub.take();
    const v5 = await broker.client({ version: 5 });
    const v4 = await broker.client();
    v5.take();
    v4.take();
    v5.send(pub('secret/a', 'x', { qos: 1, messageId: 1 }));
    v4.send(pub('secret/b', 'x', { qos: 1, messageId: 1 }));
    v4.send(pub('open', 'y', { qos: 1, messageId: 2 }));
    await flush();
    expect(v5.take()).toMatchObject([{ cmd: 'puback', reasonCode: ReasonCode.NotAuthorized }]);
    expect(v4.take()).toMatchObject([{ cmd: 'puback', messageId: 1 }, { cmd: 'puback', messageId: 2 }]);
    expect(publishes(sub.take()).map((p) => p.topic)).toEqual(['open']);
    expect(published).toHaveBeenCalledTimes(1);
    expect(published.mock.calls[0]![0]).toMatchObject({ message: { topic: 'open', qos: 1 }, client: { version: 4 } });
  });

  it('refuses or downgrades subscriptions through authorizeSubscribe', async () => {
    const broker = createTestBroker({ authorizeSubscribe: ({ topic }) => (topic === 'no' ? false : topic === 'low' ? 0 : true) });
    const c = await broker.client();
    c.take();
    c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'no', qos: 1 }, { topic: 'low', qos: 2 }, { topic: 'yes', qos: 2 }] });
    expect(c.take()).toMatchObject([{ cmd: 'suback', granted: [0x80, 0, 2] }]);
  });

  it('runs a two-step enhanced authentication with AUTH packets', async () => {
    const broker = createTestBroker({
      enhancedAuth: ({ method, data, step }) => {
        if (method !== 'TOKEN') return { status: 'failure', reasonCode: ReasonCode.BadAuthenticationMethod };
        if (step === 0) return { status: 'continue', data: Buffer.from('challenge') };
        return data?.toString() === 'answer' ? { status: 'success', data: Buffer.from('welcome') } : { status: 'failure' };
      },
    });
    const c = await broker.client({ version: 5, properties: { authenticationMethod: 'TOKEN', authenticationData: Buffer.from('hello') } });
    expect(c.take()).toMatchObject([{ cmd: 'auth', reasonCode: ReasonCode.ContinueAuthentication, properties: { authenticationMethod: 'TOKEN' } }]);
    c.send({ cmd: 'auth', reasonCode: ReasonCode.ContinueAuthentication, properties: { authenticationMethod: 'TOKEN', authenticationData: Buffer.from('answer') } });
    await flush();
    const [connack] = c.take();
    expect(connack).toMatchObject({ cmd: 'connack', reasonCode: 0, properties: { authenticationMethod: 'TOKEN' } });
    expect((connack as { properties: { authenticationData: Buffer } }).properties.authenticationData.toString()).toBe('welcome');
  });

  it('answers an authentication method without enhancedAuth with CONNACK 0x8C', async () => {
    const broker = createTestBroker();
    const c = await broker.client({ version: 5, properties: { authenticationMethod: 'SCRAM-SHA-1' } });
    expect(c.take()).toMatchObject([{ cmd: 'connack', reasonCode: ReasonCode.BadAuthenticationMethod }]);
  });
});

describe('the bus', () => {
  it('publishes each accepted PUBLISH once with an mqtt origin, content type and user properties as headers', async () => {
    const broker = createTestBroker();
    const seen: BusMessage[] = [];
    broker.harness.bus.subscribe('b/#', (m) => seen.push(m));
    const c = await broker.client({ version: 5 });
    c.send(pub('b/1', 'x', { properties: { contentType: 'text/plain', userProperties: { a: '1', b: ['2', '3'] } } }));
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ topic: 'b/1', contentType: 'text/plain', headers: { a: '1', b: '2, 3' }, origin: { protocol: 'mqtt', connectionId: c.peer.connection.id }, qos: 0 });
  });

  it('delivers bus messages from other protocols exactly once, also to offline persistent sessions', async () => {
    const broker = createTestBroker();
    const online = await broker.client({ version: 5 });
    online.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'ocpp/#', qos: 1 }] });
    online.take();
    const away = await broker.client({ clientId: 'away', clean: false });
    away.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'ocpp/#', qos: 1 }] });
    away.peer.drop();
    broker.harness.bus.publish({ topic: 'ocpp/cp/1', payload: Buffer.from('{}'), qos: 1, contentType: 'application/json', headers: { action: 'Heartbeat' }, origin: { protocol: 'ocpp' } });
    const got = publishes(online.take());
    expect(got).toHaveLength(1);
    expect(got[0]!.properties).toMatchObject({ contentType: 'application/json', userProperties: { action: 'Heartbeat' } });
    const back = await broker.client({ clientId: 'away', clean: false });
    expect(publishes(back.take()).map((p) => p.topic)).toEqual(['ocpp/cp/1']);
  });

  it('builds no bus message for a publish nobody else on the bus wants, and one when somebody does', async () => {
    const broker = createTestBroker();
    const spy = vi.spyOn(broker.harness.bus, 'publish');
    const sub = await broker.client();
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a/+', qos: 0 }] });
    sub.take();
    const p = await broker.client();
    p.send(pub('a/b', 'to mqtt only'), pub('nobody/here', 'to nobody'));
    broker.adapter.publish('a/c', 'from the broker');
    expect(publishes(sub.take()).map((m) => m.payload.toString())).toEqual(['to mqtt only', 'from the broker']);
    expect(spy).not.toHaveBeenCalled();
    const seen: BusMessage[] = [];
    broker.harness.bus.subscribe('a/#', (m) => seen.push(m));
    p.send(pub('a/b', 'to both'));
    expect(spy).toHaveBeenCalledTimes(1);
    expect(seen.map((m) => m.topic)).toEqual(['a/b']);
    expect(publishes(sub.take())).toHaveLength(1);
  });

  it('holds one bus subscription per distinct filter, whatever the number of sessions holding it, released with the last', async () => {
    const bus = createMemoryBus();
    const broker = createTestBroker({}, { bus });
    const a = await broker.client({ version: 5 });
    const b = await broker.client();
    const shared = await broker.client({ version: 5 });
    const wide = await broker.client();
    expect(bus.size).toBe(0);
    a.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a/+', qos: 0 }] });
    b.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a/+', qos: 1 }] });
    shared.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '$share/g/a/+', qos: 0 }] });
    expect(bus.size).toBe(1);
    // Re-subscribing replaces the subscription: still one holder for this session.
    b.send({ cmd: 'subscribe', messageId: 2, subscriptions: [{ topic: 'a/+', qos: 0 }] });
    wide.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a/#', qos: 0 }] });
    expect(bus.size).toBe(2);
    a.send({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: ['a/+'] });
    b.peer.close();
    expect(bus.size).toBe(2);
    shared.send({ cmd: 'disconnect' });
    expect(bus.size).toBe(1);
    wide.send({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: ['a/#'] });
    expect(bus.size).toBe(0);
  });

  it('keeps the bus subscriptions of an offline persistent session until the session ends', async () => {
    const bus = createMemoryBus();
    const broker = createTestBroker({}, { bus });
    const away = await broker.client({ clientId: 'away', clean: false });
    away.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'p/+', qos: 1 }] });
    away.peer.drop();
    expect(bus.size).toBe(1);
    await broker.client({ clientId: 'away', clean: true });
    expect(bus.size).toBe(0);
  });

  it('hands an MQTT client a message from another protocol once, whatever its overlapping subscriptions', async () => {
    const bus = createMemoryBus();
    const broker = createTestBroker({}, { bus });
    const both = await broker.client({ version: 5 });
    both.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a/#', qos: 0 }, { topic: 'a/+', qos: 1 }] });
    both.take();
    const one = await broker.client();
    one.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a/+', qos: 0 }] });
    one.take();
    expect(bus.size).toBe(2);
    bus.publish({ topic: 'a/x', payload: Buffer.from('from stomp'), qos: 1, origin: { protocol: 'stomp', connectionId: 'stomp-1' } });
    const got = publishes(both.take());
    expect(got.map((m) => [m.topic, m.qos, m.payload.toString()])).toEqual([['a/x', 1, 'from stomp']]);
    expect(publishes(one.take())).toHaveLength(1);
  });

  it('keeps $SYS off the bus unless somebody there wants it', async () => {
    const bus = createMemoryBus();
    const broker = createTestBroker({ sysInterval: 10 }, { bus });
    const spy = vi.spyOn(bus, 'publish');
    const c = await broker.client();
    c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '$SYS/broker/#', qos: 0 }] });
    c.take();
    broker.harness.clock.advance(10_000);
    expect(publishes(c.take()).length).toBeGreaterThan(0);
    expect(spy).not.toHaveBeenCalled();
    const seen: BusMessage[] = [];
    bus.subscribe('$SYS/broker/uptime', (m) => seen.push(m));
    broker.harness.clock.advance(10_000);
    expect(seen.map((m) => [m.topic, Buffer.from(m.payload).toString(), m.origin.protocol])).toEqual([['$SYS/broker/uptime', '20 seconds', 'mqtt']]);
    expect(spy).toHaveBeenCalledTimes(1);
  });

  it('delivers MQTT-to-MQTT messages once although they also travel on the bus', async () => {
    const broker = createTestBroker();
    const seen: BusMessage[] = [];
    broker.harness.bus.subscribe('once', (m) => seen.push(m));
    const sub = await broker.client();
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'once', qos: 0 }] });
    sub.take();
    const p = await broker.client();
    p.send(pub('once', 'x'));
    expect(seen).toHaveLength(1);
    expect(publishes(sub.take())).toHaveLength(1);
  });
});

describe('shared subscriptions', () => {
  it('gives each message to one member of the group, round robin', async () => {
    const broker = createTestBroker();
    const a = await broker.client({ version: 5 });
    const b = await broker.client({ version: 5 });
    for (const c of [a, b]) {
      c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '$share/g/s/#', qos: 0 }] });
      c.take();
    }
    const p = await broker.client();
    for (let i = 0; i < 4; i++) p.send(pub('s/x', String(i)));
    expect(publishes(a.take()).map((m) => m.payload.toString())).toEqual(['0', '2']);
    expect(publishes(b.take()).map((m) => m.payload.toString())).toEqual(['1', '3']);
  });
});

describe('$SYS, stats and persistence', () => {
  it('publishes broker statistics under $SYS/broker/ every sysInterval seconds', async () => {
    const broker = createTestBroker({ sysInterval: 10 });
    const c = await broker.client();
    c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '$SYS/broker/#', qos: 0 }] });
    c.take();
    broker.harness.clock.advance(10_000);
    const got = publishes(c.take());
    const byTopic = Object.fromEntries(got.map((p) => [p.topic, p.payload.toString()]));
    expect(byTopic['$SYS/broker/clients/connected']).toBe('1');
    expect(byTopic['$SYS/broker/uptime']).toBe('10 seconds');
    expect(Object.keys(byTopic)).toContain('$SYS/broker/messages/received');
  });

  it('reports clients, sessions, retained messages and message counts in stats()', async () => {
    const broker = createTestBroker();
    const c = await broker.client({ version: 5, clientId: 'stat' });
    c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 's/#', qos: 0 }] });
    c.send(pub('s/1', 'x', { retain: true }));
    const stats = broker.adapter.stats();
    expect(stats).toMatchObject({ sessions: 1, retained: 1, messagesIn: 1, messagesOut: 1 });
    expect(stats.clients).toEqual([{ clientId: 'stat', version: 5, connectedAt: broker.harness.clock.now(), subscriptions: ['s/#'] }]);
    expect(JSON.parse(JSON.stringify(stats))).toEqual(stats);
  });

  it('restores a persistent session and retained messages from the persistence after a restart', async () => {
    const persistence = createMemoryPersistence();
    const first = createTestBroker({ persistence });
    const a = await first.client({ clientId: 'durable', clean: false });
    a.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'd/#', qos: 1 }] });
    a.peer.drop();
    const p = await first.client();
    p.send(pub('d/r', 'kept', { retain: true }), pub('d/q', 'queued', { qos: 1, messageId: 1 }));
    await first.adapter.shutdown!(new AbortController().signal);

    const second = createTestBroker({ persistence });
    const b = await second.client({ clientId: 'durable', clean: false });
    const packets = b.take();
    expect(packets[0]).toMatchObject({ cmd: 'connack', sessionPresent: true });
    expect(publishes(packets).map((x) => x.payload.toString())).toEqual(['queued']);
    const fresh = await second.client();
    fresh.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'd/r', qos: 0 }] });
    expect(publishes(fresh.take()).map((x) => x.payload.toString())).toEqual(['kept']);
  });
});

describe('fuzzed byte streams through the session', () => {
  const valid = [
    encodePacket({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'f/#', qos: 2 }] }, 5),
    encodePacket(pub('f/x', 'payload', { qos: 2, messageId: 5 }), 5),
    encodePacket({ cmd: 'pubrel', messageId: 5 }, 5),
    encodePacket({ cmd: 'pingreq' }, 5),
  ];
  test.prop([fc.array(fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.constantFrom(...valid)), { maxLength: 12 }), fc.integer({ min: 1, max: 16 })], { numRuns: 200 })(
    'never throws and closes only with sendable codes, whatever bytes follow CONNECT',
    async (chunks, cut) => {
      const broker = createTestBroker();
      const c = await broker.client({ version: 5 });
      const stream = Buffer.concat(chunks.map((x) => Buffer.from(x)));
      for (let i = 0; i < stream.length && !c.peer.closed; i += cut) {
        expect(() => c.peer.send(stream.subarray(i, i + cut))).not.toThrow();
      }
      expect(c.peer.closeViolations).toEqual([]);
      if (c.peer.closed?.by === 'server') expect(isSendableCloseCode(c.peer.closed.code)).toBe(true);
    },
  );
});

describe('more session rules', () => {
  it('re-authenticates with AUTH 0x19 and answers AUTH 0x00 on success', async () => {
    const broker = createTestBroker({ enhancedAuth: ({ data }) => (data?.toString() === 'ok' ? { status: 'success', data: Buffer.from('fine') } : { status: 'failure' }) });
    const c = await broker.client({ version: 5, properties: { authenticationMethod: 'TOKEN', authenticationData: Buffer.from('ok') } });
    expect(c.take()).toMatchObject([{ cmd: 'connack', reasonCode: 0 }]);
    c.send({ cmd: 'auth', reasonCode: ReasonCode.ReAuthenticate, properties: { authenticationMethod: 'TOKEN', authenticationData: Buffer.from('ok') } });
    expect(c.take()).toMatchObject([{ cmd: 'auth', reasonCode: 0, properties: { authenticationMethod: 'TOKEN' } }]);
    c.send({ cmd: 'auth', reasonCode: ReasonCode.ReAuthenticate, properties: { authenticationMethod: 'TOKEN', authenticationData: Buffer.from('bad') } });
    expect(c.take()).toMatchObject([{ cmd: 'disconnect', reasonCode: ReasonCode.NotAuthorized }]);
    expect(c.peer.closed?.code).toBe(CloseCode.PolicyViolation);
  });

  it('starts over on a 3.1.1 clean session: no session present, old subscriptions gone', async () => {
    const broker = createTestBroker();
    const a = await broker.client({ clientId: 'cs', clean: false });
    a.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'cs/#', qos: 1 }] });
    a.peer.close();
    const b = await broker.client({ clientId: 'cs', clean: true });
    expect(b.take()[0]).toMatchObject({ cmd: 'connack', sessionPresent: false });
    const p = await broker.client();
    p.send(pub('cs/x', 'm', { qos: 1, messageId: 1 }));
    expect(publishes(b.take())).toEqual([]);
  });

  it('ends a 5.0 session with expiry 0 at disconnect', async () => {
    const broker = createTestBroker();
    const a = await broker.client({ version: 5, clientId: 'short', clean: false });
    a.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 's', qos: 1 }] });
    a.peer.close();
    expect(broker.adapter.stats().sessions).toBe(0);
  });

  it('closes a 3.1.1 connection that sends a server-only packet, without an MQTT answer', async () => {
    const broker = createTestBroker();
    const c = await broker.client();
    c.take();
    c.peer.send(Buffer.from('9003000100', 'hex'));
    expect(c.take()).toEqual([]);
    expect(c.peer.closed?.code).toBe(CloseCode.ProtocolError);
  });

  it('drops QoS 0 and queues QoS 1 while the transport is congested, then drains', async () => {
    const broker = createTestBroker();
    const sub = await broker.client();
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'bp', qos: 1 }] });
    sub.take();
    sub.peer.setBufferedAmount(64 * 1024 * 1024);
    const p = await broker.client();
    p.send(pub('bp', 'first', { qos: 1, messageId: 1 }));
    p.send(pub('bp', 'dropped'), pub('bp', 'queued', { qos: 1, messageId: 2 }));
    expect(publishes(sub.take()).map((x) => x.payload.toString())).toEqual(['first']);
    sub.peer.drain();
    expect(publishes(sub.take()).map((x) => x.payload.toString())).toEqual(['queued']);
  });

  it('drops messages beyond maxQueuedMessages for an offline session', async () => {
    const broker = createTestBroker({ maxQueuedMessages: 2 });
    const a = await broker.client({ clientId: 'full', clean: false });
    a.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'f', qos: 1 }] });
    a.peer.drop();
    const p = await broker.client();
    for (let i = 1; i <= 4; i++) p.send(pub('f', String(i), { qos: 1, messageId: i }));
    const back = await broker.client({ clientId: 'full', clean: false });
    expect(publishes(back.take()).map((x) => x.payload.toString())).toEqual(['1', '2']);
  });

  it('offers the mqttv3.1 alias only when asked', () => {
    expect(createTestBroker().adapter.aliases).toBeUndefined();
    expect(createTestBroker({ aliases: true }).adapter.aliases).toEqual(['mqttv3.1']);
  });

  it('publishes as the broker through adapter.publish', async () => {
    const broker = createTestBroker();
    const c = await broker.client({ version: 5 });
    c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'srv/#', qos: 1 }] });
    c.take();
    broker.adapter.publish('srv/x', 'hello', { qos: 1, contentType: 'text/plain', userProperties: { a: 'b' } });
    const [got] = publishes(c.take());
    expect(got).toMatchObject({ topic: 'srv/x', qos: 1, properties: { contentType: 'text/plain', userProperties: { a: 'b' } } });
    expect(() => broker.adapter.publish('bad/#', 'x')).toThrow(TypeError);
  });
});
