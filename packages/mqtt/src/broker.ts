/**
 * Broker-wide state: sessions (online and offline), the subscription trie, retained messages,
 * wills, `$SYS` and the bridge to the cross-protocol bus. Connections (session.ts) attach to a
 * session through the {@link Link} interface; everything here outlives a connection, so its
 * timers run on the server-wide clock given to `setup`.
 *
 * Routing design: MQTT subscribers are matched in the broker's own trie, never through the bus.
 * Every accepted PUBLISH is routed to MQTT subscribers here, then published once on the bus for
 * other protocols; the broker's single bus subscription (`#`, made in `setup`) skips the message
 * objects it published itself and routes everything else (STOMP, WAMP, OCPP...) into the trie.
 * So each MQTT delivery happens exactly once, and offline persistent sessions, which have no
 * connection and so no connection-scoped bus subscription, keep receiving.
 */
import { silentLogger, systemClock, type AdapterContext, type Bus, type BusMessage, type BusSubscription, type Clock, type Logger, type QoS, type Timer } from '@protoplex/core';
import { MAX_PACKET_ID, SESSION_NEVER_EXPIRES } from './constants.js';
import { hookMessage } from './_helpers.js';
import type { UserProperties } from './codec.js';
import type { StoredDelivery, StoredMessage, StoredMessageProperties, StoredSession, StoredSubscription } from './persistence.js';
import { parseSharedFilter, SubscriptionTrie, type SharedFilter } from './topics.js';
import type { MqttClient, MqttMessage, MqttStats, ResolvedOptions } from './types.js';

/** An application message inside the broker. Immutable once created; shared by every delivery. */
export interface AppMessage {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: QoS;
  readonly retain: boolean;
  /** Epoch ms when accepted. */
  readonly receivedAt: number;
  /** Epoch ms after which it is not delivered (MQTT 5 Message Expiry Interval). */
  readonly expiresAt?: number;
  readonly properties?: StoredMessageProperties;
  /** Client id of the MQTT publisher, for No Local. */
  readonly publisherId?: string;
}

/** One message on its way to one session. */
export interface Delivery {
  readonly message: AppMessage;
  readonly qos: QoS;
  readonly retain: boolean;
  readonly subscriptionIds?: number[];
  packetId?: number;
  /** QoS 2 after PUBREC: PUBREL sent, waiting for PUBCOMP. */
  released?: boolean;
}

export interface SubscriptionRecord extends StoredSubscription {
  readonly kind: 'subscription';
  readonly session: SessionState;
  /** The filter matched in the trie (without the `$share/{group}/` prefix). */
  readonly matchFilter: string;
  readonly share?: SharedFilter;
}

interface SharedGroup {
  readonly kind: 'group';
  readonly key: string;
  readonly matchFilter: string;
  readonly members: SubscriptionRecord[];
  next: number;
}

type TrieValue = SubscriptionRecord | SharedGroup;

/** Per-publish scratch that lets identical QoS 0 packets be encoded once for every subscriber. */
export interface RouteScratch {
  shared4?: Buffer;
  shared5?: Buffer;
}

/** The live connection of a session, implemented by session.ts. */
export interface Link {
  readonly client: MqttClient;
  readonly connectedAt: number;
  /** CONNACK sent: deliveries may flow. */
  readonly ready: boolean;
  /** The transport reported backpressure and has not drained. */
  readonly congested: boolean;
  /** Most QoS 1/2 messages in flight to this client (its Receive Maximum, capped). */
  readonly sendQuota: number;
  sendQos0(message: AppMessage, retain: boolean, subscriptionIds: number[] | undefined, scratch: RouteScratch | undefined): void;
  /** Sends a QoS 1/2 PUBLISH with `delivery.packetId`. @returns false when it was discarded (too large for the client). */
  sendDelivery(delivery: Delivery, dup: boolean): boolean;
  sendPubrel(packetId: number): void;
  /** Session takeover: another connection claimed the client id. */
  takeOver(): void;
  /** The server shuts down: tell the client (5.0 DISCONNECT 0x8B) and close with 1001. */
  shutDown(): void;
}

/** A connection with a deadline the broker's sweep checks (session.ts). */
export interface Watched {
  checkDeadlines(now: number): void;
}

/** Milliseconds between deadline sweeps (CONNECT timeout, keep-alive). */
const SWEEP_MS = 1000;

/** A will kept for a connection (MQTT 5 §3.1.2.5). */
export interface Will {
  readonly message: AppMessage;
  /** Seconds (MQTT 5 Will Delay Interval). */
  readonly delay: number;
  /** Seconds (the will's MQTT 5 Message Expiry Interval), counted from when the will is published. */
  readonly expiry?: number;
}

