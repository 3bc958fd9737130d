import { describe, expect, it } from 'vitest';
import { CloseCode, silentLogger, type Logger } from '@protoplex/core';
import { ReasonCode } from './constants.js';
import { encodePacket, type Packet, type PublishPacket } from './codec.js';
import { mqtt } from './adapter.js';
import { createTestBroker, flush } from './_test-utils.js';

const publishes = (packets: Packet[]): PublishPacket[] => packets.filter((p): p is PublishPacket => p.cmd === 'publish');

describe('CONNECT and CONNACK', () => {
  it('accepts an MQTT 3.1.1 CONNECT with return code 0 and answers PINGREQ', async () => {
    const broker = createTestBroker();
    const client = await broker.client();
    expect(client.take()).toMatchObject([{ cmd: 'connack', returnCode: 0, sessionPresent: false }]);
    client.send({ cmd: 'pingreq' });
    expect(client.take()).toMatchObject([{ cmd: 'pingresp' }]);
  });

  it('accepts MQTT 5.0 and assigns a client identifier to an empty one', async () => {
    const broker = createTestBroker();
    const client = await broker.client({ version: 5, clientId: '' });
    const [connack] = client.take();
    expect(connack).toMatchObject({ cmd: 'connack', reasonCode: 0, properties: { receiveMaximum: 64, topicAliasMaximum: 16, maximumPacketSize: 256 * 1024 } });
    expect((connack as { properties: { assignedClientIdentifier?: string } }).properties.assignedClientIdentifier).toMatch(/^ppx-/);
  });

  it('refuses an empty 3.1.1 client id without clean session with 0x02', async () => {
    const broker = createTestBroker();
    const client = await broker.client({ connect: false });
    // The codec refuses to write this CONNECT, so the bytes are spelled out: level 4, flags 0.
    client.peer.send(Buffer.from('100c00044d515454040000000000', 'hex'));
    await flush();
    expect(client.take()).toMatchObject([{ cmd: 'connack', returnCode: 0x02 }]);
    expect(client.peer.closed?.code).toBe(CloseCode.PolicyViolation);
  });

  it('refuses MQTT 3.1 (level 3) with 3.1.1 return code 0x01 and closes 1002', async () => {
    const broker = createTestBroker();
    const client = await broker.client({ connect: false });
    client.peer.send(encodePacket({ cmd: 'connect', protocolId: 'MQIsdp', protocolVersion: 3, clientId: 'old', clean: true, keepalive: 0 }, 3));
    expect(client.takeRaw().map((m) => Buffer.from(m).toString('hex'))).toEqual(['20020001']);
    expect(client.peer.closed?.code).toBe(CloseCode.ProtocolError);
  });

  it('refuses an unknown newer level with a 5.0 CONNACK 0x84', async () => {
    const broker = createTestBroker();
    const client = await broker.client({ connect: false });
    const bytes = encodePacket({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 'new', clean: true, keepalive: 0 }, 5);
    bytes[8] = 6; // protocol level byte
    client.peer.send(bytes);
    expect(client.takeRaw().map((m) => Buffer.from(m).toString('hex'))).toEqual(['20030084' + '00']);
    expect(client.peer.closed?.code).toBe(CloseCode.ProtocolError);
  });

  it('refuses a protocol name other than MQTT at level 4 with 0x01', async () => {
    const broker = createTestBroker();
    const client = await broker.client({ protocolId: 'MQIsdp' });
    expect(client.take()).toMatchObject([{ cmd: 'connack', returnCode: 0x01 }]);
    expect(client.peer.closed?.code).toBe(CloseCode.ProtocolError);
  });

  it('closes with 1002 when a packet arrives before CONNECT', async () => {
    const broker = createTestBroker();
    const client = await broker.client({ connect: false });
    client.send({ cmd: 'pingreq' });
    expect(client.peer.closed?.code).toBe(CloseCode.ProtocolError);
  });

  it('answers a second CONNECT with DISCONNECT 0x82 (5.0) and closes 1002', async () => {
    const broker = createTestBroker();
    const client = await broker.client({ version: 5 });
    client.take();
    client.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 'x', clean: true, keepalive: 0 });
    expect(client.take()).toMatchObject([{ cmd: 'disconnect', reasonCode: ReasonCode.ProtocolError }]);
    expect(client.peer.closed?.code).toBe(CloseCode.ProtocolError);
  });

  it('closes with 1003 on a text message', async () => {
    const broker = createTestBroker();
    const client = await broker.client();
    client.peer.send('hello', false);
    expect(client.peer.closed?.code).toBe(CloseCode.UnsupportedData);
  });
});

