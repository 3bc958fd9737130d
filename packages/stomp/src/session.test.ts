import { describe, expect, it } from 'vitest';
import { test, fc } from '@fast-check/vitest';
import type { BusMessage } from '@protoplex/core';
import { setup, text } from './_test-utils.js';
import { STOMP_PROTOCOLS, VERSION_OF_SUBPROTOCOL, type StompSubprotocol } from './constants.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('CONNECT', () => {
  it.each(STOMP_PROTOCOLS)('answers CONNECT on %s with CONNECTED naming the negotiated version', async (protocol) => {
    const { open } = setup();
    const c = await open(protocol, false);
    const version = VERSION_OF_SUBPROTOCOL[protocol];
    c.send('CONNECT', { 'accept-version': '1.0,1.1,1.2', host: '/', 'heart-beat': '0,0' });
    const [connected] = c.frames();
    expect(connected?.command).toBe('CONNECTED');
    expect(connected?.headers.version).toBe(version);
    expect(connected?.headers.session).toBe(c.peer.connection.id);
    expect(connected?.headers.server).toBe('protoplex-stomp/0');
    expect(connected?.headers['heart-beat']).toBe(version === '1.0' ? undefined : '1000,1000');
  });

  it('sends ERROR with the supported version and closes 1002 when accept-version lacks the negotiated one', async () => {
    const { open } = setup();
    const c = await open('v12.stomp', false);
    c.send('CONNECT', { 'accept-version': '1.0,1.1', host: '/' });
    const [error] = c.frames();
    expect(error?.command).toBe('ERROR');
    expect(error?.headers.version).toBe('1.2');
    expect(error?.headers.message).toBe('Supported protocol versions are 1.2');
    expect(c.peer.closed).toMatchObject({ code: 1002, by: 'server' });
  });

  it('treats a CONNECT without accept-version as 1.0: accepted on v10.stomp, refused on v11.stomp', async () => {
    const { open } = setup();
    const c10 = await open('v10.stomp', false);
    c10.send('CONNECT', { login: 'guest' });
    expect(c10.frames()[0]?.command).toBe('CONNECTED');
    const c11 = await open('v11.stomp', false);
    c11.send('CONNECT', { host: '/' });
    expect(c11.frames()[0]?.command).toBe('ERROR');
    expect(c11.peer.closed?.code).toBe(1002);
  });

  it('accepts the STOMP command from 1.1 on and refuses it on 1.0', async () => {
    const { open } = setup();
    const c12 = await open('v12.stomp', false);
    c12.send('STOMP', { 'accept-version': '1.2', host: '/' });
    expect(c12.frames()[0]?.command).toBe('CONNECTED');
    const c10 = await open('v10.stomp', false);
    c10.send('STOMP', {});
    expect(c10.frames()[0]?.headers.message).toBe('Expected CONNECT, got STOMP');
    expect(c10.peer.closed?.code).toBe(1002);
  });

  it('closes with 1002 and a receipt-id when a frame comes before CONNECT', async () => {
    const { open } = setup();
    const c = await open('v12.stomp', false);
    c.send('SEND', { destination: '/queue/a', receipt: 'r1' }, 'x');
    const [error] = c.frames();
    expect(error).toMatchObject({ command: 'ERROR', headers: { message: 'Expected CONNECT, got SEND', 'receipt-id': 'r1', 'content-type': 'text/plain' } });
    expect(c.peer.closed).toMatchObject({ code: 1002, by: 'server' });
  });

  it('closes with 1002 when CONNECT arrives twice', async () => {
    const { open } = setup();
    const c = await open();
    c.send('CONNECT', { 'accept-version': '1.2', host: '/' });
    expect(c.frames()[0]?.headers.message).toBe('Already connected');
    expect(c.peer.closed?.code).toBe(1002);
  });

  it('closes with 1002 on an unknown command and on a malformed frame', async () => {
    const { open } = setup();
    const a = await open();
    a.send('FLY', {});
    expect(a.frames()[0]?.headers.message).toBe('Unknown command FLY');
    expect(a.peer.closed?.code).toBe(1002);
    const b = await open();
    b.peer.send('SEND\nno colon here\n\n\0');
    expect(b.frames()[0]?.headers.message).toBe('Header line without a colon');
    expect(b.peer.closed?.code).toBe(1002);
  });

  it('closes with 1009 when a body is above maxBodyLength, and other sessions go on', async () => {
    const { open } = setup({ maxBodyLength: 10 });
    const big = await open();
    const other = await open();
    other.send('SUBSCRIBE', { id: 's', destination: '/topic/t' });
    big.send('SEND', { destination: '/topic/t', receipt: 'r' }, 'x'.repeat(11));
    expect(big.frames()[0]?.headers).toMatchObject({ message: 'Body too large', 'receipt-id': 'r' });
    expect(big.peer.closed?.code).toBe(1009);
    other.send('SEND', { destination: '/topic/t' }, 'ok');
    expect(text(other.frames()[0])).toBe('ok');
  });

  it('refuses with ERROR and 1008 when authenticate says no', async () => {
    const { open } = setup({ authenticate: ({ login, passcode }) => login === 'guest' && passcode === 'guest' });
    const bad = await open('v12.stomp', false);
    bad.send('CONNECT', { 'accept-version': '1.2', host: '/', login: 'guest', passcode: 'nope' });
    expect(bad.frames()[0]?.headers.message).toBe('Access refused');
    expect(bad.peer.closed?.code).toBe(1008);
    const good = await open('v12.stomp', { login: 'guest', passcode: 'guest' });
    expect(good.peer.closed).toBeUndefined();
  });

  it('holds frames sent while an asynchronous authenticate runs and handles them after CONNECTED', async () => {
    let allow!: (ok: boolean) => void;
    const { open } = setup({ authenticate: () => new Promise<boolean>((resolve) => (allow = resolve)) });
    const c = await open('v12.stomp', false);
    c.send('CONNECT', { 'accept-version': '1.2', host: '/' });
    c.send('SUBSCRIBE', { id: 's', destination: '/queue/q', receipt: 'sub' });
    expect(c.frames()).toEqual([]);
    allow(true);
    await Promise.resolve();
    await Promise.resolve();
    expect(c.frames().map((f) => f.command + ':' + (f.headers['receipt-id'] ?? ''))).toEqual(['CONNECTED:', 'RECEIPT:sub']);
  });

  it('refuses with 1008 when authenticate throws, and ignores a verdict that arrives after the peer left', async () => {
    const throwing = setup({ authenticate: () => { throw new Error('directory down'); } });
    const a = await throwing.open('v12.stomp', false);
    a.send('CONNECT', { 'accept-version': '1.2', host: '/' });
    expect(a.frames()[0]?.headers.message).toBe('Access refused');
    expect(a.peer.closed?.code).toBe(1008);
    let allow!: (ok: boolean) => void;
    const slow = setup({ authenticate: () => new Promise<boolean>((resolve) => (allow = resolve)) });
    const b = await slow.open('v12.stomp', false);
    b.send('CONNECT', { 'accept-version': '1.2', host: '/', 'heart-beat': '1000,1000' });
    b.peer.close();
    allow(true);
    await Promise.resolve();
    await Promise.resolve();
    expect(b.frames()).toEqual([]);
    expect(b.peer.leaked).toEqual({ subscriptions: 0, timers: 0 });
    expect(slow.harness.clock.pending).toBe(0);
    expect(slow.adapter.stats().sessions).toEqual([]);
  });

  it('accepts only the configured virtual hosts and keeps their queues apart', async () => {
    const { open } = setup({ virtualHosts: ['/', 'other'] });
    const bad = await open('v12.stomp', false);
    bad.send('CONNECT', { 'accept-version': '1.2', host: 'nowhere' });
    expect(bad.frames()[0]?.headers.message).toBe('Unknown virtual host');
    expect(bad.peer.closed?.code).toBe(1008);
    const a = await open('v12.stomp', { host: '/' });
    const b = await open('v12.stomp', { host: 'other' });
    b.send('SUBSCRIBE', { id: 's', destination: '/queue/q' });
    a.send('SEND', { destination: '/queue/q' }, 'for /');
    expect(b.frames()).toEqual([]);
  });

  it('answers missing required headers with ERROR: SEND without destination, 1.2 SUBSCRIBE without id', async () => {
    const { open } = setup();
    const a = await open();
    a.send('SEND', {}, 'x');
    expect(a.frames()[0]?.headers.message).toBe('Missing destination header');
    const b = await open();
    b.send('SUBSCRIBE', { destination: '/topic/x' });
    expect(b.frames()[0]?.headers.message).toBe('Missing id header');
    expect(b.peer.closed?.code).toBe(1002);
  });

  it('lets a 1.0 SUBSCRIBE without id use its destination as the subscription', async () => {
    const { open } = setup();
    const c = await open('v10.stomp');
    c.send('SUBSCRIBE', { destination: '/topic/x' });
    c.send('SEND', { destination: '/topic/x' }, 'hi');
    expect(c.frames()[0]?.headers.subscription).toBe('/topic/x');
    c.send('UNSUBSCRIBE', { destination: '/topic/x' });
    c.send('SEND', { destination: '/topic/x' }, 'hi');
    expect(c.frames()).toEqual([]);
  });
});

