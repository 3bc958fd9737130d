/**
 * Keep-alives and other per-connection deadlines (MQTT keep-alive, STOMP heart-beats, a
 * CONNECT timeout) run on one sweep per owner, never on a timer per connection.
 *
 * Why: a timer per connection costs a timer object, a closure and a scope entry on every idle
 * connection, and re-arming it on every message is the hottest timer call in a broker. A sweep
 * is one interval for any number of connections; each connection keeps a timestamp or two and
 * checks them when the sweep visits it. The price is precision: a deadline is seen up to one
 * `interval` late, so the interval is chosen well below the shortest period it serves. The
 * interval runs only while something is watched, so an idle server keeps no timer alive.
 * `@protoplex/server` pings on the same design (one sweep for every connection).
 */
import type { Clock, Timer } from './contract.js';

/** Something with deadlines: called on each tick while watched. */
export interface Watched {
  /** Checks deadlines against `now` (epoch ms): send a heart-beat, close a silent peer. MUST NOT throw. */
  checkDeadlines(now: number): void;
}

export interface DeadlineSweep {
  /** Starts visiting `item` on each tick. Watching twice is watching once. */
  watch(item: Watched): void;
  /** Stops visiting `item`. The interval stops when nothing is left. */
  unwatch(item: Watched): void;
  /** Number of watched items. */
  readonly size: number;
  /** Stops the interval and forgets every item (shutdown). */
  stop(): void;
}

/**
 * Creates a sweep on `clock` that visits its watched items every `interval` ms.
 * Make it on the server-wide clock (an adapter's `setup` context): it outlives connections.
 */
export function createDeadlineSweep(clock: Clock, interval: number, onError?: (error: unknown) => void): DeadlineSweep {
  if (!(interval > 0) || !Number.isFinite(interval)) throw new RangeError(`sweep interval must be a positive number of ms, got ${interval}`);
  const items = new Set<Watched>();
  let timer: Timer | undefined;
  const tick = (): void => {
    const now = clock.now();
    for (const item of items) {
      try {
        item.checkDeadlines(now);
      } catch (error) {
        // One broken connection must not stop the keep-alive of the others.
        onError?.(error);
      }
    }
  };
  return {
    get size() {
      return items.size;
    },
    watch(item) {
      items.add(item);
      timer ??= clock.setInterval(tick, interval);
    },
    unwatch(item) {
      if (!items.delete(item) || items.size > 0 || !timer) return;
      timer.cancel();
      timer = undefined;
    },
    stop() {
      items.clear();
      timer?.cancel();
      timer = undefined;
    },
  };
}
