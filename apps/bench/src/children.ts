/**
 * Starting and talking to the child processes: one server child per side and round, one load
 * child for the whole run. Children run the TypeScript sources through tsx's loader.
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { LoadResult, ServerSnapshot, Side } from './types.js';

const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url));

/** `--import <tsx>` as an absolute URL, so children work whatever the working directory. */
function tsxImport(): string[] {
  const require = createRequire(import.meta.url);
  return ['--import', pathToFileURL(require.resolve('tsx')).href];
}

/** Rejects after `ms` with `message`; the timer does not keep the process alive. */
export function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Pins a child to one CPU, so the server and the load never share a core and a ratio compares
 * servers, not schedulers. Best effort: without `taskset` (util-linux) or on a 1-CPU machine the
 * child runs unpinned, and the report says so.
 */
export function pin(child: ChildProcess, cpu: number): boolean {
  if (child.pid === undefined || availableParallelism() < 2) return false;
  try {
    execFileSync('taskset', ['-p', '-c', String(cpu), String(child.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function spawnChild(entry: string, args: string[], execArgv: string[], env: Record<string, string> = {}, cpu?: number): ChildProcess {
  const child = fork(here(entry), args, {
    execArgv: [...tsxImport(), ...execArgv],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    // No inherited --inspect or vitest worker flags.
    env: { ...process.env, NODE_OPTIONS: '', ...env },
  });
  // A send to a child that just died must not crash the orchestrator; the 'exit' handlers and
  // timeouts report the failure instead.
  child.on('error', () => {});
  if (cpu !== undefined) pinned.set(child, pin(child, cpu));
  return child;
}

/** Which children were pinned (servers on CPU 0, the load on CPU 1). */
const pinned = new WeakMap<ChildProcess, boolean>();

/** Whether `child` runs pinned to its CPU. */
export function isPinned(child: ChildProcess): boolean {
  return pinned.get(child) === true;
}

/** Sends over IPC when the channel is still open; false otherwise. */
function post(child: ChildProcess, message: unknown): boolean {
  if (!child.connected) return false;
  child.send(message as object);
  return true;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Asks politely, then kills. */
async function stopChild(child: ChildProcess, ms = 3000): Promise<void> {
  post(child, { type: 'stop' });
  try {
    await withTimeout(exited(child), ms, 'child did not exit');
  } catch {
    child.kill('SIGKILL');
    await exited(child);
  }
}

export type ServerStart =
  | { readonly type: 'ready'; readonly server: ServerChild }
  | { readonly type: 'unavailable'; readonly reason: string };

export interface ServerChild {
  readonly port: number;
  readonly pid: number;
  /** `label` is the load's mark (`start` and `end` bracket a measuring window). */
  snapshot(gc: boolean, label?: string): Promise<ServerSnapshot>;
  stop(): Promise<void>;
}

export interface ServerChildOptions {
  /** Directory for CPU profiles of the measuring windows; profiling is off without it. */
  readonly cpuProfDir?: string;
  readonly cpuProfName?: string;
}

/** Starts the server of `side` in a child and waits until it listens. */
export async function startServer(side: Side, options: ServerChildOptions = {}): Promise<ServerStart> {
  const execArgv = ['--expose-gc'];
  if (options.cpuProfDir) mkdirSync(options.cpuProfDir, { recursive: true });
  const env: Record<string, string> = options.cpuProfDir ? { PROTOPLEX_BENCH_PROFILE: join(options.cpuProfDir, options.cpuProfName ?? `${side.server}.cpuprofile`) } : {};
  const child = spawnChild('./server-process.ts', [JSON.stringify({ server: side.server, options: side.serverOptions ?? {} })], execArgv, env, 0);
  const first = new Promise<{ type: string; port?: number; reason?: string }>((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`server ${side.server} exited with ${code} before listening`)));
    child.once('error', reject);
  });
  let message: { type: string; port?: number; reason?: string };
  try {
    message = await withTimeout(first, 30_000, `server ${side.server} did not start within 30 s`);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  if (message.type === 'unavailable') {
    await stopChild(child);
    return { type: 'unavailable', reason: String(message.reason).split('\n')[0]! };
  }
  if (message.type !== 'ready') {
    await stopChild(child);
    throw new Error(`server ${side.server} failed: ${message.reason}`);
  }
  let nextId = 0;
  const pending = new Map<number, (s: ServerSnapshot) => void>();
  child.on('message', (m: { type: string; id: number; snapshot: ServerSnapshot }) => {
    if (m.type === 'snapshot') {
      pending.get(m.id)?.(m.snapshot);
      pending.delete(m.id);
    }
  });
  return {
    type: 'ready',
    server: {
      port: message.port!,
      pid: child.pid!,
      snapshot(gc, label) {
        const id = nextId++;
        const reply = new Promise<ServerSnapshot>((resolve) => pending.set(id, resolve));
        if (!post(child, { type: 'snapshot', id, gc, label })) return Promise.reject(new Error(`server ${side.server} is gone`));
        return withTimeout(reply, 10_000, `server ${side.server} did not answer a snapshot`);
      },
      stop: () => stopChild(child),
    },
  };
}

export interface LoadChild {
  /** Opens a load session against `port` (connects, sends nothing yet). */
  open(load: string, port: number, options: Readonly<Record<string, unknown>>, timeoutMs: number): Promise<LoadSessionHandle>;
  stop(): Promise<void>;
}

export interface LoadSessionHandle {
  /** Runs one round; `onMark` runs (and is awaited) at each mark of the load. */
  measure(onMark: (label: string) => Promise<void>, timeoutMs: number): Promise<LoadResult>;
  close(timeoutMs?: number): Promise<void>;
}

type LoadMessage =
  | { type: 'ready' }
  | { type: 'opened' | 'closed'; id: number }
  | { type: 'mark'; id: number; label: string }
  | { type: 'result'; id: number; result: LoadResult }
  | { type: 'error'; id: number; reason: string };

/** Starts the load child and waits until it is ready. */
export async function startLoad(): Promise<LoadChild> {
  const child = spawnChild('./load-process.ts', [], ['--expose-gc'], {}, 1);
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`load process exited with ${code}`)));
    }),
    30_000,
    'load process did not start within 30 s',
  );
  let nextId = 0;
  /** The one request in flight per session, and the mark handler of a running measurement. */
  const pending = new Map<number, { resolve: (m: LoadMessage) => void; reject: (e: Error) => void; onMark?: (label: string) => Promise<void> }>();
  child.on('message', (m: LoadMessage) => {
    if (m.type === 'ready') return;
    const request = pending.get(m.id);
    if (!request) return;
    if (m.type === 'mark') {
      (request.onMark ?? (() => Promise.resolve()))(m.label).then(
        () => post(child, { type: 'marked', id: m.id, label: m.label }),
        (error: Error) => {
          pending.delete(m.id);
          request.reject(error);
        },
      );
      return;
    }
    pending.delete(m.id);
    if (m.type === 'error') request.reject(new Error(m.reason));
    else request.resolve(m);
  });
  child.on('exit', (code) => {
    for (const request of pending.values()) request.reject(new Error(`load process exited with ${code}`));
    pending.clear();
  });
  const ask = (message: { type: string; id: number } & Record<string, unknown>, timeoutMs: number, onMark?: (label: string) => Promise<void>): Promise<LoadMessage> => {
    const reply = new Promise<LoadMessage>((resolve, reject) => pending.set(message.id, { resolve, reject, ...(onMark ? { onMark } : {}) }));
    if (!post(child, message)) pending.get(message.id)?.reject(new Error('load process is gone'));
    return withTimeout(reply, timeoutMs, `load ${message.type} did not finish within ${timeoutMs} ms`).finally(() => pending.delete(message.id));
  };
  return {
    async open(load, port, options, timeoutMs) {
      const id = nextId++;
      await ask({ type: 'open', id, load, port, options }, timeoutMs);
      return {
        async measure(onMark, ms) {
          const reply = await ask({ type: 'measure', id }, ms, onMark);
          return (reply as Extract<LoadMessage, { type: 'result' }>).result;
        },
        async close(ms = 10_000) {
          await ask({ type: 'close', id }, ms);
        },
      };
    },
    async stop() {
      if (child.connected) child.disconnect();
      await withTimeout(exited(child), 3000, 'load process did not exit').catch(() => child.kill('SIGKILL'));
    },
  };
}
