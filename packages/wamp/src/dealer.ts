/**
 * The dealer of one realm: registrations (exact, prefix, wildcard; shared with an invocation
 * policy), call routing CALL -> INVOCATION -> YIELD/ERROR -> RESULT/ERROR, progressive call
 * results and invocations, call canceling, router-side call timeouts, caller identification,
 * and the registration state the meta API reads (Basic Profile "Remote Procedure Calls",
 * Advanced Profile "RPC" sections).
 *
 * State per session is one `Party`: the calls it made (by its CALL.Request), the invocations it
 * is serving (by the INVOCATION.Request the router gave it), its registrations and the callee
 * features it announced, read once. A call is one `Call` record held in both maps, so every
 * answer, cancel, timeout or departure is two Map operations.
 */
import type { Timer } from '@protoplex/core';
import type { CallMessage, CancelMessage, Dict, ErrorMessage, RegisterMessage, UnregisterMessage, YieldMessage } from './codec.js';
import { CancelMode, InvokePolicy, MatchPolicy, Metric, MessageType, WampError } from './constants.js';
import { callMeta } from './meta.js';
import type { Peer, Realm } from './realm.js';
import { printable, wampViolation } from './session.js';
import type { RegistrationInfo } from './types.js';
import { matchPolicyOf } from './uri.js';

/** Details and options the router sends unchanged: shared, never mutated (the codec only reads them). */
const EMPTY: Dict = Object.freeze({});
const INTERRUPT_KILL: Dict = Object.freeze({ mode: CancelMode.Kill });
const INTERRUPT_KILLNOWAIT: Dict = Object.freeze({ mode: CancelMode.KillNoWait });
const PROGRESS: Dict = Object.freeze({ progress: true });

/** Payload passthrough keys (Advanced Profile "Payload Passthru Mode") forwarded untouched when enabled. */
const PPT_KEYS = ['ppt_scheme', 'ppt_serializer', 'ppt_cipher', 'ppt_keyid'] as const;

/**
 * Request ids of progressive calls the dealer finished while the caller was still streaming,
 * kept per caller so its in-flight continuations are discarded rather than taken for reused ids
 * (Advanced Profile "Progressive Call Invocations", "Continuations on Completed Calls": the
 * dealer "MUST ignore and discard that CALL message"). Bounded instead of timed: no timer per call.
 */
const GRACE_IDS = 16;

/** Longest timer the platform keeps (setTimeout overflows to 1 ms above 2^31 - 1). */
const MAX_TIMER_MS = 0x7fffffff;

const INVOKE_POLICIES: ReadonlySet<unknown> = new Set(Object.values(InvokePolicy));

/** One session as the dealer sees it. */
class Party {
  /** Calls this session made and that have not ended, by CALL.Request. */
  readonly calls = new Map<number, Call>();
  /** Invocations this session serves, by INVOCATION.Request. */
  readonly invocations = new Map<number, Call>();
  /** Registrations this session is a callee of. */
  readonly registrations = new Set<Registration>();
  /** The last INVOCATION.Request issued to it: answers at or below are late, above are invented. */
  lastInvocation = 0;
  grace: number[] | undefined;
  // Callee features from HELLO (Advanced Profile "Feature Announcement"), read once.
  readonly canCancel: boolean;
  readonly progressiveResults: boolean;
  /** "A Callee that supports progressive call invocations, but does not support call canceling, shall be considered ... as not supporting" them. */
  readonly progressiveInvocations: boolean;
  readonly calleeTimeout: boolean;
  readonly passthrough: boolean;

  constructor(readonly peer: Peer) {
    this.canCancel = peer.supports('callee', 'call_canceling');
    this.progressiveResults = peer.supports('callee', 'progressive_call_results');
    this.progressiveInvocations = this.canCancel && peer.supports('callee', 'progressive_call_invocations');
    this.calleeTimeout = peer.supports('callee', 'call_timeout');
    this.passthrough = peer.supports('callee', 'payload_passthru_mode');
  }
}

