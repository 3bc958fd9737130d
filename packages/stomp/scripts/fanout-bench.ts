/**
 * Rough local check, not the project bench (apps/bench): topic fan-out, 1 producer and 100
 * subscribers over loopback, through @protoplex/server + this adapter, beside a bare `ws` server
 * that broadcasts the same bytes. Prints deliveries per second and the ratio.
 * Run: pnpm exec tsx scripts/fanout-bench.ts
 */
import WebSocket, { WebSocketServer } from 'ws';
import { createServer } from '@protoplex/server';
import { silentLogger } from '@protoplex/core';
import { stomp } from '../src/index.js';

const SUBSCRIBERS = 100;
const MESSAGES = 2000;
const body = 'x'.repeat(256);

async function open(url: string, protocol: string | undefined): Promise<WebSocket> {
  const ws = new WebSocket(url, protocol ? [protocol] : []);
  await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
  return ws;
}

async function run(url: string, protocol: string | undefined, isStomp: boolean): Promise<number> {
  const subs: WebSocket[] = [];
  let received = 0;
  const total = SUBSCRIBERS * MESSAGES;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  for (let i = 0; i < SUBSCRIBERS; i++) {
    const ws = await open(url, protocol);
    if (isStomp) {
      const ready = new Promise<void>((resolve) => {
        let n = 0;
        ws.on('message', () => {
          if (++n === 2) resolve();
        });
      });
      ws.send('CONNECT\naccept-version:1.2\nhost:/\nheart-beat:0,0\n\n\0SUBSCRIBE\nid:0\ndestination:/topic/bench\nreceipt:r\n\n\0');
      await ready;
      ws.removeAllListeners('message');
    }
    ws.on('message', () => {
      if (++received === total) done();
    });
    subs.push(ws);
  }
  const producer = await open(url, protocol);
  if (isStomp) {
    producer.send('CONNECT\naccept-version:1.2\nhost:/\nheart-beat:0,0\n\n\0');
    await new Promise((r) => producer.once('message', r));
  }
  const frame = isStomp ? `SEND\ndestination:/topic/bench\ncontent-type:text/plain\n\n${body}\0` : body;
  const started = performance.now();
  for (let i = 0; i < MESSAGES; i++) {
    producer.send(frame);
    if (i % 100 === 0) await new Promise((r) => setImmediate(r));
  }
  await finished;
  const seconds = (performance.now() - started) / 1000;
  for (const ws of [...subs, producer]) ws.terminate();
  return total / seconds;
}

const server = createServer({ adapters: [stomp()], logger: silentLogger, keepAlive: false });
const address = await server.listen(0, '127.0.0.1');
const raw = new WebSocketServer({ port: 0, host: '127.0.0.1' });
await new Promise((r) => raw.once('listening', r));
raw.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => {
    for (const client of raw.clients) if (client !== ws) client.send(data, { binary: isBinary });
  });
});
const rawPort = (raw.address() as { port: number }).port;

for (let round = 0; round < 5; round++) {
  const control = await run(`ws://127.0.0.1:${rawPort}/`, undefined, false);
  const ours = await run(`ws://127.0.0.1:${address.port}/`, 'v12.stomp', true);
  console.log(`round ${round}: raw ws ${Math.round(control)}/s, stomp ${Math.round(ours)}/s, ratio ${(ours / control).toFixed(2)}`);
}
raw.close();
await server.close({ timeout: 1000 });
