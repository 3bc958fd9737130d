/**
 * First-message recognition over real sockets: clients that send no Sec-WebSocket-Protocol on
 * a route with `recognize: true`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { HandshakeError, type Connection, type UpgradeRequest } from '@protoplex/core';
import { createFakeClock } from '@protoplex/core/testing';
import { echo, type TestAdapter } from './_test-adapters.js';
import {
  capturingLogger,
  closeAll,
  closed,
  header,
  nextMessage,
  open,
  parseCloseFrame,
  raw,
  refusal,
  silent,
  sleep,
  start,
  until,
  upgradeRequest,
} from './_test-utils.js';
import { createServer } from './server.js';

afterEach(closeAll);

type EchoOptions = Parameters<typeof echo>[0];

/** Text messages that start with ALPHA. */
function alpha(options: EchoOptions = {}): TestAdapter {
  return echo({
    name: 'alpha',
    protocols: ['alpha.test'],
    recognize: (data, isBinary) => (!isBinary && typeof data === 'string' && data.startsWith('ALPHA') ? 'alpha.test' : undefined),
    ...options,
  });
}

/** Binary messages whose first byte is 0x10; the second byte picks the version. */
function beta(options: EchoOptions = {}): TestAdapter {
  return echo({
    name: 'beta',
    protocols: ['beta.test', 'beta2.test'],
    aliases: ['beta-old'],
    recognize: (data, isBinary) => {
      if (!isBinary || typeof data === 'string' || data[0] !== 0x10) return undefined;
      return data[1] === 2 ? 'beta2.test' : data[1] === 0 ? 'beta-old' : 'beta.test';
    },
    ...options,
  });
}

async function metricsText(server: { metrics: { registry: { metrics(): Promise<string> } } }): Promise<string> {
  return server.metrics.registry.metrics();
}