/** One callee of a registration, with the REGISTER options that are its own. */
interface Callee {
  readonly party: Party;
  /** REGISTER.Options.disclose_caller (Advanced Profile "Caller Identification"). */
  readonly discloseCaller: boolean;
  /** REGISTER.Options.forward_timeout (Advanced Profile "Call Timeouts", "Callee-Initiated Timeouts"). */
  readonly forwardTimeout: boolean;
}

/** A registration: one id per (match, uri), shared by its callees in registration order. */
class Registration {
  readonly callees: Callee[] = [];
  /** Round-robin cursor: the index of the next callee. */
  next = 0;
  /** Wildcard registrations: the component count and the positions of the empty components. */
  readonly size: number;
  readonly wildcards: readonly number[];

  constructor(
    readonly info: RegistrationInfo,
    readonly parts: readonly string[] | undefined,
  ) {
    this.size = parts?.length ?? 0;
    const wildcards: number[] = [];
    if (parts) for (let i = 0; i < parts.length; i++) if (parts[i] === '') wildcards.push(i);
    this.wildcards = wildcards;
  }
}

/** A call in flight: known to its caller by `request` and to its callee by `invocation`. */
class Call {
  timer: Timer | undefined = undefined;
  /** A `kill` cancel sent INTERRUPT: the callee's answer is awaited and forwarded. */
  killing = false;
  /** INVOCATION.Details of the initiating CALL, frozen for its continuations; set while `streaming`. */
  details: Dict | undefined = undefined;

  constructor(
    readonly caller: Party,
    readonly request: number,
    readonly callee: Party,
    readonly invocation: number,
    readonly registration: number,
    readonly procedure: string,
    /** CALL.Options.receive_progress: only then may progressive RESULTs go to the caller. */
    readonly receiveProgress: boolean,
    /** Progressive call invocations: the caller has not sent its final CALL yet. */
    public streaming: boolean,
  ) {}
}

export class Dealer {
  private readonly parties = new Map<Peer, Party>();
  private readonly registrations = new Map<number, Registration>();
  private readonly exact = new Map<string, Registration>();
  private readonly prefix = new Map<string, Registration>();
  /** Distinct prefix lengths, longest first, with their counts: the longest match is the first hit. */
  private prefixLengths: number[] = [];
  private readonly prefixCounts = new Map<number, number>();
  private readonly wildcard = new Map<string, Registration>();
  /** Wildcard registrations by component count: only those can match a URI of that many components. */
  private readonly wildcardsBySize = new Map<number, Registration[]>();

  constructor(readonly realm: Realm) {}

  // ------------------------------------------------------------------------------ registrations

  register(peer: Peer, message: RegisterMessage): void {
    const options = message.options;
    const uri = message.procedure;
    // session.ts refused unknown match policies already; the default is exact.
    const match = matchPolicyOf(options) ?? MatchPolicy.Exact;
    const invoke = options.invoke ?? InvokePolicy.Single;
    // Advanced Profile "Shared Registration": invoke is one of five policies.
    if (!INVOKE_POLICIES.has(invoke)) return this.refuse(peer, MessageType.REGISTER, message.request, WampError.InvalidArgument, `unknown invocation policy ${printable(String(invoke))}`);
    const party = this.party(peer);
    const table = this.table(match);
    let registration = table.get(uri);
    const created = registration === undefined;
    if (registration !== undefined) {
      const existing = registration.info.invoke;
      // A session holds one place per registration: a second REGISTER of the same procedure fails
      // whatever the policy (Basic Profile "REGISTER": "procedure_already_exists").
      if (party.registrations.has(registration)) return this.refuse(peer, MessageType.REGISTER, message.request, WampError.ProcedureAlreadyExists, `already registered ${printable(uri)}`);
      // "With 'single', the Dealer MUST fail all subsequent attempts to register a procedure for the URI".
      if (existing === InvokePolicy.Single) return this.refuse(peer, MessageType.REGISTER, message.request, WampError.ProcedureAlreadyExists, `${printable(uri)} is registered`);
      // "With the other values, the Dealer MUST fail all subsequent attempts ... where the value for this option does not match".
      if (invoke !== existing) return this.refuse(peer, MessageType.REGISTER, message.request, WampError.ProcedureExistsWithDifferentInvocationPolicy, `${printable(uri)} is registered with invocation policy ${existing}`);
    } else {
      const info: RegistrationInfo = Object.freeze({ id: this.realm.router.routerId(), created: this.realm.router.now(), uri, match, invoke: invoke as InvokePolicy });
      registration = new Registration(info, match === MatchPolicy.Wildcard ? uri.split('.') : undefined);
      this.add(registration);
    }
    registration.callees.push({ party, discloseCaller: options.disclose_caller === true, forwardTimeout: options.forward_timeout === true });
    party.registrations.add(registration);
    // Basic Profile "Ordering Guarantees": REGISTERED goes out before any INVOCATION for it;
    // everything here is synchronous, so the next CALL finds the registration after this send.
    peer.send({ type: MessageType.REGISTERED, request: message.request, registration: registration.info.id });
    // Advanced Profile "Registration Meta API": on_create, then on_register; none for the meta API's own URIs.
    if (!isMetaUri(uri)) {
      const broker = this.realm.broker;
      if (created) broker.publishMeta('wamp.registration.on_create', [peer.id, registration.info]);
      broker.publishMeta('wamp.registration.on_register', [peer.id, registration.info.id]);
    }
  }

