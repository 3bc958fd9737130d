import { describe, expect, it, vi } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { createTestHarness } from '@protoplex/core/testing';
import type { Dict } from './codec.js';
import { MessageType, Metric, WampError, type SerializerId } from './constants.js';
import { callMeta } from './meta.js';
import type { Realm } from './realm.js';
import type { WampSession } from './session.js';
import type { WampOptions } from './types.js';
import { ALL_ROLES, createRig, type Rig, type WampPeer } from './_test-utils.js';

// The meta helper owns callMeta; here it runs as written unless a test says otherwise.
vi.mock('./meta.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('./meta.js')>();
  return { ...actual, callMeta: vi.fn(actual.callMeta) };
});

const { ERROR, CALL, CANCEL, RESULT, REGISTER, REGISTERED, UNREGISTER, UNREGISTERED, INVOCATION, INTERRUPT, YIELD, ABORT, GOODBYE } = MessageType;

/** A callee like autobahn's: progressive results, no call_canceling (so never an INTERRUPT). */
const PLAIN: Dict = {
  caller: { features: { caller_identification: true, progressive_call_results: true, call_canceling: true } },
  callee: { features: { caller_identification: true, pattern_based_registration: true, shared_registration: true, progressive_call_results: true } },
};
/** A callee like wampy's: neither progressive results nor canceling. */
const WAMPY: Dict = {
  caller: { features: { caller_identification: true, progressive_call_results: true, call_canceling: true, call_timeout: true } },
  callee: { features: { caller_identification: true, pattern_based_registration: true, shared_registration: true } },
};
/** A callee with every feature the dealer can use. */
const FULL: Dict = {
  caller: { features: { caller_identification: true, progressive_call_results: true, call_canceling: true, progressive_call_invocations: true } },
  callee: {
    features: {
      caller_identification: true,
      pattern_based_registration: true,
      shared_registration: true,
      progressive_call_results: true,
      progressive_call_invocations: true,
      call_canceling: true,
      call_timeout: true,
      payload_passthru_mode: true,
    },
  },
};
/** Progressive call invocations without call canceling: "considered ... as not supporting" them. */
const NO_CANCEL_PCI: Dict = { callee: { features: { progressive_call_invocations: true, progressive_call_results: true } } };

/** A joined session with its own request counter. */
class Client {
  request = 0;
  constructor(readonly wire: WampPeer) {}
  get id(): number {
    return this.wire.session;
  }
  get realm(): Realm {
    return (this.wire.peer.session as unknown as WampSession).realm;
  }
  get closed(): number | undefined {
    return this.wire.peer.closed?.code;
  }
  send(message: readonly unknown[]): void {
    this.wire.send(message);
  }
  take(): unknown[][] {
    return this.wire.take();
  }
  register(uri: string, options: Dict = {}): number {
    const request = ++this.request;
    this.send([REGISTER, request, options, uri]);
    const got = this.take();
    expect(got).toEqual([[REGISTERED, request, expect.any(Number)]]);
    return got[0]![2] as number;
  }
  /** Sends CALL and returns its request id. */
  call(uri: string, options: Dict = {}, args?: unknown[], kwargs?: Dict): number {
    const request = ++this.request;
    this.send(payload([CALL, request, options, uri], args, kwargs));
    return request;
  }
  /** Takes exactly one INVOCATION and returns [request, registration, details, args, kwargs]. */
  invocation(): { request: number; registration: number; details: Dict; args?: unknown[]; kwargs?: Dict } {
    const got = this.take();
    expect(got).toHaveLength(1);
    expect(got[0]![0]).toBe(INVOCATION);
    const [, request, registration, details, args, kwargs] = got[0]! as [number, number, number, Dict, unknown[]?, Dict?];
    return { request, registration, details, ...(args ? { args } : {}), ...(kwargs ? { kwargs } : {}) };
  }
}

function payload(list: unknown[], args?: unknown[], kwargs?: Dict): unknown[] {
  if (kwargs) return [...list, args ?? [], kwargs];
  if (args) return [...list, args];
  return list;
}

async function join(rig: Rig, roles: Dict = ALL_ROLES, serializer: SerializerId = 'json'): Promise<Client> {
  return new Client(await rig.join({ roles, serializer }));
}

const anyText = [expect.any(String)];
const refusal = (requestType: number, request: number, error: string) => [ERROR, requestType, request, {}, error, anyText];