describe('QoS 0 publish and subscribe', () => {
  it('routes a QoS 0 PUBLISH to a matching subscriber', async () => {
    const broker = createTestBroker();
    const sub = await broker.client();
    const pub = await broker.client();
    sub.take();
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a/+/c', qos: 0 }] });
    expect(sub.take()).toMatchObject([{ cmd: 'suback', messageId: 1, granted: [0] }]);
    pub.send({ cmd: 'publish', topic: 'a/b/c', payload: Buffer.from('hi'), qos: 0, retain: false, dup: false });
    const got = publishes(sub.take());
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ topic: 'a/b/c', qos: 0 });
    expect(got[0]!.payload.toString()).toBe('hi');
  });
});

describe('streaming and encoding', () => {
  it('reads several packets from one WebSocket message and one packet split over three', async () => {
    const broker = createTestBroker();
    const sub = await broker.client();
    const pub = await broker.client();
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 't', qos: 0 }] });
    sub.take();
    const one = encodePacket({ cmd: 'publish', topic: 't', payload: Buffer.from('1'), qos: 0, retain: false, dup: false }, 4);
    const two = encodePacket({ cmd: 'publish', topic: 't', payload: Buffer.from('2'), qos: 0, retain: false, dup: false }, 4);
    pub.peer.send(Buffer.concat([one, two]));
    pub.peer.send(one.subarray(0, 1));
    pub.peer.send(one.subarray(1, 4));
    pub.peer.send(one.subarray(4));
    expect(publishes(sub.take()).map((p) => p.payload.toString())).toEqual(['1', '2', '1']);
  });

  it('sends each PUBLISH as one message and shares one buffer between identical QoS 0 deliveries', async () => {
    const broker = createTestBroker();
    const a = await broker.client();
    const b = await broker.client();
    const pub = await broker.client();
    for (const c of [a, b]) {
      c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'fan/#', qos: 0 }] });
      c.takeRaw();
    }
    pub.send({ cmd: 'publish', topic: 'fan/out', payload: Buffer.from('x'), qos: 0, retain: false, dup: false });
    const [ma] = a.takeRaw();
    const [mb] = b.takeRaw();
    expect(ma).toBeDefined();
    expect(ma).toBe(mb);
  });

  it('answers an oversized packet with DISCONNECT 0x95 and closes 1009', async () => {
    const broker = createTestBroker({ maxPacketSize: 64 });
    const client = await broker.client({ version: 5 });
    client.take();
    client.send({ cmd: 'publish', topic: 't', payload: Buffer.alloc(100), qos: 0, retain: false, dup: false });
    expect(client.take()).toMatchObject([{ cmd: 'disconnect', reasonCode: ReasonCode.PacketTooLarge }]);
    expect(client.peer.closed?.code).toBe(CloseCode.MessageTooBig);
  });

  it('answers a wildcard in a PUBLISH topic with 0x90 (5.0) and closes 1002 (3.1.1 and 5.0)', async () => {
    const broker = createTestBroker();
    const v5 = await broker.client({ version: 5 });
    v5.take();
    v5.peer.send(Buffer.from([0x30, 0x06, 0x00, 0x03, 0x61, 0x2f, 0x23, 0x00]));
    expect(v5.take()).toMatchObject([{ cmd: 'disconnect', reasonCode: ReasonCode.TopicNameInvalid }]);
    expect(v5.peer.closed?.code).toBe(CloseCode.ProtocolError);
    const v4 = await broker.client();
    v4.take();
    v4.peer.send(Buffer.from([0x30, 0x05, 0x00, 0x03, 0x61, 0x2f, 0x2b]));
    expect(v4.take()).toEqual([]);
    expect(v4.peer.closed?.code).toBe(CloseCode.ProtocolError);
  });

  it('answers ill-formed UTF-8 in a topic with DISCONNECT 0x81', async () => {
    const broker = createTestBroker();
    const client = await broker.client({ version: 5 });
    client.take();
    client.peer.send(Buffer.from([0x30, 0x05, 0x00, 0x02, 0xc3, 0x28, 0x00]));
    expect(client.take()).toMatchObject([{ cmd: 'disconnect', reasonCode: ReasonCode.MalformedPacket }]);
    expect(client.peer.closed?.code).toBe(CloseCode.ProtocolError);
  });

  it('answers QoS 3 with DISCONNECT 0x81', async () => {
    const broker = createTestBroker();
    const client = await broker.client({ version: 5 });
    client.take();
    client.peer.send(Buffer.from([0x36, 0x06, 0x00, 0x01, 0x74, 0x00, 0x01, 0x00]));
    expect(client.take()).toMatchObject([{ cmd: 'disconnect', reasonCode: ReasonCode.MalformedPacket }]);
  });
});

