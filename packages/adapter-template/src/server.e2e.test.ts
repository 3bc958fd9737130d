import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { pino } from 'pino';
import { createMemoryBus, type BusMessage } from '@protoplex/core';
import { createServer, type ProtoplexServer } from '@protoplex/server';
import { lines } from './adapter.js';
import { LINES_PROTOCOL } from './constants.js';

const bus = createMemoryBus();
let server: ProtoplexServer;
let url: string;

beforeAll(async () => {
  server = createServer({ adapters: [lines()], bus, recognize: true, logger: pino({ level: 'silent' }) });
  const address = await server.listen(0, '127.0.0.1');
  url = `ws://127.0.0.1:${address.port}/`;
});
afterAll(() => server.close());

interface Client {
  readonly socket: WebSocket;
  next(): Promise<string>;
}

const open = async (protocols: string | string[] = LINES_PROTOCOL): Promise<Client> => {
  const socket = new WebSocket(url, protocols);
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
    expect(socket.protocol).toBe(LINES_PROTOCOL);
    socket.send('ECHO over a real socket');
    expect(await next()).toBe('ECHO over a real socket');
    socket.close();
  });

  it('delivers a publish from one socket to a subscriber on another, and to the bus under lines/', async () => {
    const subscriber = await open();
    const publisher = await open();
    const onBus: BusMessage[] = [];
    const tap = bus.subscribe('lines/room/#', (message) => onBus.push(message));
    subscriber.socket.send('SUB room.*');
    expect(await subscriber.next()).toBe('OK SUB room.*');
    publisher.socket.send('PUB room.lobby hello');
    expect(await subscriber.next()).toBe('MSG room.lobby hello');
    expect(onBus.map((m) => [m.topic, new TextDecoder().decode(m.payload), m.origin.protocol])).toEqual([['lines/room/lobby', 'hello', 'lines']]);
    tap.unsubscribe();
    subscriber.socket.close();
    publisher.socket.close();
  });

  it('answers bad input with ERR and closes with 1002', async () => {
    const { socket, next } = await open();
    const closed = new Promise<[number, string]>((resolve) => socket.on('close', (code, reason) => resolve([code, reason.toString()])));
    socket.send('NOPE');
    expect(await next()).toMatch(/^ERR bad-command/);
    expect(await closed).toEqual([1002, 'unknown command "NOPE"']);
  });

  it('serves a client that offers no subprotocol once its first message is a command', async () => {
    const { socket, next } = await open([]);
    expect(socket.protocol).toBe('');
    socket.send('PING');
    expect(await next()).toBe('PONG');
    socket.close();
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
