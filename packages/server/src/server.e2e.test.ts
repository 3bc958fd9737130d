/**
 * Connections over real sockets: messages, limits, backpressure, keep-alive, shutdown, metrics,
 * health and attach().
 */
import { createServer as createHttpServer } from 'node:http';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { Registry } from 'prom-client';
import { RegistryError, type AdapterContext, type Connection } from '@protoplex/core';
import { createFakeClock } from '@protoplex/core/testing';
import { echo } from './_test-adapters.js';
import { capturingLogger, closeAll, closed, nextMessage, open, raw, silent, start, until } from './_test-utils.js';
import { attach, createServer, serverDefaults } from './server.js';

afterEach(closeAll);

function clientSocket(ws: WebSocket): Socket {
  return (ws as unknown as { _socket: Socket })._socket;
}

async function httpGet(port: number, path: string): Promise<{ status: number; type: string; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() };
}

describe('messages', () => {
  it('delivers text as a string and binary as bytes, and echoes each with its own frame type', async () => {
    const adapter = echo();
    const { url } = await start({ adapters: [adapter] });
    const ws = await open(url, ['echo.test']);
    ws.send('héllo');
    const text = await nextMessage(ws);
    expect(text.isBinary).toBe(false);
    expect(text.data.toString('utf8')).toBe('héllo');
    ws.send(Uint8Array.of(0, 1, 255));
    const bin = await nextMessage(ws);
    expect(bin.isBinary).toBe(true);
    expect([...bin.data]).toEqual([0, 1, 255]);
    expect(adapter.rec.messages.map((m) => [typeof m.data, m.isBinary])).toEqual([
      ['string', false],
      ['object', true],
    ]);
    expect(adapter.rec.messages[1]!.data).toBeInstanceOf(Uint8Array);
    ws.close();
  });

  it('exposes the connection: short unique id, protocol, registered flag and request', async () => {
    const registered = echo({ name: 'mq', protocols: ['mqtt'] });
    const { url } = await start({ adapters: [registered, echo()] });
    const a = await open(url, ['mqtt'], { headers: { 'x-test': '1' } });
    const b = await open(url, ['echo.test']);
    await until(() => registered.rec.opened.length === 1);
    const conn = registered.rec.opened[0]!;
    expect(conn.protocol).toBe('mqtt');
    expect(conn.registered).toBe(true);
    expect(conn.request.headers['x-test']).toBe('1');
    expect(conn.request.headers['sec-websocket-protocol']).toBe('mqtt');
    // Consumed by the handshake, not kept per connection.
    expect(conn.request.headers['sec-websocket-key']).toBeUndefined();
    expect(conn.request.headers.upgrade).toBeUndefined();
    expect(conn.request.remoteAddress).toBe('127.0.0.1');
    expect(conn.isOpen).toBe(true);
    expect(conn.id.length).toBeLessThanOrEqual(8);
    a.close();
    b.close();
  });

  it('closes with 1009 when a message exceeds maxPayload', async () => {
    const adapter = echo();
    const { url } = await start({ adapters: [adapter], maxPayload: 1024 });
    const ws = await open(url, ['echo.test']);
    const done = closed(ws);
    ws.send(Buffer.alloc(2048));
    expect((await done).code).toBe(1009);
    await until(() => adapter.rec.closed.length === 1);
    expect(adapter.rec.messages).toHaveLength(0);
  });

  it('closes with 1011 when onMessage throws, hides the error, and keeps serving others', async () => {
    const adapter = echo({
      onMessage: (_conn, data) => {
        if (data === 'boom') throw new Error('secret internals');
      },
    });
    const { url } = await start({ adapters: [adapter] });
    const bad = await open(url, ['echo.test']);
    const good = await open(url, ['echo.test']);
    const done = closed(bad);
    bad.send('boom');
    expect(await done).toEqual({ code: 1011, reason: 'Internal server error' });
    good.send('still here');
    expect((await nextMessage(good)).data.toString()).toBe('still here');
    good.close();
  });

  it('closes with 1011 when the adapter uses a close code RFC 6455 forbids (the RangeError is caught)', async () => {
    const adapter = echo({ onMessage: (conn) => conn.close(1006) });
    const { url } = await start({ adapters: [adapter] });
    const ws = await open(url, ['echo.test']);
    const done = closed(ws);
    ws.send('x');
    expect((await done).code).toBe(1011);
  });

  it('calls session.onClose exactly once with the peer code and reason', async () => {
    const adapter = echo({ onMessage: (conn) => conn.close(4000, 'server bye') });
    const { url } = await start({ adapters: [adapter] });
    const ws = await open(url, ['echo.test']);
    const done = closed(ws);
    ws.send('x');
    ws.close(4001, 'client bye');
    await done;
    await until(() => adapter.rec.closed.length > 0);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(adapter.rec.closed).toHaveLength(1);
    const peer = await open(url, ['echo.test']);
    peer.close(4002, 'bye');
    await until(() => adapter.rec.closed.length === 2);
    expect(adapter.rec.closed[1]).toMatchObject({ code: 4002, reason: 'bye' });
  });

  it('warns, naming the adapter, when a session leaves subscriptions or timers behind', async () => {
    const { logger, records } = capturingLogger();
    const adapter = echo({
      name: 'leaky',
      onOpen: (_conn, context: AdapterContext) => {
        context.bus.subscribe('a/#', () => {});
        context.clock.setTimeout(() => {}, 60_000);
      },
    });
    const { url } = await start({ adapters: [adapter], logger });
    const ws = await open(url, ['echo.test']);
    ws.close();
    await until(() => records.some((r) => r.level === 40));
    const warning = records.find((r) => r.level === 40)!;
    expect(warning.msg).toMatch(/adapter leaky leaked 1 bus subscription\(s\) and 1 timer\(s\)/);
    expect(warning).toMatchObject({ adapter: 'leaky', subscriptions: 1, timers: 1 });
  });
});

