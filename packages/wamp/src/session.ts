/**
 * One WAMP session on one WebSocket: HELLO, authentication, WELCOME, then routing through the
 * realm's broker and dealer until GOODBYE or ABORT. One dispatch switch per phase; one exit path,
 * `fail()`, which sends ABORT and closes ("Protocol Errors": "the peer MUST abort the session by
 * sending an ABORT message ... with wamp.error.protocol_violation").
 */
import { CloseCode, ProtocolError, limitCloseReason, toProtocolError, type AdapterContext, type Connection, type Session, type Watched } from '@protoplex/core';
import { decodeMessage, describeWire, generateMessage, type Dict, type HelloMessage, type Serializer, type WampMessage } from './codec.js';
import { CLIENT_ROLES, MESSAGE_NAMES, Metric, MessageType, WampClose, WampError, type ClientRole } from './constants.js';
import { beginAuthentication, type AuthStep } from './auth.js';
import type { Peer, Realm } from './realm.js';
import type { Router } from './router.js';
import type { WampAction } from './types.js';
import { isValidUri, matchPolicyOf } from './uri.js';

/** What the one exit path needs besides the text: the ABORT reason. */
export interface WampFault {
  /** ABORT.Reason. @default 'wamp.error.protocol_violation' */
  readonly reason?: string;
}

/** Throws in handlers; `fail` answers ABORT with `reason` and closes with `closeCode`. */
export function wampViolation(text: string, closeCode: number = CloseCode.ProtocolError, reason: string = WampError.ProtocolViolation): ProtocolError<WampFault> {
  return new ProtocolError<WampFault>(closeCode, text, { detail: { reason } });
}

type Phase = 'hello' | 'authenticating' | 'challenged' | 'joined' | 'goodbye' | 'closed';

const SEND_TEXT = Object.freeze({ text: true });

/** Most messages held while an asynchronous hook (authenticate, authorize) runs. */
const MAX_HELD = 1024;

const ACTION_OF: Partial<Record<number, WampAction>> = {
  [MessageType.PUBLISH]: 'publish',
  [MessageType.SUBSCRIBE]: 'subscribe',
  [MessageType.CALL]: 'call',
  [MessageType.REGISTER]: 'register',
};

export class WampSession implements Session, Peer, Watched {
  id = 0;
  realm!: Realm;
  authid = '';
  authrole = '';
  authmethod = '';
  authprovider = '';
  readonly serializer: Serializer;
  private phase: Phase = 'hello';
  private roles: Dict = {};
  private challenge: Extract<AuthStep, { kind: 'challenge' }> | undefined;
  /** Deadline of the current phase (HELLO, AUTHENTICATE, the GOODBYE reply), epoch ms; 0 is none. */
  private deadline = 0;
  /** Highest client request id seen: new requests must go above it (Basic Profile "IDs"). */
  private watermark = 0;
  private outboundRequest = 0;
  /** Messages that arrived while a hook was running; replayed in order. */
  private held: WampMessage[] | undefined;
  private congested = false;

  constructor(
    private readonly connection: Connection,
    private readonly context: AdapterContext,
    private readonly router: Router,
    serializer: Serializer,
  ) {
    this.serializer = serializer;
    connection.onDrain(() => {
      this.congested = false;
    });
    this.deadline = router.context.clock.now() + router.helloTimeout;
    router.context.sweep.watch(this);
  }

  get transport(): Dict {
    const request = this.connection.request;
    return { type: 'websocket', protocol: this.connection.protocol, peer: `${request.remoteAddress}:${request.remotePort}`, serializer: this.serializer.id };
  }

  // ---------------------------------------------------------------- transport events

  onMessage(data: Uint8Array | string, isBinary: boolean): void {
    if (this.phase === 'closed') return;
    try {
      const parsed = decodeMessage(this.serializer, data, isBinary);
      if (!parsed.ok) throw wampViolation(`${parsed.fault.message} (${describeWire(data)})`, parsed.fault.closeCode);
      if (this.held) {
        // Basic Profile "Protocol Errors": before WELCOME only ABORT may follow HELLO (AUTHENTICATE
        // answers a CHALLENGE, which has not been sent yet), whether or not the hook is quick.
        if (this.phase === 'authenticating' && parsed.message.type !== MessageType.ABORT) throw wampViolation(`${nameOf(parsed.message.type)} before WELCOME`);
        if (this.held.length >= MAX_HELD) throw wampViolation('too many messages while a hook runs', CloseCode.PolicyViolation);
        this.held.push(parsed.message);
        return;
      }
      this.dispatch(parsed.message);
    } catch (error) {
      this.fail(toProtocolError<WampFault>(error, this.context.log));
    }
  }