/** Session state (MQTT 5 §4.1): lives on while the client is away if its expiry says so. */
export class SessionState {
  readonly subscriptions = new Map<string, SubscriptionRecord>();
  readonly queue = new DeliveryQueue();
  // The in-flight map and the unreleased QoS 2 ids are made on first use: most idle sessions
  // never need them, and an empty Map or Set costs a hash table each.
  private inflightMap: Map<number, Delivery> | undefined;
  private incomingSet: Set<number> | undefined;
  nextPacketId = 1;
  link: Link | undefined;
  expiryInterval = 0;
  disconnectedAt: number | undefined;
  expiryTimer: Timer | undefined;
  pendingWill: { readonly will: Will; readonly client: MqttClient; readonly timer: Timer } | undefined;
  /** Routing marks: which publish last reached this session, and what it merged. */
  routeMark = 0;
  routeQos: QoS = 0;
  routeRetain = false;
  routeIds: number[] | undefined;

  constructor(readonly clientId: string, public version: 4 | 5) {}

  /** QoS 1/2 deliveries in flight to the client, by packet id (read only: see `addInflight`). */
  get inflight(): ReadonlyMap<number, Delivery> {
    return this.inflightMap ?? EMPTY_INFLIGHT;
  }

  addInflight(packetId: number, delivery: Delivery): void {
    (this.inflightMap ??= new Map()).set(packetId, delivery);
  }

  /** @returns whether it was in flight */
  removeInflight(packetId: number): boolean {
    return this.inflightMap?.delete(packetId) ?? false;
  }

  /** QoS 2 packet ids received from the client and not yet released by PUBREL (read only). */
  get incomingQos2(): ReadonlySet<number> {
    return this.incomingSet ?? EMPTY_IDS;
  }

  addIncomingQos2(packetId: number): void {
    (this.incomingSet ??= new Set()).add(packetId);
  }

  /** @returns whether the id was unreleased */
  releaseIncomingQos2(packetId: number): boolean {
    return this.incomingSet?.delete(packetId) ?? false;
  }

  clearDeliveries(): void {
    this.queue.clear();
    this.inflightMap = undefined;
  }
}

const EMPTY_INFLIGHT: ReadonlyMap<number, Delivery> = new Map();
const EMPTY_IDS: ReadonlySet<number> = new Set();

const MAX_TIMER_MS = 2 ** 31 - 1;

/** Marks bus messages this broker published, so its own bus subscription skips them. */
const OWN = Symbol('protoplex.mqtt.own');

/** A FIFO with O(1) shift: an array and a head index, compacted when half of it is spent. */
export class DeliveryQueue {
  private items: Delivery[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(delivery: Delivery): void {
    this.items.push(delivery);
  }

  shift(): Delivery | undefined {
    if (this.head >= this.items.length) return undefined;
    const delivery = this.items[this.head]!;
    this.items[this.head++] = undefined as unknown as Delivery;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return delivery;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }

  toArray(): Delivery[] {
    return this.items.slice(this.head);
  }
}

export class Broker {
  readonly sessions = new Map<string, SessionState>();
  readonly retained = new Map<string, AppMessage>();
  private readonly trie = new SubscriptionTrie<TrieValue>();
  private readonly groups = new Map<string, SharedGroup>();
  clock: Clock = systemClock;
  log: Logger = silentLogger;
  private bus: Bus | undefined;
  private busSubscription: BusSubscription | undefined;
  private sysTimer: Timer | undefined;
  private readonly watched = new Set<Watched>();
  private sweepTimer: Timer | undefined;
  private routeSeq = 0;
  private routeTargets: SessionState[] = [];
  private routeShared: SubscriptionRecord[] | undefined;
  private routePublisher: string | undefined;
  private startedAt = Date.now();
  /** Persistent sessions changed since the last flush (written once per tick, not per packet). */
  private readonly dirty = new Set<SessionState>();
  private flushTimer: Timer | undefined;
  /** The last store operation of each client id: operations of one session run in order. */
  private readonly storeTail = new Map<string, Promise<void>>();
  messagesIn = 0;
  messagesOut = 0;
  connected = 0;

  constructor(readonly options: ResolvedOptions) {}

  /** Server-wide start: clock, log, retained messages from persistence, the bus bridge, `$SYS`. */
  async setup(context: AdapterContext): Promise<void> {
    this.clock = context.clock;
    this.log = context.log;
    this.startedAt = context.clock.now();
    for (const stored of await this.options.persistence.listRetained()) {
      this.retained.set(stored.topic, fromStoredMessage(stored));
    }
    this.bus = context.bus;
    this.busSubscription = context.bus.subscribe('#', this.onBusMessage);
    if (this.options.sysInterval > 0) {
      this.sysTimer = context.clock.setInterval(() => this.publishSys(), this.options.sysInterval * 1000);
    }
    context.signal.addEventListener(
      'abort',
      () => {
        this.sysTimer?.cancel();
        this.sweepTimer?.cancel();
        this.sweepTimer = undefined;
      },
      { once: true },
    );
  }

