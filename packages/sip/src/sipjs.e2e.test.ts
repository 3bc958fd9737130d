/**
 * End to end: the real SIP.js 0.21.2 (its own WebSocket transport over `globalThis.WebSocket`,
 * here `ws` with a tap that records every frame) against the registrar and proxy served by
 * `@protoplex/server` on 127.0.0.1 (port 0), domain example.com, users alice/alice and bob/bob.
 *
 * Node has no WebRTC: each UserAgent gets a `sessionDescriptionHandlerFactory` from
 * `_fake-media.ts` whose handlers hand out a fixed, valid SDP and record what they were given.
 * Only the SDP engine is fake; every REGISTER, MESSAGE, INVITE, ACK, CANCEL and BYE is SIP.js's
 * own, over real sockets, and the assertions check what SIP.js reports and what the server's
 * `stats()` says. A failed test prints the whole wire log.
 *
 * The server accepts registrations down to 1 s (`minExpires: 1`) so the refresh test can watch
 * SIP.js's own refresh timer fire within a second.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  Inviter,
  Messager,
  Registerer,
  RegistererState,
  SessionState,
  UserAgent,
  type Core,
  type Invitation,
  type Message as SipJsMessage,
  type Session,
} from 'sip.js';
import { fakeSdhFactory, sdpLabel, type FakeSessionDescriptionHandler } from './_fake-media.js';
import { createWireTap, expectBindingGoesWithItsSocket, expectMd5AnswerToTwoChallenges, installWebSocket, startSipServer, waitFor, wireHeader, within, type E2EServer } from './_test-utils.js';

const DOMAIN = 'example.com';
const aor = (user: string): string => `sip:${user}@${DOMAIN}`;
const uri = (user: string) => UserAgent.makeURI(aor(user))!;

let server: E2EServer;
const tap = createWireTap();
let restoreWebSocket: () => void;

beforeAll(async () => {
  restoreWebSocket = installWebSocket(tap.WebSocket);
  server = await startSipServer({ domain: DOMAIN, users: { alice: 'alice', bob: 'bob' }, minExpires: 1 });
});

afterAll(async () => {
  await server?.close();
  restoreWebSocket?.();
});

// ------------------------------------------------------------------ a SIP.js phone, as the tests use it

interface Phone {
  readonly label: string;
  readonly user: string;
  readonly ua: UserAgent;
  readonly registerer: Registerer;
  /** Registerer states in order, from the first change. */
  readonly states: RegistererState[];
  /** Final responses to this phone's REGISTERs that were not 2xx (`onReject`). */
  readonly rejections: number[];
  readonly invitations: Invitation[];
  readonly messages: SipJsMessage[];
  readonly handlers: FakeSessionDescriptionHandler[];
}

const phones: Phone[] = [];

interface PhoneOptions {
  password?: string;
  expires?: number;
  refreshFrequency?: number;
  regId?: number;
}

async function phone(user: string, label: string, options: PhoneOptions = {}): Promise<Phone> {
  const sdh = fakeSdhFactory(label);
  const invitations: Invitation[] = [];
  const messages: SipJsMessage[] = [];
  const ua = new UserAgent({
    uri: uri(user),
    transportOptions: { server: server.url(label) },
    authorizationUsername: user,
    authorizationPassword: options.password ?? user,
    sessionDescriptionHandlerFactory: sdh,
    logBuiltinEnabled: Boolean(process.env['SIPJS_DEBUG']),
    userAgentString: `e2e-${label}`,
    delegate: {
      onInvite: (invitation) => {
        invitations.push(invitation);
      },
      onMessage: (message) => {
        messages.push(message);
        void message.accept();
      },
    },
  });
  await ua.start();
  const registerer = new Registerer(ua, {
    expires: options.expires ?? 60,
    ...(options.refreshFrequency ? { refreshFrequency: options.refreshFrequency } : {}),
    ...(options.regId ? { regId: options.regId } : {}),
  });
  const states: RegistererState[] = [];
  registerer.stateChange.addListener((state) => states.push(state));
  const p: Phone = { label, user, ua, registerer, states, rejections: [], invitations, messages, handlers: sdh.handlers };
  phones.push(p);
  return p;
}

