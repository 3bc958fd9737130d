import { describe, expect, it } from 'vitest';
import { test, fc } from '@fast-check/vitest';
import { isValidTopicFilter, isValidTopicName, topicMatches } from '@protoplex/core';
import { commandFilter, fromBusTopic, toBusTopic, type OcppTopic } from './topics.js';

describe('OCPP topics', () => {
  it('maps a station CALL to ocpp/cp/{identity}/{Action}', () => {
    expect(toBusTopic({ direction: 'cp', identity: 'CP1', action: 'BootNotification', result: false })).toBe('ocpp/cp/CP1/BootNotification');
  });

  it('maps a command result to ocpp/cs/{identity}/{Action}/result', () => {
    expect(toBusTopic({ direction: 'cs', identity: 'CP1', action: 'Reset', result: true })).toBe('ocpp/cs/CP1/Reset/result');
  });

  it('escapes "/", "+", "#" and "%" in an identity', () => {
    expect(toBusTopic({ direction: 'cp', identity: 'a/b+#%', action: 'Heartbeat', result: false })).toBe('ocpp/cp/a%2Fb%2B%23%25/Heartbeat');
  });

  it('refuses topics that are not OCPP topics', () => {
    for (const topic of ['ocpp/cp/CP1', 'mqtt/cp/CP1/Heartbeat', 'ocpp/xx/CP1/Heartbeat', 'ocpp/cp/CP1/Heartbeat/other', 'ocpp/cp//Heartbeat']) {
      expect(fromBusTopic(topic), topic).toBeUndefined();
    }
  });

  it('subscribes commands with a filter that matches actions but not results', () => {
    const filter = commandFilter('a/b');
    expect(isValidTopicFilter(filter)).toBe(true);
    expect(topicMatches(filter, toBusTopic({ direction: 'cs', identity: 'a/b', action: 'Reset', result: false }))).toBe(true);
    expect(topicMatches(filter, toBusTopic({ direction: 'cs', identity: 'a/b', action: 'Reset', result: true }))).toBe(false);
  });

  const topic: fc.Arbitrary<OcppTopic> = fc.record({
    direction: fc.constantFrom('cp' as const, 'cs' as const),
    identity: fc.string({ minLength: 1 }),
    action: fc.string({ minLength: 1 }),
    result: fc.boolean(),
  });

  test.prop([topic])('fromBus(toBus(t)) equals t, and toBus gives a valid topic name', (t) => {
    const name = toBusTopic(t);
    expect(isValidTopicName(name)).toBe(true);
    expect(fromBusTopic(name)).toEqual(t);
  });
});