  /** Disconnects every client (5.0: DISCONNECT 0x8B), then saves every session that outlives its connection. */
  async shutdown(): Promise<void> {
    this.sysTimer?.cancel();
    for (const state of [...this.sessions.values()]) state.link?.shutDown();
    this.flushTimer?.cancel();
    this.flushTimer = undefined;
    this.dirty.clear();
    for (const state of this.sessions.values()) {
      if (state.expiryInterval > 0) this.writeSession(state);
    }
    await Promise.all([...this.storeTail.values()]);
  }

  // ---------------------------------------------------------------- deadlines

  /**
   * Connections with a deadline (CONNECT not yet received, or a keep-alive) are checked by one
   * sweep a second on the server clock instead of a timer each; the sweep stops when none is left.
   */
  watch(session: Watched): void {
    this.watched.add(session);
    this.sweepTimer ??= this.clock.setInterval(this.sweep, SWEEP_MS);
  }

  unwatch(session: Watched): void {
    if (!this.watched.delete(session) || this.watched.size > 0 || !this.sweepTimer) return;
    this.sweepTimer.cancel();
    this.sweepTimer = undefined;
  }

  private readonly sweep = (): void => {
    const now = this.clock.now();
    for (const session of this.watched) session.checkDeadlines(now);
  };

  // ---------------------------------------------------------------- sessions

  /**
   * Finds or creates the session of a CONNECT, taking over any live connection of the same id.
   * [MQTT-3.1.4-3] "If the ClientID represents a Client already connected to the Server, the
   * Server sends a DISCONNECT packet to the existing Client with Reason Code of 0x8E (Session taken
   * over) ... and MUST close the Network Connection of the existing Client."
   * @returns the session and whether it was present (CONNACK Session Present)
   */
  async openSession(clientId: string, version: 4 | 5, cleanStart: boolean): Promise<{ state: SessionState; present: boolean }> {
    const live = this.sessions.get(clientId);
    live?.link?.takeOver();
    let state = this.sessions.get(clientId);
    if (cleanStart) {
      // [MQTT-3.1.2-4] (5.0) "If a CONNECT packet is received with Clean Start is set to 1, the
      // Client and Server MUST discard any existing Session and start a new Session."
      if (state) this.endSession(state);
      else this.store(clientId, (store) => store.deleteSession(clientId));
      state = new SessionState(clientId, version);
      this.sessions.set(clientId, state);
      return { state, present: false };
    }
    if (!state) {
      // Reads wait for this id's pending writes, so a session ended or saved a moment ago reads back as such.
      await this.storeTail.get(clientId);
      const stored = await this.options.persistence.getSession(clientId).catch((error: unknown) => {
        this.reportStoreError(error);
        return undefined;
      });
      // Another CONNECT for the same id may have won while the store answered.
      state = this.sessions.get(clientId);
      if (state) state.link?.takeOver();
      else if (stored && !isExpired(stored, this.clock.now())) {
        state = this.restore(stored);
      }
    }
    if (state) {
      state.expiryTimer?.cancel();
      state.expiryTimer = undefined;
      // MQTT 5.0 §3.1.3.2.2 (Will Delay Interval): "If a new Network Connection to this Session is
      // made before the Will Delay Interval has passed, the Server MUST NOT send the Will Message."
      if (state.pendingWill) {
        state.pendingWill.timer.cancel();
        state.pendingWill = undefined;
      }
      state.version = version;
      return { state, present: true };
    }
    state = new SessionState(clientId, version);
    this.sessions.set(clientId, state);
    return { state, present: false };
  }

  /** The connection finished CONNACK: count it and resend what was in flight. */
  attach(state: SessionState, link: Link): void {
    state.link = link;
    state.disconnectedAt = undefined;
    this.connected++;
  }

  /**
   * [MQTT-4.4.0-1] (5.0) "When a Client reconnects with Clean Start set to 0 and a session is
   * present, both the Client and Server MUST resend any unacknowledged PUBLISH packets (where QoS
   * > 0) and PUBREL packets using their original Packet Identifiers."
   * [MQTT-3.3.1-1] "The DUP flag MUST be set to 1 by the Client or Server when it attempts to
   * re-deliver a PUBLISH packet."
   */
  resume(state: SessionState): void {
    const link = state.link;
    if (!link) return;
    for (const delivery of [...state.inflight.values()]) {
      if (delivery.released) link.sendPubrel(delivery.packetId!);
      else if (!link.sendDelivery(delivery, true)) {
        state.removeInflight(delivery.packetId!);
        this.markDirty(state);
      }
    }
    this.pump(state);
  }