describe('WAMP dealer: registrations', () => {
  it('answers REGISTER with REGISTERED and keeps the registration details', async () => {
    const rig = createRig();
    const callee = await join(rig);
    const id = callee.register('com.example.add');
    const dealer = callee.realm.dealer;
    expect(dealer.get(id)).toEqual({ id, uri: 'com.example.add', match: 'exact', invoke: 'single', created: new Date(rig.harness.clock.now()).toISOString() });
    expect(dealer.lookup('com.example.add', 'exact')).toBe(id);
    expect(dealer.lookup('com.example.add', 'prefix')).toBeNull();
    expect(dealer.match('com.example.add')).toBe(id);
    expect(dealer.callees(id)).toEqual([callee.id]);
    expect(dealer.list()).toEqual({ exact: [id], prefix: [], wildcard: [] });
    expect(dealer.stats()).toEqual([{ ...dealer.get(id), callees: 1 }]);
  });

  it('refuses a second callee of a single registration with procedure_already_exists', async () => {
    const rig = createRig();
    const a = await join(rig);
    const b = await join(rig);
    a.register('p');
    b.send([REGISTER, 1, {}, 'p']);
    expect(b.take()).toEqual([refusal(REGISTER, 1, WampError.ProcedureAlreadyExists)]);
    b.send([REGISTER, 2, { invoke: 'roundrobin' }, 'p']);
    expect(b.take()).toEqual([refusal(REGISTER, 2, WampError.ProcedureAlreadyExists)]);
  });

  it('refuses another invocation policy with procedure_exists_with_different_invocation_policy', async () => {
    const rig = createRig();
    const a = await join(rig);
    const b = await join(rig);
    a.register('p', { invoke: 'roundrobin' });
    b.send([REGISTER, 1, { invoke: 'first' }, 'p']);
    b.send([REGISTER, 2, {}, 'p']);
    expect(b.take()).toEqual([refusal(REGISTER, 1, WampError.ProcedureExistsWithDifferentInvocationPolicy), refusal(REGISTER, 2, WampError.ProcedureExistsWithDifferentInvocationPolicy)]);
  });

  it('refuses the same session registering a shared procedure twice, and an unknown policy', async () => {
    const rig = createRig();
    const a = await join(rig);
    a.register('p', { invoke: 'last' });
    a.send([REGISTER, 2, { invoke: 'last' }, 'p']);
    a.send([REGISTER, 3, { invoke: 'sometimes' }, 'q']);
    expect(a.take()).toEqual([refusal(REGISTER, 2, WampError.ProcedureAlreadyExists), refusal(REGISTER, 3, WampError.InvalidArgument)]);
    expect(a.realm.dealer.lookup('q', 'exact')).toBeNull();
  });

  it('shares one registration id per (match, uri) across callees, in registration order', async () => {
    const rig = createRig();
    const [a, b, c] = [await join(rig), await join(rig, ALL_ROLES, 'msgpack'), await join(rig, ALL_ROLES, 'cbor')];
    const id = a.register('p', { invoke: 'random' });
    expect(b.register('p', { invoke: 'random' })).toBe(id);
    expect(c.register('p', { invoke: 'random' })).toBe(id);
    const other = a.register('p', { match: 'prefix' });
    expect(other).not.toBe(id);
    const dealer = a.realm.dealer;
    expect(dealer.callees(id)).toEqual([a.id, b.id, c.id]);
    expect(dealer.stats().map((s) => [s.id, s.callees])).toEqual([
      [id, 3],
      [other, 1],
    ]);
  });

  it('answers UNREGISTER with no_such_registration unless the session is a callee of it', async () => {
    const rig = createRig();
    const a = await join(rig);
    const b = await join(rig);
    const id = a.register('p');
    b.send([UNREGISTER, 1, id]);
    b.send([UNREGISTER, 2, id + 1000]);
    b.request = 2;
    expect(b.take()).toEqual([refusal(UNREGISTER, 1, WampError.NoSuchRegistration), refusal(UNREGISTER, 2, WampError.NoSuchRegistration)]);
    a.send([UNREGISTER, 2, id]);
    expect(a.take()).toEqual([[UNREGISTERED, 2]]);
    a.send([UNREGISTER, 3, id]);
    expect(a.take()).toEqual([refusal(UNREGISTER, 3, WampError.NoSuchRegistration)]);
    const dealer = a.realm.dealer;
    expect([dealer.get(id), dealer.lookup('p', 'exact'), dealer.callees(id), dealer.stats()]).toEqual([undefined, null, undefined, []]);
    b.call('p');
    expect(b.take()).toEqual([refusal(CALL, 3, WampError.NoSuchProcedure)]);
  });

  it('publishes on_create then on_register, on_unregister then on_delete when the last callee goes', async () => {
    const rig = createRig();
    const a = await join(rig);
    const b = await join(rig);
    const meta = vi.spyOn(a.realm.broker, 'publishMeta');
    const id = a.register('p', { invoke: 'roundrobin' });
    b.register('p', { invoke: 'roundrobin' });
    const info = a.realm.dealer.get(id);
    expect(meta.mock.calls).toEqual([
      ['wamp.registration.on_create', [a.id, info]],
      ['wamp.registration.on_register', [a.id, id]],
      ['wamp.registration.on_register', [b.id, id]],
    ]);
    meta.mockClear();
    a.send([UNREGISTER, 2, id]);
    b.send([UNREGISTER, 2, id]);
    expect(meta.mock.calls).toEqual([
      ['wamp.registration.on_unregister', [a.id, id]],
      ['wamp.registration.on_unregister', [b.id, id]],
      ['wamp.registration.on_delete', [b.id, id]],
    ]);
  });

  it('publishes no registration meta events for wamp.* procedures', async () => {
    const rig = createRig();
    const a = await join(rig);
    const session = a.wire.peer.session as unknown as WampSession;
    const meta = vi.spyOn(a.realm.broker, 'publishMeta');
    // session.ts refuses wamp.* REGISTERs from clients; the dealer keeps the rule on its own.
    a.realm.dealer.register(session, { type: REGISTER, request: 1, options: {}, procedure: 'wamp.test.proc' });
    const id = a.realm.dealer.lookup('wamp.test.proc', 'exact')!;
    a.realm.dealer.unregister(session, { type: UNREGISTER, request: 2, registration: id });
    expect(a.take()).toEqual([
      [REGISTERED, 1, id],
      [UNREGISTERED, 2],
    ]);
    expect(meta).not.toHaveBeenCalled();
  });
});