  unregister(peer: Peer, message: UnregisterMessage): void {
    const registration = this.registrations.get(message.registration);
    const party = this.parties.get(peer);
    // Basic Profile "UNREGISTER": a registration the session does not hold is "no_such_registration".
    if (registration === undefined || party === undefined || !party.registrations.has(registration)) {
      return this.refuse(peer, MessageType.UNREGISTER, message.request, WampError.NoSuchRegistration, `no registration ${message.registration}`);
    }
    peer.send({ type: MessageType.UNREGISTERED, request: message.request });
    // Invocations in flight stay: the callee may still answer them (its session is alive).
    this.removeCallee(registration, party);
  }

  // -------------------------------------------------------------------------------------- calls

  call(peer: Peer, message: CallMessage): void {
    const caller = this.parties.get(peer);
    if (caller !== undefined) {
      // Only ids at or below the session's watermark reach here twice (session.ts), so a hit is
      // a continuation (Advanced Profile "Progressive Call Invocations").
      const open = caller.calls.get(message.request);
      if (open !== undefined) return this.continueCall(open, message);
      if (caller.grace !== undefined && caller.grace.includes(message.request)) return this.discardContinuation(caller, message);
    }
    this.realm.router.metrics.increment(Metric.Calls);
    const procedure = message.procedure;
    // The meta API's procedures are the router's own (Advanced Profile "Meta API").
    if (isMetaUri(procedure) && callMeta(this.realm, peer, message)) return;
    const options = message.options;
    const timeout = timeoutOf(options.timeout, this.realm.router.maxCallTimeout);
    if (timeout < 0) return this.refuse(peer, MessageType.CALL, message.request, WampError.InvalidArgument, 'CALL.Options.timeout must be a non-negative number of milliseconds');
    const registration = this.best(procedure);
    // Advanced Profile "Pattern-based Registrations" step 4: no match is "no_such_procedure".
    if (registration === undefined) return this.refuse(peer, MessageType.CALL, message.request, WampError.NoSuchProcedure, `no procedure ${printable(procedure)}`);
    const entry = pick(registration);
    const callee = entry.party;
    const progress = options.progress === true;
    // "if the Callee doesn't support this feature, the Dealer MUST respond ... wamp.error.feature_not_supported".
    // The caller's own announcement is not checked: wampy sends progressive CALLs without announcing it.
    if (progress && !callee.progressiveInvocations) return this.refuse(peer, MessageType.CALL, message.request, WampError.FeatureNotSupported, 'the callee does not support progressive call invocations');
    const passthrough = this.realm.router.payloadPassthrough && options.ppt_scheme !== undefined;
    // "If the target peer lacks PPT, the answer is wamp.error.feature_not_supported" (Payload Passthru Mode).
    if (passthrough && !callee.passthrough) return this.refuse(peer, MessageType.CALL, message.request, WampError.FeatureNotSupported, 'the callee does not support payload passthru mode');

    const info = registration.info;
    // Progressive Call Results: forward receive_progress to callees that announce the feature. The
    // spec also asks for call_canceling; autobahn callees lack it, so it is not required here.
    const receiveProgress = options.receive_progress === true;
    const forwardProgress = receiveProgress && callee.progressiveResults;
    const disclose = options.disclose_me === true || entry.discloseCaller;
    // Call Timeouts: "checks if the matching RPC registration had the forward_timeout option set,
    // then accordingly either forwards the timeout value or handles the timeout logic locally".
    const forwardTimeout = timeout > 0 && entry.forwardTimeout && callee.calleeTimeout;
    let details = EMPTY;
    if (info.match !== MatchPolicy.Exact || disclose || forwardProgress || forwardTimeout || passthrough) {
      const d: Dict = {};
      // Pattern-based Registrations: "a Dealer MUST supply the original CALL.Procedure".
      if (info.match !== MatchPolicy.Exact) d.procedure = procedure;
      // Caller Identification: "MUST contain an INVOCATION.Details.caller" when disclosed.
      if (disclose) {
        d.caller = peer.id;
        d.caller_authid = peer.authid;
        d.caller_authrole = peer.authrole;
      }
      if (forwardProgress) d.receive_progress = true;
      if (forwardTimeout) d.timeout = timeout;
      if (passthrough) copyPassthrough(options, d);
      details = d;
    }

    const invocation = callee.peer.nextRequestId();
    callee.lastInvocation = invocation;
    const call = new Call(caller ?? this.party(peer), message.request, callee, invocation, info.id, procedure, receiveProgress, progress);
    call.caller.calls.set(message.request, call);
    callee.invocations.set(invocation, call);
    if (progress) {
      // "items in the Details dictionary of corresponding INVOCATION messages shall be based on the initiating progressive CALL only".
      call.details = details;
      details = details === EMPTY ? PROGRESS : { ...details, progress: true };
    }
    // Dealer-initiated timeout: one timer per timed call, cancelled when the call ends.
    if (timeout > 0 && !forwardTimeout) call.timer = this.realm.router.clock.setTimeout(() => this.expire(call), timeout);
    // Args and kwargs pass through unchanged; peer.send encodes them in the callee's serializer.
    callee.peer.send({ type: MessageType.INVOCATION, request: invocation, registration: info.id, details, args: message.args, kwargs: message.kwargs });
  }