  /**
   * The connection of `state` is gone.
   * @param will the will to publish (undefined after DISCONNECT 0x00 or when there was none)
   */
  detach(state: SessionState, link: Link, will: Will | undefined): void {
    if (state.link !== link) return;
    state.link = undefined;
    this.connected--;
    const now = this.clock.now();
    state.disconnectedAt = now;
    if (will) {
      // [MQTT-3.1.2-8] (5.0) "The Will Message MUST be published after the Network Connection is
      // subsequently closed and either the Will Delay Interval has elapsed or the Session ends".
      const delay = Math.min(will.delay, state.expiryInterval);
      if (delay > 0) {
        const timer = this.clock.setTimeout(() => {
          state.pendingWill = undefined;
          this.publishWill(will, link.client);
        }, Math.min(delay * 1000, MAX_TIMER_MS));
        state.pendingWill = { will, client: link.client, timer };
      } else this.publishWill(will, link.client);
    }
    if (state.expiryInterval === 0) {
      this.endSession(state);
      return;
    }
    this.scheduleExpiry(state);
    this.dirty.delete(state);
    this.writeSession(state);
  }

  /** Drops a session: its subscriptions leave the trie, a pending will goes out now. */
  endSession(state: SessionState): void {
    if (this.sessions.get(state.clientId) !== state) return;
    this.sessions.delete(state.clientId);
    this.dirty.delete(state);
    state.expiryTimer?.cancel();
    for (const record of state.subscriptions.values()) this.unindex(record);
    state.subscriptions.clear();
    state.clearDeliveries();
    if (state.pendingWill) {
      const { will, client, timer } = state.pendingWill;
      timer.cancel();
      state.pendingWill = undefined;
      this.publishWill(will, client);
    }
    const clientId = state.clientId;
    this.store(clientId, (store) => store.deleteSession(clientId));
  }

  // ---------------------------------------------------------------- persistence (write-through)

  /**
   * A persistent session changed (subscriptions, queue, in-flight, unreleased QoS 2 ids): it is
   * written on the next tick, once however many packets changed it meanwhile, so the delivery path
   * never awaits the store. Sessions that end with their connection (expiry 0) are never written.
   */
  markDirty(state: SessionState): void {
    if (state.expiryInterval === 0) return;
    this.dirty.add(state);
    this.flushTimer ??= this.clock.setTimeout(this.flushDirty, 0);
  }

  private readonly flushDirty = (): void => {
    this.flushTimer = undefined;
    for (const state of this.dirty) {
      if (this.sessions.get(state.clientId) === state && state.expiryInterval > 0) this.writeSession(state);
    }
    this.dirty.clear();
  };

  private writeSession(state: SessionState): void {
    const snapshot = toStoredSession(state);
    this.store(state.clientId, (store) => store.putSession(snapshot));
  }

  /** Runs `operation` after the pending store operations of `clientId`; failures are logged. */
  private store(clientId: string, operation: (store: ResolvedOptions['persistence']) => Promise<void>): void {
    const previous = this.storeTail.get(clientId);
    const persistence = this.options.persistence;
    const run = (): Promise<void> => operation(persistence).catch(this.reportStoreError);
    const next = previous ? previous.then(run) : run();
    this.storeTail.set(clientId, next);
    void next.then(() => {
      if (this.storeTail.get(clientId) === next) this.storeTail.delete(clientId);
    });
  }

  private scheduleExpiry(state: SessionState): void {
    if (state.expiryInterval >= SESSION_NEVER_EXPIRES) return;
    const deadline = (state.disconnectedAt ?? this.clock.now()) + state.expiryInterval * 1000;
    const arm = (): void => {
      const remaining = deadline - this.clock.now();
      if (remaining <= 0) {
        state.expiryTimer = undefined;
        this.endSession(state);
        return;
      }
      state.expiryTimer = this.clock.setTimeout(arm, Math.min(remaining, MAX_TIMER_MS));
    };
    state.expiryTimer?.cancel();
    state.expiryTimer = this.clock.setTimeout(arm, Math.min(state.expiryInterval * 1000, MAX_TIMER_MS));
  }

  private restore(stored: StoredSession): SessionState {
    const state = new SessionState(stored.clientId, stored.version);
    state.expiryInterval = stored.expiryInterval;
    for (const sub of stored.subscriptions) this.subscribe(state, sub);
    for (const d of stored.inflight) {
      const delivery = fromStoredDelivery(d);
      if (delivery.packetId !== undefined) state.addInflight(delivery.packetId, delivery);
    }
    for (const d of stored.queue) state.queue.push(fromStoredDelivery(d));
    for (const id of stored.incomingQos2) state.addIncomingQos2(id);
    this.sessions.set(state.clientId, state);
    return state;
  }

  private readonly reportStoreError = (error: unknown): void => {
    this.log.error({ err: error }, 'mqtt persistence failed');
  };

  // ---------------------------------------------------------------- subscriptions

