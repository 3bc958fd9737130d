/**
 * The embedded bus: a topic trie, so a publish costs the depth of the topic and the matches
 * found, not the number of subscriptions.
 */
import { isValidTopicFilter, isValidTopicName } from './topics.js';
import type { Bus, BusHandler, BusMessage, BusSubscription } from './types.js';

interface Entry {
  readonly handler: BusHandler;
  subscription: BusSubscription | undefined;
  active: boolean;
}

class TrieNode {
  readonly children = new Map<string, TrieNode>();
  /** Subscriptions whose filter ends exactly here. */
  readonly exact = new Set<Entry>();
  /** Subscriptions whose filter ends with `#` right below this node. */
  readonly multi = new Set<Entry>();

  constructor(readonly parent: TrieNode | undefined, readonly level: string) {}

  isEmpty(): boolean {
    return this.children.size === 0 && this.exact.size === 0 && this.multi.size === 0;
  }
}

/**
 * Appends every entry whose filter matches `levels` to `out`.
 * [MQTT-4.7.2-1] filters starting with a wildcard never match topics starting with '$'.
 */
function collect(node: TrieNode, levels: readonly string[], depth: number, dollar: boolean, out: Entry[]): void {
  const wildcardAllowed = !(dollar && depth === 0);
  if (wildcardAllowed) for (const entry of node.multi) out.push(entry);
  if (depth === levels.length) {
    for (const entry of node.exact) out.push(entry);
    return;
  }
  const exact = node.children.get(levels[depth]!);
  if (exact) collect(exact, levels, depth + 1, dollar, out);
  if (wildcardAllowed) {
    const single = node.children.get('+');
    if (single) collect(single, levels, depth + 1, dollar, out);
  }
}

export interface MemoryBus extends Bus {
  publish(message: BusMessage): void;
  hasSubscribers(topic: string, except?: BusSubscription): boolean;
  /** Number of live subscriptions, for metrics and tests. */
  readonly size: number;
}

/**
 * Creates the in-memory bus. Delivery is synchronous and in subscription order per level; a
 * handler that throws does not stop delivery to the others (the error goes to `onHandlerError`).
 */
export function createMemoryBus(options: { onHandlerError?: (error: unknown, message: BusMessage) => void } = {}): MemoryBus {
  const root = new TrieNode(undefined, '');
  let size = 0;
  /** Bumped by every subscribe and unsubscribe; invalidates the match cache. */
  let version = 0;
  let cachedTopic: string | undefined;
  let cachedVersion = -1;
  let cachedTargets: readonly Entry[] = [];
  // A subscriber's bug must not take the process down with it ("the process never crashes"),
  // nor stop delivery to the others: report it and go on.
  const onHandlerError =
    options.onHandlerError ??
    ((error: unknown, message: BusMessage) => {
      console.error(`protoplex bus: a subscriber of ${message.topic} threw`, error);
    });

  const prune = (node: TrieNode): void => {
    let current: TrieNode | undefined = node;
    while (current?.parent && current.isEmpty()) {
      current.parent.children.delete(current.level);
      current = current.parent;
    }
  };

  return {
    get size() {
      return size;
    },
    publish(message) {
      const topic = message.topic;
      // Publishers repeat topics (telemetry, fan-out): the last topic's matches are reused until
      // a subscribe or unsubscribe changes the trie. The cached array is never mutated, so a
      // handler that publishes elsewhere (replacing the cache) cannot disturb this delivery.
      let targets: readonly Entry[];
      if (topic === cachedTopic && cachedVersion === version) targets = cachedTargets;
      else {
        if (!isValidTopicName(topic)) throw new TypeError(`invalid topic name ${JSON.stringify(topic)}`);
        const collected: Entry[] = [];
        collect(root, topic.split('/'), 0, topic.charCodeAt(0) === 0x24, collected);
        targets = collected;
        cachedTopic = topic;
        cachedVersion = version;
        cachedTargets = collected;
      }
      // Matches are fixed before delivery, so a handler that subscribes does not change who gets
      // this message; one that unsubscribes a later target still stops it (`active`).
      for (let i = 0; i < targets.length; i++) {
        const entry = targets[i]!;
        if (!entry.active) continue;
        try {
          entry.handler(message);
        } catch (error) {
          onHandlerError(error, message);
        }
      }
    },
    hasSubscribers(topic, except) {
      if (size === 0) return false;
      const levels = topic.split('/');
      const dollar = topic.charCodeAt(0) === 0x24;
      const other = (entries: Set<Entry>): boolean => {
        for (const entry of entries) if (entry.subscription !== except) return true;
        return false;
      };
      // Same walk as publish, stopping at the first subscription that would receive the message.
      const walk = (node: TrieNode, depth: number): boolean => {
        const wildcardAllowed = !(dollar && depth === 0);
        if (wildcardAllowed && node.multi.size > 0 && other(node.multi)) return true;
        if (depth === levels.length) return node.exact.size > 0 && other(node.exact);
        const exact = node.children.get(levels[depth]!);
        if (exact && walk(exact, depth + 1)) return true;
        if (!wildcardAllowed) return false;
        const single = node.children.get('+');
        return single !== undefined && walk(single, depth + 1);
      };
      return walk(root, 0);
    },
    subscribe(filter, handler) {
      if (!isValidTopicFilter(filter)) throw new TypeError(`invalid topic filter ${JSON.stringify(filter)}`);
      const levels = filter.split('/');
      const isMulti = levels[levels.length - 1] === '#';
      if (isMulti) levels.pop();
      let node = root;
      for (const level of levels) {
        let child = node.children.get(level);
        if (!child) {
          child = new TrieNode(node, level);
          node.children.set(level, child);
        }
        node = child;
      }
      const entry: Entry = { handler, subscription: undefined, active: true };
      const subscription: BusSubscription = {
        filter,
        unsubscribe() {
          if (!entry.active) return;
          entry.active = false;
          version++;
          (isMulti ? node.multi : node.exact).delete(entry);
          size--;
          prune(node);
        },
      };
      entry.subscription = subscription;
      version++;
      (isMulti ? node.multi : node.exact).add(entry);
      size++;
      return subscription;
    },
  };
}