  /** Whether `request` is a progressive call of `peer` whose continuations the dealer still takes (or discards). */
  isOpenProgressiveCall(peer: Peer, request: number): boolean {
    const party = this.parties.get(peer);
    if (party === undefined) return false;
    const call = party.calls.get(request);
    if (call !== undefined) return call.streaming;
    return party.grace !== undefined && party.grace.includes(request);
  }

  /** A CALL continuing a progressive call: same callee, same INVOCATION.Request, frozen details. */
  private continueCall(call: Call, message: CallMessage): void {
    // Pseudocode of "Verification of CALL Request IDs": an active call that is not a progressive
    // invocation transfer, or one for another procedure, is a protocol violation.
    if (!call.streaming) throw wampViolation(`CALL reuses request id ${message.request} of a call that is not progressive`);
    if (message.procedure !== call.procedure) throw wampViolation(`progressive CALL ${message.request} continues ${printable(call.procedure)} with ${printable(message.procedure)}`);
    const more = message.options.progress === true;
    const base = call.details!;
    if (!more) {
      // "A call invocation MUST always end in a normal CALL without the progress: true option".
      call.streaming = false;
      call.details = undefined;
    }
    // After a `kill` INTERRUPT the callee is winding the call down: chunks no longer go to it.
    if (call.killing) return;
    // "Only the progress option shall be considered by the Dealer in subsequent progressive call invocations".
    const details = more ? (base === EMPTY ? PROGRESS : { ...base, progress: true }) : base;
    call.callee.peer.send({ type: MessageType.INVOCATION, request: call.invocation, registration: call.registration, details, args: message.args, kwargs: message.kwargs });
  }