describe('backpressure', () => {
  it('returns false above highWaterMark and fires onDrain once the peer reads again', async () => {
    let conn!: Connection;
    let drained = 0;
    const adapter = echo({
      silent: true,
      onOpen: (c) => {
        conn = c;
        c.onDrain(() => drained++);
      },
    });
    const { url } = await start({ adapters: [adapter], highWaterMark: 256 * 1024, maxBufferedAmount: 256 * 1024 * 1024 });
    const ws = await open(url, ['echo.test']);
    clientSocket(ws).pause();
    await until(() => conn !== undefined);
    const chunk = Buffer.alloc(64 * 1024, 1);
    let sent = 0;
    let accepted = true;
    while (accepted && sent < 2000) {
      accepted = conn.send(chunk);
      sent++;
      // Let the kernel take what it will so bufferedAmount reflects a really stalled peer.
      if (sent % 64 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    expect(accepted).toBe(false);
    expect(conn.bufferedAmount).toBeGreaterThan(256 * 1024);
    expect(drained).toBe(0);
    let received = 0;
    ws.on('message', () => received++);
    clientSocket(ws).resume();
    await until(() => drained === 1, 5000);
    expect(conn.bufferedAmount).toBeLessThanOrEqual(128 * 1024);
    await until(() => received === sent, 5000);
    ws.close();
  });

  it('closes with 1013 and counts the overflow when the send buffer passes maxBufferedAmount', async () => {
    let conn!: Connection;
    const adapter = echo({ silent: true, onOpen: (c) => (conn = c) });
    const { url, server } = await start({ adapters: [adapter], highWaterMark: 64 * 1024, maxBufferedAmount: 512 * 1024 });
    const ws = await open(url, ['echo.test']);
    clientSocket(ws).pause();
    await until(() => conn !== undefined);
    const chunk = Buffer.alloc(64 * 1024, 2);
    let sent = 0;
    while (conn.isOpen && sent < 2000) {
      conn.send(chunk);
      sent++;
      if (sent % 64 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    expect(conn.isOpen).toBe(false);
    expect(conn.send(chunk)).toBe(false);
    const done = closed(ws);
    clientSocket(ws).resume();
    expect(await done).toEqual({ code: 1013, reason: 'Send buffer overflow' });
    const text = await server.metrics.registry.getSingleMetricAsString('protoplex_send_buffer_overflows_total');
    expect(text).toContain('protoplex_send_buffer_overflows_total{protocol="echo"} 1');
  });
});

describe('keep-alive', () => {
  it('terminates a peer that stops answering pings (1006) and keeps one that answers', async () => {
    const clock = createFakeClock(0);
    const adapter = echo();
    const { url } = await start({ adapters: [adapter], clock, keepAlive: { interval: 1000 } });
    const mute = await open(url, ['echo.test'], { autoPong: false });
    const alive = await open(url, ['echo.test']);
    let pongs = 0;
    const pinged = new Promise((resolve) => mute.once('ping', resolve));
    alive.on('ping', () => pongs++);
    await until(() => adapter.rec.opened.length === 2);
    clock.advance(1000);
    await pinged;
    await until(() => pongs === 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const muteClosed = closed(mute);
    clock.advance(1000);
    expect((await muteClosed).code).toBe(1006);
    await until(() => adapter.rec.closed.length === 1);
    const muteId = adapter.rec.opened[0]!.id;
    expect(adapter.rec.closed[0]).toMatchObject({ id: muteId, code: 1006 });
    expect(alive.readyState).toBe(WebSocket.OPEN);
    alive.close();
  });

  it('terminates after keepAlive.timeout when it is shorter than the interval', async () => {
    const clock = createFakeClock(0);
    const adapter = echo();
    const { url } = await start({ adapters: [adapter], clock, keepAlive: { interval: 10_000, timeout: 500 } });
    const mute = await open(url, ['echo.test'], { autoPong: false });
    const pinged = new Promise((resolve) => mute.once('ping', resolve));
    await until(() => adapter.rec.opened.length === 1);
    // The sweep ticks every 500 ms: the first ping goes out on the tick within 10 s of opening.
    clock.advance(9_500);
    await pinged;
    const done = closed(mute);
    clock.advance(499);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(mute.readyState).toBe(WebSocket.OPEN);
    clock.advance(1);
    expect((await done).code).toBe(1006);
  });

  it('counts any message as an answer', async () => {
    const clock = createFakeClock(0);
    const adapter = echo({ silent: true });
    const { url } = await start({ adapters: [adapter], clock, keepAlive: { interval: 1000 } });
    const ws = await open(url, ['echo.test'], { autoPong: false });
    const pinged = new Promise((resolve) => ws.once('ping', resolve));
    await until(() => adapter.rec.opened.length === 1);
    clock.advance(1000);
    await pinged;
    ws.send('still here');
    await until(() => adapter.rec.messages.length === 1);
    clock.advance(1000);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(ws.readyState).toBe(WebSocket.OPEN);
    ws.close();
  });
});

describe('shutdown', () => {
  it('runs adapter shutdown, closes every connection with 1001, aborts the server signal and closes the HTTP server', async () => {
    let setupContext!: AdapterContext;
    const order: string[] = [];
    const adapter = echo({
      setup: (context) => {
        setupContext = context;
      },
      shutdown: async () => {
        order.push(`shutdown:${adapter.rec.closed.length}`);
      },
    });
    const { url, server } = await start({ adapters: [adapter] });
    const a = await open(url, ['echo.test']);
    const b = await open(url, ['echo2.test']);
    const closes = Promise.all([closed(a), closed(b)]);
    const first = server.close();
    expect(server.close()).toBe(first);
    await first;
    expect(await closes).toEqual([
      { code: 1001, reason: 'Going Away' },
      { code: 1001, reason: 'Going Away' },
    ]);
    expect(order).toEqual(['shutdown:0']);
    expect(adapter.rec.shutdowns).toBe(1);
    expect(adapter.rec.closed.map((c) => c.code)).toEqual([1001, 1001]);
    expect(setupContext.signal.aborted).toBe(true);
    expect(server.httpServer.listening).toBe(false);
    expect(server.stats().connections).toBe(0);
  });

  it('terminates peers that do not finish the close handshake in time', async () => {
    const adapter = echo();
    const { url, server } = await start({ adapters: [adapter], shutdownTimeout: 100 });
    const ws = await open(url, ['echo.test']);
    clientSocket(ws).pause();
    const t0 = Date.now();
    await server.close();
    expect(Date.now() - t0).toBeLessThan(2000);
    await until(() => adapter.rec.closed.length === 1);
    expect(adapter.rec.closed[0]!.code).toBe(1006);
    ws.terminate();
  });

  it('gives adapter shutdown an abort signal when it overruns the timeout', async () => {
    const adapter = echo({ shutdown: (signal) => new Promise((resolve) => signal.addEventListener('abort', () => resolve())) });
    const { server } = await start({ adapters: [adapter], shutdownTimeout: 50 });
    await server.close();
    expect(adapter.rec.shutdownSignal!.aborted).toBe(true);
  });
});

describe('metrics, health and stats', () => {
  it('serves /metrics with protocol labels and /healthz', async () => {
    const adapter = echo({
      onMessage: (_conn, _data, _isBinary, context) => context.metrics.increment('echoes_total', { kind: 'text' }),
    });
    const { url, port, server } = await start({ adapters: [adapter] });
    const ws = await open(url, ['echo.test']);
    ws.send('abc');
    await nextMessage(ws);
    await refusal404(url);

    expect(server.stats()).toEqual({ connections: 1, pending: 0, byProtocol: { echo: 1 } });
    expect([...server.connections].map((c) => c.adapter)).toEqual(['echo']);

    const metrics = await httpGet(port, '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.type).toMatch(/^text\/plain/);
    expect(metrics.body).toContain('protoplex_connections_open{protocol="echo"} 1');
    expect(metrics.body).toContain('protoplex_messages_received_total{protocol="echo"} 1');
    expect(metrics.body).toContain('protoplex_messages_sent_total{protocol="echo"} 1');
    expect(metrics.body).toContain('protoplex_bytes_received_total{protocol="echo"} 3');
    expect(metrics.body).toContain('protoplex_bytes_sent_total{protocol="echo"} 3');
    expect(metrics.body).toContain('protoplex_handshakes_total{protocol="echo",result="accepted"} 1');
    expect(metrics.body).toContain('protoplex_handshakes_total{protocol="",result="refused",reason="not_found"} 1');
    expect(metrics.body).toContain('protoplex_echoes_total{protocol="echo",kind="text"} 1');

    const health = await httpGet(port, '/healthz');
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toEqual({ status: 'ok', connections: 1 });

    expect((await httpGet(port, '/')).status).toBe(426);
    expect((await httpGet(port, '/other')).status).toBe(404);
    ws.close();
  });

  it('uses the registry it is given', async () => {
    const registry = new Registry();
    const { server } = await start({ adapters: [echo()], metrics: registry });
    expect(server.metrics.registry).toBe(registry);
    expect(await registry.getSingleMetricAsString('protoplex_connections_open')).toContain('protocol="echo"');
  });
});

async function refusal404(url: string): Promise<void> {
  await open(`${url}/missing`, ['echo.test']).then(
    () => {
      throw new Error('expected 404');
    },
    (error: { status?: number }) => expect(error.status).toBe(404),
  );
}

describe('attach', () => {
  it('serves WebSocket upgrades on a user-owned HTTP server that keeps answering its own requests', async () => {
    const httpServer = createHttpServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('user page');
    });
    const adapter = echo();
    const handle = attach(httpServer, { routes: [{ path: '/ws', adapters: [adapter] }], logger: silent });
    await handle.ready;
    await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
    const port = (httpServer.address() as { port: number }).port;
    try {
      expect((await httpGet(port, '/anything')).body).toBe('user page');
      const ws = await open(`ws://127.0.0.1:${port}/ws`, ['echo.test']);
      ws.send('hi');
      expect((await nextMessage(ws)).data.toString()).toBe('hi');
      const done = closed(ws);
      await handle.close();
      expect((await done).code).toBe(1001);
      // attach() never closes a server it does not own.
      expect(httpServer.listening).toBe(true);
      expect((await httpGet(port, '/again')).body).toBe('user page');
    } finally {
      await new Promise((resolve) => httpServer.close(resolve));
    }
  });

  it('lets users route upgrades themselves with routeUpgrades: false and handleUpgrade', async () => {
    const httpServer = createHttpServer();
    const adapter = echo();
    const handle = attach(httpServer, { routes: [{ path: '/mine', adapters: [adapter] }], logger: silent, routeUpgrades: false });
    httpServer.on('upgrade', (req, socket, head) => {
      if (req.url === '/mine') handle.handleUpgrade(req, socket, head);
      else socket.end('HTTP/1.1 418 I\'m a teapot\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    });
    await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
    const port = (httpServer.address() as { port: number }).port;
    try {
      const other = await raw(port, `GET /theirs HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n`);
      expect(other.status).toBe(418);
      const ws = await open(`ws://127.0.0.1:${port}/mine`, ['echo.test']);
      ws.send('routed');
      expect((await nextMessage(ws)).data.toString()).toBe('routed');
      ws.close();
      await handle.close();
    } finally {
      await new Promise((resolve) => httpServer.close(resolve));
    }
  });
});

describe('bus', () => {
  it('logs a throwing bus subscriber instead of crashing the process', async () => {
    const { logger, records } = capturingLogger();
    let context!: AdapterContext;
    const adapter = echo({ setup: (c) => void (context = c) });
    await start({ adapters: [adapter], logger });
    context.bus.subscribe('t/#', () => {
      throw new Error('subscriber bug');
    });
    let delivered = 0;
    context.bus.subscribe('t/x', () => delivered++);
    await context.bus.publish({ topic: 't/x', payload: new Uint8Array(), origin: { protocol: 'echo' }, qos: 0 });
    await new Promise((resolve) => setImmediate(resolve));
    expect(delivered).toBe(1);
    expect(records.find((r) => r.msg === 'bus subscriber threw')).toMatchObject({ topic: 't/x', level: 50 });
  });
});

describe('options', () => {
  it('throws registration and option errors at creation', () => {
    expect(() => createServer({ adapters: [echo(), echo({ name: 'twin' })], logger: silent })).toThrow(RegistryError);
    expect(() => createServer({ adapters: [echo()], routes: [{ path: '/', adapters: [echo()] }], logger: silent })).toThrow(TypeError);
    expect(() => createServer({ routes: [{ path: '/', adapters: [echo()] }], fallback: echo({ protocols: ['f.test'] }), logger: silent })).toThrow(TypeError);
    expect(() => createServer({ logger: silent })).toThrow(TypeError);
    expect(() => createServer({ adapters: [echo()], overflowCloseCode: 1006 as never, logger: silent })).toThrow(RangeError);
    expect(() => createServer({ adapters: [echo()], highWaterMark: 10, maxBufferedAmount: 5, logger: silent })).toThrow(RangeError);
    expect(() => createServer({ routes: [{ path: '/', adapters: [echo()], onNoMatch: 'close', noMatchCloseCode: 1005 }], logger: silent })).toThrow(RangeError);
  });

  it('documents its defaults in one constant', () => {
    expect(serverDefaults).toEqual({
      maxPayload: 1024 * 1024,
      perMessageDeflate: false,
      keepAlive: { interval: 30_000 },
      highWaterMark: 1024 * 1024,
      maxBufferedAmount: 16 * 1024 * 1024,
      overflowCloseCode: 1013,
      requireOrigin: false,
      shutdownTimeout: 10_000,
    });
  });

  it('runs setup once per adapter object, even when it serves several routes', async () => {
    const adapter = echo();
    const { server } = await start({ routes: [{ path: '/a', adapters: [adapter] }, { path: '/b', adapters: [adapter] }] });
    await server.ready;
    expect(adapter.rec.setups).toBe(1);
  });

  it('rejects listen() when an adapter setup fails', async () => {
    const adapter = echo({ setup: () => Promise.reject(new Error('no database')) });
    const server = createServer({ adapters: [adapter], logger: silent });
    await expect(server.listen(0, '127.0.0.1')).rejects.toThrow('no database');
    await server.close();
  });

  it('negotiates with permessage-deflate enabled', async () => {
    const { url } = await start({ adapters: [echo()], perMessageDeflate: true });
    const ws = await open(url, ['echo.test']);
    expect(ws.extensions).toContain('permessage-deflate');
    ws.send('x'.repeat(10_000));
    expect((await nextMessage(ws)).data.length).toBe(10_000);
    ws.close();
  });
});
