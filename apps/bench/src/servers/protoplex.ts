/**
 * Subjects: the bench adapters served by @protoplex/server with the in-memory bus.
 *
 * The server package is imported dynamically and checked against the planned API, so the
 * bench keeps working (and reports the scenario as skipped) while that package is unfinished.
 */
import type { AddressInfo } from 'node:net';
import { createMemoryBus, type Bus, type Logger, type ProtocolAdapter } from '@protoplex/core';
import { echoAdapter, fanoutAdapter, openSessions } from './bench-adapters.js';
import { UnavailableError, type RunningServer, type ServerFactory } from './types.js';

/** The part of @protoplex/server's API the bench uses. */
interface ServerHandle {
  listen(port: number, host: string): Promise<AddressInfo>;
  close(): Promise<void>;
  readonly connections?: ReadonlySet<unknown>;
}
type CreateServer = (options: Record<string, unknown>) => ServerHandle;

export async function loadCreateServer(): Promise<CreateServer> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import('@protoplex/server')) as Record<string, unknown>;
  } catch (error) {
    throw new UnavailableError(`@protoplex/server does not load: ${(error as Error).message}`);
  }
  if (typeof mod.createServer !== 'function') throw new UnavailableError('@protoplex/server exports no createServer yet');
  return mod.createServer as CreateServer;
}

export interface ProtoplexServerOptions {
  /** Served on every path; or give `routes`. */
  readonly adapters?: readonly ProtocolAdapter[];
  readonly routes?: readonly {
    readonly path: string;
    readonly adapters: readonly ProtocolAdapter[];
    readonly onNoMatch?: 'close';
    readonly recognize?: boolean;
    readonly perMessageDeflate?: boolean;
  }[];
  readonly bus?: Bus;
  readonly perMessageDeflate?: boolean;
  readonly logger?: Logger;
}

/** Starts @protoplex/server on 127.0.0.1 with an OS-chosen port. */
export async function startProtoplex(options: ProtoplexServerOptions): Promise<RunningServer> {
  const createServer = await loadCreateServer();
  const server = createServer({
    ...(options.routes ? { routes: options.routes } : { adapters: options.adapters }),
    bus: options.bus ?? createMemoryBus(),
    // The server's default logger (pino at LOG_LEVEL or 'info'): per-connection lines are debug.
    ...(options.logger ? { logger: options.logger } : {}),
    perMessageDeflate: options.perMessageDeflate ?? false,
    // The bench sends at most 4 KiB messages; keep ws's default otherwise.
    maxPayload: 1024 * 1024,
  });
  const address = await server.listen(0, '127.0.0.1');
  return {
    port: address.port,
    connections: () => server.connections?.size ?? openSessions.count,
    close: () => server.close(),
  };
}

export const protoplexEcho: ServerFactory = (options) =>
  startProtoplex({ adapters: [echoAdapter()], perMessageDeflate: options.perMessageDeflate === true });

export const protoplexFanout: ServerFactory = (options) =>
  startProtoplex({ adapters: [fanoutAdapter()], perMessageDeflate: options.perMessageDeflate === true });
