/**
 * End to end: the real autobahn 22.11.1 client (its own ws@7 transport, which works on plain
 * Node 20) against the router served by `@protoplex/server` on 127.0.0.1 (port 0), once per
 * serializer autobahn has: JSON, MessagePack (msgpack5) and CBOR (node-cbor).
 *
 * Every client is closed in afterEach, which then waits until the router has no session left,
 * so the meta API counts of one test never see another test's sessions. autobahn reports a
 * protocol violation it detects (closing with 3002) through `on_internal_error`: afterEach
 * asserts there was none, so every test also checks that nothing the router sent broke the
 * client's state machine.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import autobahnModule from 'autobahn';
import { e2eAccess, inbox, rejection, startServer, waitFor, type E2EServer } from './_test-utils.js';

// ------------------------------------------------------------------ autobahn, as far as these tests use it

type Args = unknown[];
type Kwargs = Record<string, unknown>;

interface AbEvent {
  publication: number;
  topic: string;
  publisher?: number;
  publisher_authid?: string;
  publisher_authrole?: string;
}
interface AbInvocation {
  procedure: string;
  /** Set only when the dealer forwarded `receive_progress`. */
  progress: ((args?: Args, kwargs?: Kwargs) => void) | null;
  caller?: number;
  caller_authid?: string;
  caller_authrole?: string;
}
/** A when.js promise: `then` takes a third, progress, callback; call promises have `cancel`. */
interface AbPromise<T> extends PromiseLike<T> {
  then<A = T, B = never>(ok?: ((value: T) => A | PromiseLike<A>) | null, err?: ((error: unknown) => B | PromiseLike<B>) | null, progress?: (update: unknown) => void): AbPromise<A | B>;
  cancel(options?: { mode?: 'skip' | 'kill' | 'killnowait' }): void;
}
interface AbSubscription {
  id: number;
  topic: string;
}
interface AbRegistration {
  id: number;
  procedure: string;
}
interface AbSession {
  readonly id: number;
  subscribe(topic: string, handler: (args: Args, kwargs: Kwargs, details: AbEvent) => void, options?: Kwargs): AbPromise<AbSubscription>;
  unsubscribe(subscription: AbSubscription): AbPromise<unknown>;
  publish(topic: string, args?: Args, kwargs?: Kwargs, options?: Kwargs): AbPromise<{ id: number }> | undefined;
  register(procedure: string, endpoint: (args: Args, kwargs: Kwargs, details: AbInvocation) => unknown, options?: Kwargs): AbPromise<AbRegistration>;
  unregister(registration: AbRegistration): AbPromise<unknown>;
  call(procedure: string, args?: Args, kwargs?: Kwargs, options?: Kwargs): AbPromise<unknown>;
}
interface AbConnection {
  open(): void;
  close(reason?: string, message?: string): void;
  readonly isOpen: boolean;
  onopen: (session: AbSession, details: Kwargs) => void;
  onclose: (reason: string, details: Kwargs) => boolean;
}
interface AbError {
  error: string;
  args: Args;
  kwargs: Kwargs;
}
interface AbResult {
  args: Args;
  kwargs: Kwargs;
}
interface KeyPair {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}
interface Autobahn {
  Connection: new (options: Kwargs) => AbConnection;
  Error: new (error: string, args?: Args, kwargs?: Kwargs) => AbError;
  Result: new (args?: Args, kwargs?: Kwargs) => AbResult;
  serializer: Record<'JSONSerializer' | 'MsgpackSerializer' | 'CBORSerializer', new () => object>;
  auth_cra: { sign(key: string, challenge: string): string; derive_key(secret: string, salt: string, iterations?: number, keylen?: number): string };
  auth_cryptosign: { public_key(key: KeyPair): string; sign_challenge(key: KeyPair, extra: Kwargs): string };
  nacl: { sign: { keyPair: { fromSeed(seed: Uint8Array): KeyPair } } };
  log: { warn: (...args: unknown[]) => void };
}

const autobahn = autobahnModule as unknown as Autobahn;
// autobahn logs every close and retry decision with console.warn.
autobahn.log.warn = () => {};

// ------------------------------------------------------------------ the server and its principals

const DAVE_SEED = new Uint8Array(32).fill(0x2a);
const DAVE = autobahn.nacl.sign.keyPair.fromSeed(DAVE_SEED);
const DAVE_PUBKEY = autobahn.auth_cryptosign.public_key(DAVE);


let server: E2EServer;

beforeAll(async () => {
  server = await startServer({
    ...e2eAccess(DAVE_PUBKEY),
    eventHistory: 10,
  });
});

afterAll(async () => {
  await server.close();
});

// ------------------------------------------------------------------ clients

type SerializerName = 'json' | 'msgpack' | 'cbor';

interface Client {
  readonly connection: AbConnection;
  readonly session: AbSession;
  /** WELCOME.Details (plus autobahn's `transport` info). */
  readonly details: Kwargs;
  /** Settles with autobahn's onclose arguments. */
  readonly closed: Promise<{ reason: string; details: Kwargs }>;
}

/** What `open` rejects with when the session never opened (ABORT, or a failed handshake). */
interface Refusal {
  reason: string;
  details: Kwargs;
}

const opened: Array<{ connection: AbConnection; closed: Promise<unknown> }> = [];
/** Protocol violations autobahn detected (it closes with 3002 and reports them here). */
const internalErrors: unknown[] = [];

interface OpenOptions {
  realm?: string;
  authmethods?: string[];
  authid?: string;
  authextra?: Kwargs;
  onchallenge?: (session: unknown, method: string, extra: Kwargs) => string;
}

