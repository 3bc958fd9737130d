/**
 * `createServer` and `attach`: the transport that maps `ws` onto core's adapter contract, with
 * routes, limits, keep-alive, graceful shutdown, logs and metrics. The only file that creates a
 * `WebSocketServer`.
 */
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server as HttpServer,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer, type ServerOptions as HttpsServerOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type PerMessageDeflateOptions } from 'ws';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import {
  createDeadlineSweep,
  createMemoryBus,
  systemClock,
  validateClose,
  type AdapterContext,
  type AdapterRegistryOptions,
  type Bus,
  type Clock,
  type Logger,
  type ProtocolAdapter,
} from '@protoplex/core';
import { ServerWebSocket, WsConnection, type ConnectionHost, type ConnectionInit, type ServerConnection } from './connection.js';
import { defaultRequestHandler, serveHealth, serveMetrics } from './_http.js';
import {
  evaluateHandshake,
  writeHandshakeError,
  type HandshakeAcceptance,
  type HandshakeEnvironment,
  type HandshakeOutcome,
  type OriginPredicate,
} from './handshake.js';
import { createKeepAlive, type KeepAlive, type KeepAliveOptions } from './keep-alive.js';
import { ServerMetrics, type ProtocolStats } from './metrics.js';
import { PendingConnection, type PendingHost } from './recognition.js';
import { compileRoutes, type CompiledRoute, type RecognitionOptions, type RouteOptions } from './routes.js';

/** Defaults of every plain option; logger, metrics, bus and clock defaults are built per server. */
export const serverDefaults = Object.freeze({
  /** Largest message accepted from a peer, in bytes; larger ones close the connection with 1009. */
  maxPayload: 1024 * 1024,
  /** permessage-deflate (RFC 7692) is off: it costs CPU and memory per connection. */
  perMessageDeflate: false,
  /** Ping every 30 s; a peer silent until the next ping is terminated. */
  keepAlive: Object.freeze({ interval: 30_000 }),
  /** Bytes buffered for a peer above which `send` returns false. */
  highWaterMark: 1024 * 1024,
  /** Bytes buffered for a peer above which the connection is closed. */
  maxBufferedAmount: 16 * 1024 * 1024,
  /** Close code for a send-buffer overflow: 1013 Try Again Later. */
  overflowCloseCode: 1013,
  /** A missing Origin header is allowed (non-browser clients send none). */
  requireOrigin: false,
  /** Milliseconds each shutdown phase may take before it is cut short. */
  shutdownTimeout: 10_000,
} as const);

