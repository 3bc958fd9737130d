/**
 * End to end: the real MQTT.js client (protocol versions 4 and 5) against the adapter served by
 * @protoplex/server on 127.0.0.1.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connect, connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { WebSocket } from 'ws';
import { createMemoryBus, silentLogger, type BusMessage } from '@protoplex/core';
import { createServer, type ProtoplexServer } from '@protoplex/server';
import { mqtt, type MqttAdapter } from './adapter.js';
import { decodePackets, encodePacket } from './codec.js';
import type { MqttOptions } from './types.js';

const servers: ProtoplexServer[] = [];
const clients: MqttClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true).catch(() => undefined)));
  await Promise.all(servers.splice(0).map((s) => s.close({ timeout: 500 })));
});

interface Started {
  url: string;
  adapter: MqttAdapter;
  bus: ReturnType<typeof createMemoryBus>;
}

async function start(options: MqttOptions = {}): Promise<Started> {
  const adapter = mqtt({ sysInterval: 0, ...options });
  const bus = createMemoryBus();
  const server = createServer({ adapters: [adapter], logger: silentLogger, bus, keepAlive: false });
  servers.push(server);
  const address = await server.listen(0, '127.0.0.1');
  return { url: `ws://127.0.0.1:${address.port}/`, adapter, bus };
}

async function client(url: string, options: IClientOptions): Promise<MqttClient> {
  const c = await connectAsync(url, { reconnectPeriod: 0, connectTimeout: 2000, ...options });
  clients.push(c);
  return c;
}

interface Received {
  topic: string;
  payload: string;
  packet: { qos: number; retain: boolean; properties?: Record<string, unknown> };
}

function collect(c: MqttClient): Received[] {
  const out: Received[] = [];
  c.on('message', (topic, payload, packet) => out.push({ topic, payload: payload.toString(), packet: packet as Received['packet'] }));
  return out;
}

async function until(check: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An MQTT.js client whose TCP socket can be killed: no DISCONNECT, no WebSocket close frame. */
async function killableClient(url: string, options: IClientOptions): Promise<{ client: MqttClient; kill(): void }> {
  let socket: WebSocket | undefined;
  const c = await client(url, {
    ...options,
    createWebsocket: (target: string, protocols: string[]) => {
      socket = new WebSocket(target, protocols);
      return socket;
    },
  } as IClientOptions);
  return {
    client: c,
    kill() {
      (socket as unknown as { _socket: { destroy(): void } })._socket.destroy();
    },
  };
}

