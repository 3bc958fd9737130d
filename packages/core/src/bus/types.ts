/**
 * The cross-protocol message bus: one canonical topic space in MQTT syntax (`a/b/c`, `+` matches
 * one level, `#` the rest), so an MQTT publish can reach a STOMP subscriber and an OCPP station
 * can be driven from WAMP. Each adapter maps its native destinations onto it reversibly.
 */

/** Where a bus message came from. */
export interface MessageOrigin {
  /** Adapter name (`'mqtt'`, `'stomp'`, `'ocpp'`...). */
  readonly protocol: string;
  /** The publishing connection, when there is one; adapters use it for no-local semantics. */
  readonly connectionId?: string;
  /** The node that published, for multi-node drivers. */
  readonly node?: string;
}

export type QoS = 0 | 1 | 2;

/** One message on the bus. Treat it as immutable: the same object reaches every subscriber. */
export interface BusMessage {
  /** Canonical topic name: no wildcards, levels separated by `/`. */
  readonly topic: string;
  readonly payload: Uint8Array;
  /** MIME type of the payload, when the publisher said (`application/json`, `text/plain`...). */
  readonly contentType?: string;
  /** Application headers: STOMP user headers, MQTT 5 user properties, WAMP details. */
  readonly headers?: Readonly<Record<string, string>>;
  readonly origin: MessageOrigin;
  /** Delivery guarantee the publisher asked for; subscribers may downgrade. */
  readonly qos: QoS;
  /** The publisher asked the message to be kept for future subscribers (MQTT retain). */
  readonly retain?: boolean;
}

export type BusHandler = (message: BusMessage) => void;

export interface BusSubscribeOptions {
  /**
   * Groups this subscription with others under one owner object (an adapter's bridge, say), so
   * that `hasSubscribers(topic, owner)` can ask whether anybody *else* wants a topic.
   * @default the subscription itself
   */
  readonly owner?: object;
}

export interface BusSubscription {
  readonly filter: string;
  /** Stops delivery. Idempotent. */
  unsubscribe(): void;
}

export interface Bus {
  /**
   * Delivers `message` to every subscription whose filter matches its topic. The in-memory bus
   * delivers synchronously, before `publish` returns: a publisher's own matching subscription sees
   * the message while the publisher is still running. A networked driver returns a promise that
   * settles once the message left the node, and delivers on other nodes later.
   *
   * Drivers MUST hand the same message object to every matching subscription on a node, so that
   * a subscriber holding several overlapping filters can tell one message from two (see
   * `createBusBridge`), and MUST NOT deliver a message twice on one node (locally, then again as
   * echoed back by the network).
   * @throws TypeError when `message.topic` is not a valid topic name
   */
  publish(message: BusMessage): void | Promise<void>;
  /**
   * @param filter a topic filter (`+` and `#` allowed as whole levels, `#` last)
   * @throws TypeError when `filter` is not a valid topic filter
   */
  subscribe(filter: string, handler: BusHandler, options?: BusSubscribeOptions): BusSubscription;
  /**
   * Whether a message published on `topic` could reach any subscription other than `except`
   * (one subscription, or every subscription made with `except` as its `owner`).
   * Lets a publisher skip building a message (encoding, headers) that nobody would receive.
   * Optional: a driver that cannot tell (a networked one) omits it, and callers then assume true.
   * MUST NOT return false while a matching subscription exists.
   */
  hasSubscribers?(topic: string, except?: BusSubscription | object): boolean;
}
