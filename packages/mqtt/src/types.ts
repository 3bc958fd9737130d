/**
 * Public types of the broker: the client as hooks see it, the hooks, the options.
 */
import type { QoS, UpgradeRequest } from '@protoplex/core';
import type { UserProperties } from './codec.js';
import type { MqttPersistence } from './persistence.js';

/** A connected MQTT client, as hooks see it. */
export interface MqttClient {
  /** The MQTT Client Identifier (assigned by the broker when the client sent none). */
  readonly id: string;
  /** The WebSocket connection id (`Connection.id`). */
  readonly connectionId: string;
  /** 4 for MQTT 3.1.1, 5 for MQTT 5.0. */
  readonly version: 4 | 5;
  readonly username?: string;
  readonly request: UpgradeRequest;
  /** What `ProtocolAdapter.authorize` returned for this connection. */
  readonly auth: unknown;
}

/** An application message as hooks see it. */
export interface MqttMessage {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: QoS;
  readonly retain: boolean;
  readonly contentType?: string;
  readonly userProperties?: UserProperties;
}

/** What `authenticate` may answer besides true/false. */
export interface AuthenticateResult {
  readonly ok: boolean;
  /**
   * The MQTT 5.0 CONNACK reason code to refuse with (e.g. 0x86 bad user name or password,
   * 0x8A banned); 3.1.1 clients get the nearest return code. @default 0x87 / 0x05
   */
  readonly reasonCode?: number;
}

/** One step of MQTT 5.0 enhanced authentication (§4.12). */
export interface EnhancedAuthRequest {
  readonly client: MqttClient;
  /** The Authentication Method of the CONNECT. */
  readonly method: string;
  /** Authentication Data of the CONNECT or of the client's last AUTH. */
  readonly data: Buffer | undefined;
  /** 0 for the CONNECT (or a re-authentication's first AUTH), then 1, 2... */
  readonly step: number;
  /** True when the client re-authenticates on an established connection (AUTH 0x19). */
  readonly reauthenticate: boolean;
  /** Scratch space kept across the steps of one exchange. */
  readonly state: Record<string, unknown>;
}

export type EnhancedAuthStep =
  /** Authenticated; `data` goes in the CONNACK (or the final AUTH of a re-authentication). */
  | { readonly status: 'success'; readonly data?: Buffer }
  /** Send AUTH 0x18 with `data` and wait for the client's next AUTH. */
  | { readonly status: 'continue'; readonly data?: Buffer }
  /** Refuse with `reasonCode` (default 0x87 Not authorized). */
  | { readonly status: 'failure'; readonly reasonCode?: number };

/** What `authenticate` sees: the client and the CONNECT's credentials. */
export interface AuthenticateRequest {
  readonly client: MqttClient;
  readonly username: string | undefined;
  readonly password: Buffer | undefined;
}

/** What `authorizePublish` sees: a client PUBLISH, or a will with its owner as `client`. */
export interface AuthorizePublishRequest {
  readonly client: MqttClient;
  readonly message: MqttMessage;
}

/** What `authorizeSubscribe` sees: one topic filter of a SUBSCRIBE. */
export interface AuthorizeSubscribeRequest {
  readonly client: MqttClient;
  /** The filter as subscribed (`$share/{group}/` prefix included). */
  readonly topic: string;
  /** The QoS asked for, already capped at `maximumQoS`. */
  readonly qos: QoS;
}

/** What `published` sees: a message accepted and routed. */
export interface PublishedEvent {
  readonly message: MqttMessage;
  /** The publisher, or null for the broker's own `publish`. */
  readonly client: MqttClient | null;
}

/** What `responseInformation` sees: the client that asked for Response Information. */
export interface ResponseInformationRequest {
  readonly client: MqttClient;
}

/**
 * Hooks, named like Aedes's, all optional and permissive by default. Each takes one object, and
 * may return a value or a promise; packets from the same client wait while one of its hooks is
 * pending, so order holds.
 */
export interface MqttHooks {
  /**
   * CONNECT arrived. Return false (or `{ ok: false, reasonCode }`) to refuse it with CONNACK
   * 0x87 Not authorized (3.1.1: 0x05). A throw or rejection answers 0x80 (3.1.1: 0x03) and closes 1011.
   * @default accepts everyone
   */
  authenticate?(request: AuthenticateRequest): boolean | AuthenticateResult | Promise<boolean | AuthenticateResult>;
  /**
   * A client PUBLISH (or a will, at CONNECT and again when it is sent). Return false to drop it:
   * 5.0 clients get PUBACK/PUBREC 0x87, 3.1.1 clients a normal acknowledgement. A throw or
   * rejection counts as false.
   * @default allows everything
   */
  authorizePublish?(request: AuthorizePublishRequest): boolean | Promise<boolean>;
  /**
   * One topic filter of a SUBSCRIBE. Return false to refuse it (SUBACK 0x80 / 0x87), or a QoS to
   * grant a lower one. A throw or rejection counts as false.
   * @default grants what was asked
   */
  authorizeSubscribe?(request: AuthorizeSubscribeRequest): boolean | QoS | Promise<boolean | QoS>;
  /**
   * A message was accepted and routed (from a client, a will, or the broker's own `publish`).
   * @default absent
   */
  published?(event: PublishedEvent): void;
  /**
   * MQTT 5.0 enhanced authentication (AUTH packets). When absent, a CONNECT with an
   * Authentication Method gets CONNACK 0x8C Bad authentication method.
   * @default absent
   */
  enhancedAuth?(request: EnhancedAuthRequest): EnhancedAuthStep | Promise<EnhancedAuthStep>;
  /**
   * MQTT 5.0 Response Information (§3.2.2.3.15): returned in CONNACK to a client that sent Request
   * Response Information 1, typically a topic prefix for its responses.
   * @default absent (none sent)
   */
  responseInformation?(request: ResponseInformationRequest): string;
}

