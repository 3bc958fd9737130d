/**
 * Topics: MQTT topics are the bus's canonical topics, so the mapper is the identity. This file
 * also holds shared-subscription parsing and the broker's subscription trie.
 */
import { isValidTopicFilter, isValidTopicName, type TopicMapper } from '@protoplex/core';
import { SHARE_PREFIX } from './constants.js';

/** MQTT topic <-> canonical bus topic: the identity (DESIGN.md, "The cross-protocol bus"). */
export const mqttTopicMapper: TopicMapper = {
  toBus: (native) => native,
  fromBus: (canonical) => canonical,
};

export { isValidTopicFilter, isValidTopicName };

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

/** One subscriber entry stored in the trie. */
export interface TrieEntry<T> {
  readonly value: T;
}

class Node<T> {
  readonly children = new Map<string, Node<T>>();
  readonly exact = new Set<T>();
  readonly multi = new Set<T>();
  constructor(readonly parent: Node<T> | undefined, readonly level: string) {}
  isEmpty(): boolean {
    return this.children.size === 0 && this.exact.size === 0 && this.multi.size === 0;
  }
}

/**
 * A topic trie: `match` costs the depth of the topic plus the matches, not the number of filters.
 * Values are compared by identity; the caller keeps one value object per subscription.
 */
export class SubscriptionTrie<T> {
  private readonly root = new Node<T>(undefined, '');
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Adds `value` under `filter` (a valid filter; the caller checked). */
  add(filter: string, value: T): void {
    const levels = filter.split('/');
    const multi = levels[levels.length - 1] === '#';
    if (multi) levels.pop();
    let node = this.root;
    for (const level of levels) {
      let child = node.children.get(level);
      if (!child) {
        child = new Node(node, level);
        node.children.set(level, child);
      }
      node = child;
    }
    const set = multi ? node.multi : node.exact;
    if (!set.has(value)) {
      set.add(value);
      this.count++;
    }
  }

  /** Removes `value` from under `filter`; harmless when absent. */
  remove(filter: string, value: T): void {
    const levels = filter.split('/');
    const multi = levels[levels.length - 1] === '#';
    if (multi) levels.pop();
    let node: Node<T> | undefined = this.root;
    for (const level of levels) {
      node = node.children.get(level);
      if (!node) return;
    }
    if ((multi ? node.multi : node.exact).delete(value)) this.count--;
    while (node.parent && node.isEmpty()) {
      node.parent.children.delete(node.level);
      node = node.parent;
    }
  }

  /**
   * Calls `visit` for every value whose filter matches `topic`.
   * [MQTT-4.7.2-1] "The Server MUST NOT match Topic Filters starting with a wildcard character
   * (# or +) with Topic Names beginning with a $ character."
   */
  match(topic: string, visit: (value: T) => void): void {
    this.walk(this.root, topic.split('/'), 0, topic.charCodeAt(0) === 0x24, visit);
  }

  private walk(node: Node<T>, levels: string[], depth: number, dollar: boolean, visit: (value: T) => void): void {
    const wildcards = !(dollar && depth === 0);
    // "sport/#" also matches "sport": # includes the parent level (MQTT 5.0 §4.7.1.2).
    if (wildcards && node.multi.size > 0) for (const value of node.multi) visit(value);
    if (depth === levels.length) {
      for (const value of node.exact) visit(value);
      return;
    }
    const exact = node.children.get(levels[depth]!);
    if (exact) this.walk(exact, levels, depth + 1, dollar, visit);
    if (wildcards) {
      const single = node.children.get('+');
      if (single) this.walk(single, levels, depth + 1, dollar, visit);
    }
  }
}