describe('heart-beats (fake clock)', () => {
  it('sends an EOL every max(sx, cy) ms while idle and none while traffic flows', async () => {
    const { harness, open } = setup({ heartBeat: { outgoing: 1000, incoming: 0 } });
    const c = await open('v12.stomp', { 'heart-beat': '0,2000' });
    harness.clock.advance(2000);
    expect(c.frames().map((f) => f.command)).toEqual(['HEARTBEAT']);
    c.send('SUBSCRIBE', { id: 's', destination: '/topic/t' });
    for (let i = 0; i < 8; i++) {
      harness.clock.advance(500);
      c.send('SEND', { destination: '/topic/t' }, 'x');
    }
    expect(c.frames().every((f) => f.command === 'MESSAGE')).toBe(true);
    harness.clock.advance(4000);
    expect(c.frames().filter((f) => f.command === 'HEARTBEAT').length).toBeGreaterThanOrEqual(2);
  });

  it('closes a silent client after the grace period and keeps one that sends EOLs', async () => {
    const { harness, open } = setup({ heartBeat: { outgoing: 0, incoming: 1000 }, heartBeatTolerance: 2 });
    const alive = await open('v11.stomp', { 'heart-beat': '1000,0' });
    const silent = await open('v11.stomp', { 'heart-beat': '1000,0' });
    for (let t = 0; t < 10; t++) {
      alive.peer.send('\n');
      harness.clock.advance(1000);
    }
    expect(alive.peer.closed).toBeUndefined();
    expect(silent.frames()[0]?.headers.message).toBe('Heart-beat timeout');
    // Grace: more than 2 periods of silence, detected within the next period.
    const late = await open('v11.stomp', { 'heart-beat': '1000,0' });
    harness.clock.advance(2000);
    expect(late.peer.closed).toBeUndefined();
    harness.clock.advance(1000);
    expect(late.peer.closed?.code).toBe(1002);
    expect(silent.peer.closed?.code).toBe(1002);
  });

  it('runs the heart-beats of every session on one adapter-wide timer, which stops with the last session', async () => {
    const { harness, open } = setup({ heartBeat: { outgoing: 1000, incoming: 1000 } });
    expect(harness.clock.pending).toBe(0);
    const clients = [];
    for (let i = 0; i < 5; i++) clients.push(await open('v12.stomp', { 'heart-beat': '1000,1000' }));
    expect(harness.clock.pending).toBe(1);
    for (const c of clients) expect(c.peer.leaked).toBeUndefined();
    for (const c of clients) c.peer.close();
    expect(harness.clock.pending).toBe(0);
    for (const c of clients) expect(c.peer.leaked).toEqual({ subscriptions: 0, timers: 0 });
  });

  it('never lets the gap between two messages sent exceed MAX(sx, cy), and sends no EOL while traffic flows', async () => {
    // sx 600, cy 1000: EOLs every 1000 ms; the sweep ticks every 300 ms (half the smallest configured value).
    const { harness, open } = setup({ heartBeat: { outgoing: 600, incoming: 0 } });
    const c = await open('v12.stomp', { 'heart-beat': '0,1000' });
    c.send('SUBSCRIBE', { id: 's', destination: '/topic/hb' });
    const start = harness.clock.now();
    const sent: Array<[number, string]> = [[start, 'CONNECTED']];
    for (let t = 0; t < 12_000; t += 50) {
      // Traffic in bursts: 2 s busy, 3 s quiet.
      if (t % 5000 < 2000 && t % 350 === 0) c.send('SEND', { destination: '/topic/hb' }, 'x');
      harness.clock.advance(50);
      for (const f of c.frames()) sent.push([harness.clock.now() - start, f.command]);
    }
    const gaps = sent.slice(1).map(([at, command], i) => ({ gap: at - sent[i]![0], command }));
    expect(Math.max(...gaps.map((g) => g.gap))).toBeLessThanOrEqual(1000);
    // An EOL goes out only once the line has been quiet for more than MAX(sx, cy) minus one tick.
    for (const { gap, command } of gaps) if (command === 'HEARTBEAT') expect(gap).toBeGreaterThan(700);
    expect(gaps.filter((g) => g.command === 'HEARTBEAT').length).toBeGreaterThanOrEqual(5);
  });

  it('does not heart-beat on STOMP 1.0', async () => {
    const { harness, open } = setup({ heartBeat: { outgoing: 100, incoming: 100 } });
    const c = await open('v10.stomp', { 'heart-beat': '100,100' });
    harness.clock.advance(10_000);
    expect(c.frames()).toEqual([]);
    expect(c.peer.closed).toBeUndefined();
  });
});

