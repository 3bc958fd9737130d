/**
 * The broker through real sessions on the core test harness: subscriptions, fan-out and the
 * Advanced Profile publish/subscribe features, meta events, event history and the bus.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { createMemoryBus, type BusMessage, type MemoryBus, type Metrics } from '@protoplex/core';
import { createTestHarness } from '@protoplex/core/testing';
import { SERIALIZERS, type Dict } from './codec.js';
import { MessageType, Metric, type SerializerId } from './constants.js';
import { eventFiltersProblem, type Broker } from './broker.js';
import * as payload from './payload.js';
import type { WampSession } from './session.js';
import type { WampOptions } from './types.js';
import { ALL_ROLES, createRig, type Rig, type WampPeer } from './_test-utils.js';

vi.mock('./payload.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('./payload.js')>();
  return { ...actual, toBusPayload: vi.fn(actual.toBusPayload), fromBusPayload: vi.fn(actual.fromBusPayload) };
});

const { SUBSCRIBE, SUBSCRIBED, UNSUBSCRIBE, UNSUBSCRIBED, PUBLISH, PUBLISHED, EVENT, ERROR, ABORT } = MessageType;

afterEach(() => {
  vi.restoreAllMocks();
  vi.mocked(payload.toBusPayload).mockClear();
  vi.mocked(payload.fromBusPayload).mockClear();
});

// ------------------------------------------------------------------------------------------ helpers

const requestIds = new WeakMap<WampPeer, number>();
/** The next request id of a client: they "MUST start at 1 and increase by 1". */
function nextRequest(client: WampPeer): number {
  const id = (requestIds.get(client) ?? 0) + 1;
  requestIds.set(client, id);
  return id;
}

/** SUBSCRIBE and the subscription id of its SUBSCRIBED (what else arrived meanwhile is dropped). */
function subscribe(client: WampPeer, topic: string, options: Dict = {}): number {
  const request = nextRequest(client);
  client.send([SUBSCRIBE, request, options, topic]);
  const reply = client.take().find((m) => m[1] === request);
  if (!reply || reply[0] !== SUBSCRIBED) throw new Error(`SUBSCRIBE ${topic} answered ${JSON.stringify(reply)}`);
  return reply[2] as number;
}

function publish(client: WampPeer, topic: string, args?: unknown[], kwargs?: Dict, options: Dict = {}): number {
  const request = nextRequest(client);
  const message: unknown[] = [PUBLISH, request, options, topic];
  if (args !== undefined || kwargs !== undefined) message.push(args ?? []);
  if (kwargs !== undefined) message.push(kwargs);
  client.send(message);
  return request;
}

function events(client: WampPeer): unknown[][] {
  return client.take().filter((m) => m[0] === EVENT);
}

function brokerOf(client: WampPeer): Broker {
  return (client.peer.session as unknown as WampSession).realm.broker;
}

/** A rig on a memory bus the test can look at. */
function busRig(options: WampOptions = {}): { rig: Rig; bus: MemoryBus } {
  const bus = createMemoryBus();
  return { rig: createRig(options, createTestHarness({ bus })), bus };
}

const enc = (text: string): Uint8Array => new TextEncoder().encode(text);
const dec = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

function fromMqtt(topic: string, body: Uint8Array, contentType?: string, headers?: Record<string, string>): BusMessage {
  return { topic, payload: body, origin: { protocol: 'mqtt' }, qos: 0, ...(contentType ? { contentType } : {}), ...(headers ? { headers } : {}) };
}

// ---------------------------------------------------------------------------------- subscribe/publish