describe('recognize: true, no Sec-WebSocket-Protocol offered', () => {
  it('answers 101 without the header, hands the connection to the adapter that recognises the first message, and delivers that message', async () => {
    const a = alpha();
    const b = beta();
    const opened: string[] = [];
    const { url, port, server } = await start({
      routes: [{ path: '/', adapters: [b, a], recognize: true }],
      onConnection: (connection) => opened.push(`${connection.adapter} ${connection.protocol}`),
    });

    // RFC 6455 §4.2.2: no Sec-WebSocket-Protocol in the answer when none was offered.
    const response = await raw(port, upgradeRequest('/'), { until: (data) => data.includes('\r\n\r\n') });
    expect(response.status).toBe(101);
    expect(header(response, 'sec-websocket-protocol')).toEqual([]);

    // A ws client that offered nothing fails the handshake if the answer names a subprotocol.
    const ws = await open(url);
    expect(ws.protocol).toBe('');
    await until(() => server.stats().pending === 1);
    ws.send('ALPHA hello');
    expect((await nextMessage(ws)).data.toString()).toBe('ALPHA hello');
    expect(a.rec.opened).toHaveLength(1);
    expect(b.rec.opened).toHaveLength(0);
    const connection = a.rec.opened[0]!;
    expect(connection.protocol).toBe('alpha.test');
    expect(connection.registered).toBe(false);
    expect(connection.request.headers['sec-websocket-protocol']).toBeUndefined();
    expect(a.rec.messages).toEqual([{ id: connection.id, data: 'ALPHA hello', isBinary: false }]);
    expect(opened).toEqual(['alpha alpha.test']);
    expect(server.stats()).toMatchObject({ connections: 1, pending: 0, byProtocol: { alpha: 1, beta: 0 } });

    const bin = await open(url);
    bin.send(Uint8Array.of(0x10, 2, 7));
    expect([...(await nextMessage(bin)).data]).toEqual([0x10, 2, 7]);
    expect(b.rec.opened.map((c) => [c.protocol, c.registered])).toEqual([['beta2.test', false]]);
    expect(b.rec.messages[0]!.data).toBeInstanceOf(Uint8Array);

    // Counted per protocol like negotiated connections, the first message included.
    const text = await metricsText(server);
    expect(text).toContain('protoplex_handshakes_total{protocol="alpha",result="accepted"} 1');
    expect(text).toContain('protoplex_handshakes_total{protocol="beta",result="accepted"} 1');
    expect(text).toContain('protoplex_messages_received_total{protocol="alpha"} 1');
    expect(text).toContain('protoplex_bytes_received_total{protocol="alpha"} 11');
    expect(text).toContain('protoplex_connections_open{protocol="alpha"} 1');
    ws.close();
    bin.close();
  });

  it('asks the adapters in route order: the first that answers wins', async () => {
    const first = echo({ name: 'first', protocols: ['first.test'], recognize: () => 'first.test' });
    const second = alpha();
    const { url } = await start({ routes: [{ path: '/', adapters: [first, second], recognize: true }] });
    const ws = await open(url);
    ws.send('ALPHA');
    await nextMessage(ws);
    expect(first.rec.opened.map((c) => c.protocol)).toEqual(['first.test']);
    expect(second.rec.opened).toHaveLength(0);
    ws.close();
  });

  it('reports an alias id as unregistered', async () => {
    const b = beta();
    const { url } = await start({ routes: [{ path: '/', adapters: [b], recognize: true }] });
    const ws = await open(url);
    ws.send(Uint8Array.of(0x10, 0));
    await nextMessage(ws);
    expect(b.rec.opened.map((c) => [c.protocol, c.registered])).toEqual([['beta-old', false]]);
    ws.close();
  });

  it('marks a recognised IANA id as registered', async () => {
    const mq = echo({ name: 'mq', protocols: ['mqtt'], recognize: (data, isBinary) => (isBinary ? 'mqtt' : undefined) });
    const { url } = await start({ routes: [{ path: '/', adapters: [mq], recognize: true }] });
    const ws = await open(url);
    ws.send(Uint8Array.of(0x10, 0));
    await nextMessage(ws);
    expect(mq.rec.opened.map((c) => [c.protocol, c.registered])).toEqual([['mqtt', true]]);
    ws.close();
  });

  it('closes with 1002 naming what the path serves when no adapter recognises the first message', async () => {
    const a = alpha();
    const b = beta();
    const { url, server } = await start({ routes: [{ path: '/', adapters: [a, b], recognize: true }] });
    const ws = await open(url);
    const done = closed(ws);
    ws.send('HELLO?');
    expect(await done).toEqual({ code: 1002, reason: 'unrecognised first message; this path serves alpha.test, beta.test, beta2.test, beta-old' });
    expect(a.rec.opened).toHaveLength(0);
    expect(b.rec.opened).toHaveLength(0);
    await until(() => server.stats().pending === 0);
    expect(await metricsText(server)).toContain('protoplex_handshakes_total{protocol="",result="refused",reason="unrecognized"} 1');
  });

  it('cuts a long list of served ids to a sendable close reason', async () => {
    const many = echo({ name: 'many', protocols: Array.from({ length: 20 }, (_, i) => `proto-${i}.example`), recognize: () => undefined });
    const { url } = await start({ routes: [{ path: '/', adapters: [many], recognize: true }] });
    const ws = await open(url);
    const done = closed(ws);
    ws.send('x');
    const { code, reason } = await done;
    expect(code).toBe(1002);
    expect(reason.startsWith('unrecognised first message; this path serves proto-0.example, proto-1.example')).toBe(true);
    expect(Buffer.byteLength(reason)).toBe(123);
  });

  it('takes an id that is not the adapter\'s own as "not recognised", and logs it', async () => {
    const { logger, records } = capturingLogger();
    const liar = echo({ name: 'liar', protocols: ['liar.test'], recognize: () => 'alpha.test' });
    const thrower = echo({
      name: 'thrower',
      protocols: ['thrower.test'],
      recognize: () => {
        throw new Error('bug');
      },
    });
    const a = alpha();
    const { url } = await start({ routes: [{ path: '/', adapters: [liar, thrower, a], recognize: true }], logger });
    const ws = await open(url);
    ws.send('ALPHA');
    await nextMessage(ws);
    expect(liar.rec.opened).toHaveLength(0);
    expect(a.rec.opened).toHaveLength(1);
    expect(records.some((r) => r.level === 50 && /adapter liar recognize\(\) returned "alpha.test", which is none of its protocols/.test(String(r.msg)))).toBe(true);
    expect(records.some((r) => r.level === 50 && /adapter thrower recognize\(\) threw/.test(String(r.msg)))).toBe(true);
    ws.close();
  });

  it('delivers messages sent right after the first, in order, while an async authorize runs', async () => {
    const seen: Array<[string, string]> = [];
    const a = alpha({
      silent: true,
      authorize: async (request: UpgradeRequest, protocol: string) => {
        await sleep(30);
        seen.push([request.path, protocol]);
        return { user: 'u1' };
      },
    });
    const { url } = await start({ routes: [{ path: '/', adapters: [a], recognize: true }] });
    const ws = await open(url);
    const sent = ['ALPHA connect', ...Array.from({ length: 200 }, (_, i) => `m${i}`)];
    for (const message of sent) ws.send(message);
    await until(() => a.rec.messages.length === sent.length);
    expect(a.rec.messages.map((m) => m.data)).toEqual(sent);
    expect(seen).toEqual([['/', 'alpha.test']]);
    expect(a.rec.opened[0]!.auth).toEqual({ user: 'u1' });
    ws.close();
  });

  it('runs a synchronous authorize and keeps its result as connection.auth', async () => {
    const a = alpha({ authorize: (_request, protocol) => ({ via: protocol }) });
    const { url } = await start({ routes: [{ path: '/', adapters: [a], recognize: true }] });
    const ws = await open(url);
    const echoed: string[] = [];
    ws.on('message', (data) => echoed.push(data.toString()));
    ws.send('ALPHA');
    ws.send('second');
    await until(() => echoed.length === 2);
    expect(echoed).toEqual(['ALPHA', 'second']);
    expect(a.rec.opened[0]!.auth).toEqual({ via: 'alpha.test' });
    ws.close();
  });

  it.each([
    ['synchronously', (): never => {
      throw new HandshakeError(403, 'Forbidden token');
    }],
    ['asynchronously', async (): Promise<never> => {
      await sleep(5);
      throw new HandshakeError(401, 'Authentication required');
    }],
  ])('closes with 1008 and the message when authorize refuses %s', async (_how, authorize) => {
    const a = alpha({ authorize });
    const { url, server } = await start({ routes: [{ path: '/', adapters: [a], recognize: true }] });
    const ws = await open(url);
    const done = closed(ws);
    ws.send('ALPHA');
    ws.send('more');
    const result = await done;
    expect(result.code).toBe(1008);
    expect(['Forbidden token', 'Authentication required']).toContain(result.reason);
    expect(a.rec.opened).toHaveLength(0);
    expect(a.rec.messages).toHaveLength(0);
    await until(() => server.stats().pending === 0);
    expect(await metricsText(server)).toContain('protoplex_handshakes_total{protocol="alpha",result="refused",reason="unauthorized"} 1');
  });

  it('closes with 1011 and hides the error when authorize throws anything else', async () => {
    const a = alpha({
      authorize: () => {
        throw new Error('database down: secret internals');
      },
    });
    const { url } = await start({ routes: [{ path: '/', adapters: [a], recognize: true }] });
    const ws = await open(url);
    const done = closed(ws);
    ws.send('ALPHA');
    expect(await done).toEqual({ code: 1011, reason: 'Internal server error' });
    expect(a.rec.opened).toHaveLength(0);
  });

  it('leaves nothing behind when the peer closes before its first message', async () => {
    const clock = createFakeClock(0);
    const a = alpha();
    const { url, server } = await start({ routes: [{ path: '/', adapters: [a], recognize: true }], clock, keepAlive: { interval: 1000 } });
    const ws = await open(url);
    await until(() => server.stats().pending === 1);
    // The keep-alive sweep and the first-message sweep.
    expect(clock.pending).toBe(2);
    ws.close(4000, 'changed my mind');
    await closed(ws);
    await until(() => server.stats().pending === 0);
    expect(clock.pending).toBe(0);
    const dropped = await open(url);
    await until(() => server.stats().pending === 1);
    dropped.terminate();
    await until(() => server.stats().pending === 0);
    expect(clock.pending).toBe(0);
    expect(a.rec.opened).toHaveLength(0);
    expect(a.rec.closed).toHaveLength(0);
    clock.advance(20_000);
    expect(server.stats()).toMatchObject({ connections: 0, pending: 0 });
  });

  it('drops an authorized connection whose peer left while authorize ran', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const a = alpha({ authorize: () => gate.then(() => ({})) });
    const { url, server } = await start({ routes: [{ path: '/', adapters: [a], recognize: true }] });
    const ws = await open(url);
    ws.send('ALPHA');
    await sleep(20);
    ws.terminate();
    await until(() => server.stats().pending === 0);
    release();
    await sleep(20);
    expect(a.rec.opened).toHaveLength(0);
    expect(server.stats().connections).toBe(0);
  });

  it('opens no session for a peer that sends its first message and closes while authorize runs', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const a = alpha({ authorize: () => gate.then(() => ({})) });
    const { url, server } = await start({ routes: [{ path: '/', adapters: [a], recognize: true }] });
    const ws = await open(url);
    const done = closed(ws);
    ws.send('ALPHA');
    ws.close(1000, 'bye');
    await sleep(20);
    release();
    expect((await done).code).toBe(1000);
    await until(() => server.stats().pending === 0);
    await sleep(20);
    expect(a.rec.opened).toHaveLength(0);
    expect(server.stats().connections).toBe(0);
  });

  it('closes a connection that sends nothing within recognizeTimeout with 1002 "no first message"', async () => {
    const clock = createFakeClock(0);
    const { url, server } = await start({ routes: [{ path: '/', adapters: [alpha()], recognize: true, recognizeTimeout: 3000 }], clock, keepAlive: false });
    const ws = await open(url);
    await until(() => server.stats().pending === 1);
    const done = closed(ws);
    clock.advance(2999);
    await sleep(20);
    expect(ws.readyState).toBe(WebSocket.OPEN);
    clock.advance(1);
    expect(await done).toEqual({ code: 1002, reason: 'no first message' });
    await until(() => server.stats().pending === 0);
    expect(clock.pending).toBe(0);
  });

  it('keeps pinging a pending connection and terminates one that stops answering, before and after recognition', async () => {
    const clock = createFakeClock(0);
    const a = alpha();
    const { url, server } = await start({ routes: [{ path: '/', adapters: [a], recognize: true }], clock, keepAlive: { interval: 1000 } });
    const mute = await open(url, undefined, { autoPong: false });
    await until(() => server.stats().pending === 1);
    const pinged = new Promise((resolve) => mute.once('ping', resolve));
    clock.advance(1000);
    await pinged;
    const muteClosed = closed(mute);
    clock.advance(1000);
    expect((await muteClosed).code).toBe(1006);

    const later = await open(url, undefined, { autoPong: false });
    later.send('ALPHA');
    await nextMessage(later);
    const pingedAgain = new Promise((resolve) => later.once('ping', resolve));
    clock.advance(1000);
    await pingedAgain;
    const laterClosed = closed(later);
    clock.advance(1000);
    expect((await laterClosed).code).toBe(1006);
    await until(() => a.rec.closed.length === 1);
    expect(a.rec.closed[0]!.code).toBe(1006);
  });

  it('closes with 1009 when the first message exceeds maxPayload, with no session and no leftovers', async () => {
    const a = alpha();
    const { url, server } = await start({ routes: [{ path: '/', adapters: [a], recognize: true }], maxPayload: 1024 });
    const ws = await open(url);
    const done = closed(ws);
    ws.send('ALPHA' + 'x'.repeat(2048));
    expect((await done).code).toBe(1009);
    await until(() => server.stats().pending === 0);
    expect(a.rec.opened).toHaveLength(0);
  });

  it('closes pending connections with 1001 on shutdown, also while authorize runs', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const a = alpha({ authorize: () => gate.then(() => ({})) });
    const { url, server } = await start({ routes: [{ path: '/', adapters: [a], recognize: true }] });
    const idle = await open(url);
    const authorizing = await open(url);
    authorizing.send('ALPHA');
    await until(() => server.stats().pending === 2);
    await sleep(20);
    const closes = Promise.all([closed(idle), closed(authorizing)]);
    await server.close();
    expect(await closes).toEqual([
      { code: 1001, reason: 'Going Away' },
      { code: 1001, reason: 'Going Away' },
    ]);
    release();
    await sleep(20);
    expect(a.rec.opened).toHaveLength(0);
    expect(server.stats()).toMatchObject({ connections: 0, pending: 0 });
  });

  it('serves recognised connections through a normal shutdown', async () => {
    const a = alpha();
    const { url, server } = await start({ routes: [{ path: '/', adapters: [a], recognize: true }] });
    const ws = await open(url);
    ws.send('ALPHA');
    await nextMessage(ws);
    const done = closed(ws);
    await server.close();
    expect(await done).toEqual({ code: 1001, reason: 'Going Away' });
    expect(a.rec.closed.map((c) => c.code)).toEqual([1001]);
  });

  it('warns about leftovers of a recognised session like any other', async () => {
    const { logger, records } = capturingLogger();
    const a = alpha({ name: 'leaky', onOpen: (_c: Connection, context) => void context.bus.subscribe('a/#', () => {}) });
    const { url } = await start({ routes: [{ path: '/', adapters: [a], recognize: true }], logger });
    const ws = await open(url);
    ws.send('ALPHA');
    await nextMessage(ws);
    ws.close();
    await until(() => records.some((r) => r.level === 40));
    expect(records.find((r) => r.level === 40)!.msg).toMatch(/adapter leaky leaked 1 bus subscription/);
  });
});

