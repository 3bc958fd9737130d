/**
 * MQTT loads, spoken with `ws` + `mqtt-packet` (MQTT 3.1.1, subprotocol `mqtt`):
 *
 * - `mqtt-fanout`: `subscribers` clients subscribe at QoS 0 to one topic; one publisher keeps
 *   `inflight` QoS 0 publishes not yet delivered everywhere. Deliveries per second.
 * - `mqtt-p2p`: `pairs` publisher/subscriber pairs on their own topic at QoS 1, `inflight`
 *   publishes per pair not yet delivered; subscribers PUBACK each delivery. Messages per second.
 * - `mqtt-idle`: `connections` clients that CONNECT (keep alive `keepalive` s), SUBSCRIBE to
 *   `idle/<n>/#` at QoS 1 and then stay silent, held between the marks `before` and `after`.
 *
 * Payloads carry a sequence number and the send time (performance.now()) for latency.
 */
import { performance } from 'node:perf_hooks';
import mqttPacket from 'mqtt-packet';
import type { WebSocket } from 'ws';
import { closeAll, connect, connectMany, numberOption, sleep, trafficSession, until, Window, type LoadGenerator } from './common.js';

interface MqttClient {
  readonly ws: WebSocket;
  send(packet: mqttPacket.Packet): void;
}

/** Connects, sends CONNECT, waits for CONNACK; later packets go to `onPacket`. */
async function mqttConnect(
  port: number,
  clientId: string,
  onPacket: (packet: mqttPacket.Packet, client: MqttClient) => void,
  keepalive = 0,
): Promise<MqttClient> {
  const ws = await connect(`ws://127.0.0.1:${port}/`, ['mqtt']);
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const client: MqttClient = { ws, send: (packet) => ws.send(mqttPacket.generate(packet)) };
  const connack = new Promise<void>((resolve, reject) => {
    parser.on('packet', (packet: mqttPacket.Packet) => {
      if (packet.cmd === 'connack') {
        if (packet.returnCode === 0) resolve();
        else reject(new Error(`CONNACK ${packet.returnCode}`));
        return;
      }
      onPacket(packet, client);
    });
    parser.on('error', reject);
    ws.once('close', (code) => reject(new Error(`closed with ${code} before CONNACK`)));
  });
  ws.on('message', (data: Buffer) => parser.parse(data));
  client.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId, keepalive });
  await connack;
  return client;
}

/** SUBSCRIBE and wait for the SUBACK (delivered to `waiters` by the packet handler). */
function subscribe(client: MqttClient, topic: string, qos: 0 | 1, messageId: number, waiters: Map<MqttClient, () => void>): Promise<void> {
  const suback = new Promise<void>((resolve) => waiters.set(client, resolve));
  client.send({ cmd: 'subscribe', messageId, subscriptions: [{ topic, qos }] });
  return suback;
}

function stamp(seq: number, size: number): Buffer {
  const payload = Buffer.alloc(Math.max(16, size));
  payload.writeUInt32LE(seq, 0);
  payload.writeDoubleLE(performance.now(), 8);
  return payload;
}

export const mqttFanoutLoad: LoadGenerator = async ({ port, options }) => {
  const subscribers = numberOption(options, 'subscribers', 100);
  const inflight = numberOption(options, 'inflight', 4);
  const size = numberOption(options, 'size', 64);
  const topic = 'bench/fanout';
  const window = new Window();
  const subacks = new Map<MqttClient, () => void>();
  const missing = new Map<number, number>();
  let running = false;
  let closing = false;
  let seq = 0;
  let publisher: MqttClient | undefined;
  const publish = (): void => {
    missing.set(seq, subscribers);
    publisher!.send({ cmd: 'publish', topic, payload: stamp(seq++, size), qos: 0, retain: false, dup: false });
  };
  const onPacket = (packet: mqttPacket.Packet, client: MqttClient): void => {
    if (packet.cmd === 'suback') return subacks.get(client)?.();
    if (packet.cmd !== 'publish') return;
    const payload = packet.payload as Buffer;
    const id = payload.readUInt32LE(0);
    window.record(payload.readDoubleLE(8));
    const left = (missing.get(id) ?? 1) - 1;
    if (left > 0) return void missing.set(id, left);
    missing.delete(id);
    if (running) publish();
  };
  const subs = await connectMany(
    subscribers,
    async (i) => {
      const client = await mqttConnect(port, `sub-${i}`, onPacket);
      await subscribe(client, topic, 0, 1, subacks);
      client.ws.on('close', (code) => !closing && window.error(`subscriber closed with ${code}`));
      return client.ws;
    },
    50,
  );
  publisher = await mqttConnect(port, 'pub', () => {});
  const pub = publisher;
  return trafficSession(options, {
    window,
    start() {
      running = true;
      for (let i = 0; i < inflight; i++) publish();
    },
    async stop() {
      running = false;
      await until(() => missing.size === 0);
      missing.clear();
    },
    async close() {
      closing = true;
      await closeAll([pub.ws, ...subs]);
    },
  });
};