for (const protocolVersion of [4, 5] as const) {
  describe(`MQTT.js at protocol version ${protocolVersion}`, () => {
    it('connects, subscribes and receives QoS 0, 1 and 2 messages', async () => {
      const { url } = await start();
      const sub = await client(url, { protocolVersion, clientId: `sub${protocolVersion}` });
      const pub = await client(url, { protocolVersion, clientId: `pub${protocolVersion}` });
      const got = collect(sub);
      await sub.subscribeAsync('e2e/#', { qos: 2 });
      await pub.publishAsync('e2e/0', 'zero', { qos: 0 });
      await pub.publishAsync('e2e/1', 'one', { qos: 1 });
      await pub.publishAsync('e2e/2', 'two', { qos: 2 });
      await until(() => got.length === 3);
      expect(got.map((m) => [m.topic, m.payload, m.packet.qos]).sort()).toEqual([
        ['e2e/0', 'zero', 0],
        ['e2e/1', 'one', 1],
        ['e2e/2', 'two', 2],
      ]);
    });

    it('keeps, replaces and clears retained messages', async () => {
      const { url, adapter } = await start();
      const pub = await client(url, { protocolVersion });
      await pub.publishAsync('ret/a', 'first', { qos: 1, retain: true });
      await pub.publishAsync('ret/a', 'second', { qos: 1, retain: true });
      const sub = await client(url, { protocolVersion });
      const got = collect(sub);
      await sub.subscribeAsync('ret/#', { qos: 1 });
      await until(() => got.length === 1);
      expect(got[0]).toMatchObject({ payload: 'second', packet: { retain: true } });
      await pub.publishAsync('ret/a', '', { qos: 1, retain: true });
      await until(() => adapter.stats().retained === 0);
    });

    it('delivers queued QoS 1 and 2 messages to a persistent session on reconnect', async () => {
      const { url } = await start();
      const persistent: IClientOptions = { protocolVersion, clientId: `keep${protocolVersion}`, clean: false, ...(protocolVersion === 5 ? { properties: { sessionExpiryInterval: 60 } } : {}) };
      const first = await client(url, persistent);
      await first.subscribeAsync('queue/#', { qos: 2 });
      await first.endAsync();
      const pub = await client(url, { protocolVersion });
      await pub.publishAsync('queue/1', 'q1', { qos: 1 });
      await pub.publishAsync('queue/2', 'q2', { qos: 2 });
      await pub.publishAsync('queue/0', 'q0', { qos: 0 });
      const got: Received[] = [];
      // Listen before CONNECT: the queued messages follow the CONNACK at once.
      const again = connect(url, { ...persistent, reconnectPeriod: 0 });
      clients.push(again);
      again.on('message', (topic, payload, packet) => got.push({ topic, payload: payload.toString(), packet: packet as Received['packet'] }));
      await until(() => got.length === 2);
      await sleep(50);
      expect(got.map((m) => [m.payload, m.packet.qos])).toEqual([
        ['q1', 1],
        ['q2', 2],
      ]);
    });

    it('publishes the will after an abrupt socket loss but not after a clean disconnect', async () => {
      const { url } = await start();
      const watcher = await client(url, { protocolVersion });
      const got = collect(watcher);
      await watcher.subscribeAsync('wills/#', { qos: 1 });
      const polite = await client(url, { protocolVersion, will: { topic: 'wills/polite', payload: Buffer.from('bye'), qos: 1, retain: false } });
      await polite.endAsync();
      const lost = await killableClient(url, { protocolVersion, will: { topic: 'wills/lost', payload: Buffer.from('gone'), qos: 1, retain: false } });
      lost.kill();
      await until(() => got.length === 1);
      await sleep(50);
      expect(got.map((m) => [m.topic, m.payload])).toEqual([['wills/lost', 'gone']]);
    });
  });
}