/** Sends one REGISTER (with its digest retry) and resolves with the Registerer's outcome. */
async function register(p: Phone): Promise<RegistererState> {
  const outcome = new Promise<RegistererState>((resolve) => {
    const listener = (state: RegistererState): void => {
      if (state === RegistererState.Registered || state === RegistererState.Unregistered) {
        p.registerer.stateChange.removeListener(listener);
        resolve(state);
      }
    };
    p.registerer.stateChange.addListener(listener);
  });
  await p.registerer.register({ requestDelegate: { onReject: (response) => p.rejections.push(response.message.statusCode!) } });
  return within(outcome, `${p.label} REGISTER outcome`);
}

async function registeredPhone(user: string, label: string, options: PhoneOptions = {}): Promise<Phone> {
  const p = await phone(user, label, options);
  const state = await register(p);
  if (state !== RegistererState.Registered) throw new Error(`${label} did not register (${p.rejections.join(', ')})`);
  return p;
}

interface CallLog {
  readonly inviter: Inviter;
  readonly states: SessionState[];
  /** Final and provisional responses to the INVITE, as SIP.js's request delegate saw them. */
  readonly responses: number[];
  readonly rejected: Promise<Core.IncomingResponse>;
}

async function call(from: Phone, to: string): Promise<CallLog> {
  const inviter = new Inviter(from.ua, UserAgent.makeURI(to)!);
  const states: SessionState[] = [];
  const responses: number[] = [];
  inviter.stateChange.addListener((state) => states.push(state));
  let onReject!: (response: Core.IncomingResponse) => void;
  const rejected = new Promise<Core.IncomingResponse>((resolve) => (onReject = resolve));
  await inviter.invite({
    requestDelegate: {
      onProgress: (r) => responses.push(r.message.statusCode!),
      onAccept: (r) => responses.push(r.message.statusCode!),
      onReject: (r) => {
        responses.push(r.message.statusCode!);
        onReject(r);
      },
    },
  });
  return { inviter, states, responses, rejected };
}

function sessionStates(session: Session): SessionState[] {
  const states: SessionState[] = [session.state];
  session.stateChange.addListener((state) => states.push(state));
  return states;
}

const handlerOf = (session: Session): FakeSessionDescriptionHandler => session.sessionDescriptionHandler as unknown as FakeSessionDescriptionHandler;

