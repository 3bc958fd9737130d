import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { pino } from 'pino';
import { createServer, type ProtoplexServer } from '@protoplex/server';
import { lines } from './adapter.js';

let server: ProtoplexServer;
let url: string;

beforeAll(async () => {
  server = createServer({ adapters: [lines()], logger: pino({ level: 'silent' }) });
  const address = await server.listen(0, '127.0.0.1');
  url = `ws://127.0.0.1:${address.port}/`;
});
afterAll(() => server.close());

const open = async (): Promise<{ socket: WebSocket; next: () => Promise<string> }> => {
  const socket = new WebSocket(url, 'lines.protoplex.dev');
  const queue: string[] = [];
  const waiting: Array<(line: string) => void> = [];
  socket.on('message', (data) => {
    const line = data.toString();
    const waiter = waiting.shift();
    if (waiter) waiter(line);
    else queue.push(line);
  });
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  return { socket, next: () => (queue.length > 0 ? Promise.resolve(queue.shift()!) : new Promise((resolve) => waiting.push(resolve))) };
};

describe('lines over @protoplex/server', () => {
  it('negotiates the unregistered id and echoes', async () => {
    const { socket, next } = await open();
    expect(socket.protocol).toBe('lines.protoplex.dev');
    socket.send('ECHO over a real socket');
    expect(await next()).toBe('ECHO over a real socket');
    socket.close();
  });

  it('delivers a publish from one socket to a subscriber on another', async () => {
    const subscriber = await open();
    const publisher = await open();
    subscriber.socket.send('SUB room.*');
    expect(await subscriber.next()).toBe('OK SUB room.*');
    publisher.socket.send('PUB room.lobby hello');
    expect(await subscriber.next()).toBe('MSG room.lobby hello');
    subscriber.socket.close();
    publisher.socket.close();
  });

  it('answers bad input with ERR and closes with 1002', async () => {
    const { socket, next } = await open();
    const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
    socket.send('NOPE');
    expect(await next()).toMatch(/^ERR bad-command/);
    expect(await closed).toBe(1002);
  });

  it('is refused with 400 when the client offers another id', async () => {
    const status = await new Promise<number>((resolve) => {
      const socket = new WebSocket(url, 'v12.stomp');
      socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      socket.on('error', () => {});
    });
    expect(status).toBe(400);
  });
});
