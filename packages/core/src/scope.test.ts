import { describe, expect, it } from 'vitest';
import { createMemoryBus } from './bus/memory.js';
import { createConnectionScope } from './scope.js';
import { silentLogger, noopMetrics } from './logging.js';
import { createFakeClock } from './testing/fake-clock.js';

function setup() {
  const bus = createMemoryBus();
  const clock = createFakeClock();
  const parent = { bus, clock, log: silentLogger, metrics: noopMetrics, signal: new AbortController().signal };
  return { bus, clock, scope: createConnectionScope(parent) };
}

describe('createConnectionScope', () => {
  it('tracks subscriptions and timers and releases leftovers', () => {
    const { bus, clock, scope } = setup();
    const sub = scope.context.bus.subscribe('a/#', () => {});
    scope.context.bus.subscribe('b', () => {});
    scope.context.clock.setInterval(() => {}, 1000);
    const once = scope.context.clock.setTimeout(() => {}, 500);
    sub.unsubscribe();
    expect(scope.holdings()).toEqual({ subscriptions: 1, timers: 2 });
    clock.advance(600);
    expect(scope.holdings()).toEqual({ subscriptions: 1, timers: 1 });
    once.refresh();
    expect(scope.holdings().timers).toBe(2);
    expect(scope.release()).toEqual({ subscriptions: 1, timers: 2 });
    expect(scope.holdings()).toEqual({ subscriptions: 0, timers: 0 });
    expect(bus.size).toBe(0);
    expect(clock.pending).toBe(0);
    expect(scope.context.signal.aborted).toBe(true);
  });

  it('reports zero when the session cleaned up after itself', () => {
    const { scope } = setup();
    const sub = scope.context.bus.subscribe('a', () => {});
    const timer = scope.context.clock.setTimeout(() => {}, 10);
    sub.unsubscribe();
    timer.cancel();
    expect(scope.release()).toEqual({ subscriptions: 0, timers: 0 });
  });
});

describe('createFakeClock', () => {
  it('fires timers in due order and repeats intervals', () => {
    const clock = createFakeClock(0);
    const log: string[] = [];
    clock.setTimeout(() => log.push(`t2@${clock.now()}`), 20);
    clock.setTimeout(() => log.push(`t1@${clock.now()}`), 10);
    clock.setInterval(() => log.push(`i@${clock.now()}`), 15);
    clock.advance(31);
    expect(log).toEqual(['t1@10', 'i@15', 't2@20', 'i@30']);
    expect(clock.now()).toBe(31);
  });

  it('restarts a timeout on refresh', () => {
    const clock = createFakeClock(0);
    let fired = 0;
    const timer = clock.setTimeout(() => fired++, 10);
    clock.advance(8);
    timer.refresh();
    clock.advance(8);
    expect(fired).toBe(0);
    clock.advance(2);
    expect(fired).toBe(1);
  });
});

describe('connection scope hasSubscribers', () => {
  it('forwards to the parent bus and maps its own subscriptions for except', () => {
    const { bus, scope } = setup();
    const own = scope.context.bus.subscribe('x/#', () => {});
    expect(scope.context.bus.hasSubscribers?.('x/y')).toBe(true);
    expect(scope.context.bus.hasSubscribers?.('x/y', own)).toBe(false);
    bus.subscribe('x/y', () => {});
    expect(scope.context.bus.hasSubscribers?.('x/y', own)).toBe(true);
  });
});
