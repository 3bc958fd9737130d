import { describe, expect, it } from 'vitest';
import { test, fc } from '@fast-check/vitest';
import { createMemoryBus } from './memory.js';
import { topicMatches } from './topics.js';
import type { BusMessage } from './types.js';

const message = (topic: string): BusMessage => ({ topic, payload: new Uint8Array(), origin: { protocol: 'test' }, qos: 0 });

function collect(bus: ReturnType<typeof createMemoryBus>, filter: string): string[] {
  const got: string[] = [];
  bus.subscribe(filter, (m) => got.push(m.topic));
  return got;
}

describe('createMemoryBus', () => {
  it('delivers to exact, + and # filters', () => {
    const bus = createMemoryBus();
    const exact = collect(bus, 'a/b/c');
    const single = collect(bus, 'a/+/c');
    const multi = collect(bus, 'a/#');
    const all = collect(bus, '#');
    const none = collect(bus, 'a/+');
    bus.publish(message('a/b/c'));
    expect([exact, single, multi, all, none]).toEqual([['a/b/c'], ['a/b/c'], ['a/b/c'], ['a/b/c'], []]);
  });

  it('matches the parent level with # (sport/# matches sport)', () => {
    const bus = createMemoryBus();
    const got = collect(bus, 'sport/#');
    bus.publish(message('sport'));
    expect(got).toEqual(['sport']);
  });

  it('does not match $ topics with a leading wildcard [MQTT-4.7.2-1]', () => {
    const bus = createMemoryBus();
    const all = collect(bus, '#');
    const plus = collect(bus, '+/broker');
    const sys = collect(bus, '$SYS/#');
    bus.publish(message('$SYS/broker'));
    expect([all, plus, sys]).toEqual([[], [], ['$SYS/broker']]);
  });

  it('stops delivery on unsubscribe and prunes the trie', () => {
    const bus = createMemoryBus();
    const got: string[] = [];
    const sub = bus.subscribe('x/y', (m) => got.push(m.topic));
    sub.unsubscribe();
    sub.unsubscribe();
    bus.publish(message('x/y'));
    expect(got).toEqual([]);
    expect(bus.size).toBe(0);
  });

  it('delivers each message once per subscription even when filters overlap', () => {
    const bus = createMemoryBus();
    const got: string[] = [];
    bus.subscribe('a/#', () => got.push('multi'));
    bus.subscribe('a/+', () => got.push('single'));
    bus.subscribe('a/b', () => got.push('exact'));
    bus.publish(message('a/b'));
    expect(got.sort()).toEqual(['exact', 'multi', 'single']);
  });

  it('keeps delivering to the others when one handler throws', () => {
    const errors: unknown[] = [];
    const bus = createMemoryBus({ onHandlerError: (e) => errors.push(e) });
    bus.subscribe('t', () => {
      throw new Error('boom');
    });
    const got = collect(bus, 't');
    bus.publish(message('t'));
    expect(got).toEqual(['t']);
    expect(errors).toHaveLength(1);
  });

  it('does not deliver to a subscription unsubscribed by an earlier handler of the same publish', () => {
    const bus = createMemoryBus();
    const got: string[] = [];
    // eslint-disable-next-line prefer-const
    let second: { unsubscribe(): void };
    bus.subscribe('t', () => second.unsubscribe());
    second = bus.subscribe('t', () => got.push('second'));
    bus.publish(message('t'));
    expect(got).toEqual([]);
  });

  it('refuses invalid topics and filters', () => {
    const bus = createMemoryBus();
    expect(() => bus.publish(message('a/+'))).toThrow(TypeError);
    expect(() => bus.publish(message(''))).toThrow(TypeError);
    expect(() => bus.subscribe('a/#/b', () => {})).toThrow(TypeError);
    expect(() => bus.subscribe('a+', () => {})).toThrow(TypeError);
  });

  const level = fc.constantFrom('a', 'b', 'c', '$s', '');
  const topicArb = fc.array(level, { minLength: 1, maxLength: 4 }).map((l) => l.join('/')).filter((t) => t.length > 0);
  const filterArb = fc
    .tuple(fc.array(fc.constantFrom('a', 'b', 'c', '$s', '', '+'), { minLength: 1, maxLength: 4 }), fc.boolean())
    .map(([levels, multi]) => (multi ? [...levels, '#'] : levels).join('/'))
    .filter((f) => f.length > 0);

  test.prop([fc.uniqueArray(filterArb, { maxLength: 12 }), topicArb])('the trie agrees with topicMatches for every filter', (filters, topic) => {
    const bus = createMemoryBus();
    const hits = new Set<string>();
    for (const filter of filters) bus.subscribe(filter, () => hits.add(filter));
    bus.publish(message(topic));
    expect([...hits].sort()).toEqual(filters.filter((f) => topicMatches(f, topic)).sort());
  });
});

