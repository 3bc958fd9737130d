/**
 * Topics: MQTT topics are the bus's canonical topics, so the mapper is the identity. This file
 * also holds shared-subscription parsing. Matching, and the broker's trie, are core's
 * (`TopicTrie`, `topicMatches`, `isValidTopicName`, `isValidTopicFilter`).
 */
import { isValidTopicFilter, type TopicMapper } from '@protoplex/core';
import { SHARE_PREFIX } from './constants.js';

/** MQTT topic <-> canonical bus topic: the identity, since the bus speaks MQTT topic syntax. */
export const mqttTopics: TopicMapper = {
  toBus: (native) => native,
  fromBus: (canonical) => canonical,
};

/** A `$share/{group}/{filter}` subscription split into its parts. */
export interface SharedFilter {
  readonly group: string;
  readonly filter: string;
}

/**
 * Splits a shared subscription. Returns undefined for an ordinary filter and `null` for a
 * `$share/` filter that breaks the rules.
 * [MQTT-4.8.2-1] "A Shared Subscription's Topic Filter MUST start with $share/ and MUST contain a
 * ShareName that is at least one character long."
 * [MQTT-4.8.2-2] "The ShareName MUST NOT contain the characters "/", "+" or "#", but MUST be
 * followed by a "/" character, which in turn MUST be followed by a Topic Filter."
 */
export function parseSharedFilter(filter: string): SharedFilter | undefined | null {
  if (!filter.startsWith(SHARE_PREFIX)) return undefined;
  const slash = filter.indexOf('/', SHARE_PREFIX.length);
  if (slash === -1) return null;
  const group = filter.slice(SHARE_PREFIX.length, slash);
  const rest = filter.slice(slash + 1);
  if (group.length === 0 || group.includes('+') || group.includes('#')) return null;
  if (!isValidTopicFilter(rest)) return null;
  return { group, filter: rest };
}
