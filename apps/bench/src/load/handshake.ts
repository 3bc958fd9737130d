/**
 * Handshake load: `concurrency` loops, each opening a connection that offers `protocols`,
 * counting it once it is open, closing it and opening the next. Throughput is completed
 * upgrades per second; latency is request to `open`.
 */
import { performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';
import { numberOption, sleep, trafficSession, until, Window, type LoadGenerator } from './common.js';

export const handshakeLoad: LoadGenerator = async ({ port, options }) => {
  const concurrency = numberOption(options, 'concurrency', 16);
  const protocols = (options.protocols as string[] | undefined) ?? ['bench.echo'];
  const expected = protocols[0];
  const url = `ws://127.0.0.1:${port}/`;
  const window = new Window();
  let running = false;
  let pendingCloses = 0;
  let loops: Promise<void>[] = [];

  const loop = (done: () => void): void => {
    if (!running) return done();
    const startedAt = performance.now();
    const ws = new WebSocket(url, protocols, { perMessageDeflate: false });
    let opened = false;
    ws.once('open', () => {
      opened = true;
      if (ws.protocol !== expected) window.error(`negotiated ${JSON.stringify(ws.protocol)}`);
      else window.record(startedAt);
      pendingCloses++;
      ws.close(1000);
      loop(done);
    });
    ws.once('close', () => {
      if (opened) pendingCloses--;
    });
    ws.once('error', (error) => {
      window.error(error);
      // Back off a little so a refusing server does not turn this into a busy loop.
      if (!opened) setTimeout(() => loop(done), 10);
    });
  };

  return trafficSession(options, {
    window,
    start() {
      running = true;
      loops = Array.from({ length: concurrency }, () => new Promise<void>((resolve) => loop(resolve)));
    },
    async stop() {
      running = false;
      await Promise.all(loops);
      // Let the closing handshakes finish so the next round starts on a quiet machine.
      await until(() => pendingCloses === 0);
    },
    close: () => sleep(0),
  });
};
