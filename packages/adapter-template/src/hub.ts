/**
 * The adapter-wide half of the `lines` protocol, made once in `setup` on the server-wide context:
 * the clients' subscriptions in one `TopicTrie`, one bus bridge that holds on the bus exactly the
 * filters those clients hold (counted, never `#`), and one deadline sweep for every idle timeout.
 * Sessions come and go; this outlives them.
 */
import {
  TopicTrie,
  createBusBridge,
  createDeadlineSweep,
  type AdapterContext,
  type BusBridge,
  type BusMessage,
  type DeadlineSweep,
  type TopicMapper,
  type Watched,
} from '@protoplex/core';
import { formatReply } from './codec.js';
import { MetricName, SWEEP_INTERVAL_MAX_MS } from './constants.js';

/** What the hub needs from a session. */
export interface Subscriber extends Watched {
  /** The publishing connection's id, for the bus message's origin. */
  readonly id: string;
  /** Hands one `MSG` line to the connection (or to its backlog when it is slow). */
  deliver(line: string): void;
}

/** One client filter: the trie's value, so one session holding two filters is two entries. */
export interface Subscription {
  readonly subscriber: Subscriber;
  /** The filter on the bus (`lines/room/+`). */
  readonly filter: string;
}

export interface LinesStats {
  /** Open sessions. */
  readonly sessions: number;
  /** Client subscriptions, summed over sessions. */
  readonly subscriptions: number;
  /** Distinct filters held on the bus: one per distinct client filter, never more. */
  readonly busFilters: number;
}

export interface HubOptions {
  /** The adapter's name: the `origin.protocol` of what it publishes. */
  readonly name: string;
  readonly topics: TopicMapper;
  /** 0: no idle timeout, no sweep. */
  readonly idleTimeoutMs: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class LinesHub {
  readonly topics: TopicMapper;
  private readonly name: string;
  private readonly trie = new TopicTrie<Subscription>();
  private readonly bridge: BusBridge;
  private readonly sweep: DeadlineSweep | undefined;
  private sessions = 0;

  constructor(private readonly context: AdapterContext, options: HubOptions) {
    this.name = options.name;
    this.topics = options.topics;
    this.bridge = createBusBridge(context.bus, { onMessage: (message) => this.fromBus(message), log: context.log });
    // One interval for every connection instead of a timer per connection: nothing is re-armed
    // per command, and the interval runs only while a session is open.
    this.sweep =
      options.idleTimeoutMs > 0
        ? createDeadlineSweep(context.clock, Math.min(SWEEP_INTERVAL_MAX_MS, options.idleTimeoutMs / 2), (error) =>
            context.log.error({ err: error }, 'idle check failed'),
          )
        : undefined;
  }

  opened(subscriber: Subscriber): void {
    this.sessions++;
    this.sweep?.watch(subscriber);
  }

  closed(subscriber: Subscriber): void {
    this.sessions--;
    this.sweep?.unwatch(subscriber);
  }

  /** Adds a client filter (a valid bus filter). The bus sees it only if no other client holds it. */
  subscribe(subscriber: Subscriber, filter: string): Subscription {
    const subscription: Subscription = { subscriber, filter };
    // Hold first: a bus driver that fails here leaves nothing half-registered.
    this.bridge.hold(filter);
    this.trie.add(filter, subscription);
    return subscription;
  }

  unsubscribe(subscription: Subscription): void {
    if (this.trie.remove(subscription.filter, subscription)) this.bridge.release(subscription.filter);
  }

  /**
   * A client's `PUB`: delivered to this adapter's subscribers here, and put on the bus only when
   * somebody outside this adapter wants it, so a message nobody wants is never built.
   */
  publish(publisher: Subscriber, topic: string, nativeTopic: string, payload: string): void {
    this.context.metrics.increment(MetricName.MessagesPublished);
    this.deliver(topic, nativeTopic, payload);
    if (!this.bridge.wanted(topic)) return;
    // The bridge never throws, and on a networked bus its promise never rejects: a failed
    // publish is logged and the publisher carries on (the protocol promises at most once, [LINES-6]).
    void this.bridge.publish({
      topic,
      payload: encoder.encode(payload),
      contentType: 'text/plain; charset=utf-8',
      origin: { protocol: this.name, connectionId: publisher.id },
      qos: 0,
    });
  }

  stats(): LinesStats {
    return { sessions: this.sessions, subscriptions: this.trie.size, busFilters: this.bridge.filters.size };
  }

  /** Another adapter's message, on a filter some client of ours holds. */
  private fromBus(message: BusMessage): void {
    const nativeTopic = this.topics.fromBus(message.topic);
    // [LINES-3] a topic is one word; a bus topic whose level holds a space cannot be written in a
    // MSG line without changing its meaning, so it is not delivered.
    if (nativeTopic.includes(' ')) {
      this.context.log.debug({ topic: message.topic }, 'bus topic has a level with a space; skipped');
      return;
    }
    this.deliver(message.topic, nativeTopic, message.payload);
  }

  /**
   * One `MSG` line per subscribed session, however many of its filters match, encoded once and
   * only when somebody is there to receive it.
   */
  private deliver(topic: string, nativeTopic: string, payload: string | Uint8Array): void {
    if (this.trie.size === 0) return;
    const targets = new Set<Subscriber>();
    this.trie.match(topic, (subscription) => targets.add(subscription.subscriber));
    if (targets.size === 0) return;
    // [LINES-7] payloads are text: bytes that are not UTF-8 arrive with U+FFFD in their place.
    const text = typeof payload === 'string' ? payload : decoder.decode(payload);
    const line = formatReply({ type: 'MSG', topic: nativeTopic, payload: text });
    for (const target of targets) target.deliver(line);
  }
}
