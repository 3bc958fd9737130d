import { createMemoryBus, type Bus } from '@protoplex/core';
import { createTestHarness } from '@protoplex/core/testing';
import { describe, expect, it } from 'vitest';
import { createSipRig, DOMAIN, getHeader, getHeaders, settle, type TestUa } from './_test-ua.js';
import type { SipRequest, SipResponse } from './message.js';

const requests = (ua: TestUa, method?: string): SipRequest[] => ua.take().filter((m): m is SipRequest => m.kind === 'request' && (method === undefined || m.method === method));
const statuses = (messages: SipResponse[]): number[] => messages.map((m) => m.status);
const ALICE = `sip:alice@${DOMAIN}`;
const SDP = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n';

describe('proxy: MESSAGE between registered users', () => {
  it('forwards to the binding with its Via on top and Max-Forwards decremented, and brings the 200 back', async () => {
    const rig = createSipRig();
    const alice = await rig.registered('alice');
    const bob = await rig.registered('bob');
    alice.send(alice.request('MESSAGE', bob.aor, { body: 'hello', headers: ['Content-Type: text/plain', 'Via: SIP/2.0/WS second.invalid;branch=z9hG4bKsecond'] }));
    await settle();
    const [message] = requests(bob, 'MESSAGE');
    expect(message).toBeDefined();
    expect(message!.uri).toBe(bob.contact);
    expect(message!.body).toBe('hello');
    const vias = getHeaders(message!, 'via');
    expect(vias[0]).toMatch(/^SIP\/2\.0\/WS example\.com;branch=z9hG4bK/);
    // §18.2.1: the UA's Via learns where it came from.
    expect(vias[1]).toMatch(/received=127\.0\.0\.1/);
    expect(getHeader(message!, 'max-forwards')).toBe('69');
    // MESSAGE creates no dialog: no Record-Route.
    expect(getHeader(message!, 'record-route')).toBeUndefined();
    bob.reply(message!, 200, { toTag: 'b1' });
    const answer = alice.final();
    expect(answer.status).toBe(200);
    expect(getHeaders(answer, 'via').every((v) => !v.includes('example.com;branch'))).toBe(true);
    expect(rig.adapter.stats().transactions).toEqual({ server: 0, client: 0 });
  });

  it('answers 404 for an unknown user and 480 for a known one without a binding', async () => {
    const rig = createSipRig();
    const alice = await rig.registered('alice');
    alice.send(alice.request('MESSAGE', `sip:nobody@${DOMAIN}`, { body: 'x' }));
    await settle();
    expect(alice.final().status).toBe(404);
    alice.send(alice.request('MESSAGE', `sip:bob@${DOMAIN}`, { body: 'x' }));
    await settle();
    expect(alice.final().status).toBe(480);
  });

  it('challenges a flow that never registered with 407, and relays once it answers', async () => {
    const rig = createSipRig();
    const bob = await rig.registered('bob');
    const alice = await rig.ua('alice');
    alice.send(alice.request('MESSAGE', bob.aor, { body: 'x' }));
    await settle();
    const challenge = alice.final();
    expect(challenge.status).toBe(407);
    const md5 = getHeaders(challenge, 'proxy-authenticate').at(-1)!;
    expect(md5).toMatch(/algorithm=MD5/);
    alice.send(alice.request('MESSAGE', bob.aor, { body: 'x', headers: [`Proxy-Authorization: ${alice.authorization(md5, 'MESSAGE', bob.aor)}`] }));
    await settle();
    expect(requests(bob, 'MESSAGE')).toHaveLength(1);
  });

  it('challenges a request that claims to be in a dialog (a To tag) without the proxy’s route', async () => {
    const rig = createSipRig();
    const bob = await rig.registered('bob');
    const mallory = await rig.ua('alice', 'not-her-password');
    mallory.send(mallory.request('MESSAGE', bob.aor, { toTag: 'made-up', body: 'x' }));
    await settle();
    expect(mallory.final().status).toBe(407);
    expect(requests(bob)).toEqual([]);
  });

  it('refuses a From that is not who the flow proved to be', async () => {
    const rig = createSipRig();
    const alice = await rig.registered('alice');
    const bob = await rig.registered('bob');
    alice.send(alice.request('MESSAGE', bob.aor, { from: 'sip:carol@example.com', body: 'x' }));
    await settle();
    const challenge = alice.final();
    expect(challenge.status).toBe(407);
    // Alice answers with her own credentials while claiming to be carol.
    const md5 = getHeaders(challenge, 'proxy-authenticate').at(-1)!;
    alice.send(alice.request('MESSAGE', bob.aor, { from: 'sip:carol@example.com', body: 'x', headers: [`Proxy-Authorization: ${alice.authorization(md5, 'MESSAGE', bob.aor)}`] }));
    await settle();
    expect(alice.final().status).toBe(403);
    expect(requests(bob)).toEqual([]);
  });

  it('times a MESSAGE nobody answers out with 408 (Timer F)', async () => {
    const rig = createSipRig();
    const alice = await rig.registered('alice');
    const bob = await rig.registered('bob');
    alice.send(alice.request('MESSAGE', bob.aor, { body: 'x' }));
    await settle();
    expect(requests(bob, 'MESSAGE')).toHaveLength(1);
    rig.harness.clock.advance(31_000);
    expect(alice.responses()).toEqual([]);
    rig.harness.clock.advance(2000);
    expect(alice.final().status).toBe(408);
  });
});

