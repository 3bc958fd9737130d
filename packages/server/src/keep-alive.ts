/**
 * Server-side keep-alive on core's deadline sweep (`createDeadlineSweep`, the project's one
 * keep-alive design: one sweep per owner, never a timer per connection). The server owns one
 * sweep for all its connections; each connection keeps one timestamp, the time of its last ping.
 * A connection that did not answer a ping (with a pong or any message) within the answer time is
 * terminated; its session sees close code 1006.
 *
 * The sweep ticks every `interval`, or every `timeout` when that is shorter, so that a peer that
 * must answer within `timeout` is terminated on the tick `timeout` after its ping. A connection
 * gets its first ping within `interval` of being watched, as with one shared interval timer.
 *
 * RFC 6455 §5.5.2: "Upon receipt of a Ping frame, an endpoint MUST send a Pong frame in
 * response"; §5.5.3 lets any message count as proof of life in practice, and we do.
 */
import { createDeadlineSweep, type Clock, type DeadlineSweep, type Watched } from '@protoplex/core';

export interface KeepAliveOptions {
  /**
   * Milliseconds between two pings. With a shorter `timeout`, pings go out on the first tick of
   * the `timeout`-spaced sweep at or after `interval` (so every `interval` rounded up to a
   * multiple of `timeout`).
   * @default 30000
   */
  interval: number;
  /**
   * Milliseconds a peer has to answer a ping before it is terminated. Without it a peer has
   * until the next ping (`interval`). Values at or above `interval` behave as if absent.
   * @default undefined (until the next ping)
   */
  timeout?: number;
}

/** What keep-alive needs from a connection; `checkDeadlines` calls {@link KeepAlive.check}. */
export interface KeepAliveTarget extends Watched {
  /** Set by each ping, cleared by the peer's pong or message. */
  awaitingPong: boolean;
  /** Clock time (ms) of the last ping; written only by keep-alive. */
  pingedAt: number;
  ping(): void;
  terminate(): void;
}

export interface KeepAlive {
  /** Starts keeping `target` alive; its first ping comes within `interval`. */
  watch(target: KeepAliveTarget): void;
  unwatch(target: KeepAliveTarget): void;
  /** The keep-alive step of one target at `now`; what its `checkDeadlines` runs. */
  check(target: KeepAliveTarget, now: number): void;
  /** Stops the sweep for good (shutdown); later `watch` calls do nothing. */
  stop(): void;
}

/** Makes the server's keep-alive sweep on `clock`; nothing ticks until a target is watched. */
export function createKeepAlive(clock: Clock, options: KeepAliveOptions, onError?: (error: unknown) => void): KeepAlive {
  const { interval, timeout } = options;
  if (!(interval > 0) || !Number.isFinite(interval)) throw new RangeError(`keepAlive.interval must be a positive number of ms, got ${interval}`);
  if (timeout !== undefined && !(timeout > 0)) throw new RangeError(`keepAlive.timeout must be a positive number of ms, got ${timeout}`);
  const answer = timeout !== undefined && timeout < interval ? timeout : interval;
  const tick = answer;
  // Deadlines compare with half a tick of slack: a real clock's ticks come a few ms late and
  // unevenly, and a deadline that falls on a tick must not slip to the next one.
  const slack = tick / 2;
  const sweep: DeadlineSweep = createDeadlineSweep(clock, tick, onError);
  let stopped = false;
  return {
    watch(target) {
      if (stopped) return;
      target.awaitingPong = false;
      // As if pinged one tick ago: the first ping is due one tick before `interval` from now, so
      // it goes out within `interval` whatever the sweep's phase.
      target.pingedAt = clock.now() - tick;
      sweep.watch(target);
    },
    unwatch(target) {
      sweep.unwatch(target);
    },
    check(target, now) {
      if (target.awaitingPong) {
        if (now + slack >= target.pingedAt + answer) target.terminate();
        return;
      }
      if (now + slack < target.pingedAt + interval) return;
      target.pingedAt = now;
      target.awaitingPong = true;
      target.ping();
    },
    stop() {
      stopped = true;
      sweep.stop();
    },
  };
}
