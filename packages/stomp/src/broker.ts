/**
 * What one `stomp()` adapter shares between its sessions, and the routes between them: named
 * queues and reply queues, the index of topic subscriptions with its bridge to the bus, and the
 * sweep that runs every session's heart-beats.
 *
 * Topics follow core's bus rule: the adapter holds on the bus the filters its clients hold, one
 * bus subscription per distinct filter, counted, never `#`. A STOMP SEND reaches STOMP
 * subscribers through the index, and becomes a bus message only when somebody outside STOMP
 * wants it.
 */
import {
  createBusBridge,
  createDeadlineSweep,
  TopicTrie,
  type AdapterContext,
  type BusBridge,
  type BusMessage,
  type DeadlineSweep,
  type MessageOrigin,
  type Watched,
} from '@protoplex/core';
import type { ParseLimits } from './codec.js';
import { QueueRegistry, type ReplyTarget } from './queues.js';
import type { StompCredentials, StompSession } from './session.js';
import { fromBusTopic } from './topics.js';
import type { MessageContent } from './wire.js';

/** The resolved options sessions run with (see `StompOptions` for the documentation). */
export interface BrokerOptions {
  readonly heartBeat: { readonly outgoing: number; readonly incoming: number };
  readonly heartBeatTolerance: number;
  readonly binaryFrames: boolean;
  readonly virtualHosts: readonly string[] | undefined;
  readonly authenticate: ((credentials: StompCredentials) => boolean | Promise<boolean>) | undefined;
  readonly limits: ParseLimits;
  readonly maxQueueLength: number;
  readonly maxUnackedTopicMessages: number;
  readonly maxTopicBacklog: number;
  readonly requireHost: boolean;
  readonly serverName: string;
}

/** One topic subscription of one session, as the index holds it. */
export interface TopicEntry {
  /** The bus filter, e.g. `a/+/c` for `/topic/a.*.c`. */
  readonly filter: string;
  readonly deliver: (message: MessageContent) => void;
}

/** Longest time between two heart-beat checks, however long the configured periods are. */
const MAX_TICK = 1000;

export class Broker {
  readonly queues: QueueRegistry;
  /** `/reply-queue/` names to the session that owns the temporary queue. */
  readonly replies = new Map<string, ReplyTarget>();
  readonly sessions = new Set<StompSession>();
  /**
   * Milliseconds between heart-beat checks (0: heart-beats are off). Half the smallest configured
   * period, so it is at most half of any negotiated one: STOMP 1.2 "Heart-beating" periods are
   * MAX(sx, cy) and MAX(cx, sy), never below sx or sy. Capped so a long period still sees a dead
   * peer within a second of its deadline.
   */
  readonly tick: number;
  /** Every topic subscription of every session. */
  private readonly topics = new TopicTrie<TopicEntry>();
  private bridge: BusBridge | undefined;
  private sweep: DeadlineSweep | undefined;

  constructor(readonly options: BrokerOptions) {
    this.queues = new QueueRegistry(options.maxQueueLength);
    const periods = [options.heartBeat.outgoing, options.heartBeat.incoming].filter((ms) => ms > 0);
    this.tick = periods.length === 0 ? 0 : Math.min(MAX_TICK, Math.max(1, Math.floor(Math.min(...periods) / 2)));
  }

  /** Joins the bus and the clock of the server-wide context (the adapter's `setup`). */
  setup(context: AdapterContext): void {
    if (this.bridge) return;
    this.bridge = createBusBridge(context.bus, { onMessage: (message) => this.fromBus(message), log: context.log });
    if (this.tick > 0) {
      this.sweep = createDeadlineSweep(context.clock, this.tick, (error) => context.log.error({ err: error }, 'stomp heart-beat check failed'));
    }
    context.signal.addEventListener('abort', () => this.sweep?.stop(), { once: true });
  }

  /** Adds a topic subscription to the index and holds its filter on the bus. */
  subscribe(filter: string, deliver: (message: MessageContent) => void): TopicEntry {
    const entry: TopicEntry = { filter, deliver };
    // Hold first: an invalid filter throws there and leaves nothing behind.
    this.joined().hold(filter);
    this.topics.add(filter, entry);
    return entry;
  }

  /** Removes a topic subscription; the last one of a filter releases it on the bus. */
  unsubscribe(entry: TopicEntry): void {
    if (this.topics.remove(entry.filter, entry)) this.bridge?.release(entry.filter);
  }

  /**
   * A STOMP SEND to a topic: delivered to every matching STOMP subscription once, and published
   * on the bus only when somebody outside STOMP wants it (otherwise no bus message is built).
   */
  publish(topic: string, message: MessageContent, origin: MessageOrigin): void {
    this.deliver(topic, message);
    const bridge = this.joined();
    if (!bridge.wanted(topic)) return;
    const busMessage: BusMessage = { topic, payload: message.payload, contentType: message.contentType, headers: message.headers, origin, qos: 0 };
    void bridge.publish(busMessage);
  }

  /** Starts running `session`'s heart-beat deadlines. */
  watch(session: Watched): void {
    if (!this.sweep) throw notSetUp();
    this.sweep.watch(session);
  }

  unwatch(session: Watched): void {
    this.sweep?.unwatch(session);
  }

  /** A message another protocol published: the bridge hands over each one once. */
  private fromBus(message: BusMessage): void {
    this.deliver(message.topic, { destination: fromBusTopic(message.topic), payload: message.payload, contentType: message.contentType, headers: message.headers });
  }

  private deliver(topic: string, message: MessageContent): void {
    if (this.topics.size === 0) return;
    // Collected first: a delivery may end its own session (a bug, answered with 1011), which
    // removes that session's entries, and the trie must not change while it is walked.
    const targets: TopicEntry[] = [];
    this.topics.match(topic, (entry) => targets.push(entry));
    for (const entry of targets) entry.deliver(message);
  }

  private joined(): BusBridge {
    if (!this.bridge) throw notSetUp();
    return this.bridge;
  }
}

/** Misuse, not bad input: the session that meets it closes with 1011 and the log says why. */
function notSetUp(): Error {
  return new Error('the stomp adapter was used before its setup(context) ran (@protoplex/server and the test harness run it)');
}