describe('proxy: GRUU (RFC 5627 §3.3)', () => {
  it('routes a request to a public GRUU to that instance only, and a lapsed GRUU gets 480', async () => {
    const rig = createSipRig();
    const home = await rig.ua('alice');
    const ok = await home.register({ contactParams: ';+sip.instance="<urn:uuid:00000000-0000-0000-0000-000000000001>"', headers: ['Supported: gruu'] });
    const pub = /pub-gruu="([^"]+)"/.exec(getHeaders(ok, 'contact')[0]!)![1]!;
    const temp = /temp-gruu="([^"]+)"/.exec(getHeaders(ok, 'contact')[0]!)![1]!;
    const office = await rig.registered('alice');
    const bob = await rig.registered('bob');
    bob.send(bob.request('MESSAGE', pub, { to: ALICE, body: 'to home only' }));
    await settle();
    const [atHome] = requests(home, 'MESSAGE');
    expect(atHome!.uri).toBe(home.contact);
    expect(requests(office, 'MESSAGE')).toEqual([]);
    home.reply(atHome!, 200, { toTag: 'h' });
    expect(bob.final().status).toBe(200);
    bob.send(bob.request('MESSAGE', temp, { to: ALICE, body: 'by the temporary one' }));
    await settle();
    const [byTemp] = requests(home, 'MESSAGE');
    expect(byTemp!.body).toBe('by the temporary one');
    home.reply(byTemp!, 200, { toTag: 'h2' });
    expect(bob.final().status).toBe(200);
    home.peer.close();
    bob.send(bob.request('MESSAGE', pub, { to: ALICE, body: 'gone' }));
    await settle();
    expect(bob.final().status).toBe(480);
  });
});

