/**
 * Every HTTP answer of the opening handshake, over real sockets on 127.0.0.1 (ws as the client,
 * raw TCP where the exact header lines matter).
 */
import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bearerAuthorize, echo } from './_test-adapters.js';
import {
  KEY,
  closeAll,
  closed,
  header,
  open,
  parseCloseFrame,
  raw,
  refusal,
  start,
  upgradeRequest,
  type RawResponse,
} from './_test-utils.js';

afterEach(closeAll);

const has101 = (r: RawResponse): boolean => r.status === 101;
const upgraded = { until: (data: Buffer) => data.includes('\r\n\r\n') };

describe('Sec-WebSocket-Protocol negotiation', () => {
  it('answers 400 listing the supported ids when no offered id is served', async () => {
    const { url } = await start({ adapters: [echo()] });
    const r = await refusal(url, ['nope.test']);
    expect(r.status).toBe(400);
    expect(r.headers['content-type']).toMatch(/^text\/plain/);
    expect(r.headers['connection']).toBe('close');
    expect(r.body).toContain('Supported: echo.test, echo2.test');
  });

  it('answers 400 when no subprotocol is offered and there is no fallback', async () => {
    const { url } = await start({ adapters: [echo()] });
    const r = await refusal(url);
    expect(r.status).toBe(400);
    expect(r.body).toMatch(/No Sec-WebSocket-Protocol offered/);
  });

  it.each([
    ['an empty element', 'echo.test,,echo2.test'],
    ['a duplicate', 'echo.test, echo.test'],
    ['a space inside an element', 'echo.test echo2.test'],
    ['a non-token character', 'echo.test, a/b'],
  ])('answers 400 to an offer with %s', async (_what, offer) => {
    const { port } = await start({ adapters: [echo()] });
    const r = await raw(port, upgradeRequest('/', [['Sec-WebSocket-Protocol', offer]]));
    expect(r.status).toBe(400);
    expect(r.rest.toString()).toMatch(/^Malformed Sec-WebSocket-Protocol/);
  });

  it('chooses in server preference order by default', async () => {
    const { url } = await start({ adapters: [echo()] });
    const ws = await open(url, ['echo2.test', 'echo.test']);
    expect(ws.protocol).toBe('echo.test');
    ws.close();
  });

  it('chooses in client order with preference: client', async () => {
    const { url } = await start({ routes: [{ path: '/', adapters: [echo()], preference: 'client' }] });
    const ws = await open(url, ['echo2.test', 'echo.test']);
    expect(ws.protocol).toBe('echo2.test');
    ws.close();
  });

  it('joins two Sec-WebSocket-Protocol header lines into one list (RFC 7230 §3.2.2)', async () => {
    const { port } = await start({ adapters: [echo()] });
    const r = await raw(port, upgradeRequest('/', [['Sec-WebSocket-Protocol', 'x.test'], ['Sec-WebSocket-Protocol', 'echo2.test']]), upgraded);
    expect(r.status).toBe(101);
    expect(header(r, 'sec-websocket-protocol')).toEqual(['echo2.test']);
    const dup = await raw(port, upgradeRequest('/', [['Sec-WebSocket-Protocol', 'echo.test'], ['Sec-WebSocket-Protocol', 'echo.test']]));
    expect(dup.status).toBe(400);
  });

  it('matches ids case-sensitively (RFC 7936 §2)', async () => {
    const { url } = await start({ adapters: [echo()] });
    expect((await refusal(url, ['ECHO.test'])).status).toBe(400);
  });

  it('answers exactly one offered id in the 101', async () => {
    const { port } = await start({ adapters: [echo()] });
    const r = await raw(port, upgradeRequest('/', [['Sec-WebSocket-Protocol', 'a.test, echo2.test, echo.test']]), upgraded);
    expect(r.status).toBe(101);
    expect(header(r, 'sec-websocket-protocol')).toEqual(['echo.test']);
  });

  it('upgrades without the header and closes with 1002 under onNoMatch: close (OCPP-J)', async () => {
    const { port, url } = await start({ routes: [{ path: '/ocpp/:identity', adapters: [echo()], onNoMatch: 'close' }] });
    const r = await raw(port, upgradeRequest('/ocpp/CP1', [['Sec-WebSocket-Protocol', 'ocpp1.6']]), {
      until: (data) => {
        const end = data.indexOf('\r\n\r\n');
        return end !== -1 && data.length >= end + 4 + 4;
      },
    });
    expect(r.status).toBe(101);
    expect(header(r, 'sec-websocket-protocol')).toEqual([]);
    expect(parseCloseFrame(r.rest)).toMatchObject({ opcode: 8, code: 1002 });
    // A ws client that offers nothing sees the same close.
    const ws = await open(`${url}/ocpp/CP1`);
    expect((await closed(ws)).code).toBe(1002);
  });

  it('serves a fallback adapter without a Sec-WebSocket-Protocol header', async () => {
    const fallback = echo({ name: 'plain', protocols: ['plain.test'] });
    const { port, url } = await start({ adapters: [echo()], fallback });
    const r = await raw(port, upgradeRequest('/', [['Sec-WebSocket-Protocol', 'unknown.test']]), upgraded);
    expect(r.status).toBe(101);
    expect(header(r, 'sec-websocket-protocol')).toEqual([]);
    const ws = await open(url);
    expect(ws.protocol).toBe('');
    ws.send('hi');
    await new Promise((resolve) => ws.once('message', resolve));
    expect(fallback.rec.opened.at(-1)!.protocol).toBe('');
    ws.close();
  });

  it('never answers anything but 101 with one offered token, or a 4xx (random offers over sockets)', async () => {
    const { port } = await start({ adapters: [echo()] });
    const element = fc.oneof(fc.constantFrom('echo.test', 'echo2.test', 'ECHO.test', 'x', ''), fc.stringMatching(/^[!-~]{1,6}$/));
    const offer = fc.tuple(fc.array(element, { minLength: 1, maxLength: 4 }), fc.constantFrom(',', ', ', ' ,', ',\t')).map(([parts, sep]) => parts.join(sep));
    await fc.assert(
      fc.asyncProperty(offer, async (value) => {
        const r = await raw(port, upgradeRequest('/', [['Sec-WebSocket-Protocol', value]]), upgraded);
        if (r.status === 101) {
          const chosen = header(r, 'sec-websocket-protocol');
          expect(chosen).toHaveLength(1);
          expect(value.split(',').map((s) => s.trim())).toContain(chosen[0]);
        } else {
          expect(r.status).toBeGreaterThanOrEqual(400);
          expect(r.status).toBeLessThan(500);
        }
      }),
      { numRuns: 12, seed: 0x5eed },
    );
  });
});

