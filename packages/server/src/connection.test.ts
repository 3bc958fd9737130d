/**
 * The ws -> Connection wrapper against a fake `ws` socket: close-code rules, send, backpressure
 * bookkeeping and the session wiring, without the network.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ProtocolError, createMemoryBus, noopMetrics, type AdapterContext } from '@protoplex/core';
import { createFakeClock, createTestRequest } from '@protoplex/core/testing';
import { echo } from './_test-adapters.js';
import { silent } from './_test-utils.js';
import { WsConnection, dispatchWsEvent, nextConnectionId, type ConnectionHost, type ServerWebSocket } from './connection.js';
import { ProtocolStats } from './metrics.js';

class FakeWs extends EventEmitter {
  connection: WsConnection | undefined;
  readyState = 1;
  bufferedAmount = 0;
  readonly sent: Array<{ data: unknown; binary: boolean; cb?: (error?: Error) => void }> = [];
  readonly closes: Array<[number | undefined, string | undefined]> = [];
  pings = 0;
  terminated = false;
  send(data: unknown, options: { binary: boolean }, cb?: (error?: Error) => void): void {
    this.sent.push({ data, binary: options.binary, cb });
    this.bufferedAmount += typeof data === 'string' ? Buffer.byteLength(data) : (data as Uint8Array).byteLength;
  }
  close(code?: number, reason?: string): void {
    this.closes.push([code, reason]);
  }
  ping(): void {
    this.pings++;
  }
  // As ServerWebSocket does: events go straight to the connection.
  override emit(event: string, a?: unknown, b?: unknown): boolean {
    return this.connection !== undefined && dispatchWsEvent(this.connection, event, a, b);
  }
  terminate(): void {
    this.terminated = true;
  }
  /** Flushes `bytes` and runs the write callbacks of the flushed messages. */
  flush(count: number): void {
    for (const message of this.sent.splice(0, count)) {
      this.bufferedAmount -= typeof message.data === 'string' ? Buffer.byteLength(message.data) : (message.data as Uint8Array).byteLength;
      message.cb?.();
    }
  }
}

const context: AdapterContext = {
  bus: createMemoryBus(),
  clock: createFakeClock(0),
  log: silent,
  metrics: noopMetrics,
  signal: new AbortController().signal,
};

function setup(adapter = echo({ silent: true }), host: Partial<ConnectionHost> = {}) {
  const ws = new FakeWs();
  const stats = new ProtocolStats('echo');
  const closedCalls: Array<[number, string]> = [];
  const connection = new WsConnection(
    ws as unknown as ServerWebSocket,
    { protocol: 'echo.test', registered: false, request: createTestRequest(), auth: { user: 'u' }, adapter: 'echo' },
    context,
    {
      highWaterMark: 100,
      maxBufferedAmount: 1000,
      overflowCloseCode: 1013,
      connectionClosed: (_c: WsConnection, code: number, reason: string) => closedCalls.push([code, reason]),
      ...host,
    },
    stats,
  );
  connection.start(adapter);
  return { ws, stats, connection, adapter, closedCalls };
}

describe('WsConnection.close', () => {
  it.each([1004, 1005, 1006, 1015, 999, 1016, 2999, 5000, 1000.5])('throws RangeError for the unsendable code %d', (code) => {
    const { connection, ws } = setup();
    expect(() => connection.close(code)).toThrow(RangeError);
    expect(ws.closes).toEqual([]);
    expect(connection.isOpen).toBe(true);
  });

  it('throws RangeError for a reason over 123 bytes of UTF-8, counted in bytes', () => {
    const { connection } = setup();
    expect(() => connection.close(1000, '€'.repeat(42))).toThrow(RangeError); // 126 bytes, 42 UTF-16 units
    expect(() => connection.close(1000, 'a'.repeat(123))).not.toThrow();
  });

  it('closes once with a sendable code and drops later sends', () => {
    const { connection, ws } = setup();
    connection.close(4000, 'bye');
    connection.close(1000);
    expect(ws.closes).toEqual([[4000, 'bye']]);
    expect(connection.isOpen).toBe(false);
    expect(connection.send('late')).toBe(false);
    expect(ws.sent).toEqual([]);
  });
});

