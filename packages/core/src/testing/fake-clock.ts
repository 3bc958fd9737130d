import type { Clock, Timer } from '../contract.js';

export interface FakeClock extends Clock {
  /** Moves time forward, firing every timer that falls due, in due order. */
  advance(ms: number): void;
  /** Timers scheduled and not cancelled. */
  readonly pending: number;
}

interface Scheduled {
  due: number;
  readonly seq: number;
  readonly interval: number | undefined;
  readonly ms: number;
  readonly callback: () => void;
  active: boolean;
}

/** A clock that only moves when the test says so. */
export function createFakeClock(start = 0): FakeClock {
  let now = start;
  let seq = 0;
  const timers = new Set<Scheduled>();

  const schedule = (callback: () => void, ms: number, repeat: boolean): Timer => {
    const delay = Math.max(0, Number.isFinite(ms) ? ms : 0);
    const entry: Scheduled = { due: now + delay, seq: seq++, interval: repeat ? Math.max(1, delay) : undefined, ms: delay, callback, active: true };
    timers.add(entry);
    return {
      cancel() {
        entry.active = false;
        timers.delete(entry);
      },
      refresh() {
        entry.due = now + entry.ms;
        entry.active = true;
        timers.add(entry);
      },
    };
  };

  return {
    now: () => now,
    setTimeout: (callback, ms) => schedule(callback, ms, false),
    setInterval: (callback, ms) => schedule(callback, ms, true),
    get pending() {
      return timers.size;
    },
    advance(ms) {
      const target = now + ms;
      for (;;) {
        let next: Scheduled | undefined;
        for (const timer of timers) {
          if (timer.due <= target && (!next || timer.due < next.due || (timer.due === next.due && timer.seq < next.seq))) next = timer;
        }
        if (!next) break;
        now = next.due;
        if (next.interval === undefined) {
          next.active = false;
          timers.delete(next);
        } else next.due += next.interval;
        next.callback();
      }
      now = target;
    },
  };
}
