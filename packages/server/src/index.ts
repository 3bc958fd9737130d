/**
 * @protoplex/server: serves Protoplex adapters over WebSocket (the only package that imports
 * `ws`): handshake checks, routes, limits, keep-alive, graceful shutdown, logs and metrics.
 */

// Server
export { createServer, attach, serverDefaults } from './server.js';
export type {
  AttachOptions,
  CloseOptions,
  HandleOptions,
  ProtoplexServer,
  ServerHandle,
  ServerOptions,
  ServerStats,
} from './server.js';

// Routes
export type { RecognitionOptions, RouteOptions } from './routes.js';

// Handshake
export type { OriginPredicate, RefusalReason } from './handshake.js';

// Connections
export type { ServerConnection } from './connection.js';

// Keep-alive
export type { KeepAliveOptions } from './keep-alive.js';
