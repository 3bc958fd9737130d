import { describe, expect, it } from 'vitest';
import { MessageType } from './constants.js';
import { createRig } from './_test-utils.js';

describe('WAMP session', () => {
  it('answers HELLO with WELCOME announcing the broker and dealer roles and features', async () => {
    const rig = createRig();
    const client = await rig.open();
    client.send([MessageType.HELLO, 'realm1', { roles: { subscriber: {} } }]);
    const [welcome] = client.take();
    expect(welcome![0]).toBe(MessageType.WELCOME);
    const id = welcome![1] as number;
    expect(Number.isInteger(id) && id >= 1 && id <= 2 ** 53).toBe(true);
    expect(welcome![2]).toMatchObject({ realm: 'realm1', authrole: 'anonymous', authmethod: 'anonymous', roles: { broker: { features: { publisher_exclusion: true } }, dealer: { features: { call_canceling: true } } } });
  });

  it('aborts with wamp.error.no_such_realm and closes 1008 for an unknown realm', async () => {
    const rig = createRig();
    const client = await rig.open();
    client.send([MessageType.HELLO, 'nowhere', { roles: { caller: {} } }]);
    expect(client.take()).toEqual([[MessageType.ABORT, { message: 'no realm nowhere' }, 'wamp.error.no_such_realm']]);
    expect(client.peer.closed?.code).toBe(1008);
  });

  it('aborts with wamp.error.protocol_violation and closes 1002 for a message before HELLO', async () => {
    const rig = createRig();
    const client = await rig.open();
    client.send([MessageType.SUBSCRIBE, 1, {}, 'a.b']);
    const [abort] = client.take();
    expect(abort![0]).toBe(MessageType.ABORT);
    expect(abort![2]).toBe('wamp.error.protocol_violation');
    expect(client.peer.closed?.code).toBe(1002);
  });

  it('closes 1003 for a binary message on wamp.2.json and 1007 for text that is not JSON', async () => {
    const rig = createRig();
    const binary = await rig.open();
    binary.peer.send(new Uint8Array([1, 2, 3]), true);
    expect(binary.peer.closed?.code).toBe(1003);
    const garbage = await rig.open();
    garbage.peer.send('[1, "realm1"', false);
    expect(garbage.peer.closed?.code).toBe(1007);
  });

  it('replies to GOODBYE with goodbye_and_out and closes 1000', async () => {
    const rig = createRig();
    const client = await rig.join();
    client.send([MessageType.GOODBYE, {}, 'wamp.close.close_realm']);
    expect(client.take()).toEqual([[MessageType.GOODBYE, {}, 'wamp.close.goodbye_and_out']]);
    expect(client.peer.closed?.code).toBe(1000);
  });

  it('aborts a second HELLO and a repeated request id', async () => {
    const rig = createRig();
    const again = await rig.join();
    again.send([MessageType.HELLO, 'realm1', { roles: { caller: {} } }]);
    expect(again.take()[0]![2]).toBe('wamp.error.protocol_violation');
    expect(again.peer.closed?.code).toBe(1002);
  });

  it('joins over msgpack and cbor with binary messages', async () => {
    const rig = createRig();
    for (const serializer of ['msgpack', 'cbor'] as const) {
      const client = await rig.join({ serializer });
      expect(client.session).toBeGreaterThan(0);
      expect(client.peer.received.at(-1)?.isBinary).toBe(true);
    }
  });

  it('closes a connection that sends no HELLO in time', async () => {
    const rig = createRig({ helloTimeout: 1000 });
    const client = await rig.open();
    rig.harness.clock.advance(1600);
    expect(client.peer.closed?.code).toBe(1008);
  });
});