describe('WAMP dealer: calls', () => {
  it('routes CALL to INVOCATION and YIELD to RESULT across json, msgpack and cbor, payload unchanged', async () => {
    const rig = createRig();
    for (const [from, to] of [
      ['json', 'msgpack'],
      ['msgpack', 'cbor'],
      ['cbor', 'json'],
    ] as const) {
      const callee = await join(rig, ALL_ROLES, to);
      const caller = await join(rig, ALL_ROLES, from);
      const id = callee.register(`p.${from}`);
      const args = [1, 'two', { three: [3.5, null, true] }, -(2 ** 40)];
      const kwargs = { nested: { list: [1, 2], text: 'é' } };
      const request = caller.call(`p.${from}`, {}, args, kwargs);
      expect(callee.take()).toEqual([[INVOCATION, 1, id, {}, args, kwargs]]);
      callee.send([YIELD, 1, {}, ['ok'], { n: 1 }]);
      expect(caller.take()).toEqual([[RESULT, request, {}, ['ok'], { n: 1 }]]);
      expect(caller.realm.dealer.activeCalls()).toBe(0);
    }
  });

  it('passes bytes from a binary caller to a json callee and back', async () => {
    const rig = createRig();
    const callee = await join(rig, ALL_ROLES, 'json');
    const caller = await join(rig, ALL_ROLES, 'msgpack');
    callee.register('bytes');
    caller.call('bytes', {}, [new Uint8Array([0, 1, 254, 255])]);
    const invocation = callee.invocation();
    expect([...(invocation.args![0] as Uint8Array)]).toEqual([0, 1, 254, 255]);
    callee.send([YIELD, invocation.request, {}, [invocation.args![0]]]);
    const [result] = caller.take();
    expect([...((result![3] as unknown[])[0] as Uint8Array)]).toEqual([0, 1, 254, 255]);
  });

  it('sends REGISTERED before the first INVOCATION and invocations in call order', async () => {
    const rig = createRig();
    const callee = await join(rig);
    const caller = await join(rig);
    callee.send([REGISTER, 1, {}, 'a']);
    callee.send([REGISTER, 2, {}, 'b']);
    caller.call('a', {}, [1]);
    caller.call('b', {}, [2]);
    caller.call('a', {}, [3]);
    const got = callee.take();
    expect(got.map((m) => m[0])).toEqual([REGISTERED, REGISTERED, INVOCATION, INVOCATION, INVOCATION]);
    // INVOCATION.Request "MUST start at 1 and increase by 1" per session.
    expect(got.slice(2).map((m) => [m[1], m[4]])).toEqual([
      [1, [1]],
      [2, [2]],
      [3, [3]],
    ]);
  });

  it('answers CALL for an unknown procedure with no_such_procedure', async () => {
    const rig = createRig();
    const caller = await join(rig);
    caller.call('nobody.home');
    expect(caller.take()).toEqual([refusal(CALL, 1, WampError.NoSuchProcedure)]);
  });

  it('keeps the payload rules: kwargs only gives RESULT [], kwargs; no payload gives none', async () => {
    const rig = createRig();
    const callee = await join(rig);
    const caller = await join(rig);
    callee.register('p');
    caller.call('p');
    caller.call('p');
    expect(callee.take()).toEqual([
      [INVOCATION, 1, expect.any(Number), {}],
      [INVOCATION, 2, expect.any(Number), {}],
    ]);
    callee.send([YIELD, 1, {}, [], { only: 'kwargs' }]);
    callee.send([YIELD, 2, {}]);
    expect(caller.take()).toEqual([
      [RESULT, 1, {}, [], { only: 'kwargs' }],
      [RESULT, 2, {}],
    ]);
  });

  it('forwards a callee ERROR to the caller with its URI, details, args and kwargs', async () => {
    const rig = createRig();
    const callee = await join(rig, ALL_ROLES, 'cbor');
    const caller = await join(rig);
    callee.register('p');
    const request = caller.call('p');
    const { request: invocation } = callee.invocation();
    callee.send([ERROR, INVOCATION, invocation, { why: 'bad' }, 'com.example.error.bad_year', [1830], { year: 1830 }]);
    expect(caller.take()).toEqual([[ERROR, CALL, request, { why: 'bad' }, 'com.example.error.bad_year', [1830], { year: 1830 }]]);
    expect(caller.realm.dealer.activeCalls()).toBe(0);
  });

  it('discloses the caller for disclose_me or a disclose_caller registration, and not otherwise', async () => {
    const rig = createRig();
    const callee = await join(rig);
    const caller = await join(rig);
    callee.register('open');
    callee.register('told', { disclose_caller: true });
    const disclosed = { caller: caller.id, caller_authid: String(caller.id), caller_authrole: 'anonymous' };
    caller.call('open');
    expect(callee.invocation().details).toEqual({});
    caller.call('open', { disclose_me: true });
    expect(callee.invocation().details).toEqual(disclosed);
    caller.call('told');
    expect(callee.invocation().details).toEqual(disclosed);
  });

  it('gives wamp.* procedures to the meta API first', async () => {
    const rig = createRig();
    const caller = await join(rig);
    const meta = vi.mocked(callMeta);
    meta.mockClear();
    meta.mockImplementationOnce((_realm, peer, message) => {
      peer.send({ type: RESULT, request: message.request, details: {}, args: ['meta'] });
      return true;
    });
    caller.call('wamp.session.count');
    expect(caller.take()).toEqual([[RESULT, 1, {}, ['meta']]]);
    expect(meta).toHaveBeenCalledTimes(1);
    expect(meta.mock.calls[0]![0]).toBe(caller.realm);
    // A registered application procedure never goes through the meta API.
    const callee = await join(rig);
    callee.register('app.proc');
    caller.call('app.proc');
    expect(callee.invocation().details).toEqual({});
    expect(meta).toHaveBeenCalledTimes(1);
  });

  it('counts calls in wamp_calls_total', async () => {
    const increment = vi.fn();
    const rig = createRig({}, createTestHarness({ metrics: { increment, set: vi.fn(), observe: vi.fn() } }));
    const callee = await join(rig);
    const caller = await join(rig);
    callee.register('p');
    caller.call('p');
    caller.call('missing');
    expect(increment.mock.calls.filter(([name]) => name === Metric.Calls)).toHaveLength(2);
  });

  it('aborts a YIELD or ERROR for an INVOCATION the router never sent', async () => {
    const rig = createRig();
    const stranger = await join(rig);
    stranger.send([YIELD, 1, {}]);
    expect(stranger.take()).toEqual([[ABORT, { message: expect.stringContaining('never sent') }, WampError.ProtocolViolation]]);
    expect(stranger.closed).toBe(1002);

    const callee = await join(rig);
    const caller = await join(rig);
    callee.register('p');
    caller.call('p');
    callee.take();
    callee.send([ERROR, INVOCATION, 2, {}, 'x.y']);
    expect(callee.take()[0]![0]).toBe(ABORT);
    expect(callee.closed).toBe(1002);
    // The callee's pending invocation ended with it.
    expect(caller.take()).toEqual([[ERROR, CALL, 1, {}, WampError.Canceled, anyText]]);
  });
});