describe('request checks', () => {
  it('answers 426 with Sec-WebSocket-Version: 13 to version 7 (RFC 6455 §4.4)', async () => {
    const { port } = await start({ adapters: [echo()] });
    const r = await raw(
      port,
      upgradeRequest('/', [], [
        ['Host', 'x'],
        ['Upgrade', 'websocket'],
        ['Connection', 'Upgrade'],
        ['Sec-WebSocket-Key', KEY],
        ['Sec-WebSocket-Version', '7'],
        ['Sec-WebSocket-Protocol', 'echo.test'],
      ]),
    );
    expect(r.status).toBe(426);
    expect(header(r, 'sec-websocket-version')).toEqual(['13']);
    expect(header(r, 'upgrade')).toEqual(['websocket']);
  });

  it.each([
    ['a method other than GET', 'POST', [['Upgrade', 'websocket'], ['Connection', 'Upgrade'], ['Sec-WebSocket-Key', KEY], ['Sec-WebSocket-Version', '13']]],
    ['a key that is not 16 bytes of base64', 'GET', [['Upgrade', 'websocket'], ['Connection', 'Upgrade'], ['Sec-WebSocket-Key', 'c2hvcnQ='], ['Sec-WebSocket-Version', '13']]],
    ['no key', 'GET', [['Upgrade', 'websocket'], ['Connection', 'Upgrade'], ['Sec-WebSocket-Version', '13']]],
    ['a Connection header without upgrade', 'GET', [['Upgrade', 'websocket'], ['Connection', 'keep-alive, Upgrade-ish'], ['Sec-WebSocket-Key', KEY], ['Sec-WebSocket-Version', '13']]],
  ] as Array<[string, string, Array<[string, string]>]>)('answers 400 to %s', async (_what, method, lines) => {
    const { server } = await start({ adapters: [echo()] });
    // Drive handleUpgrade directly: Node's parser itself only emits 'upgrade' for Connection: upgrade.
    const { PassThrough } = await import('node:stream');
    const socket = new PassThrough();
    let written = '';
    socket.on('data', (chunk: Buffer) => (written += chunk.toString('latin1')));
    const headers = Object.fromEntries(lines.map(([k, v]) => [k.toLowerCase(), v]));
    server.handleUpgrade({ method, url: '/', headers, socket: { remoteAddress: '127.0.0.1' } } as never, socket, Buffer.alloc(0));
    await new Promise((resolve) => setImmediate(resolve));
    expect(written).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(written).toContain('Connection: close\r\n');
    expect(socket.destroyed).toBe(true);
  });

  it('answers 404 to a path no route serves', async () => {
    const { url } = await start({ adapters: [echo()] });
    expect((await refusal(`${url}/nowhere`, ['echo.test'])).status).toBe(404);
  });

  it('percent-decodes route parameters and answers 400 to a malformed encoding', async () => {
    const adapter = echo();
    const { url } = await start({ routes: [{ path: '/ocpp/:identity', adapters: [adapter] }] });
    const ws = await open(`${url}/ocpp/CP%2F1?x=1`, ['echo.test']);
    const request = adapter.rec.opened[0]!.request;
    expect(request.params).toEqual({ identity: 'CP/1' });
    expect(request.path).toBe('/ocpp/CP/1');
    expect(request.query.get('x')).toBe('1');
    expect(request.url).toBe('/ocpp/CP%2F1?x=1');
    ws.close();
    expect((await refusal(`${url}/ocpp/CP%zz`, ['echo.test'])).status).toBe(400);
  });

  it('refuses an Origin off the allow-list with 403 and accepts a listed one', async () => {
    const { url } = await start({ adapters: [echo()], allowedOrigins: ['https://good.example'] });
    expect((await refusal(url, ['echo.test'], { origin: 'https://evil.example' })).status).toBe(403);
    const ws = await open(url, ['echo.test'], { origin: 'https://GOOD.example' });
    ws.close();
    const noOrigin = await open(url, ['echo.test']);
    noOrigin.close();
  });

  it('refuses a request without Origin under requireOrigin, and asks a predicate', async () => {
    const { url } = await start({ adapters: [echo()], requireOrigin: true, allowedOrigins: (origin, req) => origin.endsWith('.example') && req.path === '/' });
    expect((await refusal(url, ['echo.test'])).status).toBe(403);
    expect((await refusal(url, ['echo.test'], { origin: 'https://a.other' })).status).toBe(403);
    (await open(url, ['echo.test'], { origin: 'https://a.example' })).close();
  });
});