describe('QoS 1 and 2', () => {
  it('acknowledges QoS 1 and delivers with a packet id, then frees it on PUBACK', async () => {
    const broker = createTestBroker();
    const sub = await broker.client();
    const pub = await broker.client();
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'q', qos: 1 }] });
    sub.take();
    pub.take();
    pub.send({ cmd: 'publish', topic: 'q', payload: Buffer.from('m'), qos: 1, messageId: 7, retain: false, dup: false });
    expect(pub.take()).toMatchObject([{ cmd: 'puback', messageId: 7 }]);
    const [delivered] = publishes(sub.take());
    expect(delivered).toMatchObject({ qos: 1, dup: false });
    sub.send({ cmd: 'puback', messageId: delivered!.messageId! });
    expect(broker.adapter.stats().messagesOut).toBe(1);
  });

  it('keeps at most Receive Maximum messages in flight and sends the rest on PUBACK', async () => {
    const broker = createTestBroker();
    const sub = await broker.client({ version: 5, properties: { receiveMaximum: 2 } });
    const pub = await broker.client();
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'w', qos: 1 }] });
    sub.take();
    for (let i = 1; i <= 3; i++) pub.send({ cmd: 'publish', topic: 'w', payload: Buffer.from(String(i)), qos: 1, messageId: i, retain: false, dup: false });
    const first = publishes(sub.take());
    expect(first.map((p) => p.payload.toString())).toEqual(['1', '2']);
    sub.send({ cmd: 'puback', messageId: first[0]!.messageId! });
    expect(publishes(sub.take()).map((p) => p.payload.toString())).toEqual(['3']);
  });

  it('delivers an incoming QoS 2 message once even when the PUBLISH is resent before PUBREL', async () => {
    const broker = createTestBroker();
    const sub = await broker.client();
    const pub = await broker.client();
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'e', qos: 2 }] });
    sub.take();
    pub.take();
    const packet = { cmd: 'publish', topic: 'e', payload: Buffer.from('once'), qos: 2, messageId: 9, retain: false, dup: false } as const;
    pub.send(packet);
    pub.send({ ...packet, dup: true });
    expect(pub.take()).toMatchObject([{ cmd: 'pubrec', messageId: 9 }, { cmd: 'pubrec', messageId: 9 }]);
    pub.send({ cmd: 'pubrel', messageId: 9 });
    expect(pub.take()).toMatchObject([{ cmd: 'pubcomp', messageId: 9 }]);
    const got = publishes(sub.take());
    expect(got).toHaveLength(1);
    expect(got[0]!.qos).toBe(2);
  });

  it('runs the outgoing QoS 2 flow PUBLISH, PUBREC, PUBREL, PUBCOMP', async () => {
    const broker = createTestBroker();
    const sub = await broker.client();
    const pub = await broker.client();
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'e', qos: 2 }] });
    sub.take();
    pub.send({ cmd: 'publish', topic: 'e', payload: Buffer.from('x'), qos: 2, messageId: 1, retain: false, dup: false });
    const [delivered] = publishes(sub.take());
    sub.send({ cmd: 'pubrec', messageId: delivered!.messageId! });
    expect(sub.take()).toMatchObject([{ cmd: 'pubrel', messageId: delivered!.messageId! }]);
    sub.send({ cmd: 'pubcomp', messageId: delivered!.messageId! });
    expect(sub.take()).toEqual([]);
  });

  it('downgrades to the subscription QoS', async () => {
    const broker = createTestBroker();
    const sub = await broker.client();
    const pub = await broker.client();
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'd', qos: 0 }] });
    sub.take();
    pub.send({ cmd: 'publish', topic: 'd', payload: Buffer.from('x'), qos: 2, messageId: 1, retain: false, dup: false });
    expect(publishes(sub.take())[0]!.qos).toBe(0);
  });
});

