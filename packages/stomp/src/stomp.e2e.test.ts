/**
 * End to end: the real `@stomp/stompjs` client, one suite per STOMP version, against the adapter
 * served by `@protoplex/server` on 127.0.0.1 (port 0).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, Stomp, Versions, type IFrame, type IMessage, type StompConfig } from '@stomp/stompjs';
import WebSocket from 'ws';
import { createServer, type ProtoplexServer } from '@protoplex/server';
import { silentLogger } from '@protoplex/core';
import { stomp, type StompAdapter } from './index.js';

let server: ProtoplexServer;
let adapter: StompAdapter;
let url: string;
const clients: Client[] = [];

beforeAll(async () => {
  adapter = stomp({ heartBeat: { outgoing: 100, incoming: 100 }, heartBeatTolerance: 3 });
  server = createServer({ adapters: [adapter], logger: silentLogger, keepAlive: false });
  const address = await server.listen(0, '127.0.0.1');
  url = `ws://127.0.0.1:${address.port}/`;
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.deactivate({ force: true })));
  await server.close({ timeout: 2000 });
});

const PROTOCOL = { '1.0': 'v10.stomp', '1.1': 'v11.stomp', '1.2': 'v12.stomp' } as const;
type Version = keyof typeof PROTOCOL;

/** A stompjs client on `version`, connected (to the suite's server unless `at` names another). */
function connect(version: Version, config: Partial<StompConfig> = {}, at?: string): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client = new Client({
      webSocketFactory: () => new WebSocket(at ?? url, [PROTOCOL[version]]),
      stompVersions: new Versions([version]),
      reconnectDelay: 0,
      heartbeatIncoming: 0,
      heartbeatOutgoing: 0,
      debug: () => {},
      ...config,
      onConnect: (frame) => {
        config.onConnect?.(frame);
        resolve(client);
      },
      onStompError: (frame) => {
        config.onStompError?.(frame);
        reject(new Error(frame.headers.message));
      },
    });
    clients.push(client);
    client.activate();
  });
}

/** Resolves with the next `n` messages a subscription gets. */
function collect(client: Client, destination: string, n: number, headers: Record<string, string> = {}, onMessage?: (m: IMessage) => void): Promise<IMessage[]> {
  return new Promise((resolve) => {
    const got: IMessage[] = [];
    client.subscribe(
      destination,
      (message) => {
        got.push(message);
        onMessage?.(message);
        if (got.length === n) resolve(got);
      },
      headers,
    );
  });
}