/** Options shared by {@link createServer} and {@link attach}. */
export interface HandleOptions extends AdapterRegistryOptions, RecognitionOptions {
  /**
   * WebSocket endpoints, matched in order: `[{ path: '/ocpp/:identity', adapters: [ocpp()], onNoMatch: 'close' }]`.
   * Give either `routes` or `adapters`.
   */
  routes?: readonly RouteOptions[];
  /**
   * Shorthand for one route at `/`: `adapters: [mqtt(), stomp()]`. The top-level `preference`,
   * `fallback`, `onNoMatch`, `noMatchCloseCode`, `recognize` and `recognizeTimeout` apply to
   * this shorthand route only.
   */
  adapters?: readonly ProtocolAdapter[];
  /**
   * Largest message accepted from a peer, in bytes. A larger one closes the connection with
   * 1009 Message Too Big (RFC 6455 §7.4.1).
   * @default 1048576 (1 MiB)
   */
  maxPayload?: number;
  /**
   * permessage-deflate (RFC 7692): `true`, or ws's options object.
   * @default false
   */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /**
   * Server pings: `{ interval, timeout? }` in milliseconds, or `false` to disable. One sweep
   * (core's `createDeadlineSweep`) serves every connection, including those a `recognize`
   * route still waits on.
   * @default { interval: 30000 }
   */
  keepAlive?: KeepAliveOptions | false;
  /**
   * Bytes buffered for one peer above which `Connection.send` returns false; `onDrain` fires
   * once the buffer is back at half this value.
   * @default 1048576 (1 MiB)
   */
  highWaterMark?: number;
  /**
   * Bytes buffered for one peer above which the message is dropped and the connection closed
   * with `overflowCloseCode` (counted in `protoplex_send_buffer_overflows_total`).
   * @default 16777216 (16 MiB)
   */
  maxBufferedAmount?: number;
  /**
   * Close code for a send-buffer overflow: 1013 Try Again Later or 1008 Policy Violation.
   * @default 1013
   */
  overflowCloseCode?: 1008 | 1013;
  /**
   * Origins allowed to connect (compared ASCII case-insensitively, e.g. `'https://app.example'`),
   * or a predicate. Others get 403. A request without Origin passes unless `requireOrigin`.
   * @default undefined (every origin)
   */
  allowedOrigins?: readonly string[] | OriginPredicate;
  /**
   * Refuse (403) requests that carry no Origin header.
   * @default false
   */
  requireOrigin?: boolean;
  /**
   * A pino logger (or anything with core's `Logger` shape).
   * @default pino({ level: process.env.LOG_LEVEL ?? 'info' })
   */
  logger?: Logger;
  /**
   * The prom-client registry the server's metrics go to; `handle.metrics.registry`.
   * @default a new Registry
   */
  metrics?: Registry;
  /**
   * The cross-protocol bus handed to every adapter.
   * @default createMemoryBus() whose subscriber errors are logged, not rethrown
   */
  bus?: Bus;
  /**
   * Time source for keep-alive, shutdown timers and every adapter timer.
   * @default systemClock
   */
  clock?: Clock;
  /**
   * Milliseconds each shutdown phase may take (adapters' `shutdown`, then the close handshakes,
   * then the HTTP server) before it is cut short.
   * @default 10000
   */
  shutdownTimeout?: number;
  /** Called after a connection's session is open. Errors are logged. */
  onConnection?: (connection: ServerConnection) => void;
  /** Called after a connection's `session.onClose`. Errors are logged. */
  onClose?: (connection: ServerConnection, code: number, reason: string) => void;
}

/** Options of {@link createServer}. */
export interface ServerOptions extends HandleOptions {
  /**
   * Serve HTTPS (wss://) with these `https.createServer` options: `key`, `cert`, and for client
   * certificates (OCPP security profile 3) `ca`, `requestCert: true` and `rejectUnauthorized`.
   * What the client's certificate proved is in `UpgradeRequest.tls`.
   * @default undefined (plain HTTP)
   */
  tls?: HttpsServerOptions;
  /**
   * Handles plain HTTP requests. Without it the server answers `/metrics` and `/healthz`,
   * 426 for a GET on a WebSocket route and 404 otherwise.
   */
  requestHandler?: (req: IncomingMessage, res: ServerResponse) => void;
}

/** Options of {@link attach}. */
export interface AttachOptions extends HandleOptions {
  /**
   * Listen to the HTTP server's 'upgrade' event. Set false when you route upgrades yourself and
   * call `handle.handleUpgrade` for the ones that belong here.
   * @default true
   */
  routeUpgrades?: boolean;
}

export interface CloseOptions {
  /** Overrides `shutdownTimeout` for this shutdown, in milliseconds. */
  timeout?: number;
}

/** What `stats()` reports, for dashboards. */
export interface ServerStats {
  readonly connections: number;
  /**
   * Upgraded connections on `recognize` routes that have no session yet (waiting for their
   * first message or for `authorize`); not in `connections`.
   */
  readonly pending: number;
  /** Open connections per adapter name (every served adapter is listed, even at 0). */
  readonly byProtocol: Record<string, number>;
}

