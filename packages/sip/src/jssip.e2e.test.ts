/**
 * End to end: the real JsSIP 3.13.8 (its own WebSocketInterface over `globalThis.WebSocket`,
 * here `ws` with a tap that records every frame) against the registrar and proxy served by
 * `@protoplex/server` on 127.0.0.1 (port 0), domain example.com, users alice/alice and bob/bob.
 *
 * Node has no WebRTC: `_fake-media.ts` puts a minimal RTCPeerConnection on globalThis for this
 * file and every call is given a stub `mediaStream`, so JsSIP never asks for getUserMedia. Only
 * the SDP engine is fake; REGISTER, MESSAGE, INVITE, ACK, CANCEL and BYE are JsSIP's own
 * messages, over real sockets, and the assertions check both what JsSIP reports and what the
 * server's `stats()` says. A failed test prints the whole wire log.
 *
 * The last describe is the cross-library check: a JsSIP alice calls and messages a SIP.js bob.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import JsSIP from 'jssip';
import type { RTCSession, EndEvent } from 'jssip/lib/RTCSession.js';
import type { IncomingMessageEvent, OutgoingMessageEvent, RTCSessionEvent, UA as JsSipUA } from 'jssip/lib/UA.js';
import { Invitation, Registerer, RegistererState, SessionState, UserAgent, type Message as SipJsMessage } from 'sip.js';
import { FakeRTCPeerConnection, fakeMediaStream, fakeSdhFactory, installFakeWebRTC, sdpLabel } from './_fake-media.js';
import { createWireTap, expectBindingGoesWithItsSocket, expectMd5AnswerToTwoChallenges, installWebSocket, startSipServer, waitFor, wireHeader, within, type E2EServer } from './_test-utils.js';

const DOMAIN = 'example.com';
const aor = (user: string): string => `sip:${user}@${DOMAIN}`;

let server: E2EServer;
const tap = createWireTap();
let restoreWebSocket: () => void;
let restoreWebRTC: () => void;

beforeAll(async () => {
  restoreWebSocket = installWebSocket(tap.WebSocket);
  restoreWebRTC = installFakeWebRTC();
  if (process.env['JSSIP_DEBUG']) JsSIP.debug.enable('JsSIP:*');
  server = await startSipServer({ domain: DOMAIN, users: { alice: 'alice', bob: 'bob' } });
});

afterAll(async () => {
  await server?.close();
  restoreWebRTC?.();
  restoreWebSocket?.();
});

// ------------------------------------------------------------------ a JsSIP phone, as the tests use it

type RegistrationEvent = { type: 'registered' | 'unregistered' | 'registrationFailed'; status?: number; cause?: string };

interface Phone {
  readonly label: string;
  readonly user: string;
  readonly ua: JsSipUA;
  /** Sessions the phone received (originator remote), in order. */
  readonly incoming: RTCSession[];
  readonly messages: IncomingMessageEvent[];
  readonly registrations: RegistrationEvent[];
  /** Resolves on the first `registered`, rejects on a `registrationFailed` before it. */
  readonly registered: Promise<void>;
}

const phones: Phone[] = [];

/** The random user part of the phone's Contact (JsSIP's `contact.uri` is a URI object). */
const contactUser = (p: Phone): string => (p.ua.contact as unknown as { uri: { user: string } }).uri.user;

interface PhoneOptions {
  password?: string;
  register?: boolean;
  register_expires?: number;
}