function open(serializer: SerializerName, options: OpenOptions = {}): Promise<Client> {
  let settleClosed!: (value: { reason: string; details: Kwargs }) => void;
  const closed = new Promise<{ reason: string; details: Kwargs }>((resolve) => (settleClosed = resolve));
  const connection = new autobahn.Connection({
    url: server.url,
    realm: 'realm1',
    serializers: [new autobahn.serializer[SERIALIZER_CLASS[serializer]]()],
    max_retries: 0,
    retry_if_unreachable: false,
    // Its protocol-violation path reports `Error(text)` called without `new`, which is autobahn's
    // own Error class there and so yields undefined: record that something happened.
    on_internal_error: (error: unknown) => internalErrors.push(error ?? 'protocol violation'),
    on_user_error: () => {},
    ...options,
  });
  opened.push({ connection, closed });
  return new Promise<Client>((resolve, reject) => {
    let session: AbSession | undefined;
    connection.onopen = (s, details) => {
      session = s;
      resolve({ connection, session: s, details, closed });
    };
    connection.onclose = (reason, details) => {
      settleClosed({ reason, details });
      if (!session) reject({ reason, details } satisfies Refusal);
      return true;
    };
    connection.open();
  });
}

const SERIALIZER_CLASS = { json: 'JSONSerializer', msgpack: 'MsgpackSerializer', cbor: 'CBORSerializer' } as const;

afterEach(async () => {
  const all = opened.splice(0);
  for (const { connection } of all) {
    try {
      if (connection.isOpen) connection.close();
    } catch {
      // "connection already closed"
    }
  }
  await Promise.all(all.map((c) => c.closed));
  await waitFor(() => server.sessions('realm1') === 0 && server.sessions('secure') === 0, 'the router to drop every session');
  expect(internalErrors.splice(0)).toEqual([]);
});


/** Publishes with acknowledge and waits for PUBLISHED, so what follows is ordered after it. */
async function published(session: AbSession, topic: string, args?: Args, kwargs?: Kwargs, options: Kwargs = {}): Promise<number> {
  const publication = await session.publish(topic, args, kwargs, { ...options, acknowledge: true })!;
  return publication.id;
}

// ------------------------------------------------------------------ per serializer