  /**
   * Adds or replaces a subscription.
   * [MQTT-3.8.4-3] "If a Server receives a SUBSCRIBE packet containing a Topic Filter that is
   * identical to a Non-shared Subscription's Topic Filter for the current Session, then it MUST
   * replace that existing Subscription with a new Subscription."
   * @returns whether a subscription with this filter existed before
   */
  subscribe(state: SessionState, sub: StoredSubscription): boolean {
    const existing = state.subscriptions.get(sub.filter);
    if (existing) this.unindex(existing);
    const share = parseSharedFilter(sub.filter) ?? undefined;
    const record: SubscriptionRecord = {
      ...sub,
      kind: 'subscription',
      session: state,
      matchFilter: share ? share.filter : sub.filter,
      ...(share ? { share } : {}),
    };
    state.subscriptions.set(sub.filter, record);
    if (share) {
      const key = `${share.group}\u0000${share.filter}`;
      let group = this.groups.get(key);
      if (!group) {
        group = { kind: 'group', key, matchFilter: share.filter, members: [], next: 0 };
        this.groups.set(key, group);
        this.trie.add(share.filter, group);
      }
      group.members.push(record);
    } else this.trie.add(record.matchFilter, record);
    this.markDirty(state);
    return existing !== undefined;
  }

  /** @returns whether the subscription existed */
  unsubscribe(state: SessionState, filter: string): boolean {
    const record = state.subscriptions.get(filter);
    if (!record) return false;
    state.subscriptions.delete(filter);
    this.unindex(record);
    this.markDirty(state);
    return true;
  }

  private unindex(record: SubscriptionRecord): void {
    if (!record.share) {
      this.trie.remove(record.matchFilter, record);
      return;
    }
    const key = `${record.share.group}\u0000${record.share.filter}`;
    const group = this.groups.get(key);
    if (!group) return;
    const at = group.members.indexOf(record);
    if (at !== -1) group.members.splice(at, 1);
    if (group.members.length === 0) {
      this.groups.delete(key);
      this.trie.remove(group.matchFilter, group);
    }
  }

  /**
   * Retained messages for a new subscription.
   * 5.0 §3.3.1.3: retained messages sent on subscribe "are sent with the RETAIN flag set to 1";
   * [MQTT-3.3.1-8] (3.1.1) "the Server MUST set the RETAIN flag to 1 if a message is sent as a
   * result of a new subscription being made by a Client".
   */
  sendRetained(state: SessionState, record: StoredSubscription, matchFilter: string): void {
    const now = this.clock.now();
    for (const message of this.retained.values()) {
      if (message.expiresAt !== undefined && message.expiresAt <= now) {
        this.retained.delete(message.topic);
        continue;
      }
      if (!topicMatchesFilter(matchFilter, message.topic)) continue;
      this.deliver(state, message, minQos(message.qos, record.qos), true, record.subscriptionId === undefined ? undefined : [record.subscriptionId], undefined);
    }
  }

  // ---------------------------------------------------------------- publishing

  /**
   * Accepts one application message from an MQTT client (or a will): retained store, MQTT
   * subscribers, the bus, the `published` hook.
   */
  publish(message: AppMessage, client: MqttClient | null): void {
    if (message.retain && this.options.retainAvailable) this.setRetained(message);
    this.route(message);
    const bus = this.bus;
    // Our own `#` subscription matches everything; skip building a bus message that only it
    // would receive (MQTT-only deployments, or topics no other protocol watches).
    if (bus && bus.hasSubscribers?.(message.topic, this.busSubscription) !== false) {
      const props = message.properties;
      // One literal with every key (undefined when absent) keeps one object shape on the hot path.
      // The OWN mark survives the in-memory bus, which hands every subscriber the same object, and
      // is dropped by any driver that serialises: messages from other nodes still come in.
      const busMessage: BusMessage & { [OWN]: Broker } = {
        topic: message.topic,
        payload: message.payload,
        qos: message.qos,
        origin: client ? { protocol: 'mqtt', connectionId: client.connectionId } : { protocol: 'mqtt' },
        retain: message.retain,
        contentType: props?.contentType,
        headers: props?.userProperties ? flattenUserProperties(props.userProperties) : undefined,
        [OWN]: this,
      };
      try {
        const result = bus.publish(busMessage);
        if (result) result.catch((error: unknown) => this.log.warn({ err: error }, 'bus publish failed'));
      } catch (error) {
        this.log.warn({ err: error }, 'bus publish failed');
      }
    }
    this.options.published?.(hookMessage(message), client);
  }

  /**
   * [MQTT-3.3.1-6] (5.0) "If the Payload contains zero bytes it is processed normally by the
   * Server but any retained message with the same topic name MUST be removed and any future
   * subscribers for the topic will not receive a retained message."
   */
  private setRetained(message: AppMessage): void {
    if (message.payload.length === 0) {
      if (this.retained.delete(message.topic)) void this.options.persistence.deleteRetained(message.topic).catch(this.reportStoreError);
      return;
    }
    this.retained.set(message.topic, message);
    void this.options.persistence.putRetained(toStoredMessage(message)).catch(this.reportStoreError);
  }

