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
      if (!isValidTopicName(message.topic)) throw new TypeError(`invalid topic name ${JSON.stringify(message.topic)}`);
      const levels = message.topic.split('/');
      // [MQTT-4.7.2-1] filters starting with a wildcard never match topics starting with '$'.
      const dollar = message.topic.charCodeAt(0) === 0x24;
      // Collect matches first so a handler that subscribes or unsubscribes does not change which
      // subscribers this message reaches; one that unsubscribes a later target still stops it.
      const targets: Entry[] = [];
      const walk = (node: TrieNode, depth: number): void => {
        const wildcardAllowed = !(dollar && depth === 0);
        if (wildcardAllowed) for (const entry of node.multi) targets.push(entry);
        if (depth === levels.length) {
          for (const entry of node.exact) targets.push(entry);
          return;
        }
        const exact = node.children.get(levels[depth]!);
        if (exact) walk(exact, depth + 1);
        if (wildcardAllowed) {
          const single = node.children.get('+');
          if (single) walk(single, depth + 1);
        }
      };
      walk(root, 0);
      for (const entry of targets) {
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
          (isMulti ? node.multi : node.exact).delete(entry);
          size--;
          prune(node);
        },
      };
      entry.subscription = subscription;
      (isMulti ? node.multi : node.exact).add(entry);
      size++;
      return subscription;
    },
  };
}
