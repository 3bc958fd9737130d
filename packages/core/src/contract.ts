/**
 * The adapter contract: the only surface between a subprotocol implementation and a transport.
 *
 * Adapters are sans-IO. They never see a socket, never import `ws`, and never start a timer of
 * their own: everything they need arrives through {@link Connection} and {@link AdapterContext},
 * so the same adapter runs under `@protoplex/server`, under the in-memory pair of
 * `@protoplex/core/testing`, and later under other transports.
 */
import type { Bus } from './bus/types.js';

/** Header values as Node's `IncomingMessage.headers` holds them (lower-case names). */
export type HeaderMap = Readonly<Record<string, string | readonly string[] | undefined>>;

/** What a peer's TLS layer proved, when the transport is TLS. */
export interface TlsInfo {
  /** The client certificate chain was verified against the server's CA list. */
  readonly authorized: boolean;
  /** Why verification failed, when `authorized` is false. */
  readonly authorizationError?: string;
  /** The leaf certificate the client presented, if any. */
  readonly peerCertificate?: {
    readonly subject: Readonly<Record<string, string | string[]>>;
    readonly issuer: Readonly<Record<string, string | string[]>>;
    readonly fingerprint256: string;
    readonly serialNumber: string;
    readonly raw: Uint8Array;
  };
}

/** The HTTP upgrade request, as adapters see it before and after the handshake. */
export interface UpgradeRequest {
  /** Request target as sent: path and query. */
  readonly url: string;
  /** Percent-decoded path without the query. */
  readonly path: string;
  readonly query: URLSearchParams;
  /** Named route parameters, percent-decoded (`/ocpp/:identity` gives `{ identity }`). */
  readonly params: Readonly<Record<string, string>>;
  readonly headers: HeaderMap;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Present when the connection arrived over TLS. */
  readonly tls?: TlsInfo;
}

/** How {@link Connection.send} frames bytes. */
export interface SendOptions {
  /**
   * Send bytes as a text message. The caller guarantees they are valid UTF-8: this is for a
   * text encoded once and sent to many peers (fan-out), which then is not measured and encoded
   * again for each. Strings are always text. @default false
   */
  readonly text?: boolean;
}

/**
 * One accepted WebSocket connection, as the adapter may use it.
 *
 * Implementations MUST refuse (throw `RangeError`) a close code that may never be sent on the
 * wire (RFC 6455 §7.4: 1004, 1005, 1006, 1015, 0-999, the unassigned 1016-2999) and a reason
 * longer than 123 bytes of UTF-8.
 */
export interface Connection {
  /** Unique for the lifetime of the process. */
  readonly id: string;
  /** The negotiated subprotocol id, exactly as offered; it selects the protocol version. */
  readonly protocol: string;
  /** False when the id was accepted as an alias or an unregistered id (see `ProtocolAdapter.aliases`). */
  readonly registered: boolean;
  readonly request: UpgradeRequest;
  /** Whatever `ProtocolAdapter.authorize` returned for this connection (undefined when it returned nothing). */
  readonly auth: unknown;
  /** True until `close()` is called or the peer goes away. */
  readonly isOpen: boolean;
  /** Bytes queued by the transport and not yet written to the socket. */
  readonly bufferedAmount: number;
  /**
   * Queues one WebSocket message: a string goes as a text message, bytes as a binary message
   * (or as text with `{ text: true }`).
   * @returns false when the send buffer is above its high-water mark: the caller should stop
   *   producing until `onDrain` fires. The message was still queued. Sends after close are dropped.
   */
  send(data: Uint8Array | string, options?: SendOptions): boolean;
  /** Called once each time the send buffer falls back below its low-water mark. */
  onDrain(listener: () => void): void;
  /**
   * Starts the closing handshake. Safe to call more than once; only the first call counts.
   * @param code a sendable close code, default 1000
   * @param reason at most 123 bytes of UTF-8
   */
  close(code?: number, reason?: string): void;
}

/** The per-connection protocol state machine an adapter returns from `open`. */
export interface Session {
  /**
   * One complete WebSocket message from the peer. `data` is a string exactly when `isBinary` is
   * false (a text message, already checked as UTF-8 by the transport), and a `Uint8Array` exactly
   * when it is true.
   *
   * MUST NOT throw: bad input is answered with the protocol's own error and a close, through the
   * session's one exit path (throw a `ProtocolError` in handlers, catch it once here, answer,
   * close; see `toProtocolError`). The transport still catches and closes with 1011 if it does.
   */
  onMessage(data: Uint8Array | string, isBinary: boolean): void;
  /**
   * The connection is gone (closing handshake finished, or the socket died with 1006). Called
   * exactly once, and never from inside `onMessage`. After the session calls `connection.close()`
   * it comes later on a real server (once the peer answers the close, or the socket dies), but
   * the in-memory test connection calls it before `close()` returns when `close()` runs outside
   * `onMessage` (from a timer, say): write teardown that works in either order.
   * The session MUST release what it holds: bus subscriptions made through the
   * connection's context and timers made through its clock.
   */
  onClose(code: number, reason: string): void;
}

/** A timer handle from {@link Clock}. */
export interface Timer {
  /** Cancels the timer; harmless after it fired. */
  cancel(): void;
  /** Restarts a timeout from now (keep-alive resets) without allocating a new timer. */
  refresh(): void;
}