function phone(user: string, label: string, options: PhoneOptions = {}): Phone {
  const ua = new JsSIP.UA({
    sockets: [new JsSIP.WebSocketInterface(server.url(label))],
    uri: aor(user),
    password: options.password ?? user,
    register: options.register ?? true,
    register_expires: options.register_expires ?? 60,
    session_timers: false,
    user_agent: `e2e-${label}`,
    // No reconnect storms if the server closes a socket on purpose.
    connection_recovery_min_interval: 30,
    connection_recovery_max_interval: 60,
  });
  const registrations: RegistrationEvent[] = [];
  const incoming: RTCSession[] = [];
  const messages: IncomingMessageEvent[] = [];
  let settle!: { ok: () => void; fail: (e: Error) => void };
  const registered = new Promise<void>((ok, fail) => (settle = { ok, fail }));
  registered.catch(() => {});
  ua.on('registered', (e) => {
    registrations.push({ type: 'registered', status: e.response.status_code });
    settle.ok();
  });
  ua.on('unregistered', (e) => {
    registrations.push({ type: 'unregistered', status: e.response?.status_code, cause: e.cause });
  });
  ua.on('registrationFailed', (e) => {
    registrations.push({ type: 'registrationFailed', status: e.response?.status_code, cause: e.cause });
    settle.fail(new Error(`${label}: registration failed: ${e.response?.status_code} ${e.cause}`));
  });
  ua.on('newRTCSession', (e: RTCSessionEvent) => {
    if (e.originator === 'remote') incoming.push(e.session);
  });
  ua.on('newMessage', (e: IncomingMessageEvent | OutgoingMessageEvent) => {
    if (e.originator === 'remote') messages.push(e as IncomingMessageEvent);
  });
  ua.start();
  const p: Phone = { label, user, ua, incoming, messages, registrations, registered };
  phones.push(p);
  return p;
}

async function registeredPhone(user: string, label: string, options: PhoneOptions = {}): Promise<Phone> {
  const p = phone(user, label, options);
  await within(p.registered, `${label} registered`);
  return p;
}

/**
 * Stops a phone: JsSIP sends its un-REGISTER, then waits a fixed 2 s before closing the socket;
 * once the registrar has dropped the binding there is nothing left to wait for, so the socket is
 * closed right away through the UA's transport.
 */
async function stopPhone(p: Phone): Promise<void> {
  const wasRegistered = p.ua.isRegistered();
  const user = contactUser(p);
  p.ua.stop();
  if (wasRegistered) await waitFor(() => !server.bindings(aor(p.user)).some((b) => b.contact.includes(user)), `${p.label} unregistered`).catch(() => {});
  (p.ua as unknown as { transport: { disconnect(): void } }).transport.disconnect();
}

interface CallLog {
  readonly session: RTCSession;
  readonly events: { name: string; originator?: string; cause?: string; status?: number }[];
  /** Waits for an event `name` and returns it. */
  next(name: string): Promise<{ name: string; originator?: string; cause?: string; status?: number }>;
}

const SESSION_EVENTS = ['progress', 'accepted', 'confirmed', 'ended', 'failed'] as const;

function track(session: RTCSession): CallLog {
  const events: CallLog['events'] = [];
  for (const name of SESSION_EVENTS) {
    session.on(name, (e: Partial<EndEvent> & { response?: { status_code: number } }) => {
      const message = (e.message ?? e.response) as { status_code?: number } | undefined;
      events.push({ name, originator: e.originator, cause: e.cause, status: message?.status_code });
    });
  }
  return {
    session,
    events,
    next: (name) => waitFor(() => events.find((e) => e.name === name), `session event ${name} (saw ${events.map((e) => e.name).join(', ') || 'none'})`),
  };
}

function call(from: Phone, to: string): CallLog {
  FakeRTCPeerConnection.nextLabel = from.label;
  const session = from.ua.call(to, { mediaStream: fakeMediaStream(from.label) as never, pcConfig: { iceServers: [] } });
  return track(session);
}

function answer(to: Phone, session: RTCSession): void {
  FakeRTCPeerConnection.nextLabel = to.label;
  session.answer({ mediaStream: fakeMediaStream(to.label) as never, pcConfig: { iceServers: [] } });
}

const pc = (session: RTCSession): FakeRTCPeerConnection => session.connection as unknown as FakeRTCPeerConnection;

/** The result of `ua.sendMessage`: the final status JsSIP reports, and the cause on failure. */
function sendMessage(from: Phone, to: string, body: string, contentType = 'text/plain'): Promise<{ ok: boolean; status: number; cause?: string }> {
  return within(
    new Promise((resolve) => {
      from.ua.sendMessage(to, body, {
        contentType,
        eventHandlers: {
          succeeded: (e) => resolve({ ok: true, status: (e as unknown as { response: { status_code: number } }).response.status_code }),
          failed: (e) => resolve({ ok: false, status: e.response?.status_code ?? 0, cause: e.cause }),
        },
      });
    }),
    `MESSAGE ${from.label} -> ${to}`,
  );
}