/** Options of {@link mqtt}, every one optional; `mqttDefaults` holds the defaults. */
export interface MqttOptions extends MqttHooks {
  /**
   * Also negotiate the unregistered `mqttv3.1` id some old clients offer (reported as
   * unregistered). The CONNECT still decides the version, and level 3 is refused.
   * @default false
   */
  aliases?: boolean;
  /**
   * Largest packet accepted from a client, in bytes, checked as soon as its fixed header arrives;
   * sent to 5.0 clients as Maximum Packet Size. Keep it strictly below the server's `maxPayload`
   * (1 MiB by default) so that an oversized packet arriving in one WebSocket message is still read
   * far enough for MQTT to answer it (5.0: DISCONNECT 0x95) before the close 1009; a message above
   * `maxPayload` is closed 1009 by the transport without an MQTT answer.
   * @default 262144 (256 KiB)
   */
  maxPacketSize?: number;
  /**
   * Highest QoS accepted from clients and granted to subscriptions (sent to 5.0 clients as Maximum
   * QoS when below 2). A PUBLISH above it gets DISCONNECT 0x9B (3.1.1: close 1008), a will above
   * it CONNACK 0x9B (3.1.1: 0x05).
   * @default 2
   */
  maximumQoS?: 0 | 1 | 2;
  /** QoS 2 PUBLISH packets a client may leave unreleased (5.0 Receive Maximum in CONNACK); one more gets DISCONNECT 0x93. @default 64 */
  receiveMaximum?: number;
  /** Most QoS 1/2 messages in flight to one client; the client's own Receive Maximum lowers it. @default 64 */
  maxInflight?: number;
  /** Topic aliases a 5.0 client may use towards the broker (Topic Alias Maximum in CONNACK). @default 16 */
  topicAliasMaximum?: number;
  /** Use topic aliases towards 5.0 clients that allow them (saves bytes; those clients then get their own encoded copy of each PUBLISH). @default true */
  outboundTopicAliases?: boolean;
  /** QoS 1/2 messages queued per session beyond its in-flight window (online or offline); later ones are dropped and logged. @default 1000 */
  maxQueuedMessages?: number;
  /** Seconds; when > 0, 5.0 clients asking for 0 or more get this as Server Keep Alive. @default 0 (accept the client's) */
  keepAliveMaximum?: number;
  /** Seconds a session may outlive its connection; 3.1.1 persistent sessions get exactly this. @default 4294967295 (never expire) */
  sessionExpiryMaximum?: number;
  /** Retained messages are supported (off: RETAIN gets 0x9A, a will with retain CONNACK 0x9A). @default true */
  retainAvailable?: boolean;
  /** `$share/{group}/{filter}` subscriptions are supported (off: SUBACK 0x9E). @default true */
  sharedSubscriptions?: boolean;
  /** Seconds between `$SYS/broker/...` updates; 0 turns them off. @default 10 */
  sysInterval?: number;
  /** Where sessions and retained messages outlive connections and restarts. @default createMemoryPersistence() */
  persistence?: MqttPersistence;
  /** Milliseconds a connection may stay without CONNECT before it is closed (1008). @default 30000 */
  connectTimeout?: number;
}

/** Options with every default applied (hooks stay optional). */
export interface ResolvedOptions extends MqttHooks {
  aliases: boolean;
  maxPacketSize: number;
  maximumQoS: 0 | 1 | 2;
  receiveMaximum: number;
  maxInflight: number;
  topicAliasMaximum: number;
  outboundTopicAliases: boolean;
  maxQueuedMessages: number;
  keepAliveMaximum: number;
  sessionExpiryMaximum: number;
  retainAvailable: boolean;
  sharedSubscriptions: boolean;
  sysInterval: number;
  persistence: MqttPersistence;
  connectTimeout: number;
}

/** What `stats()` returns: JSON-serialisable, for dashboards. */
export interface MqttStats {
  clients: Array<{ clientId: string; version: 4 | 5; connectedAt: number; subscriptions: string[] }>;
  /** Sessions the broker holds, online and offline. */
  sessions: number;
  retained: number;
  /** PUBLISH packets accepted from clients. */
  messagesIn: number;
  /** PUBLISH packets sent to clients. */
  messagesOut: number;
}
