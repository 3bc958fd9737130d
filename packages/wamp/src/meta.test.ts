import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import type { Dict } from './codec.js';
import { MessageType } from './constants.js';
import type { WampOptions } from './types.js';
import { createRig, type Rig, type WampPeer } from './_test-utils.js';

/** Per-client request ids: "MUST start at 1 and increase by 1". */
const requests = new WeakMap<WampPeer, number>();
function nextRequest(client: WampPeer): number {
  const id = (requests.get(client) ?? 0) + 1;
  requests.set(client, id);
  return id;
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

/** CALLs `procedure` and returns the RESULT or ERROR for it (other messages are dropped). */
async function call(client: WampPeer, procedure: string, args?: unknown[], kwargs?: Dict, options: Dict = {}): Promise<unknown[]> {
  const request = nextRequest(client);
  const message: unknown[] = [MessageType.CALL, request, options, procedure];
  if (args !== undefined || kwargs !== undefined) message.push(args ?? []);
  if (kwargs !== undefined) message.push(kwargs);
  client.send(message);
  await settle();
  const reply = client.take().find((m) => (m[0] === MessageType.RESULT && m[1] === request) || (m[0] === MessageType.ERROR && m[1] === MessageType.CALL && m[2] === request));
  if (!reply) throw new Error(`no answer to ${procedure}`);
  return reply;
}

/** The single positional result of a meta call. */
async function value(client: WampPeer, procedure: string, args?: unknown[], kwargs?: Dict): Promise<unknown> {
  const reply = await call(client, procedure, args, kwargs);
  if (reply[0] !== MessageType.RESULT) throw new Error(`${procedure} failed: ${JSON.stringify(reply)}`);
  expect(reply[3]).toHaveLength(1);
  return (reply[3] as unknown[])[0];
}

/** The ERROR URI of a meta call that must fail. */
async function errorOf(client: WampPeer, procedure: string, args?: unknown[], kwargs?: Dict): Promise<string> {
  const reply = await call(client, procedure, args, kwargs);
  expect(reply[0]).toBe(MessageType.ERROR);
  expect(reply[3]).toEqual({});
  return reply[4] as string;
}

async function subscribe(client: WampPeer, topic: string, options: Dict = {}): Promise<number> {
  const request = nextRequest(client);
  client.send([MessageType.SUBSCRIBE, request, options, topic]);
  await settle();
  const reply = client.take().find((m) => m[0] === MessageType.SUBSCRIBED && m[1] === request);
  if (!reply) throw new Error(`not subscribed to ${topic}`);
  return reply[2] as number;
}

async function register(client: WampPeer, procedure: string, options: Dict = {}): Promise<number> {
  const request = nextRequest(client);
  client.send([MessageType.REGISTER, request, options, procedure]);
  await settle();
  const reply = client.take().find((m) => m[0] === MessageType.REGISTERED && m[1] === request);
  if (!reply) throw new Error(`not registered ${procedure}`);
  return reply[2] as number;
}

async function publish(client: WampPeer, topic: string, args: unknown[], options: Dict = {}): Promise<number> {
  const request = nextRequest(client);
  client.send([MessageType.PUBLISH, request, { acknowledge: true, ...options }, topic, args]);
  await settle();
  const reply = client.take().find((m) => m[0] === MessageType.PUBLISHED && m[1] === request);
  if (!reply) throw new Error(`not published to ${topic}`);
  return reply[2] as number;
}

/** A rig whose sessions join with HELLO.Details.authid as their authrole (and authid). */
function rigWithRoles(options: WampOptions = {}): Rig {
  // The authorize hook grants the kill procedures, which are closed without roles or a hook.
  return createRig({ authenticate: (request) => ({ ...(request.authid !== undefined ? { authid: request.authid } : {}), authrole: request.authid ?? 'user' }), authorize: () => true, ...options });
}

const joinAs = (rig: Rig, authid: string, realm = 'realm1') => rig.join({ details: { authid }, realm });

describe('session meta procedures', () => {
  it('wamp.session.count and list cover the realm, optionally filtered by authrole', async () => {
    const rig = rigWithRoles();
    const admin = await joinAs(rig, 'admin');
    const users = [await joinAs(rig, 'user'), await joinAs(rig, 'user')];
    expect(await value(admin, 'wamp.session.count')).toBe(3);
    expect(new Set(await value(admin, 'wamp.session.list') as number[])).toEqual(new Set([admin.session, ...users.map((u) => u.session)]));
    expect(await value(admin, 'wamp.session.count', [['user']])).toBe(2);
    expect(await value(admin, 'wamp.session.list', [['admin', 'nobody']])).toEqual([admin.session]);
    expect(await value(admin, 'wamp.session.count', [[]])).toBe(0);
    expect(await errorOf(admin, 'wamp.session.count', ['user'])).toBe('wamp.error.invalid_argument');
    expect(await errorOf(admin, 'wamp.session.list', [[1]])).toBe('wamp.error.invalid_argument');
  });

  it('counts only the caller\'s realm ("Realm-local")', async () => {
    const rig = rigWithRoles({ realms: ['realm1', 'realm2'] });
    const here = await joinAs(rig, 'user');
    const there = await joinAs(rig, 'user', 'realm2');
    expect(await value(here, 'wamp.session.count')).toBe(1);
    expect(await errorOf(here, 'wamp.session.get', [there.session])).toBe('wamp.error.no_such_session');
    expect(await errorOf(here, 'wamp.session.kill', [there.session])).toBe('wamp.error.no_such_session');
    expect(await value(here, 'wamp.session.kill_all')).toBe(0);
    expect(there.peer.closed).toBeUndefined();
  });

  it('wamp.session.get answers the same details as wamp.session.on_join', async () => {
    const rig = rigWithRoles();
    const watcher = await joinAs(rig, 'admin');
    await subscribe(watcher, 'wamp.session.on_join');
    const joined = await joinAs(rig, 'device');
    const [event] = watcher.take();
    expect(event![0]).toBe(MessageType.EVENT);
    const details = await value(watcher, 'wamp.session.get', [joined.session]);
    expect(details).toEqual({
      session: joined.session,
      authid: 'device',
      authrole: 'device',
      authmethod: 'anonymous',
      authprovider: 'static',
      transport: expect.objectContaining({ type: 'websocket', protocol: 'wamp.2.json', serializer: 'json' }),
    });
    expect((event![4] as unknown[])[0]).toEqual(details);
    expect(await errorOf(watcher, 'wamp.session.get', [12345])).toBe('wamp.error.no_such_session');
    expect(await errorOf(watcher, 'wamp.session.get', ['12345'])).toBe('wamp.error.invalid_argument');
    expect(await errorOf(watcher, 'wamp.session.get')).toBe('wamp.error.invalid_argument');
  });

  it('wamp.session.kill sends GOODBYE with reason and message, answers an empty RESULT, and the session is gone', async () => {
    const rig = rigWithRoles();
    const admin = await joinAs(rig, 'admin');
    const victim = await joinAs(rig, 'user');
    expect(await call(admin, 'wamp.session.kill', [victim.session], { reason: 'com.example.maintenance', message: 'back soon' })).toEqual([MessageType.RESULT, 1, {}]);
    expect(victim.take()).toEqual([[MessageType.GOODBYE, { message: 'back soon' }, 'com.example.maintenance']]);
    // The killed peer answers GOODBYE (Basic Profile "Session Closing"); the router then closes.
    victim.send([MessageType.GOODBYE, {}, 'wamp.close.goodbye_and_out']);
    expect(victim.peer.closed?.code).toBe(1000);
    expect(await value(admin, 'wamp.session.count')).toBe(1);
    expect(await errorOf(admin, 'wamp.session.get', [victim.session])).toBe('wamp.error.no_such_session');
  });

  it('wamp.session.kill defaults the reason to wamp.close.killed and omits the message', async () => {
    const rig = rigWithRoles();
    const admin = await joinAs(rig, 'admin');
    const victim = await joinAs(rig, 'user');
    await call(admin, 'wamp.session.kill', [victim.session]);
    expect(victim.take()).toEqual([[MessageType.GOODBYE, {}, 'wamp.close.killed']]);
  });

  it('wamp.session.kill refuses the caller itself (no_such_session), an invalid reason (invalid_uri) and a bad message', async () => {
    const rig = rigWithRoles();
    const admin = await joinAs(rig, 'admin');
    const other = await joinAs(rig, 'user');
    expect(await errorOf(admin, 'wamp.session.kill', [admin.session])).toBe('wamp.error.no_such_session');
    expect(await errorOf(admin, 'wamp.session.kill', [99])).toBe('wamp.error.no_such_session');
    for (const reason of ['', 'not a uri', 'a..b', 42]) expect(await errorOf(admin, 'wamp.session.kill', [other.session], { reason })).toBe('wamp.error.invalid_uri');
    expect(await errorOf(admin, 'wamp.session.kill', [other.session], { message: 7 })).toBe('wamp.error.invalid_argument');
    expect(other.take()).toEqual([]);
    expect(admin.take()).toEqual([]);
    expect(await value(admin, 'wamp.session.count')).toBe(2);
  });

  it('wamp.session.kill_by_authid kills the others with that authid and answers their ids', async () => {
    const rig = rigWithRoles();
    const caller = await joinAs(rig, 'worker');
    const same = [await joinAs(rig, 'worker'), await joinAs(rig, 'worker')];
    const bystander = await joinAs(rig, 'user');
    const killed = await value(caller, 'wamp.session.kill_by_authid', ['worker'], { message: 'rotate' });
    expect(new Set(killed as number[])).toEqual(new Set(same.map((s) => s.session)));
    for (const s of same) expect(s.take()).toEqual([[MessageType.GOODBYE, { message: 'rotate' }, 'wamp.close.killed']]);
    expect(bystander.take()).toEqual([]);
    expect(await value(caller, 'wamp.session.list')).toEqual(expect.arrayContaining([caller.session, bystander.session]));
    expect(await value(caller, 'wamp.session.count')).toBe(2);
    expect(await value(caller, 'wamp.session.kill_by_authid', ['nobody'])).toEqual([]);
    expect(await errorOf(caller, 'wamp.session.kill_by_authid', ['user'], { reason: 'bad uri' })).toBe('wamp.error.invalid_uri');
    expect(await errorOf(caller, 'wamp.session.kill_by_authid', [5])).toBe('wamp.error.invalid_argument');
  });

  it('wamp.session.kill_by_authrole answers the count; kill_all kills everyone else', async () => {
    const rig = rigWithRoles();
    const admin = await joinAs(rig, 'admin');
    const alsoAdmin = await joinAs(rig, 'admin');
    const users = [await joinAs(rig, 'user'), await joinAs(rig, 'user'), await joinAs(rig, 'guest')];
    expect(await value(admin, 'wamp.session.kill_by_authrole', ['user'], { reason: 'wamp.close.system_shutdown' })).toBe(2);
    expect(users[0]!.take()).toEqual([[MessageType.GOODBYE, {}, 'wamp.close.system_shutdown']]);
    expect(users[2]!.take()).toEqual([]);
    // The caller is spared even when its authrole matches.
    expect(await value(admin, 'wamp.session.kill_by_authrole', ['admin'])).toBe(1);
    expect(alsoAdmin.take()).toEqual([[MessageType.GOODBYE, {}, 'wamp.close.killed']]);
    expect(await value(admin, 'wamp.session.kill_all', [], { message: 'bye' })).toBe(1);
    expect(users[2]!.take()).toEqual([[MessageType.GOODBYE, { message: 'bye' }, 'wamp.close.killed']]);
    expect(await value(admin, 'wamp.session.kill_all')).toBe(0);
    expect(await value(admin, 'wamp.session.list')).toEqual([admin.session]);
    expect(await errorOf(admin, 'wamp.session.kill_all', [], { reason: '' })).toBe('wamp.error.invalid_uri');
  });

  test.prop([fc.array(fc.constantFrom('a', 'b', 'c'), { maxLength: 7 }), fc.subarray(['a', 'b', 'c']), fc.constantFrom('a', 'b', 'c')], { numRuns: 25 })(
    'count, list and kill_by_authrole agree with the sessions that joined',
    async (roles, filter, victim) => {
      const rig = rigWithRoles();
      const caller = await joinAs(rig, 'observer');
      const sessions = [];
      for (const role of roles) sessions.push({ role, peer: await joinAs(rig, role) });
      const expected = sessions.filter((s) => filter.includes(s.role)).map((s) => s.peer.session);
      expect(await value(caller, 'wamp.session.count', [filter])).toBe(expected.length);
      expect(new Set(await value(caller, 'wamp.session.list', [filter]) as number[])).toEqual(new Set(expected));
      expect(await value(caller, 'wamp.session.kill_by_authrole', [victim])).toBe(sessions.filter((s) => s.role === victim).length);
      const left = [caller.session, ...sessions.filter((s) => s.role !== victim).map((s) => s.peer.session)];
      expect(new Set(await value(caller, 'wamp.session.list') as number[])).toEqual(new Set(left));
    },
  );
});

describe('registration meta procedures', () => {
  it('list, lookup, match and get describe the registrations by match policy', async () => {
    const rig = createRig();
    const callee = await rig.join();
    const caller = await rig.join();
    const exact = await register(callee, 'com.example.add');
    const prefix = await register(callee, 'com.example', { match: 'prefix' });
    const wildcard = await register(callee, 'com..add', { match: 'wildcard' });
    expect(await value(caller, 'wamp.registration.list')).toEqual({ exact: [exact], prefix: [prefix], wildcard: [wildcard] });
    expect(await value(caller, 'wamp.registration.lookup', ['com.example.add'])).toBe(exact);
    expect(await value(caller, 'wamp.registration.lookup', ['com.example', { match: 'prefix' }])).toBe(prefix);
    expect(await value(caller, 'wamp.registration.lookup', ['com..add', { match: 'wildcard' }])).toBe(wildcard);
    expect(await value(caller, 'wamp.registration.lookup', ['com.example'])).toBeNull();
    expect(await errorOf(caller, 'wamp.registration.lookup', ['com.example', { match: 'fuzzy' }])).toBe('wamp.error.invalid_argument');
    expect(await errorOf(caller, 'wamp.registration.lookup', ['com.example', 'prefix'])).toBe('wamp.error.invalid_argument');
    // The best match: exact, then the longest prefix, then wildcard.
    expect(await value(caller, 'wamp.registration.match', ['com.example.add'])).toBe(exact);
    expect(await value(caller, 'wamp.registration.match', ['com.example.sub'])).toBe(prefix);
    expect(await value(caller, 'wamp.registration.match', ['com.other.add'])).toBe(wildcard);
    expect(await value(caller, 'wamp.registration.match', ['org.nothing'])).toBeNull();
    const details = (await value(caller, 'wamp.registration.get', [prefix])) as Dict;
    expect(details).toEqual({ id: prefix, created: expect.any(String), uri: 'com.example', match: 'prefix', invoke: 'single' });
    expect(new Date(details.created as string).toISOString()).toBe(details.created);
    expect(await errorOf(caller, 'wamp.registration.get', [424242])).toBe('wamp.error.no_such_registration');
    expect(await errorOf(caller, 'wamp.registration.match', [])).toBe('wamp.error.invalid_argument');
  });

  it('list_callees and count_callees follow a shared registration', async () => {
    const rig = createRig();
    const first = await rig.join();
    const second = await rig.join();
    const caller = await rig.join();
    const id = await register(first, 'com.example.work', { invoke: 'roundrobin' });
    expect(await register(second, 'com.example.work', { invoke: 'roundrobin' })).toBe(id);
    expect(await value(caller, 'wamp.registration.get', [id])).toMatchObject({ invoke: 'roundrobin' });
    expect(await value(caller, 'wamp.registration.list_callees', [id])).toEqual([first.session, second.session]);
    expect(await value(caller, 'wamp.registration.count_callees', [id])).toBe(2);
    first.send([MessageType.GOODBYE, {}, 'wamp.close.close_realm']);
    expect(await value(caller, 'wamp.registration.list_callees', [id])).toEqual([second.session]);
    second.send([MessageType.UNREGISTER, nextRequest(second), id]);
    // The last callee gone, the registration is deleted.
    for (const procedure of ['wamp.registration.get', 'wamp.registration.list_callees', 'wamp.registration.count_callees']) {
      expect(await errorOf(caller, procedure, [id])).toBe('wamp.error.no_such_registration');
    }
    expect(await value(caller, 'wamp.registration.list')).toEqual({ exact: [], prefix: [], wildcard: [] });
  });
});

describe('subscription meta procedures', () => {
  it('list, lookup, match and get describe the subscriptions; match answers every matching one or null', async () => {
    const rig = createRig();
    const subscriber = await rig.join();
    const caller = await rig.join();
    const exact = await subscribe(subscriber, 'com.example.temp');
    const prefix = await subscribe(subscriber, 'com.example', { match: 'prefix' });
    const wildcard = await subscribe(subscriber, 'com..temp', { match: 'wildcard' });
    expect(await value(caller, 'wamp.subscription.list')).toEqual({ exact: [exact], prefix: [prefix], wildcard: [wildcard] });
    expect(await value(caller, 'wamp.subscription.lookup', ['com.example.temp'])).toBe(exact);
    expect(await value(caller, 'wamp.subscription.lookup', ['com.example', { match: 'prefix' }])).toBe(prefix);
    expect(await value(caller, 'wamp.subscription.lookup', ['com.example.temp', { match: 'wildcard' }])).toBeNull();
    expect(new Set(await value(caller, 'wamp.subscription.match', ['com.example.temp']) as number[])).toEqual(new Set([exact, prefix, wildcard]));
    expect(await value(caller, 'wamp.subscription.match', ['com.example.rain'])).toEqual([prefix]);
    expect(await value(caller, 'wamp.subscription.match', ['org.nothing'])).toBeNull();
    expect(await value(caller, 'wamp.subscription.get', [wildcard])).toEqual({ id: wildcard, created: expect.any(String), uri: 'com..temp', match: 'wildcard' });
    expect(await errorOf(caller, 'wamp.subscription.get', [424242])).toBe('wamp.error.no_such_subscription');
    expect(await errorOf(caller, 'wamp.subscription.lookup', [7])).toBe('wamp.error.invalid_argument');
  });

  it('list_subscribers and count_subscribers follow the subscribers; the last one gone deletes it', async () => {
    const rig = createRig();
    const one = await rig.join();
    const two = await rig.join();
    const caller = await rig.join();
    const id = await subscribe(one, 'com.example.news');
    expect(await subscribe(two, 'com.example.news')).toBe(id);
    expect(new Set(await value(caller, 'wamp.subscription.list_subscribers', [id]) as number[])).toEqual(new Set([one.session, two.session]));
    expect(await value(caller, 'wamp.subscription.count_subscribers', [id])).toBe(2);
    one.send([MessageType.UNSUBSCRIBE, nextRequest(one), id]);
    expect(await value(caller, 'wamp.subscription.list_subscribers', [id])).toEqual([two.session]);
    two.peer.drop();
    for (const procedure of ['wamp.subscription.get', 'wamp.subscription.list_subscribers', 'wamp.subscription.count_subscribers', 'wamp.subscription.get_events']) {
      expect(await errorOf(caller, procedure, [id])).toBe('wamp.error.no_such_subscription');
    }
  });
});

describe('wamp.subscription.get_events', () => {
  it('answers an empty list with history off, and no_such_subscription for an unknown id', async () => {
    const rig = createRig();
    const subscriber = await rig.join();
    const publisher = await rig.join();
    const id = await subscribe(subscriber, 'com.example.log');
    await publish(publisher, 'com.example.log', ['one']);
    expect(await value(publisher, 'wamp.subscription.get_events', [id])).toEqual([]);
    expect(await errorOf(publisher, 'wamp.subscription.get_events', [id + 1000])).toBe('wamp.error.no_such_subscription');
    expect(await errorOf(publisher, 'wamp.subscription.get_events', [])).toBe('wamp.error.invalid_argument');
  });

  it('answers the kept events with timestamp, subscription, publication, details and payload, filtered by the kwargs', async () => {
    const rig = createRig({ eventHistory: 10 });
    const subscriber = await rig.join();
    const publisher = await rig.join();
    const id = await subscribe(subscriber, 'com.example.log');
    const publications = [];
    for (const text of ['one', 'two', 'three']) publications.push(await publish(publisher, 'com.example.log', [text]));
    const events = (await value(publisher, 'wamp.subscription.get_events', [id])) as Dict[];
    expect(events.map((event) => event.publication)).toEqual(publications);
    expect(events[0]).toMatchObject({ timestamp: expect.any(String), subscription: id, publication: publications[0], details: expect.any(Object), args: ['one'] });
    expect(((await value(publisher, 'wamp.subscription.get_events', [id], { limit: 1, reverse: true })) as Dict[]).map((event) => event.args)).toEqual([['three']]);
    expect(((await value(publisher, 'wamp.subscription.get_events', [id], { after_publication: publications[0] })) as Dict[]).map((event) => event.publication)).toEqual(publications.slice(1));
    for (const kwargs of [{ limit: 0 }, { limit: 'ten' }, { reverse: 1 }, { from_time: 'yesterday' }, { before_publication: -1 }, { topic: 3 }]) {
      expect(await errorOf(publisher, 'wamp.subscription.get_events', [id], kwargs)).toBe('wamp.error.invalid_argument');
    }
  });

  it('fails with not_authorized for a caller that may not subscribe to the topic', async () => {
    const roles = {
      admin: [{ uri: '', match: 'prefix' as const, allow: { call: true, subscribe: true, publish: true, register: true } }],
      user: [{ uri: 'wamp.', match: 'prefix' as const, allow: { call: true } }, { uri: 'com.public', allow: { subscribe: true } }],
    };
    const rig = rigWithRoles({ realms: [{ name: 'realm1', roles }], eventHistory: 5 });
    const admin = await joinAs(rig, 'admin');
    const user = await joinAs(rig, 'user');
    const secret = await subscribe(admin, 'com.secret');
    const open = await subscribe(admin, 'com.public');
    expect(await errorOf(user, 'wamp.subscription.get_events', [secret])).toBe('wamp.error.not_authorized');
    expect(await value(user, 'wamp.subscription.get_events', [open])).toEqual([]);
    expect(await value(admin, 'wamp.subscription.get_events', [secret])).toEqual([]);
  });

  it('asks the authorize hook, asynchronously too, for subscribe on the topic', async () => {
    const asked: Dict[] = [];
    const rig = createRig({
      eventHistory: 5,
      authorize: async (request) => {
        if (request.action === 'subscribe' && request.uri !== 'com.open') asked.push({ ...request });
        if (request.uri === 'com.broken' && request.session !== subscriberId) throw new Error('authorizer down');
        return request.action !== 'subscribe' || request.uri !== 'com.closed' || request.session === subscriberId;
      },
    });
    let subscriberId = 0;
    const subscriber = await rig.join();
    subscriberId = subscriber.session;
    const caller = await rig.join();
    const closed = await subscribe(subscriber, 'com.closed');
    const broken = await subscribe(subscriber, 'com.broken');
    asked.length = 0;
    expect(await errorOf(caller, 'wamp.subscription.get_events', [closed])).toBe('wamp.error.not_authorized');
    expect(asked).toEqual([expect.objectContaining({ session: caller.session, action: 'subscribe', uri: 'com.closed', options: { match: 'exact' } })]);
    expect(await errorOf(caller, 'wamp.subscription.get_events', [broken])).toBe('wamp.error.authorization_failed');
  });
});

describe('meta calls in general', () => {
  it('leaves unknown wamp.* procedures to the dealer (no_such_procedure)', async () => {
    const rig = createRig();
    const client = await rig.join();
    expect(await errorOf(client, 'wamp.session.nothing')).toBe('wamp.error.no_such_procedure');
  });

  it('answers a progressive call invocation with feature_not_supported', async () => {
    const rig = createRig();
    const client = await rig.join();
    const reply = await call(client, 'wamp.session.count', [], undefined, { progress: true });
    expect(reply.slice(0, 5)).toEqual([MessageType.ERROR, MessageType.CALL, 1, {}, 'wamp.error.feature_not_supported']);
  });

  it('answers over msgpack and cbor as over json', async () => {
    const rig = createRig();
    for (const serializer of ['msgpack', 'cbor'] as const) {
      const client = await rig.join({ serializer });
      expect(await value(client, 'wamp.session.get', [client.session])).toMatchObject({ session: client.session, transport: { serializer } });
    }
  });
});
