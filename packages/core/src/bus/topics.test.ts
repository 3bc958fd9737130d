import { describe, expect, it } from 'vitest';
import { test, fc } from '@fast-check/vitest';
import { createTopicMapper, decodeTopicLevel, encodeTopicLevel, isValidTopicFilter, isValidTopicName, topicMatches } from './topics.js';

describe('topic rules', () => {
  it.each(['a', 'a/b', '/a', 'a/', 'sport/tennis/player1', '$SYS/x'])('accepts the topic name %j', (t) => expect(isValidTopicName(t)).toBe(true));
  it.each(['', 'a/+', '#', 'a\u0000b'])('refuses the topic name %j', (t) => expect(isValidTopicName(t)).toBe(false));
  it.each(['#', '+', 'a/#', '+/+', 'a/+/c', '/+', 'sport/+/player1'])('accepts the filter %j', (f) => expect(isValidTopicFilter(f)).toBe(true));
  it.each(['', 'a/#/b', 'a#', 'a+', '+a/b', 'sport/tennis#'])('refuses the filter %j', (f) => expect(isValidTopicFilter(f)).toBe(false));

  it.each([
    ['sport/tennis/+', 'sport/tennis/player1', true],
    ['sport/tennis/+', 'sport/tennis/player1/ranking', false],
    ['sport/#', 'sport', true],
    ['+/+', '/finance', true],
    ['/+', '/finance', true],
    ['+', '/finance', false],
    ['#', '$SYS/uptime', false],
    ['$SYS/#', '$SYS/uptime', true],
  ] as const)('%s matches %s: %s', (filter, topic, expected) => {
    expect(topicMatches(filter, topic)).toBe(expected);
  });
});

describe('createTopicMapper (STOMP syntax)', () => {
  const stomp = createTopicMapper({ prefix: '/topic/', separator: '.', single: '*', multi: '#' });

  it.each([
    ['/topic/a.b', 'a/b'],
    ['/topic/a.*.c', 'a/+/c'],
    ['/topic/a.#', 'a/#'],
    ['/topic/x/y.z', 'x%2Fy/z'],
    ['/topic/odd+level', 'odd%2Blevel'],
  ])('maps %s to %s and back', (native, canonical) => {
    expect(stomp.toBus(native)).toBe(canonical);
    expect(stomp.fromBus(canonical)).toBe(native);
  });

  it('refuses what it cannot map', () => {
    expect(stomp.toBus('/queue/a')).toBeUndefined();
    expect(stomp.toBus('/topic/')).toBeUndefined();
    expect(stomp.toBus('/topic/a.#.b')).toBeUndefined();
  });

  test.prop([fc.array(fc.string({ maxLength: 6 }).filter((s) => !s.includes('.') && s !== '*' && s !== '#'), { minLength: 1, maxLength: 5 })])(
    'fromBus(toBus(x)) === x for any destination without wildcards',
    (levels) => {
      const native = '/topic/' + levels.join('.');
      const canonical = stomp.toBus(native);
      if (canonical === undefined) return;
      expect(stomp.fromBus(canonical)).toBe(native);
    },
  );

  test.prop([fc.string()])('decodeTopicLevel inverts encodeTopicLevel', (level) => {
    const encoded = encodeTopicLevel(level);
    expect(encoded).not.toMatch(/[/+#\u0000]/);
    expect(decodeTopicLevel(encoded)).toBe(level);
  });
});

describe('createTopicMapper busPrefix', () => {
  const mapper = createTopicMapper({ prefix: '/topic/', separator: '.', single: '*', multi: '#', busPrefix: 'chat' });
  it('puts native destinations under the bus prefix, both ways', () => {
    expect(mapper.toBus('/topic/room.1')).toBe('chat/room/1');
    expect(mapper.toBus('/topic/room.*')).toBe('chat/room/+');
    expect(mapper.fromBus('chat/room/1')).toBe('/topic/room.1');
  });
  it('refuses a prefix with wildcards', () => {
    expect(() => createTopicMapper({ separator: '.', busPrefix: 'a/#' })).toThrow(TypeError);
  });
});