  /** "Continuations on Completed Calls": the dealer "MUST ignore and discard that CALL message". */
  private discardContinuation(caller: Party, message: CallMessage): void {
    // After its final CALL the caller may not reuse the id again; forget it.
    if (message.options.progress !== true) {
      const grace = caller.grace!;
      grace.splice(grace.indexOf(message.request), 1);
      if (grace.length === 0) caller.grace = undefined;
    }
  }

  /**
   * CANCEL (Advanced Profile "Call Canceling"). The spec's `skip` sends the caller ERROR at once,
   * but autobahn deletes a canceled call locally and drops the connection on that ERROR; so, as
   * Crossbar does: mode absent or `skip`: no ERROR, no INTERRUPT, late answers discarded.
   * `killnowait`: ERROR `canceled` now, INTERRUPT killnowait to callees with call_canceling,
   * late answers discarded. `kill`: callees with call_canceling get INTERRUPT kill and their
   * answer goes to the caller; others are treated like killnowait without INTERRUPT ("If the
   * callee does not support call canceling, then behavior is skip", but the caller asked to
   * hear back). INTERRUPT never goes to a callee that did not announce call_canceling.
   */
  cancel(peer: Peer, message: CancelMessage): void {
    const mode = message.options.mode;
    if (mode !== undefined && mode !== CancelMode.Skip && mode !== CancelMode.Kill && mode !== CancelMode.KillNoWait) {
      throw wampViolation(`CANCEL.Options.mode ${printable(String(mode))} is not skip, kill or killnowait`);
    }
    // A CANCEL that crosses the call's RESULT finds nothing: results "may come back in any order".
    const call = this.parties.get(peer)?.calls.get(message.request);
    if (call === undefined) return;
    const callee = call.callee;
    if (mode === CancelMode.Kill && callee.canCancel) {
      if (call.killing) return;
      call.killing = true;
      callee.peer.send({ type: MessageType.INTERRUPT, request: call.invocation, options: INTERRUPT_KILL });
      return;
    }
    this.end(call);
    if (mode === undefined || mode === CancelMode.Skip) return;
    peer.send({ type: MessageType.ERROR, requestType: MessageType.CALL, request: call.request, details: {}, error: WampError.Canceled, args: ['the call was canceled'] });
    if (callee.canCancel) callee.peer.send({ type: MessageType.INTERRUPT, request: call.invocation, options: INTERRUPT_KILLNOWAIT });
  }

  /**
   * Call Timeouts, "Dealer-Initiated Timeouts": ERROR `wamp.error.timeout` to the caller; "the
   * cancellation mode is implicitly killnowait if the Callee supports call cancellation, otherwise ... skip".
   */
  private expire(call: Call): void {
    call.timer = undefined;
    if (call.caller.calls.get(call.request) !== call) return;
    this.end(call);
    call.caller.peer.send({ type: MessageType.ERROR, requestType: MessageType.CALL, request: call.request, details: {}, error: WampError.Timeout, args: ['the call timed out'] });
    if (call.callee.canCancel) call.callee.peer.send({ type: MessageType.INTERRUPT, request: call.invocation, options: INTERRUPT_KILLNOWAIT });
  }

  yield(peer: Peer, message: YieldMessage): void {
    const call = this.answered(peer, message.request, 'YIELD');
    if (call === undefined) return;
    const options = message.options;
    const passthrough = this.realm.router.payloadPassthrough && options.ppt_scheme !== undefined;
    if (options.progress === true) {
      // "the timeout ... between receipt of the CALL message and receipt of the first YIELD ... and between received YIELD messages thereafter".
      call.timer?.refresh();
      // Progressive Call Results: a RESULT with progress only to a caller that set receive_progress
      // (wampy would throw on one it did not ask for); otherwise the dealer disregards the YIELD.
      if (!call.receiveProgress) return;
      let details = PROGRESS;
      if (passthrough) copyPassthrough(options, (details = { progress: true }));
      call.caller.peer.send({ type: MessageType.RESULT, request: call.request, details, args: message.args, kwargs: message.kwargs });
      return;
    }
    this.end(call);
    let details = EMPTY;
    if (passthrough) copyPassthrough(options, (details = {}));
    call.caller.peer.send({ type: MessageType.RESULT, request: call.request, details, args: message.args, kwargs: message.kwargs });
  }

