/**
 * Errors with a stable `code` string. Users match on `code`, never on message text.
 *
 * `instanceof` is brand-checked through `Symbol.for` so it still works when two copies of
 * `@protoplex/core` end up installed (an adapter built against one, a server against another).
 */

const handshakeBrand = Symbol.for('protoplex.HandshakeError');
const protocolBrand = Symbol.for('protoplex.ProtocolError');
const registryBrand = Symbol.for('protoplex.RegistryError');

/** Stable codes of {@link HandshakeError}. */
export const HandshakeErrorCode = {
  /** The Sec-WebSocket-Protocol offer is not a comma-separated list of distinct tokens. */
  MalformedOffer: 'PPX_HANDSHAKE_MALFORMED_OFFER',
  /** No offered id is served here and there is no fallback. */
  NoMatchingProtocol: 'PPX_HANDSHAKE_NO_MATCHING_PROTOCOL',
  /** Sec-WebSocket-Version is not 13. */
  UnsupportedVersion: 'PPX_HANDSHAKE_UNSUPPORTED_VERSION',
  /** The Origin is not on the allow-list. */
  OriginRefused: 'PPX_HANDSHAKE_ORIGIN_REFUSED',
  /** An adapter's `authorize` refused the request. */
  Unauthorized: 'PPX_HANDSHAKE_UNAUTHORIZED',
  /** The request is not a valid WebSocket upgrade (method, headers, key). */
  BadRequest: 'PPX_HANDSHAKE_BAD_REQUEST',
  /** No route matches the request path. */
  NotFound: 'PPX_HANDSHAKE_NOT_FOUND',
  /** The server is shutting down. */
  ShuttingDown: 'PPX_HANDSHAKE_SHUTTING_DOWN',
} as const;
export type HandshakeErrorCode = (typeof HandshakeErrorCode)[keyof typeof HandshakeErrorCode];

/**
 * Refuses an upgrade with an HTTP status before any 101 is sent. Thrown by negotiation, by the
 * server's own checks, and by `ProtocolAdapter.authorize`.
 */
export class HandshakeError extends Error {
  override readonly name = 'HandshakeError';
  readonly status: number;
  readonly code: string;
  /** Extra response headers, e.g. `WWW-Authenticate` for 401 or `Sec-WebSocket-Version` for 426. */
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    status: number,
    message: string,
    options: { code?: string; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    if (!Number.isInteger(status) || status < 400 || status > 599) {
      throw new RangeError(`HandshakeError status must be an HTTP error status (400-599), got ${status}`);
    }
    this.status = status;
    this.code = options.code ?? (status === 401 || status === 403 ? HandshakeErrorCode.Unauthorized : HandshakeErrorCode.BadRequest);
    this.headers = options.headers ?? {};
  }

  static override [Symbol.hasInstance](value: unknown): value is HandshakeError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[handshakeBrand] === true;
  }
}
Object.defineProperty(HandshakeError.prototype, handshakeBrand, { value: true });

/** Stable codes of {@link ProtocolError}. */
export const ProtocolErrorCode = {
  /** The peer broke the protocol (the default). */
  Violation: 'PPX_PROTOCOL_ERROR',
  /** A bug or an unexpected failure on our side: close 1011, details only in the log. */
  Internal: 'PPX_PROTOCOL_INTERNAL',
} as const;
export type ProtocolErrorCode = (typeof ProtocolErrorCode)[keyof typeof ProtocolErrorCode];

/**
 * A protocol violation after the upgrade. This is every adapter's one exit path: handlers throw
 * it (or pass it to the session's `fail`), one catch per session turns it into the protocol's
 * own error answer (STOMP ERROR, MQTT reason code, WAMP ABORT, OCPP CALLERROR, SIP 4xx), then
 * closes the WebSocket with `closeCode` and the message (cut with `limitCloseReason`) as reason.
 *
 * `detail` carries what that answer needs besides the text (a STOMP `receipt-id`, an MQTT reason
 * code); each adapter names its own `Detail` type.
 */
export class ProtocolError<Detail = unknown> extends Error {
  override readonly name = 'ProtocolError';
  readonly closeCode: number;
  readonly code: string;
  readonly detail: Detail | undefined;

  constructor(closeCode: number, message: string, options: { code?: string; cause?: unknown; detail?: Detail } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.closeCode = closeCode;
    this.code = options.code ?? ProtocolErrorCode.Violation;
    this.detail = options.detail;
  }

  static override [Symbol.hasInstance](value: unknown): value is ProtocolError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[protocolBrand] === true;
  }
}
Object.defineProperty(ProtocolError.prototype, protocolBrand, { value: true });

/** Stable codes of {@link RegistryError}. */
export const RegistryErrorCode = {
  NotAToken: 'PPX_REGISTRY_NOT_A_TOKEN',
  DuplicateId: 'PPX_REGISTRY_DUPLICATE_ID',
  CaseConflict: 'PPX_REGISTRY_CASE_CONFLICT',
  NoProtocols: 'PPX_REGISTRY_NO_PROTOCOLS',
} as const;
export type RegistryErrorCode = (typeof RegistryErrorCode)[keyof typeof RegistryErrorCode];

/** An adapter set that cannot be served: thrown at registration, never at run time. */
export class RegistryError extends Error {
  override readonly name = 'RegistryError';
  readonly code: RegistryErrorCode;

  constructor(code: RegistryErrorCode, message: string) {
    super(message);
    this.code = code;
  }

  static override [Symbol.hasInstance](value: unknown): value is RegistryError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[registryBrand] === true;
  }
}
Object.defineProperty(RegistryError.prototype, registryBrand, { value: true });

/** The message of the error that stands for a bug: the peer sees no internals. */
export const INTERNAL_ERROR_MESSAGE = 'Internal error';

/**
 * What a session's one catch does with whatever was thrown: a `ProtocolError` passes through; any
 * other error is a bug, logged with its stack, and becomes a 1011 `ProtocolError` whose message
 * ({@link INTERNAL_ERROR_MESSAGE}) hides it from the peer.
 */
export function toProtocolError<Detail = unknown>(error: unknown, log?: { error(fields: Record<string, unknown>, message?: string): void }): ProtocolError<Detail> {
  if (error instanceof ProtocolError) return error as ProtocolError<Detail>;
  log?.error({ err: error }, 'session failed; closing with 1011');
  return new ProtocolError<Detail>(1011, INTERNAL_ERROR_MESSAGE, { code: ProtocolErrorCode.Internal, cause: error });
}