describe('proxy: INVITE dialogs', () => {
  async function ringing(forks = 1) {
    const rig = createSipRig();
    const alice = await rig.registered('alice');
    const bobs: TestUa[] = [];
    for (let i = 0; i < forks; i++) bobs.push(await rig.registered('bob'));
    alice.send(alice.request('INVITE', `sip:bob@${DOMAIN}`, { body: SDP, headers: [`Contact: <${alice.contact};ob>`, 'Content-Type: application/sdp'] }));
    await settle();
    const trying = alice.responses();
    const invites = bobs.map((bob) => requests(bob, 'INVITE')[0]!);
    return { rig, alice, bobs, invites, trying };
  }

  it('sends 100 Trying at once and record-routes with a flow token', async () => {
    const { invites, trying } = await ringing();
    expect(statuses(trying)).toEqual([100]);
    expect(getHeader(invites[0]!, 'record-route')).toMatch(/^<sip:[^@]+@example\.com;transport=ws;lr>$/);
  });

  it('carries 180, 200, the ACK and a BYE from the callee along the recorded route', async () => {
    const { alice, bobs, invites } = await ringing();
    const bob = bobs[0]!;
    const invite = invites[0]!;
    bob.reply(invite, 180, { toTag: 'b1' });
    bob.reply(invite, 200, { toTag: 'b1', body: SDP, headers: ['Content-Type: application/sdp'] });
    const answers = alice.responses();
    expect(statuses(answers)).toEqual([180, 200]);
    const ok = answers[1]!;
    const route = getHeader(ok, 'record-route')!;
    // The caller's in-dialog requests go to bob's contact by the route set (§12.1.2).
    alice.send(alice.request('ACK', bob.contact, { toTag: 'b1', cseq: 1, headers: [`Route: ${route}`] }));
    const [ack] = requests(bob, 'ACK');
    expect(ack!.uri).toBe(bob.contact);
    expect(getHeader(ack!, 'route')).toBeUndefined();
    // The callee's BYE goes to alice's contact; its flow token finds her connection.
    bob.send(
      bob.request('BYE', `${alice.contact};ob`, {
        from: bob.aor,
        to: alice.aor,
        toTag: alice.fromTag,
        callId: alice.callId,
        headers: [`Route: ${route}`],
      }),
    );
    await settle();
    const [bye] = requests(alice, 'BYE');
    expect(bye).toBeDefined();
    alice.reply(bye!, 200);
    expect(bob.final().status).toBe(200);
  });

  it('answers the caller’s CANCEL 200, cancels the callee, and ends the INVITE with 487', async () => {
    const { alice, bobs, invites } = await ringing();
    const bob = bobs[0]!;
    bob.reply(invites[0]!, 180, { toTag: 'b1' });
    alice.responses();
    // A CANCEL carries the INVITE's top Via (same branch), Call-ID and CSeq number (§9.1).
    const sent = invites[0]!;
    const aliceVia = getHeaders(sent, 'via')[1]!.replace(/;received=[^;]+/, '');
    const cancel = [
      `CANCEL sip:bob@${DOMAIN} SIP/2.0`,
      `Via: ${aliceVia}`,
      'Max-Forwards: 70',
      `To: <sip:bob@${DOMAIN}>`,
      `From: <${alice.aor}>;tag=${alice.fromTag}`,
      `Call-ID: ${alice.callId}`,
      `CSeq: ${/^(\d+)/.exec(getHeader(sent, 'cseq')!)![1]} CANCEL`,
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
    alice.send(cancel);
    await settle();
    const cancelAnswer = alice.responses();
    expect(cancelAnswer.map((r) => `${r.status} ${getHeader(r, 'cseq')}`)).toEqual([`200 ${/^(\d+)/.exec(getHeader(sent, 'cseq')!)![1]} CANCEL`]);
    const [downstreamCancel] = requests(bob, 'CANCEL');
    expect(downstreamCancel).toBeDefined();
    expect(getHeaders(downstreamCancel!, 'via')).toEqual([getHeaders(sent, 'via')[0]]);
    bob.reply(downstreamCancel!, 200);
    bob.reply(sent, 487, { toTag: 'b1' });
    expect(statuses(alice.responses())).toEqual([487]);
    // §17.1.1.3: the proxy acknowledges the 487 itself.
    expect(requests(bob, 'ACK')).toHaveLength(1);
  });

  it('forks to every binding and cancels the others when one answers', async () => {
    const { alice, bobs, invites } = await ringing(2);
    expect(invites.every(Boolean)).toBe(true);
    bobs[0]!.reply(invites[0]!, 180, { toTag: 'one' });
    bobs[1]!.reply(invites[1]!, 180, { toTag: 'two' });
    bobs[1]!.reply(invites[1]!, 200, { toTag: 'two', body: SDP });
    expect(statuses(alice.responses())).toEqual([180, 180, 200]);
    const [cancel] = requests(bobs[0]!, 'CANCEL');
    expect(getHeader(cancel!, 'reason')).toBe('SIP;cause=200;text="Call completed elsewhere"');
    bobs[0]!.reply(cancel!, 200);
    bobs[0]!.reply(invites[0]!, 487, { toTag: 'one' });
    // The loser's 487 stays between the proxy and the loser.
    expect(alice.responses()).toEqual([]);
    expect(requests(bobs[0]!, 'ACK')).toHaveLength(1);
  });

  it('cancels a branch that rings longer than Timer C', async () => {
    const { rig, bobs, invites } = await ringing();
    bobs[0]!.reply(invites[0]!, 180, { toTag: 'b1' });
    rig.harness.clock.advance(182_000);
    expect(requests(bobs[0]!, 'CANCEL')).toHaveLength(1);
  });

  it('cancels the callee when the caller’s connection goes away', async () => {
    const { alice, bobs, invites } = await ringing();
    bobs[0]!.reply(invites[0]!, 180, { toTag: 'b1' });
    alice.peer.drop();
    expect(requests(bobs[0]!, 'CANCEL')).toHaveLength(1);
  });

  it('answers 430 when a flow token names a connection that is gone (RFC 5626 §5.3)', async () => {
    const { alice, bobs, invites } = await ringing();
    const bob = bobs[0]!;
    bob.reply(invites[0]!, 200, { toTag: 'b1', body: SDP });
    const route = getHeader(alice.responses().find((r) => r.status === 200)!, 'record-route')!;
    alice.peer.close();
    bob.send(bob.request('BYE', alice.contact, { from: bob.aor, to: alice.aor, toTag: alice.fromTag, callId: alice.callId, headers: [`Route: ${route}`] }));
    await settle();
    expect(bob.final().status).toBe(430);
  });

  it('lists the call for dashboards', async () => {
    const { rig, bobs, invites } = await ringing();
    bobs[0]!.reply(invites[0]!, 486, { toTag: 'b1' });
    expect(rig.adapter.stats().calls).toMatchObject([{ from: 'sip:alice@example.com', to: 'sip:bob@example.com', status: 486 }]);
  });
});

describe('proxy: request checks (§16.3) and the server itself', () => {
  it('answers 483 to Max-Forwards 0 and 482 to a request that comes back', async () => {
    const rig = createSipRig();
    const alice = await rig.registered('alice');
    const bob = await rig.registered('bob');
    alice.send(alice.request('MESSAGE', bob.aor, { maxForwards: 0, body: 'x' }));
    await settle();
    expect(alice.final().status).toBe(483);
    alice.send(alice.request('MESSAGE', bob.aor, { body: 'x' }));
    await settle();
    const [relayed] = requests(bob, 'MESSAGE');
    // A misconfigured element behind bob's flow sends it back as it came, with its own Via on
    // top: our branch comes back with the same loop part (§16.3 step 4).
    const looped = [
      `MESSAGE sip:bob@${DOMAIN} SIP/2.0`,
      `Via: SIP/2.0/WS ${bob.host};branch=z9hG4bKloop`,
      ...relayed!.headers.filter((h) => h.key !== 'content-length').map((h) => `${h.name}: ${h.value}`),
      'Content-Length: 1',
      '',
      'x',
    ].join('\r\n');
    bob.send(looped);
    await settle();
    expect(bob.final().status).toBe(482);
    // A spiral (same request, another Request-URI) is not a loop: it goes on to the next check,
    // which challenges bob's flow for alice's identity.
    bob.send(looped.replace(`MESSAGE sip:bob@${DOMAIN}`, `MESSAGE sip:alice@${DOMAIN}`).replace('z9hG4bKloop', 'z9hG4bKspiral'));
    await settle();
    expect(bob.final().status).toBe(407);
  });

  it('answers OPTIONS to the server 200 with Allow, 405 for other known methods, 501 for unknown ones', async () => {
    const rig = createSipRig();
    const alice = await rig.registered('alice');
    alice.send(alice.request('OPTIONS', `sip:${DOMAIN}`));
    await settle();
    const ok = alice.final();
    expect(ok.status).toBe(200);
    expect(getHeader(ok, 'allow')).toContain('INVITE');
    alice.send(alice.request('SUBSCRIBE', `sip:${DOMAIN}`));
    expect(alice.final().status).toBe(405);
    alice.send(alice.request('FOO', `sip:${DOMAIN}`));
    expect(alice.final().status).toBe(501);
  });

  it('refuses Proxy-Require (420), a scheme it does not serve (416) and relaying elsewhere (403)', async () => {
    const rig = createSipRig();
    const alice = await rig.registered('alice');
    alice.send(alice.request('MESSAGE', `sip:bob@${DOMAIN}`, { headers: ['Proxy-Require: foo'] }));
    const refused = alice.final();
    expect(refused.status).toBe(420);
    expect(getHeader(refused, 'unsupported')).toBe('foo');
    alice.send(alice.request('MESSAGE', 'tel:+15551234'));
    expect(alice.final().status).toBe(416);
    alice.send(alice.request('MESSAGE', 'sip:bob@elsewhere.org'));
    await settle();
    expect(alice.final().status).toBe(403);
  });

  it('answers 481 to a CANCEL that matches nothing', async () => {
    const rig = createSipRig();
    const alice = await rig.registered('alice');
    alice.send(alice.request('CANCEL', `sip:bob@${DOMAIN}`));
    expect(alice.final().status).toBe(481);
  });
});

describe('application API and bus', () => {
  it('hands a MESSAGE to a service to onMessage and answers with its status', async () => {
    const seen: string[] = [];
    const rig = createSipRig({ services: ['echo'], onMessage: async (message) => (seen.push(`${message.from} ${message.body}`), { status: 202 }) });
    const alice = await rig.registered('alice');
    alice.send(alice.request('MESSAGE', `sip:echo@${DOMAIN}`, { body: 'ping', headers: ['Content-Type: text/plain'] }));
    await settle();
    expect(alice.final().status).toBe(202);
    expect(seen).toEqual(['sip:alice@example.com ping']);
  });

  it('sends a MESSAGE to a registered user and resolves with the answer', async () => {
    const rig = createSipRig({ services: ['echo'] });
    const bob = await rig.registered('bob');
    const answer = rig.adapter.sendMessage({ to: 'bob', body: 'hi there' });
    const [message] = requests(bob, 'MESSAGE');
    expect(getHeader(message!, 'from')).toMatch(/^<sip:echo@example\.com>;tag=/);
    expect(message!.body).toBe('hi there');
    bob.reply(message!, 200, { toTag: 'x' });
    await expect(answer).resolves.toMatchObject({ status: 200 });
    await expect(rig.adapter.sendMessage({ to: 'carol', body: 'x' })).resolves.toMatchObject({ status: 480 });
  });

  it('bridges MESSAGEs to the bus and bus messages to registered users, holding only what is wanted', async () => {
    const rig = createSipRig({ bus: true, bridge: ['chat'] });
    const bus = rig.harness.bus;
    expect(bus.hasSubscribers?.('sip/bob')).toBe(false);
    const bob = await rig.registered('bob');
    // The bus subscription exists while bob has a binding, and only for him.
    expect(bus.hasSubscribers?.('sip/bob')).toBe(true);
    expect(bus.hasSubscribers?.('sip/carol')).toBe(false);
    const published: string[] = [];
    bus.subscribe('sip/chat', (message) => published.push(`${message.contentType} ${Buffer.from(message.payload).toString()} ${message.headers?.from}`));
    bob.send(bob.request('MESSAGE', `sip:chat@${DOMAIN}`, { body: 'to everyone', headers: ['Content-Type: text/plain'] }));
    await settle();
    expect(bob.final().status).toBe(200);
    expect(published).toEqual(['text/plain to everyone sip:bob@example.com']);
    bus.publish({ topic: 'sip/bob', payload: Buffer.from('from mqtt'), contentType: 'text/plain', origin: { protocol: 'mqtt' }, qos: 0 });
    const [message] = requests(bob, 'MESSAGE');
    expect(message!.body).toBe('from mqtt');
    expect(getHeader(message!, 'content-type')).toBe('text/plain');
    bob.peer.close();
    expect(bus.hasSubscribers?.('sip/bob')).toBe(false);
  });

  it('builds no bus message for a bridge name nobody subscribed to', async () => {
    const memory = createMemoryBus();
    let published = 0;
    const bus: Bus = {
      publish: (message) => {
        published++;
        return memory.publish(message);
      },
      subscribe: (filter, handler, options) => memory.subscribe(filter, handler, options),
      hasSubscribers: (topic, except) => memory.hasSubscribers(topic, except),
    };
    const rig = createSipRig({ bus: true, bridge: ['chat'] }, createTestHarness({ bus }));
    const alice = await rig.registered('alice');
    alice.send(alice.request('MESSAGE', `sip:chat@${DOMAIN}`, { body: 'nobody listens' }));
    await settle();
    expect(alice.final().status).toBe(200);
    expect(published).toBe(0);
    memory.subscribe('sip/#', () => {});
    alice.send(alice.request('MESSAGE', `sip:chat@${DOMAIN}`, { body: 'now somebody does' }));
    await settle();
    expect(published).toBe(1);
  });
});