describe('persistent sessions', () => {
  it('queues QoS 1 and 2 messages while a 3.1.1 client is away and resends in-flight ones with DUP', async () => {
    const broker = createTestBroker();
    const sub = await broker.client({ clientId: 'keeper', clean: false });
    const pub = await broker.client();
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'p/#', qos: 2 }] });
    sub.take();
    pub.send({ cmd: 'publish', topic: 'p/1', payload: Buffer.from('inflight'), qos: 1, messageId: 1, retain: false, dup: false });
    const [inflight] = publishes(sub.take());
    sub.peer.drop();
    pub.send({ cmd: 'publish', topic: 'p/2', payload: Buffer.from('q1'), qos: 1, messageId: 2, retain: false, dup: false });
    pub.send({ cmd: 'publish', topic: 'p/3', payload: Buffer.from('q2'), qos: 2, messageId: 3, retain: false, dup: false });
    pub.send({ cmd: 'publish', topic: 'p/4', payload: Buffer.from('q0'), qos: 0, retain: false, dup: false });
    expect(broker.adapter.stats().sessions).toBe(2);
    const back = await broker.client({ clientId: 'keeper', clean: false });
    const packets = back.take();
    expect(packets[0]).toMatchObject({ cmd: 'connack', sessionPresent: true });
    const got = publishes(packets);
    expect(got.map((p) => [p.payload.toString(), p.qos, p.dup])).toEqual([
      ['inflight', 1, true],
      ['q1', 1, false],
      ['q2', 2, false],
    ]);
    expect(got[0]!.messageId).toBe(inflight!.messageId);
  });

  it('resends PUBREL for a QoS 2 message released before the connection was lost', async () => {
    const broker = createTestBroker();
    const sub = await broker.client({ clientId: 'rel', clean: false });
    const pub = await broker.client();
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'r', qos: 2 }] });
    sub.take();
    pub.send({ cmd: 'publish', topic: 'r', payload: Buffer.from('x'), qos: 2, messageId: 1, retain: false, dup: false });
    const [delivered] = publishes(sub.take());
    sub.send({ cmd: 'pubrec', messageId: delivered!.messageId! });
    sub.peer.drop();
    const back = await broker.client({ clientId: 'rel', clean: false });
    expect(back.take()).toMatchObject([{ cmd: 'connack', sessionPresent: true }, { cmd: 'pubrel', messageId: delivered!.messageId! }]);
  });

  it('discards the session on clean start and expires a 5.0 session after its interval', async () => {
    const broker = createTestBroker();
    const a = await broker.client({ version: 5, clientId: 'exp', clean: false, properties: { sessionExpiryInterval: 10 } });
    a.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'x', qos: 1 }] });
    a.peer.drop();
    expect(broker.adapter.stats().sessions).toBe(1);
    broker.harness.clock.advance(10_000);
    expect(broker.adapter.stats().sessions).toBe(0);
    const b = await broker.client({ version: 5, clientId: 'exp', clean: false });
    expect(b.take()[0]).toMatchObject({ cmd: 'connack', sessionPresent: false });
  });

  it('takes over a session: the first connection gets DISCONNECT 0x8E', async () => {
    const broker = createTestBroker();
    const first = await broker.client({ version: 5, clientId: 'dup' });
    first.take();
    await broker.client({ version: 5, clientId: 'dup' });
    expect(first.take()).toMatchObject([{ cmd: 'disconnect', reasonCode: ReasonCode.SessionTakenOver }]);
    expect(first.peer.closed?.code).toBe(CloseCode.NormalClosure);
  });
});