describe('MQTT.js 5.0 features', () => {
  it('carries user properties, content type, response topic and correlation data end to end', async () => {
    const { url } = await start();
    const sub = await client(url, { protocolVersion: 5 });
    const pub = await client(url, { protocolVersion: 5 });
    const got = collect(sub);
    await sub.subscribeAsync('props', { qos: 1 });
    await pub.publishAsync('props', '{"a":1}', {
      qos: 1,
      properties: {
        contentType: 'application/json',
        userProperties: { trace: 'abc' },
        responseTopic: 'reply/here',
        correlationData: Buffer.from('corr'),
        payloadFormatIndicator: true,
        messageExpiryInterval: 60,
      },
    });
    await until(() => got.length === 1);
    const props = got[0]!.packet.properties!;
    expect(props).toMatchObject({ contentType: 'application/json', userProperties: { trace: 'abc' }, responseTopic: 'reply/here', payloadFormatIndicator: true });
    expect(Buffer.from(props.correlationData as Buffer).toString()).toBe('corr');
    expect(props.messageExpiryInterval).toBeGreaterThan(58);
  });

  it('sends subscription identifiers and honours no local', async () => {
    const { url } = await start();
    const c = await client(url, { protocolVersion: 5 });
    const got = collect(c);
    await c.subscribeAsync('ids/#', { qos: 0, properties: { subscriptionIdentifier: 42 } });
    await c.subscribeAsync('mine', { qos: 0, nl: true });
    await c.publishAsync('mine', 'echo?', { qos: 1 });
    await c.publishAsync('ids/x', 'hello', { qos: 1 });
    await until(() => got.length === 1);
    await sleep(50);
    expect(got).toHaveLength(1);
    expect(got[0]!.packet.properties).toMatchObject({ subscriptionIdentifier: 42 });
  });

  it('splits a shared subscription across its group', async () => {
    const { url } = await start();
    const a = await client(url, { protocolVersion: 5 });
    const b = await client(url, { protocolVersion: 5 });
    const gotA = collect(a);
    const gotB = collect(b);
    await a.subscribeAsync('$share/g/jobs/#', { qos: 1 });
    await b.subscribeAsync('$share/g/jobs/#', { qos: 1 });
    const pub = await client(url, { protocolVersion: 5 });
    for (let i = 0; i < 10; i++) await pub.publishAsync(`jobs/${i}`, String(i), { qos: 1 });
    await until(() => gotA.length + gotB.length === 10);
    expect(gotA.length).toBe(5);
    expect(gotB.length).toBe(5);
  });

  it('honours retain handling 2 and retain as published', async () => {
    const { url } = await start();
    const pub = await client(url, { protocolVersion: 5 });
    await pub.publishAsync('rh/t', 'old', { qos: 1, retain: true });
    const sub = await client(url, { protocolVersion: 5 });
    const got = collect(sub);
    await sub.subscribeAsync('rh/t', { qos: 1, rh: 2, rap: true });
    await pub.publishAsync('rh/t', 'new', { qos: 1, retain: true });
    await until(() => got.length === 1);
    await sleep(30);
    expect(got.map((m) => [m.payload, m.packet.retain])).toEqual([['new', true]]);
  });

  it('accepts topic aliases from the client', async () => {
    const { url } = await start();
    const sub = await client(url, { protocolVersion: 5 });
    const got = collect(sub);
    await sub.subscribeAsync('alias/t', { qos: 1 });
    const pub = await client(url, { protocolVersion: 5 });
    await pub.publishAsync('alias/t', 'one', { qos: 1, properties: { topicAlias: 3 } });
    await pub.publishAsync('', 'two', { qos: 1, properties: { topicAlias: 3 } });
    await until(() => got.length === 2);
    expect(got.map((m) => [m.topic, m.payload])).toEqual([
      ['alias/t', 'one'],
      ['alias/t', 'two'],
    ]);
  });

  it('never sends a client a packet above its maximum packet size', async () => {
    const { url } = await start();
    const sub = await client(url, { protocolVersion: 5, properties: { maximumPacketSize: 200 } });
    const got = collect(sub);
    await sub.subscribeAsync('big/#', { qos: 1 });
    const pub = await client(url, { protocolVersion: 5 });
    await pub.publishAsync('big/1', 'x'.repeat(500), { qos: 1 });
    await pub.publishAsync('big/2', 'small', { qos: 1 });
    await until(() => got.length === 1);
    await sleep(50);
    expect(got.map((m) => m.payload)).toEqual(['small']);
  });

  it('keeps MQTT.js 5 connected when the PUBLISH that would set up a topic alias was too large for it', async () => {
    // [MQTT-3.1.2-25] (5.0) the oversized PUBLISH is discarded, and so is the alias it carried: the
    // next PUBLISH on that topic sets the alias up again with the topic name.
    const { url } = await start();
    const sub = await client(url, { protocolVersion: 5, properties: { maximumPacketSize: 200, topicAliasMaximum: 4 } });
    const got = collect(sub);
    await sub.subscribeAsync('alias/#', { qos: 1 });
    const pub = await client(url, { protocolVersion: 5 });
    await pub.publishAsync('alias/t', 'x'.repeat(500), { qos: 1 });
    await pub.publishAsync('alias/t', 'small', { qos: 1 });
    await pub.publishAsync('alias/t', 'again', { qos: 1 });
    await until(() => got.length === 2);
    expect(got.map((m) => [m.topic, m.payload])).toEqual([
      ['alias/t', 'small'],
      ['alias/t', 'again'],
    ]);
    expect(sub.connected).toBe(true);
  });

  it('refuses MQTT.js 5 and 3.1.1 at CONNECT when authorizePublish denies the will (0x87 / 5)', async () => {
    const { url } = await start({ authorizePublish: ({ message }) => !message.topic.startsWith('forbidden/') });
    const will = { topic: 'forbidden/will', payload: Buffer.from('x'), qos: 0 as const, retain: false };
    await expect(connectAsync(url, { protocolVersion: 5, will, reconnectPeriod: 0 })).rejects.toMatchObject({ code: 0x87 });
    await expect(connectAsync(url, { protocolVersion: 4, will, reconnectPeriod: 0 })).rejects.toMatchObject({ code: 5 });
    const ok = await client(url, { protocolVersion: 5, will: { ...will, topic: 'allowed/will' } });
    expect(ok.connected).toBe(true);
  });
});