  onClose(): void {
    if (this.phase === 'closed') return;
    this.teardown();
  }

  checkDeadlines(now: number): void {
    if (this.deadline === 0 || now < this.deadline) return;
    this.deadline = 0;
    if (this.phase === 'goodbye') {
      // The peer did not answer our GOODBYE: the session is over all the same.
      this.teardown();
      this.connection.close(CloseCode.NormalClosure, 'GOODBYE');
      return;
    }
    this.fail(wampViolation(this.phase === 'hello' ? 'no HELLO in time' : 'no AUTHENTICATE in time', CloseCode.PolicyViolation, WampError.ProtocolViolation));
  }

  // ---------------------------------------------------------------- dispatch

  private dispatch(message: WampMessage): void {
    switch (this.phase) {
      case 'hello':
        return this.beforeWelcome(message);
      case 'challenged':
        return this.whileChallenged(message);
      case 'joined':
        return this.joined(message);
      case 'goodbye':
        // "the other peer ... MUST reply with GOODBYE"; anything else meanwhile is ignored.
        if (message.type === MessageType.GOODBYE || message.type === MessageType.ABORT) this.closeAfterGoodbye();
        return;
      default:
        return;
    }
  }

  private beforeWelcome(message: WampMessage): void {
    switch (message.type) {
      case MessageType.HELLO:
        return this.hello(message);
      case MessageType.ABORT:
        // The client gave up (wampy's `abort()`); ABORT is never answered.
        this.teardown();
        return this.connection.close(CloseCode.NormalClosure, 'ABORT');
      default:
        // Basic Profile "Protocol Errors": anything but HELLO (or ABORT) before the session is open.
        throw wampViolation(`${nameOf(message.type)} before HELLO`);
    }
  }

  private hello(message: HelloMessage): void {
    const router = this.router;
    // Basic Profile "HELLO": the realm is a URI; a router without it answers ABORT no_such_realm.
    if (!isValidUri(message.realm, router.context.uriCheck)) throw wampViolation(`invalid realm URI ${printable(message.realm)}`, CloseCode.ProtocolError, WampError.InvalidUri);
    const roles = message.details.roles;
    // "The HELLO message MUST contain at least one role": a dict of the client's roles.
    if (!isDict(roles) || !CLIENT_ROLES.some((role) => Object.hasOwn(roles, role))) throw wampViolation('HELLO.Details.roles names no client role');
    const realm = router.realm(message.realm);
    if (!realm) throw wampViolation(`no realm ${printable(message.realm)}`, CloseCode.PolicyViolation, WampError.NoSuchRealm);
    this.roles = roles;
    this.realm = realm;
    this.id = router.newSessionId();
    this.phase = 'authenticating';
    this.holdWhile(beginAuthentication(router.context, realm.name, message, this.id), (step) => this.authStep(step));
  }

  private whileChallenged(message: WampMessage): void {
    if (message.type === MessageType.ABORT) {
      this.teardown();
      return this.connection.close(CloseCode.NormalClosure, 'ABORT');
    }
    if (message.type !== MessageType.AUTHENTICATE) throw wampViolation(`${nameOf(message.type)} while waiting for AUTHENTICATE`);
    const challenge = this.challenge!;
    this.challenge = undefined;
    this.phase = 'authenticating';
    this.holdWhile(challenge.verify(message), (step) => this.authStep(step));
  }