describe('WAMP dealer: pattern-based registrations', () => {
  it('supplies INVOCATION.Details.procedure for prefix and wildcard registrations', async () => {
    const rig = createRig();
    const callee = await join(rig);
    const caller = await join(rig);
    const prefix = callee.register('com.myapp.myobject1', { match: 'prefix' });
    const wildcard = callee.register('com.myapp..myprocedure1', { match: 'wildcard' });
    for (const uri of ['com.myapp.myobject1.myprocedure1', 'com.myapp.myobject1-mysubobject1', 'com.myapp.myobject1']) {
      caller.call(uri);
      expect(callee.invocation()).toMatchObject({ registration: prefix, details: { procedure: uri } });
    }
    caller.call('com.myapp.myobject2.myprocedure1');
    expect(callee.invocation()).toMatchObject({ registration: wildcard, details: { procedure: 'com.myapp.myobject2.myprocedure1' } });
    for (const uri of ['com.myapp.myobject', 'com.myapp.myobject2.myprocedure1.sub', 'com.myapp2.myobject1.myprocedure1']) {
      const request = caller.call(uri);
      expect(caller.take()).toEqual([refusal(CALL, request, WampError.NoSuchProcedure)]);
    }
  });

  it('picks the registration the spec examples pick', async () => {
    const rig = createRig();
    const callee = await join(rig);
    const caller = await join(rig);
    const rpc = [
      callee.register('a1.b2.c3.d4.e55'),
      callee.register('a1.b2.c3', { match: 'prefix' }),
      callee.register('a1.b2.c3.d4', { match: 'prefix' }),
      callee.register('a1.b2..d4.e5', { match: 'wildcard' }),
      callee.register('a1.b2.c33..e5', { match: 'wildcard' }),
      callee.register('a1.b2..d4.e5..g7', { match: 'wildcard' }),
      callee.register('a1.b2..d4..f6.g7', { match: 'wildcard' }),
    ];
    const check = (cases: Array<[string, number | null]>) => {
      for (const [uri, expected] of cases) {
        expect(caller.realm.dealer.match(uri)).toBe(expected);
        const request = caller.call(uri);
        if (expected === null) expect(caller.take()).toEqual([refusal(CALL, request, WampError.NoSuchProcedure)]);
        else expect(callee.invocation().registration).toBe(expected);
      }
    };
    check([
      ['a1.b2.c3.d4.e55', rpc[0]!],
      ['a1.b2.c3.d98.e74', rpc[1]!],
      ['a1.b2.c3.d4.e325', rpc[2]!],
      ['a1.b2.c55.d4.e5', rpc[3]!],
      // The example says "no prefix match" here, but 'a1.b2.c3' is a string prefix of
      // 'a1.b2.c33...', and "Prefix Matching" is on strings (its own example: `...myobject1`
      // matches `...myobject1-mysubobject1`); Crossbar routes this call to RPC 2 as well.
      ['a1.b2.c33.d4.e5', rpc[1]!],
      ['a1.b2.c88.d4.e5.f6.g7', rpc[5]!],
      ['a2.b2.c2.d2.e2', null],
    ]);
    // Without the prefix registrations the example's wildcard choice shows: RPC 5's first
    // portion (a1.b2.c33) is longer than RPC 4's (a1.b2).
    callee.send([UNREGISTER, ++callee.request, rpc[1]!]);
    callee.send([UNREGISTER, ++callee.request, rpc[2]!]);
    callee.take();
    check([
      ['a1.b2.c33.d4.e5', rpc[4]!],
      ['a1.b2.c55.d4.e5', rpc[3]!],
      ['a1.b2.c3.d4.e5', rpc[3]!],
      ['a1.b2.c88.d4.e5.f6.g7', rpc[5]!],
      ['a1.b2.c88.d4.e6.f6.g7', rpc[6]!],
    ]);
  });

  // A brute-force reading of "Calls matching multiple registrations": exact; else the longest
  // matching prefix; else among matching wildcards the one whose literal/wildcard pattern is
  // greatest left to right (a literal where the other has a wildcard: a longer portion before it).
  const reference = (registrations: Array<{ id: number; uri: string; match: string }>, uri: string): number | null => {
    const exact = registrations.find((r) => r.match === 'exact' && r.uri === uri);
    if (exact) return exact.id;
    const prefixes = registrations.filter((r) => r.match === 'prefix' && uri.startsWith(r.uri)).sort((x, y) => y.uri.length - x.uri.length);
    if (prefixes[0]) return prefixes[0].id;
    const parts = uri.split('.');
    const shape = (pattern: string) => pattern.split('.').map((c) => (c === '' ? '0' : '1')).join('');
    const wildcards = registrations
      .filter((r) => r.match === 'wildcard')
      .filter((r) => {
        const p = r.uri.split('.');
        return p.length === parts.length && p.every((c, i) => c === '' || c === parts[i]);
      })
      .sort((x, y) => (shape(x.uri) < shape(y.uri) ? 1 : shape(x.uri) > shape(y.uri) ? -1 : 0));
    return wildcards[0]?.id ?? null;
  };
  const component = fc.constantFrom('a', 'b', 'c');
  const uriArb = fc.array(component, { minLength: 1, maxLength: 4 }).map((parts) => parts.join('.'));
  const registrationArb = fc.oneof(
    uriArb.map((uri) => ({ match: 'exact', uri })),
    // Prefixes are string prefixes: cut a URI anywhere ('a.', 'a.b', '' are all prefixes).
    fc.tuple(uriArb, fc.nat()).map(([uri, cut]) => ({ match: 'prefix', uri: uri.slice(0, cut % (uri.length + 1)) })),
    fc.array(fc.oneof(component, fc.constant('')), { minLength: 1, maxLength: 4 })
      .map((parts) => parts.join('.'))
      .filter((uri) => uri !== '')
      .map((uri) => ({ match: 'wildcard', uri })),
  );

  test.prop([fc.uniqueArray(registrationArb, { maxLength: 10, selector: (r) => `${r.match} ${r.uri}` }), fc.array(uriArb, { minLength: 1, maxLength: 5 })], { numRuns: 150 })(
    'routes every CALL to the registration a brute-force reading of the spec picks',
    async (registrations, calls) => {
      const rig = createRig();
      const callee = await join(rig);
      const caller = await join(rig);
      const registered = registrations.map((r) => ({ ...r, id: callee.register(r.uri, { match: r.match }) }));
      for (const uri of calls) {
        const expected = reference(registered, uri);
        expect(caller.realm.dealer.match(uri)).toBe(expected);
        const request = caller.call(uri);
        if (expected === null) expect(caller.take()).toEqual([refusal(CALL, request, WampError.NoSuchProcedure)]);
        else {
          const invocation = callee.invocation();
          expect(invocation.registration).toBe(expected);
          const match = registered.find((r) => r.id === expected)!.match;
          expect(invocation.details).toEqual(match === 'exact' ? {} : { procedure: uri });
        }
      }
    },
  );
});

