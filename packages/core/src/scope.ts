/**
 * Connection scopes: the context handed to `open()` wraps the server-wide bus and clock and
 * remembers what the session created through them, so the transport can release leftovers when
 * the connection ends and the conformance suite can prove a session leaves nothing behind.
 */
import type { AdapterContext, Clock, Timer } from './contract.js';
import type { Bus, BusSubscription } from './bus/types.js';

/** What a scope still holds. */
export interface ScopeHoldings {
  readonly subscriptions: number;
  readonly timers: number;
}

export interface ConnectionScope {
  readonly context: AdapterContext;
  /** What the session still holds right now. */
  holdings(): ScopeHoldings;
  /**
   * Aborts the scope's signal, cancels every timer and unsubscribes every subscription still held.
   * @returns what was still held just before (non-zero means the session leaked)
   */
  release(): ScopeHoldings;
}

export function createConnectionScope(parent: AdapterContext, bindings: Record<string, unknown> = {}): ConnectionScope {
  // Created on first read: most sessions never look at their signal, and an AbortController per
  // idle connection is most of a kilobyte.
  let controller: AbortController | undefined;
  const subscriptions = new Set<BusSubscription>();
  const timers = new Set<Timer>();

  // Maps the tracked wrapper back to the parent's subscription for `hasSubscribers(topic, except)`.
  const inners = new WeakMap<object, BusSubscription>();
  const bus: Bus = {
    publish: (message) => parent.bus.publish(message),
    ...(parent.bus.hasSubscribers
      ? {
          hasSubscribers: (topic: string, except?: BusSubscription | object) =>
            parent.bus.hasSubscribers!(topic, except === undefined ? undefined : (inners.get(except as BusSubscription) ?? except)),
        }
      : {}),
    subscribe(filter, handler, options) {
      const inner = parent.bus.subscribe(filter, handler, options);
      const tracked: BusSubscription = {
        filter: inner.filter,
        unsubscribe() {
          if (!subscriptions.delete(tracked)) return;
          inner.unsubscribe();
        },
      };
      subscriptions.add(tracked);
      inners.set(tracked, inner);
      return tracked;
    },
  };

  const track = (create: (callback: () => void) => Timer, callback: () => void, once: boolean): Timer => {
    // `timer` is assigned before the callback can run: clocks never call back synchronously.
    // eslint-disable-next-line prefer-const
    let timer: Timer;
    const inner = create(() => {
      if (once) timers.delete(timer);
      callback();
    });
    timer = {
      cancel() {
        timers.delete(timer);
        inner.cancel();
      },
      refresh() {
        timers.add(timer);
        inner.refresh();
      },
    };
    timers.add(timer);
    return timer;
  };

  const clock: Clock = {
    now: () => parent.clock.now(),
    setTimeout: (callback, ms) => track((cb) => parent.clock.setTimeout(cb, ms), callback, true),
    setInterval: (callback, ms) => track((cb) => parent.clock.setInterval(cb, ms), callback, false),
  };

  let log: AdapterContext['log'] | undefined;
  const context: AdapterContext = {
    bus,
    clock,
    get log() {
      return (log ??= Object.keys(bindings).length > 0 ? parent.log.child(bindings) : parent.log);
    },
    metrics: parent.metrics,
    get signal() {
      return (controller ??= new AbortController()).signal;
    },
  };

  const holdings = (): ScopeHoldings => ({ subscriptions: subscriptions.size, timers: timers.size });

  return {
    context,
    holdings,
    release() {
      const held = holdings();
      (controller ??= new AbortController()).abort();
      for (const subscription of [...subscriptions]) subscription.unsubscribe();
      for (const timer of [...timers]) timer.cancel();
      return held;
    },
  };
}
