/**
 * Behaviours the Eclipse Paho interoperability suites (client_test.py, client_test5.py) check,
 * plus the CONNACK options (Maximum QoS, Response Information, trimming to the client's Maximum
 * Packet Size). Each test names the Paho test or spec clause it answers to.
 */
import { describe, expect, it } from 'vitest';
import { CloseCode } from '@protoplex/core';
import { ReasonCode } from './constants.js';
import type { Packet, PublishPacket } from './codec.js';
import { mqttDefaults } from './adapter.js';
import { createTestBroker, flush } from './_test-utils.js';

const publishes = (packets: Packet[]): PublishPacket[] => packets.filter((p): p is PublishPacket => p.cmd === 'publish');
const pub = (topic: string, payload: string, extra: Partial<PublishPacket> = {}): PublishPacket => ({ cmd: 'publish', topic, payload: Buffer.from(payload), qos: 0, retain: false, dup: false, ...extra });

describe('Paho client_test5 behaviours', () => {
  it('accepts an empty client id with Clean Start 0 in 5.0 and assigns one (test_zero_length_clientid)', async () => {
    // [MQTT-3.1.3-6] (5.0) a zero-length ClientID MAY be allowed; the Server "MUST treat this as a
    // special case and assign a unique ClientID to that Client".
    const broker = createTestBroker();
    const client = await broker.client({ version: 5, connect: false });
    // The codec refuses to write this CONNECT, so the bytes are spelled out: level 5, flags 0 (Clean
    // Start 0), keep alive 0, no properties, empty client id.
    client.peer.send(Buffer.from('100d00044d51545405000000000000', 'hex'));
    await flush();
    const [connack] = client.take() as Array<Packet & { reasonCode?: number; properties?: { assignedClientIdentifier?: string } }>;
    expect(connack?.reasonCode).toBe(0);
    expect(connack?.properties?.assignedClientIdentifier).toMatch(/^ppx-/);
  });

  it('forgets client topic aliases across a resumed session: alias-only PUBLISH is a Protocol Error (test_client_topic_alias)', async () => {
    // [MQTT-3.3.2-7] (5.0) "Topic Alias mappings exist only within a Network Connection and last
    // only for the lifetime of that Network Connection."
    const broker = createTestBroker();
    const props = { sessionExpiryInterval: 99999 };
    const a = await broker.client({ version: 5, clientId: 'alias', clean: true, properties: props });
    a.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'ta', qos: 1 }] });
    a.send(pub('ta', 'one', { qos: 1, messageId: 2, properties: { topicAlias: 1 } }), pub('', 'two', { qos: 1, messageId: 3, properties: { topicAlias: 1 } }));
    expect(publishes(a.take()).map((p) => p.payload.toString())).toEqual(['one', 'two']);
    a.send({ cmd: 'disconnect' });
    const b = await broker.client({ version: 5, clientId: 'alias', clean: false, properties: props });
    expect(b.take()[0]).toMatchObject({ cmd: 'connack', sessionPresent: true });
    b.send(pub('', 'four', { qos: 1, messageId: 4, properties: { topicAlias: 1 } }));
    expect(b.take()).toMatchObject([{ cmd: 'disconnect', reasonCode: ReasonCode.ProtocolError }]);
    expect(b.peer.closed?.code).toBe(CloseCode.ProtocolError);
  });

  it('publishes a will at the session expiry when that comes before the Will Delay Interval (test_will_delay)', async () => {
    // [MQTT-3.1.2-8] (5.0) the Will Message "MUST be published after the Network Connection is
    // subsequently closed and either the Will Delay Interval has elapsed or the Session ends".
    const broker = createTestBroker();
    const watcher = await broker.client();
    watcher.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'will/#', qos: 0 }] });
    watcher.take();
    const a = await broker.client({
      version: 5,
      clientId: 'wd',
      properties: { sessionExpiryInterval: 2 },
      will: { topic: 'will/t', payload: Buffer.from('bye'), qos: 0, retain: false, properties: { willDelayInterval: 5 } },
    });
    a.peer.drop();
    broker.harness.clock.advance(1_900);
    expect(publishes(watcher.take())).toEqual([]);
    broker.harness.clock.advance(200);
    expect(publishes(watcher.take()).map((p) => p.payload.toString())).toEqual(['bye']);
  });

  it('takes the Session Expiry Interval of DISCONNECT, and ends the session at once for 0 (test_session_expiry)', async () => {
    // MQTT 5.0 §3.14.2.2.2: the DISCONNECT's Session Expiry Interval replaces the CONNECT's.
    const broker = createTestBroker();
    const props = { sessionExpiryInterval: 1 };
    const a = await broker.client({ version: 5, clientId: 'se', clean: true, properties: props });
    a.send({ cmd: 'disconnect', properties: { sessionExpiryInterval: 5 } });
    await flush();
    broker.harness.clock.advance(3_000);
    const b = await broker.client({ version: 5, clientId: 'se', clean: false, properties: props });
    expect(b.take()).toMatchObject([{ cmd: 'connack', sessionPresent: true }]);
    b.send({ cmd: 'disconnect', properties: { sessionExpiryInterval: 0 } });
    await flush();
    const c = await broker.client({ version: 5, clientId: 'se', clean: false, properties: props });
    expect(c.take()).toMatchObject([{ cmd: 'connack', sessionPresent: false }]);
  });

  it("carries the will's user properties in order (test_will_message)", async () => {
    // MQTT 5.0 §3.1.3.2: will properties travel with the Will Message when it is published.
    const broker = createTestBroker();
    const watcher = await broker.client({ version: 5 });
    watcher.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'will/#', qos: 0 }] });
    watcher.take();
    const a = await broker.client({ version: 5, will: { topic: 'will/u', payload: Buffer.from('x'), qos: 0, retain: false, properties: { userProperties: { a: '2', c: '3' } } } });
    a.peer.drop();
    const [will] = publishes(watcher.take());
    expect(Object.entries(will?.properties?.userProperties ?? {})).toEqual([
      ['a', '2'],
      ['c', '3'],
    ]);
  });

  it('counts the Message Expiry Interval of a will from when it is published, not from CONNECT', async () => {
    // MQTT 5.0 §3.1.3.2.4: the will's Message Expiry Interval "is used as the Publication Expiry
    // Interval when the Server publishes the Will Message"; [MQTT-3.3.2-6] the forwarded value is the
    // received one minus the time the message waited in the Server.
    const broker = createTestBroker();
    const watcher = await broker.client({ version: 5 });
    watcher.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'will/#', qos: 1 }] });
    watcher.take();
    const a = await broker.client({ version: 5, will: { topic: 'will/e', payload: Buffer.from('x'), qos: 1, retain: false, properties: { messageExpiryInterval: 10 } } });
    broker.harness.clock.advance(60_000);
    a.peer.drop();
    const [will] = publishes(watcher.take());
    expect(will?.properties?.messageExpiryInterval).toBe(10);
  });

  it('sends both subscription identifiers when "t" and "t/#" match the same message (test_subscribe_identifiers)', async () => {
    // MQTT 5.0 §4.7.1.2: "sport/#" also matches "sport", the parent level; [MQTT-3.3.4-3]
    // (5.0) the Server MUST send the Subscription Identifiers of every overlapping subscription.
    const broker = createTestBroker();
    const b = await broker.client({ version: 5 });
    b.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'TopicA', qos: 2 }], properties: { subscriptionIdentifier: 2 } });
    b.send({ cmd: 'subscribe', messageId: 2, subscriptions: [{ topic: 'TopicA/#', qos: 2 }], properties: { subscriptionIdentifier: 3 } });
    b.take();
    b.send(pub('TopicA', 'sub identifier test', { qos: 1, messageId: 3 }));
    const got = publishes(b.take());
    expect(got).toHaveLength(1);
    expect(new Set([got[0]?.properties?.subscriptionIdentifier].flat())).toEqual(new Set([2, 3]));
  });

  it('drops queued messages whose expiry passed and counts down the others on reconnect (test_publication_expiry)', async () => {
    // [MQTT-3.3.2-5] (5.0) an expired message the Server has not started delivering "MUST" be
    // deleted; [MQTT-3.3.2-6] the forwarded Message Expiry Interval is the received value minus the
    // time the message waited in the Server.
    const broker = createTestBroker();
    const b = await broker.client({ version: 5, clientId: 'expiring', clean: true, properties: { sessionExpiryInterval: 99999 } });
    b.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'TopicA', qos: 2 }] });
    b.send({ cmd: 'disconnect', properties: { sessionExpiryInterval: 999999999 } });
    const a = await broker.client({ version: 5 });
    for (const [expiry, qos] of [[1, 1], [1, 2], [6, 1], [6, 2]] as const) {
      a.send(pub('TopicA', `${qos} ${expiry}`, { qos, messageId: expiry * 10 + qos, properties: { messageExpiryInterval: expiry } }));
    }
    broker.harness.clock.advance(3_000);
    const back = await broker.client({ version: 5, clientId: 'expiring', clean: false });
    const got = publishes(back.take());
    expect(got.map((p) => p.payload.toString())).toEqual(['1 6', '2 6']);
    for (const p of got) expect(p.properties?.messageExpiryInterval).toBeLessThan(6);
  });

  it('publishes the will of a connection taken over, unless a Will Delay outlasts the resumed session (will on takeover)', async () => {
    // MQTT 5.0 §3.1.4 (non-normative note to [MQTT-3.1.4-3]): "If the Will Delay Interval of the
    // existing Network Connection is 0 and there is a Will Message, it will be sent as part of the
    // takeover"; with a delay and Clean Start 0 the Session continues, so [MQTT-3.1.3-9] "the Server
    // MUST NOT send the Will Message" when a new connection resumes it within the delay.
    const broker = createTestBroker();
    const watcher = await broker.client();
    watcher.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'will/#', qos: 0 }] });
    watcher.take();
    const will = { topic: 'will/take', payload: Buffer.from('taken'), qos: 0 as const, retain: false };
    await broker.client({ version: 5, clientId: 'twin', will });
    await broker.client({ version: 5, clientId: 'twin' });
    expect(publishes(watcher.take()).map((p) => p.payload.toString())).toEqual(['taken']);
    const props = { sessionExpiryInterval: 60 };
    await broker.client({ version: 5, clientId: 'patient', clean: false, properties: props, will: { ...will, properties: { willDelayInterval: 10 } } });
    await broker.client({ version: 5, clientId: 'patient', clean: false, properties: props });
    broker.harness.clock.advance(20_000);
    expect(publishes(watcher.take())).toEqual([]);
  });
});

