import { describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { mqttTopics, parseSharedFilter } from './topics.js';

const level = fc.constantFrom('a', 'b', 'c', '$sys', '');
const topic = fc.array(level, { minLength: 1, maxLength: 4 }).map((l) => l.join('/')).filter((t) => t.length > 0);

describe('topics', () => {
  it('splits shared subscriptions and refuses malformed ones', () => {
    expect(parseSharedFilter('$share/g/a/+')).toEqual({ group: 'g', filter: 'a/+' });
    expect(parseSharedFilter('a/b')).toBeUndefined();
    for (const bad of ['$share/g', '$share//a', '$share/g+/a', '$share/g#/a', '$share/g/a/#/b']) expect(parseSharedFilter(bad), bad).toBeNull();
  });

  test.prop([topic])('maps MQTT topics to bus topics by identity', (t) => {
    expect(mqttTopics.fromBus(mqttTopics.toBus(t)!)).toBe(t);
    expect(mqttTopics.toBus(t)).toBe(t);
  });
});
