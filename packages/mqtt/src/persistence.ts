/**
 * The persistence interface: what the broker keeps beyond a connection (sessions with their
 * subscriptions, queued and in-flight messages, retained messages). Every method is async and
 * takes or returns plain data (no live objects, no callbacks), so a Redis or SQL store can
 * implement it. The in-memory default copies on the way in and out to hold itself to that.
 */
import type { QoS } from '@protoplex/core';
import type { UserProperties } from './codec.js';

/** An application message as stored: topic, payload and the 5.0 properties that travel with it. */
export interface StoredMessage {
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly qos: QoS;
  readonly retain: boolean;
  /** Epoch milliseconds when the broker accepted it. */
  readonly receivedAt: number;
  /** Epoch milliseconds after which it must not be delivered (Message Expiry Interval). */
  readonly expiresAt?: number;
  readonly properties?: StoredMessageProperties;
}

/** MQTT 5 PUBLISH properties carried end to end (MQTT 5.0 §3.3.2.3). */
export interface StoredMessageProperties {
  readonly payloadFormatIndicator?: boolean;
  readonly contentType?: string;
  readonly responseTopic?: string;
  readonly correlationData?: Uint8Array;
  readonly userProperties?: UserProperties;
}

export interface StoredSubscription {
  /** The filter as subscribed, `$share/{group}/` prefix included. */
  readonly filter: string;
  readonly qos: QoS;
  readonly noLocal: boolean;
  readonly retainAsPublished: boolean;
  readonly retainHandling: 0 | 1 | 2;
  readonly subscriptionId?: number;
}

/** A message on its way to one client. */
export interface StoredDelivery {
  readonly message: StoredMessage;
  readonly qos: QoS;
  /** The RETAIN flag to send. */
  readonly retain: boolean;
  readonly subscriptionIds?: readonly number[];
  /** Set once a packet identifier is assigned (the message is in flight). */
  readonly packetId?: number;
  /** QoS 2: PUBREC received, PUBREL sent, waiting for PUBCOMP. */
  readonly released?: boolean;
}

export interface StoredSession {
  readonly clientId: string;
  readonly version: 4 | 5;
  /** Seconds the session outlives its connection; 0xFFFFFFFF never expires. */
  readonly expiryInterval: number;
  /** Epoch milliseconds when the session went offline (absent while its client is connected). */
  readonly disconnectedAt?: number;
  /**
   * Epoch milliseconds when the session expires (offline sessions with a finite Session Expiry
   * Interval only; a 3.1.1 persistent session and 0xFFFFFFFF never expire). A store SHOULD drop the
   * session then (e.g. a Redis PEXPIREAT); `getSession` MUST NOT return it afterwards.
   */
  readonly expiresAt?: number;
  readonly subscriptions: readonly StoredSubscription[];
  /** In flight, oldest first (resent with DUP on reconnect). */
  readonly inflight: readonly StoredDelivery[];
  /** Not yet sent, oldest first. */
  readonly queue: readonly StoredDelivery[];
  /** QoS 2 packet identifiers received and not yet released by PUBREL. */
  readonly incomingQos2: readonly number[];
}

/**
 * Where the broker keeps state that outlives a connection. Implementations MUST NOT keep
 * references to objects passed in (copy or serialise them) and MUST return fresh objects.
 */
export interface MqttPersistence {
  /** The stored session of `clientId`, if any. */
  getSession(clientId: string): Promise<StoredSession | undefined>;
  /** Creates or replaces a session. */
  putSession(session: StoredSession): Promise<void>;
  deleteSession(clientId: string): Promise<void>;
  /** Sets the retained message of `message.topic`. */
  putRetained(message: StoredMessage): Promise<void>;
  deleteRetained(topic: string): Promise<void>;
  /** Every retained message, read once when the broker starts. */
  listRetained(): Promise<StoredMessage[]>;
}

/** Options of {@link createMemoryPersistence}. */
export interface MemoryPersistenceOptions {
  /** The time in epoch milliseconds, for session expiry. @default Date.now */
  readonly now?: () => number;
}

/** The default store: process memory, gone on restart. Expired sessions are dropped when next touched. */
export function createMemoryPersistence(options: MemoryPersistenceOptions = {}): MqttPersistence & { readonly sessionCount: number; readonly retainedCount: number } {
  const now = options.now ?? Date.now;
  const sessions = new Map<string, StoredSession>();
  const retained = new Map<string, StoredMessage>();
  const purge = (): void => {
    const at = now();
    for (const [clientId, session] of sessions) if (session.expiresAt !== undefined && session.expiresAt <= at) sessions.delete(clientId);
  };
  return {
    /** Sessions held, expired ones dropped first. */
    get sessionCount() {
      purge();
      return sessions.size;
    },
    get retainedCount() {
      return retained.size;
    },
    async getSession(clientId) {
      const session = sessions.get(clientId);
      if (session?.expiresAt !== undefined && session.expiresAt <= now()) {
        sessions.delete(clientId);
        return undefined;
      }
      return session ? structuredClone(session) : undefined;
    },
    async putSession(session) {
      sessions.set(session.clientId, structuredClone(session));
    },
    async deleteSession(clientId) {
      sessions.delete(clientId);
    },
    async putRetained(message) {
      retained.set(message.topic, structuredClone(message));
    },
    async deleteRetained(topic) {
      retained.delete(topic);
    },
    async listRetained() {
      return [...retained.values()].map((message) => structuredClone(message));
    },
  };
}