describe('WAMP dealer: shared registrations', () => {
  async function shared(invoke: string, count = 3) {
    const rig = createRig();
    const callees: Client[] = [];
    const serializers: SerializerId[] = ['json', 'msgpack', 'cbor'];
    for (let i = 0; i < count; i++) callees.push(await join(rig, ALL_ROLES, serializers[i % 3]));
    const caller = await join(rig);
    const id = callees[0]!.register('p', { invoke });
    for (const callee of callees.slice(1)) callee.register('p', { invoke });
    /** Calls once and says which callee got the INVOCATION (answering it). */
    const served = (): number => {
      caller.call('p');
      const hits = callees.map((callee) => callee.take());
      const index = hits.findIndex((messages) => messages.length > 0);
      expect(hits.filter((messages) => messages.length > 0)).toHaveLength(1);
      const invocation = hits[index]![0]!;
      expect(invocation[0]).toBe(INVOCATION);
      callees[index]!.send([YIELD, invocation[1], {}]);
      caller.take();
      return index;
    };
    return { rig, callees, caller, id, served };
  }

  it('cycles roundrobin in registration order and keeps the cycle when a callee unregisters', async () => {
    const { callees, id, served } = await shared('roundrobin');
    expect([served(), served(), served(), served(), served()]).toEqual([0, 1, 2, 0, 1]);
    callees[1]!.send([UNREGISTER, ++callees[1]!.request, id]);
    callees[1]!.take();
    // Callee 1 was last served; the one after it (2) is next, then the cycle wraps.
    expect([served(), served(), served()]).toEqual([2, 0, 2]);
    // Registering again puts callee 1 last in registration order: 0, 2, 1.
    callees[1]!.register('p', { invoke: 'roundrobin' });
    expect([served(), served(), served(), served()]).toEqual([1, 0, 2, 1]);
  });

  it('calls the oldest callee for first and the newest for last, also after unregistering', async () => {
    const first = await shared('first');
    expect([first.served(), first.served()]).toEqual([0, 0]);
    first.callees[0]!.send([UNREGISTER, ++first.callees[0]!.request, first.id]);
    first.callees[0]!.take();
    expect([first.served(), first.served()]).toEqual([1, 1]);

    const last = await shared('last');
    expect([last.served(), last.served()]).toEqual([2, 2]);
    last.callees[2]!.send([UNREGISTER, ++last.callees[2]!.request, last.id]);
    last.callees[2]!.take();
    expect(last.served()).toBe(1);
    last.callees[0]!.send([UNREGISTER, ++last.callees[0]!.request, last.id]);
    last.callees[0]!.take();
    expect(last.served()).toBe(1);
  });

  it('picks a random callee for random', async () => {
    const { served } = await shared('random');
    const random = vi.spyOn(Math, 'random');
    try {
      for (const value of [0, 0.5, 0.99, 0.34]) random.mockReturnValueOnce(value);
      expect([served(), served(), served(), served()]).toEqual([0, 1, 2, 1]);
    } finally {
      random.mockRestore();
    }
  });

  // Model: registrations in order (append-only history); roundrobin serves the first present
  // callee after the one served last, wrapping; first/last the oldest/newest present one.
  const op = fc.oneof(
    fc.record({ kind: fc.constant('register' as const), who: fc.integer({ min: 0, max: 2 }) }),
    fc.record({ kind: fc.constant('unregister' as const), who: fc.integer({ min: 0, max: 2 }) }),
    fc.record({ kind: fc.constant('call' as const) }),
  );
  test.prop([fc.constantFrom('roundrobin', 'first', 'last'), fc.array(op, { maxLength: 30 })], { numRuns: 100 })(
    'distributes calls like the model across registers and unregisters',
    async (invoke, ops) => {
      const rig = createRig();
      const callees = [await join(rig), await join(rig, ALL_ROLES, 'msgpack'), await join(rig, ALL_ROLES, 'cbor')];
      const caller = await join(rig);
      let history: Array<{ who: number; present: boolean }> = [];
      let lastServed = -1;
      let registration = 0;
      for (const step of ops) {
        if (step.kind === 'register') {
          const callee = callees[step.who]!;
          const request = ++callee.request;
          callee.send([REGISTER, request, { invoke }, 'p']);
          if (history.some((h) => h.who === step.who && h.present)) {
            expect(callee.take()).toEqual([refusal(REGISTER, request, WampError.ProcedureAlreadyExists)]);
          } else {
            const [reply] = callee.take();
            expect(reply![0]).toBe(REGISTERED);
            if (history.length > 0) expect(reply![2]).toBe(registration);
            registration = reply![2] as number;
            history.push({ who: step.who, present: true });
          }
        } else if (step.kind === 'unregister') {
          const callee = callees[step.who]!;
          const request = ++callee.request;
          callee.send([UNREGISTER, request, registration || 2 ** 40]);
          const entry = history.find((h) => h.who === step.who && h.present);
          if (entry) {
            expect(callee.take()).toEqual([[UNREGISTERED, request]]);
            entry.present = false;
            if (!history.some((h) => h.present)) {
              history = [];
              lastServed = -1;
            }
          } else expect(callee.take()).toEqual([refusal(UNREGISTER, request, WampError.NoSuchRegistration)]);
        } else {
          const request = caller.call('p');
          const present = history.map((h, at) => ({ ...h, at })).filter((h) => h.present);
          const hits = callees.map((callee) => callee.take());
          if (present.length === 0) {
            expect(caller.take()).toEqual([refusal(CALL, request, WampError.NoSuchProcedure)]);
            continue;
          }
          let expected: { who: number; at: number };
          if (invoke === 'first') expected = present[0]!;
          else if (invoke === 'last') expected = present[present.length - 1]!;
          else expected = present.find((h) => h.at > lastServed) ?? present[0]!;
          lastServed = expected.at;
          expect(hits.map((messages) => messages.length)).toEqual(callees.map((_, i) => (i === expected.who ? 1 : 0)));
          const invocation = hits[expected.who]![0]!;
          callees[expected.who]!.send([YIELD, invocation[1], {}]);
          expect(caller.take()).toEqual([[RESULT, request, {}]]);
        }
      }
    },
  );
});

describe('WAMP dealer: progressive call results', () => {
  it('forwards receive_progress to a callee that announces it and progressive YIELDs as progressive RESULTs', async () => {
    const rig = createRig();
    const callee = await join(rig, PLAIN, 'msgpack');
    const caller = await join(rig);
    callee.register('stream');
    const request = caller.call('stream', { receive_progress: true });
    const { request: invocation, details } = callee.invocation();
    expect(details).toEqual({ receive_progress: true });
    callee.send([YIELD, invocation, { progress: true }, ['Y2010', 120]]);
    callee.send([YIELD, invocation, { progress: true }]);
    callee.send([YIELD, invocation, {}, ['Total', 490]]);
    expect(caller.take()).toEqual([
      [RESULT, request, { progress: true }, ['Y2010', 120]],
      [RESULT, request, { progress: true }],
      [RESULT, request, {}, ['Total', 490]],
    ]);
    // The call is over: a late YIELD is discarded, not a violation.
    callee.send([YIELD, invocation, {}, ['late']]);
    expect(caller.take()).toEqual([]);
    expect(callee.closed).toBeUndefined();
  });

  it('never sends a progressive RESULT to a caller that did not set receive_progress', async () => {
    const rig = createRig();
    const callee = await join(rig, PLAIN);
    const caller = await join(rig);
    callee.register('stream');
    const request = caller.call('stream');
    const { request: invocation, details } = callee.invocation();
    expect(details).toEqual({});
    callee.send([YIELD, invocation, { progress: true }, ['partial']]);
    expect(caller.take()).toEqual([]);
    callee.send([YIELD, invocation, {}, ['done']]);
    expect(caller.take()).toEqual([[RESULT, request, {}, ['done']]]);
  });

  it('does not forward receive_progress to a callee without the feature, but passes its progress to a caller that asked', async () => {
    const rig = createRig();
    const callee = await join(rig, WAMPY);
    const caller = await join(rig, ALL_ROLES, 'cbor');
    callee.register('stream');
    const request = caller.call('stream', { receive_progress: true });
    const { request: invocation, details } = callee.invocation();
    expect(details).toEqual({});
    callee.send([YIELD, invocation, { progress: true }, [1]]);
    callee.send([YIELD, invocation, {}, [2]]);
    expect(caller.take()).toEqual([
      [RESULT, request, { progress: true }, [1]],
      [RESULT, request, {}, [2]],
    ]);
  });

  it('restarts the call timeout at each progressive YIELD', async () => {
    const rig = createRig();
    const callee = await join(rig, PLAIN);
    const caller = await join(rig);
    callee.register('stream');
    const request = caller.call('stream', { receive_progress: true, timeout: 1000 });
    const { request: invocation } = callee.invocation();
    rig.harness.clock.advance(800);
    callee.send([YIELD, invocation, { progress: true }, [1]]);
    rig.harness.clock.advance(800);
    callee.send([YIELD, invocation, { progress: true }, [2]]);
    rig.harness.clock.advance(800);
    expect(caller.take()).toEqual([
      [RESULT, request, { progress: true }, [1]],
      [RESULT, request, { progress: true }, [2]],
    ]);
    rig.harness.clock.advance(200);
    expect(caller.take()).toEqual([[ERROR, CALL, request, {}, WampError.Timeout, anyText]]);
  });
});