  private authStep(step: AuthStep): void {
    switch (step.kind) {
      case 'abort':
        throw wampViolation(step.message, CloseCode.PolicyViolation, step.reason);
      case 'challenge':
        this.challenge = step;
        this.phase = 'challenged';
        this.deadline = this.router.context.clock.now() + this.router.helloTimeout;
        return this.send({ type: MessageType.CHALLENGE, method: step.method, extra: step.extra });
      case 'welcome': {
        const realm = this.realm;
        if (!realm.hasRole(step.authrole)) throw wampViolation(`no role ${printable(step.authrole)} in realm ${printable(realm.name)}`, CloseCode.PolicyViolation, WampError.NoSuchRole);
        this.authid = step.authid;
        this.authrole = step.authrole;
        this.authmethod = step.authmethod;
        this.authprovider = step.authprovider;
        this.phase = 'joined';
        this.deadline = 0;
        this.router.context.sweep.unwatch(this);
        const details: Dict = {
          realm: realm.name,
          authid: step.authid,
          authrole: step.authrole,
          authmethod: step.authmethod,
          authprovider: step.authprovider,
          agent: this.router.agent,
          roles: this.router.roles,
        };
        if (step.authextra) details.authextra = step.authextra;
        this.send({ type: MessageType.WELCOME, session: this.id, details });
        this.router.join(this);
        return;
      }
    }
  }

  private joined(message: WampMessage): void {
    switch (message.type) {
      case MessageType.PUBLISH:
      case MessageType.SUBSCRIBE:
      case MessageType.REGISTER:
        this.newRequest(message.request, message.type);
        return this.authorized(message);
      case MessageType.CALL:
        // A progressive call invocation reuses its CALL's request id (Advanced Profile
        // "Progressive Call Invocations", "Verification of CALL Request IDs").
        if (message.request <= this.watermark && this.realm.dealer.isOpenProgressiveCall(this, message.request)) return this.realm.dealer.call(this, message);
        this.newRequest(message.request, message.type);
        return this.authorized(message);
      case MessageType.UNSUBSCRIBE:
        this.newRequest(message.request, message.type);
        return this.realm.broker.unsubscribe(this, message);
      case MessageType.UNREGISTER:
        this.newRequest(message.request, message.type);
        return this.realm.dealer.unregister(this, message);
      case MessageType.CANCEL:
        return this.realm.dealer.cancel(this, message);
      case MessageType.YIELD:
        return this.realm.dealer.yield(this, message);
      case MessageType.ERROR:
        // Clients send ERROR only to answer an INVOCATION ("Protocol Errors").
        if (message.requestType !== MessageType.INVOCATION) throw wampViolation(`ERROR for ${nameOf(message.requestType)} from a client`);
        return this.realm.dealer.invocationError(this, message);
      case MessageType.GOODBYE:
        // Basic Profile "GOODBYE": the other peer "MUST reply with GOODBYE"; the session is over.
        this.send({ type: MessageType.GOODBYE, details: {}, reason: WampClose.GoodbyeAndOut });
        this.teardown();
        return this.connection.close(CloseCode.NormalClosure, 'GOODBYE');
      case MessageType.ABORT:
        this.teardown();
        return this.connection.close(CloseCode.NormalClosure, 'ABORT');
      default:
        // HELLO again, AUTHENTICATE, or a message only routers send.
        throw wampViolation(`${nameOf(message.type)} after WELCOME`);
    }
  }

  /**
   * Basic Profile "IDs": session-scope request ids "MUST start at 1 and increase by 1". Clients do
   * not all keep that (wampy keeps counting across reconnects, and skips an id when a publish
   * fails to pack), so the router asks only that each new request goes above the last one: a
   * repeated or lower id is the violation ("non-sequential session scope request ID").
   */
  private newRequest(request: number, type: number): void {
    if (request <= this.watermark) throw wampViolation(`${nameOf(type)} reuses request id ${request}`);
    this.watermark = request;
  }

