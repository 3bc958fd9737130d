/**
 * Broker-wide routing: sessions (online and offline) and their subscriptions in one trie, wills,
 * and the bridge to the cross-protocol bus. Connections (session.ts) attach to a session through
 * the {@link Link} interface; everything here outlives a connection, so its timers run on the
 * server-wide clock given to `setup`. Session state is in sessions.ts, persistence in store.ts,
 * retained messages in retained.ts, bus conversion in bridge.ts, `$SYS` in sys.ts.
 *
 * Routing design: MQTT subscribers are matched in the broker's own trie, never through the bus.
 * Every accepted PUBLISH is routed to MQTT subscribers here, then published once on the bus when
 * somebody else wants it. Every subscription record in the trie, of an online or an offline
 * persistent session, holds its match filter on the broker's one `BusBridge` (one bus
 * subscription per distinct filter, counted, never `#`), so messages of other protocols (STOMP,
 * WAMP, OCPP...) arrive only when an MQTT session wants them, once however many held filters
 * match, and never as the broker's own messages back. So each MQTT delivery happens exactly once,
 * and offline persistent sessions, which have no connection, keep receiving.
 */
import {
  createBusBridge,
  createDeadlineSweep,
  silentLogger,
  systemClock,
  type AdapterContext,
  type BusBridge,
  type BusMessage,
  type Clock,
  type DeadlineSweep,
  type Logger,
  type QoS,
  type Timer,
  TopicTrie,
} from '@protoplex/core';
import { SESSION_NEVER_EXPIRES } from './constants.js';
import { hookMessage } from './_helpers.js';
import { fromBusMessage, toBusMessage } from './bridge.js';
import type { StoredSession, StoredSubscription } from './persistence.js';
import { RetainedStore } from './retained.js';
import { SessionState, type AppMessage, type Delivery, type Link, type RouteScratch, type SubscriptionRecord, type Will } from './sessions.js';
import { fromStoredDelivery, isExpired, SessionStore, type StoreHost } from './store.js';
import { sysMessages } from './sys.js';
import { parseSharedFilter } from './topics.js';
import type { MqttClient, MqttStats, ResolvedOptions } from './types.js';

interface SharedGroup {
  readonly kind: 'group';
  readonly key: string;
  readonly matchFilter: string;
  readonly members: SubscriptionRecord[];
  next: number;
}

type TrieValue = SubscriptionRecord | SharedGroup;

/** Milliseconds between deadline sweeps (CONNECT timeout, keep-alive). */
const SWEEP_MS = 1000;

const MAX_TIMER_MS = 2 ** 31 - 1;

export class Broker implements StoreHost {
  readonly sessions = new Map<string, SessionState>();
  readonly retained: RetainedStore;
  readonly store: SessionStore;
  private readonly trie = new TopicTrie<TrieValue>();
  private readonly groups = new Map<string, SharedGroup>();
  clock: Clock = systemClock;
  log: Logger = silentLogger;
  /** One sweep a second checks every connection's deadlines (made in `setup`). */
  deadlines: DeadlineSweep | undefined;
  private bridge: BusBridge | undefined;
  private sysTimer: Timer | undefined;
  private routeSeq = 0;
  private routeTargets: SessionState[] = [];
  private routeShared: SubscriptionRecord[] | undefined;
  private routePublisher: string | undefined;
  private startedAt = Date.now();
  messagesIn = 0;
  messagesOut = 0;
  connected = 0;

  constructor(readonly options: ResolvedOptions) {
    this.store = new SessionStore(options.persistence, this);
    this.retained = new RetainedStore(options.persistence, this.store.reportError);
  }

  /** The session held for `clientId` now (the store's host). */
  current(clientId: string): SessionState | undefined {
    return this.sessions.get(clientId);
  }

  /** Server-wide start: clock, log, retained messages from persistence, the bus bridge, the deadline sweep, `$SYS`. */
  async setup(context: AdapterContext): Promise<void> {
    this.clock = context.clock;
    this.log = context.log;
    this.startedAt = context.clock.now();
    await this.retained.load();
    this.bridge = createBusBridge(context.bus, { onMessage: this.onBusMessage, log: context.log });
    // Connections with a deadline (CONNECT not yet received, or a keep-alive) are checked by one
    // sweep a second on the server clock instead of a timer each; it stops when none is left.
    this.deadlines = createDeadlineSweep(context.clock, SWEEP_MS, (error) => context.log.error({ err: error }, 'mqtt deadline check failed'));
    if (this.options.sysInterval > 0) {
      this.sysTimer = context.clock.setInterval(() => this.publishSys(), this.options.sysInterval * 1000);
    }
    context.signal.addEventListener(
      'abort',
      () => {
        this.sysTimer?.cancel();
        this.deadlines?.stop();
        this.bridge?.close();
      },
      { once: true },
    );
  }

