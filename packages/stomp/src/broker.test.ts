/**
 * The bus rule: the adapter holds on the bus exactly the filters its topic subscriptions hold,
 * one bus subscription per distinct filter, and builds a bus message only for somebody outside
 * STOMP. STOMP subscribers get every message once, whichever way it came.
 */
import { describe, expect, it, vi } from 'vitest';
import { createMemoryBus, type BusMessage, type Logger } from '@protoplex/core';
import { setup, text, type Client } from './_test-utils.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const busMessage = (topic: string, body: string): BusMessage => ({ topic, payload: enc(body), origin: { protocol: 'mqtt' }, qos: 0 });

/** What each client received, as `subscription:body` per MESSAGE frame, sorted. */
const received = (client: Client): string[] =>
  client
    .frames()
    .filter((f) => f.command === 'MESSAGE')
    .map((f) => `${f.headers.subscription}:${text(f)}`)
    .sort();

describe('bus subscriptions follow STOMP topic subscriptions', () => {
  it('makes one bus subscription for N clients of one destination and releases it with the last', async () => {
    const bus = createMemoryBus();
    const { open } = setup({}, { bus });
    const clients = [await open(), await open(), await open()];
    expect(bus.size).toBe(0);
    for (const c of clients) c.send('SUBSCRIBE', { id: 's', destination: '/topic/room.a' });
    expect(bus.size).toBe(1);
    // A client-ack subscription to the same destination shares the filter too.
    clients[0]!.send('SUBSCRIBE', { id: 'acked', destination: '/topic/room.a', ack: 'client' });
    expect(bus.size).toBe(1);
    clients[1]!.send('SUBSCRIBE', { id: 'w', destination: '/topic/room.*' });
    expect(bus.size).toBe(2);

    clients[0]!.send('UNSUBSCRIBE', { id: 's' });
    clients[0]!.send('UNSUBSCRIBE', { id: 'acked' });
    expect(bus.size).toBe(2);
    clients[1]!.peer.close();
    expect(bus.size).toBe(1);
    clients[2]!.peer.drop();
    expect(bus.size).toBe(0);
  });

  it('releases the filters of a session that fails', async () => {
    const bus = createMemoryBus();
    const { open } = setup({}, { bus });
    const c = await open();
    c.send('SUBSCRIBE', { id: 's', destination: '/topic/x' });
    expect(bus.size).toBe(1);
    c.send('FLY');
    expect(c.peer.closed?.code).toBe(1002);
    expect(bus.size).toBe(0);
  });
});

describe('publishing', () => {
  /** A publisher, and a subscriber `s` of `destination`, on a memory bus whose `publish` is spied on. */
  const pair = async (destination: string) => {
    const bus = createMemoryBus();
    const publish = vi.spyOn(bus, 'publish');
    const { open } = setup({}, { bus });
    const pub = await open();
    const sub = await open();
    sub.send('SUBSCRIBE', { id: 's', destination });
    return { bus, publish, pub, sub };
  };

  it('never calls bus.publish for a SEND nobody outside STOMP wants, and still delivers it to STOMP subscribers', async () => {
    const { publish, pub, sub } = await pair('/topic/quiet.a');
    pub.send('SEND', { destination: '/topic/quiet.a' }, 'one');
    pub.send('SEND', { destination: '/topic/nobody' }, 'two');
    expect(publish).not.toHaveBeenCalled();
    expect(received(sub)).toEqual(['s:one']);
  });

  it('publishes once somebody outside STOMP subscribes, and STOMP subscribers still get it once', async () => {
    const { bus, publish, pub, sub } = await pair('/topic/loud.a');
    const outside: BusMessage[] = [];
    const subscription = bus.subscribe('loud/#', (m) => outside.push(m));
    pub.send('SEND', { destination: '/topic/loud.a', 'content-type': 'text/plain', 'x-h': '1' }, 'hi');
    expect(publish).toHaveBeenCalledTimes(1);
    expect(outside.map((m) => [m.topic, m.contentType, m.headers, m.origin])).toEqual([['loud/a', 'text/plain', { 'x-h': '1' }, { protocol: 'stomp', connectionId: pub.peer.connection.id }]]);
    expect(received(sub)).toEqual(['s:hi']);
    subscription.unsubscribe();
    pub.send('SEND', { destination: '/topic/loud.a' }, 'again');
    expect(publish).toHaveBeenCalledTimes(1);
    expect(received(sub)).toEqual(['s:again']);
  });
});

