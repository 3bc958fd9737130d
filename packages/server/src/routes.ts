/**
 * Route matching for upgrade requests: exact segments and `:name` parameters, first match wins.
 *
 * Trailing slashes: one trailing slash on the request path is ignored, so `/chat/` matches the
 * route `/chat` and `/ocpp/CP1/` matches `/ocpp/:identity` with `identity = 'CP1'` (charging
 * stations are often configured with a base URL that ends in a slash). A route written with a
 * trailing slash is the same route as without it. Empty segments anywhere else (`/a//b`,
 * `/chat//`) never match, and a parameter never matches an empty segment.
 */
import {
  createAdapterRegistry,
  limitCloseReason,
  type AdapterRegistry,
  type AdapterRegistryOptions,
  type DeflatePreference,
  type ProtocolAdapter,
} from '@protoplex/core';
import type { PerMessageDeflateOptions } from 'ws';

/** First-message recognition for clients that send no `Sec-WebSocket-Protocol` header. */
export interface RecognitionOptions {
  /**
   * Serve clients that send no `Sec-WebSocket-Protocol` header at all (stompjs's
   * `Stomp.over(() => new WebSocket(url))`, embedded MQTT and STOMP clients, `wscat`): the
   * upgrade is accepted without the header (RFC 6455 §4.2.2 lets the server answer none, and
   * it must not name one the client did not offer), the first message is shown to each adapter's
   * `recognize()` in route order, and the first adapter to answer with one of its ids gets the
   * connection: its `authorize(request, id)` runs then, `open` next, then `onMessage` with that
   * first message. Nothing recognises it: close 1002 naming the ids served here.
   *
   * Requests that offer a subprotocol are negotiated as always (400 for a malformed or unmatched
   * offer, or `onNoMatch`). Without this option a request with no header gets 400. Cannot be
   * combined with `fallback`, which already claims such requests.
   * @default false
   */
  recognize?: boolean;
  /**
   * Milliseconds a connection accepted for recognition may stay silent before it is closed with
   * 1002 "no first message". Checked on one sweep, so it fires up to 1 s (or half the timeout,
   * when shorter) late. Keep-alive pings such connections too.
   * @default 10000
   */
  recognizeTimeout?: number;
}

/**
 * Defaults of {@link RecognitionOptions}. Route options, so not in the server's `serverDefaults`
 * (which can be spread next to `routes`).
 */
export const recognitionDefaults = Object.freeze({
  recognize: false,
  recognizeTimeout: 10_000,
} as const);

/** One WebSocket endpoint: a path pattern and the adapters negotiated on it. */
export interface RouteOptions extends AdapterRegistryOptions, RecognitionOptions {
  /**
   * Path pattern: literal segments and `:name` parameters, e.g. `/ocpp/:identity`. Parameters
   * are percent-decoded into `UpgradeRequest.params`. Must start with `/`.
   */
  path: string;
  /** Adapters served on this path, in preference order (their `protocols` in turn, best first). */
  adapters: readonly ProtocolAdapter[];
  /**
   * permessage-deflate (RFC 7692) on this path: `false`, `true` (ws's defaults), or ws's options.
   * @default the adapters' own `perMessageDeflate` preference when they all give the same one,
   *   else the server's `perMessageDeflate`
   */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
}

type Segment = { readonly param: false; readonly value: string } | { readonly param: true; readonly name: string };

/** What a route with `recognize: true` needs at run time. */
export interface RouteRecognition {
  /** {@link RecognitionOptions.recognizeTimeout}, in ms. */
  readonly timeout: number;
  /** The 1002 close reason when no adapter recognises the first message, already cut to size. */
  readonly unrecognisedReason: string;
}

/** A route compiled at server creation, with its adapter registry. */
export interface CompiledRoute {
  readonly path: string;
  readonly segments: readonly Segment[];
  readonly registry: AdapterRegistry;
  /** Set when the route serves clients that offer no subprotocol by their first message. */
  readonly recognition: RouteRecognition | undefined;
  /** This route's own permessage-deflate settings; undefined: the server's. */
  readonly perMessageDeflate: boolean | PerMessageDeflateOptions | undefined;
}