describe('subscribe and publish', () => {
  it('answers SUBSCRIBED and delivers EVENTs in the EVENT layout, omitting empty payload parts', async () => {
    const rig = createRig();
    const sub = await rig.join();
    const pub = await rig.join();
    const id = subscribe(sub, 'com.app.topic');
    expect(Number.isInteger(id) && id >= 1).toBe(true);
    publish(pub, 'com.app.topic', [1, 'two'], { three: 3 });
    publish(pub, 'com.app.topic', ['only']);
    publish(pub, 'com.app.topic', undefined, { k: true });
    publish(pub, 'com.app.topic');
    publish(pub, 'com.app.topic', [], {});
    publish(pub, 'com.app.other', ['nobody']);
    const got = events(sub);
    expect(got.map((m) => m.slice(0, 2))).toEqual(Array(5).fill([EVENT, id]));
    expect(got.map((m) => m.slice(3))).toEqual([[{}, [1, 'two'], { three: 3 }], [{}, ['only']], [{}, [], { k: true }], [{}], [{}]]);
    // Every publication has its own global-scope id.
    const publications = got.map((m) => m[2] as number);
    expect(new Set(publications).size).toBe(5);
    for (const p of publications) expect(Number.isInteger(p) && p >= 1 && p <= 2 ** 53).toBe(true);
    // Without acknowledge the publisher hears nothing back.
    expect(pub.take()).toEqual([]);
  });

  it('sends SUBSCRIBED before any EVENT of the subscription, also while an authorize hook holds the session', async () => {
    let release: (allowed: boolean) => void = () => {};
    const rig = createRig({ authorize: ({ action }) => (action === 'subscribe' ? new Promise<boolean>((resolve) => (release = resolve)) : true) });
    const client = await rig.join();
    const other = await rig.join();
    client.send([SUBSCRIBE, 1, {}, 'ord.a']);
    client.send([PUBLISH, 2, { exclude_me: false, acknowledge: true }, 'ord.a', ['mine']]);
    // Another session's publish while the subscription is not made yet reaches nobody.
    other.send([PUBLISH, 1, {}, 'ord.a', ['early']]);
    expect(client.take()).toEqual([]);
    release(true);
    await new Promise((resolve) => setImmediate(resolve));
    const got = client.take();
    expect(got.map((m) => m[0])).toEqual([SUBSCRIBED, EVENT, PUBLISHED]);
    expect(got[1]![4]).toEqual(['mine']);
    expect(got[1]![2]).toBe(got[2]![2]);
  });

  it('delivers to json, msgpack and cbor subscribers alike, encoding each EVENT once per serializer', async () => {
    const rig = createRig();
    const serializers: SerializerId[] = ['json', 'json', 'json', 'msgpack', 'msgpack', 'cbor'];
    const subs: WampPeer[] = [];
    for (const serializer of serializers) subs.push(await rig.join({ serializer }));
    const ids = subs.map((s) => subscribe(s, 'fan.out'));
    expect(new Set(ids).size).toBe(1);
    const pub = await rig.join({ serializer: 'cbor' });
    const spies = Object.fromEntries((['json', 'msgpack', 'cbor'] as const).map((id) => [id, vi.spyOn(SERIALIZERS[id], 'encode')]));
    const bytes = new Uint8Array([1, 2, 3]);
    publish(pub, 'fan.out', ['x', 2 ** 40, bytes], { nested: { ok: true } });
    for (const id of ['json', 'msgpack', 'cbor'] as const) {
      expect(spies[id]!.mock.calls.filter(([list]) => list[0] === EVENT).length, id).toBe(1);
    }
    const received = subs.map((s) => events(s));
    for (const [i, got] of received.entries()) {
      expect(got.length).toBe(1);
      const [type, subscription, , details, args, kwargs] = got[0]!;
      expect([type, subscription, details, kwargs]).toEqual([EVENT, ids[0], {}, { nested: { ok: true } }]);
      expect((args as unknown[]).slice(0, 2)).toEqual(['x', 2 ** 40]);
      // Bytes stay bytes in every serializer (JSON through the NUL-base64 convention).
      expect([...((args as unknown[])[2] as Uint8Array)], serializers[i]).toEqual([1, 2, 3]);
    }
    const binary = subs.map((s) => s.peer.received.at(-1)!.isBinary);
    expect(binary).toEqual([false, false, false, true, true, true]);
  });

  it('counts publications in the metrics', async () => {
    const counts = new Map<string, number>();
    const metrics: Metrics = { increment: (name, _labels, value = 1) => void counts.set(name, (counts.get(name) ?? 0) + value), set() {}, observe() {} };
    const rig = createRig({}, createTestHarness({ metrics }));
    const sub = await rig.join();
    const pub = await rig.join();
    subscribe(sub, 'm.t');
    publish(pub, 'm.t', [1]);
    publish(pub, 'm.none', [1]);
    expect(counts.get(Metric.Publications)).toBe(2);
    expect(counts.get(Metric.Events)).toBe(1);
  });
});

describe('subscription ids', () => {
  it('shares one id per (match, uri) across sessions, and answers a repeated SUBSCRIBE with the id it holds', async () => {
    const rig = createRig();
    const a = await rig.join();
    const b = await rig.join();
    const exact = subscribe(a, 'share.x');
    expect(subscribe(b, 'share.x')).toBe(exact);
    expect(subscribe(a, 'share.x', { match: 'exact' })).toBe(exact);
    const prefix = subscribe(a, 'share.x', { match: 'prefix' });
    const wildcard = subscribe(a, 'share.x', { match: 'wildcard' });
    expect(new Set([exact, prefix, wildcard]).size).toBe(3);
    expect(subscribe(b, 'share.x', { match: 'prefix' })).toBe(prefix);
    // A's repeated exact SUBSCRIBE did not add it twice: one EVENT per subscription it holds.
    const pub = await rig.join();
    publish(pub, 'share.x', ['e']);
    expect(events(a).map((m) => m[1]).sort()).toEqual([exact, prefix, wildcard].sort());
    expect(events(b).map((m) => m[1]).sort()).toEqual([exact, prefix].sort());
    expect(brokerOf(a).subscribers(exact)!.sort()).toEqual([a.session, b.session].sort());
  });

  it('gives a new id once the old subscription is gone', async () => {
    const rig = createRig();
    const a = await rig.join();
    const first = subscribe(a, 'again.t');
    a.send([UNSUBSCRIBE, nextRequest(a), first]);
    a.take();
    expect(subscribe(a, 'again.t')).not.toBe(first);
  });
});

