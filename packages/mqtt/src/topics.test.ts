import { describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { topicMatches } from '@protoplex/core';
import { mqttTopicMapper, parseSharedFilter, SubscriptionTrie } from './topics.js';

const level = fc.constantFrom('a', 'b', 'c', '$sys', '');
const topic = fc.array(level, { minLength: 1, maxLength: 4 }).map((l) => l.join('/')).filter((t) => t.length > 0);
const filterLevel = fc.constantFrom('a', 'b', '$sys', '', '+');
const filter = fc
  .tuple(fc.array(filterLevel, { minLength: 1, maxLength: 4 }), fc.boolean())
  .map(([levels, multi]) => (multi ? [...levels, '#'] : levels).join('/'))
  .filter((f) => f.length > 0);

describe('topics', () => {
  test.prop([fc.array(filter, { maxLength: 8 }), topic])('matches exactly the filters core says match, $ rule included', (filters, t) => {
    const trie = new SubscriptionTrie<string>();
    const values = filters.map((f, i) => `${i}:${f}`);
    values.forEach((v, i) => trie.add(filters[i]!, v));
    const got: string[] = [];
    trie.match(t, (v) => got.push(v));
    expect(got.sort()).toEqual(values.filter((_, i) => topicMatches(filters[i]!, t)).sort());
  });

  test.prop([fc.array(filter, { minLength: 1, maxLength: 6 })])('leaves nothing behind once every filter is removed', (filters) => {
    const trie = new SubscriptionTrie<string>();
    filters.forEach((f, i) => trie.add(f, String(i)));
    filters.forEach((f, i) => trie.remove(f, String(i)));
    expect(trie.size).toBe(0);
    const got: string[] = [];
    trie.match('a/b', (v) => got.push(v));
    expect(got).toEqual([]);
  });

  it('splits shared subscriptions and refuses malformed ones', () => {
    expect(parseSharedFilter('$share/g/a/+')).toEqual({ group: 'g', filter: 'a/+' });
    expect(parseSharedFilter('a/b')).toBeUndefined();
    for (const bad of ['$share/g', '$share//a', '$share/g+/a', '$share/g#/a', '$share/g/a/#/b']) expect(parseSharedFilter(bad), bad).toBeNull();
  });

  test.prop([topic])('maps MQTT topics to bus topics by identity', (t) => {
    expect(mqttTopicMapper.fromBus(mqttTopicMapper.toBus(t)!)).toBe(t);
    expect(mqttTopicMapper.toBus(t)).toBe(t);
  });
});