export const mqttP2pLoad: LoadGenerator = async ({ port, options }) => {
  const pairs = numberOption(options, 'pairs', 10);
  const inflight = numberOption(options, 'inflight', 10);
  const size = numberOption(options, 'size', 64);
  const window = new Window();
  const subacks = new Map<MqttClient, () => void>();
  let running = false;
  let closing = false;
  let outstanding = 0;
  const sockets: WebSocket[] = [];
  const publishers: Array<{ client: MqttClient; topic: string; nextId: number; seq: number }> = [];

  const publish = (p: (typeof publishers)[number]): void => {
    p.nextId = (p.nextId % 65535) + 1;
    outstanding++;
    p.client.send({ cmd: 'publish', topic: p.topic, payload: stamp(p.seq++, size), qos: 1, messageId: p.nextId, retain: false, dup: false });
  };
  for (let i = 0; i < pairs; i++) {
    const topic = `bench/p2p/${i}`;
    const subscriber = await mqttConnect(port, `p2p-sub-${i}`, (packet, client) => {
      if (packet.cmd === 'suback') return subacks.get(client)?.();
      if (packet.cmd !== 'publish') return;
      if (packet.qos === 1) client.send({ cmd: 'puback', messageId: packet.messageId! });
      outstanding--;
      window.record((packet.payload as Buffer).readDoubleLE(8));
      if (running) publish(publishers[i]!);
    });
    await subscribe(subscriber, topic, 1, 1, subacks);
    const publisher = await mqttConnect(port, `p2p-pub-${i}`, () => {});
    publishers.push({ client: publisher, topic, nextId: 0, seq: 0 });
    sockets.push(subscriber.ws, publisher.ws);
    subscriber.ws.on('close', (code) => !closing && window.error(`subscriber closed with ${code}`));
  }
  return trafficSession(options, {
    window,
    start() {
      running = true;
      for (const p of publishers) for (let k = 0; k < inflight; k++) publish(p);
    },
    async stop() {
      running = false;
      await until(() => outstanding <= 0);
      outstanding = 0;
    },
    async close() {
      closing = true;
      await closeAll(sockets);
    },
  });
};

export const mqttIdleLoad: LoadGenerator = async ({ port, options }) => {
  const connections = numberOption(options, 'connections', 2000);
  const settleMs = numberOption(options, 'settleMs', 300);
  // Keep-alive on, as a real client has it: the server then watches each connection's deadline.
  const keepalive = numberOption(options, 'keepalive', 60);
  let sockets: WebSocket[] = [];
  let round = 0;
  return {
    async measure(mark) {
      round++;
      await sleep(50);
      await mark('before');
      const started = Date.now();
      const subacks = new Map<MqttClient, () => void>();
      sockets = await connectMany(
        connections,
        async (i) => {
          const client = await mqttConnect(port, `idle-${round}-${i}`, (packet, c) => packet.cmd === 'suback' && subacks.get(c)?.(), keepalive);
          await subscribe(client, `idle/${i}/#`, 1, 1, subacks);
          subacks.delete(client);
          return client.ws;
        },
        50,
      );
      const connectMs = Date.now() - started;
      await sleep(settleMs);
      await mark('after');
      await closeAll(sockets);
      return { count: sockets.length, connections: sockets.length, windowMs: connectMs, loadCpu: 0, errors: 0 };
    },
    close: () => closeAll(sockets),
  };
};