describe('WAMP dealer: progressive call invocations', () => {
  it('sends every chunk to the same callee with the same INVOCATION id and the initiating CALL details', async () => {
    const rig = createRig();
    const a = await join(rig, FULL, 'cbor');
    const b = await join(rig, FULL, 'msgpack');
    const caller = await join(rig, FULL);
    const id = a.register('upload', { invoke: 'roundrobin' });
    b.register('upload', { invoke: 'roundrobin' });
    const request = caller.call('upload', { progress: true, disclose_me: true }, ['chunk 1']);
    const first = a.invocation();
    const disclosed = { caller: caller.id, caller_authid: String(caller.id), caller_authrole: 'anonymous' };
    expect(first).toEqual({ request: 1, registration: id, details: { ...disclosed, progress: true }, args: ['chunk 1'] });
    expect(caller.realm.dealer.isOpenProgressiveCall(caller.wire.peer.session as unknown as WampSession, request)).toBe(true);
    // A plain call in between goes round the robin to the other callee.
    caller.call('upload', {}, ['other']);
    expect(b.invocation().args).toEqual(['other']);
    // Continuations reuse the request id; options other than progress are frozen (ignored).
    caller.send([CALL, request, { progress: true, disclose_me: false, timeout: 5 }, 'upload', ['chunk 2']]);
    caller.send([CALL, request, {}, 'upload', ['chunk 3']]);
    expect(a.take()).toEqual([
      [INVOCATION, 1, id, { ...disclosed, progress: true }, ['chunk 2']],
      [INVOCATION, 1, id, disclosed, ['chunk 3']],
    ]);
    expect(b.take()).toEqual([]);
    expect(rig.harness.clock.pending).toBe(0);
    a.send([YIELD, 1, {}, ['stored']]);
    expect(caller.take()).toEqual([[RESULT, request, {}, ['stored']]]);
  });

  it('refuses a progressive CALL with feature_not_supported when the callee lacks the feature or call canceling', async () => {
    const rig = createRig();
    const plain = await join(rig, WAMPY);
    const noCancel = await join(rig, NO_CANCEL_PCI);
    const caller = await join(rig, FULL);
    plain.register('a');
    noCancel.register('b');
    caller.call('a', { progress: true });
    caller.call('b', { progress: true });
    expect(caller.take()).toEqual([refusal(CALL, 1, WampError.FeatureNotSupported), refusal(CALL, 2, WampError.FeatureNotSupported)]);
    expect([plain.take(), noCancel.take()]).toEqual([[], []]);
    // The refused id is no open call: reusing it is a violation.
    caller.send([CALL, 1, { progress: true }, 'a']);
    expect(caller.take()[0]![0]).toBe(ABORT);
  });

  it('discards continuations of a call the callee already finished, then aborts a reuse after the final CALL', async () => {
    const rig = createRig();
    const callee = await join(rig, FULL);
    const caller = await join(rig, FULL);
    callee.register('upload');
    const request = caller.call('upload', { progress: true }, [1]);
    const { request: invocation } = callee.invocation();
    callee.send([ERROR, INVOCATION, invocation, {}, 'com.example.too_big']);
    expect(caller.take()).toEqual([[ERROR, CALL, request, {}, 'com.example.too_big']]);
    // "Continuations on Completed Calls": ignored, no answer, the session stays.
    caller.send([CALL, request, { progress: true }, 'upload', [2]]);
    caller.send([CALL, request, {}, 'upload', [3]]);
    expect([caller.take(), callee.take(), caller.closed]).toEqual([[], [], undefined]);
    caller.send([CALL, request, {}, 'upload', [4]]);
    expect(caller.take()[0]![0]).toBe(ABORT);
    expect(caller.closed).toBe(1002);
  });

  it('aborts a continuation of a call that is not progressive or that names another procedure', async () => {
    const rig = createRig();
    const callee = await join(rig, FULL);
    const first = await join(rig, FULL);
    const second = await join(rig, FULL);
    callee.register('p');
    callee.register('q');
    const plain = first.call('p');
    first.send([CALL, plain, { progress: true }, 'p']);
    expect(first.take()[0]![0]).toBe(ABORT);
    const streaming = second.call('p', { progress: true });
    second.send([CALL, streaming, { progress: true }, 'q']);
    expect(second.take()[0]).toEqual([ABORT, { message: expect.stringContaining('continues p with q') }, WampError.ProtocolViolation]);
  });

  it('sends progressive results while the caller is still streaming', async () => {
    const rig = createRig();
    const callee = await join(rig, FULL);
    const caller = await join(rig, FULL, 'msgpack');
    callee.register('echo');
    const request = caller.call('echo', { progress: true, receive_progress: true }, ['a']);
    expect(callee.invocation().details).toEqual({ progress: true, receive_progress: true });
    callee.send([YIELD, 1, { progress: true }, ['A']]);
    caller.send([CALL, request, {}, 'echo', ['b']]);
    expect(callee.take()).toEqual([[INVOCATION, 1, expect.any(Number), { receive_progress: true }, ['b']]]);
    callee.send([YIELD, 1, {}, ['B']]);
    expect(caller.take()).toEqual([
      [RESULT, request, { progress: true }, ['A']],
      [RESULT, request, {}, ['B']],
    ]);
  });
});

