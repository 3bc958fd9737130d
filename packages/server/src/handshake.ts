/**
 * Everything decided before the 101: request validation, routing, Origin, negotiation (through
 * core, the only place that reads Sec-WebSocket-Protocol) and `authorize`. Nothing here writes
 * to a socket except {@link writeHandshakeError}; the server counts, logs and upgrades.
 */
import { STATUS_CODES, validateHeaderName, validateHeaderValue, type IncomingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import {
  HandshakeError,
  HandshakeErrorCode,
  type ProtocolAdapter,
  type TlsInfo,
  type UpgradeRequest,
} from '@protoplex/core';
import { matchRoute, splitTarget, type CompiledRoute } from './routes.js';

/** The `reason` label of a refused handshake in `protoplex_handshakes_total`. */
export type RefusalReason =
  | 'malformed_offer'
  | 'no_match'
  | 'version'
  | 'origin'
  | 'unauthorized'
  | 'not_found'
  | 'bad_request'
  | 'shutting_down'
  /** A `recognize` route's first message was recognised by no adapter, or never came. */
  | 'unrecognized'
  | 'error';

/** Decides whether an Origin may connect; see `ServerOptions.allowedOrigins`. */
export type OriginPredicate = (origin: string, request: UpgradeRequest) => boolean;

/** The parts of `http.IncomingMessage` the handshake reads; unit tests pass plain objects. */
export interface HandshakeInput {
  readonly method?: string | undefined;
  /** `'1.1'`; absent in unit tests. */
  readonly httpVersion?: string | undefined;
  readonly url?: string | undefined;
  readonly headers: IncomingHttpHeaders;
  readonly socket?: Partial<Pick<TLSSocket, 'remoteAddress' | 'remotePort' | 'encrypted' | 'authorized' | 'authorizationError' | 'getPeerCertificate'>> | undefined;
}

export interface HandshakeEnvironment {
  readonly routes: readonly CompiledRoute[];
  /** `undefined` lets every Origin through. */
  readonly allowedOrigins?: readonly string[] | OriginPredicate | undefined;
  readonly requireOrigin?: boolean | undefined;
  readonly isShuttingDown: () => boolean;
  /** Pending while adapters run `setup`; `undefined` once they are done. */
  readonly pendingSetup?: () => Promise<void> | undefined;
}

/** Answer with an HTTP error instead of upgrading. */
export interface HandshakeRefusal {
  readonly type: 'refuse';
  readonly status: number;
  readonly message: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly reason: RefusalReason;
  /** Adapter name for the metric label; `''` when refused before an adapter was chosen. */
  readonly adapterName: string;
  /** The unexpected error behind a 500, for the log. */
  readonly error?: unknown;
}

/**
 * Upgrade: `adapter` is undefined for `onNoMatch: 'close'`, which carries `close`, and for a
 * request without a header on a `recognize` route, which carries `recognize` (the adapter is
 * chosen, and authorized, by the first message).
 */
export interface HandshakeAcceptance {
  readonly type: 'accept';
  readonly request: UpgradeRequest;
  /** The negotiated id; `''` for a fallback adapter, `onNoMatch: 'close'` and recognition (no header). */
  readonly protocol: string;
  readonly adapter: ProtocolAdapter | undefined;
  readonly registered: boolean;
  readonly auth: unknown;
  readonly close?: { readonly code: number; readonly reason: string };
  readonly recognize?: CompiledRoute;
  /** The route that matched (its permessage-deflate settings). */
  readonly route: CompiledRoute;
}

export type HandshakeOutcome = HandshakeRefusal | HandshakeAcceptance;

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

// RFC 6455 §4.2.1 item 5: "|Sec-WebSocket-Key| ... when decoded, is 16 bytes in length": 16
// bytes are 22 base64 characters and "==" padding.
const KEY = /^[+/0-9A-Za-z]{22}==$/;

function refuse(
  status: number,
  message: string,
  reason: RefusalReason,
  adapterName = '',
  headers: Readonly<Record<string, string>> = NO_HEADERS,
  error?: unknown,
): HandshakeRefusal {
  return error === undefined
    ? { type: 'refuse', status, message, headers, reason, adapterName }
    : { type: 'refuse', status, message, headers, reason, adapterName, error };
}

const shuttingDown = (adapterName = ''): HandshakeRefusal => refuse(503, 'Server is shutting down', 'shutting_down', adapterName);

/**
 * Whether a comma-separated header holds `token` (lower-case), ASCII case-insensitively, with
 * optional whitespace around elements. Scans in place: no split, trim or lower-casing copies.
 */
export function headerHasToken(value: string | string[] | undefined, token: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'string') {
    for (const line of value) if (headerHasToken(line, token)) return true;
    return false;
  }
  let start = 0;
  for (let i = 0; i <= value.length; i++) {
    if (i < value.length && value.charCodeAt(i) !== 0x2c /* , */) continue;
    let from = start;
    let to = i;
    while (from < to && isOws(value.charCodeAt(from))) from++;
    while (to > from && isOws(value.charCodeAt(to - 1))) to--;
    if (to - from === token.length && equalsIgnoringAsciiCase(value, from, token)) return true;
    start = i + 1;
  }
  return false;
}

