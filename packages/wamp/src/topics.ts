/**
 * WAMP topics <-> canonical bus topics: components are levels (`a.b` <-> `a/b`), a prefix
 * subscription `a` holds `a/#` and a wildcard `a..c` holds `a/+/c` (RabbitMQ's and EMQX's
 * convention for dotted topics). Levels that contain `/`, `+`, `#` or `%` are percent-encoded,
 * so the mapping stays reversible.
 */
import { decodeTopicLevel, encodeTopicLevel, type TopicMapper } from '@protoplex/core';
import { MatchPolicy } from './constants.js';

/** Exact WAMP topic <-> canonical topic; `toBus` answers undefined for what cannot be mapped. */
export const wampTopics: TopicMapper = {
  toBus(native) {
    if (native.length === 0) return undefined;
    const parts = native.split('.');
    for (const part of parts) if (part.length === 0) return undefined;
    return parts.map(encodeTopicLevel).join('/');
  },
  fromBus(canonical) {
    return canonical
      .split('/')
      .map((level) => decodeTopicLevel(level))
      .join('.');
  },
};

/**
 * The bus filter a WAMP subscription holds, or undefined when none fits. A prefix is a string
 * prefix in WAMP; on the bus it is the nearest level filter: `a.b` holds `a/b/#` (so the WAMP
 * prefix `a.b` still sees `a.b` and `a.b.c` from other protocols, though not `a.bc`).
 */
export function busFilterOf(uri: string, match: MatchPolicy): string | undefined {
  if (match === MatchPolicy.Exact) return wampTopics.toBus(uri);
  if (match === MatchPolicy.Prefix) {
    if (uri.length === 0) return '#';
    const trimmed = uri.endsWith('.') ? uri.slice(0, -1) : uri;
    const head = wampTopics.toBus(trimmed);
    return head === undefined ? undefined : `${head}/#`;
  }
  const parts = uri.split('.');
  return parts.map((part) => (part === '' ? '+' : encodeTopicLevel(part))).join('/');
}
