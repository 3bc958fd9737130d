/**
 * A quick local measurement, not the project bench (apps/bench): QoS 0 fan-out (1 publisher,
 * N subscribers) and QoS 1 point-to-point pairs through the adapter, beside a raw `ws` relay
 * doing the same flow. Light clients: `ws` plus `mqtt-packet`.
 *
 *   pnpm exec tsx scripts/fanout.ts [subscribers=100] [messages=20000] [qos1 messages=messages]
 */
import { WebSocket, WebSocketServer } from 'ws';
import mqttPacket from 'mqtt-packet';
import { silentLogger } from '@protoplex/core';
import { createServer } from '@protoplex/server';
import { mqtt } from '../src/index.js';

const SUBSCRIBERS = Number(process.argv[2] ?? 100);
const MESSAGES = Number(process.argv[3] ?? 20_000);
const WINDOW = 50;
const payload = Buffer.alloc(64, 0x61);

function openSocket(url: string, protocol?: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = protocol ? new WebSocket(url, [protocol]) : new WebSocket(url);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

interface Flow {
  subscribers: WebSocket[];
  publisher: WebSocket;
  /** Sends message number i (its payload starts with i). */
  send(i: number): void;
}

/** Counts deliveries; resolves when every subscriber saw `target` messages. */
function counter(subscribers: WebSocket[], parse: (ws: WebSocket, onMessage: () => void) => void) {
  let delivered = 0;
  let waiting: { target: number; resolve: () => void } | undefined;
  for (const ws of subscribers)
    parse(ws, () => {
      delivered++;
      if (waiting && delivered >= waiting.target) {
        const w = waiting;
        waiting = undefined;
        w.resolve();
      }
    });
  return {
    get delivered() {
      return delivered;
    },
    until(target: number) {
      if (delivered >= target) return Promise.resolve();
      return new Promise<void>((resolve) => (waiting = { target, resolve }));
    },
  };
}

async function run(name: string, flow: Flow, count: ReturnType<typeof counter>): Promise<number> {
  const started = process.hrtime.bigint();
  for (let i = 0; i < MESSAGES; i += WINDOW) {
    for (let j = i; j < Math.min(MESSAGES, i + WINDOW); j++) flow.send(j);
    await count.until(Math.min(MESSAGES, i + WINDOW) * flow.subscribers.length);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const rate = (MESSAGES * flow.subscribers.length) / seconds;
  console.log(`${name.padEnd(12)} ${Math.round(rate).toLocaleString('en').padStart(12)} deliveries/s  (${seconds.toFixed(2)} s)`);
  return rate;
}

async function rawWs(): Promise<number> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((resolve) => wss.once('listening', resolve));
  const subs: import('ws').WebSocket[] = [];
  wss.on('connection', (socket, req) => {
    if (req.url === '/sub') subs.push(socket);
    else socket.on('message', (data: Buffer) => {
      for (const s of subs) s.send(data);
    });
  });
  const port = (wss.address() as { port: number }).port;
  const subscribers = await Promise.all(Array.from({ length: SUBSCRIBERS }, () => openSocket(`ws://127.0.0.1:${port}/sub`)));
  const publisher = await openSocket(`ws://127.0.0.1:${port}/pub`);
  while (subs.length < SUBSCRIBERS) await new Promise((r) => setTimeout(r, 5));
  const count = counter(subscribers, (ws, on) => ws.on('message', on));
  const rate = await run('raw ws', { subscribers, publisher, send: () => publisher.send(payload) }, count);
  for (const ws of [...subscribers, publisher]) ws.terminate();
  wss.close();
  return rate;
}

async function protoplex(): Promise<number> {
  const server = createServer({ adapters: [mqtt({ sysInterval: 0 })], logger: silentLogger, keepAlive: false });
  const { port } = await server.listen(0, '127.0.0.1');
  const url = `ws://127.0.0.1:${port}/`;
  const connectPacket = (id: string) => mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: id, clean: true, keepalive: 0 });
  const subscribers = await Promise.all(
    Array.from({ length: SUBSCRIBERS }, async (_, i) => {
      const ws = await openSocket(url, 'mqtt');
      ws.send(connectPacket(`s${i}`));
      ws.send(mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'bench/fan', qos: 0 }] }));
      await new Promise<void>((resolve) => {
        let n = 0;
        const onMessage = () => {
          if (++n === 2) {
            ws.off('message', onMessage);
            resolve();
          }
        };
        ws.on('message', onMessage);
      });
      return ws;
    }),
  );
  const publisher = await openSocket(url, 'mqtt');
  publisher.send(connectPacket('pub'));
  await new Promise((resolve) => publisher.once('message', resolve));
  // The broker sends one PUBLISH per WebSocket message, so counting messages counts packets and
  // keeps client work equal to the raw `ws` run.
  const count = counter(subscribers, (ws, on) => ws.on('message', on));
  const bytes = mqttPacket.generate({ cmd: 'publish', topic: 'bench/fan', payload, qos: 0, retain: false, dup: false });
  const rate = await run('protoplex', { subscribers, publisher, send: () => publisher.send(bytes) }, count);
  for (const ws of [...subscribers, publisher]) ws.terminate();
  await server.close({ timeout: 500 });
  return rate;
}