describe('WAMP dealer: call canceling', () => {
  async function pending(calleeRoles: Dict) {
    const rig = createRig();
    const callee = await join(rig, calleeRoles, 'msgpack');
    const caller = await join(rig);
    callee.register('slow');
    const request = caller.call('slow');
    const { request: invocation } = callee.invocation();
    return { rig, callee, caller, request, invocation };
  }

  for (const options of [{}, { mode: 'skip' }]) {
    for (const roles of [FULL, PLAIN]) {
      it(`${JSON.stringify(options)}: no ERROR and no INTERRUPT, the late answer is discarded (callee ${roles === FULL ? 'with' : 'without'} call_canceling)`, async () => {
        const { callee, caller, request, invocation } = await pending(roles);
        caller.send([CANCEL, request, options]);
        expect([caller.take(), callee.take()]).toEqual([[], []]);
        callee.send([YIELD, invocation, {}, ['late']]);
        expect([caller.take(), callee.closed, caller.realm.dealer.activeCalls()]).toEqual([[], undefined, 0]);
      });
    }
  }

  it('killnowait: ERROR canceled now and INTERRUPT killnowait to a callee with call_canceling', async () => {
    const { callee, caller, request, invocation } = await pending(FULL);
    caller.send([CANCEL, request, { mode: 'killnowait' }]);
    expect(caller.take()).toEqual([[ERROR, CALL, request, {}, WampError.Canceled, anyText]]);
    expect(callee.take()).toEqual([[INTERRUPT, invocation, { mode: 'killnowait' }]]);
    callee.send([ERROR, INVOCATION, invocation, {}, WampError.Canceled]);
    expect(caller.take()).toEqual([]);
  });

  it('killnowait: ERROR canceled now and no INTERRUPT to a callee without call_canceling', async () => {
    const { callee, caller, request, invocation } = await pending(PLAIN);
    caller.send([CANCEL, request, { mode: 'killnowait' }]);
    expect(caller.take()).toEqual([[ERROR, CALL, request, {}, WampError.Canceled, anyText]]);
    expect(callee.take()).toEqual([]);
    callee.send([YIELD, invocation, {}, ['late']]);
    expect(caller.take()).toEqual([]);
  });

  it('kill: INTERRUPT kill to a callee with call_canceling, whose answer reaches the caller', async () => {
    const { callee, caller, request, invocation } = await pending(FULL);
    caller.send([CANCEL, request, { mode: 'kill' }]);
    caller.send([CANCEL, request, { mode: 'kill' }]);
    expect(caller.take()).toEqual([]);
    expect(callee.take()).toEqual([[INTERRUPT, invocation, { mode: 'kill' }]]);
    callee.send([ERROR, INVOCATION, invocation, {}, WampError.Canceled, ['stopped']]);
    expect(caller.take()).toEqual([[ERROR, CALL, request, {}, WampError.Canceled, ['stopped']]]);
    expect(caller.realm.dealer.activeCalls()).toBe(0);

    const other = await pending(FULL);
    other.caller.send([CANCEL, other.request, { mode: 'kill' }]);
    other.callee.take();
    other.callee.send([YIELD, other.invocation, {}, ['finished first']]);
    expect(other.caller.take()).toEqual([[RESULT, other.request, {}, ['finished first']]]);
  });

  it('kill: ERROR canceled now and no INTERRUPT to a callee without call_canceling', async () => {
    const { callee, caller, request, invocation } = await pending(PLAIN);
    caller.send([CANCEL, request, { mode: 'kill' }]);
    expect(caller.take()).toEqual([[ERROR, CALL, request, {}, WampError.Canceled, anyText]]);
    expect(callee.take()).toEqual([]);
    callee.send([YIELD, invocation, {}, ['late']]);
    expect([caller.take(), callee.closed]).toEqual([[], undefined]);
  });

  it('ignores CANCEL for a call that already ended and aborts an unknown mode', async () => {
    const { callee, caller, request, invocation } = await pending(FULL);
    callee.send([YIELD, invocation, {}]);
    caller.send([CANCEL, request, { mode: 'killnowait' }]);
    expect(caller.take()).toEqual([[RESULT, request, {}]]);
    expect(callee.take()).toEqual([]);
    caller.send([CANCEL, request, { mode: 'obliterate' }]);
    expect(caller.take()[0]).toEqual([ABORT, { message: expect.stringContaining('obliterate') }, WampError.ProtocolViolation]);
  });

  it('stops forwarding chunks of a progressive call after a kill INTERRUPT', async () => {
    const rig = createRig();
    const callee = await join(rig, FULL);
    const caller = await join(rig, FULL);
    callee.register('upload');
    const request = caller.call('upload', { progress: true }, [1]);
    callee.invocation();
    caller.send([CANCEL, request, { mode: 'kill' }]);
    expect(callee.take()).toEqual([[INTERRUPT, 1, { mode: 'kill' }]]);
    caller.send([CALL, request, { progress: true }, 'upload', [2]]);
    expect(callee.take()).toEqual([]);
    callee.send([ERROR, INVOCATION, 1, {}, WampError.Canceled]);
    expect(caller.take()).toEqual([[ERROR, CALL, request, {}, WampError.Canceled]]);
  });
});

describe('WAMP dealer: call timeout', () => {
  it('answers wamp.error.timeout when the timer runs out, with INTERRUPT killnowait only to a canceling callee', async () => {
    for (const roles of [FULL, PLAIN]) {
      const rig = createRig();
      const callee = await join(rig, roles);
      const caller = await join(rig, ALL_ROLES, 'cbor');
      const before = rig.harness.clock.pending;
      callee.register('slow');
      const request = caller.call('slow', { timeout: 1000 });
      const { request: invocation, details } = callee.invocation();
      expect(details).toEqual({});
      expect(rig.harness.clock.pending).toBe(before + 1);
      rig.harness.clock.advance(999);
      expect(caller.take()).toEqual([]);
      rig.harness.clock.advance(1);
      expect(caller.take()).toEqual([[ERROR, CALL, request, {}, WampError.Timeout, anyText]]);
      expect(callee.take()).toEqual(roles === FULL ? [[INTERRUPT, invocation, { mode: 'killnowait' }]] : []);
      callee.send([YIELD, invocation, {}, ['late']]);
      expect([caller.take(), callee.closed, rig.harness.clock.pending]).toEqual([[], undefined, before]);
    }
  });

  it('cancels the timer when the call ends in time', async () => {
    const rig = createRig();
    const callee = await join(rig);
    const caller = await join(rig);
    const before = rig.harness.clock.pending;
    callee.register('quick');
    caller.call('quick', { timeout: 1000 });
    caller.call('quick', { timeout: 1000 });
    expect(rig.harness.clock.pending).toBe(before + 2);
    callee.send([YIELD, 1, {}]);
    callee.send([ERROR, INVOCATION, 2, {}, 'x.failed']);
    expect(rig.harness.clock.pending).toBe(before);
    rig.harness.clock.advance(5000);
    expect(caller.take()).toEqual([
      [RESULT, 1, {}],
      [ERROR, CALL, 2, {}, 'x.failed'],
    ]);
  });

  it('caps the timeout at maxCallTimeout, which also bounds calls that name none', async () => {
    const rig = createRig({ maxCallTimeout: 500 });
    const callee = await join(rig);
    const caller = await join(rig);
    callee.register('slow');
    caller.call('slow', { timeout: 10_000 });
    caller.call('slow');
    caller.call('slow', { timeout: 100 });
    rig.harness.clock.advance(100);
    expect(caller.take()).toEqual([[ERROR, CALL, 3, {}, WampError.Timeout, anyText]]);
    rig.harness.clock.advance(400);
    expect(caller.take()).toEqual([
      [ERROR, CALL, 1, {}, WampError.Timeout, anyText],
      [ERROR, CALL, 2, {}, WampError.Timeout, anyText],
    ]);
  });

  it('forwards the timeout to a forward_timeout callee that announced call_timeout, and runs no timer then', async () => {
    const rig = createRig();
    const full = await join(rig, FULL);
    const plain = await join(rig, PLAIN);
    const caller = await join(rig);
    full.register('a', { forward_timeout: true });
    plain.register('b', { forward_timeout: true });
    const before = rig.harness.clock.pending;
    caller.call('a', { timeout: 250 });
    expect(full.invocation().details).toEqual({ timeout: 250 });
    expect(rig.harness.clock.pending).toBe(before);
    // Without call_timeout on the callee the dealer keeps the timer itself.
    caller.call('b', { timeout: 250 });
    expect(plain.invocation().details).toEqual({});
    expect(rig.harness.clock.pending).toBe(before + 1);
  });

  it('refuses a timeout that is not a non-negative number with invalid_argument', async () => {
    const rig = createRig();
    const callee = await join(rig);
    const caller = await join(rig);
    callee.register('p');
    caller.call('p', { timeout: 'soon' });
    caller.call('p', { timeout: -1 });
    caller.call('p', { timeout: 0 });
    expect(caller.take()).toEqual([refusal(CALL, 1, WampError.InvalidArgument), refusal(CALL, 2, WampError.InvalidArgument)]);
    expect(callee.invocation().request).toBe(1);
    expect(rig.harness.clock.pending).toBe(0);
  });
});

