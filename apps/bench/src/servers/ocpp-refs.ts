/** OCPP reference: ocpp-rpc's RPCServer with `strictMode: true` (schema validation on), 1.6 or 2.0.1. */
import { createRequire } from 'node:module';
import type { Server } from 'node:http';
import type { ServerFactory } from './types.js';

interface RpcClient {
  handle(method: string, handler: (call: { params: unknown }) => unknown): void;
  once(event: 'close', listener: () => void): void;
}
interface RpcServer {
  on(event: 'client', listener: (client: RpcClient) => void): void;
  listen(port: number, host: string): Promise<Server>;
  close(options?: { force?: boolean }): Promise<void>;
}

export const ocppRpc: ServerFactory = async (options) => {
  const { RPCServer } = createRequire(import.meta.url)('ocpp-rpc') as { RPCServer: new (options: Record<string, unknown>) => RpcServer };
  // strictMode validates every call and response against ocpp-rpc's bundled 1.6 (or 2.0.1)
  // schemas; no pings during the bench, as @protoplex/server's 30 s keep-alive never fires in a
  // window.
  const protocol = options.version === '2.0.1' ? 'ocpp2.0.1' : 'ocpp1.6';
  const server = new RPCServer({ protocols: [protocol], strictMode: true });
  let clients = 0;
  server.on('client', (client) => {
    clients++;
    client.once('close', () => clients--);
    client.handle('StatusNotification', () => ({}));
    client.handle('Heartbeat', () => ({ currentTime: new Date().toISOString() }));
  });
  const http = await server.listen(0, '127.0.0.1');
  const address = http.address();
  if (address === null || typeof address === 'string') throw new Error('ocpp-rpc did not listen on a TCP port');
  return {
    port: address.port,
    connections: () => clients,
    close: async () => {
      await server.close({ force: true });
      http.close();
    },
  };
};
