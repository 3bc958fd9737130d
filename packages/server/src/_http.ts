/**
 * Plain-HTTP answers next to the WebSocket endpoint: Prometheus exposition, health, and the
 * default request handler of `createServer`. Internal.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { Logger } from '@protoplex/core';
import { UPGRADE_REQUIRED_HEADERS } from './handshake.js';
import { matchRoute, splitTarget, type CompiledRoute } from './routes.js';

const TEXT = 'text/plain; charset=utf-8';

function send(res: ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...headers, 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** The registry's text exposition format. */
export function serveMetrics(registry: Registry, log: Logger, res: ServerResponse): void {
  registry.metrics().then(
    (text) => send(res, 200, registry.contentType, text),
    (error: unknown) => {
      log.error({ err: error }, 'metrics collection failed');
      send(res, 500, TEXT, 'metrics collection failed');
    },
  );
}

/** `200 {"status":"ok","connections":n}`, or 503 `shutting_down`. */
export function serveHealth(res: ServerResponse, shuttingDown: boolean, connections: number): void {
  const body = JSON.stringify({ status: shuttingDown ? 'shutting_down' : 'ok', connections });
  send(res, shuttingDown ? 503 : 200, 'application/json', body);
}

export interface DefaultRoutes {
  metricsHandler(req: IncomingMessage, res: ServerResponse): void;
  healthHandler(req: IncomingMessage, res: ServerResponse): void;
}

/** `/metrics`, `/healthz`, 426 on a WebSocket route, 404 elsewhere. */
export function defaultRequestHandler(handlers: DefaultRoutes, routes: readonly CompiledRoute[], req: IncomingMessage, res: ServerResponse): void {
  const { path } = splitTarget(req.url ?? '/');
  if (path === '/metrics') return handlers.metricsHandler(req, res);
  if (path === '/healthz') return handlers.healthHandler(req, res);
  if (matchRoute(routes, path).type === 'match') {
    // RFC 7231 §6.5.15: a 426 "MUST send an Upgrade header field"; RFC 7230 §6.7 then wants
    // "upgrade" in Connection.
    return send(res, 426, TEXT, 'This endpoint speaks WebSocket only', { ...UPGRADE_REQUIRED_HEADERS, Connection: 'Upgrade, close' });
  }
  send(res, 404, TEXT, 'Not found');
}
