/**
 * @protoplex/mqtt: an MQTT 3.1.1 and 5.0 broker over WebSocket (IANA subprotocol `mqtt`).
 */

// Adapter
export { mqtt, mqttDefaults } from './adapter.js';
export type { MqttAdapter } from './adapter.js';
export type {
  AuthenticateRequest,
  AuthenticateResult,
  AuthorizePublishRequest,
  AuthorizeSubscribeRequest,
  EnhancedAuthRequest,
  EnhancedAuthStep,
  MqttClient,
  MqttHooks,
  MqttMessage,
  MqttOptions,
  MqttStats,
  PublishedEvent,
  ResponseInformationRequest,
} from './types.js';

// Persistence
export { createMemoryPersistence } from './persistence.js';
export type {
  MemoryPersistenceOptions,
  MqttPersistence,
  StoredDelivery,
  StoredMessage,
  StoredMessageProperties,
  StoredSession,
  StoredSubscription,
} from './persistence.js';

// Codec
export { createPacketReader, decodePackets, encodePacket, encodePublish, packetSize, sniffConnectLevel } from './codec.js';
export type {
  AuthPacket,
  ConnackPacket,
  ConnectPacket,
  DisconnectPacket,
  Packet,
  PacketReader,
  PacketReaderOptions,
  PingreqPacket,
  PingrespPacket,
  PubackPacket,
  PubcompPacket,
  PublishPacket,
  PubrecPacket,
  PubrelPacket,
  ReadError,
  ReadErrorKind,
  SubackPacket,
  SubscribePacket,
  Subscription,
  UnsubackPacket,
  UnsubscribePacket,
  UserProperties,
} from './codec.js';

// Constants
export { ConnackReturnCode, ProtocolLevel, ReasonCode } from './constants.js';
export type { MqttVersion } from './constants.js';

// Topics
export { mqttTopics, parseSharedFilter } from './topics.js';
export type { SharedFilter } from './topics.js';
