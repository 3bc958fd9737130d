import { describe, expect, it } from 'vitest';
import { createFakeClock } from '@protoplex/core/testing';
import { createKeepAlive, type KeepAlive, type KeepAliveTarget } from './keep-alive.js';

interface Target extends KeepAliveTarget {
  pings: number[];
  terminated: number | undefined;
}

function target(keepAlive: () => KeepAlive, clock: { now(): number }): Target {
  return {
    awaitingPong: false,
    pingedAt: 0,
    pings: [],
    terminated: undefined,
    ping() {
      this.pings.push(clock.now());
    },
    terminate() {
      this.terminated ??= clock.now();
    },
    checkDeadlines(now) {
      keepAlive().check(this, now);
    },
  };
}

describe('createKeepAlive', () => {
  it('uses one timer for every connection, pings each tick and terminates the silent at the next', () => {
    const clock = createFakeClock(0);
    const keepAlive = createKeepAlive(clock, { interval: 1000 });
    const a = target(() => keepAlive, clock);
    const b = target(() => keepAlive, clock);
    expect(clock.pending).toBe(0);
    keepAlive.watch(a);
    clock.advance(400);
    keepAlive.watch(b);
    expect(clock.pending).toBe(1);
    clock.advance(600);
    // Both pinged on the first tick, b only 600 ms after it was watched.
    expect([a.pings, b.pings]).toEqual([[1000], [1000]]);
    a.awaitingPong = false; // a answered
    clock.advance(1000);
    expect([a.terminated, b.terminated]).toEqual([undefined, 2000]);
    expect(a.pings).toEqual([1000, 2000]);
    keepAlive.unwatch(b);
    keepAlive.stop();
    expect(clock.pending).toBe(0);
  });

  it('stops ticking when nothing is watched, and watches nothing after stop()', () => {
    const clock = createFakeClock(0);
    const keepAlive = createKeepAlive(clock, { interval: 1000 });
    const a = target(() => keepAlive, clock);
    keepAlive.watch(a);
    keepAlive.unwatch(a);
    expect(clock.pending).toBe(0);
    keepAlive.stop();
    keepAlive.watch(a);
    expect(clock.pending).toBe(0);
  });

  it('terminates exactly `timeout` after the ping when it is shorter than the interval', () => {
    const clock = createFakeClock(0);
    const keepAlive = createKeepAlive(clock, { interval: 1000, timeout: 200 });
    const a = target(() => keepAlive, clock);
    keepAlive.watch(a);
    // First ping within `interval` of being watched.
    while (a.pings.length === 0 && clock.now() < 1000) clock.advance(10);
    expect(a.pings).toHaveLength(1);
    const pingedAt = a.pings[0]!;
    expect(pingedAt).toBeGreaterThanOrEqual(800);
    clock.advance(199 - (clock.now() - pingedAt));
    expect(a.terminated).toBeUndefined();
    clock.advance(1);
    expect(a.terminated).toBe(pingedAt + 200);
  });

  it('keeps the interval between pings of a peer that answers, with a shorter timeout', () => {
    const clock = createFakeClock(0);
    const keepAlive = createKeepAlive(clock, { interval: 1000, timeout: 250 });
    const a = target(() => keepAlive, clock);
    keepAlive.watch(a);
    for (let i = 0; i < 20; i++) {
      clock.advance(250);
      a.awaitingPong = false;
    }
    expect(a.terminated).toBeUndefined();
    expect(a.pings).toEqual([750, 1750, 2750, 3750, 4750]);
  });

  it('treats a timeout at or above the interval as absent', () => {
    const clock = createFakeClock(0);
    const keepAlive = createKeepAlive(clock, { interval: 1000, timeout: 5000 });
    const a = target(() => keepAlive, clock);
    keepAlive.watch(a);
    clock.advance(1000);
    expect(a.pings).toEqual([1000]);
    clock.advance(1000);
    expect(a.terminated).toBe(2000);
  });

  it('refuses nonsense intervals', () => {
    const clock = createFakeClock(0);
    expect(() => createKeepAlive(clock, { interval: 0 })).toThrow(RangeError);
    expect(() => createKeepAlive(clock, { interval: Infinity })).toThrow(RangeError);
    expect(() => createKeepAlive(clock, { interval: 10, timeout: -1 })).toThrow(RangeError);
  });
});