/** What {@link attach} returns. */
export interface ServerHandle {
  readonly httpServer: HttpServer | HttpsServer;
  /** Resolves once every adapter's `setup` finished; rejects if one failed. Upgrades wait for it. */
  readonly ready: Promise<void>;
  /** Handles one upgrade request: for users who route 'upgrade' events themselves. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /**
   * Graceful shutdown, idempotent: refuse new upgrades with 503, abort the server-wide signal,
   * run every adapter's `shutdown`, close every connection with 1001 and wait for the close
   * handshakes (terminating stragglers), then close the HTTP server (`createServer` only).
   */
  close(options?: CloseOptions): Promise<void>;
  /** Live connections. */
  readonly connections: ReadonlySet<ServerConnection>;
  stats(): ServerStats;
  readonly metrics: { readonly registry: Registry };
  /** Serves the Prometheus text exposition of `metrics.registry`. */
  metricsHandler(req: IncomingMessage, res: ServerResponse): void;
  /** `200 {"status":"ok","connections":n}`, or 503 with status `shutting_down` during shutdown. */
  healthHandler(req: IncomingMessage, res: ServerResponse): void;
}

/** What {@link createServer} returns. */
export interface ProtoplexServer extends ServerHandle {
  /** Waits for adapter setup, then listens. @default port 0 (any free port) */
  listen(port?: number, host?: string): Promise<AddressInfo>;
}

function destroyOnError(this: Duplex): void {
  this.destroy();
}

function noop(): void {}

/**
 * Creates an HTTP (or, with `tls`, HTTPS) server that serves the given adapters over WebSocket.
 * Registration errors throw here. Call `listen()` to start.
 */
export function createServer(options: ServerOptions): ProtoplexServer {
  const { tls, requestHandler, ...rest } = options;
  let core: Core | undefined;
  const onRequest =
    requestHandler ?? ((req: IncomingMessage, res: ServerResponse): void => defaultRequestHandler(core!.handle, core!.routes, req, res));
  const httpServer = tls ? createHttpsServer(tls, onRequest) : createHttpServer(onRequest);
  core = createHandle(httpServer, rest, true, true);
  const { handle, isShuttingDown } = core;
  return {
    ...handle,
    async listen(port = 0, host) {
      if (isShuttingDown()) throw new Error('server is closed');
      await handle.ready;
      return new Promise<AddressInfo>((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(port, host, () => {
          httpServer.off('error', reject);
          resolve(httpServer.address() as AddressInfo);
        });
      });
    },
  };
}

/**
 * Serves the given adapters on an HTTP(S) server you own (node:http, Express, Fastify's
 * `server`): listens to its 'upgrade' event and leaves its normal requests alone.
 */
export function attach(httpServer: HttpServer | HttpsServer, options: AttachOptions): ServerHandle {
  const { routeUpgrades = true, ...rest } = options;
  return createHandle(httpServer, rest, false, routeUpgrades).handle;
}

interface Core {
  readonly handle: ServerHandle;
  readonly routes: readonly CompiledRoute[];
  isShuttingDown(): boolean;
}

function resolveRoutes(options: HandleOptions): RouteOptions[] {
  const { routes, adapters, preference, fallback, onNoMatch, noMatchCloseCode, recognize, recognizeTimeout } = options;
  if (routes && adapters) throw new TypeError('give either `routes` or `adapters`, not both');
  const routeLevel = [preference, fallback, onNoMatch, noMatchCloseCode, recognize, recognizeTimeout];
  if (routes) {
    if (routeLevel.some((value) => value !== undefined)) {
      throw new TypeError('with `routes`, set preference/fallback/onNoMatch/noMatchCloseCode/recognize/recognizeTimeout on each route');
    }
    if (routes.length === 0) throw new TypeError('`routes` is empty');
    return [...routes];
  }
  if (!adapters) throw new TypeError('give `routes` or `adapters`');
  return [{ path: '/', adapters, preference, fallback, onNoMatch, noMatchCloseCode, recognize, recognizeTimeout }];
}

