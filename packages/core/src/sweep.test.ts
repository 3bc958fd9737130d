import { describe, expect, it } from 'vitest';
import { createDeadlineSweep } from './sweep.js';
import { createFakeClock } from './testing/fake-clock.js';

describe('createDeadlineSweep', () => {
  it('visits watched items on each tick and runs no timer while nothing is watched', () => {
    const clock = createFakeClock(0);
    const sweep = createDeadlineSweep(clock, 100);
    const seen: number[] = [];
    const item = { checkDeadlines: (now: number) => void seen.push(now) };
    expect(clock.pending).toBe(0);
    sweep.watch(item);
    sweep.watch(item);
    expect(sweep.size).toBe(1);
    expect(clock.pending).toBe(1);
    clock.advance(250);
    expect(seen).toEqual([100, 200]);
    sweep.unwatch(item);
    expect(clock.pending).toBe(0);
    clock.advance(1000);
    expect(seen).toEqual([100, 200]);
  });

  it('keeps visiting the others when one item throws', () => {
    const clock = createFakeClock(0);
    const errors: unknown[] = [];
    const sweep = createDeadlineSweep(clock, 10, (error) => errors.push(error));
    let visits = 0;
    sweep.watch({ checkDeadlines: () => { throw new Error('bug'); } });
    sweep.watch({ checkDeadlines: () => void visits++ });
    clock.advance(10);
    expect(visits).toBe(1);
    expect(errors).toHaveLength(1);
    sweep.stop();
    expect(clock.pending).toBe(0);
  });

  it('refuses a non-positive interval', () => {
    expect(() => createDeadlineSweep(createFakeClock(0), 0)).toThrow(RangeError);
  });
});