describe('createMemoryBus defaults', () => {
  it('reports a throwing subscriber without rethrowing, so the process survives', async () => {
    const bus = createMemoryBus();
    const original = console.error;
    const reported: unknown[] = [];
    console.error = (...args: unknown[]) => void reported.push(args);
    try {
      bus.subscribe('t', () => {
        throw new Error('subscriber bug');
      });
      expect(() => bus.publish(message('t'))).not.toThrow();
      await new Promise((resolve) => setTimeout(resolve, 0));
      expect(reported).toHaveLength(1);
    } finally {
      console.error = original;
    }
  });
});

describe('MemoryBus.hasSubscribers', () => {
  it('answers whether a publish would reach anyone, optionally ignoring one subscription', () => {
    const bus = createMemoryBus();
    expect(bus.hasSubscribers('a/b')).toBe(false);
    const all = bus.subscribe('#', () => {});
    expect(bus.hasSubscribers('a/b')).toBe(true);
    expect(bus.hasSubscribers('a/b', all)).toBe(false);
    expect(bus.hasSubscribers('$SYS/x')).toBe(false);
    bus.subscribe('a/+', () => {});
    expect(bus.hasSubscribers('a/b', all)).toBe(true);
    expect(bus.hasSubscribers('c/d', all)).toBe(false);
  });

  const level = fc.constantFrom('a', 'b', '$s', '');
  const topicArb = fc.array(level, { minLength: 1, maxLength: 4 }).map((l) => l.join('/')).filter((t) => t.length > 0);
  const filterArb = fc
    .tuple(fc.array(fc.constantFrom('a', 'b', '$s', '', '+'), { minLength: 1, maxLength: 4 }), fc.boolean())
    .map(([levels, multi]) => (multi ? [...levels, '#'] : levels).join('/'))
    .filter((f) => f.length > 0);

  test.prop([fc.uniqueArray(filterArb, { maxLength: 8 }), topicArb, fc.nat()])('agrees with what publish delivers', (filters, topic, pick) => {
    const bus = createMemoryBus();
    const hits: string[] = [];
    const subs = filters.map((filter) => bus.subscribe(filter, () => hits.push(filter)));
    const except = subs.length > 0 ? subs[pick % subs.length] : undefined;
    const predicted = bus.hasSubscribers(topic, except);
    bus.publish(message(topic));
    const others = hits.filter((f) => except === undefined || f !== except.filter);
    expect(predicted).toBe(others.length > 0);
  });
});

describe('MemoryBus match cache', () => {
  const got: string[] = [];
  test.prop([fc.array(fc.tuple(fc.constantFrom('sub', 'unsub', 'pub'), fc.constantFrom('a/b', 'a/+', '#', 'a/#', 'c')), { maxLength: 40 })])(
    'delivers exactly what topicMatches says after any sequence of subscribes, unsubscribes and repeated publishes',
    (steps) => {
      const bus = createMemoryBus();
      const live = new Map<string, { unsubscribe(): void }>();
      for (const [op, filter] of steps) {
        if (op === 'sub' && !live.has(filter)) live.set(filter, bus.subscribe(filter, (m) => got.push(`${filter}<${m.topic}`)));
        else if (op === 'unsub') {
          live.get(filter)?.unsubscribe();
          live.delete(filter);
        } else if (op === 'pub') {
          got.length = 0;
          bus.publish(message('a/b'));
          const expected = [...live.keys()].filter((f) => topicMatches(f, 'a/b')).map((f) => `${f}<a/b`);
          expect(got.sort()).toEqual(expected.sort());
        }
      }
    },
  );
});

describe('hasSubscribers answers stay true to the trie', () => {
  it('changes with every subscribe and unsubscribe, however often the same topic is asked', () => {
    const bus = createMemoryBus();
    const owner = {};
    expect(bus.hasSubscribers('a/b')).toBe(false);
    const own = bus.subscribe('a/#', () => {}, { owner });
    expect(bus.hasSubscribers('a/b')).toBe(true);
    expect(bus.hasSubscribers('a/b', owner)).toBe(false);
    const other = bus.subscribe('a/b', () => {});
    expect(bus.hasSubscribers('a/b', owner)).toBe(true);
    other.unsubscribe();
    expect(bus.hasSubscribers('a/b', owner)).toBe(false);
    own.unsubscribe();
    expect(bus.hasSubscribers('a/b')).toBe(false);
  });
});