describe('outbound topic aliases and Maximum Packet Size', () => {
  it('does not keep an alias whose first PUBLISH was too large to send (test_maximum_packet_size with aliases)', async () => {
    // [MQTT-3.1.2-25] (5.0) a packet too large "MUST" be discarded; the alias it would have set up
    // never reached the client, so the next PUBLISH on that topic must carry the topic name again.
    const broker = createTestBroker();
    const sub = await broker.client({ version: 5, properties: { topicAliasMaximum: 2, maximumPacketSize: 40 } });
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a/b', qos: 0 }] });
    sub.take();
    const p = await broker.client({ version: 5 });
    p.send(pub('a/b', 'x'.repeat(64)), pub('a/b', 'small'), pub('a/b', 'again'));
    const got = publishes(sub.take());
    expect(got.map((m) => [m.topic, m.payload.toString(), m.properties?.topicAlias])).toEqual([
      ['a/b', 'small', 1],
      ['', 'again', 1],
    ]);
  });
});

describe('CONNACK properties', () => {
  it("advertises a Maximum Packet Size strictly below the server's default maxPayload (1 MiB)", async () => {
    const broker = createTestBroker();
    const client = await broker.client({ version: 5 });
    const [connack] = client.take() as Array<Packet & { properties?: { maximumPacketSize?: number } }>;
    expect(connack?.properties?.maximumPacketSize).toBe(mqttDefaults.maxPacketSize);
    expect(mqttDefaults.maxPacketSize).toBeLessThan(1024 * 1024);
  });

  it('sends Maximum QoS below 2, grants at most it, and refuses a higher PUBLISH with 0x9B', async () => {
    const broker = createTestBroker({ maximumQoS: 1 });
    const client = await broker.client({ version: 5 });
    expect(client.take()).toMatchObject([{ cmd: 'connack', properties: { maximumQoS: 1 } }]);
    // [MQTT-3.2.2-10] (5.0) SUBSCRIBE with Requested QoS 2 is still accepted, granted 1.
    client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'q/#', qos: 2 }] });
    expect(client.take()).toMatchObject([{ cmd: 'suback', granted: [1] }]);
    client.send(pub('q/x', 'too high', { qos: 2, messageId: 2 }));
    expect(client.take()).toMatchObject([{ cmd: 'disconnect', reasonCode: ReasonCode.QoSNotSupported }]);
    expect(client.peer.closed?.code).toBe(CloseCode.PolicyViolation);
    const v4 = await broker.client();
    v4.take();
    v4.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'q/#', qos: 2 }] });
    expect(v4.take()).toMatchObject([{ cmd: 'suback', granted: [1] }]);
  });

  it('refuses a will above Maximum QoS with CONNACK 0x9B (5.0) and 0x05 (3.1.1)', async () => {
    // [MQTT-3.2.2-12] (5.0) "If a Server receives a CONNECT packet containing a Will QoS that
    // exceeds its capabilities, it MUST reject the connection."
    const broker = createTestBroker({ maximumQoS: 0 });
    const will = { topic: 'w', payload: Buffer.from('x'), qos: 1 as const, retain: false };
    const v5 = await broker.client({ version: 5, will });
    expect(v5.take()).toMatchObject([{ cmd: 'connack', reasonCode: ReasonCode.QoSNotSupported }]);
    const v4 = await broker.client({ will });
    expect(v4.take()).toMatchObject([{ cmd: 'connack', returnCode: 0x05 }]);
  });

  it('returns Response Information only to a client that asks for it', async () => {
    // [MQTT-3.1.2-28] (5.0) "A value of 0 indicates that the Server MUST NOT return Response Information."
    const broker = createTestBroker({ responseInformation: ({ client }) => `reply/${client.id}` });
    const asks = await broker.client({ version: 5, clientId: 'rr', properties: { requestResponseInformation: true } });
    expect(asks.take()).toMatchObject([{ cmd: 'connack', properties: { responseInformation: 'reply/rr' } }]);
    const quiet = await broker.client({ version: 5, clientId: 'q' });
    const [connack] = quiet.take() as Array<Packet & { properties?: Record<string, unknown> }>;
    expect(connack?.properties?.responseInformation).toBeUndefined();
  });

  it("drops the Reason String before exceeding the client's Maximum Packet Size", async () => {
    // [MQTT-3.2.2-19] (5.0) the Server "MUST NOT send this property if it would increase the size of
    // the CONNACK packet beyond the Maximum Packet Size specified by the Client".
    const broker = createTestBroker({ authenticate: () => false });
    const refused = await broker.client({ version: 5, properties: { maximumPacketSize: 10 } });
    const [connack] = refused.take() as Array<Packet & { reasonCode?: number; properties?: Record<string, unknown> }>;
    expect(connack?.reasonCode).toBe(ReasonCode.NotAuthorized);
    expect(connack?.properties?.reasonString).toBeUndefined();
    const roomy = await broker.client({ version: 5 });
    expect(roomy.take()).toMatchObject([{ cmd: 'connack', reasonCode: ReasonCode.NotAuthorized, properties: { reasonString: 'not authorized' } }]);
  });

  it("drops the Reason String of a DISCONNECT that would exceed the client's Maximum Packet Size", async () => {
    const broker = createTestBroker();
    const client = await broker.client({ version: 5, properties: { maximumPacketSize: 20 } });
    client.take();
    client.peer.send(Buffer.from([0x30, 0x07, 0x00, 0x03, 0x61, 0x2f, 0x23, 0x00, 0x00]));
    const raw = client.takeRaw();
    expect(raw.every((m) => m.byteLength <= 20)).toBe(true);
    expect(raw.map((m) => Buffer.from(m).toString('hex'))).toEqual(['e0029000']);
  });
});