describe('retained messages', () => {
  it('stores, replaces and clears a retained message', async () => {
    const broker = createTestBroker();
    const pub = await broker.client();
    const retained = (payload: string) => ({ cmd: 'publish', topic: 'r/t', payload: Buffer.from(payload), qos: 0, retain: true, dup: false }) as const;
    pub.send(retained('one'), retained('two'));
    const sub = await broker.client();
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'r/#', qos: 0 }] });
    const got = publishes(sub.take());
    expect(got.map((p) => [p.payload.toString(), p.retain])).toEqual([['two', true]]);
    pub.send(retained(''));
    expect(broker.adapter.stats().retained).toBe(0);
  });

  it('honours 5.0 retain handling 2 and retain as published', async () => {
    const broker = createTestBroker();
    const pub = await broker.client();
    pub.send({ cmd: 'publish', topic: 'h', payload: Buffer.from('kept'), qos: 0, retain: true, dup: false });
    const sub = await broker.client({ version: 5 });
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'h', qos: 0, rh: 2, rap: true }] });
    expect(publishes(sub.take())).toEqual([]);
    pub.send({ cmd: 'publish', topic: 'h', payload: Buffer.from('live'), qos: 0, retain: true, dup: false });
    expect(publishes(sub.take())[0]).toMatchObject({ retain: true });
    const plain = await broker.client();
    plain.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'h', qos: 0 }] });
    plain.take();
    pub.send({ cmd: 'publish', topic: 'h', payload: Buffer.from('again'), qos: 0, retain: true, dup: false });
    expect(publishes(plain.take())[0]).toMatchObject({ retain: false });
  });
});

describe('wills', () => {
  const will = { topic: 'will/t', payload: Buffer.from('gone'), qos: 0 as const, retain: false };

  it('publishes the will when the socket dies (1006) but not after DISCONNECT', async () => {
    const broker = createTestBroker();
    const watcher = await broker.client();
    watcher.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'will/#', qos: 0 }] });
    watcher.take();
    const lost = await broker.client({ will });
    lost.peer.drop();
    expect(publishes(watcher.take()).map((p) => p.payload.toString())).toEqual(['gone']);
    const polite = await broker.client({ will });
    polite.send({ cmd: 'disconnect' });
    expect(polite.peer.closed?.code).toBe(CloseCode.NormalClosure);
    expect(publishes(watcher.take())).toEqual([]);
  });

  it('publishes the will on 5.0 DISCONNECT 0x04 and delays it by the Will Delay Interval', async () => {
    const broker = createTestBroker();
    const watcher = await broker.client();
    watcher.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'will/#', qos: 0 }] });
    watcher.take();
    const a = await broker.client({ version: 5, will });
    a.send({ cmd: 'disconnect', reasonCode: ReasonCode.DisconnectWithWill });
    expect(publishes(watcher.take())).toHaveLength(1);
    const b = await broker.client({ version: 5, clientId: 'delayed', clean: false, properties: { sessionExpiryInterval: 60 }, will: { ...will, properties: { willDelayInterval: 5 } } });
    b.peer.drop();
    expect(publishes(watcher.take())).toEqual([]);
    broker.harness.clock.advance(5_000);
    expect(publishes(watcher.take())).toHaveLength(1);
  });

  it('does not publish a delayed will when the client reconnects in time', async () => {
    const broker = createTestBroker();
    const watcher = await broker.client();
    watcher.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'will/#', qos: 0 }] });
    watcher.take();
    const props = { sessionExpiryInterval: 60 };
    const a = await broker.client({ version: 5, clientId: 'back', clean: false, properties: props, will: { ...will, properties: { willDelayInterval: 5 } } });
    a.peer.drop();
    await broker.client({ version: 5, clientId: 'back', clean: false, properties: props });
    broker.harness.clock.advance(10_000);
    expect(publishes(watcher.take())).toEqual([]);
  });
});