  /** Checks the URI, then the realm's roles and the `authorize` hook, then routes. */
  private authorized(message: Extract<WampMessage, { type: 16 | 32 | 48 | 64 }>): void {
    const action = ACTION_OF[message.type]!;
    const uri = message.type === MessageType.PUBLISH || message.type === MessageType.SUBSCRIBE ? message.topic : message.procedure;
    const options = message.options;
    const match = message.type === MessageType.SUBSCRIBE || message.type === MessageType.REGISTER ? matchPolicyOf(options) : 'exact';
    if (match === undefined) return this.refuse(message, WampError.InvalidArgument, `unknown match policy ${printable(String(options.match))}`);
    // Basic Profile "Incorrect URIs": "the receiving peer MUST reply with ERROR wamp.error.invalid_uri".
    if (!isValidUri(uri, this.router.context.uriCheck, match)) return this.refuse(message, WampError.InvalidUri, `invalid URI ${printable(uri)}`);
    // Application URIs MUST NOT start with `wamp.` ("Reserved URIs"); the router serves the meta API there.
    if ((action === 'register' || action === 'publish') && (uri === 'wamp' || uri.startsWith('wamp.'))) return this.refuse(message, WampError.InvalidUri, `${printable(uri)} is reserved for the router`);
    if (!this.realm.permits(this.authrole, action, uri)) return this.refuse(message, WampError.NotAuthorized, `${this.authrole} may not ${action} ${printable(uri)}`);
    // Killing other sessions is never open by default: without realm roles or an `authorize`
    // hook to grant it, any anonymous client could end everyone's session.
    if (action === 'call' && uri.startsWith('wamp.session.kill') && !this.realm.config?.roles && !this.router.context.authorize) {
      return this.refuse(message, WampError.NotAuthorized, `${printable(uri)} needs a realm role or an authorize hook that allows it`);
    }
    const hook = this.router.context.authorize;
    if (!hook) return this.route(message);
    let verdict: boolean | Promise<boolean>;
    try {
      verdict = hook({ realm: this.realm.name, session: this.id, authid: this.authid, authrole: this.authrole, action, uri, options });
    } catch (error) {
      this.context.log.warn({ err: error }, 'wamp authorize hook threw');
      return this.refuse(message, WampError.AuthorizationFailed, 'authorization failed');
    }
    if (verdict === true) return this.route(message);
    if (verdict === false) return this.refuse(message, WampError.NotAuthorized, `not authorized to ${action} ${printable(uri)}`);
    this.holdWhile(
      Promise.resolve(verdict).then(
        (allowed) => allowed === true,
        (error: unknown) => {
          this.context.log.warn({ err: error }, 'wamp authorize hook failed');
          return undefined;
        },
      ),
      (allowed) => {
        if (allowed === undefined) return this.refuse(message, WampError.AuthorizationFailed, 'authorization failed');
        if (allowed) return this.route(message);
        return this.refuse(message, WampError.NotAuthorized, `not authorized to ${action} ${printable(uri)}`);
      },
    );
  }

  private route(message: Extract<WampMessage, { type: 16 | 32 | 48 | 64 }>): void {
    switch (message.type) {
      case MessageType.PUBLISH:
        return this.realm.broker.publish(this, message);
      case MessageType.SUBSCRIBE:
        return this.realm.broker.subscribe(this, message);
      case MessageType.CALL:
        return this.realm.dealer.call(this, message);
      case MessageType.REGISTER:
        return this.realm.dealer.register(this, message);
    }
  }

  /** ERROR for a request. A PUBLISH gets one only when it asked for acknowledgement ("Publish ERROR"). */
  private refuse(message: Extract<WampMessage, { type: 16 | 32 | 48 | 64 }>, error: string, text: string): void {
    if (message.type === MessageType.PUBLISH && message.options.acknowledge !== true) return;
    this.send({ type: MessageType.ERROR, requestType: message.type, request: message.request, details: { message: text }, error, args: [text] });
  }

  /**
   * Runs `then` with the value of a hook that may be asynchronous. While it runs, messages are
   * held and replayed in order afterwards, so the ordering guarantees of the Basic Profile
   * ("Ordering Guarantees") hold whatever the hooks do.
   */
  private holdWhile<T>(value: T | Promise<T>, then: (value: T) => void): void {
    if (!isThenable(value)) {
      then(value);
      return;
    }
    this.held ??= [];
    // A hook's answer counts only for the phase that asked: a session killed (GOODBYE) or closed
    // meanwhile must not register, subscribe or welcome afterwards.
    const asked = this.phase;
    value.then(
      (result) => {
        if (this.phase !== asked) return;
        try {
          then(result);
          this.replay();
        } catch (error) {
          this.fail(toProtocolError<WampFault>(error, this.context.log));
        }
      },
      (error: unknown) => {
        if (this.phase === asked) this.fail(toProtocolError<WampFault>(error, this.context.log));
      },
    );
  }