describe('WsConnection.send', () => {
  it('sends strings as text and bytes as binary without copying', () => {
    const { connection, ws, stats } = setup();
    const bytes = Uint8Array.of(1, 2, 3);
    expect(connection.send('hé')).toBe(true);
    expect(connection.send(bytes)).toBe(true);
    expect(ws.sent.map((m) => [m.data, m.binary])).toEqual([
      ['hé', false],
      [bytes, true],
    ]);
    expect(ws.sent[1]!.data).toBe(bytes);
    expect(ws.sent[0]!.cb).toBeUndefined();
    expect(stats).toMatchObject({ messagesSent: 2, bytesSent: 6 });
    expect(() => connection.send(42 as never)).toThrow(TypeError);
  });

  it('sends pre-encoded text bytes as a text frame, as they are', () => {
    const { connection, ws, stats } = setup();
    const text = Buffer.from('[36,1,2,{}]');
    expect(connection.send(text, { text: true })).toBe(true);
    expect(ws.sent.map((m) => [m.data, m.binary])).toEqual([[text, false]]);
    expect(ws.sent[0]!.data).toBe(text);
    expect(stats).toMatchObject({ messagesSent: 1, bytesSent: text.length });
  });

  it('drops sends once ws has left OPEN (the peer started closing)', () => {
    const { connection, ws, stats } = setup();
    ws.readyState = 2;
    expect(connection.send('x')).toBe(false);
    expect(ws.sent).toEqual([]);
    expect(stats.messagesSent).toBe(0);
  });

  it('returns false above the high-water mark and fires onDrain once at half of it', () => {
    const { connection, ws } = setup();
    let drains = 0;
    connection.onDrain(() => drains++);
    expect(connection.send(new Uint8Array(60))).toBe(true);
    expect(connection.send(new Uint8Array(60))).toBe(false); // 120 > 100
    expect(connection.send(new Uint8Array(10))).toBe(false);
    ws.flush(1); // 70 left: above the low-water mark (50)
    expect(drains).toBe(0);
    ws.flush(1); // 10 left
    expect(drains).toBe(1);
    ws.flush(1);
    expect(drains).toBe(1);
    expect(connection.send(new Uint8Array(10))).toBe(true);
    expect(ws.sent.at(-1)!.cb).toBeUndefined();
  });

  it('closes with the overflow code and counts it above maxBufferedAmount, dropping the message', () => {
    const { connection, ws, stats } = setup(undefined, { overflowCloseCode: 1008 });
    ws.bufferedAmount = 990;
    expect(connection.send(new Uint8Array(20))).toBe(false);
    expect(ws.sent).toEqual([]);
    expect(ws.closes).toEqual([[1008, 'Send buffer overflow']]);
    expect(stats.overflows).toBe(1);
  });
});

describe('session wiring', () => {
  it('delivers text as string and binary as the Buffer ws gave, counting both', () => {
    const { ws, adapter, stats } = setup();
    const buffer = Buffer.from('bin');
    ws.emit('message', Buffer.from('txt'), false);
    ws.emit('message', buffer, true);
    expect(adapter.rec.messages.map((m) => m.data)).toEqual(['txt', buffer]);
    expect(adapter.rec.messages[1]!.data).toBe(buffer);
    expect(stats).toMatchObject({ messagesReceived: 2, bytesReceived: 6 });
  });

  it('closes with 1011 when onMessage throws, and with the ProtocolError code when that escapes', () => {
    const crash = setup(echo({ onMessage: () => { throw new Error('bug'); } }));
    crash.ws.emit('message', Buffer.from('x'), false);
    expect(crash.ws.closes).toEqual([[1011, 'Internal server error']]);
    const protocolError = setup(echo({ onMessage: () => { throw new ProtocolError(1007, 'bad utf-8 in payload'); } }));
    protocolError.ws.emit('message', Buffer.from('x'), false);
    expect(protocolError.ws.closes).toEqual([[1007, '']]);
  });

  it('ignores messages after close() and calls onClose exactly once, then releases the scope', () => {
    const { ws, adapter, connection, closedCalls, stats } = setup(
      echo({ silent: true, onOpen: (_c, ctx) => void ctx.bus.subscribe('x', () => {}) }),
    );
    const scope = connection.context.current!;
    expect(scope.holdings()).toEqual({ subscriptions: 1, timers: 0 });
    connection.close(1000);
    ws.emit('message', Buffer.from('late'), false);
    expect(adapter.rec.messages).toEqual([]);
    ws.emit('close', 1000, Buffer.from('done'));
    ws.emit('close', 1006, Buffer.alloc(0));
    expect(adapter.rec.closed).toEqual([{ id: connection.id, code: 1000, reason: 'done' }]);
    expect(closedCalls).toEqual([[1000, 'done']]);
    expect(scope.holdings()).toEqual({ subscriptions: 0, timers: 0 });
    expect(scope.context.signal.aborted).toBe(true);
    expect(stats.open).toBe(0);
  });

  it('makes the connection scope only when the adapter uses its context', () => {
    const idle = setup();
    expect(idle.connection.context.current).toBeUndefined();
    expect(idle.connection.context.metrics).toBe(noopMetrics);
    idle.connection.context.log.debug('only a child logger');
    expect(idle.connection.context.current).toBeUndefined();
    idle.ws.emit('close', 1000, Buffer.alloc(0));
    // Touched after close: an already released scope, as an eager one would be by then.
    expect(idle.connection.context.signal.aborted).toBe(true);
    const busy = setup(echo({ silent: true, onOpen: (_c, ctx) => void ctx.clock }));
    expect(busy.connection.context.current).toBeDefined();
  });

  it('survives an adapter whose open() throws: 1011 and no session', () => {
    const adapter = { ...echo(), open: () => { throw new Error('bad'); } };
    const { ws } = setup(adapter);
    expect(ws.closes).toEqual([[1011, 'Internal server error']]);
    ws.emit('message', Buffer.from('x'), false);
    ws.emit('close', 1011, Buffer.alloc(0));
  });

  it('clears awaitingPong on pong and on any message', () => {
    const { ws, connection } = setup();
    connection.awaitingPong = true;
    ws.emit('pong', Buffer.alloc(0));
    expect(connection.awaitingPong).toBe(false);
    connection.awaitingPong = true;
    ws.emit('message', Buffer.from('x'), false);
    expect(connection.awaitingPong).toBe(false);
  });

  it('hands out short unique ids and exposes auth', () => {
    const ids = new Set(Array.from({ length: 1000 }, nextConnectionId));
    expect(ids.size).toBe(1000);
    expect(setup().connection.auth).toEqual({ user: 'u' });
  });
});
