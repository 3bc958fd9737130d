/**
 * The embedded bus: a topic trie, so a publish costs the depth of the topic and the matches
 * found, not the number of subscriptions.
 */
import { isValidTopicFilter, isValidTopicName } from './topics.js';
import { TopicTrie } from './trie.js';
import type { Bus, BusHandler, BusMessage, BusSubscription } from './types.js';

interface Entry {
  readonly handler: BusHandler;
  /** What `hasSubscribers(topic, except)` compares `except` with, besides the subscription. */
  readonly owner: object | undefined;
  subscription: BusSubscription | undefined;
  active: boolean;
}

export interface MemoryBus extends Bus {
  publish(message: BusMessage): void;
  hasSubscribers(topic: string, except?: BusSubscription | object): boolean;
  /** Number of live subscriptions, for metrics and tests. */
  readonly size: number;
}

/**
 * Creates the in-memory bus. Delivery is synchronous and in subscription order per level; a
 * handler that throws does not stop delivery to the others (the error goes to `onHandlerError`).
 */
export function createMemoryBus(options: { onHandlerError?: (error: unknown, message: BusMessage) => void } = {}): MemoryBus {
  const trie = new TopicTrie<Entry>();
  /** Bumped by every subscribe and unsubscribe; invalidates the match cache. */
  let version = 0;
  let cachedTopic: string | undefined;
  let cachedVersion = -1;
  let cachedTargets: readonly Entry[] = [];
  let wantedTopic: string | undefined;
  let wantedExcept: object | undefined;
  let wantedVersion = -1;
  let wantedAnswer = false;
  // A subscriber's bug must not take the process down with it ("the process never crashes"),
  // nor stop delivery to the others: report it and go on.
  const onHandlerError =
    options.onHandlerError ??
    ((error: unknown, message: BusMessage) => {
      console.error(`protoplex bus: a subscriber of ${message.topic} threw`, error);
    });

  return {
    get size() {
      return trie.size;
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
        trie.match(topic, (entry) => collected.push(entry));
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
      // Publishers ask before every publish, mostly about the same topic: the last answer holds
      // until a subscribe or unsubscribe changes the trie.
      if (topic === wantedTopic && except === wantedExcept && wantedVersion === version) return wantedAnswer;
      const answer = except === undefined ? trie.some(topic) : trie.some(topic, (entry) => entry.subscription !== except && entry.owner !== except);
      wantedTopic = topic;
      wantedExcept = except;
      wantedVersion = version;
      wantedAnswer = answer;
      return answer;
    },
    subscribe(filter, handler, options) {
      if (!isValidTopicFilter(filter)) throw new TypeError(`invalid topic filter ${JSON.stringify(filter)}`);
      const entry: Entry = { handler, owner: options?.owner, subscription: undefined, active: true };
      const subscription: BusSubscription = {
        filter,
        unsubscribe() {
          if (!entry.active) return;
          entry.active = false;
          version++;
          trie.remove(filter, entry);
        },
      };
      entry.subscription = subscription;
      version++;
      trie.add(filter, entry);
      return subscription;
    },
  };
}