describe('WELCOME features', () => {
  it('announces payload passthrough only when the router forwards it', async () => {
    const plain = await createRig().join();
    const ppt = await createRig({ payloadPassthrough: true }).join();
    const features = (client: typeof plain, role: string): Record<string, boolean> => JSON.parse(client.peer.received[0]!.data as string)[2].roles[role].features;
    expect(features(plain, 'broker').payload_passthru_mode).toBeUndefined();
    expect(features(ppt, 'broker').payload_passthru_mode).toBe(true);
    expect(features(ppt, 'dealer').payload_passthru_mode).toBe(true);
  });
});

describe('hostile timing and input', () => {
  it('refuses the kill procedures without realm roles or an authorize hook', async () => {
    const rig = createRig();
    const caller = await rig.join();
    const victim = await rig.join();
    caller.send([MessageType.CALL, 1, {}, 'wamp.session.kill_all']);
    const [error] = caller.take();
    expect(error!.slice(0, 3)).toEqual([MessageType.ERROR, MessageType.CALL, 1]);
    expect(error![4]).toBe('wamp.error.not_authorized');
    expect(victim.take()).toEqual([]);
  });

  it('aborts a request sent before WELCOME while an asynchronous authenticate runs', async () => {
    let finish!: (answer: { authrole: string }) => void;
    const rig = createRig({ authenticate: () => new Promise((resolve) => (finish = resolve)) });
    const client = await rig.open();
    client.send([MessageType.HELLO, 'realm1', { roles: { subscriber: {} } }]);
    client.send([MessageType.SUBSCRIBE, 1, {}, 'early.topic']);
    expect(client.take()[0]).toMatchObject([MessageType.ABORT, {}, 'wamp.error.protocol_violation']);
    finish({ authrole: 'anonymous' });
    await Promise.resolve();
    expect(client.take()).toEqual([]);
    expect(rig.adapter.stats().realms[0]!.subscriptions).toEqual([]);
  });

  it('drops a REGISTER whose asynchronous authorization settles after the session was killed', async () => {
    let allow!: (value: boolean) => void;
    const rig = createRig({ authorize: ({ action }) => (action === 'register' ? new Promise<boolean>((resolve) => (allow = resolve)) : true) });
    const victim = await rig.join();
    const killer = await rig.join();
    victim.send([MessageType.REGISTER, 1, {}, 'late.procedure']);
    killer.send([MessageType.CALL, 1, {}, 'wamp.session.kill', [victim.session]]);
    await Promise.resolve();
    allow(true);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(victim.take().map((m) => m[0])).toEqual([MessageType.GOODBYE]);
    expect(rig.adapter.stats().realms[0]!.registrations).toEqual([]);
  });

  it('hands a CBOR bignum to a JSON subscriber as a number instead of failing', async () => {
    const rig = createRig();
    const subscriber = await rig.join();
    const publisher = await rig.join({ serializer: 'cbor' });
    subscriber.send([MessageType.SUBSCRIBE, 1, {}, 'big.numbers']);
    subscriber.take();
    publisher.send([MessageType.PUBLISH, 1, { acknowledge: true }, 'big.numbers', [2n ** 70n]]);
    expect(publisher.take()[0]![0]).toBe(MessageType.PUBLISHED);
    const [event] = subscriber.take();
    expect(event![4]).toEqual([2 ** 70]);
    expect(subscriber.peer.closed).toBeUndefined();
  });
});

describe("realms: 'any'", () => {
  it('keeps no realm for names whose sessions were refused or have all left', async () => {
    const rig = createRig({ realms: 'any', authenticate: (request) => (request.realm.startsWith('junk') ? false : { authrole: 'anonymous' }) });
    for (let i = 0; i < 5; i++) {
      const client = await rig.open();
      client.send([MessageType.HELLO, `junk${i}`, { roles: { caller: {} } }]);
      expect(client.peer.closed?.code).toBe(1008);
    }
    const member = await rig.join({ realm: 'kept' });
    expect(rig.adapter.stats().realms.map((r) => r.name)).toEqual(['kept']);
    member.send([MessageType.GOODBYE, {}, 'wamp.close.close_realm']);
    expect(rig.adapter.stats().realms.map((r) => r.name)).toEqual([]);
  });
});
