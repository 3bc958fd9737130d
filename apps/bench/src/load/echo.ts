/**
 * Echo load: `connections` clients, each keeping `depth` messages of `size` bytes in flight and
 * sending the next one as soon as an echo arrives. Throughput is echoes per second; latency is
 * send to echo.
 */
import { performance } from 'node:perf_hooks';
import type { WebSocket } from 'ws';
import { closeAll, connect, connectMany, numberOption, payload, trafficSession, until, Window, type LoadGenerator } from './common.js';

export const echoLoad: LoadGenerator = async ({ port, options }) => {
  const connections = numberOption(options, 'connections', 100);
  const depth = numberOption(options, 'depth', 1);
  const size = numberOption(options, 'size', 64);
  const deflate = options.perMessageDeflate === true;
  const protocol = String(options.protocol ?? 'bench.echo');
  const message = payload(size, deflate);
  const sockets = await connectMany(connections, () => connect(`ws://127.0.0.1:${port}/`, [protocol], { perMessageDeflate: deflate }));
  const window = new Window();
  const sendOptions = { binary: true };
  let running = false;
  let outstanding = 0;
  let closing = false;
  const queues = new Map<WebSocket, number[]>();
  const send = (ws: WebSocket, queue: number[], now: number): void => {
    queue.push(now);
    outstanding++;
    ws.send(message, sendOptions);
  };
  for (const ws of sockets) {
    const queue: number[] = [];
    queues.set(ws, queue);
    ws.on('message', () => {
      const now = performance.now();
      outstanding--;
      window.record(queue.shift() ?? now, now);
      if (running) send(ws, queue, now);
    });
    ws.on('close', (code) => {
      if (!closing) window.error(`connection closed with ${code}`);
    });
  }
  return trafficSession(options, {
    window,
    start() {
      running = true;
      const now = performance.now();
      for (const ws of sockets) for (let i = 0; i < depth; i++) send(ws, queues.get(ws)!, now);
    },
    async stop() {
      running = false;
      await until(() => outstanding === 0);
    },
    async close() {
      closing = true;
      await closeAll(sockets);
    },
  });
};