function isOws(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

function equalsIgnoringAsciiCase(value: string, from: number, lowerToken: string): boolean {
  for (let j = 0; j < lowerToken.length; j++) {
    let c = value.charCodeAt(from + j);
    if (c >= 0x41 && c <= 0x5a) c += 0x20;
    if (c !== lowerToken.charCodeAt(j)) return false;
  }
  return true;
}

// Headers the transport consumes and adapters never need. Connection and Upgrade are hop-by-hop
// (RFC 7230 §6.1: a proxy would not forward them either); Sec-WebSocket-Key, -Version and
// -Extensions belong to the handshake itself (RFC 6455 §4.2.1). Dropping them keeps about 300
// bytes per idle connection off the heap. Sec-WebSocket-Protocol stays: it is the client's offer.
const CONSUMED_HEADERS: ReadonlySet<string> = new Set([
  'connection',
  'upgrade',
  'sec-websocket-key',
  'sec-websocket-version',
  'sec-websocket-extensions',
]);

/**
 * The request as adapters see it. `query` is parsed on first read: most adapters never look at
 * it, and a URLSearchParams per idle connection is a few hundred bytes of heap.
 */
class ServerUpgradeRequest implements UpgradeRequest {
  private parsedQuery: URLSearchParams | undefined;

  constructor(
    readonly url: string,
    readonly path: string,
    private readonly rawQuery: string,
    readonly params: Readonly<Record<string, string>>,
    readonly headers: IncomingHttpHeaders,
    readonly remoteAddress: string,
    readonly remotePort: number,
  ) {}

  get query(): URLSearchParams {
    return (this.parsedQuery ??= new URLSearchParams(this.rawQuery));
  }
}

/** The request's headers without the ones the handshake consumed (see `UpgradeRequest.headers`). */
export function adapterHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (const name in headers) if (!CONSUMED_HEADERS.has(name)) out[name] = headers[name];
  return out;
}

/** Headers a 426 must carry: the version we speak and, per RFC 7230 §6.7, the protocol to upgrade to. */
export const UPGRADE_REQUIRED_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  // RFC 6455 §4.4: the server "MUST abort the WebSocket handshake ... and instead send an
  // appropriate HTTP error code (such as 426 Upgrade Required) and a |Sec-WebSocket-Version|
  // header field indicating the version(s) the server is capable of understanding."
  'Sec-WebSocket-Version': '13',
  // RFC 7231 §6.5.15: "The server MUST send an Upgrade header field in a 426 response".
  Upgrade: 'websocket',
});

/**
 * Checks the request line and the RFC 6455 §4.2.1 headers. Returns the refusal, or undefined
 * when the request is a well-formed version-13 opening handshake.
 */
export function checkUpgradeHeaders(
  method: string | undefined,
  headers: IncomingHttpHeaders,
  httpVersion?: string,
): HandshakeRefusal | undefined {
  // RFC 6455 §4.2.1 item 1: "An HTTP/1.1 or higher GET request". §4.2.2: if the handshake is
  // not valid "the server MUST stop processing the client's handshake and return an HTTP
  // response with an appropriate error code (such as 400 Bad Request)".
  if (method !== 'GET') return refuse(400, 'WebSocket upgrade requires GET', 'bad_request');
  if (httpVersion === '1.0' || httpVersion === '0.9') return refuse(400, 'WebSocket upgrade requires HTTP/1.1', 'bad_request');
  // §4.2.1 item 3: "An |Upgrade| header field containing the value "websocket", treated as an
  // ASCII case-insensitive value."
  if (!headerHasToken(headers.upgrade, 'websocket')) return refuse(400, 'Missing or invalid Upgrade header', 'bad_request');
  // §4.2.1 item 4: "A |Connection| header field that includes the token "Upgrade", treated as
  // an ASCII case-insensitive value."
  if (!headerHasToken(headers.connection, 'upgrade')) return refuse(400, 'Missing or invalid Connection header', 'bad_request');
  // §4.2.1 item 6: "A |Sec-WebSocket-Version| header field, with a value of 13." §4.4 asks for
  // 426 plus the versions we understand; a client speaking another version learns 13 from it.
  if (headers['sec-websocket-version'] !== '13') {
    return refuse(426, 'Unsupported WebSocket version; this server speaks version 13', 'version', '', UPGRADE_REQUIRED_HEADERS);
  }
  const key = headers['sec-websocket-key'];
  if (typeof key !== 'string' || !KEY.test(key)) return refuse(400, 'Missing or invalid Sec-WebSocket-Key header', 'bad_request');
  return undefined;
}

