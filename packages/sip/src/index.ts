/**
 * SIP over WebSocket (RFC 7118) for Protoplex: a registrar (RFC 3261 §10, Outbound RFC 5626,
 * GRUU RFC 5627) with digest authentication (RFC 7616, RFC 8760) and a stateful proxy (RFC 3261
 * §16) for browser softphones, with a small application API and an optional bridge to the bus.
 */
export { sip, sipDefaults, recognizeSip } from './adapter.js';
export type { SipAdapter } from './adapter.js';
export { SIP_PROTOCOL } from './constants.js';
export { parseMessage } from './parser.js';
export type { ParseResult } from './parser.js';
export { serializeMessage, createResponse } from './serializer.js';
export { getHeader, getHeaders } from './message.js';
export type { SipBody, SipHeader, SipMessage, SipRequest, SipResponse } from './message.js';
export { parseUri, formatUri, uriEquals, aorOf } from './uri.js';
export type { SipUri } from './uri.js';
export type { DigestAlgorithm } from './digest.js';
export type {
  AuthenticateHook,
  AuthenticateRequest,
  SendMessageRequest,
  SipApplicationMessage,
  SipBindingInfo,
  SipCallInfo,
  SipCredentials,
  SipOptions,
  SipRegistrationChange,
  SipReply,
  SipStats,
} from './types.js';
