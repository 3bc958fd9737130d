/** Test doubles shared by this package's tests. Never exported from `index.ts`, never published. */
import { createMemoryBus, type Bus, type BusMessage, type LogFn, type Logger, type MemoryBus, type Metrics } from '@protoplex/core';

/** A memory bus that records what was published and which filters were subscribed. */
export interface RecordingBus extends MemoryBus {
  /** Every message handed to `publish`, oldest first: a message in here was built. */
  readonly published: BusMessage[];
  /** Every filter ever subscribed, in order (unsubscribing does not remove it). */
  readonly subscribed: string[];
}

export function createRecordingBus(): RecordingBus {
  const inner = createMemoryBus();
  const published: BusMessage[] = [];
  const subscribed: string[] = [];
  return Object.assign(Object.create(inner) as MemoryBus, {
    published,
    subscribed,
    publish(message: BusMessage) {
      published.push(message);
      return inner.publish(message);
    },
    subscribe(...args: Parameters<Bus['subscribe']>) {
      subscribed.push(args[0]);
      return inner.subscribe(...args);
    },
  });
}

/**
 * A bus as a networked driver behaves when its backend is down: it cannot tell who subscribes
 * (no `hasSubscribers`, so every publish is wanted) and every `publish` promise rejects.
 */
export function createFailingBus(error: Error): Bus & { readonly attempts: BusMessage[] } {
  const inner = createMemoryBus();
  const attempts: BusMessage[] = [];
  return {
    attempts,
    publish(message) {
      attempts.push(message);
      return Promise.reject(error);
    },
    subscribe: (filter, handler, options) => inner.subscribe(filter, handler, options),
  };
}

export interface LogEntry {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly fields: Record<string, unknown>;
  readonly message: string | undefined;
}

/** A logger that keeps every entry, for tests that check what was reported. */
export function createRecordingLog(): Logger & { readonly entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const at =
    (level: LogEntry['level']): LogFn =>
    (first: string | Record<string, unknown>, message?: string) => {
      if (typeof first === 'string') entries.push({ level, fields: {}, message: first });
      else entries.push({ level, fields: first, message });
    };
  const log = {
    entries,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: () => log,
  };
  return log;
}

/** Metrics that sum counters by name (labels ignored). */
export function createRecordingMetrics(): Metrics & { counter(name: string): number } {
  const counters = new Map<string, number>();
  return {
    increment(name, _labels, value = 1) {
      counters.set(name, (counters.get(name) ?? 0) + value);
    },
    set() {},
    observe() {},
    counter: (name) => counters.get(name) ?? 0,
  };
}

/** Waits for every promise callback queued so far (a rejected publish is reported in one). */
export const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