beforeEach(({ onTestFailed }) => {
  tap.clear();
  onTestFailed(() => {
    console.log(`wire log:\n${tap.dump()}\n\nstats: ${JSON.stringify(server.adapter.stats(), null, 2)}`);
  });
});

afterEach(async ({ task }) => {
  // SIP_E2E_WIRE=1 prints every test's wire log, not only a failed one's.
  if (process.env['SIP_E2E_WIRE']) console.log(`${task.name}\n${tap.dump()}`);
  await Promise.all(phones.splice(0).map(stopPhone));
  await waitFor(() => server.connections() === 0 && server.bindings().length === 0, 'every socket closed and every binding gone');
});

// ------------------------------------------------------------------ tests

describe('JsSIP 3.13.8: registration', () => {
  it('registers with MD5 digest against the SHA-256 + MD5 challenge, and the binding appears in stats', async () => {
    const alice = await registeredPhone('alice', 'alice');

    expect(alice.registrations).toEqual([{ type: 'registered', status: 200 }]);
    expect(alice.ua.isRegistered()).toBe(true);

    // RFC 3261 §22.2, RFC 8760 §2.3: SHA-256 and MD5 offered, the library answers MD5.
    expectMd5AnswerToTwoChallenges(tap, 'alice', 'alice');

    const [binding, ...others] = server.bindings(aor('alice'));
    expect(others).toEqual([]);
    expect(binding!.contact).toContain(contactUser(alice));
    // RFC 5626 §4.2: JsSIP registers with +sip.instance and reg-id=1 (Outbound).
    expect(binding!.instance).toMatch(/urn:uuid:/);
    expect(binding!.regId).toBe(1);
    expect(binding!.expires).toBeGreaterThan(Date.now() + 50_000);
    expect(binding!.expires).toBeLessThanOrEqual(Date.now() + 60_000);
  });

  it('refreshes a registration in place: same binding, later expiry', async () => {
    const alice = await registeredPhone('alice', 'alice');
    const before = server.bindings(aor('alice'));
    expect(before).toHaveLength(1);
    const changes: string[] = [];
    const unsubscribe = server.adapter.onRegistration((change) => changes.push(`${change.type}:${change.binding.aor}`));
    try {
      await new Promise((resolve) => setTimeout(resolve, 20));
      // What JsSIP's own refresh timer does (it fires at expires - 5 s, at least 5 s: too slow here).
      // JsSIP emits `registered` only on a change of state, so the refresh is watched on the wire.
      const sent = tap.find({ label: 'alice', dir: 'out', start: 'REGISTER ' }).length;
      alice.ua.register();
      await waitFor(() => {
        const refresh = tap.find({ label: 'alice', dir: 'out', start: 'REGISTER ' }).slice(sent).at(-1);
        return refresh && tap.find({ label: 'alice', dir: 'in', start: 'SIP/2.0 200', callId: refresh.callId, cseq: new RegExp(`^${refresh.cseq}$`) }).length === 1;
      }, '200 to the refresh');
      await waitFor(() => changes.length > 0, 'the registration change');
    } finally {
      unsubscribe();
    }
    const after = server.bindings(aor('alice'));
    expect(after).toHaveLength(1);
    expect(after[0]!.contact).toBe(before[0]!.contact);
    expect(after[0]!.expires).toBeGreaterThan(before[0]!.expires);
    expect(changes).toEqual([`refreshed:${aor('alice')}`]);
    expect(alice.ua.isRegistered()).toBe(true);
    expect(alice.registrations.map((r) => r.type)).toEqual(['registered']);

    // RFC 3261 §10.2.4: a refresh reuses the Call-ID with a higher CSeq.
    const registers = tap.find({ label: 'alice', dir: 'out', start: 'REGISTER ' });
    const ids = new Set(registers.map((f) => f.callId));
    expect(ids.size).toBe(1);
    const cseqs = registers.map((f) => Number.parseInt(f.cseq!, 10));
    expect(cseqs).toEqual([...cseqs].sort((a, b) => a - b));
  });

  it('unregisters: Expires 0 removes the binding', async () => {
    const alice = await registeredPhone('alice', 'alice');
    expect(server.bindings(aor('alice'))).toHaveLength(1);
    const changes: string[] = [];
    const unsubscribe = server.adapter.onRegistration((change) => changes.push(`${change.type}:${change.reason ?? ''}`));
    try {
      alice.ua.unregister();
      await waitFor(() => alice.registrations.find((r) => r.type === 'unregistered'), 'unregistered');
    } finally {
      unsubscribe();
    }
    expect(alice.ua.isRegistered()).toBe(false);
    expect(server.bindings(aor('alice'))).toEqual([]);
    expect(changes).toEqual(['removed:unregistered']);
    const unregister = tap.find({ label: 'alice', dir: 'out', start: 'REGISTER ' }).at(-1)!;
    expect(unregister.text).toMatch(/;expires=0|\r\nExpires: 0\r\n/i);
  });

  it('drops the binding when its WebSocket goes away without an un-REGISTER', async () => {
    const alice = await registeredPhone('alice', 'alice');
    await expectBindingGoesWithItsSocket(server, tap, 'alice', aor('alice'));
    await waitFor(() => !alice.ua.isConnected(), 'JsSIP saw the socket close');
  });

  it('refuses a wrong password: registrationFailed, no binding', async () => {
    const mallory = phone('alice', 'mallory', { password: 'not-alice' });
    await expect(within(mallory.registered, 'registration outcome')).rejects.toThrow(/registration failed/);
    const failure = mallory.registrations.find((r) => r.type === 'registrationFailed')!;
    // RFC 3261 §22.2: credentials that do not verify are challenged again (401) or refused (403).
    expect([401, 403]).toContain(failure.status);
    expect(failure.cause).toBe(failure.status === 401 ? JsSIP.C.causes.AUTHENTICATION_ERROR : JsSIP.C.causes.REJECTED);
    expect(server.bindings()).toEqual([]);
    // JsSIP answers one challenge only; the server must not have accepted the second try.
    expect(tap.find({ label: 'mallory', dir: 'in', start: 'SIP/2.0 200' })).toEqual([]);
  });

  it('refuses an unknown user: registrationFailed, no binding', async () => {
    const carol = phone('carol', 'carol', { password: 'carol' });
    await expect(within(carol.registered, 'registration outcome')).rejects.toThrow(/registration failed/);
    const failure = carol.registrations.find((r) => r.type === 'registrationFailed')!;
    expect([401, 403, 404]).toContain(failure.status);
    expect(server.bindings()).toEqual([]);
  });
});