  private readonly onBusMessage = (message: BusMessage): void => {
    if ((message as { [OWN]?: Broker })[OWN] === this) return;
    const headers = message.headers;
    let properties: StoredMessageProperties | undefined;
    if (message.contentType !== undefined || headers !== undefined) {
      properties = {
        ...(message.contentType !== undefined ? { contentType: message.contentType } : {}),
        ...(headers !== undefined && Object.keys(headers).length > 0 ? { userProperties: { ...headers } } : {}),
      };
    }
    const payload = Buffer.isBuffer(message.payload) ? message.payload : Buffer.from(message.payload.buffer, message.payload.byteOffset, message.payload.byteLength);
    const app: AppMessage = {
      topic: message.topic,
      payload,
      qos: message.qos,
      retain: message.retain === true,
      receivedAt: this.clock.now(),
      ...(properties ? { properties } : {}),
    };
    if (app.retain && this.options.retainAvailable) this.setRetained(app);
    this.route(app);
  };

  /** Delivers `message` to every matching MQTT subscription, once per session. */
  route(message: AppMessage): void {
    const seq = ++this.routeSeq;
    const targets: SessionState[] = [];
    this.routeTargets = targets;
    this.routeShared = undefined;
    this.routePublisher = message.publisherId;
    this.routeCurrentSeq = seq;
    this.trie.match(message.topic, this.visit);
    this.routePublisher = undefined;
    // Filled by `visit` during `match` (TypeScript cannot see that through the callback).
    const shared = this.routeShared as SubscriptionRecord[] | undefined;
    const scratch: RouteScratch = {};
    for (const state of targets) {
      // [MQTT-3.3.1-12] (5.0) "If the value of Retain As Published subscription option is set to
      // 0, the Server MUST set the RETAIN flag to 0 when forwarding an Application Message
      // regardless of how the RETAIN flag was set in the received PUBLISH packet."
      // [MQTT-3.3.1-9] (3.1.1) "It MUST set the RETAIN flag to 0 when a PUBLISH Packet is sent to a
      // Client because it matches an established subscription regardless of how the flag was set".
      this.deliver(state, message, minQos(message.qos, state.routeQos), state.routeRetain && message.retain, state.routeIds, scratch);
    }
    if (shared) for (const record of shared) {
      this.deliver(record.session, message, minQos(message.qos, record.qos), record.retainAsPublished && message.retain, record.subscriptionId === undefined ? undefined : [record.subscriptionId], scratch);
    }
  }

  private routeCurrentSeq = 0;

  private readonly visit = (value: TrieValue): void => {
    if (value.kind === 'group') {
      const record = pickMember(value);
      if (record) (this.routeShared ??= []).push(record);
      return;
    }
    // [MQTT-3.8.3-3] (5.0) No Local: "If the value is 1, Application Messages MUST NOT be
    // forwarded to a connection with a ClientID equal to the ClientID of the publishing connection."
    if (value.noLocal && value.session.clientId === this.routePublisher) return;
    const state = value.session;
    if (state.routeMark !== this.routeCurrentSeq) {
      state.routeMark = this.routeCurrentSeq;
      state.routeQos = value.qos;
      state.routeRetain = value.retainAsPublished;
      state.routeIds = value.subscriptionId === undefined ? undefined : [value.subscriptionId];
      this.routeTargets.push(state);
      return;
    }
    // Overlapping subscriptions of one session: one delivery at the highest QoS.
    // [MQTT-3.3.4-3] (5.0) "If the Client specified a Subscription Identifier for any of the
    // overlapping subscriptions the Server MUST send those Subscription Identifiers in the message".
    if (value.qos > state.routeQos) state.routeQos = value.qos;
    if (value.retainAsPublished) state.routeRetain = true;
    if (value.subscriptionId !== undefined) (state.routeIds ??= []).push(value.subscriptionId);
  };

  /** One message to one session: sent now, queued, or dropped (QoS 0 while offline or congested). */
  deliver(state: SessionState, message: AppMessage, qos: QoS, retain: boolean, subscriptionIds: number[] | undefined, scratch: RouteScratch | undefined): void {
    const link = state.link;
    if (qos === 0) {
      if (link && link.ready && !link.congested) link.sendQos0(message, retain, subscriptionIds, scratch);
      return;
    }
    const delivery: Delivery = subscriptionIds ? { message, qos, retain, subscriptionIds } : { message, qos, retain };
    if (link && link.ready && !link.congested && state.queue.length === 0 && state.inflight.size < link.sendQuota) {
      this.transmit(state, link, delivery);
      return;
    }
    if (state.queue.length >= this.options.maxQueuedMessages) {
      this.log.warn({ clientId: state.clientId }, 'mqtt session queue full, message dropped');
      return;
    }
    state.queue.push(delivery);
    this.markDirty(state);
  }