/** All time an adapter uses, so tests can drive heart-beats and keep-alives with a fake clock. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(callback: () => void, ms: number): Timer;
  setInterval(callback: () => void, ms: number): Timer;
}

/** pino-compatible log methods: `log.info('text')` or `log.info({ field }, 'text')`. */
export interface LogFn {
  (message: string): void;
  (fields: Record<string, unknown>, message?: string): void;
}

export interface Logger {
  readonly debug: LogFn;
  readonly info: LogFn;
  readonly warn: LogFn;
  readonly error: LogFn;
  child(bindings: Record<string, unknown>): Logger;
}

/** Label values; the transport adds `protocol` to every metric an adapter records. */
export type MetricLabels = Readonly<Record<string, string>>;

/**
 * Adapter-defined metrics. Names are snake_case without the `protoplex_` prefix, which the
 * transport adds. A name MUST keep one kind and one set of label names for the process lifetime.
 */
export interface Metrics {
  /** Adds `value` (default 1) to a monotonically increasing counter. */
  increment(name: string, labels?: MetricLabels, value?: number): void;
  /** Sets a gauge to `value`. */
  set(name: string, value: number, labels?: MetricLabels): void;
  /** Records one observation in a histogram. */
  observe(name: string, value: number, labels?: MetricLabels): void;
}

/**
 * What the transport hands an adapter. `setup` receives the server-wide context; `open`
 * receives a connection-scoped one whose `bus` and `clock` track what the session creates, so
 * the transport can release leftovers on close and the conformance suite can prove there are none.
 */
export interface AdapterContext {
  readonly bus: Bus;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly clock: Clock;
  /** Aborted when the server shuts down (server-wide) or the connection closes (connection-scoped). */
  readonly signal: AbortSignal;
}

/**
 * How an adapter would like permessage-deflate (RFC 7692) on its connections, when the route it is
 * served on says nothing itself. The transport maps it to its own settings; an adapter never
 * compresses anything.
 */
export interface DeflatePreference {
  /** LZ77 window the server compresses with, 8-15 (`server_max_window_bits`). Small windows keep each connection's zlib state small. */
  readonly serverMaxWindowBits?: number;
  /** Window the client may use, 8-15 (`client_max_window_bits`, when the client offers the parameter). */
  readonly clientMaxWindowBits?: number;
  /** zlib's memLevel for the server's compressor, 1-9: the other half of its memory per connection. */
  readonly memLevel?: number;
  /** Messages below this many bytes go uncompressed. */
  readonly threshold?: number;
}

/**
 * A subprotocol implementation. Plain object; build it with a `createX(options)`/`x(options)` factory.
 */
export interface ProtocolAdapter {
  /** Short name for logs and the `protocol` metric label, e.g. `'mqtt'`, `'stomp'`. */
  readonly name: string;
  /**
   * Subprotocol ids this adapter serves, best first (the server's preference order). Each MUST be
   * an RFC 7230 token; ids IANA does not list are accepted and reported as unregistered.
   */
  readonly protocols: readonly string[];
  /**
   * Unregistered ids seen in practice (`wamp.2.json`, `mqttv3.1`). Opt-in: they are negotiated
   * after every id in `protocols`, and connections on them report `registered: false`.
   */
  readonly aliases?: readonly string[];
  /**
   * Called once before the server accepts connections, with the server-wide context. State that
   * outlives a connection (retained messages, queues, persistent sessions) subscribes here.
   */
  setup?(context: AdapterContext): void | Promise<void>;
  /**
   * Runs before the 101 response, after negotiation chose `protocol`. Throw a `HandshakeError`
   * to refuse with its HTTP status (401, 403, 404...). The returned value becomes `Connection.auth`.
   */
  authorize?(request: UpgradeRequest, protocol: string): unknown;
  /** Starts the protocol on an accepted connection. MUST NOT throw for any request. */
  open(connection: Connection, context: AdapterContext): Session;
  /**
   * First-message recognition, for clients that offer no subprotocol (RFC 6455 lets them). On a
   * route that opts in, the server accepts such an upgrade without a `Sec-WebSocket-Protocol`
   * answer (RFC 6455 §4.2.2), reads the first message and asks each adapter of the route, in
   * route order, whether it speaks this protocol. The first to answer with an id gets the
   * connection: `open` runs with `connection.protocol` set to that id, then `onMessage` with this
   * same first message. Offered subprotocols are negotiated as always; this never runs for them.
   *
   * MUST be cheap, pure and MUST NOT throw: it sees whatever a stranger sends.
   * @returns an id of `protocols` (or `aliases`) that `data` speaks, which selects the version
   *   (STOMP's from `accept-version`, for example), or undefined when `data` is not this protocol
   */
  recognize?(data: Uint8Array | string, isBinary: boolean): string | undefined;
  /**
   * permessage-deflate for this adapter's connections when its route does not set it: OCPP 2.0.1
   * Part 4 has the CSMS support compression, for example. A route serving several adapters uses
   * it only when all of them give the same preference.
   */
  readonly perMessageDeflate?: DeflatePreference;
  /**
   * Graceful shutdown: flush and persist before the server closes every connection with 1001.
   * The signal aborts when the server's shutdown timeout runs out.
   */
  shutdown?(signal: AbortSignal): Promise<void>;
}

/**
 * Identity helper for type inference when writing an adapter object literal.
 */
export function defineAdapter<T extends ProtocolAdapter>(adapter: T): T {
  return adapter;
}