/** What the peer's TLS layer proved, read from a `TLSSocket`; undefined over plain TCP. */
export function readTlsInfo(socket: HandshakeInput['socket']): TlsInfo | undefined {
  if (!socket?.encrypted) return undefined;
  const error = socket.authorizationError;
  const cert = socket.getPeerCertificate?.();
  // getPeerCertificate() returns {} when the client sent no certificate.
  const peerCertificate =
    cert && cert.raw
      ? {
          subject: { ...cert.subject } as Record<string, string | string[]>,
          issuer: { ...cert.issuer } as Record<string, string | string[]>,
          fingerprint256: cert.fingerprint256,
          serialNumber: cert.serialNumber,
          raw: cert.raw,
        }
      : undefined;
  return {
    authorized: socket.authorized === true,
    ...(error ? { authorizationError: String(error) } : {}),
    ...(peerCertificate ? { peerCertificate } : {}),
  };
}

function originAllowed(
  allowed: HandshakeEnvironment['allowedOrigins'],
  origin: string,
  request: UpgradeRequest,
): boolean {
  if (allowed === undefined) return true;
  if (typeof allowed === 'function') return allowed(origin, request) === true;
  // RFC 6454 §6.2: origins compare as their ASCII serialisation; browsers send scheme and host
  // lower-case, and configs are often written otherwise, so compare case-insensitively.
  const lower = origin.toLowerCase();
  for (const entry of allowed) if (entry.toLowerCase() === lower) return true;
  return false;
}

export function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/**
 * Decides the answer to one upgrade request. Synchronous unless it has to wait for adapter setup
 * or an async `authorize`. Never throws and never rejects: unexpected errors become a 500 refusal.
 */
export function evaluateHandshake(input: HandshakeInput, env: HandshakeEnvironment): HandshakeOutcome | Promise<HandshakeOutcome> {
  try {
    if (env.isShuttingDown()) return shuttingDown();
    const invalid = checkUpgradeHeaders(input.method, input.headers, input.httpVersion);
    if (invalid) return invalid;

    const url = input.url ?? '/';
    const target = splitTarget(url);
    const match = matchRoute(env.routes, target.path);
    if (match.type === 'malformed') return refuse(400, match.detail, 'bad_request');
    if (match.type === 'not-found') return refuse(404, 'No WebSocket endpoint at this path', 'not_found');

    const tls = readTlsInfo(input.socket);
    const request = new ServerUpgradeRequest(
      url,
      match.path,
      target.query,
      match.params,
      adapterHeaders(input.headers),
      input.socket?.remoteAddress ?? '',
      input.socket?.remotePort ?? 0,
    );
    if (tls) (request as { tls?: TlsInfo }).tls = tls;

    // RFC 6455 §10.2: "servers that are not intended to process input from any web page but only
    // for certain sites SHOULD verify the |Origin| field is an origin they expect. If the origin
    // indicated is unacceptable to the server, then it SHOULD respond to the WebSocket handshake
    // with a reply containing HTTP 403 Forbidden status code."
    const origin = input.headers.origin;
    if (origin === undefined) {
      if (env.requireOrigin) return refuse(403, 'Origin header required', 'origin');
    } else if (!originAllowed(env.allowedOrigins, origin, request)) {
      return refuse(403, 'Origin not allowed', 'origin');
    }

    const setup = env.pendingSetup?.();
    if (setup) {
      return setup.then(
        () => negotiate(request, match.route, input.headers, env),
        (error: unknown) => refuse(503, 'Server failed to start', 'error', '', NO_HEADERS, error),
      );
    }
    return negotiate(request, match.route, input.headers, env);
  } catch (error) {
    return refuse(500, 'Internal server error', 'error', '', NO_HEADERS, error);
  }
}

