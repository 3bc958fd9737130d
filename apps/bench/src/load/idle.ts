/**
 * Idle-memory load: opens `connections` connections that send nothing and holds them. The
 * orchestrator snapshots the server (after `global.gc()`) at the marks `before` and `after`.
 * Every round connects and closes again (the scenario runs each round on a fresh server).
 */
import { connect, connectMany, idleSession, numberOption, type LoadGenerator } from './common.js';

export const idleLoad: LoadGenerator = async ({ port, options }) => {
  const connections = numberOption(options, 'connections', 2000);
  const protocol = String(options.protocol ?? 'bench.echo');
  return idleSession(options, () => connectMany(connections, () => connect(`ws://127.0.0.1:${port}/`, [protocol]), 50));
};
