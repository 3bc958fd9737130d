/**
 * Helpers every load generator uses: the window clock, the latency histogram, connecting, and
 * the bookkeeping the closed-loop and the idle loads share.
 */
import { performance } from 'node:perf_hooks';
import hdr from 'hdr-histogram-js';
import { WebSocket, type ClientOptions } from 'ws';
import type { LoadResult } from '../types.js';

export interface LoadContext {
  readonly port: number;
  readonly options: Readonly<Record<string, unknown>>;
}

/** Asks the orchestrator to snapshot the server now; resolves once it has. */
export type Mark = (label: string) => Promise<void>;

/**
 * Connections a load keeps open over every round of one side: `measure` runs one round (the
 * orchestrator alternates rounds of the subject and the reference), `close` ends the session.
 */
export interface LoadSession {
  measure(mark: Mark): Promise<LoadResult>;
  close(): Promise<void>;
}

/** Opens a session: connects and gets everything ready, but sends nothing yet. */
export type LoadGenerator = (context: LoadContext) => Promise<LoadSession>;

/** The traffic of a throughput load: started for each round, stopped after its window. */
export interface Traffic {
  readonly window: Window;
  /** Starts sending. */
  start(): void;
  /** Stops sending new operations; resolves once those in flight are done. */
  stop(): Promise<void>;
  /** Closes the connections. */
  close(): Promise<void>;
}

/**
 * A session that measures rounds the same way for every throughput load: start the traffic,
 * warm up, open the window between the marks `start` and `end`, stop the traffic and wait
 * (bounded) for what is in flight so the next round of the other side runs on a quiet machine.
 */
export function trafficSession(options: Readonly<Record<string, unknown>>, traffic: Traffic): LoadSession {
  const warmupMs = numberOption(options, 'warmupMs', 250);
  const windowMs = numberOption(options, 'windowMs', 800);
  return {
    async measure(mark) {
      const window = traffic.window;
      window.reset();
      traffic.start();
      await sleep(warmupMs);
      window.start();
      await mark('start');
      await sleep(windowMs);
      window.stop();
      await mark('end');
      await Promise.race([traffic.stop(), sleep(3000)]);
      return window.result();
    },
    close: () => traffic.close(),
  };
}

/** Resolves once `done()` is true, polling every 5 ms, or after `timeoutMs`. */
export async function until(done: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!done() && performance.now() < deadline) await sleep(5);
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function numberOption(options: Readonly<Record<string, unknown>>, name: string, fallback: number): number {
  const value = options[name];
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

/** Latency in microseconds, 1 µs to 60 s, three significant digits. */
export function createLatencyHistogram(): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
}

/**
 * The measuring window: counts operations and latencies only between `start()` and `stop()`,
 * and the load process's own CPU over the same span (to tell when the load, not the server,
 * is the bottleneck).
 */
export class Window {
  measuring = false;
  count = 0;
  errors = 0;
  errorSample: string | undefined;
  readonly histogram = createLatencyHistogram();
  private startedAt = 0;
  private stoppedAt = 0;
  private cpuStart = 0;
  private cpuUsed = 0;

  /** Clears errors and counts before a round. */
  reset(): void {
    this.measuring = false;
    this.count = 0;
    this.errors = 0;
    this.errorSample = undefined;
    this.histogram.reset();
  }

  start(): void {
    this.count = 0;
    this.histogram.reset();
    this.cpuStart = cpuMicros();
    this.startedAt = performance.now();
    this.measuring = true;
  }

  stop(): void {
    if (!this.measuring) return;
    this.measuring = false;
    this.stoppedAt = performance.now();
    this.cpuUsed = cpuMicros() - this.cpuStart;
  }

  /** Records one completed operation that started at `sentAt` (performance.now() ms). */
  record(sentAt: number, now = performance.now()): void {
    if (!this.measuring) return;
    this.count++;
    this.histogram.recordValue(Math.max(1, Math.round((now - sentAt) * 1000)));
  }

  error(reason: unknown): void {
    this.errors++;
    this.errorSample ??= reason instanceof Error ? reason.message : String(reason);
  }

  result(extra: Partial<LoadResult> = {}): LoadResult {
    const windowMs = this.stoppedAt - this.startedAt;
    const hasLatency = this.histogram.totalCount > 0;
    const result: LoadResult = {
      count: this.count,
      windowMs,
      loadCpu: windowMs > 0 ? this.cpuUsed / 1000 / windowMs : 0,
      errors: this.errors,
      ...(hasLatency ? { p50: this.histogram.getValueAtPercentile(50) / 1000, p99: this.histogram.getValueAtPercentile(99) / 1000 } : {}),
      ...(this.errorSample ? { errorSample: this.errorSample } : {}),
      ...extra,
    };
    return result;
  }
}

/**
 * The state of a closed-loop load, read by its message handlers and driven by its `traffic`:
 * while `running`, each completed operation sends the next one.
 */
export class Loop {
  readonly window = new Window();
  running = false;
  /** Set once the load closes its sockets: closes from then on are no errors. */
  closing = false;
  /** Operations sent and not yet complete. */
  outstanding = 0;

  /** Counts `ws` closing as an error of the round unless the load is closing it. */
  watch(ws: WebSocket, role: string): WebSocket {
    ws.on('close', (code) => !this.closing && this.window.error(`${role} closed with ${code}`));
    return ws;
  }

