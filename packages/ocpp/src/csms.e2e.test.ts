/**
 * End to end over real sockets: `ocpp-rpc`'s RPCClient in strict mode (1.6 and 2.0.1) and raw
 * `ws` stations (2.1) against the CSMS mounted by @protoplex/server on `/ocpp/:identity`, over
 * ws (profiles 0 and 1) and over TLS (profiles 2 and 3) with certificates made in the test.
 */
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, type ClientOptions } from 'ws';
import { RPCClient } from 'ocpp-rpc';
import { createMemoryBus, silentLogger, type BusMessage } from '@protoplex/core';
import { createTestCertificates, hasOpenssl, type TestCertificates } from '@protoplex/core/testing';
import { createServer, type ProtoplexServer } from '@protoplex/server';
import { OcppNotConnectedError, ocpp, type OcppAdapter, type OcppOptions } from './index.js';

const NOW = '2026-11-25T12:00:00Z';
const PASSWORD = 'correct-horse-battery-staple';
const servers: ProtoplexServer[] = [];
const clients: Array<{ close(options?: unknown): unknown }> = [];
const sockets: WebSocket[] = [];

interface Started {
  readonly csms: OcppAdapter;
  readonly url: string;
  readonly bus: ReturnType<typeof createMemoryBus>;
}

function withHandlers(csms: OcppAdapter): OcppAdapter {
  csms.onCall('BootNotification', () => ({ currentTime: NOW, interval: 300, status: 'Accepted' as const }));
  csms.onCall('Heartbeat', () => ({ currentTime: NOW }));
  return csms;
}

async function start(options: OcppOptions = {}, tls?: Parameters<typeof createServer>[0]['tls'], perMessageDeflate = false, handlers = true): Promise<Started> {
  const csms = handlers ? withHandlers(ocpp(options)) : ocpp(options);
  const bus = createMemoryBus();
  const server = createServer({
    routes: [{ path: '/ocpp/:identity', adapters: [csms], onNoMatch: 'close' }],
    logger: silentLogger,
    keepAlive: false,
    perMessageDeflate,
    bus,
    ...(tls ? { tls } : {}),
  });
  servers.push(server);
  const address = await server.listen(0, '127.0.0.1');
  return { csms, bus, url: `${tls ? 'wss' : 'ws'}://127.0.0.1:${address.port}/ocpp` };
}

function rpcClient(options: Record<string, unknown>): RPCClient {
  const client = new RPCClient({ strictMode: true, reconnect: false, callTimeoutMs: 5000, ...options } as ConstructorParameters<typeof RPCClient>[0]);
  clients.push(client as unknown as { close(options?: unknown): unknown });
  return client;
}

/** A raw ws station: resolves once open, rejects with the HTTP status when refused. */
function station(url: string, protocols: string | string[], options: ClientOptions = {}): Promise<WebSocket & { next(): Promise<unknown> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, options);
    sockets.push(ws);
    const inbox: unknown[] = [];
    const waiting: Array<(value: unknown) => void> = [];
    ws.on('message', (data) => {
      const message = JSON.parse(String(data)) as unknown;
      const waiter = waiting.shift();
      if (waiter) waiter(message);
      else inbox.push(message);
    });
    const augmented = Object.assign(ws, {
      next: () => (inbox.length > 0 ? Promise.resolve(inbox.shift()) : new Promise<unknown>((r) => waiting.push(r))),
    });
    ws.once('open', () => resolve(augmented));
    ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })));
    ws.once('error', reject);
  });
}

function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })));
}

function nextOn(bus: ReturnType<typeof createMemoryBus>, filter: string): Promise<BusMessage> {
  return new Promise((resolve) => {
    const subscription = bus.subscribe(filter, (message) => {
      subscription.unsubscribe();
      resolve(message);
    });
  });
}

const decode = (message: BusMessage): unknown => JSON.parse(new TextDecoder().decode(message.payload));

afterAll(async () => {
  for (const ws of sockets) ws.terminate();
  await Promise.all(clients.map((client) => Promise.resolve(client.close({ force: true })).catch(() => {})));
  await Promise.all(servers.map((server) => server.close({ timeout: 500 })));
});

