/**
 * Child process entry for the load generators, so the load never runs on the server's event
 * loop. One load process serves a whole bench run; it holds one session (open connections) per
 * side of the scenario being run:
 *
 *   <- `{ type: 'open', id, load, port, options }`      -> `{ type: 'opened', id }`
 *   <- `{ type: 'measure', id }`  -> `{ type: 'mark', id, label }` <- `{ type: 'marked', id, label }`
 *                                 ... -> `{ type: 'result', id, result }`
 *   <- `{ type: 'close', id }`                          -> `{ type: 'closed', id }`
 *   any failure                                         -> `{ type: 'error', id, reason }`
 */
import { loads } from './load/index.js';
import type { LoadSession } from './load/common.js';

type Request =
  | { type: 'open'; id: number; load: string; port: number; options: Record<string, unknown> }
  | { type: 'measure'; id: number }
  | { type: 'close'; id: number }
  | { type: 'marked'; id: number; label: string };

const send = (message: unknown): void => {
  if (process.connected) process.send!(message);
};

const sessions = new Map<number, LoadSession>();
const waiting = new Map<string, () => void>();
const gc = (): void => (globalThis as { gc?: () => void }).gc?.();

async function handle(request: Exclude<Request, { type: 'marked' }>): Promise<void> {
  try {
    switch (request.type) {
      case 'open': {
        const factory = loads[request.load];
        if (!factory) throw new Error(`unknown load ${JSON.stringify(request.load)}`);
        const generator = await factory();
        sessions.set(request.id, await generator({ port: request.port, options: request.options }));
        send({ type: 'opened', id: request.id });
        break;
      }
      case 'measure': {
        const session = sessions.get(request.id);
        if (!session) throw new Error(`no session ${request.id}`);
        // Start every round with the garbage of the previous one collected, so it is not billed here.
        gc();
        const result = await session.measure(
          (label) =>
            new Promise<void>((resolve) => {
              waiting.set(`${request.id}:${label}`, resolve);
              send({ type: 'mark', id: request.id, label });
            }),
        );
        send({ type: 'result', id: request.id, result });
        break;
      }
      case 'close': {
        const session = sessions.get(request.id);
        sessions.delete(request.id);
        await session?.close();
        send({ type: 'closed', id: request.id });
        break;
      }
    }
  } catch (error) {
    send({ type: 'error', id: request.id, reason: (error as Error).stack ?? String(error) });
  }
}

process.on('message', (message: Request) => {
  if (message.type === 'marked') {
    const key = `${message.id}:${message.label}`;
    waiting.get(key)?.();
    waiting.delete(key);
    return;
  }
  void handle(message);
});
process.on('disconnect', () => process.exit(0));
send({ type: 'ready' });