describe('authorize', () => {
  it('passes a 401 and its WWW-Authenticate header through', async () => {
    const { url } = await start({ adapters: [echo({ authorize: bearerAuthorize })] });
    const r = await refusal(url, ['echo.test']);
    expect(r.status).toBe(401);
    expect(r.headers['www-authenticate']).toBe('Bearer realm="test"');
    expect(r.body).toBe('Authentication required');
  });

  it('passes a 403 through', async () => {
    const { url } = await start({ adapters: [echo({ authorize: bearerAuthorize })] });
    const r = await refusal(url, ['echo.test'], { headers: { authorization: 'Bearer bad' } });
    expect(r.status).toBe(403);
    expect(r.body).toBe('Forbidden token');
  });

  it('answers 500 without internals when authorize throws something else', async () => {
    const { url } = await start({ adapters: [echo({ authorize: bearerAuthorize })] });
    const r = await refusal(url, ['echo.test'], { headers: { authorization: 'Bearer crash' } });
    expect(r.status).toBe(500);
    expect(r.body).toBe('Internal server error');
  });

  it('hands what authorize returned to the connection as auth, and the protocol it was asked for', async () => {
    const seen: string[] = [];
    const adapter = echo({
      authorize: async (request, protocol) => {
        seen.push(protocol);
        return bearerAuthorize(request);
      },
    });
    const { url } = await start({ adapters: [adapter] });
    const ws = await open(url, ['echo2.test'], { headers: { authorization: 'Bearer alice' } });
    expect(seen).toEqual(['echo2.test']);
    expect(adapter.rec.opened[0]!.auth).toEqual({ user: 'alice' });
    ws.close();
  });
});

describe('lifecycle answers', () => {
  it('answers 503 while shutting down', async () => {
    let release!: () => void;
    const adapter = echo({ shutdown: () => new Promise<void>((resolve) => (release = resolve)) });
    const { url, server, port } = await start({ adapters: [adapter] });
    const closing = server.close();
    try {
      await new Promise((resolve) => setImmediate(resolve));
      expect((await refusal(url, ['echo.test'])).status).toBe(503);
      const health = await raw(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      expect(health.status).toBe(503);
      expect(JSON.parse(health.rest.toString())).toEqual({ status: 'shutting_down', connections: 0 });
    } finally {
      release();
      await closing;
    }
  });

  it('holds upgrades until adapter setup has finished', async () => {
    let finish!: () => void;
    const adapter = echo({ setup: () => new Promise<void>((resolve) => (finish = resolve)) });
    const { createServer } = await import('node:http');
    const { attach } = await import('./server.js');
    const { silent } = await import('./_test-utils.js');
    const httpServer = createServer();
    const handle = attach(httpServer, { adapters: [adapter], logger: silent });
    await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
    const port = (httpServer.address() as { port: number }).port;
    let opened = false;
    const pending = open(`ws://127.0.0.1:${port}`, ['echo.test']).then((ws) => {
      opened = true;
      return ws;
    });
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(opened).toBe(false);
    finish();
    const ws = await pending;
    expect(adapter.rec.setups).toBe(1);
    ws.close();
    await handle.close();
    await new Promise((resolve) => httpServer.close(resolve));
  });

  it('answers an exact 101 for a valid request (has101 sanity check)', async () => {
    const { port } = await start({ adapters: [echo()] });
    const r = await raw(port, upgradeRequest('/', [['Sec-WebSocket-Protocol', 'echo.test']]), upgraded);
    expect(has101(r)).toBe(true);
    expect(header(r, 'sec-websocket-accept')).toEqual(['s3pPLMBiTxaQ9kYGzzhZRbK+xOo=']);
  });
});