  private replay(): void {
    while (this.held && this.phase !== 'closed') {
      const held = this.held;
      this.held = undefined;
      for (let i = 0; i < held.length; i++) {
        if ((this.phase as Phase) === 'closed') return;
        if (this.held) {
          // A hook went asynchronous again: what is left waits behind it.
          (this.held as WampMessage[]).push(...held.slice(i));
          return;
        }
        this.dispatch(held[i]!);
      }
    }
  }

  // ---------------------------------------------------------------- Peer

  supports(role: ClientRole, feature: string): boolean {
    const entry = this.roles[role];
    if (!isDict(entry)) return false;
    const features = entry.features;
    return isDict(features) && features[feature] === true;
  }

  hasRole(role: ClientRole): boolean {
    return isDict(this.roles[role]);
  }

  send(message: WampMessage): void {
    if (this.phase === 'closed') return;
    if (!this.connection.send(this.serializer.encode(generateMessage(message)))) this.congested = true;
  }

  sendEncoded(data: string | Uint8Array): void {
    if (this.phase === 'closed') return;
    if (!this.connection.send(data)) this.congested = true;
  }

  sendEvent(data: string | Uint8Array): void {
    if (this.phase === 'closed') return;
    if (this.congested) {
      this.context.metrics.increment(Metric.EventsDropped);
      return;
    }
    // Fan-out hands JSON sessions pre-encoded UTF-8: "With JSON serialization, ... WebSocket
    // text messages" (Basic Profile "WebSocket Transport"), so it goes as text.
    if (!this.connection.send(data, this.serializer.binary ? undefined : SEND_TEXT)) this.congested = true;
  }

  nextRequestId(): number {
    this.outboundRequest = this.outboundRequest >= 2 ** 53 ? 1 : this.outboundRequest + 1;
    return this.outboundRequest;
  }

  kill(reason: string, message?: string, quiet = false): void {
    if (this.phase !== 'joined') return;
    this.send({ type: MessageType.GOODBYE, details: message === undefined ? {} : { message }, reason });
    this.router.leave(this, quiet);
    this.phase = 'goodbye';
    this.deadline = this.router.context.clock.now() + this.router.goodbyeTimeout;
    this.router.context.sweep.watch(this);
  }

  /** Router shutdown: GOODBYE `wamp.close.system_shutdown` (Basic Profile "Session Closing"). */
  shutDown(): void {
    if (this.phase === 'joined') this.kill(WampClose.SystemShutdown);
    else if (this.phase !== 'closed' && this.phase !== 'goodbye') this.fail(wampViolation('router shutting down', CloseCode.GoingAway, WampClose.SystemShutdown));
  }

  // ---------------------------------------------------------------- exit

  private closeAfterGoodbye(): void {
    this.teardown();
    this.connection.close(CloseCode.NormalClosure, 'GOODBYE');
  }

  /** The one exit path: ABORT with the fault's reason, then close with its code. */
  private fail(error: ProtocolError<WampFault>): void {
    if (this.phase === 'closed') return;
    const reason = error.detail?.reason ?? WampError.ProtocolViolation;
    this.context.metrics.increment(Metric.Aborts, { reason });
    // ABORT "Details|dict" carries the message (autobahn shows `details.message`).
    this.send({ type: MessageType.ABORT, details: { message: error.message }, reason });
    this.teardown();
    this.connection.close(error.closeCode, limitCloseReason(error.message));
  }

  private teardown(): void {
    const joined = this.phase === 'joined';
    this.phase = 'closed';
    this.held = undefined;
    this.router.context.sweep.unwatch(this);
    if (joined) this.router.leave(this);
    else if (this.realm) this.router.releaseRealm(this.realm);
  }
}

function isDict(value: unknown): value is Dict {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isThenable<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

function nameOf(type: number): string {
  return MESSAGE_NAMES[type] ?? `message type ${type}`;
}

/** URIs and realms in error texts: printable ASCII, at most 60 characters. */
export function printable(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 60 ? clean.slice(0, 60) + '...' : clean;
}
