/**
 * What the broker keeps per client and per message: session state (online or offline), its
 * delivery queue, the subscription records it holds in the broker's trie, and the {@link Link}
 * through which a live connection (session.ts) receives. No routing here (broker.ts).
 */
import type { QoS, Timer } from '@protoplex/core';
import { MAX_PACKET_ID } from './constants.js';
import type { StoredMessageProperties, StoredSubscription } from './persistence.js';
import type { SharedFilter } from './topics.js';
import type { MqttClient } from './types.js';

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
  /** The filter matched in the trie and held on the bus (without the `$share/{group}/` prefix). */
  readonly matchFilter: string;
  readonly share?: SharedFilter;
}

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

  /**
   * [MQTT-2.2.1-3] (3.1.1) "Each time a Client sends a new packet of one of these types it MUST
   * assign it a currently unused Packet Identifier"; the Server does the same for PUBLISH.
   */
  allocatePacketId(): number {
    let id = this.nextPacketId;
    while (this.inflight.has(id)) id = id === MAX_PACKET_ID ? 1 : id + 1;
    this.nextPacketId = id === MAX_PACKET_ID ? 1 : id + 1;
    return id;
  }
}

const EMPTY_INFLIGHT: ReadonlyMap<number, Delivery> = new Map();
const EMPTY_IDS: ReadonlySet<number> = new Set();

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
