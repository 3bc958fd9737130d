import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { topicMatches } from './topics.js';
import { TopicTrie } from './trie.js';

const level = fc.constantFrom('a', 'b', 'c', '$SYS', '', 'x y');
const topic = fc.array(level, { minLength: 1, maxLength: 4 }).map((levels) => levels.join('/'));
const filter = fc
  .tuple(fc.array(fc.oneof(level, fc.constant('+')), { minLength: 0, maxLength: 4 }), fc.boolean())
  .map(([levels, multi]) => (multi ? [...levels, '#'] : levels).join('/'))
  .filter((f) => f.length > 0);

describe('TopicTrie', () => {
  test.prop([fc.array(filter, { maxLength: 12 }), topic])('matches exactly what topicMatches says, once per pair', (filters, t) => {
    const trie = new TopicTrie<{ filter: string }>();
    const values = filters.map((f) => ({ filter: f }));
    for (const value of values) trie.add(value.filter, value);
    const seen: string[] = [];
    trie.match(t, (value) => seen.push(value.filter));
    const expected = values.filter((value) => topicMatches(value.filter, t)).map((value) => value.filter);
    expect(seen.sort()).toEqual(expected.sort());
    expect(trie.some(t)).toBe(expected.length > 0);
  });

  test.prop([fc.array(filter, { maxLength: 12 })])('removing every pair leaves it empty', (filters) => {
    const trie = new TopicTrie<object>();
    const values = filters.map((f) => [f, {}] as const);
    for (const [f, v] of values) expect(trie.add(f, v)).toBe(true);
    expect(trie.size).toBe(values.length);
    for (const [f, v] of values) expect(trie.remove(f, v)).toBe(true);
    expect(trie.size).toBe(0);
    expect(trie.some('a')).toBe(false);
  });

  it('counts a pair once and reports what changed', () => {
    const trie = new TopicTrie<string>();
    expect(trie.add('a/+', 'x')).toBe(true);
    expect(trie.add('a/+', 'x')).toBe(false);
    expect(trie.size).toBe(1);
    expect(trie.remove('a/#', 'x')).toBe(false);
    expect(trie.remove('a/+', 'x')).toBe(true);
    expect(trie.remove('a/+', 'x')).toBe(false);
  });

  it('never matches $ topics with a leading wildcard [MQTT-4.7.2-1]', () => {
    const trie = new TopicTrie<string>();
    trie.add('#', 'all');
    trie.add('+/broker', 'plus');
    trie.add('$SYS/#', 'sys');
    const seen: string[] = [];
    trie.match('$SYS/broker', (v) => seen.push(v));
    expect(seen).toEqual(['sys']);
  });

  it('some() honours the predicate', () => {
    const trie = new TopicTrie<string>();
    trie.add('a/#', 'mine');
    expect(trie.some('a/b', (v) => v !== 'mine')).toBe(false);
    trie.add('a/b', 'other');
    expect(trie.some('a/b', (v) => v !== 'mine')).toBe(true);
  });
});
