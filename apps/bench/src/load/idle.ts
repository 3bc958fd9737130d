/**
 * Idle-memory load: opens `connections` connections that send nothing and holds them. The
 * orchestrator snapshots the server (after `global.gc()`) at the marks `before` and `after`.
 * Every round connects and closes again (the scenario runs each round on a fresh server).
 */
import type { WebSocket } from 'ws';
import { closeAll, connect, connectMany, numberOption, sleep, type LoadGenerator } from './common.js';

export const idleLoad: LoadGenerator = async ({ port, options }) => {
  const connections = numberOption(options, 'connections', 2000);
  const settleMs = numberOption(options, 'settleMs', 300);
  const protocol = String(options.protocol ?? 'bench.echo');
  let sockets: WebSocket[] = [];
  return {
    async measure(mark) {
      await sleep(50);
      await mark('before');
      const started = Date.now();
      sockets = await connectMany(connections, () => connect(`ws://127.0.0.1:${port}/`, [protocol]), 50);
      const connectMs = Date.now() - started;
      await sleep(settleMs);
      await mark('after');
      await closeAll(sockets);
      return { count: sockets.length, connections: sockets.length, windowMs: connectMs, loadCpu: 0, errors: 0 };
    },
    close: () => closeAll(sockets),
  };
};
