/**
 * Heap per idle MQTT client, measured through the core test harness (no sockets): N connections
 * send CONNECT (keep alive 60, one subscription) and stay idle; the heap after a full GC, minus
 * the heap of the same harness with an adapter that does nothing, divided by N.
 *
 * Run it bundled, not through tsx: tsx keeps function names by redefining `name` on every
 * function, which gives each closure its own property store (about 256 bytes) and inflates the
 * result by several KiB per client.
 *
 *   esbuild scripts/idle-memory.ts --bundle --platform=node --format=esm --outfile=/tmp/idle.mjs \
 *     --banner:js="import { createRequire } from 'module'; const require = createRequire(import.meta.url);"
 *   node --expose-gc /tmp/idle.mjs [clients=2000] [version=4] [stage=subscribe]
 *
 * `stage`: `open` (WebSocket open, nothing sent), `connect` (CONNECT only) or `subscribe`.
 */
import type { ProtocolAdapter, Session } from '@protoplex/core';
import { createTestHarness, type TestPeer } from '@protoplex/core/testing';
import { encodePacket } from '../src/codec.js';
import { mqtt } from '../src/index.js';

const N = Number(process.argv[2] ?? 2000);
const VERSION = Number(process.argv[3] ?? 4) as 4 | 5;
const STAGE = process.argv[4] ?? 'subscribe';
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

async function settle(): Promise<number> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  for (let i = 0; i < 3; i++) gc!();
  return process.memoryUsage().heapUsed;
}

async function measure(adapter: ProtocolAdapter, speak: boolean): Promise<number> {
  const harness = createTestHarness();
  const peers: TestPeer[] = [];
  // Warm-up: one client connects, subscribes and leaves, so one-time costs (mqtt-packet fills a
  // module-wide cache of 65,536 two-byte buffers, about 6.5 MB, on its first encode) stay out.
  const warm = await harness.connect(adapter);
  if (speak) {
    warm.send(encodePacket({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: VERSION, clientId: 'warm', clean: true, keepalive: 60 }, VERSION));
    warm.send(encodePacket({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'warm/#', qos: 1 }] }, VERSION));
  }
  await settle();
  warm.close();
  const before = await settle();
  for (let i = 0; i < N; i++) {
    const peer = await harness.connect(adapter);
    if (speak && STAGE !== 'open') {
      peer.send(encodePacket({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: VERSION, clientId: `idle-${i}`, clean: true, keepalive: 60 }, VERSION));
    }
    if (speak && STAGE === 'subscribe') {
      peer.send(encodePacket({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: `idle/${i}/#`, qos: 1 }] }, VERSION));
    }
    peers.push(peer);
  }
  const after = await settle();
  // Forget what the peers recorded (CONNACK, SUBACK): that is the harness's memory, not the broker's.
  for (const peer of peers) peer.take();
  const afterTake = await settle();
  void after;
  const perClient = (afterTake - before) / N;
  peers.length = 0;
  return perClient;
}

const noop: ProtocolAdapter = {
  name: 'noop',
  protocols: ['mqtt'],
  open(): Session {
    return { onMessage() {}, onClose() {} };
  },
};

const baseline = await measure(noop, false);
const broker = await measure(mqtt({ sysInterval: 0 }), true);
console.log(
  JSON.stringify({ clients: N, version: VERSION, stage: STAGE, harnessBytesPerClient: Math.round(baseline), mqttBytesPerClient: Math.round(broker), mqttOwnBytesPerClient: Math.round(broker - baseline) }),
);