function checkPositive(name: string, value: number): void {
  if (!(typeof value === 'number' && value > 0 && Number.isFinite(value))) {
    throw new RangeError(`${name} must be a positive number, got ${String(value)}`);
  }
}

function createHandle(httpServer: HttpServer | HttpsServer, options: HandleOptions, owned: boolean, routeUpgrades: boolean): Core {
  const routeOptions = resolveRoutes(options);
  const routes = compileRoutes(routeOptions);
  for (const route of routeOptions) {
    // The 'close' answer is sent with ws.close(), which throws on a bad code: check it now.
    if (route.onNoMatch === 'close') validateClose(route.noMatchCloseCode ?? 1002, 'no supported subprotocol offered');
  }
  const maxPayload = options.maxPayload ?? serverDefaults.maxPayload;
  const highWaterMark = options.highWaterMark ?? serverDefaults.highWaterMark;
  const maxBufferedAmount = options.maxBufferedAmount ?? serverDefaults.maxBufferedAmount;
  const overflowCloseCode = options.overflowCloseCode ?? serverDefaults.overflowCloseCode;
  const shutdownTimeout = options.shutdownTimeout ?? serverDefaults.shutdownTimeout;
  const keepAliveOptions = options.keepAlive ?? serverDefaults.keepAlive;
  checkPositive('maxPayload', maxPayload);
  checkPositive('highWaterMark', highWaterMark);
  checkPositive('maxBufferedAmount', maxBufferedAmount);
  if (maxBufferedAmount < highWaterMark) throw new RangeError('maxBufferedAmount must be at least highWaterMark');
  if (overflowCloseCode !== 1008 && overflowCloseCode !== 1013) throw new RangeError('overflowCloseCode must be 1008 or 1013');
  if (!(shutdownTimeout >= 0)) throw new RangeError('shutdownTimeout must be >= 0');

  const logger: Logger = options.logger ?? pino({ level: process.env.LOG_LEVEL ?? 'info' });
  const log = logger.child({ component: 'protoplex-server' });
  const registry = options.metrics ?? new Registry();
  const metrics = new ServerMetrics(registry, log);
  // core's default rethrows a subscriber's error in a microtask, which would take the whole
  // process down for one adapter's bug; log it instead.
  const bus =
    options.bus ??
    createMemoryBus({
      onHandlerError: (error, message) => log.error({ err: error, topic: message.topic, origin: message.origin.protocol }, 'bus subscriber threw'),
    });
  const clock = options.clock ?? systemClock;
  const serverController = new AbortController();

  // One server-wide context per adapter object, even when it serves several routes.
  const contexts = new Map<ProtocolAdapter, AdapterContext>();
  const statsOf = new Map<ProtocolAdapter, ProtocolStats>();
  for (const route of routes) {
    for (const adapter of [...route.registry.adapters, route.registry.fallback]) {
      if (!adapter || contexts.has(adapter)) continue;
      statsOf.set(adapter, metrics.statsFor(adapter.name));
      contexts.set(adapter, {
        bus,
        clock,
        log: logger.child({ adapter: adapter.name }),
        metrics: metrics.forAdapter(adapter.name),
        signal: serverController.signal,
      });
    }
  }
  // pino knows whether debug is on; building the fields of a dropped record is wasted work.
  const debugOn = (): boolean => (log as Partial<{ isLevelEnabled(level: string): boolean }>).isLevelEnabled?.('debug') ?? true;

  let setupDone = false;
  const ready = Promise.all(
    [...contexts].map(([adapter, context]) =>
      Promise.resolve()
        .then(() => adapter.setup?.(context))
        .catch((error: unknown) => {
          log.error({ err: error, adapter: adapter.name }, `adapter ${adapter.name} setup failed`);
          throw error;
        }),
    ),
  ).then(() => {
    setupDone = true;
  });
  // Handled here so an unawaited `ready` never crashes the process; awaiting it still rejects.
  ready.catch(noop);

  const connections = new Set<WsConnection>();
  /** Upgraded on a `recognize` route, no session yet. */
  const pending = new Set<PendingConnection>();
  const pendingSockets = new Set<Duplex>();
  let shuttingDown = false;
  let closeWaiter: (() => void) | undefined;
  const closedOne = (): void => {
    if (connections.size === 0 && pending.size === 0) closeWaiter?.();
  };

  const keepAlive: KeepAlive | undefined =
    keepAliveOptions === false ? undefined : createKeepAlive(clock, keepAliveOptions, (error) => log.error({ err: error }, 'keep-alive check threw'));

  const host: ConnectionHost = {
    highWaterMark,
    maxBufferedAmount,
    overflowCloseCode,
    keepAlive,
    connectionClosed(connection, code, reason) {
      connections.delete(connection);
      keepAlive?.unwatch(connection);
      if (debugOn()) log.debug({ connection: connection.id, adapter: connection.adapter, code, reason }, 'connection closed');
      if (options.onClose) {
        try {
          options.onClose(connection, code, reason);
        } catch (error) {
          log.error({ err: error }, 'onClose hook threw');
        }
      }
      closedOne();
    },
  };

  // One sweep closes every pending connection whose first message is late. Its tick is at most a
  // second and at most half the shortest recognizeTimeout, so a timeout fires at most that late.
  let shortestRecognizeTimeout = Infinity;
  for (const route of routes) if (route.recognition) shortestRecognizeTimeout = Math.min(shortestRecognizeTimeout, route.recognition.timeout);
  const pendingHost: PendingHost | undefined =
    shortestRecognizeTimeout === Infinity
      ? undefined
      : {
          log,
          clock,
          keepAlive,
          firstMessageSweep: createDeadlineSweep(clock, Math.min(1000, shortestRecognizeTimeout / 2), (error) =>
            log.error({ err: error }, 'first-message timeout check threw'),
          ),
          isShuttingDown: () => shuttingDown,
          refused: (adapterName, reason) => metrics.refused(adapterName, reason),
          admit: (ws, request, recognition, auth, queued) => {
            const { adapter, protocol, registered } = recognition;
            const connection = openConnection(ws, { protocol, registered, request, auth, adapter: adapter.name }, adapter);
            for (const message of queued) connection.receive(message.data, message.isBinary);
          },
          settled(connection) {
            pending.delete(connection);
            closedOne();
          },
        };

  const env: HandshakeEnvironment = {
    routes,
    allowedOrigins: options.allowedOrigins,
    requireOrigin: options.requireOrigin ?? serverDefaults.requireOrigin,
    isShuttingDown: () => shuttingDown,
    pendingSetup: () => (setupDone ? undefined : ready),
  };

  let negotiated = '';
  // ws negotiates extensions from its server's options, so a route with its own
  // permessage-deflate settings (OCPP's, say) gets a WebSocketServer of its own.
  const makeWss = (perMessageDeflate: boolean | PerMessageDeflateOptions) => {
    const created = new WebSocketServer<typeof ServerWebSocket>({
      WebSocket: ServerWebSocket,
      noServer: true,
      clientTracking: false,
      maxPayload,
      perMessageDeflate,
      skipUTF8Validation: false,
      // Only ever the id core negotiated, or no header (RFC 6455 §4.2.2 item 5.4).
      handleProtocols: () => negotiated || false,
    });
    // ws re-checks the request and the Sec-WebSocket-Extensions offer; answer its refusals like ours.
    created.on('wsClientError', (error, socket) => {
      metrics.refused('', 'bad_request');
      log.info({ reason: 'bad_request', status: 400 }, `handshake refused: ${error.message}`);
      writeHandshakeError(socket, 400, error.message);
    });
    return created;
  };
  const wss = makeWss(options.perMessageDeflate ?? serverDefaults.perMessageDeflate);
  const routeWss = new Map<CompiledRoute, ReturnType<typeof makeWss>>();
  for (const route of routes) if (route.perMessageDeflate !== undefined) routeWss.set(route, makeWss(route.perMessageDeflate));

  function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const outcome = evaluateHandshake(req, env);
    if (outcome instanceof Promise) {
      // Node's HTTP server drops its own socket listeners on 'upgrade'; without ours an error
      // while authorize (or setup) runs would be an uncaught exception.
      socket.on('error', destroyOnError);
      pendingSockets.add(socket);
      outcome.then(
        (result) => {
          pendingSockets.delete(socket);
          complete(req, socket, head, result);
        },
        /* c8 ignore next: evaluateHandshake never rejects */
        (error: unknown) => {
          pendingSockets.delete(socket);
          complete(req, socket, head, { type: 'refuse', status: 500, message: 'Internal server error', headers: {}, reason: 'error', adapterName: '', error });
        },
      );
    } else complete(req, socket, head, outcome);
  }

  function complete(req: IncomingMessage, socket: Duplex, head: Buffer, outcome: HandshakeOutcome): void {
    if (outcome.type === 'refuse') {
      metrics.refused(outcome.adapterName, outcome.reason);
      const fields = { status: outcome.status, reason: outcome.reason, url: req.url, remoteAddress: req.socket.remoteAddress, adapter: outcome.adapterName || undefined };
      if (outcome.error !== undefined) log.error({ ...fields, err: outcome.error }, 'handshake failed');
      else log.info(fields, `handshake refused: ${outcome.message}`);
      writeHandshakeError(socket, outcome.status, outcome.message, outcome.headers);
      return;
    }
    if (socket.destroyed || !socket.writable) {
      log.debug({ url: req.url }, 'peer left during the handshake');
      socket.destroy();
      return;
    }
    socket.removeListener('error', destroyOnError);
    // ws calls handleProtocols synchronously inside handleUpgrade (there is no verifyClient),
    // so the chosen id can wait in a variable rather than on the request object.
    negotiated = outcome.protocol;
    try {
      (routeWss.get(outcome.route) ?? wss).handleUpgrade(req, socket, head, (ws) => upgraded(ws, outcome));
    } finally {
      negotiated = '';
    }
  }

  function upgraded(ws: ServerWebSocket, outcome: HandshakeAcceptance): void {
    const adapter = outcome.adapter;
    if (outcome.recognize && pendingHost) {
      // RFC 6455 §4.2.2: upgraded without Sec-WebSocket-Protocol; the first message decides.
      pending.add(new PendingConnection(ws, outcome.request, outcome.recognize, pendingHost));
      if (debugOn()) log.debug({ url: outcome.request.url }, 'no subprotocol offered; waiting for the first message');
      return;
    }
    if (outcome.close || !adapter) {
      // onNoMatch 'close' (OCPP-J): upgraded without Sec-WebSocket-Protocol, closed at once.
      const close = outcome.close ?? { code: 1002, reason: '' };
      metrics.refused('', 'no_match');
      log.info({ reason: 'no_match', code: close.code, url: outcome.request.url }, 'no subprotocol matched; upgraded and closing');
      ws.on('error', noop);
      ws.close(close.code, close.reason);
      return;
    }
    openConnection(ws, { protocol: outcome.protocol, registered: outcome.registered, request: outcome.request, auth: outcome.auth, adapter: adapter.name }, adapter);
  }

  /** A negotiated or recognised connection: counted, kept alive, its session opened. */
  function openConnection(ws: ServerWebSocket, init: ConnectionInit, adapter: ProtocolAdapter): WsConnection {
    const stats = statsOf.get(adapter)!;
    const connection = new WsConnection(ws, init, contexts.get(adapter)!, host, stats);
    connections.add(connection);
    keepAlive?.watch(connection);
    stats.handshakesAccepted++;
    connection.start(adapter);
    if (debugOn()) log.debug({ connection: connection.id, adapter: adapter.name, protocol: init.protocol, url: init.request.url }, 'connection opened');
    if (options.onConnection) {
      try {
        options.onConnection(connection);
      } catch (error) {
        log.error({ err: error }, 'onConnection hook threw');
      }
    }
    return connection;
  }

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => handleUpgrade(req, socket, head);
  if (routeUpgrades) httpServer.on('upgrade', onUpgrade);

  /** Waits for `promise`, at most `ms` of `clock` time; true when it settled in time. */
  function within(promise: Promise<unknown>, ms: number, onTimeout?: () => void): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const timer = clock.setTimeout(() => {
        onTimeout?.();
        resolve(false);
      }, ms);
      void promise.then(() => {
        timer.cancel();
        resolve(true);
      });
    });
  }

  async function shutdown(timeout: number): Promise<void> {
    shuttingDown = true;
    serverController.abort();
    keepAlive?.stop();
    pendingHost?.firstMessageSweep.stop();

    // 1. Adapters flush and persist while their connections are still open.
    const withShutdown = [...contexts.keys()].filter((adapter) => adapter.shutdown);
    if (withShutdown.length > 0) {
      const controller = new AbortController();
      const all = Promise.all(
        withShutdown.map((adapter) =>
          Promise.resolve()
            .then(() => adapter.shutdown!(controller.signal))
            .catch((error: unknown) => log.error({ err: error, adapter: adapter.name }, `adapter ${adapter.name} shutdown failed`)),
        ),
      );
      const inTime = await within(all, timeout, () => controller.abort(new Error('shutdown timeout')));
      if (!inTime) log.warn({ timeout }, 'adapter shutdown timed out');
    }

    // 2. RFC 6455 §7.4.1 1001 Going Away on every connection, pending ones too; terminate
    // whoever does not answer.
    if (connections.size > 0 || pending.size > 0) {
      const closed = new Promise<void>((resolve) => (closeWaiter = resolve));
      for (const connection of pending) connection.goAway();
      for (const connection of connections) connection.goAway();
      const inTime = await within(closed, timeout, () => {
        for (const connection of pending) connection.terminate();
        for (const connection of connections) connection.terminate();
      });
      if (!inTime) {
        log.warn({ remaining: connections.size + pending.size }, 'close handshakes timed out; terminated');
        await closed;
      }
    }

    // 3. The HTTP server (only one we created); handshakes still waiting on authorize get cut.
    if (routeUpgrades) httpServer.off('upgrade', onUpgrade);
    for (const socket of pendingSockets) socket.destroy();
    if (owned && httpServer.listening) {
      const closed = new Promise<void>((resolve) => httpServer.close(() => resolve()));
      httpServer.closeIdleConnections();
      await within(closed, timeout, () => httpServer.closeAllConnections());
    }
    wss.close();
    for (const other of routeWss.values()) other.close();
  }

  let closing: Promise<void> | undefined;

  const handle: ServerHandle = {
    httpServer,
    ready,
    handleUpgrade,
    close(closeOptions = {}) {
      closing ??= shutdown(closeOptions.timeout ?? shutdownTimeout);
      return closing;
    },
    connections,
    stats() {
      const byProtocol: Record<string, number> = {};
      for (const s of metrics.allStats()) byProtocol[s.protocol] = s.open;
      return { connections: connections.size, pending: pending.size, byProtocol };
    },
    metrics: { registry },
    metricsHandler(_req, res) {
      serveMetrics(registry, log, res);
    },
    healthHandler(_req, res) {
      serveHealth(res, shuttingDown, connections.size);
    },
  };
  return { handle, routes, isShuttingDown: () => shuttingDown };
}
