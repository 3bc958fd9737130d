/**
 * References: the same workloads written directly on `ws`, the way its README shows them.
 * `ws` picks up `bufferutil` and `utf-8-validate` on its own when they are installed (they are
 * dependencies of this package), for masking and UTF-8 checks on both sides.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import type { RunningServer, ServerFactory } from './types.js';

/** Listens on 127.0.0.1 with an OS-chosen port. */
export function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

/** Closes every client, then the WebSocket and HTTP servers. */
export function closeAll(wss: WebSocketServer, http: Server): Promise<void> {
  for (const client of wss.clients) client.terminate();
  return new Promise((resolve) => wss.close(() => http.close(() => resolve())));
}

/** The ws option that answers the first offered subprotocol (ws's own default behaviour). */
const firstOffer = (protocols: Set<string>): string | false => {
  for (const p of protocols) return p;
  return false;
};

function wsServer(perMessageDeflate: boolean): { http: Server; wss: WebSocketServer } {
  const http = createServer();
  const wss = new WebSocketServer({ server: http, perMessageDeflate, maxPayload: 1024 * 1024, handleProtocols: firstOffer });
  return { http, wss };
}

export const wsEcho: ServerFactory = async (options) => {
  const { http, wss } = wsServer(options.perMessageDeflate === true);
  wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
  const port = await listen(http);
  return { port, connections: () => wss.clients.size, close: () => closeAll(wss, http) };
};

/** ws README "Server broadcast": every message of a publisher goes to every `?role=sub` client. */
export const wsFanout: ServerFactory = async (options) => {
  const { http, wss } = wsServer(options.perMessageDeflate === true);
  const subscribers = new Set<WebSocket>();
  wss.on('connection', (ws, req) => {
    if (req.url?.includes('role=sub')) {
      subscribers.add(ws);
      ws.on('close', () => subscribers.delete(ws));
      return;
    }
    ws.on('message', (data, isBinary) => {
      for (const client of subscribers) if (client.readyState === WebSocket.OPEN) client.send(data, { binary: isBinary });
    });
  });
  const port = await listen(http);
  return { port, connections: () => wss.clients.size, close: () => closeAll(wss, http) };
};
