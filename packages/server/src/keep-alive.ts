/**
 * Server-side keep-alive: one shared interval timer for every connection, not one per
 * connection. Each tick terminates the peers that did not answer the previous ping (with a pong
 * or any message) and pings the rest. A terminated peer's session sees close code 1006.
 *
 * RFC 6455 §5.5.2: "Upon receipt of a Ping frame, an endpoint MUST send a Pong frame in
 * response"; §5.5.3 lets any message count as proof of life in practice, and we do.
 */
import type { Clock, Timer } from '@protoplex/core';

export interface KeepAliveOptions {
  /**
   * Milliseconds between two pings.
   * @default 30000
   */
  interval: number;
  /**
   * Milliseconds a peer has to answer a ping before it is terminated. Without it a peer has
   * until the next ping (`interval`). Values at or above `interval` behave as if absent.
   */
  timeout?: number;
}

/** What keep-alive needs from a connection. */
export interface KeepAliveTarget {
  /** Set by each ping, cleared by the peer's pong or message. */
  awaitingPong: boolean;
  ping(): void;
  terminate(): void;
}

export interface KeepAlive {
  stop(): void;
}

/** Starts the shared timer over the live set `targets` (read at each tick). */
export function startKeepAlive(clock: Clock, options: KeepAliveOptions, targets: Iterable<KeepAliveTarget>): KeepAlive {
  const { interval, timeout } = options;
  if (!(interval > 0) || !Number.isFinite(interval)) throw new RangeError(`keepAlive.interval must be a positive number of ms, got ${interval}`);
  if (timeout !== undefined && !(timeout > 0)) throw new RangeError(`keepAlive.timeout must be a positive number of ms, got ${timeout}`);
  const early = timeout !== undefined && timeout < interval;

  const sweep = (): void => {
    for (const target of targets) if (target.awaitingPong) target.terminate();
  };
  let sweepTimer: Timer | undefined;
  const tick = (): void => {
    sweep();
    for (const target of targets) {
      target.awaitingPong = true;
      target.ping();
    }
    if (early) {
      sweepTimer?.cancel();
      sweepTimer = clock.setTimeout(sweep, timeout);
    }
  };
  const timer = clock.setInterval(tick, interval);
  return {
    stop() {
      timer.cancel();
      sweepTimer?.cancel();
    },
  };
}