  /**
   * Sends queued messages while the client's receive window has room.
   * [MQTT-3.3.4-7] (5.0) "The Server MUST NOT send more than Receive Maximum QoS 1 and QoS 2
   * PUBLISH packets for which it has not received PUBACK, PUBCOMP, or PUBREC with a Reason Code
   * of 128 or greater from the Client."
   */
  pump(state: SessionState): void {
    const link = state.link;
    if (!link || !link.ready) return;
    const now = this.clock.now();
    const queue = state.queue;
    while (queue.length > 0 && state.inflight.size < link.sendQuota && !link.congested) {
      const delivery = queue.shift()!;
      // [MQTT-3.3.2-5] (5.0) "If the Message Expiry Interval has passed and the Server has not
      // managed to start onward delivery to a matching subscriber, then it MUST delete the copy of
      // the message for that subscriber."
      if (delivery.message.expiresAt !== undefined && delivery.message.expiresAt <= now) {
        this.markDirty(state);
        continue;
      }
      this.transmit(state, link, delivery);
    }
  }

  private transmit(state: SessionState, link: Link, delivery: Delivery): void {
    const packetId = allocatePacketId(state);
    delivery.packetId = packetId;
    state.addInflight(packetId, delivery);
    // [MQTT-3.1.2-25] (5.0) "Where a Packet is too large to send, the Server MUST discard it
    // without sending it and then behave as if it had completed sending that Application Message."
    if (!link.sendDelivery(delivery, false)) state.removeInflight(packetId);
    this.markDirty(state);
  }

  /** PUBACK, PUBCOMP, or PUBREC with an error code: the message is done. */
  complete(state: SessionState, packetId: number): boolean {
    if (!state.removeInflight(packetId)) return false;
    this.markDirty(state);
    this.pump(state);
    return true;
  }

  private publishWill(will: Will, client: MqttClient): void {
    // MQTT 5.0 §3.1.3.2.4: the will's Message Expiry Interval "is used as the Publication Expiry
    // Interval when the Server publishes the Will Message", so it runs from now, not from CONNECT.
    const now = this.clock.now();
    const { expiresAt: _atConnect, ...rest } = will.message;
    const message: AppMessage = will.expiry !== undefined ? { ...rest, receivedAt: now, expiresAt: now + will.expiry * 1000 } : { ...rest, receivedAt: now };
    const authorize = this.options.authorizePublish;
    if (!authorize) {
      this.publish(message, client);
      return;
    }
    Promise.resolve()
      .then(() => authorize(client, hookMessage(message)))
      .then(
        (allowed) => {
          if (allowed) this.publish(message, client);
        },
        (error: unknown) => this.log.warn({ err: error }, 'authorizePublish failed for a will'),
      );
  }

  // ---------------------------------------------------------------- $SYS and stats

  /** `$SYS/broker/...` statistics, retained, as Mosquitto names them. */
  publishSys(): void {
    const now = this.clock.now();
    const values: Array<[string, string]> = [
      ['$SYS/broker/clients/connected', String(this.connected)],
      ['$SYS/broker/clients/total', String(this.sessions.size)],
      ['$SYS/broker/messages/received', String(this.messagesIn)],
      ['$SYS/broker/messages/sent', String(this.messagesOut)],
      ['$SYS/broker/retained messages/count', String(this.retained.size)],
      ['$SYS/broker/uptime', `${Math.floor((now - this.startedAt) / 1000)} seconds`],
    ];
    for (const [topic, value] of values) {
      const message: AppMessage = { topic, payload: Buffer.from(value), qos: 0, retain: true, receivedAt: now };
      this.retained.set(topic, message);
      this.route(message);
    }
  }

  stats(): MqttStats {
    const clients: MqttStats['clients'] = [];
    for (const state of this.sessions.values()) {
      const link = state.link;
      if (!link) continue;
      clients.push({ clientId: state.clientId, version: link.client.version, connectedAt: link.connectedAt, subscriptions: [...state.subscriptions.keys()] });
    }
    return { clients, sessions: this.sessions.size, retained: this.retained.size, messagesIn: this.messagesIn, messagesOut: this.messagesOut };
  }
}

// ------------------------------------------------------------------ helpers

function minQos(a: QoS, b: QoS): QoS {
  return a < b ? a : b;
}

/**
 * [MQTT-2.2.1-3] (3.1.1) "Each time a Client sends a new packet of one of these types it MUST
 * assign it a currently unused Packet Identifier"; the Server does the same for PUBLISH.
 */
function allocatePacketId(state: SessionState): number {
  let id = state.nextPacketId;
  while (state.inflight.has(id)) id = id === MAX_PACKET_ID ? 1 : id + 1;
  state.nextPacketId = id === MAX_PACKET_ID ? 1 : id + 1;
  return id;
}

/**
 * Picks the member of a shared subscription group that gets the next message: round robin,
 * preferring members whose client is connected (MQTT 5.0 §4.8.2: each message goes to one session).
 */
function pickMember(group: SharedGroup): SubscriptionRecord | undefined {
  const members = group.members;
  const n = members.length;
  for (let i = 0; i < n; i++) {
    const record = members[(group.next + i) % n]!;
    if (record.session.link?.ready) {
      group.next = (group.next + i + 1) % n;
      return record;
    }
  }
  if (n === 0) return undefined;
  const record = members[group.next % n]!;
  group.next = (group.next + 1) % n;
  return record;
}

/** Filter/topic match with the `$` rule ([MQTT-4.7.2-1]); used for retained messages. */
export function topicMatchesFilter(filter: string, topic: string): boolean {
  if (topic.charCodeAt(0) === 0x24 && (filter.charCodeAt(0) === 0x2b || filter.charCodeAt(0) === 0x23)) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    const level = f[i]!;
    if (level === '#') return true;
    if (i >= t.length) return false;
    if (level !== '+' && level !== t[i]) return false;
  }
  return f.length === t.length;
}