describe('WAMP dealer: sessions leaving', () => {
  it('ends a leaving callee’s invocations with ERROR canceled and drops its registrations', async () => {
    const rig = createRig();
    const callee = await join(rig, FULL, 'cbor');
    const caller = await join(rig, FULL);
    const publishMeta = vi.spyOn(caller.realm.broker, 'publishMeta');
    const meta = { get mock() { return { calls: publishMeta.mock.calls.filter(([topic]) => topic.startsWith('wamp.registration.')) }; }, mockClear: () => publishMeta.mockClear() };
    const before = rig.harness.clock.pending;
    const id = callee.register('p');
    const stream = callee.register('s');
    const a = caller.call('p', { timeout: 1000 });
    const b = caller.call('s', { progress: true });
    callee.take();
    meta.mockClear();
    callee.wire.peer.close();
    expect(caller.take()).toEqual([
      [ERROR, CALL, a, {}, WampError.Canceled, anyText],
      [ERROR, CALL, b, {}, WampError.Canceled, anyText],
    ]);
    expect(meta.mock.calls).toEqual([
      ['wamp.registration.on_unregister', [callee.id, id]],
      ['wamp.registration.on_delete', [callee.id, id]],
      ['wamp.registration.on_unregister', [callee.id, stream]],
      ['wamp.registration.on_delete', [callee.id, stream]],
    ]);
    const dealer = caller.realm.dealer;
    expect([dealer.list(), dealer.stats(), dealer.activeCalls(), rig.harness.clock.pending]).toEqual([{ exact: [], prefix: [], wildcard: [] }, [], 0, before]);
    // The streaming caller's continuation in flight is discarded, not a violation.
    caller.send([CALL, b, {}, 's']);
    expect([caller.take(), caller.closed]).toEqual([[], undefined]);
  });

  it('forgets a leaving caller’s calls, with INTERRUPT killnowait only to callees with call_canceling', async () => {
    const rig = createRig();
    const full = await join(rig, FULL);
    const plain = await join(rig, PLAIN, 'msgpack');
    const caller = await join(rig, ALL_ROLES, 'cbor');
    const before = rig.harness.clock.pending;
    full.register('a');
    plain.register('b');
    caller.call('a', { timeout: 1000 });
    caller.call('b', { timeout: 1000 });
    const [ia, ib] = [full.invocation().request, plain.invocation().request];
    caller.wire.peer.drop();
    expect(full.take()).toEqual([[INTERRUPT, ia, { mode: 'killnowait' }]]);
    expect(plain.take()).toEqual([]);
    full.send([YIELD, ia, {}]);
    plain.send([ERROR, INVOCATION, ib, {}, 'x.y']);
    expect([full.closed, plain.closed, full.realm.dealer.activeCalls(), rig.harness.clock.pending]).toEqual([undefined, undefined, 0, before]);
    rig.harness.clock.advance(2000);
    expect([full.take(), plain.take()]).toEqual([[], []]);
  });

  it('cleans up a session that calls its own procedure and leaves', async () => {
    const rig = createRig();
    const self = await join(rig, FULL);
    const before = rig.harness.clock.pending;
    self.register('me');
    self.call('me', { timeout: 1000 });
    expect(self.invocation().request).toBe(1);
    self.send([GOODBYE, {}, 'wamp.close.close_realm']);
    const dealer = self.realm.dealer;
    expect([dealer.stats(), dealer.activeCalls(), rig.harness.clock.pending]).toEqual([[], 0, before]);
  });

  test.prop([fc.array(fc.record({ timeout: fc.constantFrom(0, 100, 5000), answer: fc.constantFrom('none', 'yield', 'error', 'progress') }), { maxLength: 12 }), fc.constantFrom('caller', 'callee')], { numRuns: 60 })(
    'leaves no calls, registrations or timers behind whoever leaves',
    async (calls, leaving) => {
      const rig = createRig();
      const callee = await join(rig, FULL, 'msgpack');
      const caller = await join(rig, FULL);
      const before = rig.harness.clock.pending;
      callee.register('p', { match: 'prefix' });
      for (const { timeout, answer } of calls) {
        caller.call('p.x', timeout ? { timeout, receive_progress: true } : { receive_progress: true });
        const { request } = callee.invocation();
        if (answer === 'yield') callee.send([YIELD, request, {}]);
        else if (answer === 'error') callee.send([ERROR, INVOCATION, request, {}, 'x.y']);
        else if (answer === 'progress') callee.send([YIELD, request, { progress: true }]);
      }
      rig.harness.clock.advance(150);
      (leaving === 'caller' ? caller : callee).wire.peer.close();
      const other = leaving === 'caller' ? callee : caller;
      const dealer = other.realm.dealer;
      expect(dealer.activeCalls()).toBe(0);
      expect(rig.harness.clock.pending).toBe(before);
      expect(dealer.stats()).toEqual(leaving === 'callee' ? [] : [expect.objectContaining({ uri: 'p', callees: 1 })]);
      other.wire.peer.close();
      expect(dealer.stats()).toEqual([]);
    },
  );
});

describe('WAMP dealer: payload passthrough', () => {
  const ppt = { ppt_scheme: 'x_custom', ppt_serializer: 'native' };

  it('forwards ppt_* options when enabled and refuses callees without the feature', async () => {
    const rig = createRig({ payloadPassthrough: true });
    const full = await join(rig, FULL);
    const plain = await join(rig, PLAIN);
    const caller = await join(rig);
    full.register('a');
    plain.register('b');
    const request = caller.call('a', ppt, ['opaque']);
    const invocation = full.invocation();
    expect(invocation.details).toEqual(ppt);
    full.send([YIELD, invocation.request, ppt, ['opaque result']]);
    expect(caller.take()).toEqual([[RESULT, request, ppt, ['opaque result']]]);
    const refused = caller.call('b', ppt, ['opaque']);
    expect(caller.take()).toEqual([refusal(CALL, refused, WampError.FeatureNotSupported)]);
  });

  it('ignores ppt_* options when passthrough is off', async () => {
    const options: WampOptions = {};
    const rig = createRig(options);
    const callee = await join(rig, PLAIN);
    const caller = await join(rig);
    callee.register('a');
    caller.call('a', ppt, ['x']);
    expect(callee.invocation().details).toEqual({});
  });
});