describe('keep-alive', () => {
  it('closes after one and a half keep-alive periods of silence with DISCONNECT 0x8D', async () => {
    const broker = createTestBroker();
    const client = await broker.client({ version: 5, keepalive: 10 });
    client.take();
    broker.harness.clock.advance(14_000);
    client.send({ cmd: 'pingreq' });
    broker.harness.clock.advance(14_000);
    expect(client.peer.closed).toBeUndefined();
    broker.harness.clock.advance(1_000);
    expect(client.take()).toMatchObject([{ cmd: 'pingresp' }, { cmd: 'disconnect', reasonCode: ReasonCode.KeepAliveTimeout }]);
    expect(client.peer.closed).toBeDefined();
  });

  it('imposes the Server Keep Alive on 5.0 clients when keepAliveMaximum is set', async () => {
    const broker = createTestBroker({ keepAliveMaximum: 30 });
    const client = await broker.client({ version: 5, keepalive: 0 });
    expect(client.take()[0]).toMatchObject({ properties: { serverKeepAlive: 30 } });
    broker.harness.clock.advance(45_000);
    expect(client.peer.closed).toBeDefined();
  });
});

describe('deadlines', () => {
  it('closes a connection that sends no CONNECT within connectTimeout with 1008', async () => {
    const broker = createTestBroker({ connectTimeout: 5_000 });
    const client = await broker.client({ connect: false });
    broker.harness.clock.advance(4_000);
    expect(client.peer.closed).toBeUndefined();
    broker.harness.clock.advance(1_000);
    expect(client.peer.closed?.code).toBe(CloseCode.PolicyViolation);
  });

  it('keeps no timer per connection and stops its one sweep when the last watched connection closes', async () => {
    const broker = createTestBroker();
    const a = await broker.client({ keepalive: 10 });
    const b = await broker.client({ keepalive: 20 });
    expect(broker.harness.clock.pending).toBe(1);
    expect(a.peer.scope.holdings()).toEqual({ subscriptions: 0, timers: 0 });
    a.peer.close();
    expect(broker.harness.clock.pending).toBe(1);
    b.peer.drop();
    expect(broker.harness.clock.pending).toBe(0);
  });
});

describe('shutdown', () => {
  it('sends 5.0 clients DISCONNECT 0x8B, closes every connection with 1001 and keeps persistent sessions', async () => {
    const broker = createTestBroker();
    const v5 = await broker.client({ version: 5, clientId: 'v5', clean: false, properties: { sessionExpiryInterval: 60 } });
    const v4 = await broker.client({ clientId: 'v4', clean: false });
    v5.take();
    v4.take();
    await broker.adapter.shutdown!(new AbortController().signal);
    expect(v5.take()).toMatchObject([{ cmd: 'disconnect', reasonCode: ReasonCode.ServerShuttingDown }]);
    expect(v4.take()).toEqual([]);
    expect([v5.peer.closed?.code, v4.peer.closed?.code]).toEqual([CloseCode.GoingAway, CloseCode.GoingAway]);
    expect(broker.adapter.stats()).toMatchObject({ clients: [], sessions: 2 });
  });
});

