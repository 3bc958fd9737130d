import { describe, expect, it } from 'vitest';
import { createFakeClock } from '@protoplex/core/testing';
import { startKeepAlive, type KeepAliveTarget } from './keep-alive.js';

function target(): KeepAliveTarget & { pings: number; terminated: boolean } {
  return {
    awaitingPong: false,
    pings: 0,
    terminated: false,
    ping() {
      this.pings++;
    },
    terminate() {
      this.terminated = true;
    },
  };
}

describe('startKeepAlive', () => {
  it('uses one timer for every connection, pings each tick and terminates the silent at the next', () => {
    const clock = createFakeClock(0);
    const a = target();
    const b = target();
    const keepAlive = startKeepAlive(clock, { interval: 1000 }, [a, b]);
    expect(clock.pending).toBe(1);
    clock.advance(1000);
    expect([a.pings, b.pings]).toEqual([1, 1]);
    a.awaitingPong = false; // a answered
    clock.advance(1000);
    expect([a.terminated, b.terminated]).toEqual([false, true]);
    keepAlive.stop();
    expect(clock.pending).toBe(0);
  });

  it('terminates after timeout when it is shorter than the interval', () => {
    const clock = createFakeClock(0);
    const a = target();
    startKeepAlive(clock, { interval: 1000, timeout: 200 }, [a]);
    clock.advance(1000);
    clock.advance(199);
    expect(a.terminated).toBe(false);
    clock.advance(1);
    expect(a.terminated).toBe(true);
  });

  it('refuses nonsense intervals', () => {
    const clock = createFakeClock(0);
    expect(() => startKeepAlive(clock, { interval: 0 }, [])).toThrow(RangeError);
    expect(() => startKeepAlive(clock, { interval: 10, timeout: -1 }, [])).toThrow(RangeError);
  });
});
