/**
 * @protoplex/stomp: a STOMP 1.0, 1.1 and 1.2 broker over WebSocket (`v12.stomp`, `v11.stomp`,
 * `v10.stomp`) with RabbitMQ Web-STOMP destination semantics.
 */

// Adapter
export { stomp, stompDefaults } from './adapter.js';
export type { StompAdapter, StompDefaults, StompOptions, StompStats } from './adapter.js';
export type { StompCredentials, SessionStats } from './session.js';

// Codec
export { createParser, parseFrame, encodeFrame, encodeHead, escapeHeader, unescapeHeader, defaultParseLimits } from './codec.js';
export type { StompFrame, StompParser, ParseFault, ParseLimits, ParseResult } from './codec.js';

// Protocol constants
export { AckMode, ClientCommand, ServerCommand, StompVersion, STOMP_PROTOCOLS, VERSION_OF_SUBPROTOCOL, DestinationPrefix, SessionLimit, REQUIRED_HEADERS, BODY_COMMANDS } from './constants.js';
export type { StompSubprotocol } from './constants.js';

// Destinations
export { stompTopics, parseDestination, toBusTopic, toBusFilter, fromBusTopic } from './topics.js';
export type { Destination } from './topics.js';