describe('wills and authorizePublish', () => {
  it('refuses a CONNECT whose will authorizePublish denies: CONNACK 0x87 (5.0), 0x05 (3.1.1), close 1008', async () => {
    // MQTT 5.0 §3.2.2.2: CONNACK 0x87 "Not authorized"; 3.1.1 §3.2.2.3: return code 0x05.
    const broker = createTestBroker({ authorizePublish: async ({ message }) => !message.topic.startsWith('forbidden/') });
    const will = { topic: 'forbidden/w', payload: Buffer.from('x'), qos: 0 as const, retain: false };
    const v5 = await broker.client({ version: 5, will });
    expect(v5.take()).toMatchObject([{ cmd: 'connack', reasonCode: ReasonCode.NotAuthorized }]);
    expect(v5.peer.closed?.code).toBe(CloseCode.PolicyViolation);
    const v4 = await broker.client({ will });
    expect(v4.take()).toMatchObject([{ cmd: 'connack', returnCode: 0x05 }]);
    const fine = await broker.client({ version: 5, will: { ...will, topic: 'allowed/w' } });
    expect(fine.take()).toMatchObject([{ cmd: 'connack', reasonCode: 0 }]);
  });

  it('checks the will again when it is sent, so a permission revoked meanwhile holds', async () => {
    let allowed = true;
    const broker = createTestBroker({ authorizePublish: () => allowed });
    const watcher = await broker.client();
    watcher.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'w/#', qos: 0 }] });
    watcher.take();
    const a = await broker.client({ will: { topic: 'w/a', payload: Buffer.from('x'), qos: 0, retain: false } });
    expect(a.take()).toMatchObject([{ cmd: 'connack', returnCode: 0 }]);
    allowed = false;
    a.peer.drop();
    await flush();
    expect(publishes(watcher.take())).toEqual([]);
  });
});