describe.each(['json', 'msgpack', 'cbor'] as const)('autobahn over %s', (serializer) => {
  const connect = (options?: OpenOptions) => open(serializer, options);

  describe('session', () => {
    it('joins with WELCOME details on the negotiated subprotocol', async () => {
      const { session, details } = await connect();
      expect(details.transport).toMatchObject({ protocol: `wamp.2.${serializer}` });
      expect(details).toMatchObject({ realm: 'realm1', authid: String(session.id), authrole: 'anonymous', authmethod: 'anonymous', authprovider: 'static' });
      expect(details.roles).toMatchObject({ broker: { features: { publisher_exclusion: true, pattern_based_subscription: true } }, dealer: { features: { call_canceling: true, progressive_call_results: true } } });
      expect(session.id).toBeGreaterThanOrEqual(1);
      expect(session.id).toBeLessThanOrEqual(2 ** 53);
    });

    it('surfaces ABORT no_such_realm for a realm the router does not serve', async () => {
      const refusal = (await connect({ realm: 'com.example.nowhere' }).then(
        () => undefined,
        (error: Refusal) => error,
      ))!;
      expect(refusal.details).toMatchObject({ reason: 'wamp.error.no_such_realm' });
      expect(String(refusal.details.message)).toContain('com.example.nowhere');
    });

    it('leaves with GOODBYE: the router answers goodbye_and_out and publishes on_leave', async () => {
      const watcher = await connect();
      const leaves = inbox<Args>();
      await watcher.session.subscribe('wamp.session.on_leave', (args) => leaves.push(args));
      const client = await connect();
      const id = client.session.id;
      client.connection.close('wamp.close.close_realm', 'done');
      const { reason, details } = await client.closed;
      expect(reason).toBe('closed');
      expect(details).toMatchObject({ reason: 'wamp.close.goodbye_and_out' });
      expect((await leaves.take(1))[0]).toEqual([id, String(id), 'anonymous']);
      expect(server.sessions()).toBe(1);
    });

    it('is sent GOODBYE by the router when another session kills it (wamp.session.kill)', async () => {
      const killer = await connect();
      const victim = await connect();
      await expect(killer.session.call('wamp.session.kill', [victim.session.id], { reason: 'wamp.close.killed', message: 'go away' })).resolves.toBeNull();
      const { details } = await victim.closed;
      expect(details).toMatchObject({ reason: 'wamp.close.killed', message: 'go away' });
      // "Specifying the caller's own session will result in a wamp.error.no_such_session".
      expect((await rejection<AbError>(killer.session.call('wamp.session.kill', [killer.session.id]))).error).toBe('wamp.error.no_such_session');
      await waitFor(() => server.sessions() === 1, 'the killed session to go');
    });
  });

  describe('publish and subscribe', () => {
    it('delivers args and kwargs, acknowledges with the publication id, and excludes the publisher', async () => {
      const subscriber = await connect();
      const publisher = await connect();
      const got = inbox<{ args: Args; kwargs: Kwargs; details: AbEvent }>();
      const own = inbox<Args>();
      await subscriber.session.subscribe('com.e2e.topic', (args, kwargs, details) => got.push({ args, kwargs, details }));
      await publisher.session.subscribe('com.e2e.topic', (args) => own.push(args));
      const id = await published(publisher.session, 'com.e2e.topic', [1, 'two', { three: 3 }], { k: 'v', list: [true, null] });
      const [event] = await got.take(1);
      expect(event!.args).toEqual([1, 'two', { three: 3 }]);
      expect(event!.kwargs).toEqual({ k: 'v', list: [true, null] });
      expect(event!.details.publication).toBe(id);
      expect(event!.details.topic).toBe('com.e2e.topic');
      // Publisher exclusion is the default: a later event it does get proves the first never came.
      await published(publisher.session, 'com.e2e.topic', ['marker'], undefined, { exclude_me: false });
      expect(await own.take(1)).toEqual([['marker']]);
      expect(await got.take(2)).toHaveLength(2);
    });

    it('does not acknowledge without acknowledge: true (an unsolicited PUBLISHED would be a protocol violation for autobahn)', async () => {
      const subscriber = await connect();
      const publisher = await connect();
      const got = inbox<Args>();
      await subscriber.session.subscribe('com.e2e.quiet', (args) => got.push(args));
      expect(publisher.session.publish('com.e2e.quiet', ['fire and forget'])).toBeUndefined();
      expect(await got.take(1)).toEqual([['fire and forget']]);
    });

    it("delivers one publisher's events in publish order, across topics (Basic Profile 'Ordering Guarantees')", async () => {
      const subscriber = await connect();
      const publisher = await connect();
      const got = inbox<string>();
      await subscriber.session.subscribe('com.e2e.order.a', (args) => got.push(`a${String(args[0])}`));
      await subscriber.session.subscribe('com.e2e.order.b', (args) => got.push(`b${String(args[0])}`));
      const expected: string[] = [];
      for (let i = 0; i < 40; i++) {
        const topic = i % 3 === 0 ? 'b' : 'a';
        expected.push(`${topic}${i}`);
        // Payloads of different sizes: an encoder that finishes small messages first would reorder them.
        publisher.session.publish(`com.e2e.order.${topic}`, [i, 'x'.repeat((i * 997) % 3000)]);
      }
      expect(await got.take(40)).toEqual(expected);
    });

    it('honours exclude and eligible lists by session, authid and authrole', async () => {
      const publisher = await connect();
      const subscribers = await Promise.all([connect(), connect(), connect()]);
      const boxes = subscribers.map(() => inbox<string>());
      await Promise.all(subscribers.map((s, i) => s.session.subscribe('com.e2e.lists', (args) => boxes[i]!.push(args[0] as string))));
      const [a, b, c] = subscribers.map((s) => s.session.id) as [number, number, number];
      await published(publisher.session, 'com.e2e.lists', ['not b'], undefined, { exclude: [b] });
      await published(publisher.session, 'com.e2e.lists', ['only c'], undefined, { eligible: [c] });
      await published(publisher.session, 'com.e2e.lists', ['a, not c'], undefined, { eligible: [a, c], exclude_authid: [String(c)] });
      await published(publisher.session, 'com.e2e.lists', ['nobody'], undefined, { exclude_authrole: ['anonymous'] });
      await published(publisher.session, 'com.e2e.lists', ['end'], undefined, { eligible_authrole: ['anonymous'] });
      await Promise.all(boxes.map((box) => waitFor(() => box.items.includes('end'), 'the end marker')));
      expect(boxes.map((box) => box.items)).toEqual([
        ['not b', 'a, not c', 'end'],
        ['end'],
        ['not b', 'only c', 'end'],
      ]);
    });

    it('identifies the publisher when it discloses itself, and only then', async () => {
      const subscriber = await connect();
      const publisher = await connect();
      const got = inbox<AbEvent>();
      await subscriber.session.subscribe('com.e2e.who', (_args, _kwargs, details) => got.push(details));
      await published(publisher.session, 'com.e2e.who', ['anonymous']);
      await published(publisher.session, 'com.e2e.who', ['disclosed'], undefined, { disclose_me: true });
      const [hidden, disclosed] = await got.take(2);
      expect(hidden!.publisher).toBeUndefined();
      expect(disclosed).toMatchObject({ publisher: publisher.session.id, publisher_authid: String(publisher.session.id), publisher_authrole: 'anonymous' });
    });

    it('matches prefix and wildcard subscriptions and names the concrete topic', async () => {
      const subscriber = await connect();
      const publisher = await connect();
      const prefix = inbox<string>();
      const wildcard = inbox<string>();
      await subscriber.session.subscribe('com.e2e.prefix.', (_a, _k, details) => prefix.push(details.topic), { match: 'prefix' });
      await subscriber.session.subscribe('com.e2e..wild', (_a, _k, details) => wildcard.push(details.topic), { match: 'wildcard' });
      await published(publisher.session, 'com.e2e.prefix.one');
      await published(publisher.session, 'com.e2e.other.wild');
      await published(publisher.session, 'com.e2e.prefix.wild');
      await published(publisher.session, 'com.e2e.prefix.two.wild');
      // One event per matching subscription: `com.e2e.prefix.wild` matches both.
      expect(await prefix.take(3)).toEqual(['com.e2e.prefix.one', 'com.e2e.prefix.wild', 'com.e2e.prefix.two.wild']);
      expect(await wildcard.take(2)).toEqual(['com.e2e.other.wild', 'com.e2e.prefix.wild']);
    });

    it('stops delivering after unsubscribe', async () => {
      const subscriber = await connect();
      const publisher = await connect();
      const got = inbox<string>();
      const subscription = await subscriber.session.subscribe('com.e2e.unsub', (args) => got.push(args[0] as string));
      await subscriber.session.subscribe('com.e2e.marker', (args) => got.push(args[0] as string));
      await published(publisher.session, 'com.e2e.unsub', ['before']);
      await subscriber.session.unsubscribe(subscription);
      await published(publisher.session, 'com.e2e.unsub', ['after']);
      await published(publisher.session, 'com.e2e.marker', ['marker']);
      expect(await got.take(2)).toEqual(['before', 'marker']);
      expect(got.items).toEqual(['before', 'marker']);
    });

    it('refuses invalid and reserved URIs (autobahn checks none itself)', async () => {
      const { session } = await connect();
      const uri = async (promise: PromiseLike<unknown> | undefined) => (await rejection<AbError>(promise!)).error;
      expect(await uri(session.publish('com..empty', [], {}, { acknowledge: true }))).toBe('wamp.error.invalid_uri');
      expect(await uri(session.publish('wamp.session.on_join', [], {}, { acknowledge: true }))).toBe('wamp.error.invalid_uri');
      expect(await uri(session.subscribe('com.has space', () => {}))).toBe('wamp.error.invalid_uri');
      expect(await uri(session.register('wamp.my.proc', () => 1))).toBe('wamp.error.invalid_uri');
      expect(await uri(session.call('com.bad#uri'))).toBe('wamp.error.invalid_uri');
      expect(await uri(session.subscribe('com.e2e', () => {}, { match: 'fuzzy' }))).toBe('wamp.error.invalid_argument');
    });

    it('answers a second SUBSCRIBE to the same topic with the same subscription, delivering once per handler', async () => {
      const subscriber = await connect();
      const publisher = await connect();
      const got = inbox<string>();
      const first = await subscriber.session.subscribe('com.e2e.twice', () => got.push('first'));
      const second = await subscriber.session.subscribe('com.e2e.twice', () => got.push('second'));
      expect(second.id).toBe(first.id);
      await published(publisher.session, 'com.e2e.twice');
      expect((await got.take(2)).sort()).toEqual(['first', 'second']);
    });

    it('keeps event history for wamp.subscription.get_events', async () => {
      const subscriber = await connect();
      const publisher = await connect();
      const subscription = await subscriber.session.subscribe('com.e2e.history', () => {});
      await published(publisher.session, 'com.e2e.history', ['first']);
      await published(publisher.session, 'com.e2e.history', ['second'], { n: 2 });
      const events = (await subscriber.session.call('wamp.subscription.get_events', [subscription.id], { limit: 5 })) as Kwargs[];
      expect(events.map((event) => event.args)).toEqual(expect.arrayContaining([['first'], ['second']]));
      expect(events).toHaveLength(2);
    });
  });

  describe('remote procedure calls', () => {
    it('calls with args and kwargs; results come back single or as a Result', async () => {
      const callee = await connect();
      const caller = await connect();
      await callee.session.register('com.e2e.add', (args, kwargs) => new autobahn.Result([(args[0] as number) + (args[1] as number)], { echo: kwargs }));
      await callee.session.register('com.e2e.single', (args) => `hello ${String(args[0])}`);
      const result = (await caller.session.call('com.e2e.add', [2, 3], { tag: 'x' })) as AbResult;
      expect(result).toBeInstanceOf(autobahn.Result);
      expect(result.args).toEqual([5]);
      expect(result.kwargs).toEqual({ echo: { tag: 'x' } });
      expect(await caller.session.call('com.e2e.single', ['world'])).toBe('hello world');
      // A YIELD with kwargs only: RESULT keeps `[]` before them ("ArgumentsKw only if Arguments is present").
      await callee.session.register('com.e2e.kwargs', () => new autobahn.Result([], { only: 'kwargs' }));
      expect(await caller.session.call('com.e2e.kwargs')).toMatchObject({ args: [], kwargs: { only: 'kwargs' } });
    });

    it('passes an ApplicationError (URI, args, kwargs) from the callee to the caller', async () => {
      const callee = await connect();
      const caller = await connect();
      await callee.session.register('com.e2e.fail', () => {
        throw new autobahn.Error('com.e2e.error.oops', ['bad input', 42], { field: 'x' });
      });
      await callee.session.register('com.e2e.crash', () => {
        throw new TypeError('boom');
      });
      const error = await rejection<AbError>(caller.session.call('com.e2e.fail', ['x']));
      expect(error).toBeInstanceOf(autobahn.Error);
      expect(error).toMatchObject({ error: 'com.e2e.error.oops', args: ['bad input', 42], kwargs: { field: 'x' } });
      expect((await rejection<AbError>(caller.session.call('com.e2e.crash'))).error).toBe('wamp.error.runtime_error');
    });

    it('answers no_such_procedure for a procedure nobody registered', async () => {
      const caller = await connect();
      const error = await rejection<AbError>(caller.session.call('com.e2e.nobody'));
      expect(error.error).toBe('wamp.error.no_such_procedure');
    });

    it('shares a registration round-robin between two callees and refuses conflicting policies', async () => {
      const [one, two, other] = await Promise.all([connect(), connect(), connect()]);
      await one.session.register('com.e2e.shared', () => 'one', { invoke: 'roundrobin' });
      await two.session.register('com.e2e.shared', () => 'two', { invoke: 'roundrobin' });
      const answers: unknown[] = [];
      for (let i = 0; i < 4; i++) answers.push(await other.session.call('com.e2e.shared'));
      expect(answers).toEqual(['one', 'two', 'one', 'two']);
      expect((await rejection<AbError>(other.session.register('com.e2e.shared', () => 'three', { invoke: 'first' }))).error).toBe('wamp.error.procedure_exists_with_different_invocation_policy');
      await one.session.register('com.e2e.single.only', () => 1);
      expect((await rejection<AbError>(two.session.register('com.e2e.single.only', () => 2))).error).toBe('wamp.error.procedure_already_exists');
    });

    it('routes pattern registrations and names the concrete procedure; exact wins over prefix', async () => {
      const callee = await connect();
      const caller = await connect();
      await callee.session.register('com.e2e.pattern.', (_a, _k, details) => `prefix:${details.procedure}`, { match: 'prefix' });
      await callee.session.register('com.e2e..wild', (_a, _k, details) => `wildcard:${details.procedure}`, { match: 'wildcard' });
      await callee.session.register('com.e2e.pattern.exact', (_a, _k, details) => `exact:${details.procedure}`);
      expect(await caller.session.call('com.e2e.pattern.a.b')).toBe('prefix:com.e2e.pattern.a.b');
      expect(await caller.session.call('com.e2e.any.wild')).toBe('wildcard:com.e2e.any.wild');
      expect(await caller.session.call('com.e2e.pattern.exact')).toBe('exact:com.e2e.pattern.exact');
      // Longest prefix before wildcard ("Calls matching multiple registrations").
      expect(await caller.session.call('com.e2e.pattern.wild')).toBe('prefix:com.e2e.pattern.wild');
    });

    it('identifies the caller when it discloses itself', async () => {
      const callee = await connect();
      const caller = await connect();
      await callee.session.register('com.e2e.whoami', (_a, _k, details) => new autobahn.Result([details.caller ?? null, details.caller_authid ?? null, details.caller_authrole ?? null]));
      expect(((await caller.session.call('com.e2e.whoami')) as AbResult).args).toEqual([null, null, null]);
      expect(((await caller.session.call('com.e2e.whoami', [], {}, { disclose_me: true })) as AbResult).args).toEqual([caller.session.id, String(caller.session.id), 'anonymous']);
    });

    it('streams progressive results to a caller that asked for them (receive_progress)', async () => {
      const callee = await connect();
      const caller = await connect();
      const hadProgress: boolean[] = [];
      await callee.session.register('com.e2e.count', (args, _k, details) => {
        hadProgress.push(details.progress !== null);
        const n = args[0] as number;
        for (let i = 1; i < n; i++) details.progress?.([i], { step: i });
        return n;
      });
      const progress: unknown[] = [];
      const final = await caller.session.call('com.e2e.count', [3], {}, { receive_progress: true }).then(undefined, undefined, (update) => progress.push(update));
      expect(final).toBe(3);
      expect(progress.map((p) => (p as AbResult).args)).toEqual([[1], [2]]);
      // Without receive_progress the callee gets no progress function.
      expect(await caller.session.call('com.e2e.count', [1])).toBe(1);
      expect(hadProgress).toEqual([true, false]);
    });

    it('ends a progressive call with the callee error after its progress', async () => {
      const callee = await connect();
      const caller = await connect();
      await callee.session.register('com.e2e.halfway', (_a, _k, details) => {
        details.progress?.(['half']);
        throw new autobahn.Error('com.e2e.error.halfway', ['stopped']);
      });
      const progress: unknown[] = [];
      const error = await rejection<AbError>(caller.session.call('com.e2e.halfway', [], {}, { receive_progress: true }).then(undefined, undefined, (update) => progress.push(update)));
      expect(progress).toEqual(['half']);
      expect(error).toMatchObject({ error: 'com.e2e.error.halfway', args: ['stopped'] });
    });

    it('times a call out router-side (wamp.error.timeout) and discards the late answer', async () => {
      const callee = await connect();
      const caller = await connect();
      const pending: Array<(value: string) => void> = [];
      await callee.session.register('com.e2e.slow', () => new Promise<string>((resolve) => pending.push(resolve)));
      await callee.session.register('com.e2e.fast', () => 'fast');
      const error = await rejection<AbError>(caller.session.call('com.e2e.slow', [], {}, { timeout: 30 }));
      expect(error.error).toBe('wamp.error.timeout');
      pending[0]!('too late');
      // The late YIELD is discarded: a RESULT for a call autobahn no longer has would be a
      // protocol violation (afterEach checks), and both sessions still work.
      expect(await caller.session.call('com.e2e.fast')).toBe('fast');
    });

    it("cancels with mode 'kill': the router answers wamp.error.canceled (the callee cannot be interrupted)", async () => {
      const callee = await connect();
      const caller = await connect();
      const pending: Array<(value: string) => void> = [];
      await callee.session.register('com.e2e.cancel', () => new Promise<string>((resolve) => pending.push(resolve)));
      await callee.session.register('com.e2e.fast', () => 'fast');
      const call = caller.session.call('com.e2e.cancel');
      await waitFor(() => pending.length === 1, 'the invocation');
      call.cancel({ mode: 'kill' });
      expect((await rejection<AbError>(call)).error).toBe('wamp.error.canceled');
      // No INTERRUPT reached the callee (autobahn would close with 3002), its late answer is dropped.
      pending[0]!('too late');
      expect(await caller.session.call('com.e2e.fast')).toBe('fast');
    });

    it('cancels without a mode (skip): autobahn rejects locally and the router sends nothing to trip over', async () => {
      const callee = await connect();
      const caller = await connect();
      const pending: Array<(value: string) => void> = [];
      await callee.session.register('com.e2e.skip', () => new Promise<string>((resolve) => pending.push(resolve)));
      await callee.session.register('com.e2e.fast', () => 'fast');
      const call = caller.session.call('com.e2e.skip');
      await waitFor(() => pending.length === 1, 'the invocation');
      call.cancel();
      expect(await rejection<AbError>(call)).toMatchObject({ error: 'Cancelled' });
      pending[0]!('too late');
      // An ERROR or RESULT for the deleted call would close autobahn with 3002 (afterEach checks);
      // the callee's late YIELD comes before its answer here, so it has been handled by now.
      expect(await caller.session.call('com.e2e.fast')).toBe('fast');
    });

    it('fails a pending call with wamp.error.canceled when its callee leaves', async () => {
      const callee = await connect();
      const caller = await connect();
      let invoked = false;
      await callee.session.register('com.e2e.orphan', () => {
        invoked = true;
        return new Promise(() => {});
      });
      const call = caller.session.call('com.e2e.orphan');
      await waitFor(() => invoked, 'the invocation');
      callee.connection.close();
      expect((await rejection<AbError>(call)).error).toBe('wamp.error.canceled');
    });
  });

  describe('meta API', () => {
    it('counts, lists and describes sessions (wamp.session.count/list/get)', async () => {
      const clients = await Promise.all([connect(), connect(), connect()]);
      const ids = clients.map((c) => c.session.id);
      const first = clients[0]!;
      expect(await first.session.call('wamp.session.count')).toBe(3);
      expect(await first.session.call('wamp.session.count', [['anonymous']])).toBe(3);
      expect(await first.session.call('wamp.session.count', [['user']])).toBe(0);
      expect(((await first.session.call('wamp.session.list')) as number[]).sort()).toEqual([...ids].sort());
      expect(await first.session.call('wamp.session.get', [ids[1]])).toMatchObject({
        session: ids[1],
        authid: String(ids[1]),
        authrole: 'anonymous',
        authmethod: 'anonymous',
        transport: { protocol: `wamp.2.${serializer}`, serializer },
      });
      expect((await rejection<AbError>(first.session.call('wamp.session.get', [1]))).error).toBe('wamp.error.no_such_session');
    });

    it('publishes wamp.session.on_join and on_leave', async () => {
      const watcher = await connect();
      const joins = inbox<Args>();
      const leaves = inbox<Args>();
      await watcher.session.subscribe('wamp.session.on_join', (args) => joins.push(args));
      await watcher.session.subscribe('wamp.session.on_leave', (args) => leaves.push(args));
      const client = await connect();
      const id = client.session.id;
      const [join] = await joins.take(1);
      expect(join).toEqual([expect.objectContaining({ session: id, authid: String(id), authrole: 'anonymous', authmethod: 'anonymous' })]);
      client.connection.close();
      expect(await leaves.take(1)).toEqual([[id, String(id), 'anonymous']]);
    });

    it('kills by authid and kills all, excluding the caller (wamp.session.kill_by_authid/kill_all)', async () => {
      const [admin, one, two, three] = await Promise.all([connect(), connect(), connect(), connect()]);
      const victim = one.session.id;
      expect(await admin.session.call('wamp.session.kill_by_authid', [String(victim)])).toEqual([victim]);
      expect((await one.closed).details).toMatchObject({ reason: 'wamp.close.killed' });
      expect(await admin.session.call('wamp.session.kill_all', [], { reason: 'com.e2e.maintenance', message: 'bye all' })).toBe(2);
      for (const victim of [two, three]) expect((await victim.closed).details).toMatchObject({ reason: 'com.e2e.maintenance', message: 'bye all' });
      expect(await admin.session.call('wamp.session.count')).toBe(1);
    });

    it('publishes registration and subscription meta events in order (on_create before on_register, on_unregister before on_delete)', async () => {
      const watcher = await connect();
      const events = inbox<string>();
      const topics = ['wamp.registration.on_create', 'wamp.registration.on_register', 'wamp.registration.on_unregister', 'wamp.registration.on_delete', 'wamp.subscription.on_create', 'wamp.subscription.on_subscribe', 'wamp.subscription.on_unsubscribe', 'wamp.subscription.on_delete'];
      const payloads: Record<string, Args> = {};
      for (const topic of topics) {
        await watcher.session.subscribe(topic, (args) => {
          payloads[topic] = args;
          events.push(topic.replace(/^wamp\./, ''));
        });
      }
      const client = await connect();
      const registration = await client.session.register('com.meta.events.proc', () => null);
      await client.session.unregister(registration);
      const subscription = await client.session.subscribe('com.meta.events.topic', () => {});
      await client.session.unsubscribe(subscription);
      expect(await events.take(8)).toEqual(topics.map((topic) => topic.replace(/^wamp\./, '')));
      expect(payloads['wamp.registration.on_create']).toEqual([client.session.id, expect.objectContaining({ id: registration.id, uri: 'com.meta.events.proc', match: 'exact', invoke: 'single' })]);
      expect(payloads['wamp.registration.on_delete']).toEqual([client.session.id, registration.id]);
      expect(payloads['wamp.subscription.on_subscribe']).toEqual([client.session.id, subscription.id]);
    });

    it('lists, looks up and matches registrations (wamp.registration.list/lookup/match)', async () => {
      const callee = await connect();
      const exact = await callee.session.register('com.meta.proc.exact', () => 1);
      const prefix = await callee.session.register('com.meta.proc.', () => 2, { match: 'prefix' });
      const wildcard = await callee.session.register('com.meta..wild', () => 3, { match: 'wildcard' });
      const s = callee.session;
      const list = (await s.call('wamp.registration.list')) as Record<string, number[]>;
      expect(list).toEqual({ exact: [exact.id], prefix: [prefix.id], wildcard: [wildcard.id] });
      expect(await s.call('wamp.registration.lookup', ['com.meta.proc.exact'])).toBe(exact.id);
      expect(await s.call('wamp.registration.lookup', ['com.meta.proc.', { match: 'prefix' }])).toBe(prefix.id);
      expect(await s.call('wamp.registration.lookup', ['com.meta.proc.'])).toBeNull();
      expect(await s.call('wamp.registration.match', ['com.meta.proc.exact'])).toBe(exact.id);
      expect(await s.call('wamp.registration.match', ['com.meta.proc.other'])).toBe(prefix.id);
      expect(await s.call('wamp.registration.match', ['com.meta.x.wild'])).toBe(wildcard.id);
      expect(await s.call('wamp.registration.match', ['org.nothing'])).toBeNull();
      expect(await s.call('wamp.registration.get', [prefix.id])).toMatchObject({ id: prefix.id, uri: 'com.meta.proc.', match: 'prefix', invoke: 'single' });
      expect(await s.call('wamp.registration.list_callees', [exact.id])).toEqual([callee.session.id]);
      expect(await s.call('wamp.registration.count_callees', [wildcard.id])).toBe(1);
      expect((await rejection<AbError>(s.call('wamp.registration.get', [123456789]))).error).toBe('wamp.error.no_such_registration');
    });

    it('lists and matches subscriptions and counts subscribers (wamp.subscription.list/match/count_subscribers)', async () => {
      const [one, two] = await Promise.all([connect(), connect()]);
      const exact = await one.session.subscribe('com.meta.topic', () => {});
      const same = await two.session.subscribe('com.meta.topic', () => {});
      const prefix = await two.session.subscribe('com.meta.', () => {}, { match: 'prefix' });
      // "Subscription ids are shared per (match, uri)".
      expect(same.id).toBe(exact.id);
      const s = one.session;
      const list = (await s.call('wamp.subscription.list')) as Record<string, number[]>;
      expect(list.exact).toContain(exact.id);
      expect(list.prefix).toContain(prefix.id);
      expect(((await s.call('wamp.subscription.match', ['com.meta.topic'])) as number[]).sort()).toEqual([exact.id, prefix.id].sort());
      expect(await s.call('wamp.subscription.match', ['org.nothing'])).toBeNull();
      expect(await s.call('wamp.subscription.count_subscribers', [exact.id])).toBe(2);
      expect(await s.call('wamp.subscription.count_subscribers', [prefix.id])).toBe(1);
      expect(((await s.call('wamp.subscription.list_subscribers', [exact.id])) as number[]).sort()).toEqual([one.session.id, two.session.id].sort());
      expect(await s.call('wamp.subscription.lookup', ['com.meta.', { match: 'prefix' }])).toBe(prefix.id);
      expect(await s.call('wamp.subscription.get', [exact.id])).toMatchObject({ id: exact.id, uri: 'com.meta.topic', match: 'exact' });
      expect((await rejection<AbError>(s.call('wamp.subscription.count_subscribers', [123456789]))).error).toBe('wamp.error.no_such_subscription');
    });
  });

  describe('authentication and authorization', () => {
    const secure = (options: OpenOptions) => connect({ realm: 'secure', ...options });

    it('authenticates with a ticket', async () => {
      const { details } = await secure({ authmethods: ['ticket'], authid: 'alice', onchallenge: (_s, method) => (method === 'ticket' ? 'alice-ticket' : '') });
      expect(details).toMatchObject({ realm: 'secure', authid: 'alice', authrole: 'user', authmethod: 'ticket', authprovider: 'e2e' });
    });

    it('authenticates with WAMP-CRA', async () => {
      const { details } = await secure({ authmethods: ['wampcra'], authid: 'bob', onchallenge: (_s, _m, extra) => autobahn.auth_cra.sign('bob-secret', extra.challenge as string) });
      expect(details).toMatchObject({ authid: 'bob', authrole: 'user', authmethod: 'wampcra' });
    });

    it('authenticates with salted WAMP-CRA', async () => {
      let salt: unknown;
      const { details } = await secure({
        authmethods: ['wampcra'],
        authid: 'carol',
        onchallenge: (_s, _m, extra) => {
          salt = extra.salt;
          const key = autobahn.auth_cra.derive_key('carol-password', extra.salt as string, extra.iterations as number, extra.keylen as number);
          return autobahn.auth_cra.sign(key, extra.challenge as string);
        },
      });
      expect(salt).toBe('carol-salt');
      expect(details).toMatchObject({ authid: 'carol', authrole: 'user', authmethod: 'wampcra' });
    });

    it('authenticates with WAMP-Cryptosign', async () => {
      const { details } = await secure({
        authmethods: ['cryptosign'],
        authextra: { pubkey: DAVE_PUBKEY },
        onchallenge: (_s, method, extra) => (method === 'cryptosign' ? autobahn.auth_cryptosign.sign_challenge(DAVE, extra) : ''),
      });
      expect(details).toMatchObject({ authid: 'dave', authrole: 'user', authmethod: 'cryptosign' });
    });

    it('surfaces a denied login as ABORT', async () => {
      const refused = (options: OpenOptions) => secure(options).then(() => undefined, (error: Refusal) => error.details);
      expect(await refused({ authmethods: ['ticket'], authid: 'alice', onchallenge: () => 'wrong' })).toMatchObject({ reason: 'wamp.error.authentication_denied' });
      expect(await refused({ authmethods: ['wampcra'], authid: 'bob', onchallenge: (_s, _m, extra) => autobahn.auth_cra.sign('not-the-secret', extra.challenge as string) })).toMatchObject({ reason: 'wamp.error.authentication_denied' });
      const stranger = autobahn.nacl.sign.keyPair.fromSeed(new Uint8Array(randomBytes(32)));
      expect(await refused({ authmethods: ['cryptosign'], authextra: { pubkey: autobahn.auth_cryptosign.public_key(stranger) }, onchallenge: (_s, _m, extra) => autobahn.auth_cryptosign.sign_challenge(stranger, extra) })).toMatchObject({ reason: 'wamp.error.authentication_denied' });
      // No credentials at all: anonymous is not a way into `secure`.
      expect(await refused({})).toMatchObject({ reason: 'wamp.error.authentication_denied' });
    });

    it('drops the session when the client gives up with ABORT (onchallenge threw)', async () => {
      const refusal = await secure({
        authmethods: ['ticket'],
        authid: 'alice',
        onchallenge: () => {
          throw new Error('no ticket here');
        },
      }).then(
        () => undefined,
        (error: Refusal) => error,
      );
      expect(refusal).toBeDefined();
      await waitFor(() => server.connections() === 0, 'the router to drop the connection');
    });

    it("authorizes by the realm's roles: a denied publish, call or register gets not_authorized", async () => {
      const { session } = await secure({ authmethods: ['ticket'], authid: 'alice', onchallenge: () => 'alice-ticket' });
      await session.register('app.echo', (args) => args[0]);
      expect(await session.call('app.echo', ['ok'])).toBe('ok');
      await session.subscribe('app.admin.news', () => {});
      expect((await rejection<AbError>(session.publish('app.admin.news', ['x'], {}, { acknowledge: true })!)).error).toBe('wamp.error.not_authorized');
      expect((await rejection<AbError>(session.call('app.admin.reboot'))).error).toBe('wamp.error.not_authorized');
      expect((await rejection<AbError>(session.register('com.elsewhere.proc', () => 1))).error).toBe('wamp.error.not_authorized');
      expect((await rejection<AbError>(session.subscribe('com.elsewhere.topic', () => {}))).error).toBe('wamp.error.not_authorized');
      expect(await session.call('wamp.session.count')).toBe(1);
    });
  });
});

