/**
 * Persistence, broker side: conversion between live objects and the plain data of
 * persistence.ts, and the write-through of persistent sessions (marked dirty, written once per
 * tick, operations of one client id in order). The delivery path never awaits the store.
 */
import type { Clock, Logger, Timer } from '@protoplex/core';
import { SESSION_NEVER_EXPIRES } from './constants.js';
import type { MqttPersistence, StoredDelivery, StoredMessage, StoredMessageProperties, StoredSession, StoredSubscription } from './persistence.js';
import type { AppMessage, Delivery, SessionState } from './sessions.js';

/** What the write-through needs from the broker, read when used (the clock is set in `setup`). */
export interface StoreHost {
  readonly clock: Clock;
  readonly log: Logger;
  /** The session the broker holds for `clientId` now: a replaced session's late mark is not written. */
  current(clientId: string): SessionState | undefined;
}

export class SessionStore {
  /** Persistent sessions changed since the last flush (written once per tick, not per packet). */
  private readonly dirty = new Set<SessionState>();
  private flushTimer: Timer | undefined;
  /** The last store operation of each client id: operations of one session run in order. */
  private readonly tail = new Map<string, Promise<void>>();

  constructor(
    readonly persistence: MqttPersistence,
    private readonly host: StoreHost,
  ) {}

  /**
   * A persistent session changed (subscriptions, queue, in-flight, unreleased QoS 2 ids): it is
   * written on the next tick, once however many packets changed it meanwhile, so the delivery path
   * never awaits the store. Sessions that end with their connection (expiry 0) are never written.
   */
  markDirty(state: SessionState): void {
    if (state.expiryInterval === 0) return;
    this.dirty.add(state);
    this.flushTimer ??= this.host.clock.setTimeout(this.flushDirty, 0);
  }

  /** Drops a pending mark (the session ended, or is written now). */
  forget(state: SessionState): void {
    this.dirty.delete(state);
  }

  /** Writes a snapshot of `state` after the pending operations of its id. */
  write(state: SessionState): void {
    const snapshot = toStoredSession(state);
    this.run(state.clientId, (store) => store.putSession(snapshot));
  }

  delete(clientId: string): void {
    this.run(clientId, (store) => store.deleteSession(clientId));
  }

  /**
   * Reads a session after this id's pending writes, so a session ended or saved a moment ago
   * reads back as such. A failing store reads as no session (logged).
   */
  async read(clientId: string): Promise<StoredSession | undefined> {
    await this.tail.get(clientId);
    return this.persistence.getSession(clientId).catch((error: unknown) => {
      this.reportError(error);
      return undefined;
    });
  }

  /** Shutdown: writes every session of `states` that outlives its connection, then waits for every write. */
  async close(states: Iterable<SessionState>): Promise<void> {
    this.flushTimer?.cancel();
    this.flushTimer = undefined;
    this.dirty.clear();
    for (const state of states) {
      if (state.expiryInterval > 0) this.write(state);
    }
    await Promise.all([...this.tail.values()]);
  }

  readonly reportError = (error: unknown): void => {
    this.host.log.error({ err: error }, 'mqtt persistence failed');
  };

  private readonly flushDirty = (): void => {
    this.flushTimer = undefined;
    for (const state of this.dirty) {
      if (this.host.current(state.clientId) === state && state.expiryInterval > 0) this.write(state);
    }
    this.dirty.clear();
  };

  /** Runs `operation` after the pending store operations of `clientId`; failures are logged. */
  private run(clientId: string, operation: (store: MqttPersistence) => Promise<void>): void {
    const previous = this.tail.get(clientId);
    const persistence = this.persistence;
    const run = (): Promise<void> => operation(persistence).catch(this.reportError);
    const next = previous ? previous.then(run) : run();
    this.tail.set(clientId, next);
    void next.then(() => {
      if (this.tail.get(clientId) === next) this.tail.delete(clientId);
    });
  }
}

// ------------------------------------------------------------------ conversion

export function isExpired(stored: StoredSession, now: number): boolean {
  if (stored.expiryInterval >= SESSION_NEVER_EXPIRES || stored.disconnectedAt === undefined) return false;
  return stored.disconnectedAt + stored.expiryInterval * 1000 <= now;
}

export function toStoredMessage(message: AppMessage): StoredMessage {
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

export function fromStoredMessage(stored: StoredMessage): AppMessage {
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

export function fromStoredDelivery(stored: StoredDelivery): Delivery {
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
