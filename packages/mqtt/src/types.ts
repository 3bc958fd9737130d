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

/**
 * Hooks, named like Aedes's, all optional and permissive by default. Each may return a value or
 * a promise; packets from the same client wait while one of its hooks is pending, so order holds.
 */
export interface MqttHooks {
  /**
   * CONNECT arrived. Return false (or `{ ok: false, reasonCode }`) to refuse it with CONNACK
   * 0x87 Not authorized (3.1.1: 0x05). @default accepts everyone
   */
  authenticate?(client: MqttClient, username: string | undefined, password: Buffer | undefined): boolean | AuthenticateResult | Promise<boolean | AuthenticateResult>;
  /**
   * A client PUBLISH (or a will about to be sent, with `client` set to the will's owner). Return
   * false to drop it: 5.0 clients get PUBACK/PUBREC 0x87, 3.1.1 clients a normal acknowledgement.
   * @default allows everything
   */
  authorizePublish?(client: MqttClient, message: MqttMessage): boolean | Promise<boolean>;
  /**
   * One topic filter of a SUBSCRIBE. Return false to refuse it (SUBACK 0x80 / 0x87), or a QoS to
   * grant a lower one. @default grants what was asked
   */
  authorizeSubscribe?(client: MqttClient, subscription: { readonly topic: string; readonly qos: QoS }): boolean | QoS | Promise<boolean | QoS>;
  /** A message was accepted and routed (from a client, a will or `$SYS`; `client` null for the broker). */
  published?(message: MqttMessage, client: MqttClient | null): void;
  /**
   * MQTT 5.0 enhanced authentication (AUTH packets). When absent, a CONNECT with an
   * Authentication Method gets CONNACK 0x8C Bad authentication method.
   */
  enhancedAuth?(request: EnhancedAuthRequest): EnhancedAuthStep | Promise<EnhancedAuthStep>;
  /**
   * MQTT 5.0 Response Information (§3.2.2.3.15): returned in CONNACK to a client that sent Request
   * Response Information 1, typically a topic prefix for its responses. @default absent (none sent)
   */
  responseInformation?(clientId: string): string;
}

/** Options of {@link mqtt}; see `defaultOptions` for every default. */
export interface MqttOptions extends MqttHooks {
  aliases?: boolean;
  maxPacketSize?: number;
  maximumQoS?: 0 | 1 | 2;
  receiveMaximum?: number;
  maxInflight?: number;
  topicAliasMaximum?: number;
  outboundTopicAliases?: boolean;
  maxQueuedMessages?: number;
  keepAliveMaximum?: number;
  sessionExpiryMaximum?: number;
  retainAvailable?: boolean;
  sharedSubscriptions?: boolean;
  sysInterval?: number;
  persistence?: MqttPersistence;
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
