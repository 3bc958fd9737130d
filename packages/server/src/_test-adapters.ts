/**
 * Adapters for the server's own tests. Internal: never exported, excluded from the build.
 */
import { HandshakeError, type AdapterContext, type Connection, type ProtocolAdapter, type Session, type UpgradeRequest } from '@protoplex/core';

export interface Recorded {
  readonly opened: Connection[];
  readonly closed: Array<{ id: string; code: number; reason: string }>;
  readonly messages: Array<{ id: string; data: Uint8Array | string; isBinary: boolean }>;
  readonly contexts: AdapterContext[];
  setups: number;
  shutdowns: number;
  shutdownSignal?: AbortSignal;
}

function recorder(): Recorded {
  return { opened: [], closed: [], messages: [], contexts: [], setups: 0, shutdowns: 0 };
}

export interface TestAdapter extends ProtocolAdapter {
  readonly rec: Recorded;
}

interface EchoOptions {
  name?: string;
  protocols?: readonly string[];
  aliases?: readonly string[];
  authorize?: ProtocolAdapter['authorize'];
  recognize?: ProtocolAdapter['recognize'];
  setup?: (context: AdapterContext) => void | Promise<void>;
  shutdown?: (signal: AbortSignal) => Promise<void>;
  /** Called with every message before echoing; may throw or close. */
  onMessage?: (connection: Connection, data: Uint8Array | string, isBinary: boolean, context: AdapterContext) => void;
  /** Called right after open. */
  onOpen?: (connection: Connection, context: AdapterContext) => void;
  /** Do not echo. */
  silent?: boolean;
}

/** Echoes every message back with the same frame type; records everything. */
export function echo(options: EchoOptions = {}): TestAdapter {
  const rec = recorder();
  const adapter: TestAdapter = {
    name: options.name ?? 'echo',
    protocols: options.protocols ?? ['echo.test', 'echo2.test'],
    ...(options.aliases ? { aliases: options.aliases } : {}),
    ...(options.authorize ? { authorize: options.authorize } : {}),
    ...(options.recognize ? { recognize: options.recognize } : {}),
    rec,
    async setup(context) {
      rec.setups++;
      await options.setup?.(context);
    },
    async shutdown(signal) {
      rec.shutdowns++;
      rec.shutdownSignal = signal;
      await options.shutdown?.(signal);
    },
    open(connection, context): Session {
      rec.opened.push(connection);
      rec.contexts.push(context);
      options.onOpen?.(connection, context);
      return {
        onMessage(data, isBinary) {
          rec.messages.push({ id: connection.id, data, isBinary });
          options.onMessage?.(connection, data, isBinary, context);
          if (!options.silent && connection.isOpen) connection.send(data);
        },
        onClose(code, reason) {
          rec.closed.push({ id: connection.id, code, reason });
        },
      };
    },
  };
  return adapter;
}

/** authorize: no Authorization -> 401 with WWW-Authenticate; 'Bearer bad' -> 403; else `{ user }`. */
export async function bearerAuthorize(request: UpgradeRequest): Promise<{ user: string }> {
  await new Promise((resolve) => setTimeout(resolve, 1));
  const header = request.headers.authorization;
  if (typeof header !== 'string') {
    throw new HandshakeError(401, 'Authentication required', { headers: { 'WWW-Authenticate': 'Bearer realm="test"' } });
  }
  if (header === 'Bearer bad') throw new HandshakeError(403, 'Forbidden token');
  if (header === 'Bearer crash') throw new Error('database down: secret internals');
  return { user: header.slice('Bearer '.length) };
}