  /** The traffic over `sockets`; `kick` sends the first operations of a round. */
  traffic(sockets: readonly WebSocket[], kick: () => void): Traffic {
    return {
      window: this.window,
      start: () => {
        this.running = true;
        kick();
      },
      stop: async () => {
        this.running = false;
        await until(() => this.drained());
        this.forget();
      },
      close: async () => {
        this.closing = true;
        await closeAll(sockets);
      },
    };
  }

  protected drained(): boolean {
    return this.outstanding <= 0;
  }

  /** The wait in `stop` is bounded: what did not drain must not carry into the next round. */
  protected forget(): void {
    this.outstanding = 0;
  }
}

/**
 * A fan-out loop: a publish is complete once all `subscribers` have it, and only then does the
 * next one go out, so `publish(inflight)` keeps `inflight` publishes not yet delivered everywhere.
 */
export class FanoutLoop extends Loop {
  /** Deliveries still missing per sequence number. */
  private readonly missing = new Map<number, number>();
  private seq = 0;

  constructor(
    private readonly subscribers: number,
    private readonly send: (seq: number) => void,
  ) {
    super();
  }

  publish(count = 1): void {
    for (let i = 0; i < count; i++) {
      this.missing.set(this.seq, this.subscribers);
      this.send(this.seq++);
    }
  }

  /** One subscriber got publish `seq`, sent at `sentAt` (performance.now() ms). */
  delivered(seq: number, sentAt: number, now?: number): void {
    this.window.record(sentAt, now);
    const left = (this.missing.get(seq) ?? 1) - 1;
    if (left > 0) {
      this.missing.set(seq, left);
      return;
    }
    this.missing.delete(seq);
    if (this.running) this.publish();
  }

  protected override drained(): boolean {
    return this.missing.size === 0;
  }

  protected override forget(): void {
    this.missing.clear();
  }
}

/**
 * The session of a memory load: every round opens its connections with `open` between the marks
 * `before` and `after`, at which the orchestrator snapshots the server, and closes them again
 * (these scenarios run each round on a fresh server).
 */
export function idleSession(options: Readonly<Record<string, unknown>>, open: (round: number) => Promise<WebSocket[]>): LoadSession {
  const settleMs = numberOption(options, 'settleMs', 300);
  let sockets: WebSocket[] = [];
  let round = 0;
  return {
    async measure(mark) {
      round++;
      await sleep(50);
      await mark('before');
      const started = Date.now();
      sockets = await open(round);
      const connectMs = Date.now() - started;
      await sleep(settleMs);
      await mark('after');
      await closeAll(sockets);
      return { count: sockets.length, connections: sockets.length, windowMs: connectMs, loadCpu: 0, errors: 0 };
    },
    close: () => closeAll(sockets),
  };
}

/** A binary payload of `size` bytes (16 at least) carrying `seq` and the send time, for latency. */
export function stamp(seq: number, size: number): Buffer {
  const payload = Buffer.alloc(Math.max(16, size));
  payload.writeUInt32LE(seq, 0);
  payload.writeDoubleLE(performance.now(), 8);
  return payload;
}

function cpuMicros(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

/** Opens one client connection; rejects on error, unexpected response or after `timeoutMs`. */
export function connect(url: string, protocols: string[], options: ClientOptions = {}, timeoutMs = 10_000): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { perMessageDeflate: false, handshakeTimeout: timeoutMs, ...options });
    ws.binaryType = 'nodebuffer';
    const fail = (error: Error): void => {
      ws.removeAllListeners();
      ws.on('error', () => {});
      ws.terminate();
      reject(error);
    };
    ws.once('open', () => {
      ws.removeListener('error', fail);
      resolve(ws);
    });
    ws.once('error', fail);
    ws.once('unexpected-response', (_req, res) => fail(new Error(`unexpected response ${res.statusCode}`)));
  });
}

/** Opens `count` connections, at most `parallel` handshakes at a time. */
export async function connectMany(
  count: number,
  open: (index: number) => Promise<WebSocket>,
  parallel = 100,
): Promise<WebSocket[]> {
  const sockets: WebSocket[] = new Array(count);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const index = next++;
      sockets[index] = await open(index);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker));
  } catch (error) {
    for (const ws of sockets) ws?.terminate();
    throw error;
  }
  return sockets;
}

/** Closes every socket and waits (bounded) until they are gone. */
export async function closeAll(sockets: readonly WebSocket[], timeoutMs = 2000): Promise<void> {
  const closed = sockets.map(
    (ws) =>
      new Promise<void>((resolve) => {
        if (ws.readyState === WebSocket.CLOSED) return resolve();
        ws.once('close', () => resolve());
        ws.terminate();
      }),
  );
  await Promise.race([Promise.all(closed), sleep(timeoutMs)]);
}

/** A payload of `size` bytes: random (incompressible) or repeated text (compressible). */
export function payload(size: number, compressible: boolean): Buffer {
  if (compressible) {
    const text = '{"station":"CP-0042","status":"Available","meter":12345.6,"ts":"2026-11-25T14:00:00Z"} ';
    return Buffer.from(text.repeat(Math.ceil(size / text.length)).slice(0, size));
  }
  const buffer = Buffer.alloc(size);
  for (let i = 0; i < size; i++) buffer[i] = (i * 131 + 7) & 0xff;
  return buffer;
}
