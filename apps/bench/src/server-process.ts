/**
 * Child process entry: starts one subject or reference server by name on 127.0.0.1 (port 0)
 * and answers the orchestrator over IPC.
 *
 *   argv[2]: JSON `{ server, options }`
 *   -> `{ type: 'ready', port }` | `{ type: 'unavailable', reason }` | `{ type: 'failed', reason }`
 *   <- `{ type: 'snapshot', id, gc, label }` -> `{ type: 'snapshot', id, snapshot }`
 *   <- `{ type: 'stop' }` closes the server and exits.
 *
 * With `PROTOPLEX_BENCH_PROFILE=<path>.cpuprofile` (`pnpm bench --cpu-prof`) the V8 profiler
 * runs only inside measuring windows (mark `start` to mark `end`), so start-up and connection
 * set-up do not drown the hot path; each window is written to `<path>-w<n>.cpuprofile`.
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector';
import { performance } from 'node:perf_hooks';
import { servers } from './servers/index.js';
import { UnavailableError, type RunningServer } from './servers/types.js';
import type { ServerSnapshot } from './types.js';

type Request = { type: 'snapshot'; id: number; gc: boolean; label?: string } | { type: 'stop' };

const send = (message: unknown): void => {
  if (process.connected) process.send!(message);
};

/** Runs the collector twice: the second pass frees what finalizers of the first released. */
const collect = (): void => {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return;
  gc();
  gc();
};

function snapshot(server: RunningServer | undefined, gc: boolean): ServerSnapshot {
  if (gc) collect();
  const cpu = process.cpuUsage();
  const memory = process.memoryUsage();
  return {
    cpuMicros: cpu.user + cpu.system,
    rss: memory.rss,
    heapUsed: memory.heapUsed,
    connections: server?.connections() ?? 0,
    time: performance.now(),
  };
}

const profilePath = process.env.PROTOPLEX_BENCH_PROFILE;
let profiler: Session | undefined;
let windows = 0;
let writing: Promise<void> = Promise.resolve();

function post<T>(method: string): Promise<T> {
  return new Promise((resolve, reject) => profiler!.post(method, (error, result) => (error ? reject(error) : resolve(result as T))));
}

async function startProfile(): Promise<void> {
  if (!profiler) {
    profiler = new Session();
    profiler.connect();
    await post('Profiler.enable');
  }
  await post('Profiler.start');
}

async function stopProfile(): Promise<void> {
  const { profile } = await post<{ profile: unknown }>('Profiler.stop');
  windows++;
  await writeFile(profilePath!.replace(/\.cpuprofile$/, '') + `-w${windows}.cpuprofile`, JSON.stringify(profile));
}

async function main(): Promise<void> {
  const { server: name, options } = JSON.parse(process.argv[2] ?? '{}') as { server: string; options?: Record<string, unknown> };
  const load = servers[name];
  if (!load) {
    send({ type: 'failed', reason: `unknown server ${JSON.stringify(name)}` });
    process.exit(1);
  }
  let server: RunningServer | undefined;
  try {
    const factory = await load();
    server = await factory(options ?? {});
  } catch (error) {
    const unavailable = error instanceof UnavailableError;
    send({ type: unavailable ? 'unavailable' : 'failed', reason: (error as Error).stack ?? String(error) });
    process.exit(unavailable ? 0 : 1);
  }
  const running = server;
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    // A server that does not close in time must not hold up the run.
    const timer = setTimeout(() => process.exit(0), 3000);
    timer.unref();
    await running.close().catch(() => {});
    await writing.catch(() => {});
    process.exit(0);
  };
  process.on('message', (message: Request) => {
    if (message.type === 'stop') return void stop();
    if (message.type !== 'snapshot') return;
    const reply = (): void => send({ type: 'snapshot', id: message.id, snapshot: snapshot(running, message.gc) });
    if (profilePath && message.label === 'start') {
      startProfile().then(reply, reply);
    } else {
      // At `end` the snapshot comes first, so stopping the profiler is not billed to the window.
      reply();
      if (profilePath && message.label === 'end' && profiler) writing = writing.then(stopProfile, stopProfile);
    }
  });
  // The orchestrator died: do not linger.
  process.on('disconnect', () => void stop());
  send({ type: 'ready', port: running.port });
}

void main();