const PAIRS = 10;
const IN_FLIGHT = 10;
const PER_PAIR = Math.floor(Number(process.argv[4] ?? MESSAGES) / PAIRS);

/**
 * QoS 1 point to point: each publisher keeps IN_FLIGHT messages unacknowledged by the server;
 * each subscriber acknowledges what it gets. Raw `ws` does the same four messages per delivery
 * (publish, ack to the publisher, forward, ack from the subscriber) without MQTT.
 */
async function pairs(name: string, url: string, mqttMode: boolean, setup?: () => void): Promise<number> {
  setup?.();
  let delivered = 0;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const total = PAIRS * PER_PAIR;
  const connect = (id: string) => mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: id, clean: true, keepalive: 0 });
  const payloadFor = (pair: number) => mqttPacket.generate({ cmd: 'publish', topic: `p2p/${pair}`, payload, qos: 1, messageId: 1, retain: false, dup: false });
  const ends: WebSocket[] = [];
  const starts: Array<() => void> = [];
  for (let pair = 0; pair < PAIRS; pair++) {
    const sub = await openSocket(mqttMode ? url : `${url}sub/${pair}`, mqttMode ? 'mqtt' : undefined);
    const pub = await openSocket(mqttMode ? url : `${url}pub/${pair}`, mqttMode ? 'mqtt' : undefined);
    ends.push(sub, pub);
    if (mqttMode) {
      sub.send(connect(`sub${pair}`));
      sub.send(mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: `p2p/${pair}`, qos: 1 }] }));
      pub.send(connect(`pub${pair}`));
      await new Promise((r) => setTimeout(r, 20));
    }
    const publishBytes = payloadFor(pair);
    let sent = 0;
    const sendOne = () => {
      if (sent >= PER_PAIR) return;
      sent++;
      if (mqttMode) {
        // Packet ids cycle through 1..IN_FLIGHT: at most IN_FLIGHT are unacknowledged.
        const id = ((sent - 1) % IN_FLIGHT) + 1;
        publishBytes.writeUInt16BE(id, publishBytes.length - payload.length - 2);
        pub.send(publishBytes);
      } else pub.send(payload);
    };
    sub.removeAllListeners('message');
    pub.removeAllListeners('message');
    let subSeen = 0;
    sub.on('message', (data: Buffer) => {
      if (mqttMode) {
        if (data[0]! >> 4 !== 3) return; // CONNACK, SUBACK
        const idOffset = 2 + 2 + data.readUInt16BE(2);
        sub.send(Buffer.from([0x40, 0x02, data[idOffset]!, data[idOffset + 1]!]));
      } else sub.send('a');
      subSeen++;
      if (++delivered === total) done();
    });
    pub.on('message', (data: Buffer) => {
      if (mqttMode && data[0] !== 0x40) return;
      sendOne();
    });
    starts.push(() => {
      for (let i = 0; i < IN_FLIGHT; i++) sendOne();
    });
    void subSeen;
  }
  const started = process.hrtime.bigint();
  for (const start of starts) start();
  await finished;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const rate = total / seconds;
  console.log(`${name.padEnd(12)} ${Math.round(rate).toLocaleString('en').padStart(12)} deliveries/s  (${seconds.toFixed(2)} s)`);
  for (const ws of ends) ws.terminate();
  return rate;
}

async function rawPairs(): Promise<number> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((resolve) => wss.once('listening', resolve));
  const subs = new Map<string, import('ws').WebSocket>();
  wss.on('connection', (socket, req) => {
    const [, role, pair] = (req.url ?? '').split('/');
    if (role === 'sub') subs.set(pair!, socket);
    else
      socket.on('message', (data: Buffer) => {
        socket.send('k');
        subs.get(pair!)?.send(data);
      });
  });
  const port = (wss.address() as { port: number }).port;
  const rate = await pairs('raw ws', `ws://127.0.0.1:${port}/`, false);
  wss.close();
  return rate;
}

async function protoplexPairs(): Promise<number> {
  const server = createServer({ adapters: [mqtt({ sysInterval: 0 })], logger: silentLogger, keepAlive: false });
  const { port } = await server.listen(0, '127.0.0.1');
  const rate = await pairs('protoplex', `ws://127.0.0.1:${port}/`, true);
  await server.close({ timeout: 500 });
  return rate;
}

console.log(`QoS 0 fan-out, 1 publisher, ${SUBSCRIBERS} subscribers, ${MESSAGES} messages`);
const raw = await rawWs();
const ours = await protoplex();
console.log(`ratio protoplex/raw ws: ${(ours / raw).toFixed(2)}x`);
console.log(`QoS 1 point to point, ${PAIRS} pairs, ${IN_FLIGHT} in flight each, ${PAIRS * PER_PAIR} messages`);
const rawQ1 = await rawPairs();
const oursQ1 = await protoplexPairs();
console.log(`ratio protoplex/raw ws: ${(oursQ1 / rawQ1).toFixed(2)}x`);
process.exit(0);