describe('topics', () => {
  it('fans a SEND out to every matching subscription, wildcards included, each once', async () => {
    const { open } = setup();
    const pub = await open();
    const exact = await open();
    const star = await open();
    const hash = await open();
    const other = await open();
    exact.send('SUBSCRIBE', { id: '1', destination: '/topic/a.b' });
    star.send('SUBSCRIBE', { id: '2', destination: '/topic/a.*' });
    hash.send('SUBSCRIBE', { id: '3', destination: '/topic/#' });
    other.send('SUBSCRIBE', { id: '4', destination: '/topic/a.c' });
    pub.send('SEND', { destination: '/topic/a.b', 'content-type': 'text/plain', 'x-trace': 'abc' }, 'hello');
    for (const [client, id] of [[exact, '1'], [star, '2'], [hash, '3']] as const) {
      const frames = client.frames();
      expect(frames).toHaveLength(1);
      expect(frames[0]).toMatchObject({
        command: 'MESSAGE',
        headers: { subscription: id, destination: '/topic/a.b', 'content-type': 'text/plain', 'x-trace': 'abc', 'content-length': '5' },
      });
      expect(frames[0]?.headers['message-id']).toBeTruthy();
      expect(frames[0]?.headers.ack).toBeUndefined();
      expect(text(frames[0])).toBe('hello');
    }
    expect(other.frames()).toEqual([]);
  });

  it('maps /topic/a.b to the bus topic a/b both ways, with content type and headers', async () => {
    const { harness, open } = setup();
    const seen: BusMessage[] = [];
    harness.bus.subscribe('a/+', (m) => seen.push(m));
    const c = await open();
    c.send('SUBSCRIBE', { id: 's', destination: '/topic/a.*' });
    void harness.bus.publish({ topic: 'a/from-mqtt', payload: enc('{"v":1}'), contentType: 'application/json', headers: { k: 'v' }, origin: { protocol: 'mqtt' }, qos: 0 });
    expect(c.frames()[0]).toMatchObject({ headers: { destination: '/topic/a.from-mqtt', 'content-type': 'application/json', k: 'v', subscription: 's' } });
    c.send('SEND', { destination: '/topic/a.b', 'content-type': 'text/plain', h: '1' }, 'x');
    expect(seen.map((m) => [m.topic, m.contentType, m.headers, m.origin.protocol])).toEqual([
      ['a/from-mqtt', 'application/json', { k: 'v' }, 'mqtt'],
      ['a/b', 'text/plain', { h: '1' }, 'stomp'],
    ]);
    expect(c.frames()).toHaveLength(1);
  });

  it('sends a MESSAGE whose body is not UTF-8 as a binary WebSocket message, byte for byte', async () => {
    const { open } = setup();
    const c = await open();
    c.send('SUBSCRIBE', { id: 's', destination: '/topic/bin' });
    const body = new Uint8Array([0, 0xff, 0xfe, 0x00, 0x80]);
    c.send('SEND', { destination: '/topic/bin' }, body);
    const [sent] = c.peer.take();
    expect(sent?.isBinary).toBe(true);
    c.send('SEND', { destination: '/topic/bin' }, 'text');
    const [textual] = c.peer.take();
    expect(textual?.isBinary).toBe(false);
    c.send('SEND', { destination: '/topic/bin' }, body);
    expect(Array.from(c.frames()[0]!.body)).toEqual(Array.from(body));
  });

  it('sends every frame binary with binaryFrames', async () => {
    const { open } = setup({ binaryFrames: true });
    const c = await open('v12.stomp', false);
    c.send('CONNECT', { 'accept-version': '1.2', host: '/' });
    c.send('SUBSCRIBE', { id: 's', destination: '/topic/t', receipt: 'r' });
    c.send('SEND', { destination: '/topic/t' }, 'text');
    expect(c.peer.take().map((m) => m.isBinary)).toEqual([true, true, true]);
  });

  it('escapes user headers per version on the way out', async () => {
    const { open } = setup();
    const c11 = await open('v11.stomp');
    const c12 = await open('v12.stomp');
    c11.send('SUBSCRIBE', { id: 's', destination: '/topic/e' });
    c12.send('SUBSCRIBE', { id: 's', destination: '/topic/e' });
    c12.send('SEND', { destination: '/topic/e', note: 'a:b\nc\\d' }, 'x');
    expect(c11.peer.takeText()[0]).toContain('note:a\\cb\\nc\\\\d\n');
    expect(c12.frames()[0]?.headers.note).toBe('a:b\nc\\d');
  });

  it('refuses a SEND to a topic with wildcards and an unknown destination', async () => {
    const { open } = setup();
    const a = await open();
    a.send('SEND', { destination: '/topic/a.*' }, 'x');
    expect(a.frames()[0]?.headers.message).toBe('Invalid topic destination /topic/a.*');
    const b = await open();
    b.send('SUBSCRIBE', { id: 's', destination: '/exchange/x' });
    expect(b.frames()[0]?.headers.message).toBe('Unknown destination /exchange/x');
  });
});