describe('unsubscribe', () => {
  it('answers UNSUBSCRIBED, stops the events, and keeps a shared subscription for the others', async () => {
    const rig = createRig();
    const a = await rig.join();
    const b = await rig.join();
    const pub = await rig.join();
    const id = subscribe(a, 'u.t');
    subscribe(b, 'u.t');
    const request = nextRequest(a);
    a.send([UNSUBSCRIBE, request, id]);
    expect(a.take()).toEqual([[UNSUBSCRIBED, request]]);
    publish(pub, 'u.t', [1]);
    expect(events(a)).toEqual([]);
    expect(events(b).length).toBe(1);
    expect(brokerOf(a).get(id)?.uri).toBe('u.t');
  });

  it('answers ERROR wamp.error.no_such_subscription for an id the session does not hold', async () => {
    const rig = createRig();
    const a = await rig.join();
    const b = await rig.join();
    const id = subscribe(b, 'u.other');
    for (const wrong of [id, 424242]) {
      const request = nextRequest(a);
      a.send([UNSUBSCRIBE, request, wrong]);
      const [error] = a.take();
      expect(error!.slice(0, 5)).toEqual([ERROR, UNSUBSCRIBE, request, {}, 'wamp.error.no_such_subscription']);
      expect(typeof (error![5] as unknown[])[0]).toBe('string');
    }
    // b's subscription is untouched, and unsubscribing twice fails the second time.
    const first = nextRequest(b);
    b.send([UNSUBSCRIBE, first, id]);
    const second = nextRequest(b);
    b.send([UNSUBSCRIBE, second, id]);
    expect(b.take().map((m) => m[0])).toEqual([UNSUBSCRIBED, ERROR]);
    expect(a.peer.closed).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------- options

describe('publisher exclusion', () => {
  it('does not send the publisher its own event by default, and does with exclude_me: false', async () => {
    const rig = createRig();
    const self = await rig.join();
    const other = await rig.join();
    subscribe(self, 'ex.t');
    subscribe(other, 'ex.t');
    publish(self, 'ex.t', ['default']);
    publish(self, 'ex.t', ['included'], undefined, { exclude_me: false });
    // Integers do not stand in for booleans: only `false` turns exclusion off.
    publish(self, 'ex.t', ['zero'], undefined, { exclude_me: 0 });
    expect(events(self).map((m) => m[4])).toEqual([['included']]);
    expect(events(other).map((m) => m[4])).toEqual([['default'], ['included'], ['zero']]);
  });
});

describe('subscriber black- and whitelisting', () => {
  /** Sessions with authids and roles: `admin-*` are admins, the others users. */
  const rigWithRoles = () => createRig({ authenticate: (request) => ({ ...(request.authid !== undefined ? { authid: request.authid } : {}), authrole: request.authid?.startsWith('admin') ? 'admin' : 'user' }) });

  const setup = async (serializer: SerializerId = 'json') => {
    const rig = rigWithRoles();
    const pub = await rig.join({ details: { authid: 'pub' }, serializer });
    const alice = await rig.join({ details: { authid: 'alice' } });
    const bob = await rig.join({ details: { authid: 'bob' }, serializer: 'msgpack' });
    const admin = await rig.join({ details: { authid: 'admin-1' }, serializer: 'cbor' });
    for (const s of [alice, bob, admin]) subscribe(s, 'bw.t');
    const who = (options: Dict): string[] => {
      publish(pub, 'bw.t', ['x'], undefined, options);
      return [
        ['alice', alice],
        ['bob', bob],
        ['admin', admin],
      ]
        .filter(([, s]) => events(s as WampPeer).length > 0)
        .map(([name]) => name as string);
    };
    return { pub, alice, bob, admin, who };
  };

  it('applies exclude and eligible by session id, authid and authrole, all of them together', async () => {
    const { alice, bob, admin, who } = await setup();
    expect(who({})).toEqual(['alice', 'bob', 'admin']);
    expect(who({ exclude: [alice.session] })).toEqual(['bob', 'admin']);
    expect(who({ eligible: [alice.session, admin.session] })).toEqual(['alice', 'admin']);
    expect(who({ exclude_authid: ['bob'] })).toEqual(['alice', 'admin']);
    expect(who({ eligible_authid: ['bob', 'nobody'] })).toEqual(['bob']);
    expect(who({ exclude_authrole: ['admin'] })).toEqual(['alice', 'bob']);
    expect(who({ eligible_authrole: ['admin'] })).toEqual(['admin']);
    expect(who({ eligible_authrole: ['user'], exclude: [bob.session] })).toEqual(['alice']);
    expect(who({ eligible: [alice.session, bob.session], exclude_authid: ['alice'] })).toEqual(['bob']);
    expect(who({ eligible: [] })).toEqual([]);
  });

  it('takes a scalar as a one-element list, as wampy sends it', async () => {
    const { bob, who } = await setup();
    expect(who({ exclude: bob.session })).toEqual(['alice', 'admin']);
    expect(who({ eligible_authid: 'alice' })).toEqual(['alice']);
    expect(who({ exclude_authrole: 'user' })).toEqual(['admin']);
  });

  it('compares ids numerically when they arrive as msgpack or cbor doubles', async () => {
    for (const serializer of ['msgpack', 'cbor'] as const) {
      const { alice, admin, who } = await setup(serializer);
      // Session ids are drawn from [1, 2^53]; msgpackr and cbor-x write those above 2^32 as float64.
      expect(who({ eligible: [alice.session, admin.session] })).toEqual(['alice', 'admin']);
      expect(who({ exclude: [admin.session] })).toEqual(['alice', 'bob']);
    }
  });
});

describe('publisher identification', () => {
  it('discloses the publisher to every subscriber on disclose_me, and not otherwise', async () => {
    const rig = createRig({ authenticate: (request) => ({ ...(request.authid !== undefined ? { authid: request.authid } : {}), authrole: 'anonymous' }) });
    const pub = await rig.join({ details: { authid: 'the-publisher' } });
    const plain = await rig.join({ roles: { subscriber: {} } });
    const pattern = await rig.join({ serializer: 'msgpack' });
    subscribe(plain, 'id.t');
    subscribe(pattern, 'id', { match: 'prefix' });
    publish(pub, 'id.t', [1], undefined, { disclose_me: true });
    publish(pub, 'id.t', [2]);
    const expected = { publisher: pub.session, publisher_authid: 'the-publisher', publisher_authrole: 'anonymous' };
    expect(events(plain).map((m) => m[3])).toEqual([expected, {}]);
    expect(events(pattern).map((m) => m[3])).toEqual([{ ...expected, topic: 'id.t' }, { topic: 'id.t' }]);
  });
});

describe('pattern-based subscriptions', () => {
  it('matches prefixes on the string and wildcards per component, with EVENT.Details.topic', async () => {
    const rig = createRig();
    const sub = await rig.join();
    const pub = await rig.join();
    const prefix = subscribe(sub, 'com.myapp.topic.emergency', { match: 'prefix' });
    const wildcard = subscribe(sub, 'com.myapp..userevent', { match: 'wildcard' });
    const exact = subscribe(sub, 'com.myapp.topic.emergency.11');
    const topics = [
      'com.myapp.topic.emergency.11',
      'com.myapp.topic.emergency-low',
      'com.myapp.topic.emergency',
      'com.myapp.topic.emerge',
      'com.myapp.foo.userevent',
      'com.myapp.foo.userevent.bar',
      'com.myapp.userevent',
    ];
    for (const topic of topics) publish(pub, topic, [topic]);
    const got = events(sub).map((m) => [m[1], (m[4] as string[])[0], m[3]]);
    expect(got).toEqual([
      [exact, 'com.myapp.topic.emergency.11', {}],
      [prefix, 'com.myapp.topic.emergency.11', { topic: 'com.myapp.topic.emergency.11' }],
      [prefix, 'com.myapp.topic.emergency-low', { topic: 'com.myapp.topic.emergency-low' }],
      [prefix, 'com.myapp.topic.emergency', { topic: 'com.myapp.topic.emergency' }],
      [wildcard, 'com.myapp.foo.userevent', { topic: 'com.myapp.foo.userevent' }],
    ]);
    // One publication reached the session twice, through two subscriptions, with one id.
    expect(got[0]![1]).toBe(got[1]![1]);
  });

  it('matches wildcards with empty first and last components, and an empty prefix matches every topic', async () => {
    const rig = createRig();
    const sub = await rig.join();
    const pub = await rig.join();
    const head = subscribe(sub, '.b.c', { match: 'wildcard' });
    const tail = subscribe(sub, 'a.b.', { match: 'wildcard' });
    const all = subscribe(sub, '', { match: 'prefix' });
    publish(pub, 'a.b.c');
    publish(pub, 'x.b');
    expect(events(sub).map((m) => [m[1], (m[3] as Dict).topic])).toEqual([
      [all, 'a.b.c'],
      [head, 'a.b.c'],
      [tail, 'a.b.c'],
      [all, 'x.b'],
    ]);
  });
});

describe('acknowledge', () => {
  it('answers PUBLISHED with the publication id only when acknowledge is true', async () => {
    const rig = createRig();
    const sub = await rig.join();
    const pub = await rig.join();
    subscribe(sub, 'ack.t');
    const request = publish(pub, 'ack.t', [1], undefined, { acknowledge: true });
    const [published] = pub.take();
    expect(published!.slice(0, 2)).toEqual([PUBLISHED, request]);
    expect(events(sub)[0]![2]).toBe(published![2]);
    publish(pub, 'ack.none', [1], undefined, { acknowledge: true });
    expect(pub.take().map((m) => m[0])).toEqual([PUBLISHED]);
    publish(pub, 'ack.t', [1], undefined, { acknowledge: false });
    publish(pub, 'ack.t', [1], undefined, { acknowledge: 1 });
    expect(pub.take()).toEqual([]);
  });
});

describe('payload passthru mode', () => {
  const pptRoles = { ...ALL_ROLES, publisher: { features: { publisher_exclusion: true, payload_passthru_mode: true } } };

  it('refuses ppt_scheme with wamp.error.option_not_allowed when the router does not enable it (silently without acknowledge)', async () => {
    const rig = createRig();
    const sub = await rig.join();
    const pub = await rig.join({ roles: pptRoles });
    subscribe(sub, 'ppt.t');
    const request = publish(pub, 'ppt.t', [new Uint8Array([1])], undefined, { ppt_scheme: 'mqtt', acknowledge: true });
    const [error] = pub.take();
    expect(error!.slice(0, 5)).toEqual([ERROR, PUBLISH, request, {}, 'wamp.error.option_not_allowed']);
    publish(pub, 'ppt.t', [new Uint8Array([1])], undefined, { ppt_scheme: 'mqtt' });
    expect(pub.take()).toEqual([]);
    expect(events(sub)).toEqual([]);
  });

  it('forwards the ppt_* options into EVENT.Details when enabled', async () => {
    const rig = createRig({ payloadPassthrough: true });
    const sub = await rig.join({ serializer: 'msgpack' });
    const pub = await rig.join({ roles: pptRoles, serializer: 'cbor' });
    subscribe(sub, 'ppt.t');
    const options = { ppt_scheme: 'wamp.eth', ppt_serializer: 'cbor', ppt_cipher: 'xsalsa20poly1305', ppt_keyid: 'k1' };
    publish(pub, 'ppt.t', [new Uint8Array([9, 8])], undefined, { ...options, other: 1 });
    const [event] = events(sub);
    expect(event![3]).toEqual(options);
    expect([...((event![4] as unknown[])[0] as Uint8Array)]).toEqual([9, 8]);
    // "one binary item within Arguments|list, while ArgumentsKw|dict MUST be absent or empty".
    const request = publish(pub, 'ppt.t', [1, 2], undefined, { ...options, acknowledge: true });
    expect(pub.take()[0]!.slice(0, 5)).toEqual([ERROR, PUBLISH, request, {}, 'wamp.error.invalid_argument']);
  });

  it('aborts a publisher that uses ppt_scheme without announcing payload_passthru_mode', async () => {
    const rig = createRig({ payloadPassthrough: true });
    const pub = await rig.join();
    publish(pub, 'ppt.t', [new Uint8Array([1])], undefined, { ppt_scheme: 'mqtt' });
    const [abort] = pub.take();
    expect([abort![0], abort![2]]).toEqual([ABORT, 'wamp.error.protocol_violation']);
    expect(pub.peer.closed?.code).toBe(1002);
  });
});

// ---------------------------------------------------------------------------------- meta and leave

describe('subscription meta events', () => {
  it('publishes on_create then on_subscribe, on_subscribe alone for the next subscriber, on_unsubscribe then on_delete', async () => {
    const rig = createRig();
    const watcher = await rig.join();
    subscribe(watcher, 'wamp.subscription.', { match: 'prefix' });
    const a = await rig.join();
    const b = await rig.join();
    const id = subscribe(a, 'meta.t');
    subscribe(b, 'meta.t');
    const created = brokerOf(a).get(id)!;
    const meta = () => events(watcher).map((m) => [(m[3] as Dict).topic, ...(m[4] as unknown[])]);
    expect(meta()).toEqual([
      ['wamp.subscription.on_create', a.session, { id, created: created.created, uri: 'meta.t', match: 'exact' }],
      ['wamp.subscription.on_subscribe', a.session, id],
      ['wamp.subscription.on_subscribe', b.session, id],
    ]);
    a.send([UNSUBSCRIBE, nextRequest(a), id]);
    b.send([UNSUBSCRIBE, nextRequest(b), id]);
    expect(meta()).toEqual([
      ['wamp.subscription.on_unsubscribe', a.session, id],
      ['wamp.subscription.on_unsubscribe', b.session, id],
      ['wamp.subscription.on_delete', b.session, id],
    ]);
  });

  it('publishes no subscription meta events for subscriptions to wamp.* topics', async () => {
    const rig = createRig();
    const watcher = await rig.join();
    subscribe(watcher, 'wamp.subscription.', { match: 'prefix' });
    const a = await rig.join();
    const id = subscribe(a, 'wamp.session.on_join');
    subscribe(a, 'wamp', { match: 'prefix' });
    a.send([UNSUBSCRIBE, nextRequest(a), id]);
    a.peer.close();
    expect(events(watcher)).toEqual([]);
  });

  it('records `created` from the router clock', async () => {
    const rig = createRig();
    const a = await rig.join();
    rig.harness.clock.advance(1234);
    const id = subscribe(a, 'created.t', { match: 'wildcard' });
    expect(brokerOf(a).get(id)).toEqual({ id, uri: 'created.t', match: 'wildcard', created: new Date(rig.harness.clock.now()).toISOString() });
  });
});

describe('a session that leaves', () => {
  it('loses every subscription with its meta events, and the bus filters go with the last subscriber', async () => {
    const { rig, bus } = busRig();
    const watcher = await rig.join();
    subscribe(watcher, 'wamp.subscription.', { match: 'prefix' });
    expect(bus.size).toBe(0);
    const a = await rig.join();
    const b = await rig.join({ serializer: 'cbor' });
    const exact = subscribe(a, 'leave.x');
    const prefix = subscribe(a, 'leave', { match: 'prefix' });
    const wildcard = subscribe(a, 'leave..z', { match: 'wildcard' });
    subscribe(b, 'leave.x');
    expect(bus.size).toBe(3);
    events(watcher);
    a.peer.close();
    const meta = events(watcher).map((m) => [(m[3] as Dict).topic, ...(m[4] as unknown[])]);
    expect(meta).toEqual([
      ['wamp.subscription.on_unsubscribe', a.session, exact],
      ['wamp.subscription.on_unsubscribe', a.session, prefix],
      ['wamp.subscription.on_delete', a.session, prefix],
      ['wamp.subscription.on_unsubscribe', a.session, wildcard],
      ['wamp.subscription.on_delete', a.session, wildcard],
    ]);
    expect(bus.size).toBe(1);
    const broker = brokerOf(b);
    expect(broker.stats().map((s) => [s.uri, s.subscribers])).toEqual([
      ['wamp.subscription.', 1],
      ['leave.x', 1],
    ]);
    b.peer.drop();
    watcher.peer.close();
    expect(bus.size).toBe(0);
    expect(broker.stats()).toEqual([]);
    expect(broker.list()).toEqual({ exact: [], prefix: [], wildcard: [] });
  });

  it('releases its subscriptions when it is aborted for a protocol violation', async () => {
    const { rig, bus } = busRig();
    const a = await rig.join();
    subscribe(a, 'abort.t');
    expect(bus.size).toBe(1);
    a.send([SUBSCRIBE, 1, {}, 'abort.again']);
    expect(a.peer.closed?.code).toBe(1002);
    expect(bus.size).toBe(0);
  });
});

// ---------------------------------------------------------------------------------- queries

describe('meta queries', () => {
  it('lists, looks up, matches and describes subscriptions', async () => {
    const rig = createRig();
    const a = await rig.join();
    const b = await rig.join();
    const exact = subscribe(a, 'q.a.b');
    const prefix = subscribe(a, 'q.a', { match: 'prefix' });
    const wildcard = subscribe(b, 'q..b', { match: 'wildcard' });
    subscribe(b, 'q.a.b');
    const broker = brokerOf(a);
    expect(broker.list()).toEqual({ exact: [exact], prefix: [prefix], wildcard: [wildcard] });
    expect(broker.lookup('q.a.b', 'exact')).toBe(exact);
    expect(broker.lookup('q.a', 'prefix')).toBe(prefix);
    expect(broker.lookup('q.a', 'exact')).toBeNull();
    expect(broker.lookup('q..b', 'wildcard')).toBe(wildcard);
    expect(broker.match('q.a.b')!.sort()).toEqual([exact, prefix, wildcard].sort());
    expect(broker.match('q.ab')).toEqual([prefix]);
    expect(broker.match('q.x.b')).toEqual([wildcard]);
    expect(broker.match('nothing.here')).toBeNull();
    expect(broker.get(prefix)).toMatchObject({ id: prefix, uri: 'q.a', match: 'prefix' });
    expect(broker.get(999_999)).toBeUndefined();
    expect(broker.subscribers(exact)!.sort()).toEqual([a.session, b.session].sort());
    expect(broker.subscribers(wildcard)).toEqual([b.session]);
    expect(broker.subscribers(999_999)).toBeUndefined();
    expect(broker.stats().map((s) => [s.id, s.subscribers])).toEqual([
      [exact, 2],
      [prefix, 1],
      [wildcard, 1],
    ]);
  });
});

// ---------------------------------------------------------------------------------- event history

describe('event history', () => {
  it('keeps nothing and answers [] when event history is off, undefined for an unknown subscription', async () => {
    const rig = createRig();
    const a = await rig.join();
    const pub = await rig.join();
    const id = subscribe(a, 'h.off');
    publish(pub, 'h.off', [1]);
    expect(brokerOf(a).events(id, {})).toEqual([]);
    expect(brokerOf(a).events(id + 1000, {})).toBeUndefined();
  });

  it('keeps the last N events per subscription and answers the get_events filters', async () => {
    const rig = createRig({ eventHistory: 4 });
    const sub = await rig.join();
    const pub = await rig.join();
    const id = subscribe(sub, 'h.a');
    const start = rig.harness.clock.now();
    const publications: number[] = [];
    for (let i = 0; i < 6; i++) {
      rig.harness.clock.advance(1000);
      publish(pub, 'h.a', [i], i === 5 ? { last: true } : undefined, { acknowledge: true });
      publications.push(pub.take()[0]![2] as number);
    }
    const broker = brokerOf(sub);
    const all = broker.events(id, {})!;
    // Only the last four are kept, oldest first, in the spec's shape.
    expect(all.map((e) => e.args)).toEqual([[2], [3], [4], [5]]);
    expect(all[0]).toEqual({ timestamp: new Date(start + 3000).toISOString(), subscription: id, publication: publications[2], details: {}, args: [2] });
    expect(all[3]).toMatchObject({ args: [5], kwargs: { last: true } });
    const args = (filters: Dict) => broker.events(id, filters)!.map((e) => (e.args as number[])[0]);
    expect(args({ limit: 2 })).toEqual([2, 3]);
    expect(args({ reverse: true, limit: 2 })).toEqual([5, 4]);
    expect(args({ from_publication: publications[3] })).toEqual([3, 4, 5]);
    expect(args({ after_publication: publications[3] })).toEqual([4, 5]);
    expect(args({ before_publication: publications[4] })).toEqual([2, 3]);
    expect(args({ until_publication: publications[4] })).toEqual([2, 3, 4]);
    expect(args({ after_publication: publications[2], before_publication: publications[5] })).toEqual([3, 4]);
    // Pagination backwards: the page before the last one returned.
    expect(args({ reverse: true, limit: 2, before_publication: publications[4] })).toEqual([3, 2]);
    // A publication that is not (or no longer) in the history bounds nothing in.
    expect(args({ after_publication: publications[0] })).toEqual([]);
    const at = (n: number) => new Date(start + n * 1000).toISOString();
    expect(args({ from_time: at(4) })).toEqual([3, 4, 5]);
    expect(args({ after_time: at(4) })).toEqual([4, 5]);
    expect(args({ before_time: at(4) })).toEqual([2]);
    expect(args({ until_time: at(4) })).toEqual([2, 3]);
    expect(args({ from_time: at(4), until_time: at(5), reverse: true })).toEqual([4, 3]);
    // RFC 3339 with an offset means the same instant.
    expect(args({ from_time: new Date(start + 4000).toISOString().replace('Z', '+00:00') })).toEqual([3, 4, 5]);
  });

  it('keeps events per subscription, pattern ones with their topic, and filters by topic', async () => {
    const rig = createRig({ eventHistory: 10 });
    const sub = await rig.join();
    const pub = await rig.join();
    const exact = subscribe(sub, 'log.auth');
    const prefix = subscribe(sub, 'log', { match: 'prefix' });
    publish(pub, 'log.auth', [1]);
    publish(pub, 'log.basket', [2]);
    publish(pub, 'log.basket', [3]);
    const broker = brokerOf(sub);
    expect(broker.events(exact, {})!.map((e) => e.args)).toEqual([[1]]);
    expect(broker.events(prefix, {})!.map((e) => [e.args, e.details])).toEqual([
      [[1], { topic: 'log.auth' }],
      [[2], { topic: 'log.basket' }],
      [[3], { topic: 'log.basket' }],
    ]);
    expect(broker.events(prefix, { topic: 'log.basket' })!.map((e) => e.args)).toEqual([[2], [3]]);
  });

  it('does not keep events published with session lists, and applies authid/authrole lists to the requester', async () => {
    const rig = createRig({ eventHistory: 10 });
    const sub = await rig.join();
    const pub = await rig.join();
    const id = subscribe(sub, 'h.bw');
    publish(pub, 'h.bw', ['excluded-list'], undefined, { exclude: [123] });
    publish(pub, 'h.bw', ['eligible-list'], undefined, { eligible: [sub.session] });
    publish(pub, 'h.bw', ['admins'], undefined, { eligible_authrole: ['admin'] });
    publish(pub, 'h.bw', ['not-bob'], undefined, { exclude_authid: 'bob' });
    publish(pub, 'h.bw', ['all']);
    // The subscriber got the live events it was eligible for.
    expect(events(sub).map((m) => (m[4] as string[])[0])).toEqual(['excluded-list', 'eligible-list', 'not-bob', 'all']);
    const broker = brokerOf(sub);
    const seen = (requester?: { authid: string; authrole: string }) => broker.events(id, {}, requester)!.map((e) => (e.args as string[])[0]);
    expect(seen({ authid: 'alice', authrole: 'admin' })).toEqual(['admins', 'not-bob', 'all']);
    expect(seen({ authid: 'bob', authrole: 'user' })).toEqual(['all']);
    expect(seen()).toEqual(['all']);
  });

  it('keeps events that came from the bus', async () => {
    const { rig, bus } = busRig({ eventHistory: 5 });
    const sub = await rig.join();
    const id = subscribe(sub, 'sensors.t1');
    bus.publish(fromMqtt('sensors/t1', enc('21.5'), 'application/json'));
    expect(brokerOf(sub).events(id, {})!.map((e) => e.args)).toEqual([[21.5]]);
  });

  it('reports get_events kwargs of the wrong type', () => {
    expect(eventFiltersProblem({})).toBeUndefined();
    expect(eventFiltersProblem({ limit: 3, reverse: true, from_time: '2024-05-01T12:00:00.5+02:00', topic: 'a.b', after_publication: 7 })).toBeUndefined();
    expect(eventFiltersProblem({ limit: 0 })).toMatch(/limit/);
    expect(eventFiltersProblem({ limit: 1.5 })).toMatch(/limit/);
    expect(eventFiltersProblem({ reverse: 1 })).toMatch(/reverse/);
    expect(eventFiltersProblem({ until_time: 'yesterday' })).toMatch(/until_time/);
    expect(eventFiltersProblem({ before_publication: -1 })).toMatch(/before_publication/);
    expect(eventFiltersProblem({ topic: 5 })).toMatch(/topic/);
  });
});

// ---------------------------------------------------------------------------------- the bus

describe('the bus', () => {
  it('holds one bus filter per WAMP subscription on the bus realm, none for wamp.* nor on other realms', async () => {
    const { rig, bus } = busRig({ realms: ['realm1', 'other'] });
    const a = await rig.join();
    const b = await rig.join({ serializer: 'msgpack' });
    subscribe(a, 'room.a');
    subscribe(b, 'room.a');
    subscribe(a, 'room', { match: 'prefix' });
    subscribe(a, 'room..state', { match: 'wildcard' });
    subscribe(a, 'wamp.session.on_join');
    expect(bus.size).toBe(3);
    // Each filter stands for its subscription: exact, prefix as a/#, wildcard with +.
    for (const [topic, expected] of [
      ['room/a', true],
      ['room/b/c', true],
      ['room/x/state', true],
      ['elsewhere', false],
      ['wamp/session/on_join', false],
    ] as const) {
      expect(bus.hasSubscribers(topic), topic).toBe(expected);
    }
    const other = await rig.join({ realm: 'other' });
    subscribe(other, 'room.z');
    expect(bus.size).toBe(3);
  });

  it('builds nothing for the bus when nobody outside WAMP wants the topic, and still delivers in WAMP', async () => {
    const { rig, bus } = busRig();
    const publishSpy = vi.spyOn(bus, 'publish');
    const sub = await rig.join();
    const pub = await rig.join();
    subscribe(sub, 'quiet.a');
    publish(pub, 'quiet.a', ['one'], { k: 1 });
    publish(pub, 'quiet.nobody', ['two']);
    expect(publishSpy).not.toHaveBeenCalled();
    expect(payload.toBusPayload).not.toHaveBeenCalled();
    expect(events(sub).length).toBe(1);
  });

  it('publishes WAMP publications to a subscriber of another protocol, converting the payload', async () => {
    const { rig, bus } = busRig();
    const outside: BusMessage[] = [];
    bus.subscribe('loud/#', (m) => outside.push(m));
    const sub = await rig.join();
    const pub = await rig.join();
    subscribe(sub, 'loud', { match: 'prefix' });
    publish(pub, 'loud.text', ['hé']);
    // A Buffer, as bytes inside the router always are (a JSON client sends them NUL-base64 encoded).
    publish(pub, 'loud.bytes', [Buffer.from([0, 1, 255])]);
    publish(pub, 'loud.json', [{ t: 21.5 }]);
    publish(pub, 'loud.both', [1, 2], { k: 'v' });
    publish(pub, 'loud.empty');
    publish(pub, 'loud.only', ['for you'], undefined, { eligible: [sub.session] });
    expect(outside.map((m) => [m.topic, m.contentType, m.headers, m.origin, m.qos])).toEqual([
      ['loud/text', 'text/plain; charset=utf-8', undefined, { protocol: 'wamp' }, 0],
      ['loud/bytes', 'application/octet-stream', undefined, { protocol: 'wamp' }, 0],
      ['loud/json', 'application/json', undefined, { protocol: 'wamp' }, 0],
      ['loud/both', 'application/json', { 'wamp-payload': 'args-kwargs' }, { protocol: 'wamp' }, 0],
      ['loud/empty', undefined, undefined, { protocol: 'wamp' }, 0],
    ]);
    expect(outside.map((m) => dec(m.payload))).toEqual(['hé', '\u0000\u0001\ufffd', '{"t":21.5}', '{"args":[1,2],"kwargs":{"k":"v"}}', '']);
    // WAMP subscribers got each publication once: the bridge never hands its own back.
    expect(events(sub).map((m) => (m[3] as Dict).topic)).toEqual(['loud.text', 'loud.bytes', 'loud.json', 'loud.both', 'loud.empty', 'loud.only']);
  });

  it('maps topics with levels WAMP cannot use in a component (percent-encoding, both ways)', async () => {
    const { rig, bus } = busRig();
    const outside: BusMessage[] = [];
    bus.subscribe('odd/#', (m) => outside.push(m));
    const sub = await rig.join();
    const pub = await rig.join();
    subscribe(sub, 'odd.a/b');
    publish(pub, 'odd.a/b', ['x']);
    expect(outside.map((m) => m.topic)).toEqual(['odd/a%2Fb']);
    events(sub);
    bus.publish(fromMqtt('odd/a%2Fb', enc('back')));
    expect(events(sub).map((m) => m[4])).toEqual([['back']]);
  });

  it('delivers messages of other protocols to every matching WAMP subscription, once each', async () => {
    const { rig, bus } = busRig();
    const a = await rig.join();
    const b = await rig.join({ serializer: 'cbor' });
    const exact = subscribe(a, 'sensors.t1');
    const prefix = subscribe(a, 'sensors', { match: 'prefix' });
    const wildcard = subscribe(b, 'sensors.', { match: 'wildcard' });
    bus.publish(fromMqtt('sensors/t1', enc('{"c":21.5}'), 'application/json'));
    const gotA = events(a);
    expect(gotA.map((m) => [m[1], m[3], m[4]])).toEqual([
      [exact, {}, [{ c: 21.5 }]],
      [prefix, { topic: 'sensors.t1' }, [{ c: 21.5 }]],
    ]);
    expect(gotA[0]![2]).toBe(gotA[1]![2]);
    expect(events(b).map((m) => [m[1], m[3], m[4]])).toEqual([[wildcard, { topic: 'sensors.t1' }, [{ c: 21.5 }]]]);
    bus.publish(fromMqtt('sensors/t2', enc('plain text')));
    bus.publish(fromMqtt('sensors/t2', new Uint8Array([0xff, 0x00])));
    bus.publish(fromMqtt('sensors/t2', new Uint8Array(0)));
    bus.publish(fromMqtt('sensors/t2', enc('{"args":["x"],"kwargs":{"y":1}}'), 'application/json', { 'wamp-payload': 'args-kwargs' }));
    const got = events(a).map((m) => m.slice(4));
    expect(got.length).toBe(4);
    expect(got[0]).toEqual([['plain text']]);
    // Bytes that are no UTF-8 stay bytes (to this JSON session through the NUL-base64 convention).
    expect([...((got[1]![0] as unknown[])[0] as Uint8Array)]).toEqual([0xff, 0x00]);
    expect(got.slice(2)).toEqual([[], [['x'], { y: 1 }]]);
  });

  it('ignores bus topics that are no WAMP URI or that are the router’s own', async () => {
    const { rig, bus } = busRig();
    const a = await rig.join();
    subscribe(a, '', { match: 'prefix' });
    expect(bus.hasSubscribers('anything')).toBe(true);
    bus.publish(fromMqtt('wamp/session/on_join', enc('forged')));
    bus.publish(fromMqtt('a//b', enc('empty level')));
    bus.publish(fromMqtt('a/b c', enc('space')));
    bus.publish(fromMqtt('fine/topic', enc('ok')));
    expect(events(a).map((m) => m[4])).toEqual([['ok']]);
  });

  it('converts nothing for a bus realm without matching subscriptions', async () => {
    const { rig, bus } = busRig();
    const a = await rig.join();
    const id = subscribe(a, 'only.this');
    a.send([UNSUBSCRIBE, nextRequest(a), id]);
    bus.publish(fromMqtt('only/this', enc('late')));
    expect(payload.fromBusPayload).not.toHaveBeenCalled();
  });
});

// ---------------------------------------------------------------------------------- matcher property

const component = fc.constantFrom('a', 'b', 'ab', 'ba');
const topicArb = fc.array(component, { minLength: 1, maxLength: 4 }).map((parts) => parts.join('.'));
type Pattern = { readonly match: 'exact' | 'prefix' | 'wildcard'; readonly uri: string };
const patternArb: fc.Arbitrary<Pattern> = fc.oneof(
  topicArb.map((uri) => ({ match: 'exact' as const, uri })),
  // Any cut of a topic: prefixes are string prefixes, so they may end inside a component or on a dot.
  fc.tuple(topicArb, fc.nat()).map(([topic, n]) => ({ match: 'prefix' as const, uri: topic.slice(0, n % (topic.length + 1)) })),
  fc
    .array(fc.oneof(component, fc.constant('')), { minLength: 1, maxLength: 4 })
    .map((parts) => ({ match: 'wildcard' as const, uri: parts.join('.') }))
    .filter((p) => p.uri.length > 0),
);

/** The reference: the spec's rules, written the obvious way. */
function referenceMatches(pattern: Pattern, topic: string): boolean {
  if (pattern.match === 'exact') return pattern.uri === topic;
  if (pattern.match === 'prefix') return topic.startsWith(pattern.uri);
  const p = pattern.uri.split('.');
  const t = topic.split('.');
  return p.length === t.length && p.every((part, i) => part === '' || part === t[i]);
}

describe('matching', () => {
  test.prop([fc.array(patternArb, { minLength: 1, maxLength: 12 }), fc.array(topicArb, { minLength: 1, maxLength: 8 })], { numRuns: 120 })(
    'delivers a publication to exactly the subscriptions a brute-force matcher picks, and match() agrees',
    async (patterns, topics) => {
      const rig = createRig();
      const sub = await rig.join();
      const pub = await rig.join({ serializer: 'msgpack' });
      const idOf = new Map<string, number>();
      for (const pattern of patterns) {
        const key = `${pattern.match} ${pattern.uri}`;
        const id = subscribe(sub, pattern.uri, { match: pattern.match });
        if (idOf.has(key)) expect(id).toBe(idOf.get(key));
        idOf.set(key, id);
      }
      expect(new Set(idOf.values()).size).toBe(idOf.size);
      const distinct = [...idOf.keys()].map((key) => ({ pattern: { match: key.slice(0, key.indexOf(' ')), uri: key.slice(key.indexOf(' ') + 1) } as Pattern, id: idOf.get(key)! }));
      const broker = brokerOf(sub);
      for (const topic of topics) {
        const expected = distinct.filter(({ pattern }) => referenceMatches(pattern, topic));
        publish(pub, topic, [topic]);
        const got = events(sub);
        expect(got.map((m) => m[1] as number).sort((x, y) => x - y)).toEqual(expected.map((e) => e.id).sort((x, y) => x - y));
        for (const event of got) {
          const exact = expected.find((e) => e.id === event[1])!.pattern.match === 'exact';
          expect((event[3] as Dict).topic).toBe(exact ? undefined : topic);
        }
        const matched = broker.match(topic);
        expect(matched === null ? [] : [...matched].sort((x, y) => x - y)).toEqual(expected.map((e) => e.id).sort((x, y) => x - y));
        if (expected.length === 0) expect(matched).toBeNull();
      }
    },
  );
});
