/**
 * @protoplex/wamp: a WAMP v2 router (Basic and Advanced Profile) over WebSocket, for Autobahn,
 * wampy and every other WAMP client, with JSON, MessagePack and CBOR.
 */
// Adapter
export { wamp, wampDefaults, recognizeHello } from './adapter.js';
export type { WampAdapter } from './adapter.js';
export type {
  AuthMethod,
  AuthenticateAnswer,
  AuthenticateHook,
  AuthenticateRequest,
  AuthorizeHook,
  AuthorizeRequest,
  RegistrationInfo,
  SubscriptionInfo,
  WampAction,
  WampOptions,
  WampPermission,
  WampRealmConfig,
  WampStats,
} from './types.js';
// Codec
export { SERIALIZERS, decodeMessage, encodeMessage, generateMessage, parseMessage } from './codec.js';
export type { CodecFault, Dict, ParseResult, Serializer, WampMessage } from './codec.js';
// Constants
export { CancelMode, InvokePolicy, MatchPolicy, MessageType, WAMP_PROTOCOL, WAMP_SERIALIZER_PROTOCOLS, WampClose, WampError } from './constants.js';
export type { SerializerId } from './constants.js';
// URIs and topics
export { isValidUri } from './uri.js';
export type { UriCheck } from './uri.js';
export { wampTopics } from './topics.js';