// ------------------------------------------------------------------ autobahn's default serializers

describe('autobahn with its default serializers', () => {
  it('offers json and msgpack; the router picks one it serves (its preference: json)', async () => {
    const connection = new autobahn.Connection({ url: server.url, realm: 'realm1', max_retries: 0, retry_if_unreachable: false, on_internal_error: (error: unknown) => internalErrors.push(error ?? 'protocol violation') });
    const closed = new Promise<unknown>((resolve) => (connection.onclose = () => (resolve(undefined), true)));
    opened.push({ connection, closed });
    const [session, details] = await new Promise<[AbSession, Kwargs]>((resolve) => {
      connection.onopen = (s, d) => resolve([s, d]);
      connection.open();
    });
    expect(details.transport).toMatchObject({ protocol: 'wamp.2.json' });
    expect(await session.call('wamp.session.count')).toBe(1);
  });
});

// ------------------------------------------------------------------ router shutdown

describe('router shutdown', () => {
  it('sends every session GOODBYE wamp.close.system_shutdown', async () => {
    const other = await startServer();
    const connection = new autobahn.Connection({ url: other.url, realm: 'realm1', max_retries: 0, retry_if_unreachable: false, on_internal_error: (error: unknown) => internalErrors.push(error ?? 'protocol violation') });
    const closed = new Promise<Kwargs>((resolve) => (connection.onclose = (_reason, details) => (resolve(details), true)));
    await new Promise<void>((resolve) => {
      connection.onopen = () => resolve();
      connection.open();
    });
    await other.close();
    expect(await closed).toMatchObject({ reason: 'wamp.close.system_shutdown' });
  });
});