  /** ERROR for an INVOCATION: the caller gets ERROR for its CALL with the callee's URI, details and payload. */
  invocationError(peer: Peer, message: ErrorMessage): void {
    const call = this.answered(peer, message.request, 'ERROR');
    if (call === undefined) return;
    this.end(call);
    call.caller.peer.send({ type: MessageType.ERROR, requestType: MessageType.CALL, request: call.request, details: message.details, error: message.error, args: message.args, kwargs: message.kwargs });
  }

  /**
   * The call an answer belongs to, or undefined for a late answer: after a cancel, a timeout or
   * the caller leaving, the dealer "shall be prepared to discard a YIELD or ERROR" (Basic
   * Profile "Caller Leaving During an RPC Invocation"). INVOCATION ids go up by one per session,
   * so an id above the last one issued was never issued: "YIELD message with invalid
   * INVOCATION.Request" is a protocol error (Basic Profile "Protocol Errors").
   */
  private answered(peer: Peer, request: number, name: string): Call | undefined {
    const party = this.parties.get(peer);
    const call = party?.invocations.get(request);
    if (call !== undefined) return call;
    if (party !== undefined && request <= party.lastInvocation) return undefined;
    throw wampViolation(`${name} for INVOCATION ${request}, which the router never sent`);
  }

  /** Forgets a call on both sides and stops its timer. */
  private end(call: Call): void {
    call.caller.calls.delete(call.request);
    call.callee.invocations.delete(call.invocation);
    if (call.timer !== undefined) {
      call.timer.cancel();
      call.timer = undefined;
    }
    if (call.streaming) {
      // The caller may have continuations on the wire: discard them, do not abort it.
      call.streaming = false;
      call.details = undefined;
      const grace = (call.caller.grace ??= []);
      grace.push(call.request);
      if (grace.length > GRACE_IDS) grace.shift();
    }
  }

  /**
   * The session left (GOODBYE, ABORT, close, kill). As a callee: its registrations go (meta
   * events), and its pending invocations end with ERROR `wamp.error.canceled` to their callers
   * (Basic Profile "Callee Leaving During an RPC Invocation"; the spec's `cancelled` is a typo).
   * As a caller: its calls are forgotten, with INTERRUPT killnowait only to callees that
   * announced call_canceling ("Caller Leaving During an RPC Invocation"); answers are discarded.
   */
  leave(peer: Peer): void {
    const party = this.parties.get(peer);
    if (party === undefined) return;
    this.parties.delete(peer);
    for (const registration of party.registrations) this.removeCallee(registration, party);
    for (const call of party.invocations.values()) {
      if (call.caller === party) continue;
      this.end(call);
      call.caller.peer.send({ type: MessageType.ERROR, requestType: MessageType.CALL, request: call.request, details: {}, error: WampError.Canceled, args: ['the callee left'] });
    }
    for (const call of party.calls.values()) {
      if (call.timer !== undefined) call.timer.cancel();
      call.timer = undefined;
      const callee = call.callee;
      if (callee === party) continue;
      callee.invocations.delete(call.invocation);
      if (callee.canCancel) callee.peer.send({ type: MessageType.INTERRUPT, request: call.invocation, options: INTERRUPT_KILLNOWAIT });
    }
    party.calls.clear();
    party.invocations.clear();
    party.registrations.clear();
  }

  // ------------------------------------------------------------------------------------ queries

  /** `wamp.registration.list`: ids by match policy. */
  list(): { exact: number[]; prefix: number[]; wildcard: number[] } {
    return { exact: idsOf(this.exact), prefix: idsOf(this.prefix), wildcard: idsOf(this.wildcard) };
  }