describe('queues', () => {
  it('keeps messages until a consumer comes, then delivers each once, round robin', async () => {
    const { open, adapter } = setup();
    const pub = await open();
    for (let i = 0; i < 4; i++) pub.send('SEND', { destination: '/queue/jobs' }, `m${i}`);
    expect(adapter.stats().destinations).toContainEqual({ destination: '/queue/jobs', kind: 'queue', subscribers: 0, queued: 4 });
    const a = await open();
    a.send('SUBSCRIBE', { id: 'a', destination: '/queue/jobs', ack: 'client-individual', 'prefetch-count': '1' });
    const b = await open();
    b.send('SUBSCRIBE', { id: 'b', destination: '/queue/jobs', ack: 'client-individual', 'prefetch-count': '1' });
    const fa = a.frames();
    const fb = b.frames();
    expect(fa.map(text)).toEqual(['m0']);
    expect(fb.map(text)).toEqual(['m1']);
    a.send('ACK', { id: fa[0]!.headers.ack! });
    b.send('ACK', { id: fb[0]!.headers.ack! });
    expect([...a.frames(), ...b.frames()].map(text).sort()).toEqual(['m2', 'm3']);
  });

  it('redelivers a NACKed message to another consumer with redelivered:true', async () => {
    const { open } = setup();
    const a = await open();
    const b = await open();
    a.send('SUBSCRIBE', { id: 'a', destination: '/queue/q', ack: 'client-individual' });
    b.send('SUBSCRIBE', { id: 'b', destination: '/queue/q', ack: 'client-individual' });
    a.send('SEND', { destination: '/queue/q' }, 'one');
    const [first] = a.frames();
    expect(text(first)).toBe('one');
    a.send('NACK', { id: first!.headers.ack! });
    const [again] = b.frames();
    expect(again).toMatchObject({ headers: { redelivered: 'true', destination: '/queue/q' } });
    expect(text(again)).toBe('one');
    expect(a.frames()).toEqual([]);
  });

  it('redelivers what a consumer left unacked when it goes away', async () => {
    const { open } = setup();
    const a = await open('v11.stomp');
    const b = await open();
    a.send('SUBSCRIBE', { id: 'a', destination: '/queue/q', ack: 'client' });
    a.send('SEND', { destination: '/queue/q' }, '1');
    a.send('SEND', { destination: '/queue/q' }, '2');
    expect(a.frames().map(text)).toEqual(['1', '2']);
    a.peer.drop();
    b.send('SUBSCRIBE', { id: 'b', destination: '/queue/q', ack: 'auto' });
    expect(b.frames().map((f) => [text(f), f.headers.redelivered])).toEqual([
      ['1', 'true'],
      ['2', 'true'],
    ]);
  });

  it('acks cumulatively in client mode (1.1 ACK by message-id)', async () => {
    const { open, adapter } = setup();
    const c = await open('v11.stomp');
    c.send('SUBSCRIBE', { id: 's', destination: '/queue/q', ack: 'client', 'prefetch-count': '3' });
    for (let i = 0; i < 5; i++) c.send('SEND', { destination: '/queue/q' }, String(i));
    const got = c.frames();
    expect(got.map(text)).toEqual(['0', '1', '2']);
    c.send('ACK', { 'message-id': got[1]!.headers['message-id']!, subscription: 's' });
    expect(c.frames().map(text)).toEqual(['3', '4']);
    expect(adapter.stats().destinations).toContainEqual({ destination: '/queue/q', kind: 'queue', subscribers: 1, queued: 0 });
  });

  it('answers an ACK for an unknown message with ERROR', async () => {
    const { open } = setup();
    const c = await open();
    c.send('ACK', { id: 'nope', receipt: 'r' });
    expect(c.frames()[0]?.headers).toMatchObject({ message: 'Unknown message id nope', 'receipt-id': 'r' });
    expect(c.peer.closed?.code).toBe(1002);
  });

  it('routes a reply to /temp-queue/x back to the requester through the rewritten reply-to', async () => {
    const { open, adapter } = setup();
    const requester = await open();
    const worker = await open();
    worker.send('SUBSCRIBE', { id: 'w', destination: '/queue/rpc' });
    requester.send('SEND', { destination: '/queue/rpc', 'reply-to': '/temp-queue/answers' }, 'ping');
    const [request] = worker.frames();
    const replyTo = request!.headers['reply-to']!;
    expect(replyTo).toMatch(/^\/reply-queue\//);
    expect(adapter.stats().destinations).toContainEqual({ destination: '/temp-queue/answers', kind: 'temp-queue', subscribers: 1, queued: 0 });
    worker.send('SEND', { destination: replyTo }, 'pong');
    const [reply] = requester.frames();
    expect(reply).toMatchObject({ headers: { subscription: '/temp-queue/answers', destination: '/temp-queue/answers' } });
    expect(text(reply)).toBe('pong');
    requester.peer.close();
    worker.send('SEND', { destination: replyTo }, 'late');
    expect(worker.peer.closed).toBeUndefined();
  });
});

describe('receipts, transactions, DISCONNECT', () => {
  it('sends RECEIPT for any frame with a receipt header', async () => {
    const { open } = setup();
    const c = await open();
    c.send('SUBSCRIBE', { id: 's', destination: '/topic/t', receipt: 'a' });
    c.send('UNSUBSCRIBE', { id: 's', receipt: 'b' });
    c.send('BEGIN', { transaction: 't', receipt: 'c' });
    expect(c.frames().map((f) => [f.command, f.headers['receipt-id']])).toEqual([
      ['RECEIPT', 'a'],
      ['RECEIPT', 'b'],
      ['RECEIPT', 'c'],
    ]);
  });

  it('answers DISCONNECT with its RECEIPT, then closes 1000', async () => {
    const { open } = setup();
    const c = await open();
    c.send('DISCONNECT', { receipt: 'bye' });
    expect(c.frames()).toMatchObject([{ command: 'RECEIPT', headers: { 'receipt-id': 'bye' } }]);
    expect(c.peer.closed).toMatchObject({ code: 1000, by: 'server' });
  });

  it('holds transactional SENDs and ACKs until COMMIT and drops them on ABORT', async () => {
    const { open } = setup();
    const c = await open();
    c.send('SUBSCRIBE', { id: 't', destination: '/topic/t' });
    c.send('SUBSCRIBE', { id: 'q', destination: '/queue/q', ack: 'client-individual', 'prefetch-count': '1' });
    c.send('SEND', { destination: '/queue/q' }, 'q1');
    c.send('SEND', { destination: '/queue/q' }, 'q2');
    const [q1] = c.frames();
    c.send('BEGIN', { transaction: 'tx1' });
    c.send('SEND', { destination: '/topic/t', transaction: 'tx1' }, 'in tx');
    c.send('ACK', { id: q1!.headers.ack!, transaction: 'tx1' });
    expect(c.frames()).toEqual([]);
    c.send('COMMIT', { transaction: 'tx1' });
    expect(c.frames().map(text)).toEqual(['in tx', 'q2']);
    c.send('BEGIN', { transaction: 'tx2' });
    c.send('SEND', { destination: '/topic/t', transaction: 'tx2' }, 'never');
    c.send('ABORT', { transaction: 'tx2' });
    expect(c.frames()).toEqual([]);
    c.send('COMMIT', { transaction: 'tx2' });
    expect(c.frames()[0]?.headers.message).toBe('Unknown transaction tx2');
  });
});

describe('limits and topic acks', () => {
  it('holds back topic messages from a client-mode subscription at its prefetch-count and delivers them as it acks', async () => {
    // Second pass: topic messages past prefetch-count used to be dropped; they now wait in the
    // subscription's own queue, as in RabbitMQ (one queue per topic subscription).
    const { open } = setup();
    const c = await open();
    c.send('SUBSCRIBE', { id: 's', destination: '/topic/p', ack: 'client-individual', 'prefetch-count': '1' });
    c.send('SEND', { destination: '/topic/p' }, '1');
    c.send('SEND', { destination: '/topic/p' }, '2');
    const [first, ...rest] = c.frames();
    expect(text(first)).toBe('1');
    expect(rest).toEqual([]);
    c.send('ACK', { id: first!.headers.ack! });
    c.send('SEND', { destination: '/topic/p' }, '3');
    const [second, ...after] = c.frames();
    expect(text(second)).toBe('2');
    expect(after).toEqual([]);
    c.send('ACK', { id: second!.headers.ack! });
    expect(c.frames().map(text)).toEqual(['3']);
  });

  it('closes with 1008 when a session opens too many transactions', async () => {
    const { open } = setup();
    const c = await open();
    for (let i = 0; i <= 100 && !c.peer.closed; i++) c.send('BEGIN', { transaction: `t${i}` });
    expect(c.frames().at(-1)?.headers.message).toBe('Too many open transactions');
    expect(c.peer.closed?.code).toBe(1008);
  });

  it('rewrites reply-to to an unguessable /reply-queue/ name, one per temporary queue', async () => {
    const { open } = setup();
    const c = await open();
    const w = await open();
    w.send('SUBSCRIBE', { id: 'w', destination: '/queue/rpc' });
    c.send('SEND', { destination: '/queue/rpc', 'reply-to': '/temp-queue/a' }, '1');
    c.send('SEND', { destination: '/queue/rpc', 'reply-to': '/temp-queue/a' }, '2');
    c.send('SEND', { destination: '/queue/rpc', 'reply-to': '/temp-queue/b' }, '3');
    const replyTos = w.frames().map((f) => f.headers['reply-to']);
    expect(replyTos[0]).toBe(replyTos[1]);
    expect(replyTos[2]).not.toBe(replyTos[0]);
    expect(replyTos[0]).toMatch(/^\/reply-queue\/tmp-[0-9a-f-]{36}$/);
  });
});

describe('stats()', () => {
  it('lists connected sessions with their subscriptions and every destination', async () => {
    const { open, adapter } = setup();
    const a = await open('v11.stomp');
    const b = await open();
    a.send('SUBSCRIBE', { id: 's1', destination: '/topic/x.y', ack: 'client' });
    b.send('SUBSCRIBE', { id: 's2', destination: '/topic/x.y' });
    b.send('SUBSCRIBE', { id: 's3', destination: '/queue/w' });
    const stats = adapter.stats();
    expect(stats.sessions).toEqual([
      { id: a.peer.connection.id, version: '1.1', connectedAt: expect.any(Number), subscriptions: [{ id: 's1', destination: '/topic/x.y', ack: 'client' }] },
      {
        id: b.peer.connection.id,
        version: '1.2',
        connectedAt: expect.any(Number),
        subscriptions: [
          { id: 's2', destination: '/topic/x.y', ack: 'auto' },
          { id: 's3', destination: '/queue/w', ack: 'auto' },
        ],
      },
    ]);
    expect(stats.destinations).toEqual([
      { destination: '/topic/x.y', kind: 'topic', subscribers: 2, queued: 0 },
      { destination: '/queue/w', kind: 'queue', subscribers: 1, queued: 0 },
    ]);
    expect(JSON.parse(JSON.stringify(stats))).toEqual(stats);
    a.peer.close();
    b.peer.close();
    expect(adapter.stats()).toEqual({ sessions: [], destinations: [] });
  });
});

describe('garbage in', () => {
  test.prop([fc.array(fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.string({ maxLength: 300 })), { maxLength: 6 })], { numRuns: 200 })(
    'never throws out of onMessage, before or after CONNECT, and closes only with 1002 or 1009',
    async (messages) => {
      const { open } = setup({ maxBodyLength: 128 });
      for (const connect of [false, true] as const) {
        const c = await open('v12.stomp', connect ? {} : false);
        for (const message of messages) {
          if (c.peer.closed) break;
          expect(() => c.peer.send(message, typeof message !== 'string')).not.toThrow();
        }
        if (c.peer.closed) expect([1000, 1002, 1008, 1009]).toContain(c.peer.closed.code);
      }
    },
  );
});