/** Round-trips a receipt so every frame sent before it has been handled. */
function settle(client: Client): Promise<void> {
  const id = `settle-${Math.random().toString(36).slice(2)}`;
  return new Promise((resolve) => {
    client.watchForReceipt(id, () => resolve());
    client.subscribe('/topic/settle.noop', () => {}, { receipt: id, id });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(['1.0', '1.1', '1.2'] as const)('@stomp/stompjs on STOMP %s', (version) => {
  const tag = version.replace('.', '');

  it('connects on the negotiated version', async () => {
    let connected: IFrame | undefined;
    const c = await connect(version, { onConnect: (f) => (connected = f) });
    expect(connected?.headers.version).toBe(version);
    await c.deactivate();
  });

  it('fans a topic message out to every subscriber, wildcards included, once each', async () => {
    const [a, b, p] = await Promise.all([connect(version), connect(version), connect(version)]);
    const gotA = collect(a, `/topic/fan${tag}.x`, 2);
    const gotB = collect(b, `/topic/fan${tag}.*`, 2);
    await Promise.all([settle(a), settle(b)]);
    p.publish({ destination: `/topic/fan${tag}.x`, body: 'one', headers: { 'content-type': 'text/plain', 'x-app': 'e2e' } });
    p.publish({ destination: `/topic/fan${tag}.x`, body: 'two' });
    for (const messages of await Promise.all([gotA, gotB])) {
      expect(messages.map((m) => m.body)).toEqual(['one', 'two']);
      expect(messages[0]!.headers).toMatchObject({ 'content-type': 'text/plain', 'x-app': 'e2e', destination: `/topic/fan${tag}.x` });
    }
    await sleep(50);
    expect((await gotA).length).toBe(2);
  });

  it('shares a queue between competing consumers, each message delivered once', async () => {
    const [a, b, p] = await Promise.all([connect(version), connect(version), connect(version)]);
    const seen: string[] = [];
    const ackMode = version === '1.0' ? 'client' : 'client-individual';
    const take = (m: IMessage) => {
      seen.push(m.body);
      m.ack();
    };
    a.subscribe(`/queue/work${tag}`, take, { ack: ackMode, 'prefetch-count': '1' });
    b.subscribe(`/queue/work${tag}`, take, { ack: ackMode, 'prefetch-count': '1' });
    await Promise.all([settle(a), settle(b)]);
    for (let i = 0; i < 10; i++) p.publish({ destination: `/queue/work${tag}`, body: `job${i}` });
    await expect.poll(() => seen.length, { timeout: 3000 }).toBe(10);
    expect([...seen].sort()).toEqual(Array.from({ length: 10 }, (_, i) => `job${i}`).sort());
  });

  it('redelivers an unacked message to another consumer with redelivered:true', async () => {
    const [a, b, p] = await Promise.all([connect(version), connect(version), connect(version)]);
    const first = new Promise<IMessage>((resolve) => a.subscribe(`/queue/redo${tag}`, resolve, { ack: 'client' }));
    await settle(a);
    p.publish({ destination: `/queue/redo${tag}`, body: 'again' });
    const got = await first;
    const second = collect(b, `/queue/redo${tag}`, 1, { ack: 'auto' });
    await settle(b);
    // 1.1 and 1.2 NACK; 1.0 has no NACK, so the consumer leaves with the message unacked.
    if (version === '1.0') await a.deactivate();
    else got.nack();
    const [redelivered] = await second;
    expect(redelivered!.body).toBe('again');
    expect(redelivered!.headers.redelivered).toBe('true');
  });

  it.skipIf(version === '1.0')('redelivers a NACKed topic message to its client-ack subscription and holds messages past prefetch-count', async () => {
    // RabbitMQ semantics: each topic subscription has its own queue, so NACK redelivers there.
    const [c, p] = await Promise.all([connect(version), connect(version)]);
    const got: IMessage[] = [];
    c.subscribe(`/topic/nack${tag}`, (m) => got.push(m), { ack: 'client-individual', 'prefetch-count': '1' });
    await settle(c);
    p.publish({ destination: `/topic/nack${tag}`, body: 'one' });
    p.publish({ destination: `/topic/nack${tag}`, body: 'two' });
    await expect.poll(() => got.length, { timeout: 3000 }).toBe(1);
    got[0]!.nack();
    await expect.poll(() => got.length, { timeout: 3000 }).toBe(2);
    expect([got[1]!.body, got[1]!.headers.redelivered]).toEqual(['one', 'true']);
    got[1]!.ack();
    await expect.poll(() => got.length, { timeout: 3000 }).toBe(3);
    expect(got[2]!.body).toBe('two');
  });

  it('does request/reply through reply-to /temp-queue/', async () => {
    let reply!: (m: IMessage) => void;
    const replied = new Promise<IMessage>((resolve) => (reply = resolve));
    const [requester, worker] = await Promise.all([connect(version, { onUnhandledMessage: (m) => reply(m) }), connect(version)]);
    worker.subscribe(`/queue/rpc${tag}`, (m) => worker.publish({ destination: m.headers['reply-to']!, body: `re: ${m.body}` }));
    await settle(worker);
    requester.publish({ destination: `/queue/rpc${tag}`, body: 'ping', headers: { 'reply-to': `/temp-queue/r${tag}` } });
    const message = await replied;
    expect(message.body).toBe('re: ping');
    expect(message.headers.destination).toBe(`/temp-queue/r${tag}`);
  });

  it('answers a receipt and holds transactional sends until COMMIT', async () => {
    const [c, p] = await Promise.all([connect(version), connect(version)]);
    const got = collect(c, `/topic/tx${tag}`, 1);
    await settle(c);
    const receipt = new Promise<IFrame>((resolve) => p.watchForReceipt('tx-receipt', resolve));
    const aborted = p.begin('t-abort');
    p.publish({ destination: `/topic/tx${tag}`, body: 'dropped', headers: { transaction: aborted.id } });
    aborted.abort();
    const tx = p.begin('t-commit');
    p.publish({ destination: `/topic/tx${tag}`, body: 'committed', headers: { transaction: tx.id, receipt: 'tx-receipt' } });
    expect((await receipt).headers['receipt-id']).toBe('tx-receipt');
    tx.commit();
    expect((await got).map((m) => m.body)).toEqual(['committed']);
  });

  it('carries binary bodies byte for byte', async () => {
    const [c, p] = await Promise.all([connect(version), connect(version)]);
    const got = collect(c, `/queue/bin${tag}`, 1);
    await settle(c);
    const body = new Uint8Array([0, 1, 2, 0xff, 0xfe, 0, 0x80, 10, 13]);
    p.publish({ destination: `/queue/bin${tag}`, binaryBody: body, headers: { 'content-type': 'application/octet-stream' } });
    const [message] = await got;
    expect(Array.from(message!.binaryBody)).toEqual(Array.from(body));
  });

  it('carries header values with characters that need escaping (1.2) or none (1.0, 1.1)', async () => {
    const [c, p] = await Promise.all([connect(version), connect(version)]);
    const got = collect(c, `/topic/esc${tag}`, 1);
    await settle(c);
    // stompjs escapes header values only on 1.2; 1.0 has no escaping at all.
    const value = version === '1.2' ? 'a:b\nc\\d\re' : 'plain value';
    p.publish({ destination: `/topic/esc${tag}`, body: 'e', headers: { 'x-odd': value } });
    expect((await got)[0]!.headers['x-odd']).toBe(value);
  });

  it('answers a bad frame with ERROR, then closes with 1002', async () => {
    let error: IFrame | undefined;
    let closeCode: number | undefined;
    const closed = new Promise<void>((resolve) => {
      void connect(version, {
        onStompError: (frame) => (error = frame),
        onWebSocketClose: (event: { code: number }) => {
          closeCode = event.code;
          resolve();
        },
      }).then((c) => c.publish({ destination: '/exchange/nowhere', body: 'x', headers: { receipt: 'bad' } }));
    });
    await closed;
    expect(error?.headers.message).toBe('Unknown destination /exchange/nowhere');
    expect(error?.headers['receipt-id']).toBe('bad');
    expect(closeCode).toBe(1002);
  });

  it.skipIf(version === '1.0')('keeps a heart-beating client alive on a 200 ms interval and sends it EOLs', async () => {
    let beats = 0;
    const c = await connect(version, { heartbeatIncoming: 200, heartbeatOutgoing: 200, onHeartbeatReceived: () => beats++ });
    await sleep(900);
    expect(c.connected).toBe(true);
    expect(beats).toBeGreaterThanOrEqual(2);
  });
});

describe('binaryFrames', () => {
  it('sends every frame as a binary message, and stompjs still reads them; binary frames in work too', async () => {
    const binary = createServer({ adapters: [stomp({ binaryFrames: true })], logger: silentLogger, keepAlive: false });
    const address = await binary.listen(0, '127.0.0.1');
    const kinds: boolean[] = [];
    const c = await new Promise<Client>((resolve, reject) => {
      const client = new Client({
        webSocketFactory: () => {
          const ws = new WebSocket(`ws://127.0.0.1:${address.port}/`, ['v12.stomp']);
          ws.on('message', (_data, isBinary) => kinds.push(isBinary));
          return ws;
        },
        stompVersions: new Versions(['1.2']),
        forceBinaryWSFrames: true,
        reconnectDelay: 0,
        heartbeatIncoming: 0,
        heartbeatOutgoing: 0,
        debug: () => {},
        onConnect: () => resolve(client),
        onStompError: (frame) => reject(new Error(frame.headers.message)),
      });
      clients.push(client);
      client.activate();
    });
    const got = collect(c, '/topic/binary.frames', 1);
    await settle(c);
    c.publish({ destination: '/topic/binary.frames', body: 'text body' });
    expect((await got)[0]!.body).toBe('text body');
    expect(kinds.length).toBeGreaterThanOrEqual(3);
    expect(kinds.every(Boolean)).toBe(true);
    await c.deactivate();
    await binary.close({ timeout: 1000 });
  });
});

describe('raw WebSocket peers', () => {
  const raw = (protocol: string) =>
    new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(url, [protocol]);
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
    });
  const closeOf = (ws: WebSocket) => new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));

  it('refuses a CONNECT whose accept-version lacks the negotiated version: ERROR, then 1002', async () => {
    const ws = await raw('v12.stomp');
    const frames: string[] = [];
    ws.on('message', (data) => frames.push(data.toString()));
    const closed = closeOf(ws);
    ws.send('CONNECT\naccept-version:1.0,1.1\nhost:/\n\n\0');
    expect(await closed).toBe(1002);
    expect(frames[0]).toMatch(/^ERROR\n/);
    expect(frames[0]).toContain('version:1.2\n');
  });

  it('closes a client that goes silent after negotiating heart-beats', async () => {
    const ws = await raw('v12.stomp');
    const closed = closeOf(ws);
    const started = Date.now();
    ws.send('CONNECT\naccept-version:1.2\nhost:/\nheart-beat:100,0\n\n\0');
    expect(await closed).toBe(1002);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('accepts several frames and heart-beat EOLs in one binary message', async () => {
    const ws = await raw('v11.stomp');
    const frames: string[] = [];
    ws.on('message', (data) => frames.push(data.toString()));
    ws.send(Buffer.from('CONNECT\naccept-version:1.1\nhost:/\n\n\0\n\nSUBSCRIBE\nid:1\ndestination:/queue/raw\n\n\0SEND\ndestination:/queue/raw\n\nhi\0\nDISCONNECT\nreceipt:done\n\n\0'));
    expect(await closeOf(ws)).toBe(1000);
    expect(frames.map((f) => f.split('\n')[0])).toEqual(['CONNECTED', 'MESSAGE', 'RECEIPT']);
  });

  it('lists sessions and destinations in stats()', async () => {
    const c = await connect('1.2');
    c.subscribe('/topic/stats.demo', () => {}, { id: 'stats-sub' });
    await settle(c);
    const stats = adapter.stats();
    expect(stats.sessions.some((s) => s.subscriptions.some((sub) => sub.id === 'stats-sub'))).toBe(true);
    expect(stats.destinations).toContainEqual(expect.objectContaining({ destination: '/topic/stats.demo', kind: 'topic' }));
  });
});

describe('clients that offer no subprotocol (a route with recognize: true)', () => {
  let plain: ProtoplexServer;
  let plainUrl: string;

  beforeAll(async () => {
    plain = createServer({ routes: [{ path: '/', adapters: [stomp()], recognize: true }], logger: silentLogger, keepAlive: false });
    const address = await plain.listen(0, '127.0.0.1');
    plainUrl = `ws://127.0.0.1:${address.port}/`;
  });

  afterAll(async () => {
    await plain.close({ timeout: 1000 });
  });

  it('serves Stomp.over(() => new WebSocket(url)) on the version its accept-version allows', async () => {
    for (const [versions, expected] of [[undefined, '1.2'], [['1.1', '1.0'], '1.1'], [['1.0'], '1.0']] as const) {
      const sockets: WebSocket[] = [];
      const client = Stomp.over(() => {
        const socket = new WebSocket(plainUrl);
        sockets.push(socket);
        return socket;
      });
      client.debug = () => {};
      client.reconnect_delay = 0;
      if (versions) client.stompVersions = new Versions([...versions]);
      await new Promise<void>((resolve, reject) => client.connect({}, () => resolve(), (frame: unknown) => reject(new Error(String(frame)))));
      expect(sockets[0]!.protocol).toBe('');
      expect(client.connectedVersion).toBe(expected);
      const got = new Promise<IMessage>((resolve) => client.subscribe(`/topic/compat.v${expected.replace('.', '')}`, resolve));
      await settle(client);
      client.publish({ destination: `/topic/compat.v${expected.replace('.', '')}`, body: 'over' });
      expect((await got).body).toBe('over');
      await client.deactivate();
    }
  });

  it('takes a CONNECT without accept-version as STOMP 1.0, and closes 1002 on a first message that is not STOMP', async () => {
    const legacy = new WebSocket(plainUrl);
    const frames: string[] = [];
    legacy.on('message', (data) => frames.push(data.toString()));
    await new Promise((resolve) => legacy.once('open', resolve));
    legacy.send('CONNECT\nlogin:guest\n\n\0');
    await expect.poll(() => frames.length).toBe(1);
    expect(frames[0]).toMatch(/^CONNECTED\nversion:1\.0\n/);
    legacy.close();

    const stranger = new WebSocket(plainUrl);
    await new Promise((resolve) => stranger.once('open', resolve));
    const code = new Promise<number>((resolve) => stranger.once('close', (c) => resolve(c)));
    stranger.send('HELLO\n\n');
    expect(await code).toBe(1002);
  });
});

// What a stompjs user gets from the defaults: the intervals the client asks for are granted down
// to the server's floors (1 s), both ways. Real time, since stompjs keeps its own timers.
describe('heart-beats with the default options and stompjs', () => {
  let defaults: ProtoplexServer;
  let at: string;
  beforeAll(async () => {
    defaults = createServer({ adapters: [stomp()], logger: silentLogger, keepAlive: false });
    const address = await defaults.listen(0, '127.0.0.1');
    at = `ws://127.0.0.1:${address.port}/`;
  });
  afterAll(() => defaults.close({ timeout: 2000 }));

  it('sends a client that asks for heartbeatIncoming: 1000 an EOL about every second, and its watchdog stays quiet', async () => {
    let beats = 0;
    let connectedHeartBeat: string | undefined;
    let closedByWatchdog = false;
    const c = await connect(
      '1.2',
      {
        heartbeatIncoming: 1000,
        heartbeatOutgoing: 0,
        onConnect: (frame: IFrame) => void (connectedHeartBeat = frame.headers['heart-beat']),
        onHeartbeatReceived: () => beats++,
        onWebSocketClose: () => void (closedByWatchdog = true),
      },
      at,
    );
    // STOMP 1.2 "Heart-beating": the server sends every MAX(sx, cy); sx must not exceed what was asked.
    const [sx] = connectedHeartBeat!.split(',').map(Number);
    expect(sx).toBeGreaterThan(0);
    expect(sx).toBeLessThanOrEqual(1000);
    await sleep(3300);
    expect(c.connected).toBe(true);
    expect(closedByWatchdog).toBe(false);
    // About one a second (the sweep sends up to half a second early): 3 to 7 in 3.3 s.
    expect(beats).toBeGreaterThanOrEqual(3);
    expect(beats).toBeLessThanOrEqual(7);
  });

  it('keeps a client that sends every second alive, and closes one that stops within its grace period', async () => {
    const alive = await connect('1.2', { heartbeatIncoming: 0, heartbeatOutgoing: 1000 }, at);
    const silent = new WebSocket(at, ['v12.stomp']);
    await new Promise((resolve) => silent.once('open', resolve));
    const closed = new Promise<number>((resolve) => silent.once('close', (code) => resolve(code)));
    const started = Date.now();
    silent.send('CONNECT\naccept-version:1.2\nhost:/\nheart-beat:1000,0\n\n\0');
    const code = await closed;
    const silence = Date.now() - started;
    // Expected every MAX(cx, sy) = 1 s, closed after heartBeatTolerance (2) periods, seen within a tick.
    expect(code).toBe(1002);
    expect(silence).toBeGreaterThanOrEqual(1900);
    expect(silence).toBeLessThan(5000);
    expect(alive.connected).toBe(true);
  });
});