describe('the bus', () => {
  it('publishes MQTT messages on the bus and delivers bus messages from other protocols with their properties', async () => {
    const { url, bus } = await start();
    const seen: BusMessage[] = [];
    bus.subscribe('bridge/#', (m) => seen.push(m));
    const c = await client(url, { protocolVersion: 5 });
    const got = collect(c);
    await c.subscribeAsync('bridge/#', { qos: 1 });
    await c.publishAsync('bridge/from-mqtt', 'm', { qos: 1, properties: { contentType: 'text/plain', userProperties: { k: 'v' } } });
    await until(() => got.length === 1 && seen.length === 1);
    expect(seen[0]).toMatchObject({ topic: 'bridge/from-mqtt', contentType: 'text/plain', headers: { k: 'v' }, origin: { protocol: 'mqtt' } });
    bus.publish({ topic: 'bridge/from-stomp', payload: Buffer.from('s'), qos: 1, contentType: 'application/json', headers: { h: '1' }, origin: { protocol: 'stomp', connectionId: 'x' } });
    await until(() => got.length === 2);
    await sleep(30);
    expect(got).toHaveLength(2);
    expect(got[1]).toMatchObject({ topic: 'bridge/from-stomp', payload: 's', packet: { properties: { contentType: 'application/json', userProperties: { h: '1' } } } });
  });
});

describe('bad input over a real socket', () => {
  it('closes with 1003 on a text message', async () => {
    const { url } = await start();
    const ws = new WebSocket(url, ['mqtt']);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.send('CONNECT please');
    expect(await closed).toBe(1003);
  });

  it('answers a protocol error with DISCONNECT 0x82 and closes 1002 while other clients go on', async () => {
    const { url } = await start();
    const fine = await client(url, { protocolVersion: 5 });
    const ws = new WebSocket(url, ['mqtt']);
    const messages: Buffer[] = [];
    ws.on('message', (data: Buffer) => messages.push(data));
    await new Promise((resolve) => ws.once('open', resolve));
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    // CONNECT v5 "bad", then a SUBACK (server-only packet).
    ws.send(Buffer.from('101000044d5154540502003c000003626164', 'hex'));
    ws.send(Buffer.from('9003000100', 'hex'));
    expect(await closed).toBe(1002);
    expect(messages).toHaveLength(2);
    expect(messages[0]!.subarray(0, 4).toString('hex')).toBe('20' + messages[0]![1]!.toString(16).padStart(2, '0') + '0000');
    // DISCONNECT (0xE0) with reason code 0x82 Protocol Error.
    expect([messages[1]![0], messages[1]![2]]).toEqual([0xe0, 0x82]);
    expect(fine.connected).toBe(true);
    await fine.publishAsync('still/alive', 'yes', { qos: 1 });
  });
});