describe('JsSIP 3.13.8: MESSAGE', () => {
  it('relays a MESSAGE from alice to bob, and bob’s 200 back', async () => {
    const alice = await registeredPhone('alice', 'alice');
    const bob = await registeredPhone('bob', 'bob');

    const result = await sendMessage(alice, aor('bob'), 'hello bob ✓');
    expect(result).toEqual({ ok: true, status: 200 });

    await waitFor(() => bob.messages.length === 1, 'bob got the MESSAGE');
    const [received] = bob.messages;
    expect(received!.request.body).toBe('hello bob ✓');
    expect(received!.request.getHeader('Content-Type')).toBe('text/plain');
    expect(received!.request.from.uri.toAor()).toBe(aor('alice'));
    expect(received!.request.to.uri.toAor()).toBe(aor('bob'));
    // RFC 3261 §16.6 step 8: the proxy adds its Via on top of alice's.
    expect(received!.request.getHeaders('via').length).toBeGreaterThanOrEqual(2);
  });

  it('answers 404 for an unknown user', async () => {
    const alice = await registeredPhone('alice', 'alice');
    const result = await sendMessage(alice, aor('carol'), 'anyone?');
    expect(result).toEqual({ ok: false, status: 404, cause: JsSIP.C.causes.NOT_FOUND });
  });

  it('answers 480 for a known user with no binding', async () => {
    const alice = await registeredPhone('alice', 'alice');
    expect(server.bindings(aor('bob'))).toEqual([]);
    const result = await sendMessage(alice, aor('bob'), 'are you there?');
    expect(result).toEqual({ ok: false, status: 480, cause: JsSIP.C.causes.UNAVAILABLE });
  });
});