// ------------------------------------------------------------------ bad input

describe('bad input from a raw WebSocket', () => {
  /** Sends `frames` on a fresh `wamp.2.json` connection; resolves with what came back and the close code. */
  function rawExchange(...frames: string[]): Promise<{ messages: unknown[]; code: number }> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(server.url, 'wamp.2.json');
      const messages: unknown[] = [];
      ws.on('open', () => frames.forEach((frame) => ws.send(frame)));
      ws.on('message', (data) => messages.push(JSON.parse(String(data))));
      ws.on('close', (code) => resolve({ messages, code }));
      ws.on('error', reject);
    });
  }

  it('answers invalid JSON and a message before HELLO with ABORT and a close code, while an autobahn session keeps working', async () => {
    const callee = await open('json');
    await callee.session.register('com.e2e.alive', () => 'alive');

    const garbage = await rawExchange('{not json');
    expect(garbage.messages).toEqual([[3, { message: expect.stringContaining('not JSON') }, 'wamp.error.protocol_violation']]);
    expect(garbage.code).toBe(1007);

    const early = await rawExchange(JSON.stringify([16, 1, {}, 'com.e2e.topic']));
    expect(early.messages).toEqual([[3, { message: 'PUBLISH before HELLO' }, 'wamp.error.protocol_violation']]);
    expect(early.code).toBe(1002);

    expect(await callee.session.call('com.e2e.alive')).toBe('alive');
  });
});
