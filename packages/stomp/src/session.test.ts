import { describe, expect, it } from 'vitest';
import { test, fc } from '@fast-check/vitest';
import type { BusMessage } from '@protoplex/core';
import { setup, text } from './_test-helpers.js';
import { SUBPROTOCOLS, VERSION_OF_SUBPROTOCOL } from './constants.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('CONNECT', () => {
  it.each(SUBPROTOCOLS)('answers CONNECT on %s with CONNECTED naming the negotiated version', async (protocol) => {
    const { open } = setup();
    const c = await open(protocol, false);
    const version = VERSION_OF_SUBPROTOCOL[protocol];
    c.send('CONNECT', { 'accept-version': '1.0,1.1,1.2', host: '/', 'heart-beat': '0,0' });
    const [connected] = c.frames();
    expect(connected?.command).toBe('CONNECTED');
    expect(connected?.headers.version).toBe(version);
    expect(connected?.headers.session).toBe(c.peer.connection.id);
    expect(connected?.headers.server).toBe('protoplex-stomp/0');
    expect(connected?.headers['heart-beat']).toBe(version === '1.0' ? undefined : '10000,10000');
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
  it('holds back topic messages from a client-mode subscription at its prefetch-count until it acks', async () => {
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
