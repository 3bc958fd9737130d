import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { isValidTopicFilter, topicMatches } from '@protoplex/core';
import { busFilterOf, wampTopics } from './topics.js';
import { prefixMatches, wildcardMatches } from './uri.js';

const part = fc.stringMatching(/^[a-z0-9/+#%]{1,4}$/);

describe('WAMP topics on the bus', () => {
  it('maps components to levels', () => {
    expect(wampTopics.toBus('com.myapp.topic')).toBe('com/myapp/topic');
    expect(wampTopics.fromBus('com/myapp/topic')).toBe('com.myapp.topic');
    expect(wampTopics.toBus('a..b')).toBeUndefined();
    expect(busFilterOf('com.myapp', 'prefix')).toBe('com/myapp/#');
    expect(busFilterOf('com.myapp.', 'prefix')).toBe('com/myapp/#');
    expect(busFilterOf('com..topic', 'wildcard')).toBe('com/+/topic');
  });

  test.prop([fc.array(part, { minLength: 1, maxLength: 4 })])('round-trips any exact topic, escaping /, + and #', (parts) => {
    const uri = parts.join('.');
    const canonical = wampTopics.toBus(uri)!;
    expect(canonical.split('/')).toHaveLength(parts.length);
    expect(wampTopics.fromBus(canonical)).toBe(uri);
  });

  test.prop([fc.array(fc.stringMatching(/^[a-z]{1,2}$/), { minLength: 1, maxLength: 4 }), fc.array(fc.oneof(fc.stringMatching(/^[a-z]{1,2}$/), fc.constant('')), { minLength: 1, maxLength: 4 })])(
    'a bus filter passes every topic the WAMP pattern matches at component boundaries',
    (topicParts, patternParts) => {
      const topic = topicParts.join('.');
      const wildcard = patternParts.join('.');
      const filter = busFilterOf(wildcard, 'wildcard')!;
      expect(isValidTopicFilter(filter)).toBe(true);
      if (wildcardMatches(patternParts, topic)) expect(topicMatches(filter, wampTopics.toBus(topic)!)).toBe(true);
      const prefix = patternParts.filter((p) => p !== '').join('.');
      if (prefix !== '' && (topic === prefix || topic.startsWith(prefix + '.')) && prefixMatches(prefix, topic)) {
        expect(topicMatches(busFilterOf(prefix, 'prefix')!, wampTopics.toBus(topic)!)).toBe(true);
      }
    },
  );
});