  /** `wamp.registration.lookup`: the registration of exactly (match, uri), or null. */
  lookup(uri: string, match: MatchPolicy): number | null {
    return this.table(match).get(uri)?.info.id ?? null;
  }

  /** `wamp.registration.match`: the registration a CALL to `uri` would use, or null. */
  match(uri: string): number | null {
    return this.best(uri)?.info.id ?? null;
  }

  /** `wamp.registration.get`: RegistrationDetails. */
  get(id: number): RegistrationInfo | undefined {
    return this.registrations.get(id)?.info;
  }

  /** `wamp.registration.list_callees`: session ids in registration order. */
  callees(id: number): number[] | undefined {
    return this.registrations.get(id)?.callees.map((callee) => callee.party.peer.id);
  }

  stats(): Array<RegistrationInfo & { callees: number }> {
    return [...this.registrations.values()].map((registration) => ({ ...registration.info, callees: registration.callees.length }));
  }

  /** Calls in flight in this realm (each counted once). */
  activeCalls(): number {
    let count = 0;
    for (const party of this.parties.values()) count += party.calls.size;
    return count;
  }

  // ---------------------------------------------------------------------------------- internals

  private party(peer: Peer): Party {
    let party = this.parties.get(peer);
    if (party === undefined) {
      party = new Party(peer);
      this.parties.set(peer, party);
    }
    return party;
  }

  private refuse(peer: Peer, requestType: number, request: number, error: string, text: string): void {
    peer.send({ type: MessageType.ERROR, requestType, request, details: {}, error, args: [text] });
  }

  private table(match: MatchPolicy): Map<string, Registration> {
    return match === MatchPolicy.Exact ? this.exact : match === MatchPolicy.Prefix ? this.prefix : this.wildcard;
  }

  private add(registration: Registration): void {
    const { id, uri, match } = registration.info;
    this.registrations.set(id, registration);
    this.table(match).set(uri, registration);
    if (match === MatchPolicy.Prefix) {
      const count = this.prefixCounts.get(uri.length) ?? 0;
      this.prefixCounts.set(uri.length, count + 1);
      if (count === 0) this.prefixLengths = [...this.prefixCounts.keys()].sort((a, b) => b - a);
    } else if (match === MatchPolicy.Wildcard) {
      const list = this.wildcardsBySize.get(registration.size);
      if (list) list.push(registration);
      else this.wildcardsBySize.set(registration.size, [registration]);
    }
  }

  private delete(registration: Registration): void {
    const { id, uri, match } = registration.info;
    this.registrations.delete(id);
    this.table(match).delete(uri);
    if (match === MatchPolicy.Prefix) {
      const count = this.prefixCounts.get(uri.length)! - 1;
      if (count === 0) {
        this.prefixCounts.delete(uri.length);
        this.prefixLengths = [...this.prefixCounts.keys()].sort((a, b) => b - a);
      } else this.prefixCounts.set(uri.length, count);
    } else if (match === MatchPolicy.Wildcard) {
      const list = this.wildcardsBySize.get(registration.size)!;
      list.splice(list.indexOf(registration), 1);
      if (list.length === 0) this.wildcardsBySize.delete(registration.size);
    }
  }

  /** Takes `party` off `registration`; the last callee deletes it (meta on_unregister, then on_delete). */
  private removeCallee(registration: Registration, party: Party): void {
    const callees = registration.callees;
    const index = callees.findIndex((callee) => callee.party === party);
    if (index < 0) return;
    callees.splice(index, 1);
    // Keep the round-robin cycle where it was: the callee after the removed one is next.
    if (index < registration.next) registration.next--;
    party.registrations.delete(registration);
    const last = callees.length === 0;
    if (last) this.delete(registration);
    const { id, uri } = registration.info;
    if (!isMetaUri(uri)) {
      const broker = this.realm.broker;
      broker.publishMeta('wamp.registration.on_unregister', [party.peer.id, id]);
      if (last) broker.publishMeta('wamp.registration.on_delete', [party.peer.id, id]);
    }
  }

