import { describe, expect, it } from 'vitest';
import { test, fc } from '@fast-check/vitest';
import { fromBusTopic, parseDestination, toBusFilter, toBusTopic, stompTopics } from './topics.js';

describe('destinations', () => {
  it.each([
    ['/topic/a.b', { kind: 'topic', destination: '/topic/a.b' }],
    ['/queue/jobs', { kind: 'queue', destination: '/queue/jobs', name: 'jobs' }],
    ['/temp-queue/r', { kind: 'temp-queue', destination: '/temp-queue/r', name: 'r' }],
    ['/reply-queue/x', { kind: 'reply-queue', destination: '/reply-queue/x', name: 'x' }],
    ['/topic/', undefined],
    ['/queue/', undefined],
    ['/exchange/amq.topic/a', undefined],
    ['jobs', undefined],
  ])('classifies %s', (destination, expected) => {
    expect(parseDestination(destination)).toEqual(expected);
  });

  it('maps topics RabbitMQ-style onto the canonical bus syntax', () => {
    expect(toBusTopic('/topic/a.b.c')).toBe('a/b/c');
    expect(toBusFilter('/topic/a.*.c')).toBe('a/+/c');
    expect(toBusFilter('/topic/a.#')).toBe('a/#');
    expect(toBusFilter('/topic/#')).toBe('#');
    expect(toBusTopic('/topic/a.*')).toBeUndefined();
    expect(toBusFilter('/topic/#.a')).toBeUndefined();
    expect(toBusTopic('/topic/with/slash')).toBe('with%2Fslash');
    expect(fromBusTopic('sensors/kitchen/temp')).toBe('/topic/sensors.kitchen.temp');
    expect(fromBusTopic('a/+/#')).toBe('/topic/a.*.#');
  });
});

const level = fc.oneof(
  fc.string({ unit: fc.constantFrom('a', 'b', '/', '+', '%', ' ', 'é', '2', 'F'), minLength: 1, maxLength: 6 }),
  fc.constant('*'),
);
const destination = fc
  .tuple(fc.array(level, { minLength: 1, maxLength: 5 }), fc.boolean())
  .map(([levels, multi]) => '/topic/' + [...levels, ...(multi ? ['#'] : [])].join('.'));

describe('topic mapper properties', () => {
  test.prop([destination])('fromBus(toBus(d)) gives back every destination toBus accepts', (d) => {
    const canonical = stompTopics.toBus(d);
    expect(canonical).toBeDefined();
    expect(fromBusTopic(canonical!)).toBe(d);
  });
});