describe('oversized packets over a real socket', () => {
  /** A raw WebSocket MQTT client: CONNECT, then a PUBLISH of `payloadBytes` in one message. */
  async function sendOversized(url: string, version: 4 | 5, payloadBytes: number): Promise<{ code: number; packets: ReturnType<typeof decodePackets>['packets'] }> {
    const ws = new WebSocket(url, ['mqtt']);
    const received: Buffer[] = [];
    ws.on('message', (data: Buffer) => received.push(data));
    await new Promise((resolve) => ws.once('open', resolve));
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.send(encodePacket({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: version, clientId: `big${version}`, clean: true, keepalive: 0 }, version));
    await until(() => received.length > 0);
    ws.send(encodePacket({ cmd: 'publish', topic: 'big', payload: Buffer.alloc(payloadBytes, 0x2e), qos: 0, retain: false, dup: false }, version));
    const code = await closed;
    return { code, packets: received.flatMap((m) => decodePackets(m, version).packets) };
  }

  it('answers a 5.0 packet above maxPacketSize but below the transport maxPayload with DISCONNECT 0x95, then closes 1009', async () => {
    // MQTT 5.0 §3.1.2.11.4: a packet above the Server's Maximum Packet Size "is a Protocol Error,
    // the Server uses DISCONNECT with Reason Code 0x95 (Packet too large)". The default
    // maxPacketSize (256 KiB) sits below the server's maxPayload (1 MiB), so MQTT sees the packet.
    const { url } = await start();
    const { code, packets } = await sendOversized(url, 5, 300 * 1024);
    expect(packets[0]).toMatchObject({ cmd: 'connack', properties: { maximumPacketSize: 256 * 1024 } });
    expect(packets[1]).toMatchObject({ cmd: 'disconnect', reasonCode: 0x95 });
    expect(code).toBe(1009);
  });

  it('closes a 3.1.1 connection sending a packet above maxPacketSize with 1009 and no MQTT answer', async () => {
    // 3.1.1 has no DISCONNECT from the server ([MQTT-4.8.0-1]: close the Network Connection).
    const { url } = await start();
    const { code, packets } = await sendOversized(url, 4, 300 * 1024);
    expect(packets.map((p) => p.cmd)).toEqual(['connack']);
    expect(code).toBe(1009);
  });
});

describe('hooks, takeover and $SYS with MQTT.js', () => {
  it('refuses a CONNECT through authenticate and reports the reason code to MQTT.js', async () => {
    const { url } = await start({ authenticate: ({ username, password }) => username === 'u' && password?.toString() === 'p' });
    await expect(connectAsync(url, { protocolVersion: 5, username: 'u', password: 'wrong', reconnectPeriod: 0 })).rejects.toMatchObject({ code: 0x87 });
    await expect(connectAsync(url, { protocolVersion: 4, username: 'u', password: 'wrong', reconnectPeriod: 0 })).rejects.toMatchObject({ code: 5 });
    const ok = await client(url, { protocolVersion: 5, username: 'u', password: 'p' });
    expect(ok.connected).toBe(true);
  });

  it('refuses a subscription through authorizeSubscribe (SUBACK 0x87 / 0x80)', async () => {
    const { url } = await start({ authorizeSubscribe: ({ topic }) => !topic.startsWith('private') });
    for (const protocolVersion of [4, 5] as const) {
      const c = await client(url, { protocolVersion });
      // MQTT.js turns a failure code into an error, so read the SUBACK itself.
      const suback = new Promise<number[]>((resolve) =>
        c.on('packetreceive', (packet) => {
          if (packet.cmd === 'suback') resolve(packet.granted as number[]);
        }),
      );
      c.subscribe(['public/#', 'private/#'], { qos: 1 }, () => undefined);
      expect(await suback).toEqual([1, protocolVersion === 5 ? 0x87 : 0x80]);
    }
  });

  it('takes over a session: the first MQTT.js 5 client gets DISCONNECT 0x8E', async () => {
    const { url } = await start();
    const first = await client(url, { protocolVersion: 5, clientId: 'same' });
    const disconnected = new Promise<number | undefined>((resolve) => first.once('disconnect', (packet) => resolve(packet.reasonCode)));
    await client(url, { protocolVersion: 5, clientId: 'same' });
    expect(await disconnected).toBe(0x8e);
  });

  it('publishes $SYS statistics that a $SYS subscriber receives', async () => {
    const { url } = await start({ sysInterval: 1 });
    const c = await client(url, { protocolVersion: 4 });
    const got = collect(c);
    await c.subscribeAsync('$SYS/broker/clients/connected');
    await until(() => got.length > 0, 3000);
    expect(got[0]).toMatchObject({ topic: '$SYS/broker/clients/connected', payload: '1' });
  });
});