  /**
   * Advanced Profile "Pattern-based Registrations", "Calls matching multiple registrations":
   * 1. the exact registration; 2. the longest matching prefix; 3. the wildcard registration
   * "with the longest portion of URI components matched before each wildcard", compared left
   * to right; 4. none.
   */
  private best(uri: string): Registration | undefined {
    const exact = this.exact.get(uri);
    if (exact !== undefined) return exact;
    if (this.prefix.size > 0) {
      // Prefixes are string prefixes ("Prefix Matching"), so every matching one is a prefix of
      // the others' longer ones: the longest string matches the most components.
      for (const length of this.prefixLengths) {
        if (length > uri.length) continue;
        const registration = this.prefix.get(length === uri.length ? uri : uri.slice(0, length));
        if (registration !== undefined) return registration;
      }
    }
    if (this.wildcard.size > 0) {
      const parts = uri.split('.');
      const candidates = this.wildcardsBySize.get(parts.length);
      if (candidates === undefined) return undefined;
      let best: Registration | undefined;
      for (const candidate of candidates) {
        if (!componentsMatch(candidate.parts!, parts)) continue;
        if (best === undefined || laterWildcards(candidate.wildcards, best.wildcards)) best = candidate;
      }
      return best;
    }
    return undefined;
  }
}

/**
 * Advanced Profile "Shared Registration": single (the one callee), first and last ("the first
 * respectively last callee on the current list of registrations (ordered by the order of
 * registration)"), roundrobin ("picked subsequently from the list ... looping back to the
 * beginning"), random.
 */
function pick(registration: Registration): Callee {
  const callees = registration.callees;
  switch (registration.info.invoke) {
    case InvokePolicy.Last:
      return callees[callees.length - 1]!;
    case InvokePolicy.RoundRobin: {
      let index = registration.next;
      if (index >= callees.length) index = 0;
      registration.next = index + 1;
      return callees[index]!;
    }
    case InvokePolicy.Random:
      return callees[Math.floor(Math.random() * callees.length)]!;
    default:
      return callees[0]!;
  }
}

/** "Wildcard Matching": empty components match any one component; the counts are equal already. */
function componentsMatch(pattern: readonly string[], parts: readonly string[]): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const component = pattern[i]!;
    if (component !== '' && component !== parts[i]) return false;
  }
  return true;
}

/**
 * Whether wildcard positions `a` beat `b` for the same URI: the first wildcard that sits at a
 * different place decides, the later one having the longer portion matched before it
 * ("a1.b2..d4" beats "a1...d4"; "a1.b2..d4.e5..g7" beats "a1.b2..d4..f6.g7").
 */
function laterWildcards(a: readonly number[], b: readonly number[]): boolean {
  for (let i = 0; ; i++) {
    const x = a[i] ?? Infinity;
    const y = b[i] ?? Infinity;
    if (x !== y) return x > y;
    if (x === Infinity) return false;
  }
}

/**
 * The timeout a CALL runs under, in ms: CALL.Options.timeout ("0 or absent means no timeout"),
 * at most the router's `maxCallTimeout` when that is set (which then also bounds calls that
 * name none). -1 for a value that is not a non-negative number.
 */
function timeoutOf(value: unknown, max: number): number {
  let timeout = 0;
  if (value !== undefined && value !== null) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) return -1;
    timeout = Math.ceil(value);
  }
  if (max > 0 && (timeout === 0 || timeout > max)) timeout = max;
  return Math.min(timeout, MAX_TIMER_MS);
}

function copyPassthrough(from: Dict, to: Dict): void {
  for (const key of PPT_KEYS) if (from[key] !== undefined) to[key] = from[key];
}

/** Application URIs "MUST NOT use wamp as the first component" (Basic Profile "Reserved URIs"). */
function isMetaUri(uri: string): boolean {
  return uri.startsWith('wamp.');
}

function idsOf(table: Map<string, Registration>): number[] {
  const ids: number[] = [];
  for (const registration of table.values()) ids.push(registration.info.id);
  return ids;
}