describe('delivery with overlapping subscriptions in different sessions', () => {
  const subscribeAll = async (open: ReturnType<typeof setup>['open']): Promise<Client[]> => {
    const a = await open();
    const b = await open('v11.stomp');
    const c = await open('v10.stomp');
    a.send('SUBSCRIBE', { id: 'a-star', destination: '/topic/o.*' });
    a.send('SUBSCRIBE', { id: 'a-all', destination: '/topic/#' });
    b.send('SUBSCRIBE', { id: 'b-exact', destination: '/topic/o.x' });
    b.send('SUBSCRIBE', { id: 'b-rest', destination: '/topic/o.#' });
    c.send('SUBSCRIBE', { id: 'c-exact', destination: '/topic/o.x' });
    c.send('SUBSCRIBE', { id: 'c-other', destination: '/topic/o.y' });
    return [a, b, c];
  };

  it('delivers a STOMP SEND once to each matching subscription', async () => {
    const { open } = setup();
    const [a, b, c] = await subscribeAll(open);
    const pub = await open();
    pub.send('SEND', { destination: '/topic/o.x' }, 'm');
    expect(received(a!)).toEqual(['a-all:m', 'a-star:m']);
    expect(received(b!)).toEqual(['b-exact:m', 'b-rest:m']);
    expect(received(c!)).toEqual(['c-exact:m']);
  });

  it('delivers a bus message from another protocol once to each matching subscription', async () => {
    const bus = createMemoryBus();
    const { open } = setup({}, { bus });
    const [a, b, c] = await subscribeAll(open);
    // Five distinct filters are held, one bus subscription each.
    expect(bus.size).toBe(5);
    bus.publish(busMessage('o/x', 'from mqtt'));
    expect(received(a!)).toEqual(['a-all:from mqtt', 'a-star:from mqtt']);
    expect(received(b!)).toEqual(['b-exact:from mqtt', 'b-rest:from mqtt']);
    expect(received(c!)).toEqual(['c-exact:from mqtt']);
  });

  it('shares one encoding per version among the subscribers of a bus message', async () => {
    const { harness, open } = setup();
    const a = await open();
    const b = await open();
    a.send('SUBSCRIBE', { id: 's', destination: '/topic/share' });
    b.send('SUBSCRIBE', { id: 's', destination: '/topic/share' });
    void harness.bus.publish(busMessage('share', 'body'));
    const [fa] = a.peer.take();
    const [fb] = b.peer.take();
    // Same subscription id on both sessions; only message-id differs.
    const tail = (data: string | Uint8Array | undefined) => String(data).slice(String(data).indexOf('destination:'));
    expect(tail(fa?.data)).toBe(tail(fb?.data));
  });
});

describe('client-ack topic subscriptions fed from the bus', () => {
  it('hold bus messages past prefetch-count in their backlog and deliver them as acked', async () => {
    const { harness, open, adapter } = setup();
    const c = await open();
    const auto = await open();
    c.send('SUBSCRIBE', { id: 'slow', destination: '/topic/feed', ack: 'client-individual', 'prefetch-count': '1' });
    auto.send('SUBSCRIBE', { id: 'fast', destination: '/topic/feed' });
    for (const n of ['1', '2', '3']) void harness.bus.publish(busMessage('feed', n));
    expect(auto.frames().map(text)).toEqual(['1', '2', '3']);
    const [first, ...rest] = c.frames();
    expect(rest).toEqual([]);
    expect(first).toMatchObject({ headers: { subscription: 'slow', destination: '/topic/feed' } });
    expect(adapter.stats().destinations).toContainEqual({ destination: '/topic/feed', kind: 'topic', subscribers: 2, queued: 2 });
    c.send('ACK', { id: first!.headers.ack! });
    expect(c.frames().map(text)).toEqual(['2']);
  });
});

describe('the one exit path', () => {
  const capture = (): { log: Logger; errors: unknown[] } => {
    const errors: unknown[] = [];
    const log: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: (fields: unknown) => errors.push(fields), child: () => log };
    return { log, errors };
  };

  it('answers a bug with ERROR "Internal error" and close 1011, logged, and other sessions go on', async () => {
    const bus = createMemoryBus();
    const { log, errors } = capture();
    const { open } = setup({}, { bus, log });
    const other = await open();
    other.send('SUBSCRIBE', { id: 's', destination: '/topic/ok' });
    const c = await open();
    vi.spyOn(bus, 'hasSubscribers').mockImplementation(() => {
      throw new Error('driver bug');
    });
    c.send('SEND', { destination: '/topic/ok', receipt: 'r' }, 'x');
    // Delivered to STOMP before the bus was asked, then the bug ended the publishing session.
    expect(received(other)).toEqual(['s:x']);
    expect(c.frames()).toMatchObject([{ command: 'ERROR', headers: { message: 'Internal error', 'content-type': 'text/plain' } }]);
    expect(c.peer.closed).toMatchObject({ code: 1011, reason: 'Internal error', by: 'server' });
    expect(errors).toHaveLength(1);
    expect(other.peer.closed).toBeUndefined();
  });

  it('ends an asynchronous authenticate continuation that fails the same way', async () => {
    const bus = createMemoryBus();
    const { log, errors } = capture();
    let allow!: (ok: boolean) => void;
    const { open } = setup({ authenticate: () => new Promise<boolean>((resolve) => (allow = resolve)) }, { bus, log });
    const c = await open('v12.stomp', false);
    c.send('CONNECT', { 'accept-version': '1.2', host: '/' });
    c.send('SUBSCRIBE', { id: 's', destination: '/topic/t' });
    vi.spyOn(bus, 'subscribe').mockImplementation(() => {
      throw new Error('driver bug');
    });
    allow(true);
    await vi.waitFor(() => expect(c.peer.closed?.code).toBe(1011));
    expect(c.frames().map((f) => f.command + ':' + (f.headers.message ?? ''))).toEqual(['CONNECTED:', 'ERROR:Internal error']);
    expect(errors).toHaveLength(1);
  });
});