describe('recognize and an offered subprotocol', () => {
  it('negotiates an offered header as always, with the option on', async () => {
    const a = alpha();
    const { url, port } = await start({ routes: [{ path: '/', adapters: [a, beta()], recognize: true }] });
    const ws = await open(url, ['beta.test', 'alpha.test']);
    expect(ws.protocol).toBe('alpha.test');
    // Negotiated: the first message goes to the session whatever it looks like.
    ws.send(Uint8Array.of(0x10, 1));
    expect([...(await nextMessage(ws)).data]).toEqual([0x10, 1]);
    expect(a.rec.opened.map((c) => c.protocol)).toEqual(['alpha.test']);
    ws.close();

    const unmatched = await refusal(url, ['nope.test']);
    expect(unmatched.status).toBe(400);
    expect(unmatched.body).toMatch(/None of the offered subprotocols \(nope\.test\) is supported/);
    expect((await raw(port, upgradeRequest('/', [['Sec-WebSocket-Protocol', 'a,,b']]))).status).toBe(400);
    // An empty header is an offer, and a malformed one.
    const empty = await raw(port, upgradeRequest('/', [['Sec-WebSocket-Protocol', '']]));
    expect(empty.status).toBe(400);
    expect(empty.rest.toString()).toMatch(/Malformed Sec-WebSocket-Protocol/);
  });

  it('keeps onNoMatch for offers that match nothing', async () => {
    const { port } = await start({ routes: [{ path: '/', adapters: [alpha()], recognize: true, onNoMatch: 'close' }] });
    const r = await raw(port, upgradeRequest('/', [['Sec-WebSocket-Protocol', 'nope.test']]), {
      until: (data) => {
        const end = data.indexOf('\r\n\r\n');
        return end !== -1 && data.length >= end + 4 + 4;
      },
    });
    expect(r.status).toBe(101);
    expect(header(r, 'sec-websocket-protocol')).toEqual([]);
    expect(parseCloseFrame(r.rest)).toMatchObject({ opcode: 8, code: 1002, reason: 'no supported subprotocol offered' });
  });

  it('answers 400 to a request without the header when the option is off (the default)', async () => {
    const a = alpha();
    const { url } = await start({ routes: [{ path: '/', adapters: [a] }, { path: '/explicit', adapters: [beta()], recognize: false }] });
    for (const path of ['/', '/explicit']) {
      const refused = await refusal(url + path);
      expect(refused.status).toBe(400);
      expect(refused.body).toMatch(/^No Sec-WebSocket-Protocol offered\. Supported: /);
    }
  });

  it('applies recognize per route', async () => {
    const a = alpha();
    const { url } = await start({ routes: [{ path: '/open', adapters: [a], recognize: true }, { path: '/strict', adapters: [beta()] }] });
    expect((await refusal(url + '/strict')).status).toBe(400);
    const ws = await open(url + '/open');
    ws.send('ALPHA');
    await nextMessage(ws);
    ws.close();
  });

  it('takes recognize at the top level for the `adapters` shorthand', async () => {
    const a = alpha();
    const { url } = await start({ adapters: [a], recognize: true });
    const ws = await open(url);
    ws.send('ALPHA');
    await nextMessage(ws);
    expect(a.rec.opened.map((c) => c.protocol)).toEqual(['alpha.test']);
    ws.close();
  });
});

describe('recognize options', () => {
  it('throws at creation for combinations that cannot work', () => {
    const make = (options: Parameters<typeof createServer>[0]) => () => createServer({ logger: silent, ...options });
    expect(make({ routes: [{ path: '/', adapters: [alpha()], recognize: true, fallback: beta() }] })).toThrow(/recognize and fallback/);
    expect(make({ routes: [{ path: '/', adapters: [echo()], recognize: true }] })).toThrow(/none of its adapters \(echo\) implements recognize\(\)/);
    expect(make({ routes: [{ path: '/', adapters: [alpha()], recognize: true, recognizeTimeout: 0 }] })).toThrow(RangeError);
    expect(make({ routes: [{ path: '/', adapters: [alpha()], recognize: 'yes' as never }] })).toThrow(TypeError);
    expect(make({ routes: [{ path: '/', adapters: [alpha()] }], recognize: true })).toThrow(TypeError);
    expect(make({ adapters: [alpha()], recognizeTimeout: -5 })).toThrow(RangeError);
  });
});
