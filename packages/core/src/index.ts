/**
 * @protoplex/core: the IANA WebSocket Protocol Registries as typed data, subprotocol negotiation,
 * close-code rules, the adapter contract and the cross-protocol bus. No run-time dependencies.
 */

// Adapter contract
export { defineAdapter } from './contract.js';
export type {
  AdapterContext,
  Clock,
  Connection,
  DeflatePreference,
  HeaderMap,
  LogFn,
  Logger,
  MetricLabels,
  Metrics,
  ProtocolAdapter,
  SendOptions,
  Session,
  Timer,
  TlsInfo,
  UpgradeRequest,
} from './contract.js';

// Errors
export { HandshakeError, HandshakeErrorCode, INTERNAL_ERROR_MESSAGE, ProtocolError, ProtocolErrorCode, RegistryError, RegistryErrorCode, toProtocolError } from './errors.js';

// Negotiation and the adapter registry
export { parseProtocolOffer, chooseProtocol } from './negotiation.js';
export type { OfferFault, ParsedOffer, ProtocolPreference } from './negotiation.js';
export { createAdapterRegistry } from './adapter-registry.js';
export type { AdapterRegistry, AdapterRegistryOptions, Negotiation, ServedProtocol } from './adapter-registry.js';

// IANA registries
export {
  CLOSE_CODE_RANGES,
  CLOSE_CODE_REGISTRATION_RANGES,
  CLOSE_REASON_MAX_BYTES,
  CloseCode,
  EXTENSIONS,
  FRAMING_HEADER_BITS,
  OPCODES,
  Opcode,
  REGISTRY_UPDATED,
  SUBPROTOCOLS,
  VERSION_NUMBERS,
  closeCode,
  closeReasonByteLength,
  extension,
  isRegisteredSubprotocol,
  isSendableCloseCode,
  isToken,
  limitCloseReason,
  subprotocol,
  subprotocolCaseConflict,
  validateClose,
  versionNumber,
} from './registry/index.js';
export type {
  CloseCodeInfo,
  CloseCodeRange,
  CloseCodeRegistrationRange,
  ExtensionId,
  ExtensionRecord,
  HeaderBitRecord,
  OpcodeRecord,
  Reference,
  ReferenceType,
  SubprotocolId,
  SubprotocolRecord,
  VersionNumberRecord,
  VersionStatus,
} from './registry/index.js';

// Bus
export { createMemoryBus } from './bus/memory.js';
export type { MemoryBus } from './bus/memory.js';
export type { Bus, BusHandler, BusMessage, BusSubscribeOptions, BusSubscription, MessageOrigin, QoS } from './bus/types.js';
export { TopicTrie } from './bus/trie.js';
export { createBusBridge, publishToBus } from './bus/bridge.js';
export type { BusBridge, BusBridgeOptions } from './bus/bridge.js';
export {
  createTopicMapper,
  decodeTopicLevel,
  encodeTopicLevel,
  hasWildcard,
  isValidTopicFilter,
  isValidTopicName,
  joinTopic,
  splitTopic,
  topicMatches,
} from './bus/topics.js';
export type { TopicMapper, TopicSyntax } from './bus/topics.js';

// Runtime pieces transports share
export { systemClock } from './clock.js';
export { silentLogger, noopMetrics } from './logging.js';
export { createConnectionScope } from './scope.js';
export { createDeadlineSweep } from './sweep.js';
export type { DeadlineSweep, Watched } from './sweep.js';
export { resolveOptions } from './options.js';
export type { OptionsOf } from './options.js';
export type { ConnectionScope, ScopeHoldings } from './scope.js';
