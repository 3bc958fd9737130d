/**
 * Socket helpers for the server's own tests. Internal: never exported, excluded from the build.
 */
import { connect as netConnect } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { WebSocket, type ClientOptions } from 'ws';
import type { Logger } from '@protoplex/core';
import { createServer, type ProtoplexServer, type ServerOptions } from './server.js';

export const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

export const silent: Logger = pino({ level: 'silent' });

/** A pino logger that keeps every record, for asserting on logs. */
export function capturingLogger(): { logger: Logger; records: Array<Record<string, unknown>> } {
  const records: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) records.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), records };
}

export interface Started {
  readonly server: ProtoplexServer;
  readonly port: number;
  readonly url: string;
}

const started: ProtoplexServer[] = [];

/** createServer + listen on 127.0.0.1:0, closed by `closeAll()`. */
export async function start(options: ServerOptions): Promise<Started> {
  const server = createServer({ logger: silent, ...options });
  started.push(server);
  const address = await server.listen(0, '127.0.0.1');
  return { server, port: address.port, url: `ws://127.0.0.1:${address.port}` };
}

export async function closeAll(): Promise<void> {
  const servers = started.splice(0);
  await Promise.all(servers.map((s) => s.close({ timeout: 500 })));
}

export interface Refused {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** Opens a ws client; resolves once open, rejects with the HTTP answer when refused. */
export function open(url: string, protocols?: string | string[], options: ClientOptions = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, options);
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode!, headers: res.headers, body })));
    });
    ws.once('error', reject);
  });
}

/** The HTTP refusal a ws client got. */
export async function refusal(url: string, protocols?: string | string[], options: ClientOptions = {}): Promise<Refused> {
  try {
    const ws = await open(url, protocols, options);
    ws.terminate();
  } catch (error) {
    const e = error as Partial<Refused>;
    if (e.status === undefined) throw error;
    return { status: e.status, headers: e.headers!, body: e.body! };
  }
  throw new Error('expected a refusal, got 101');
}

/** Resolves with the close code and reason the client saw. */
export function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => {
    if (ws.readyState === WebSocket.CLOSED) throw new Error('already closed');
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') }));
  });
}

/** Resolves with the next message. */
export function nextMessage(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  return new Promise((resolve) => ws.once('message', (data, isBinary) => resolve({ data: data as Buffer, isBinary })));
}

export interface RawResponse {
  readonly status: number;
  /** Header lines as sent, lower-cased names; repeated names keep every value. */
  readonly headers: Array<[string, string]>;
  readonly head: string;
  /** Bytes after the header block (body, or WebSocket frames after a 101). */
  readonly rest: Buffer;
}

/** Builds an upgrade request with exact header lines. */
export function upgradeRequest(path: string, extra: Array<[string, string]> = [], base: Array<[string, string]> | undefined = undefined): string {
  const lines = base ?? [
    ['Host', 'localhost'],
    ['Upgrade', 'websocket'],
    ['Connection', 'Upgrade'],
    ['Sec-WebSocket-Key', KEY],
    ['Sec-WebSocket-Version', '13'],
  ];
  return [`GET ${path} HTTP/1.1`, ...[...lines, ...extra].map(([k, v]) => `${k}: ${v}`), '', ''].join('\r\n');
}

/**
 * Sends raw bytes over TCP and collects the answer until the server closes the socket, or until
 * `until(bytesSoFar)` is true, or `timeoutMs`.
 */
export function raw(port: number, request: string, options: { until?: (data: Buffer) => boolean; timeoutMs?: number } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const data = Buffer.concat(chunks);
      const end = data.indexOf('\r\n\r\n');
      if (end === -1) return reject(new Error(`no HTTP response: ${JSON.stringify(data.toString('latin1'))}`));
      const head = data.subarray(0, end).toString('latin1');
      const [statusLine, ...lines] = head.split('\r\n');
      const status = Number(statusLine!.split(' ')[1]);
      const headers = lines.map((line): [string, string] => {
        const i = line.indexOf(':');
        return [line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim()];
      });
      resolve({ status, headers, head, rest: data.subarray(end + 4) });
    };
    const timer = setTimeout(finish, options.timeoutMs ?? 2000);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (options.until?.(Buffer.concat(chunks))) finish();
    });
    socket.on('close', finish);
    socket.on('error', () => finish());
    socket.write(request);
  });
}

export function header(response: RawResponse, name: string): string[] {
  return response.headers.filter(([k]) => k === name).map(([, v]) => v);
}

/** Decodes the first server frame after a 101: a Close frame's code and reason. */
export function parseCloseFrame(frame: Buffer): { opcode: number; code?: number; reason?: string } {
  const opcode = frame[0]! & 0x0f;
  const length = frame[1]! & 0x7f;
  const payload = frame.subarray(2, 2 + length);
  if (opcode !== 0x8 || payload.length < 2) return { opcode };
  return { opcode, code: payload.readUInt16BE(0), reason: payload.subarray(2).toString('utf8') };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns true or `timeoutMs` passes. */
export async function until(check: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(5);
  }
}