// Second pass against the STOMP 1.0/1.1/1.2 specifications and RabbitMQ Web-STOMP behaviour.

describe('topic subscriptions with client acks', () => {
  it('redelivers a NACKed topic message to the same subscription with redelivered:true', async () => {
    // RabbitMQ gives each topic subscription its own queue, so a NACK requeues there.
    const { open } = setup();
    const c = await open();
    c.send('SUBSCRIBE', { id: 's', destination: '/topic/n', ack: 'client-individual' });
    c.send('SEND', { destination: '/topic/n' }, 'once');
    const [first] = c.frames();
    expect(first?.headers.redelivered).toBeUndefined();
    c.send('NACK', { id: first!.headers.ack! });
    const [again] = c.frames();
    expect(again).toMatchObject({ command: 'MESSAGE', headers: { subscription: 's', destination: '/topic/n', redelivered: 'true' } });
    expect(text(again)).toBe('once');
    expect(again!.headers['message-id']).not.toBe(first!.headers['message-id']);
    c.send('ACK', { id: again!.headers.ack! });
    expect(c.frames()).toEqual([]);
  });

  it('redelivers every earlier topic message on a cumulative NACK in client mode (1.1 NACK)', async () => {
    // STOMP 1.2 "NACK": "NACK takes the same headers as ACK"; in client mode ACK and NACK are cumulative.
    const { open } = setup();
    const c = await open('v11.stomp');
    c.send('SUBSCRIBE', { id: 's', destination: '/topic/c', ack: 'client' });
    for (const n of ['1', '2', '3']) c.send('SEND', { destination: '/topic/c' }, n);
    const got = c.frames();
    c.send('NACK', { 'message-id': got[1]!.headers['message-id']!, subscription: 's' });
    expect(c.frames().map((f) => [text(f), f.headers.redelivered])).toEqual([
      ['1', 'true'],
      ['2', 'true'],
    ]);
  });

  it('drops the oldest waiting topic message once the backlog reaches maxTopicBacklog', async () => {
    const { open } = setup({ maxTopicBacklog: 2 });
    const c = await open();
    c.send('SUBSCRIBE', { id: 's', destination: '/topic/b', ack: 'client-individual', 'prefetch-count': '1' });
    for (const n of ['1', '2', '3', '4', '5']) c.send('SEND', { destination: '/topic/b' }, n);
    const delivered: string[] = [];
    for (let frames = c.frames(); frames.length > 0; frames = c.frames()) {
      delivered.push(...frames.map(text));
      c.send('ACK', { id: frames[0]!.headers.ack! });
    }
    // '1' went out at once; '2' and '3' were dropped when '4' and '5' arrived at a full backlog.
    expect(delivered).toEqual(['1', '4', '5']);
  });

  it('leaves auto-ack subscribers of the same topic unaffected by a slow client-ack one', async () => {
    const { open, adapter } = setup();
    const slow = await open();
    const fast = await open();
    slow.send('SUBSCRIBE', { id: 's', destination: '/topic/f', ack: 'client', 'prefetch-count': '1' });
    fast.send('SUBSCRIBE', { id: 'f', destination: '/topic/f' });
    for (const n of ['1', '2', '3']) fast.send('SEND', { destination: '/topic/f' }, n);
    expect(fast.frames().map(text)).toEqual(['1', '2', '3']);
    expect(fast.frames()).toEqual([]);
    expect(slow.frames().map(text)).toEqual(['1']);
    expect(adapter.stats().destinations).toContainEqual({ destination: '/topic/f', kind: 'topic', subscribers: 2, queued: 2 });
    // UNSUBSCRIBE drops the subscription's backlog with it.
    slow.send('UNSUBSCRIBE', { id: 's' });
    expect(adapter.stats().destinations).toContainEqual({ destination: '/topic/f', kind: 'topic', subscribers: 1, queued: 0 });
  });

  it('sends the ack header on MESSAGE only for subscriptions that need acks (1.2)', async () => {
    // STOMP 1.2 "MESSAGE": "If the message is received from a subscription that requires explicit
    // acknowledgment (either client or client-individual mode) then the MESSAGE frame MUST also
    // contain an ack header".
    const { open } = setup();
    const c = await open();
    c.send('SUBSCRIBE', { id: 'auto', destination: '/topic/h' });
    c.send('SUBSCRIBE', { id: 'client', destination: '/topic/h', ack: 'client' });
    c.send('SEND', { destination: '/topic/h' }, 'x');
    const frames = c.frames();
    const bySub = Object.fromEntries(frames.map((f) => [f.headers.subscription, f]));
    expect(bySub.auto?.headers.ack).toBeUndefined();
    expect(bySub.client?.headers.ack).toBeTruthy();
    // STOMP 1.2 "MESSAGE": "a message-id header with a unique identifier for that message".
    expect(new Set(frames.map((f) => f.headers['message-id'])).size).toBe(2);
  });
});

