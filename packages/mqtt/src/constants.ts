/**
 * MQTT numeric tables: protocol levels, CONNACK return codes (3.1.1) and reason codes (5.0).
 * Sources: OASIS MQTT 3.1.1 §3.2.2.3 Table 3.1, OASIS MQTT 5.0 §2.4 Table 2-6.
 */

/** CONNECT protocol levels. [MQTT-3.1.2-2] (3.1.1): 4; (5.0): 5. 3 is MQTT 3.1 ("MQIsdp"). */
export const ProtocolLevel = {
  V31: 3,
  V311: 4,
  V5: 5,
} as const;
export type ProtocolLevel = (typeof ProtocolLevel)[keyof typeof ProtocolLevel];

/** The two versions this broker speaks. */
export type MqttVersion = 4 | 5;

/** MQTT 3.1.1 CONNACK return codes (§3.2.2.3). */
export const ConnackReturnCode = {
  Accepted: 0x00,
  UnacceptableProtocolVersion: 0x01,
  IdentifierRejected: 0x02,
  ServerUnavailable: 0x03,
  BadUsernameOrPassword: 0x04,
  NotAuthorized: 0x05,
} as const;
export type ConnackReturnCode = (typeof ConnackReturnCode)[keyof typeof ConnackReturnCode];

/** MQTT 5.0 reason codes (§2.4) this broker sends or reads. */
export const ReasonCode = {
  Success: 0x00,
  GrantedQoS1: 0x01,
  GrantedQoS2: 0x02,
  DisconnectWithWill: 0x04,
  NoMatchingSubscribers: 0x10,
  NoSubscriptionExisted: 0x11,
  ContinueAuthentication: 0x18,
  ReAuthenticate: 0x19,
  UnspecifiedError: 0x80,
  MalformedPacket: 0x81,
  ProtocolError: 0x82,
  ImplementationSpecificError: 0x83,
  UnsupportedProtocolVersion: 0x84,
  ClientIdentifierNotValid: 0x85,
  BadUserNameOrPassword: 0x86,
  NotAuthorized: 0x87,
  ServerUnavailable: 0x88,
  ServerBusy: 0x89,
  ServerShuttingDown: 0x8b,
  BadAuthenticationMethod: 0x8c,
  KeepAliveTimeout: 0x8d,
  SessionTakenOver: 0x8e,
  TopicFilterInvalid: 0x8f,
  TopicNameInvalid: 0x90,
  PacketIdentifierInUse: 0x91,
  PacketIdentifierNotFound: 0x92,
  ReceiveMaximumExceeded: 0x93,
  TopicAliasInvalid: 0x94,
  PacketTooLarge: 0x95,
  QuotaExceeded: 0x97,
  PayloadFormatInvalid: 0x99,
  RetainNotSupported: 0x9a,
  QoSNotSupported: 0x9b,
  SharedSubscriptionsNotSupported: 0x9e,
  SubscriptionIdentifiersNotSupported: 0xa1,
  WildcardSubscriptionsNotSupported: 0xa2,
} as const;
export type ReasonCode = (typeof ReasonCode)[keyof typeof ReasonCode];

/** 3.1.1 SUBACK failure return code (§3.9.3). */
export const SUBACK_FAILURE = 0x80;

/** Largest remaining length MQTT can encode (§2.2.3): 268,435,455 bytes. */
export const MAX_REMAINING_LENGTH = 268_435_455;

/** Largest packet identifier (§2.2.1): 16 bits, 0 is never used. */
export const MAX_PACKET_ID = 0xffff;

/** Prefix of shared subscriptions (MQTT 5.0 §4.8.2). */
export const SHARE_PREFIX = '$share/';

/** Session Expiry Interval meaning "never expires" (MQTT 5.0 §3.1.2.11.2). */
export const SESSION_NEVER_EXPIRES = 0xffffffff;
