/**
 * Fan-out load: `subscribers` clients connect with `?role=sub`, one publisher sends messages
 * carrying a sequence number and a send time, keeping `inflight` publishes not yet delivered to
 * every subscriber. Throughput is deliveries per second (one publish to 1,000 subscribers counts
 * 1,000); latency is publish to each delivery.
 */
import { performance } from 'node:perf_hooks';
import { closeAll, connect, connectMany, numberOption, sleep, trafficSession, until, Window, type LoadGenerator } from './common.js';

export const fanoutLoad: LoadGenerator = async ({ port, options }) => {
  const subscribers = numberOption(options, 'subscribers', 1000);
  const inflight = numberOption(options, 'inflight', 4);
  const size = Math.max(16, numberOption(options, 'size', 64));
  const protocol = String(options.protocol ?? 'bench.fanout');
  const base = `ws://127.0.0.1:${port}/`;
  const subs = await connectMany(subscribers, () => connect(`${base}?role=sub`, [protocol]));
  const publisher = await connect(`${base}?role=pub`, [protocol]);
  // Give the server a moment to finish every subscription before the first publish.
  await sleep(50);

  const window = new Window();
  let running = false;
  let closing = false;
  let seq = 0;
  /** Deliveries still missing per sequence number. */
  const missing = new Map<number, number>();
  const publish = (): void => {
    const message = Buffer.alloc(size);
    message.writeUInt32LE(seq, 0);
    message.writeDoubleLE(performance.now(), 8);
    missing.set(seq, subscribers);
    seq++;
    publisher.send(message, { binary: true });
  };
  const onDelivery = (data: Buffer): void => {
    const now = performance.now();
    const id = data.readUInt32LE(0);
    window.record(data.readDoubleLE(8), now);
    const left = (missing.get(id) ?? 1) - 1;
    if (left > 0) {
      missing.set(id, left);
      return;
    }
    missing.delete(id);
    if (running) publish();
  };
  for (const ws of subs) {
    ws.on('message', onDelivery);
    ws.on('close', (code) => {
      if (!closing) window.error(`subscriber closed with ${code}`);
    });
  }
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
      await closeAll([publisher, ...subs]);
    },
  });
};