/** MQTT user properties (a name may repeat) to bus headers (one value per name, joined by ", "). */
export function flattenUserProperties(properties: UserProperties): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of Object.keys(properties)) {
    const value = properties[name]!;
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

function isExpired(stored: StoredSession, now: number): boolean {
  if (stored.expiryInterval >= SESSION_NEVER_EXPIRES || stored.disconnectedAt === undefined) return false;
  return stored.disconnectedAt + stored.expiryInterval * 1000 <= now;
}

function toStoredMessage(message: AppMessage): StoredMessage {
  return {
    topic: message.topic,
    payload: message.payload,
    qos: message.qos,
    retain: message.retain,
    receivedAt: message.receivedAt,
    ...(message.expiresAt !== undefined ? { expiresAt: message.expiresAt } : {}),
    ...(message.properties ? { properties: message.properties } : {}),
  };
}

function fromStoredMessage(stored: StoredMessage): AppMessage {
  const payload = Buffer.isBuffer(stored.payload) ? stored.payload : Buffer.from(stored.payload.buffer, stored.payload.byteOffset, stored.payload.byteLength);
  const props = stored.properties;
  const properties: StoredMessageProperties | undefined = props?.correlationData && !Buffer.isBuffer(props.correlationData)
    ? { ...props, correlationData: Buffer.from(props.correlationData.buffer, props.correlationData.byteOffset, props.correlationData.byteLength) }
    : props;
  return {
    topic: stored.topic,
    payload,
    qos: stored.qos,
    retain: stored.retain,
    receivedAt: stored.receivedAt,
    ...(stored.expiresAt !== undefined ? { expiresAt: stored.expiresAt } : {}),
    ...(properties ? { properties } : {}),
  };
}

function toStoredDelivery(delivery: Delivery): StoredDelivery {
  return {
    message: toStoredMessage(delivery.message),
    qos: delivery.qos,
    retain: delivery.retain,
    ...(delivery.subscriptionIds ? { subscriptionIds: delivery.subscriptionIds } : {}),
    ...(delivery.packetId !== undefined ? { packetId: delivery.packetId } : {}),
    ...(delivery.released ? { released: true } : {}),
  };
}

function fromStoredDelivery(stored: StoredDelivery): Delivery {
  return {
    message: fromStoredMessage(stored.message),
    qos: stored.qos,
    retain: stored.retain,
    ...(stored.subscriptionIds ? { subscriptionIds: [...stored.subscriptionIds] } : {}),
    ...(stored.packetId !== undefined ? { packetId: stored.packetId } : {}),
    ...(stored.released ? { released: true } : {}),
  };
}

export function toStoredSession(state: SessionState): StoredSession {
  const subscriptions: StoredSubscription[] = [];
  for (const record of state.subscriptions.values()) {
    subscriptions.push({
      filter: record.filter,
      qos: record.qos,
      noLocal: record.noLocal,
      retainAsPublished: record.retainAsPublished,
      retainHandling: record.retainHandling,
      ...(record.subscriptionId !== undefined ? { subscriptionId: record.subscriptionId } : {}),
    });
  }
  return {
    clientId: state.clientId,
    version: state.version,
    expiryInterval: state.expiryInterval,
    // Offline sessions carry when they went offline and, unless they never expire, when the store may
    // drop them (MQTT 5.0 §3.1.2.11.2: the Session ends after the Session Expiry Interval). Online
    // sessions carry neither: they do not expire while connected.
    ...(state.disconnectedAt !== undefined ? { disconnectedAt: state.disconnectedAt } : {}),
    ...(state.disconnectedAt !== undefined && state.expiryInterval < SESSION_NEVER_EXPIRES ? { expiresAt: state.disconnectedAt + state.expiryInterval * 1000 } : {}),
    subscriptions,
    inflight: [...state.inflight.values()].map(toStoredDelivery),
    queue: state.queue.toArray().map(toStoredDelivery),
    incomingQos2: [...state.incomingQos2],
  };
}