describe('NACK requeue header (RabbitMQ)', () => {
  it('discards a NACKed queue message when NACK says requeue:false', async () => {
    const { open, adapter } = setup();
    const c = await open();
    c.send('SUBSCRIBE', { id: 's', destination: '/queue/dl', ack: 'client-individual' });
    c.send('SEND', { destination: '/queue/dl' }, 'poison');
    const [first] = c.frames();
    c.send('NACK', { id: first!.headers.ack!, requeue: 'false' });
    expect(c.frames()).toEqual([]);
    expect(adapter.stats().destinations).toContainEqual({ destination: '/queue/dl', kind: 'queue', subscribers: 1, queued: 0 });
  });
});

describe('required headers per version', () => {
  // STOMP 1.2 "SEND" "MUST include a destination header"; "SUBSCRIBE" destination and "an id
  // header MUST be included"; "UNSUBSCRIBE" "MUST include an id header"; "ACK"/"NACK" "MUST
  // include an id header"; BEGIN/COMMIT/ABORT "The transaction header is REQUIRED". STOMP 1.1
  // "ACK": "ACK has two REQUIRED headers: message-id ... and subscription". STOMP 1.0 "ACK":
  // message-id "is required".
  const cases: Array<[StompSubprotocol, string, Record<string, string>, string]> = [
    ['v12.stomp', 'SEND', {}, 'destination'],
    ['v12.stomp', 'SUBSCRIBE', { id: 's' }, 'destination'],
    ['v11.stomp', 'SUBSCRIBE', { destination: '/topic/x' }, 'id'],
    ['v12.stomp', 'UNSUBSCRIBE', {}, 'id'],
    ['v11.stomp', 'UNSUBSCRIBE', { destination: '/topic/x' }, 'id'],
    ['v12.stomp', 'ACK', { 'message-id': '1' }, 'id'],
    ['v12.stomp', 'NACK', { 'message-id': '1' }, 'id'],
    ['v11.stomp', 'ACK', { 'message-id': '1' }, 'subscription'],
    ['v11.stomp', 'NACK', { 'message-id': '1' }, 'subscription'],
    ['v11.stomp', 'ACK', { subscription: 's' }, 'message-id'],
    ['v10.stomp', 'ACK', {}, 'message-id'],
    ['v10.stomp', 'SEND', {}, 'destination'],
    ['v12.stomp', 'BEGIN', {}, 'transaction'],
    ['v11.stomp', 'COMMIT', {}, 'transaction'],
    ['v10.stomp', 'ABORT', {}, 'transaction'],
  ];
  it.each(cases)('on %s answers %s with headers %o missing %s with ERROR (receipt-id kept) and close 1002', async (protocol, command, headers, missing) => {
    const { open } = setup();
    const c = await open(protocol);
    c.send(command, { ...headers, receipt: 'r-1' });
    const frames = c.frames();
    expect(frames).toHaveLength(1);
    expect(frames[0]).toMatchObject({ command: 'ERROR', headers: { message: `Missing ${missing} header`, 'receipt-id': 'r-1' } });
    expect(c.peer.closed).toMatchObject({ code: 1002, by: 'server' });
  });

  it('refuses a transactional SEND without destination when it arrives, not at COMMIT', async () => {
    const { open } = setup();
    const c = await open();
    c.send('BEGIN', { transaction: 't' });
    c.send('SEND', { transaction: 't' }, 'x');
    expect(c.frames()[0]?.headers.message).toBe('Missing destination header');
    expect(c.peer.closed?.code).toBe(1002);
  });

  it('refuses a 1.1 ACK whose subscription header names another subscription', async () => {
    // STOMP 1.1 "ACK": subscription "must be set to match the value of the subscription's id header".
    const { open } = setup();
    const c = await open('v11.stomp');
    c.send('SUBSCRIBE', { id: 's', destination: '/queue/m', ack: 'client' });
    c.send('SEND', { destination: '/queue/m' }, 'x');
    const [message] = c.frames();
    c.send('ACK', { 'message-id': message!.headers['message-id']!, subscription: 'other' });
    expect(c.frames()[0]?.headers.message).toMatch(/is not from subscription other$/);
    expect(c.peer.closed?.code).toBe(1002);
  });

  it('accepts a 1.0 UNSUBSCRIBE by destination and a 1.0 ACK without subscription', async () => {
    const { open } = setup();
    const c = await open('v10.stomp');
    c.send('SUBSCRIBE', { destination: '/queue/z', ack: 'client' });
    c.send('SEND', { destination: '/queue/z' }, 'x');
    const [message] = c.frames();
    c.send('ACK', { 'message-id': message!.headers['message-id']!, receipt: 'a' });
    c.send('UNSUBSCRIBE', { destination: '/queue/z', receipt: 'u' });
    expect(c.frames().map((f) => f.headers['receipt-id'])).toEqual(['a', 'u']);
    expect(c.peer.closed).toBeUndefined();
  });
});