/** The outcome of matching a request path against the routes. */
export type RouteMatch =
  | { readonly type: 'match'; readonly route: CompiledRoute; readonly params: Readonly<Record<string, string>>; readonly path: string }
  | { readonly type: 'not-found' }
  /** A segment holds a malformed percent-encoding (`%zz`, a lone `%`, invalid UTF-8). */
  | { readonly type: 'malformed'; readonly detail: string };

const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const NOT_FOUND: RouteMatch = { type: 'not-found' };
const NO_PARAMS: Readonly<Record<string, string>> = Object.freeze({});

function splitPath(path: string): string[] {
  // '/' is the root and has no segments; otherwise drop the leading slash and one trailing one.
  if (path === '/') return [];
  const parts = path.slice(1).split('/');
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/**
 * Compiles one route and builds its adapter registry. Registration errors (`RegistryError`) and
 * malformed patterns (`TypeError`) throw here, at server creation, never at run time.
 */
export function compileRoute(options: RouteOptions): CompiledRoute {
  const { path, adapters, recognize, recognizeTimeout, perMessageDeflate, ...registryOptions } = options;
  if (typeof path !== 'string' || !path.startsWith('/')) {
    throw new TypeError(`route path must start with "/", got ${JSON.stringify(path)}`);
  }
  const names = new Set<string>();
  const segments: Segment[] = splitPath(path).map((part) => {
    if (part.length === 0) throw new TypeError(`route ${path}: empty path segment`);
    if (!part.startsWith(':')) return { param: false, value: part };
    const name = part.slice(1);
    if (!PARAM_NAME.test(name)) throw new TypeError(`route ${path}: invalid parameter name ${JSON.stringify(name)}`);
    if (names.has(name)) throw new TypeError(`route ${path}: parameter :${name} appears twice`);
    names.add(name);
    return { param: true, name };
  });
  if (!Array.isArray(adapters) || adapters.length === 0) {
    throw new TypeError(`route ${path}: give at least one adapter`);
  }
  const registry = createAdapterRegistry(adapters, registryOptions);
  return { path, segments, registry, recognition: compileRecognition(path, registry, recognize, recognizeTimeout), perMessageDeflate: perMessageDeflate ?? deflateOf(adapters) };
}

/** zlib output chunk of each stream made for an adapter's preference (Node's default is 16 KiB). */
const DEFLATE_CHUNK = 1024;

/**
 * The adapters' shared deflate preference in ws's terms, when every adapter gives one and they
 * are all the same (a route mixing OCPP with another protocol keeps the server's setting).
 */
function deflateOf(adapters: readonly ProtocolAdapter[]): PerMessageDeflateOptions | undefined {
  const first = adapters[0]?.perMessageDeflate;
  if (!first) return undefined;
  const same = (a: DeflatePreference, b: DeflatePreference | undefined): boolean =>
    b !== undefined && a.serverMaxWindowBits === b.serverMaxWindowBits && a.clientMaxWindowBits === b.clientMaxWindowBits && a.memLevel === b.memLevel && a.threshold === b.threshold;
  if (!adapters.every((adapter) => same(first, adapter.perMessageDeflate))) return undefined;
  return {
    ...(first.serverMaxWindowBits !== undefined ? { serverMaxWindowBits: first.serverMaxWindowBits } : {}),
    ...(first.clientMaxWindowBits !== undefined ? { clientMaxWindowBits: first.clientMaxWindowBits } : {}),
    ...(first.threshold !== undefined ? { threshold: first.threshold } : {}),
    // Node's zlib streams keep an output buffer of `chunkSize` (16 KiB by default) each, for as
    // long as the connection lives; a small window needs no big chunk.
    zlibDeflateOptions: {
      chunkSize: DEFLATE_CHUNK,
      ...(first.memLevel !== undefined ? { memLevel: first.memLevel } : {}),
      ...(first.serverMaxWindowBits !== undefined ? { windowBits: first.serverMaxWindowBits } : {}),
    },
    zlibInflateOptions: { chunkSize: DEFLATE_CHUNK, ...(first.clientMaxWindowBits !== undefined ? { windowBits: first.clientMaxWindowBits } : {}) },
  };
}

function compileRecognition(
  path: string,
  registry: AdapterRegistry,
  recognize: boolean | undefined,
  recognizeTimeout: number | undefined,
): RouteRecognition | undefined {
  if (recognize !== undefined && typeof recognize !== 'boolean') {
    throw new TypeError(`route ${path}: recognize must be a boolean, got ${JSON.stringify(recognize)}`);
  }
  const timeout = recognizeTimeout ?? recognitionDefaults.recognizeTimeout;
  if (!(typeof timeout === 'number' && timeout > 0 && Number.isFinite(timeout))) {
    throw new RangeError(`route ${path}: recognizeTimeout must be a positive number of ms, got ${String(recognizeTimeout)}`);
  }
  if (!(recognize ?? recognitionDefaults.recognize)) return undefined;
  if (registry.fallback) {
    throw new TypeError(`route ${path}: recognize and fallback both claim clients that offer no subprotocol; choose one`);
  }
  if (!registry.adapters.some((adapter) => typeof adapter.recognize === 'function')) {
    const names = registry.adapters.map((adapter) => adapter.name).join(', ');
    throw new TypeError(`route ${path}: recognize is on but none of its adapters (${names}) implements recognize()`);
  }
  const ids = registry.served.map((served) => served.id).join(', ');
  return { timeout, unrecognisedReason: limitCloseReason(`unrecognised first message; this path serves ${ids}`) };
}

/** Compiles every route; two routes with the same shape (`/a/:x` and `/a/:y`) throw. */
export function compileRoutes(routes: readonly RouteOptions[]): CompiledRoute[] {
  const compiled = routes.map(compileRoute);
  const shapes = new Map<string, string>();
  for (const route of compiled) {
    const shape = '/' + route.segments.map((s) => (s.param ? ':' : s.value)).join('/');
    const other = shapes.get(shape);
    if (other !== undefined) throw new TypeError(`routes ${other} and ${route.path} match the same paths`);
    shapes.set(shape, route.path);
  }
  return compiled;
}

function decodeSegment(segment: string): string {
  return segment.includes('%') ? decodeURIComponent(segment) : segment;
}

/**
 * Matches a raw (still percent-encoded) request path, without the query, against `routes` in
 * order. Literal segments compare against the decoded request segment.
 */
export function matchRoute(routes: readonly CompiledRoute[], rawPath: string): RouteMatch {
  if (!rawPath.startsWith('/')) return NOT_FOUND;
  let decoded: string[];
  let path: string;
  try {
    decoded = splitPath(rawPath).map(decodeSegment);
    path = decodeSegment(rawPath);
  } catch {
    // decodeURIComponent throws URIError on `%` not followed by two hex digits and on bytes
    // that are not UTF-8 (RFC 3986 §2.1, §2.5).
    return { type: 'malformed', detail: 'Malformed percent-encoding in request path' };
  }
  for (const route of routes) {
    const { segments } = route;
    if (segments.length !== decoded.length) continue;
    let params: Record<string, string> | undefined;
    let ok = true;
    for (let i = 0; i < segments.length; i++) {
      const segment = segments[i]!;
      const value = decoded[i]!;
      if (segment.param) {
        if (value.length === 0) {
          ok = false;
          break;
        }
        (params ??= {})[segment.name] = value;
      } else if (segment.value !== value) {
        ok = false;
        break;
      }
    }
    if (ok) return { type: 'match', route, params: params ?? NO_PARAMS, path };
  }
  return NOT_FOUND;
}

/** Splits a request target into its raw path and raw query (absolute-form is reduced to its path). */
export function splitTarget(url: string): { readonly path: string; readonly query: string } {
  let target = url;
  if (!target.startsWith('/')) {
    // RFC 7230 §5.3.2 absolute-form ("GET http://host/path HTTP/1.1"), which a server MUST accept.
    try {
      const parsed = new URL(target);
      target = parsed.pathname + parsed.search;
    } catch {
      return { path: '', query: '' };
    }
  }
  const q = target.indexOf('?');
  return q === -1 ? { path: target, query: '' } : { path: target.slice(0, q), query: target.slice(q + 1) };
}