describe('over ws (security profile 0)', () => {
  let server: Started;
  beforeAll(async () => {
    server = await start();
  });

  for (const protocol of ['ocpp1.6', 'ocpp2.0.1'] as const) {
    it(`serves an ocpp-rpc ${protocol} station in strict mode both ways`, async () => {
      const identity = `RPC-${protocol.replace(/\W/g, '')}`;
      const client = rpcClient({ endpoint: server.url, identity, protocols: [protocol] });
      client.handle('ClearCache', async () => ({ status: 'Accepted' }));
      const connected = new Promise((resolve) => server.csms.on('connect', (s) => s.identity === identity && resolve(s)));
      await client.connect();
      expect(client.protocol).toBe(protocol);
      await expect(connected).resolves.toMatchObject({ identity, protocol });
      const boot = protocol === 'ocpp1.6' ? { chargePointVendor: 'V', chargePointModel: 'M' } : { reason: 'PowerUp', chargingStation: { model: 'M', vendorName: 'V' } };
      await expect(client.call('BootNotification', boot)).resolves.toEqual({ currentTime: NOW, interval: 300, status: 'Accepted' });
      await expect(server.csms.station(identity).call('ClearCache', {})).resolves.toEqual({ status: 'Accepted' });
      expect(server.csms.stats().stations.find((s) => s.identity === identity)).toMatchObject({ protocol, lastAction: 'BootNotification' });
      await client.close();
    });
  }

  it('answers an ocpp-rpc station’s unknown action with NotImplemented', async () => {
    const client = rpcClient({ endpoint: server.url, identity: 'RPC-unknown', protocols: ['ocpp1.6'], strictMode: false });
    await client.connect();
    await expect(client.call('FlyToTheMoon', {})).rejects.toMatchObject({ rpcErrorCode: 'NotImplemented' });
    await client.close();
  });

  it('rejects a server call with the CALLERROR an ocpp-rpc station answers', async () => {
    const client = rpcClient({ endpoint: server.url, identity: 'RPC-refuser', protocols: ['ocpp2.0.1'] });
    await client.connect();
    await expect(server.csms.station('RPC-refuser').call('Reset', { type: 'Immediate' })).rejects.toMatchObject({ name: 'OcppCallError', code: 'NotImplemented' });
    await client.close();
  });

  it('serves a raw ocpp2.1 station: CALL, SEND, server CALL and CALLRESULTERROR', async () => {
    const ws = await station(`${server.url}/RAW-21`, ['ocpp2.1']);
    expect(ws.protocol).toBe('ocpp2.1');
    ws.send(JSON.stringify([2, 'b1', 'BootNotification', { reason: 'PowerUp', chargingStation: { model: 'M', vendorName: 'V' } }]));
    expect(await ws.next()).toEqual([3, 'b1', { currentTime: NOW, interval: 300, status: 'Accepted' }]);

    const streamed = nextOn(server.bus, 'ocpp/cp/RAW-21/NotifyPeriodicEventStream');
    ws.send(JSON.stringify([6, 's1', 'NotifyPeriodicEventStream', { id: 1, pending: 0, basetime: NOW, data: [{ t: 0, v: '1' }] }]));
    expect(decode(await streamed)).toMatchObject({ id: 1 });

    const reset = server.csms.station('RAW-21').call('Reset', { type: 'Immediate' });
    const call = (await ws.next()) as unknown[];
    expect(call.slice(0, 1).concat(call.slice(2))).toEqual([2, 'Reset', { type: 'Immediate' }]);
    ws.send(JSON.stringify([3, call[1], { status: 'Sometimes' }]));
    await expect(reset).rejects.toMatchObject({ code: 'PropertyConstraintViolation' });
    expect(((await ws.next()) as unknown[]).slice(0, 3)).toEqual([5, call[1], 'PropertyConstraintViolation']);
    ws.close();
  });

  it('rejects a pending call with OcppNotConnectedError as soon as the station drops, long before its timeout', async () => {
    const ws = await station(`${server.url}/RAW-drop`, ['ocpp2.0.1']);
    const started = Date.now();
    const pending = server.csms.station('RAW-drop').call('ClearCache', {}, { timeout: 20_000 });
    await ws.next();
    ws.terminate();
    await expect(pending).rejects.toBeInstanceOf(OcppNotConnectedError);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('boots a raw 2.0.1 station through the default handlers and answers commands for absent stations', async () => {
    const bare = await start({ defaultHandlers: true }, undefined, false, false);
    const ws = await station(`${bare.url}/RAW-bare`, ['ocpp2.0.1']);
    ws.send(JSON.stringify([2, 'b1', 'BootNotification', { reason: 'PowerUp', chargingStation: { model: 'M', vendorName: 'V' } }]));
    const [type, id, payload] = (await ws.next()) as [number, string, Record<string, unknown>];
    expect([type, id, payload['status'], payload['interval']]).toEqual([3, 'b1', 'Accepted', 300]);
    ws.send(JSON.stringify([2, 's1', 'StatusNotification', { timestamp: NOW, connectorStatus: 'Available', evseId: 1, connectorId: 1 }]));
    expect(await ws.next()).toEqual([3, 's1', {}]);
    const result = nextOn(bare.bus, 'ocpp/cs/NOBODY/Reset/result');
    bare.bus.publish({ topic: 'ocpp/cs/NOBODY/Reset', payload: new TextEncoder().encode('{"type":"Immediate"}'), origin: { protocol: 'mqtt' }, qos: 0 });
    expect(decode(await result)).toMatchObject({ errorCode: 'NotConnected' });
    ws.close();
  });

  it('answers bad input from a raw station and closes on a binary frame with 1003', async () => {
    const ws = await station(`${server.url}/RAW-bad`, ['ocpp2.0.1']);
    ws.send('this is not json');
    expect(await ws.next()).toEqual([4, '-1', 'RpcFrameworkError', 'Message is not valid JSON', {}]);
    ws.send(JSON.stringify([2, 'x1', 'BootNotification', { reason: 'PowerUp' }]));
    expect(((await ws.next()) as unknown[]).slice(0, 3)).toEqual([4, 'x1', 'OccurrenceConstraintViolation']);
    const done = closed(ws);
    ws.send(Buffer.from('[2,"b","Heartbeat",{}]'), { binary: true });
    expect(((await ws.next()) as unknown[]).slice(0, 2)).toEqual([4, '-1']);
    expect((await done).code).toBe(1003);
  });

  it('completes the handshake without a subprotocol and closes at once when no version matches', async () => {
    // ws clients fail a 101 without the offered subprotocol (RFC 6455 §4.1), so speak HTTP here.
    const { port } = new URL(server.url);
    const { headers, frame } = await new Promise<{ headers: Record<string, unknown>; frame: Buffer }>((resolve, reject) => {
      const req = httpRequest({
        host: '127.0.0.1',
        port: Number(port),
        path: '/ocpp/RAW-none',
        headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Protocol': 'ocpp1.2' },
      });
      req.on('upgrade', (res, socket, head) => {
        const done = (data: Buffer): void => {
          socket.destroy();
          resolve({ headers: res.headers, frame: data });
        };
        if (head.length > 0) done(head);
        else socket.once('data', done);
      });
      req.on('response', (res) => reject(new Error(`HTTP ${res.statusCode}`)));
      req.on('error', reject);
      req.end();
    });
    expect(headers['sec-websocket-protocol']).toBeUndefined();
    // A Close frame (FIN + opcode 8) whose status code is 1002.
    expect(frame[0]).toBe(0x88);
    expect(frame.readUInt16BE(2)).toBe(1002);
  });

  it('refuses a malformed identity with 400', async () => {
    await expect(station(`${server.url}/bad%3Aid`, ['ocpp2.0.1'])).rejects.toMatchObject({ status: 400 });
  });

  it('replaces the first connection when a second one uses the same identity', async () => {
    const first = await station(`${server.url}/DUP`, ['ocpp1.6']);
    const firstClosed = closed(first);
    const disconnected = new Promise((resolve) => server.csms.on('disconnect', (s) => s.identity === 'DUP' && resolve(s)));
    await station(`${server.url}/DUP`, ['ocpp2.0.1']);
    expect((await firstClosed).code).toBe(1000);
    await expect(disconnected).resolves.toMatchObject({ protocol: 'ocpp1.6', code: 1000 });
    expect(server.csms.stations.get('DUP')?.protocol).toBe('ocpp2.0.1');
  });

  it('bridges the bus: station CALLs out on ocpp/cp, commands in on ocpp/cs with their results', async () => {
    // ocpp-rpc percent-encodes the identity; the server decodes it; the bus escapes the "/".
    const client = rpcClient({ endpoint: server.url, identity: 'bus/1', protocols: ['ocpp1.6'] });
    client.handle('Reset', async ({ params }) => ({ status: (params as { type?: string } | undefined)?.type === 'Soft' ? 'Accepted' : 'Rejected' }));
    await client.connect();
    const heartbeat = nextOn(server.bus, 'ocpp/cp/bus%2F1/Heartbeat');
    const heartbeatResult = nextOn(server.bus, 'ocpp/cp/bus%2F1/Heartbeat/result');
    await client.call('Heartbeat', {});
    expect(decode(await heartbeat)).toEqual({});
    expect(decode(await heartbeatResult)).toEqual({ currentTime: NOW });
    const result = nextOn(server.bus, 'ocpp/cs/bus%2F1/Reset/result');
    server.bus.publish({ topic: 'ocpp/cs/bus%2F1/Reset', payload: new TextEncoder().encode('{"type":"Soft"}'), origin: { protocol: 'mqtt' }, qos: 0 });
    const message = await result;
    expect(decode(message)).toEqual({ status: 'Accepted' });
    expect(message.headers?.['ocpp-message-type']).toBe('CALLRESULT');
    await client.close();
  });
});

describe('with permessage-deflate', () => {
  it('serves a 2.1 station that negotiated permessage-deflate', async () => {
    const server = await start({}, undefined, true);
    const ws = await station(`${server.url}/DEFLATE`, ['ocpp2.1'], { perMessageDeflate: true });
    expect(ws.extensions).toContain('permessage-deflate');
    ws.send(JSON.stringify([2, 'h', 'Heartbeat', {}]));
    expect(await ws.next()).toEqual([3, 'h', { currentTime: NOW }]);
    ws.close();
  });

  it('negotiates it by default on an OCPP route, with small windows, and relays a compressed message', async () => {
    // The server's own perMessageDeflate is off here (start()'s default): the OCPP adapter's preference applies.
    const server = await start();
    let answered = '';
    const pending = station(`${server.url}/SMALL`, ['ocpp2.0.1'], { perMessageDeflate: { clientMaxWindowBits: 10 } });
    sockets.at(-1)!.once('upgrade', (response) => void (answered = String(response.headers['sec-websocket-extensions'] ?? '')));
    const ws = await pending;
    // RFC 7692 §7.1.2: the server limits its own window and, since the client offered the parameter, the client's.
    expect(ws.extensions).toBe('permessage-deflate');
    expect(answered).toMatch(/^permessage-deflate/);
    expect(answered).toContain('server_max_window_bits=10');
    expect(answered).toContain('client_max_window_bits=10');
    // Above ws's 1 KiB threshold, so this one is really compressed both ways.
    const vendorId = 'x'.repeat(2000);
    ws.send(JSON.stringify([2, 'd', 'DataTransfer', { vendorId: 'acme', data: vendorId }]));
    // No DataTransfer handler: OCPP 2.0.1 has the CSMS answer UnknownVendorId.
    expect(await ws.next()).toEqual([3, 'd', { status: 'UnknownVendorId' }]);
    ws.close();
  });

  it('leaves it off for a station that does not offer it, and on a route that turns it off', async () => {
    const server = await start();
    const plain = await station(`${server.url}/PLAIN`, ['ocpp1.6'], { perMessageDeflate: false });
    expect(plain.extensions).toBe('');
    plain.close();
    const csms = withHandlers(ocpp());
    const off = createServer({ routes: [{ path: '/ocpp/:identity', adapters: [csms], perMessageDeflate: false }], logger: silentLogger, keepAlive: false });
    servers.push(off);
    const address = await off.listen(0, '127.0.0.1');
    const ws = await station(`ws://127.0.0.1:${address.port}/ocpp/OFF`, ['ocpp1.6'], { perMessageDeflate: true });
    expect(ws.extensions).toBe('');
    ws.send(JSON.stringify([2, 'h', 'Heartbeat', {}]));
    expect(await ws.next()).toEqual([3, 'h', { currentTime: NOW }]);
    ws.close();
  });
});

describe('over ws with HTTP Basic (security profile 1)', () => {
  let server: Started;
  beforeAll(async () => {
    server = await start({ securityProfile: 1, authenticate: ({ identity, password }) => (identity === 'GHOST' ? 'unknown' : password === PASSWORD) });
  });

  it('accepts an ocpp-rpc station with the right password', async () => {
    const client = rpcClient({ endpoint: server.url, identity: 'SP1', protocols: ['ocpp1.6'], password: PASSWORD });
    await client.connect();
    await expect(client.call('Heartbeat', {})).resolves.toEqual({ currentTime: NOW });
    await client.close();
  });

  it('refuses a wrong password with 401, no password with 401 and an unknown identity with 404', async () => {
    const basic = (user: string, password: string) => ({ headers: { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` } });
    await expect(station(`${server.url}/SP1`, ['ocpp2.0.1'], basic('SP1', 'wrong-password-here'))).rejects.toMatchObject({ status: 401 });
    await expect(station(`${server.url}/SP1`, ['ocpp2.0.1'])).rejects.toMatchObject({ status: 401 });
    await expect(station(`${server.url}/GHOST`, ['ocpp2.0.1'], basic('GHOST', PASSWORD))).rejects.toMatchObject({ status: 404 });
  });
});

// --------------------------------------------------------------------------------------------
// TLS: a CA, a server certificate for 127.0.0.1 and a client certificate per identity.

const openssl = hasOpenssl();
if (!openssl) console.warn('TLS e2e tests (security profiles 2 and 3) skipped: the openssl CLI was not found');

interface Pki {
  readonly ca: Buffer;
  readonly serverKey: Buffer;
  readonly serverCert: Buffer;
  readonly clientKey: Buffer;
  readonly clientCert: Buffer;
}

function makePki(certificates: TestCertificates): Pki {
  const ca = certificates.ca('Protoplex Test CA');
  const server = ca.issue('127.0.0.1', { extensions: ['subjectAltName=IP:127.0.0.1', 'extendedKeyUsage=serverAuth'] });
  const client = ca.issue('SP3', { extensions: ['extendedKeyUsage=clientAuth'] });
  return { ca: ca.cert, serverKey: server.key, serverCert: server.cert, clientKey: client.key, clientCert: client.cert };
}

describe.skipIf(!openssl)('over TLS (security profiles 2 and 3)', () => {
  let certificates: TestCertificates | undefined;
  let pki: Pki;
  let profile2: Started;
  let profile3: Started;
  beforeAll(async () => {
    certificates = createTestCertificates({ keyType: 'rsa' });
    pki = makePki(certificates);
    profile2 = await start({ securityProfile: 2, authenticate: ({ password }) => password === PASSWORD }, { key: pki.serverKey, cert: pki.serverCert });
    profile3 = await start({ securityProfile: 3 }, { key: pki.serverKey, cert: pki.serverCert, ca: pki.ca, requestCert: true, rejectUnauthorized: false });
  }, 20_000);
  afterAll(() => {
    certificates?.remove();
  });

  it('profile 2: accepts an ocpp-rpc 2.0.1 station with Basic over TLS', async () => {
    const client = rpcClient({ endpoint: profile2.url, identity: 'SP2', protocols: ['ocpp2.0.1'], password: PASSWORD, wsOpts: { ca: pki.ca } });
    await client.connect();
    await expect(client.call('Heartbeat', {})).resolves.toEqual({ currentTime: NOW });
    await client.close();
  });

  it('profile 2: refuses a wrong password with 401', async () => {
    const headers = { authorization: `Basic ${Buffer.from('SP2:not-the-password').toString('base64')}` };
    await expect(station(`${profile2.url}/SP2`, ['ocpp2.0.1'], { ca: pki.ca, headers })).rejects.toMatchObject({ status: 401 });
  });

  it('profile 3: accepts an ocpp-rpc 1.6 station whose client certificate CN is its identity', async () => {
    const client = rpcClient({ endpoint: profile3.url, identity: 'SP3', protocols: ['ocpp1.6'], wsOpts: { ca: pki.ca, key: pki.clientKey, cert: pki.clientCert } });
    await client.connect();
    await expect(client.call('Heartbeat', {})).resolves.toEqual({ currentTime: NOW });
    await client.close();
  });

  it('profile 3: refuses a station without a client certificate, or with another identity, with 401', async () => {
    await expect(station(`${profile3.url}/SP3`, ['ocpp2.1'], { ca: pki.ca })).rejects.toMatchObject({ status: 401 });
    await expect(station(`${profile3.url}/OTHER`, ['ocpp2.1'], { ca: pki.ca, key: pki.clientKey, cert: pki.clientCert })).rejects.toMatchObject({ status: 401 });
  });

  it('profile 3: serves a raw 2.1 station over mutual TLS', async () => {
    const ws = await station(`${profile3.url}/SP3`, ['ocpp2.1'], { ca: pki.ca, key: pki.clientKey, cert: pki.clientCert });
    ws.send(JSON.stringify([2, 'h', 'Heartbeat', {}]));
    expect(await ws.next()).toEqual([3, 'h', { currentTime: NOW }]);
    ws.close();
  });
});