describe('receipts on every client frame', () => {
  it('sends RECEIPT for SEND, ACK, NACK, BEGIN, COMMIT and ABORT, in order', async () => {
    // STOMP 1.2 "Header receipt": "Any client frame other than CONNECT MAY specify a receipt header".
    const { open } = setup();
    const c = await open();
    c.send('SUBSCRIBE', { id: 's', destination: '/queue/rc', ack: 'client-individual' });
    c.send('SEND', { destination: '/queue/rc', receipt: 'send' }, 'a');
    c.send('SEND', { destination: '/queue/rc' }, 'b');
    const [a, b] = c.frames().filter((f) => f.command === 'MESSAGE');
    c.send('ACK', { id: a!.headers.ack!, receipt: 'ack' });
    c.send('NACK', { id: b!.headers.ack!, receipt: 'nack', requeue: 'false' });
    c.send('BEGIN', { transaction: 't1', receipt: 'begin' });
    c.send('COMMIT', { transaction: 't1', receipt: 'commit' });
    c.send('BEGIN', { transaction: 't2' });
    c.send('ABORT', { transaction: 't2', receipt: 'abort' });
    expect(c.frames().map((f) => f.headers['receipt-id'])).toEqual(['ack', 'nack', 'begin', 'commit', 'abort']);
    expect(c.peer.closed).toBeUndefined();
  });

  it('answers the spec example DISCONNECT (no blank line) with RECEIPT, then closes 1000', async () => {
    // STOMP 1.2 "DISCONNECT": "DISCONNECT\nreceipt:77\n^@", then "wait for the RECEIPT frame".
    const { open } = setup();
    const c = await open();
    c.peer.send('DISCONNECT\nreceipt:77\n\0');
    expect(c.frames()).toMatchObject([{ command: 'RECEIPT', headers: { 'receipt-id': '77' } }]);
    expect(c.peer.closed).toMatchObject({ code: 1000, by: 'server' });
  });

  it('answers a SEND to a destination outside /topic/, /queue/, /temp-queue/ and /reply-queue/ with ERROR', async () => {
    // RabbitMQ: ERROR "Unknown destination"; STOMP 1.2 "SEND": "If the server cannot successfully
    // process the SEND frame for any reason, the server MUST send the client an ERROR frame and then close the connection."
    const { open } = setup();
    const c = await open();
    c.send('SEND', { destination: '/foo/bar', receipt: 'r' }, 'x');
    expect(c.frames()).toMatchObject([{ command: 'ERROR', headers: { message: 'Unknown destination /foo/bar', 'receipt-id': 'r' } }]);
    expect(c.peer.closed?.code).toBe(1002);
  });
});

describe('UNSUBSCRIBE', () => {
  it.each(['v12.stomp', 'v10.stomp'] as const)('answers an UNSUBSCRIBE for no existing subscription on %s with ERROR and close 1002', async (protocol) => {
    // STOMP 1.2 "UNSUBSCRIBE": the id "MUST match the subscription identifier of an existing subscription".
    const { open } = setup();
    const c = await open(protocol);
    c.send('SUBSCRIBE', { id: 's', destination: '/topic/u' });
    c.send('UNSUBSCRIBE', { id: 's', receipt: 'ok' });
    c.send('UNSUBSCRIBE', { id: 's', receipt: 'again' });
    expect(c.frames()).toMatchObject([
      { command: 'RECEIPT', headers: { 'receipt-id': 'ok' } },
      { command: 'ERROR', headers: { message: 'No subscription found', 'receipt-id': 'again' } },
    ]);
    expect(c.peer.closed?.code).toBe(1002);
  });
});