/** Sends a MESSAGE and resolves with the final status SIP.js reports. */
function sendMessage(from: Phone, to: string, body: string, contentType = 'text/plain'): Promise<number> {
  return within(
    new Promise<number>((resolve, reject) => {
      new Messager(from.ua, UserAgent.makeURI(to)!, body, contentType)
        .message({
          requestDelegate: {
            onAccept: (r) => resolve(r.message.statusCode!),
            onReject: (r) => resolve(r.message.statusCode!),
          },
        })
        .catch(reject);
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
  // UserAgent.stop() unregisters (and waits for the answer), ends sessions, then closes the socket.
  await Promise.all(phones.splice(0).map((p) => p.ua.stop()));
  await waitFor(() => server.connections() === 0 && server.bindings().length === 0, 'every socket closed and every binding gone');
});

// ------------------------------------------------------------------ tests

describe('SIP.js 0.21.2: registration', () => {
  it('registers with MD5 digest against the SHA-256 + MD5 challenge, and the binding appears in stats', async () => {
    const alice = await registeredPhone('alice', 'alice');
    expect(alice.states).toEqual([RegistererState.Registered]);
    expect(alice.rejections).toEqual([]);

    // RFC 3261 §22.2, RFC 8760 §2.3: SHA-256 and MD5 offered, the library answers MD5.
    expectMd5AnswerToTwoChallenges(tap, 'alice', 'alice');

    const bindings = server.bindings(aor('alice'));
    expect(bindings).toHaveLength(1);
    expect(bindings[0]!.contact).toContain(alice.ua.contact.uri.user!);
    // SIP.js registers without Outbound unless asked (regId).
    expect(bindings[0]!.instance).toBeUndefined();
    expect(bindings[0]!.expires).toBeGreaterThan(Date.now() + 50_000);
    expect(bindings[0]!.expires).toBeLessThanOrEqual(Date.now() + 60_000);
  });

  it('registers with Outbound (reg-id, +sip.instance) when asked', async () => {
    const alice = await registeredPhone('alice', 'alice', { regId: 1 });
    const [binding] = server.bindings(aor('alice'));
    expect(binding!.regId).toBe(1);
    expect(binding!.instance).toContain(alice.ua.instanceId);
  });

  it('refreshes on its own timer before a short registration lapses: same binding, later expiry', async () => {
    const changes: string[] = [];
    const unsubscribe = server.adapter.onRegistration((change) => changes.push(change.type));
    try {
      // refreshFrequency 50: SIP.js re-registers after half the granted 2 s.
      const alice = await registeredPhone('alice', 'alice', { expires: 2, refreshFrequency: 50 });
      const first = server.bindings(aor('alice'));
      expect(first).toHaveLength(1);
      expect(first[0]!.expires).toBeLessThanOrEqual(Date.now() + 2000);
      await waitFor(() => tap.find({ label: 'alice', dir: 'out', start: 'REGISTER ' }).length >= 3 && changes.includes('refreshed'), 'the refresh REGISTER', 2500);
      await waitFor(() => server.bindings(aor('alice'))[0]!.expires > first[0]!.expires, 'a later expiry');
      const after = server.bindings(aor('alice'));
      expect(after).toHaveLength(1);
      expect(after[0]!.contact).toBe(first[0]!.contact);
      expect(alice.registerer.state).toBe(RegistererState.Registered);
      // RFC 3261 §10.2.4: same Call-ID, higher CSeq.
      const registers = tap.find({ label: 'alice', dir: 'out', start: 'REGISTER ' });
      expect(new Set(registers.map((f) => f.callId)).size).toBe(1);
      expect(changes.filter((c) => c === 'added')).toHaveLength(1);
      expect(changes).not.toContain('removed');
    } finally {
      unsubscribe();
    }
  });

  it('unregisters: Expires 0 removes the binding', async () => {
    const alice = await registeredPhone('alice', 'alice');
    expect(server.bindings(aor('alice'))).toHaveLength(1);
    const changes: string[] = [];
    const unsubscribe = server.adapter.onRegistration((change) => changes.push(`${change.type}:${change.reason ?? ''}`));
    try {
      await alice.registerer.unregister();
      await waitFor(() => alice.registerer.state === RegistererState.Unregistered, 'Unregistered');
    } finally {
      unsubscribe();
    }
    expect(server.bindings(aor('alice'))).toEqual([]);
    expect(changes).toEqual(['removed:unregistered']);
    const last = tap.find({ label: 'alice', dir: 'out', start: 'REGISTER ' }).at(-1)!;
    expect(last.text).toMatch(/;expires=0|\r\nExpires: 0\r\n/i);
  });

  it('drops the binding when its WebSocket goes away without an un-REGISTER', async () => {
    const alice = await registeredPhone('alice', 'alice');
    await expectBindingGoesWithItsSocket(server, tap, 'alice', aor('alice'));
    await waitFor(() => !alice.ua.isConnected(), 'SIP.js saw the socket close');
  });

  it('refuses a wrong password: Unregistered with 401/403, no binding', async () => {
    const mallory = await phone('alice', 'mallory', { password: 'not-alice' });
    expect(await register(mallory)).toBe(RegistererState.Unregistered);
    // RFC 3261 §22.2: credentials that do not verify are challenged again (401) or refused (403).
    expect(mallory.rejections).toHaveLength(1);
    expect([401, 403]).toContain(mallory.rejections[0]);
    expect(server.bindings()).toEqual([]);
    expect(tap.find({ label: 'mallory', dir: 'in', start: 'SIP/2.0 200' })).toEqual([]);
  });

  it('refuses an unknown user: Unregistered, no binding', async () => {
    const carol = await phone('carol', 'carol', { password: 'carol' });
    expect(await register(carol)).toBe(RegistererState.Unregistered);
    expect(carol.rejections).toHaveLength(1);
    expect([401, 403, 404]).toContain(carol.rejections[0]);
    expect(server.bindings()).toEqual([]);
  });
});

describe('SIP.js 0.21.2: MESSAGE', () => {
  it('relays a MESSAGE from alice to bob, and bob’s 200 back', async () => {
    const alice = await registeredPhone('alice', 'alice');
    const bob = await registeredPhone('bob', 'bob');
    expect(await sendMessage(alice, aor('bob'), 'hello bob ✓')).toBe(200);
    await waitFor(() => bob.messages.length === 1, 'bob got the MESSAGE');
    const { request } = bob.messages[0]!;
    expect(request.body).toBe('hello bob ✓');
    expect(request.getHeader('content-type')).toBe('text/plain');
    expect(request.from.uri.toString()).toBe(aor('alice'));
    expect(request.to.uri.toString()).toBe(aor('bob'));
    expect(request.getHeaders('via').length).toBeGreaterThanOrEqual(2);
  });

  it('answers 404 for an unknown user', async () => {
    const alice = await registeredPhone('alice', 'alice');
    expect(await sendMessage(alice, aor('carol'), 'anyone?')).toBe(404);
  });

  it('answers 480 for a known user with no binding', async () => {
    const alice = await registeredPhone('alice', 'alice');
    expect(server.bindings(aor('bob'))).toEqual([]);
    expect(await sendMessage(alice, aor('bob'), 'are you there?')).toBe(480);
  });
});

describe('SIP.js 0.21.2: calls', () => {
  it('INVITE, answer, ACK, BYE from the caller; SDP relayed untouched both ways', async () => {
    const alice = await registeredPhone('alice', 'alice');
    const bob = await registeredPhone('bob', 'bob');

    const out = await call(alice, aor('bob'));
    await waitFor(() => bob.invitations.length === 1, 'bob rings');
    const invitation = bob.invitations[0]!;
    await waitFor(() => out.responses.includes(180), '180 Ringing at alice');
    const bobStates = sessionStates(invitation);
    let acked = false;
    invitation.delegate = { onAck: () => void (acked = true) };
    await invitation.accept();

    await waitFor(() => out.states.includes(SessionState.Established), 'alice established');
    await waitFor(() => acked, 'bob got the ACK');
    expect(bobStates).toContain(SessionState.Established);

    const aliceSdh = handlerOf(out.inviter);
    const bobSdh = handlerOf(invitation);
    expect(bobSdh.remote[0]).toBe(aliceSdh.local[0]);
    expect(aliceSdh.remote[0]).toBe(bobSdh.local[0]);
    expect(sdpLabel(aliceSdh.remote[0]!)).toBe('bob');

    const callId = out.inviter.request.callId;
    const invite = tap.find({ label: 'bob', dir: 'in', start: 'INVITE ', callId })[0]!;
    expect(wireHeader(invite.text, 'record-route')).toBeDefined();
    expect(tap.find({ label: 'bob', dir: 'in', start: 'ACK ', callId })).toHaveLength(1);
    expect(server.adapter.stats().calls.find((c) => c.callId === callId)).toMatchObject({ status: 200 });

    await out.inviter.bye();
    await waitFor(() => bobStates.includes(SessionState.Terminated), 'bob terminated by the BYE');
    await waitFor(() => out.states.includes(SessionState.Terminated), 'alice terminated');
    await waitFor(() => tap.find({ label: 'alice', dir: 'in', start: 'SIP/2.0 200', callId, cseq: /BYE$/ }).length === 1, '200 to the BYE');
    await waitFor(() => server.adapter.stats().calls.find((c) => c.callId === callId)?.ended, 'the call marked ended');
  });

  it('BYE from the callee reaches the caller', async () => {
    const alice = await registeredPhone('alice', 'alice');
    const bob = await registeredPhone('bob', 'bob');
    const out = await call(alice, aor('bob'));
    await waitFor(() => bob.invitations.length === 1, 'bob rings');
    const invitation = bob.invitations[0]!;
    await invitation.accept();
    await waitFor(() => out.states.includes(SessionState.Established), 'alice established');
    await waitFor(() => tap.find({ label: 'bob', dir: 'in', start: 'ACK ' }).length === 1, 'bob got the ACK');

    await invitation.bye();
    await waitFor(() => out.states.includes(SessionState.Terminated), 'alice terminated by the BYE');
    const callId = out.inviter.request.callId;
    expect(tap.find({ label: 'alice', dir: 'in', start: 'BYE ', callId })).toHaveLength(1);
    await waitFor(() => tap.find({ label: 'bob', dir: 'in', start: 'SIP/2.0 200', callId, cseq: /BYE$/ }).length === 1, '200 to the BYE');
  });

  it('CANCEL during ringing: the caller gets 487, the callee sees the cancel', async () => {
    const alice = await registeredPhone('alice', 'alice');
    const bob = await registeredPhone('bob', 'bob');
    const out = await call(alice, aor('bob'));
    await waitFor(() => bob.invitations.length === 1, 'bob rings');
    const invitation = bob.invitations[0]!;
    let cancelled = false;
    invitation.delegate = { onCancel: () => void (cancelled = true) };
    const bobStates = sessionStates(invitation);
    await waitFor(() => out.responses.includes(180), '180 Ringing at alice');

    await out.inviter.cancel();
    const final = await within(out.rejected, 'the INVITE’s final response');
    expect(final.message.statusCode).toBe(487);
    await waitFor(() => out.states.includes(SessionState.Terminated), 'alice terminated');
    await waitFor(() => cancelled && bobStates.includes(SessionState.Terminated), 'bob saw the CANCEL');

    const callId = out.inviter.request.callId;
    await waitFor(() => tap.find({ label: 'alice', dir: 'in', start: 'SIP/2.0 200', callId, cseq: /CANCEL$/ }).length === 1, '200 to the CANCEL');
    await waitFor(() => tap.find({ label: 'alice', dir: 'out', start: 'ACK ', callId }).length === 1, 'ACK for the 487');
    expect(tap.find({ label: 'bob', dir: 'in', start: 'CANCEL ', callId })).toHaveLength(1);
    expect(out.responses).not.toContain(200);
    await waitFor(() => server.adapter.stats().calls.find((c) => c.callId === callId)?.status === 487, 'the call recorded as 487');
  });

  it('forks to both registrations of bob; the first to answer wins, the other is cancelled', async () => {
    const alice = await registeredPhone('alice', 'alice');
    const bob1 = await registeredPhone('bob', 'bob-1');
    const bob2 = await registeredPhone('bob', 'bob-2');
    expect(server.bindings(aor('bob'))).toHaveLength(2);

    const out = await call(alice, aor('bob'));
    await waitFor(() => bob1.invitations.length === 1 && bob2.invitations.length === 1, 'both bobs ring');
    const [ring1, ring2] = [bob1.invitations[0]!, bob2.invitations[0]!];
    let cancelled2 = false;
    ring2.delegate = { onCancel: () => void (cancelled2 = true) };
    const states2 = sessionStates(ring2);

    await ring1.accept();
    await waitFor(() => out.states.includes(SessionState.Established), 'alice established');
    // RFC 3261 §16.7 step 10: the proxy CANCELs the branches that did not answer.
    await waitFor(() => cancelled2 && states2.includes(SessionState.Terminated), 'bob-2 cancelled');
    expect(sdpLabel(handlerOf(out.inviter).remote[0]!)).toBe('bob-1');

    const callId = out.inviter.request.callId;
    expect(tap.find({ label: 'bob-1', dir: 'in', start: 'CANCEL ', callId })).toEqual([]);
    expect(tap.find({ label: 'alice', dir: 'in', start: 'SIP/2.0 200', callId, cseq: /INVITE$/ })).toHaveLength(1);
    await waitFor(() => tap.find({ label: 'bob-2', dir: 'out', start: 'SIP/2.0 487', callId }).length === 1, 'bob-2 answered 487');
    expect(tap.find({ label: 'alice', dir: 'in', start: 'SIP/2.0 487', callId })).toEqual([]);

    await out.inviter.bye();
    await waitFor(() => ring1.state === SessionState.Terminated, 'bob-1 terminated');
  });

  it('answers 404 to an INVITE for an unknown user and 480 for a known one with no binding', async () => {
    const alice = await registeredPhone('alice', 'alice');
    const unknown = await call(alice, aor('carol'));
    expect((await within(unknown.rejected, '404')).message.statusCode).toBe(404);
    const absent = await call(alice, aor('bob'));
    expect((await within(absent.rejected, '480')).message.statusCode).toBe(480);
    await waitFor(() => unknown.states.includes(SessionState.Terminated) && absent.states.includes(SessionState.Terminated), 'both terminated');
  });
});
