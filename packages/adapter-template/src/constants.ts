/**
 * The "lines" protocol: one command per text message, `VERB [topic] [payload]`.
 *
 *   client -> server: PING | ECHO <text> | SUB <topic-filter> | UNSUB <topic-filter> | PUB <topic> <payload>
 *   server -> client: PONG | ECHO <text> | OK <verb> <topic> | MSG <topic> <payload> | ERR <code> <text>
 *
 * Not an IANA-registered subprotocol: it exists to be copied.
 */
export const PROTOCOL_ID = 'lines.protoplex.dev';

export const Verb = {
  Ping: 'PING',
  Echo: 'ECHO',
  Sub: 'SUB',
  Unsub: 'UNSUB',
  Pub: 'PUB',
} as const;
export type Verb = (typeof Verb)[keyof typeof Verb];

/** Error codes sent in `ERR` replies; stable, so clients can match on them. */
export const ErrorCode = {
  BadCommand: 'bad-command',
  BadTopic: 'bad-topic',
  TooManySubscriptions: 'too-many-subscriptions',
  BinaryNotSupported: 'binary-not-supported',
  Idle: 'idle',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];