describe('JsSIP 3.13.8: calls', () => {
  it('INVITE, answer, ACK, BYE from the caller; SDP relayed untouched both ways', async () => {
    const alice = await registeredPhone('alice', 'alice');
    const bob = await registeredPhone('bob', 'bob');

    const out = call(alice, aor('bob'));
    await waitFor(() => bob.incoming.length === 1, 'bob rings');
    const inc = track(bob.incoming[0]!);
    expect((await out.next('progress')).status).toBe(180);
    answer(bob, inc.session);

    expect((await out.next('accepted')).status).toBe(200);
    await out.next('confirmed');
    await inc.next('confirmed'); // bob got the ACK (RFC 3261 §13.2.2.4, relayed through the Record-Route)

    expect(pc(inc.session).remoteDescription!.sdp).toBe(pc(out.session).localDescription!.sdp);
    expect(pc(out.session).remoteDescription!.sdp).toBe(pc(inc.session).localDescription!.sdp);
    expect(sdpLabel(pc(out.session).remoteDescription!.sdp)).toBe('bob');

    const callId = tap.find({ label: 'alice', dir: 'out', start: 'INVITE ' })[0]!.callId!;
    // RFC 3261 §16.6 step 4: the proxy Record-Routes, so the dialog's ACK and BYE pass through it.
    const invite = tap.find({ label: 'bob', dir: 'in', start: 'INVITE ', callId })[0]!;
    expect(wireHeader(invite.text, 'record-route')).toBeDefined();
    expect(tap.find({ label: 'bob', dir: 'in', start: 'ACK ', callId })).toHaveLength(1);
    expect(server.adapter.stats().calls.find((c) => c.callId === callId)).toMatchObject({ status: 200, from: expect.stringContaining('alice'), to: expect.stringContaining('bob') });

    out.session.terminate();
    const ended = await inc.next('ended');
    expect(ended).toMatchObject({ originator: 'remote', cause: JsSIP.C.causes.BYE });
    expect((await out.next('ended')).originator).toBe('local');
    await waitFor(() => tap.find({ label: 'alice', dir: 'in', start: 'SIP/2.0 200', callId, cseq: /BYE$/ }).length === 1, '200 to the BYE');
    await waitFor(() => server.adapter.stats().calls.find((c) => c.callId === callId)?.ended, 'the call marked ended');
  });

  it('BYE from the callee reaches the caller (in-dialog routing back through the flow token)', async () => {
    const alice = await registeredPhone('alice', 'alice');
    const bob = await registeredPhone('bob', 'bob');

    const out = call(alice, aor('bob'));
    await waitFor(() => bob.incoming.length === 1, 'bob rings');
    const inc = track(bob.incoming[0]!);
    answer(bob, inc.session);
    await out.next('confirmed');
    await inc.next('confirmed');

    inc.session.terminate();
    expect(await out.next('ended')).toMatchObject({ originator: 'remote', cause: JsSIP.C.causes.BYE });
    expect((await inc.next('ended')).originator).toBe('local');
    const callId = tap.find({ label: 'alice', dir: 'out', start: 'INVITE ' })[0]!.callId!;
    await waitFor(() => tap.find({ label: 'bob', dir: 'in', start: 'SIP/2.0 200', callId, cseq: /BYE$/ }).length === 1, '200 to the BYE');
  });

  it('CANCEL during ringing: the caller gets 487, the callee sees the cancel', async () => {
    const alice = await registeredPhone('alice', 'alice');
    const bob = await registeredPhone('bob', 'bob');

    const out = call(alice, aor('bob'));
    await waitFor(() => bob.incoming.length === 1, 'bob rings');
    const inc = track(bob.incoming[0]!);
    await out.next('progress');

    out.session.terminate();
    expect(await out.next('failed')).toMatchObject({ originator: 'local', cause: JsSIP.C.causes.CANCELED });
    expect(await inc.next('failed')).toMatchObject({ originator: 'remote', cause: JsSIP.C.causes.CANCELED });

    const callId = tap.find({ label: 'alice', dir: 'out', start: 'INVITE ' })[0]!.callId!;
    // RFC 3261 §9.2 / §16.10: CANCEL answered 200 hop by hop, the INVITE answered 487.
    await waitFor(() => tap.find({ label: 'alice', dir: 'in', start: 'SIP/2.0 200', callId, cseq: /CANCEL$/ }).length === 1, '200 to the CANCEL');
    await waitFor(() => tap.find({ label: 'alice', dir: 'in', start: 'SIP/2.0 487', callId, cseq: /INVITE$/ }).length === 1, '487 to the INVITE');
    // RFC 3261 §17.1.1.3: the client transaction ACKs the 487 itself.
    await waitFor(() => tap.find({ label: 'alice', dir: 'out', start: 'ACK ', callId }).length === 1, 'ACK for the 487');
    expect(tap.find({ label: 'bob', dir: 'in', start: 'CANCEL ', callId })).toHaveLength(1);
    expect(tap.find({ label: 'alice', dir: 'in', start: 'SIP/2.0 200', callId, cseq: /INVITE$/ })).toEqual([]);
    await waitFor(() => server.adapter.stats().calls.find((c) => c.callId === callId)?.status === 487, 'the call recorded as 487');
  });

  it('forks to both registrations of bob; the first to answer wins, the other is cancelled', async () => {
    const alice = await registeredPhone('alice', 'alice');
    const bob1 = await registeredPhone('bob', 'bob-1');
    const bob2 = await registeredPhone('bob', 'bob-2');
    expect(server.bindings(aor('bob'))).toHaveLength(2);

    const out = call(alice, aor('bob'));
    await waitFor(() => bob1.incoming.length === 1 && bob2.incoming.length === 1, 'both bobs ring');
    const ring1 = track(bob1.incoming[0]!);
    const ring2 = track(bob2.incoming[0]!);
    const callId = tap.find({ label: 'alice', dir: 'out', start: 'INVITE ' })[0]!.callId!;
    // RFC 3261 §16.7 step 5: every provisional response but 100 is forwarded at once, so alice
    // sees both early dialogs (one To tag per branch) before anyone answers.
    const ringing = await waitFor(() => {
      const frames = tap.find({ label: 'alice', dir: 'in', start: 'SIP/2.0 180', callId });
      return frames.length === 2 && frames;
    }, 'both 180s at alice');
    expect(new Set(ringing.map((f) => /;tag=([^;>\s]+)/.exec(wireHeader(f.text, 'to', 't')!)?.[1])).size).toBe(2);

    answer(bob1, ring1.session);
    await out.next('confirmed');
    await ring1.next('confirmed');
    // RFC 3261 §16.7 step 10: once a 2xx is forwarded the proxy CANCELs the other branches.
    expect(await ring2.next('failed')).toMatchObject({ originator: 'remote', cause: JsSIP.C.causes.CANCELED });
    expect(sdpLabel(pc(out.session).remoteDescription!.sdp)).toBe('bob-1');

    const offer1 = tap.find({ label: 'bob-1', dir: 'in', start: 'INVITE ', callId })[0]!;
    const offer2 = tap.find({ label: 'bob-2', dir: 'in', start: 'INVITE ', callId })[0]!;
    expect(offer1.text.split('\r\n\r\n')[1]).toBe(offer2.text.split('\r\n\r\n')[1]);
    expect(tap.find({ label: 'bob-2', dir: 'in', start: 'CANCEL ', callId })).toHaveLength(1);
    expect(tap.find({ label: 'bob-1', dir: 'in', start: 'CANCEL ', callId })).toEqual([]);
    // Exactly one 2xx reaches the caller, and bob-2's 487 is absorbed by the proxy (§16.7).
    expect(tap.find({ label: 'alice', dir: 'in', start: 'SIP/2.0 200', callId, cseq: /INVITE$/ })).toHaveLength(1);
    await waitFor(() => tap.find({ label: 'bob-2', dir: 'out', start: 'SIP/2.0 487', callId }).length === 1, 'bob-2 answered 487');
    expect(tap.find({ label: 'alice', dir: 'in', start: 'SIP/2.0 487', callId })).toEqual([]);

    out.session.terminate();
    await ring1.next('ended');
    await out.next('ended');
  });

  it('answers 404 to an INVITE for an unknown user and 480 for a known one with no binding', async () => {
    const alice = await registeredPhone('alice', 'alice');
    const unknown = call(alice, aor('carol'));
    expect(await unknown.next('failed')).toMatchObject({ originator: 'remote', status: 404, cause: JsSIP.C.causes.NOT_FOUND });
    const absent = call(alice, aor('bob'));
    expect(await absent.next('failed')).toMatchObject({ originator: 'remote', status: 480, cause: JsSIP.C.causes.UNAVAILABLE });
  });
});

