/**
 * Every table of the `lines` protocol: its id, verbs, error codes, metric names. The protocol itself
 * is specified in the package README ("The protocol"); checks in the code cite its rules as
 * `[LINES-n]`, the way the other adapters cite `[MQTT-3.1.0-2]` or `STOMP 1.2 Heart-beating`.
 *
 *   client -> server: PING | ECHO <text> | SUB <topic-filter> | UNSUB <topic-filter> | PUB <topic> <payload>
 *   server -> client: PONG | ECHO <text> | OK <verb> <topic> | MSG <topic> <payload> | ERR <code> <text>
 */

/**
 * The one subprotocol id served. IANA does not list it, so connections on it report
 * `registered: false`; a real protocol uses its registered id here.
 */
export const LINES_PROTOCOL = 'lines.protoplex.dev';

/** Where the protocol's topics live on the bus by default: `room.1` is `lines/room/1`. */
export const LINES_BUS_PREFIX = 'lines';

export const Verb = {
  Ping: 'PING',
  Echo: 'ECHO',
  Sub: 'SUB',
  Unsub: 'UNSUB',
  Pub: 'PUB',
} as const;
export type Verb = (typeof Verb)[keyof typeof Verb];

/** Every verb, for recognition and dispatch. */
export const VERBS: ReadonlySet<string> = new Set<string>(Object.values(Verb));

/** Length of the longest verb: recognition never looks further into a message. */
export const MAX_VERB_LENGTH = Math.max(...[...VERBS].map((verb) => verb.length));

/** Error codes sent in `ERR` replies; stable, so clients can match on them. */
export const ErrorCode = {
  BadCommand: 'bad-command',
  BadTopic: 'bad-topic',
  TooManySubscriptions: 'too-many-subscriptions',
  BinaryNotSupported: 'binary-not-supported',
  Idle: 'idle',
  /** A bug on our side; the text is always `Internal error`. */
  Internal: 'internal',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * What the session's `fail` needs besides the error's message and close code: the `ERR` code
 * of its answer. The `Detail` of this package's `ProtocolError<LinesFault>`.
 */
export interface LinesFault {
  readonly code: ErrorCode;
}

/**
 * Metrics this adapter records. The transport prefixes `protoplex_` and adds the `protocol`
 * label, so Prometheus shows `protoplex_lines_messages_published_total{protocol="lines"}`.
 */
export const MetricName = {
  /** Counter: `PUB` commands accepted, whether or not anybody received the message. */
  MessagesPublished: 'lines_messages_published_total',
  /** Counter: `MSG` messages dropped because a slow reader's queue was full ([LINES-6]). */
  MessagesDropped: 'lines_messages_dropped_total',
} as const;
export type MetricName = (typeof MetricName)[keyof typeof MetricName];

/**
 * Longest interval of the idle sweep. It runs at half the idle timeout when that is shorter, so
 * an idle connection is closed at most half a timeout late.
 */
export const SWEEP_INTERVAL_MAX_MS = 1000;
