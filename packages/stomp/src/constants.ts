/**
 * STOMP constants: versions, subprotocol ids, commands, byte values and the headers the broker
 * owns. Every table in one place (mqtt-packet `constants.js` habit).
 *
 * @see https://stomp.github.io/stomp-specification-1.2.html
 * @see https://stomp.github.io/stomp-specification-1.1.html
 * @see https://stomp.github.io/stomp-specification-1.0.html
 */

/** STOMP protocol versions this package speaks. */
export const StompVersion = {
  V1_0: '1.0',
  V1_1: '1.1',
  V1_2: '1.2',
} as const;
export type StompVersion = (typeof StompVersion)[keyof typeof StompVersion];

/**
 * IANA WebSocket subprotocol ids of STOMP, best first (server preference), and the version each
 * fixes. (Core's `SUBPROTOCOLS` is the whole IANA registry; this is STOMP's part of it.)
 * @see https://www.iana.org/assignments/websocket/websocket.xml#subprotocol-name
 */
export const STOMP_PROTOCOLS = ['v12.stomp', 'v11.stomp', 'v10.stomp'] as const;
export type StompSubprotocol = (typeof STOMP_PROTOCOLS)[number];

export const VERSION_OF_SUBPROTOCOL: Readonly<Record<StompSubprotocol, StompVersion>> = {
  'v12.stomp': '1.2',
  'v11.stomp': '1.1',
  'v10.stomp': '1.0',
};

/** Frames a client sends (STOMP 1.2 "Client Frames"). `STOMP` and `NACK` exist from 1.1 on. */
export const ClientCommand = {
  Connect: 'CONNECT',
  Stomp: 'STOMP',
  Send: 'SEND',
  Subscribe: 'SUBSCRIBE',
  Unsubscribe: 'UNSUBSCRIBE',
  Ack: 'ACK',
  Nack: 'NACK',
  Begin: 'BEGIN',
  Commit: 'COMMIT',
  Abort: 'ABORT',
  Disconnect: 'DISCONNECT',
} as const;
export type ClientCommand = (typeof ClientCommand)[keyof typeof ClientCommand];

/** Frames the server sends (STOMP 1.2 "Server Frames"). */
export const ServerCommand = {
  Connected: 'CONNECTED',
  Message: 'MESSAGE',
  Receipt: 'RECEIPT',
  Error: 'ERROR',
} as const;
export type ServerCommand = (typeof ServerCommand)[keyof typeof ServerCommand];

/** Ack modes of SUBSCRIBE (STOMP 1.2 "SUBSCRIBE ack Header"); `client-individual` is 1.1+. */
export const AckMode = {
  Auto: 'auto',
  Client: 'client',
  ClientIndividual: 'client-individual',
} as const;
export type AckMode = (typeof AckMode)[keyof typeof AckMode];

/** Destination prefixes with RabbitMQ Web-STOMP semantics. */
export const DestinationPrefix = {
  Topic: '/topic/',
  Queue: '/queue/',
  TempQueue: '/temp-queue/',
  /** What a `reply-to: /temp-queue/x` header is rewritten to, as RabbitMQ does. */
  ReplyQueue: '/reply-queue/',
} as const;

/** Bytes of the frame grammar (STOMP 1.2 "Augmented BNF"). */
export const Byte = {
  NUL: 0x00,
  LF: 0x0a,
  CR: 0x0d,
  COLON: 0x3a,
  BACKSLASH: 0x5c,
} as const;

/**
 * Headers the broker sets or interprets on SEND; they are not carried to subscribers as user
 * headers. STOMP 1.2 "SEND": "All other SEND headers should be passed as is"... to the receiving
 * MESSAGE, which is what user headers are.
 */
export const RESERVED_SEND_HEADERS: ReadonlySet<string> = new Set([
  'destination',
  'content-length',
  'content-type',
  'receipt',
  'transaction',
  'message-id',
  'subscription',
  'ack',
]);

/**
 * Headers a client frame MUST carry, per version. A frame without one gets ERROR and close 1002.
 * STOMP 1.2 "SEND": "SEND frames MUST include a destination header"; "SUBSCRIBE": "The SUBSCRIBE
 * frame MUST include a destination header" and "an id header MUST be included"; "UNSUBSCRIBE":
 * "The UNSUBSCRIBE frame MUST include an id header"; "ACK"/"NACK": "MUST include an id header
 * matching the ack header of the MESSAGE"; "BEGIN"/"COMMIT"/"ABORT": "The transaction header is
 * REQUIRED". STOMP 1.1 "ACK": "ACK has two REQUIRED headers: message-id ... and subscription".
 * STOMP 1.0 "SUBSCRIBE" has no id (the destination stands in), "UNSUBSCRIBE" takes an id or the
 * destination (checked by the session), and "ACK" requires only `message-id`.
 */
export const REQUIRED_HEADERS: Readonly<Record<StompVersion, Readonly<Record<string, readonly string[]>>>> = {
  '1.0': {
    SEND: ['destination'],
    SUBSCRIBE: ['destination'],
    UNSUBSCRIBE: [],
    ACK: ['message-id'],
    BEGIN: ['transaction'],
    COMMIT: ['transaction'],
    ABORT: ['transaction'],
  },
  '1.1': {
    SEND: ['destination'],
    SUBSCRIBE: ['destination', 'id'],
    UNSUBSCRIBE: ['id'],
    ACK: ['message-id', 'subscription'],
    NACK: ['message-id', 'subscription'],
    BEGIN: ['transaction'],
    COMMIT: ['transaction'],
    ABORT: ['transaction'],
  },
  '1.2': {
    SEND: ['destination'],
    SUBSCRIBE: ['destination', 'id'],
    UNSUBSCRIBE: ['id'],
    ACK: ['id'],
    NACK: ['id'],
    BEGIN: ['transaction'],
    COMMIT: ['transaction'],
    ABORT: ['transaction'],
  },
};

/**
 * Client frames that may carry a body. STOMP 1.2 "Body": "Only the SEND, MESSAGE, and ERROR
 * frames MAY have a body. All other frames MUST NOT have a body" (STOMP 1.1 says the same; 1.0
 * has no such rule).
 */
export const BODY_COMMANDS: ReadonlySet<string> = new Set(['SEND', 'MESSAGE', 'ERROR']);

/** Identifies the broker in CONNECTED (STOMP 1.2 "CONNECTED Frame": `server` header). */
export const SERVER_NAME = 'protoplex-stomp/0';

/**
 * Per-session caps that keep one client from holding unbounded broker memory; exceeding one is
 * answered with ERROR and close 1008 (the specification leaves such limits to the server).
 */
export const SessionLimit = {
  /** Open subscriptions plus temporary queues. */
  Subscriptions: 1000,
  /** Transactions open at once. */
  Transactions: 100,
  /** SEND/ACK/NACK frames held by one transaction. */
  TransactionFrames: 10_000,
} as const;