function negotiate(
  request: UpgradeRequest,
  route: CompiledRoute,
  headers: IncomingHttpHeaders,
  env: HandshakeEnvironment,
): HandshakeOutcome | Promise<HandshakeOutcome> {
  if (env.isShuttingDown()) return shuttingDown();
  const offer = headers['sec-websocket-protocol'];
  if (offer === undefined && route.recognition) {
    // RFC 6455 §4.1 item 10: the client "MAY include" the header; §4.2.2 item 5.4 lets the server
    // answer without one (and it must not name an id the client did not offer). The first
    // message then picks the adapter; an offered header, even an empty one, is negotiated below.
    return { type: 'accept', request, protocol: '', adapter: undefined, registered: false, auth: undefined, recognize: route, route };
  }
  // RFC 6455 §4.2.2 item 5.4 and §11.3.4: core parses the offer and chooses one id or none.
  const negotiation = route.registry.negotiate(offer);
  switch (negotiation.type) {
    case 'refuse': {
      const { error } = negotiation;
      const reason: RefusalReason = error.code === HandshakeErrorCode.MalformedOffer ? 'malformed_offer' : 'no_match';
      return refuse(error.status, error.message, reason, '', error.headers);
    }
    case 'close':
      return { type: 'accept', request, protocol: '', adapter: undefined, registered: false, auth: undefined, close: { code: negotiation.code, reason: negotiation.reason }, route };
    case 'fallback':
      return authorize(request, route, negotiation.adapter, '', false, env);
    case 'accept': {
      const { served } = negotiation;
      return authorize(request, route, served.adapter, negotiation.protocol, served.registered && !served.alias, env);
    }
  }
}

function authorize(
  request: UpgradeRequest,
  route: CompiledRoute,
  adapter: ProtocolAdapter,
  protocol: string,
  registered: boolean,
  env: HandshakeEnvironment,
): HandshakeOutcome | Promise<HandshakeOutcome> {
  if (!adapter.authorize) return accepted(request, route, adapter, protocol, registered, undefined, env);
  let result: unknown;
  try {
    result = adapter.authorize(request, protocol);
  } catch (error) {
    return authorizeFailed(adapter, error);
  }
  if (!isPromiseLike(result)) return accepted(request, route, adapter, protocol, registered, result, env);
  return Promise.resolve(result).then(
    (auth) => accepted(request, route, adapter, protocol, registered, auth, env),
    (error: unknown) => authorizeFailed(adapter, error),
  );
}

function accepted(
  request: UpgradeRequest,
  route: CompiledRoute,
  adapter: ProtocolAdapter,
  protocol: string,
  registered: boolean,
  auth: unknown,
  env: HandshakeEnvironment,
): HandshakeOutcome {
  // Shutdown may have started while authorize ran.
  if (env.isShuttingDown()) return shuttingDown(adapter.name);
  return { type: 'accept', request, protocol, adapter, registered, auth, route };
}

function authorizeFailed(adapter: ProtocolAdapter, error: unknown): HandshakeRefusal {
  if (error instanceof HandshakeError) {
    return refuse(error.status, error.message, 'unauthorized', adapter.name, error.headers);
  }
  return refuse(500, 'Internal server error', 'error', adapter.name, NO_HEADERS, error);
}

function destroySocket(this: Duplex): void {
  this.destroy();
}

/**
 * Answers a refused upgrade with a plain HTTP response and destroys the socket once it is
 * written, as ws's `abortHandshake` does. Header names and values that could split the response
 * (CR, LF, non-token names) are dropped rather than written.
 */
export function writeHandshakeError(
  socket: Duplex,
  status: number,
  message: string,
  headers: Readonly<Record<string, string>> = NO_HEADERS,
): void {
  if (socket.destroyed) return;
  // After 'upgrade' the socket has no error listener of Node's; a reset peer must not crash us.
  if (socket.listenerCount('error') === 0) socket.on('error', destroySocket);
  const body = Buffer.from(message, 'utf8');
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`,
    // RFC 7230 §6.7: a header that names Upgrade must come with "upgrade" in Connection.
    status === 426 ? 'Connection: Upgrade, close' : 'Connection: close',
    'Content-Type: text/plain; charset=utf-8',
    `Content-Length: ${body.length}`,
  ];
  for (const name of Object.keys(headers)) {
    const value = headers[name]!;
    try {
      validateHeaderName(name);
      validateHeaderValue(name, value);
    } catch {
      continue;
    }
    const lower = name.toLowerCase();
    if (lower === 'connection' || lower === 'content-length' || lower === 'content-type') continue;
    lines.push(`${name}: ${value}`);
  }
  socket.once('finish', () => socket.destroy());
  socket.end(Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1'), body]));
}