  /** Disconnects every client (5.0: DISCONNECT 0x8B), then saves every session that outlives its connection. */
  async shutdown(): Promise<void> {
    this.sysTimer?.cancel();
    for (const state of [...this.sessions.values()]) state.link?.shutDown();
    await this.store.close(this.sessions.values());
  }

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
      else this.store.delete(clientId);
      state = new SessionState(clientId, version);
      this.sessions.set(clientId, state);
      return { state, present: false };
    }
    if (!state) {
      const stored = await this.store.read(clientId);
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
        this.store.markDirty(state);
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
    this.store.forget(state);
    this.store.write(state);
  }

  /** Drops a session: its subscriptions leave the trie (and the bus), a pending will goes out now. */
  endSession(state: SessionState): void {
    if (this.sessions.get(state.clientId) !== state) return;
    this.sessions.delete(state.clientId);
    this.store.forget(state);
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
    this.store.delete(state.clientId);
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
    // Each record in the trie holds its filter on the bus, shared members included (the bridge
    // counts them): messages of other protocols come in exactly while some record wants them.
    this.bridge?.hold(record.matchFilter);
    this.store.markDirty(state);
    return existing !== undefined;
  }

  /** @returns whether the subscription existed */
  unsubscribe(state: SessionState, filter: string): boolean {
    const record = state.subscriptions.get(filter);
    if (!record) return false;
    state.subscriptions.delete(filter);
    this.unindex(record);
    this.store.markDirty(state);
    return true;
  }

  /** Takes a record out of the trie and releases its filter on the bus. */
  private unindex(record: SubscriptionRecord): void {
    if (!record.share) {
      if (this.trie.remove(record.matchFilter, record)) this.bridge?.release(record.matchFilter);
      return;
    }
    const key = `${record.share.group}\u0000${record.share.filter}`;
    const group = this.groups.get(key);
    if (!group) return;
    const at = group.members.indexOf(record);
    if (at === -1) return;
    group.members.splice(at, 1);
    this.bridge?.release(record.matchFilter);
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
    const ids = record.subscriptionId === undefined ? undefined : [record.subscriptionId];
    this.retained.forEachMatching(matchFilter, this.clock.now(), (message) => {
      this.deliver(state, message, minQos(message.qos, record.qos), true, ids, undefined);
    });
  }

  // ---------------------------------------------------------------- publishing

  /**
   * Accepts one application message from an MQTT client (or a will): retained store, MQTT
   * subscribers, the bus, the `published` hook.
   */
  publish(message: AppMessage, client: MqttClient | null): void {
    if (message.retain && this.options.retainAvailable) this.retained.retain(message);
    this.route(message);
    this.toBus(message, client);
    this.options.published?.({ message: hookMessage(message), client });
  }

  /**
   * Publishes on the bus only when somebody outside this broker wants the topic: a message that
   * only MQTT subscribers want (or nobody) is never built. The bridge never hands it back.
   */
  private toBus(message: AppMessage, client: MqttClient | null): void {
    const bridge = this.bridge;
    if (bridge && bridge.wanted(message.topic)) void bridge.publish(toBusMessage(message, client));
  }

  private readonly onBusMessage = (message: BusMessage): void => {
    const app = fromBusMessage(message, this.clock.now());
    if (app.retain && this.options.retainAvailable) this.retained.retain(app);
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
    this.store.markDirty(state);
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
        this.store.markDirty(state);
        continue;
      }
      this.transmit(state, link, delivery);
    }
  }

  private transmit(state: SessionState, link: Link, delivery: Delivery): void {
    const packetId = state.allocatePacketId();
    delivery.packetId = packetId;
    state.addInflight(packetId, delivery);
    // [MQTT-3.1.2-25] (5.0) "Where a Packet is too large to send, the Server MUST discard it
    // without sending it and then behave as if it had completed sending that Application Message."
    if (!link.sendDelivery(delivery, false)) state.removeInflight(packetId);
    this.store.markDirty(state);
  }

  /** PUBACK, PUBCOMP, or PUBREC with an error code: the message is done. */
  complete(state: SessionState, packetId: number): boolean {
    if (!state.removeInflight(packetId)) return false;
    this.store.markDirty(state);
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
      .then(() => authorize({ client, message: hookMessage(message) }))
      .then(
        (allowed) => {
          if (allowed) this.publish(message, client);
        },
        (error: unknown) => this.log.warn({ err: error }, 'authorizePublish failed for a will'),
      );
  }

  // ---------------------------------------------------------------- $SYS and stats

  /** `$SYS/broker/...` statistics, retained, to MQTT subscribers and, like any message, to the bus only when wanted there. */
  publishSys(): void {
    const counters = { connected: this.connected, sessions: this.sessions.size, messagesIn: this.messagesIn, messagesOut: this.messagesOut, retained: this.retained.size, startedAt: this.startedAt };
    for (const message of sysMessages(counters, this.clock.now())) {
      this.retained.retainVolatile(message);
      this.route(message);
      this.toBus(message, null);
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