describe('recognize (clients that offer no subprotocol)', () => {
  const connect4 = encodePacket({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'r', clean: true, keepalive: 0 }, 4);
  const connect5 = encodePacket({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 'r', clean: true, keepalive: 0 }, 5);
  const connect31 = encodePacket({ cmd: 'connect', protocolId: 'MQIsdp', protocolVersion: 3, clientId: 'r', clean: true, keepalive: 0 }, 3);

  it('claims a binary first message that starts a CONNECT, even when that is its only byte', () => {
    const adapter = mqtt();
    expect(adapter.recognize!(connect4, true)).toBe('mqtt');
    expect(adapter.recognize!(connect5, true)).toBe('mqtt');
    // MQTT.js sends a packet's first byte as a WebSocket message of its own.
    expect(adapter.recognize!(connect5.subarray(0, 1), true)).toBe('mqtt');
  });

  it('answers mqtt, never mqttv3.1, for an MQTT 3.1 CONNECT, which the session then refuses with 0x01', async () => {
    expect(mqtt({ aliases: true }).recognize!(connect31, true)).toBe('mqtt');
    const broker = createTestBroker({ aliases: true });
    const client = await broker.client({ connect: false });
    client.peer.send(connect31);
    expect(client.takeRaw().map((m) => Buffer.from(m).toString('hex'))).toEqual(['20020001']);
  });

  it('leaves everything else alone: text, other packets, an empty message', () => {
    const adapter = mqtt();
    expect(adapter.recognize!('CONNECT\naccept-version:1.2\n\n\u0000', false)).toBeUndefined();
    expect(adapter.recognize!('\u0010', false)).toBeUndefined();
    expect(adapter.recognize!(encodePacket({ cmd: 'pingreq' }, 4), true)).toBeUndefined();
    expect(adapter.recognize!(encodePacket({ cmd: 'publish', topic: 't', payload: Buffer.from('x'), qos: 0, retain: false, dup: false }, 4), true)).toBeUndefined();
    // A CONNECT's reserved flag bits are 0 ([MQTT-2.2.2-1]); 0x11 is not one.
    expect(adapter.recognize!(Uint8Array.from([0x11, 0x00]), true)).toBeUndefined();
    expect(adapter.recognize!(new Uint8Array(0), true)).toBeUndefined();
  });
});

describe('the one exit path', () => {
  /** A logger that keeps what `error` got. */
  function recordingLog(): { log: Logger; errors: unknown[] } {
    const errors: unknown[] = [];
    const log: Logger = { ...silentLogger, error: (fields: unknown) => void errors.push(fields), child: () => log };
    return { log, errors };
  }

  it('refuses a CONNECT whose authenticate throws or rejects: CONNACK 0x80 (3.1.1: 0x03), close 1011, logged', async () => {
    const { log, errors } = recordingLog();
    const broker = createTestBroker(
      {
        authenticate: ({ username }) => {
          if (username === 'throws') throw new Error('directory down');
          return Promise.reject(new Error('directory down'));
        },
      },
      { log },
    );
    for (const [version, username] of [[5, 'throws'], [5, 'rejects'], [4, 'throws'], [4, 'rejects']] as const) {
      const client = await broker.client({ version, username });
      expect(client.take()).toMatchObject([version === 5 ? { cmd: 'connack', reasonCode: ReasonCode.UnspecifiedError } : { cmd: 'connack', returnCode: 0x03 }]);
      expect(client.peer.closed?.code).toBe(CloseCode.InternalError);
    }
    expect(errors).toHaveLength(4);
  });

  it('ends a session whose hook has a bug with DISCONNECT 0x83 (5.0) or a bare close (3.1.1), close 1011', async () => {
    const { log, errors } = recordingLog();
    const broker = createTestBroker({ published: () => { throw new Error('bug'); } }, { log });
    const v5 = await broker.client({ version: 5 });
    const v4 = await broker.client();
    v5.take();
    v4.take();
    v5.send({ cmd: 'publish', topic: 't', payload: Buffer.from('x'), qos: 1, messageId: 1, retain: false, dup: false });
    v4.send({ cmd: 'publish', topic: 't', payload: Buffer.from('x'), qos: 1, messageId: 1, retain: false, dup: false });
    expect(v5.take()).toMatchObject([{ cmd: 'disconnect', reasonCode: ReasonCode.ImplementationSpecificError, properties: { reasonString: 'Internal error' } }]);
    expect(v4.take()).toEqual([]);
    expect([v5.peer.closed?.code, v4.peer.closed?.code]).toEqual([CloseCode.InternalError, CloseCode.InternalError]);
    expect(errors).toHaveLength(2);
  });

  it('ends the session through the same exit when a continuation after an asynchronous step throws', async () => {
    const broker = createTestBroker({ responseInformation: () => { throw new Error('bug'); } });
    const client = await broker.client({ version: 5, properties: { requestResponseInformation: true } });
    expect(client.take()).toMatchObject([{ cmd: 'connack', reasonCode: ReasonCode.ImplementationSpecificError }]);
    expect(client.peer.closed?.code).toBe(CloseCode.InternalError);
  });
});