// ------------------------------------------------------------------ JsSIP alice, SIP.js bob

describe('JsSIP alice and a SIP.js bob', () => {
  let bob: UserAgent;
  let registerer: Registerer;
  const sdh = fakeSdhFactory('sipjs-bob');
  const invitations: Invitation[] = [];
  const received: SipJsMessage[] = [];

  beforeEach(async () => {
    invitations.length = 0;
    received.length = 0;
    bob = new UserAgent({
      uri: UserAgent.makeURI(aor('bob'))!,
      transportOptions: { server: server.url('sipjs-bob') },
      authorizationUsername: 'bob',
      authorizationPassword: 'bob',
      sessionDescriptionHandlerFactory: sdh,
      logBuiltinEnabled: false,
      userAgentString: 'e2e-sipjs-bob',
      delegate: {
        onInvite: (invitation) => {
          invitations.push(invitation);
        },
        onMessage: (message) => {
          received.push(message);
          void message.accept();
        },
      },
    });
    await bob.start();
    registerer = new Registerer(bob, { expires: 60 });
    const registered = new Promise<void>((resolve, reject) => {
      registerer.stateChange.addListener((state) => {
        if (state === RegistererState.Registered) resolve();
        if (state === RegistererState.Unregistered) reject(new Error('SIP.js bob unregistered'));
      });
    });
    await registerer.register();
    await within(registered, 'SIP.js bob registered');
  });

  afterEach(async () => {
    await bob.stop();
  });

  it('a JsSIP alice messages a SIP.js bob', async () => {
    const alice = await registeredPhone('alice', 'alice');
    const result = await sendMessage(alice, aor('bob'), 'from JsSIP to SIP.js', 'text/plain;charset=utf-8');
    expect(result).toEqual({ ok: true, status: 200 });
    await waitFor(() => received.length === 1, 'SIP.js bob got the MESSAGE');
    expect(received[0]!.request.body).toBe('from JsSIP to SIP.js');
    expect(received[0]!.request.getHeader('content-type')).toBe('text/plain;charset=utf-8');
    expect(received[0]!.request.from.uri.toString()).toBe(aor('alice'));
  });

  it('a JsSIP alice calls a SIP.js bob, who answers; alice hangs up', async () => {
    const alice = await registeredPhone('alice', 'alice');
    const out = call(alice, aor('bob'));
    await waitFor(() => invitations.length === 1, 'SIP.js bob rings');
    const invitation = invitations[0]!;
    expect((await out.next('progress')).status).toBe(180);
    const states: SessionState[] = [];
    invitation.stateChange.addListener((state) => states.push(state));
    await invitation.accept();
    await out.next('confirmed');
    await waitFor(() => states.includes(SessionState.Established), 'SIP.js bob established');

    const handler = sdh.handlers.at(-1)!;
    expect(handler.remote[0]).toBe(pc(out.session).localDescription!.sdp);
    expect(pc(out.session).remoteDescription!.sdp).toBe(handler.local[0]);

    out.session.terminate();
    await waitFor(() => states.includes(SessionState.Terminated), 'SIP.js bob terminated by the BYE');
    expect((await out.next('ended')).originator).toBe('local');
  });
});
