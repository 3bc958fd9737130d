/**
 * Fan-out load: `subscribers` clients connect with `?role=sub`, one publisher sends messages
 * carrying a sequence number and a send time, keeping `inflight` publishes not yet delivered to
 * every subscriber. Throughput is deliveries per second (one publish to 1,000 subscribers counts
 * 1,000); latency is publish to each delivery.
 */
import { performance } from 'node:perf_hooks';
import { connect, connectMany, FanoutLoop, numberOption, sleep, stamp, trafficSession, type LoadGenerator } from './common.js';

export const fanoutLoad: LoadGenerator = async ({ port, options }) => {
  const subscribers = numberOption(options, 'subscribers', 1000);
  const inflight = numberOption(options, 'inflight', 4);
  const size = numberOption(options, 'size', 64);
  const protocol = String(options.protocol ?? 'bench.fanout');
  const base = `ws://127.0.0.1:${port}/`;
  const subs = await connectMany(subscribers, () => connect(`${base}?role=sub`, [protocol]));
  const publisher = await connect(`${base}?role=pub`, [protocol]);
  // Give the server a moment to finish every subscription before the first publish.
  await sleep(50);

  const loop = new FanoutLoop(subscribers, (seq) => publisher.send(stamp(seq, size), { binary: true }));
  const onDelivery = (data: Buffer): void => {
    const now = performance.now();
    loop.delivered(data.readUInt32LE(0), data.readDoubleLE(8), now);
  };
  for (const ws of subs) {
    ws.on('message', onDelivery);
    loop.watch(ws, 'subscriber');
  }
  return trafficSession(options, loop.traffic([publisher, ...subs], () => loop.publish(inflight)));
};