describe('frames that must not have a body', () => {
  // STOMP 1.2 "Body": "Only the SEND, MESSAGE, and ERROR frames MAY have a body. All other frames MUST NOT have a body."
  const cases: Array<[string, Record<string, string>]> = [
    ['SUBSCRIBE', { id: 's', destination: '/topic/x' }],
    ['UNSUBSCRIBE', { id: 's' }],
    ['BEGIN', { transaction: 't' }],
    ['ACK', { id: 'x' }],
    ['DISCONNECT', {}],
  ];
  it.each(cases)('answers a 1.2 %s with a body with ERROR and close 1002', async (command, headers) => {
    const { open } = setup();
    const c = await open('v12.stomp');
    c.send(command, { ...headers, receipt: 'r' }, 'body');
    expect(c.frames()).toMatchObject([{ command: 'ERROR', headers: { message: `${command} frame must not have a body`, 'receipt-id': 'r' } }]);
    expect(c.peer.closed?.code).toBe(1002);
  });

  it('refuses a 1.1 CONNECT with a body', async () => {
    const { open } = setup();
    const c = await open('v11.stomp', false);
    c.send('CONNECT', { 'accept-version': '1.1', host: '/' }, 'hello');
    expect(c.frames()).toMatchObject([{ command: 'ERROR', headers: { message: 'CONNECT frame must not have a body' } }]);
    expect(c.peer.closed?.code).toBe(1002);
  });

  it('ignores a body on a 1.0 SUBSCRIBE, which STOMP 1.0 does not forbid', async () => {
    const { open } = setup();
    const c = await open('v10.stomp');
    c.send('SUBSCRIBE', { id: 's', destination: '/topic/x', receipt: 'r' }, 'body');
    expect(c.frames()).toMatchObject([{ command: 'RECEIPT', headers: { 'receipt-id': 'r' } }]);
  });

  it('accepts an empty body with content-length:0 on any frame', async () => {
    const { open } = setup();
    const c = await open();
    c.peer.send('SUBSCRIBE\nid:s\ndestination:/topic/x\ncontent-length:0\nreceipt:r\n\n\0');
    expect(c.frames()).toMatchObject([{ command: 'RECEIPT', headers: { 'receipt-id': 'r' } }]);
  });
});

describe('CONNECT host', () => {
  it('accepts a 1.2 CONNECT without host by default, as RabbitMQ does for stompjs', async () => {
    const { open } = setup();
    const c = await open('v12.stomp', false);
    c.send('CONNECT', { 'accept-version': '1.2' });
    expect(c.frames()[0]?.command).toBe('CONNECTED');
  });

  it.each(['v12.stomp', 'v11.stomp'] as const)('refuses a CONNECT without host on %s with requireHost', async (protocol) => {
    // STOMP 1.2 "CONNECT or STOMP Frame": "STOMP 1.2 clients MUST set the following headers: accept-version ... host".
    const { open } = setup({ requireHost: true });
    const c = await open(protocol, false);
    c.send('CONNECT', { 'accept-version': VERSION_OF_SUBPROTOCOL[protocol] });
    expect(c.frames()).toMatchObject([{ command: 'ERROR', headers: { message: 'Missing host header' } }]);
    expect(c.peer.closed?.code).toBe(1002);
    const ok = await open(protocol, false);
    ok.send('CONNECT', { 'accept-version': VERSION_OF_SUBPROTOCOL[protocol], host: 'broker' });
    expect(ok.frames()[0]?.command).toBe('CONNECTED');
  });

  it('lets a 1.0 CONNECT without host through with requireHost (1.0 has no host header)', async () => {
    const { open } = setup({ requireHost: true });
    const c = await open('v10.stomp', false);
    c.send('CONNECT', {});
    expect(c.frames()[0]?.command).toBe('CONNECTED');
  });
});

describe('MESSAGE headers', () => {
  it('passes user headers and content-type from SEND, never receipt or transaction, and recomputes content-length', async () => {
    // STOMP 1.2 "SEND": "all other SEND headers ... will be included in the MESSAGE"; receipt and
    // transaction concern the SEND frame itself.
    const { open } = setup();
    const c = await open();
    c.send('SUBSCRIBE', { id: 's', destination: '/queue/h' });
    c.send('BEGIN', { transaction: 't' });
    c.send('SEND', { destination: '/queue/h', transaction: 't', receipt: 'r', 'content-type': 'text/plain;charset=utf-8', 'x-a': '1', persistent: 'true' }, 'héllo');
    c.send('COMMIT', { transaction: 't' });
    const message = c.frames().find((f) => f.command === 'MESSAGE');
    expect(message?.headers).toMatchObject({ destination: '/queue/h', 'content-type': 'text/plain;charset=utf-8', 'x-a': '1', persistent: 'true', 'content-length': '6' });
    expect(message?.headers.receipt).toBeUndefined();
    expect(message?.headers.transaction).toBeUndefined();
  });

  it('keeps the first of repeated SEND headers on the way to subscribers', async () => {
    // STOMP 1.2 "Repeated Header Entries": "only the first header entry SHOULD be used".
    const { open } = setup();
    const c = await open();
    c.send('SUBSCRIBE', { id: 's', destination: '/topic/r' });
    c.peer.send('SEND\ndestination:/topic/r\nx:first\nx:second\ndestination:/topic/other\n\nb\0');
    expect(c.frames()).toMatchObject([{ command: 'MESSAGE', headers: { destination: '/topic/r', x: 'first' } }]);
  });
});

describe('heart-beat negotiation', () => {
  it('sends at MAX(sx, cy) when the client asks for slower heart-beats than the server can send', async () => {
    // STOMP 1.2 "Heart-beating": "otherwise, there will be heart-beats every MAX(<sx>,<cy>) milliseconds".
    const { harness, open } = setup({ heartBeat: { outgoing: 1000, incoming: 0 } });
    const c = await open('v12.stomp', { 'heart-beat': '0,5000' });
    harness.clock.advance(4000);
    expect(c.frames()).toEqual([]);
    harness.clock.advance(1000);
    expect(c.frames().map((f) => f.command)).toEqual(['HEARTBEAT']);
  });

  it('does not watch a client that cannot send heart-beats (cx = 0)', async () => {
    // "if <cx> is 0 (the client cannot send heart-beats) or <sy> is 0 ... then there will be none".
    const { harness, open } = setup({ heartBeat: { outgoing: 0, incoming: 1000 } });
    const c = await open('v12.stomp', { 'heart-beat': '0,0' });
    harness.clock.advance(60_000);
    expect(c.peer.closed).toBeUndefined();
  });
});
