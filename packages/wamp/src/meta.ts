/**
 * The meta procedures the router answers itself (Advanced Profile "Session Meta API",
 * "Registration Meta API", "Subscription Meta API", "Event History"). They act on the caller's
 * realm only: "Session meta procedures MUST be registered by the Router on the same realm as the
 * WAMP session about which information is retrieved". The dealer hands every CALL to a `wamp.*`
 * procedure here first; `callMeta` answers it with RESULT or ERROR, or returns false when it is
 * not a meta procedure (the dealer then answers `wamp.error.no_such_procedure`).
 */
import { isId, type CallMessage, type Dict } from './codec.js';
import { MessageType, WampClose, WampError, type MatchPolicy } from './constants.js';
import { eventFiltersProblem } from './broker.js';
import type { Peer, Realm } from './realm.js';
import { isValidUri, matchPolicyOf } from './uri.js';

/**
 * Session details as `wamp.session.on_join` and `wamp.session.get` carry them: session,
 * authid, authrole, authmethod, authprovider and the optional, "implementation defined"
 * transport dict.
 */
export function sessionDetails(peer: Peer): Dict {
  return { session: peer.id, authid: peer.authid, authrole: peer.authrole, authmethod: peer.authmethod, authprovider: peer.authprovider, transport: peer.transport };
}

/** A meta procedure's answer: RESULT payload, or ERROR with an error URI and a text. */
type Answer = { readonly args?: unknown[]; readonly kwargs?: Dict } | { readonly error: string; readonly text: string };

type Procedure = (realm: Realm, caller: Peer, args: readonly unknown[], kwargs: Dict) => Answer | Promise<Answer>;

function result(value: unknown): Answer {
  return { args: [value] };
}

function failure(error: string, text: string): Answer {
  return { error, text };
}

function isDict(value: unknown): value is Dict {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isThenable<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/** The first positional argument as an id, or the ERROR a malformed call gets. */
function idArgument(args: readonly unknown[], name: string): number | Answer {
  const id = args[0];
  return isId(id) ? id : failure(WampError.InvalidArgument, `${name}|id expected as the first argument`);
}

function stringArgument(args: readonly unknown[], name: string): string | Answer {
  const value = args[0];
  return typeof value === 'string' ? value : failure(WampError.InvalidArgument, `${name}|string expected as the first argument`);
}

/** The realm's sessions, by the optional `filter_authroles|list[string]` (`wamp.session.count` / `list`). */
function filteredSessions(realm: Realm, args: readonly unknown[]): Peer[] | Answer {
  const filter = args[0];
  if (filter === undefined || filter === null) return [...realm.sessions.values()];
  const sessions = realm.sessions.values();
  if (!Array.isArray(filter) || !filter.every((role) => typeof role === 'string')) return failure(WampError.InvalidArgument, 'filter_authroles|list[string] expected');
  const roles = new Set<unknown>(filter);
  const out: Peer[] = [];
  for (const peer of sessions) if (roles.has(peer.authrole)) out.push(peer);
  return out;
}

// ------------------------------------------------------------------------------------------- kill

interface KillOptions {
  readonly reason: string;
  readonly message: string | undefined;
}

/**
 * The kill procedures' keyword arguments: `reason|uri` "sent to client in GOODBYE.Reason"
 * (default `wamp.close.killed`), `message|string` "sent to client in GOODBYE.Details under the
 * key message". "wamp.error.invalid_uri - A reason keyword argument has a value that is not a
 * valid non-empty URI."
 */
function killOptions(realm: Realm, kwargs: Dict): KillOptions | Answer {
  const reason = kwargs.reason ?? WampClose.Killed;
  if (typeof reason !== 'string' || !isValidUri(reason, realm.router.uriCheck)) return failure(WampError.InvalidUri, 'reason must be a valid non-empty URI');
  const message = kwargs.message ?? undefined;
  if (message !== undefined && typeof message !== 'string') return failure(WampError.InvalidArgument, 'message|string expected');
  return { reason, message };
}

function isKillOptions(value: KillOptions | Answer): value is KillOptions {
  return !('error' in value);
}

/** Kills every session of the realm that `which` selects, never the caller; returns the ids. */
function killWhere(realm: Realm, caller: Peer, options: KillOptions, which: (peer: Peer) => boolean, quiet = false): number[] {
  // A snapshot: each kill takes the session out of `realm.sessions`.
  const targets = [...realm.sessions.values()].filter((peer) => peer !== caller && peer.id !== caller.id && which(peer));
  for (const peer of targets) peer.kill(options.reason, options.message, quiet);
  return targets.map((peer) => peer.id);
}

// --------------------------------------------------------------------------------- event history

/**
 * "In order to request event history, a peer must be allowed to subscribe to a desired
 * subscription first ... Prohibited Event History meta procedure calls must fail with the
 * wamp.error.not_authorized error URI." The same checks SUBSCRIBE passes: the realm's roles,
 * then the `authorize` hook.
 */
function maySubscribe(realm: Realm, caller: Peer, uri: string, match: string): boolean | undefined | Promise<boolean | undefined> {
  if (!realm.permits(caller.authrole, 'subscribe', uri)) return false;
  const hook = realm.router.authorize;
  if (!hook) return true;
  const failed = (error: unknown) => {
    realm.router.log.warn({ err: error }, 'wamp authorize hook failed');
    return undefined;
  };
  try {
    const verdict = hook({ realm: realm.name, session: caller.id, authid: caller.authid, authrole: caller.authrole, action: 'subscribe', uri, options: { match } });
    return isThenable(verdict) ? verdict.then((allowed) => allowed === true, failed) : verdict === true;
  } catch (error) {
    return failed(error);
  }
}

function getEvents(realm: Realm, caller: Peer, args: readonly unknown[], kwargs: Dict): Answer | Promise<Answer> {
  const id = idArgument(args, 'subscription');
  if (typeof id !== 'number') return id;
  const subscription = realm.broker.get(id);
  if (!subscription) return failure(WampError.NoSuchSubscription, `no subscription ${id}`);
  // The broker parses the filters; a malformed one is the caller's error, not an empty answer.
  const problem = eventFiltersProblem(kwargs);
  if (problem) return failure(WampError.InvalidArgument, problem);
  const answer = (allowed: boolean | undefined): Answer => {
    if (allowed === undefined) return failure(WampError.AuthorizationFailed, 'authorization failed');
    if (!allowed) return failure(WampError.NotAuthorized, `not authorized to subscribe to ${subscription.uri}`);
    // The subscription may have gone while the hook ran.
    if (!realm.broker.get(id)) return failure(WampError.NoSuchSubscription, `no subscription ${id}`);
    // The history of an existing subscription is a list, "possibly an empty array ... where
    // there were no publications": with history off (eventHistory 0) none were kept. The broker
    // applies the filters, and the original publications' authid/authrole lists to the
    // requester ("These same rules must also apply to event history requests").
    return result(realm.broker.events(id, kwargs, { authid: caller.authid, authrole: caller.authrole }) ?? []);
  };
  const allowed = maySubscribe(realm, caller, subscription.uri, subscription.match);
  return isThenable(allowed) ? allowed.then(answer) : answer(allowed);
}

// ---------------------------------------------------------------------------------- the procedures

const PROCEDURES: Readonly<Record<string, Procedure>> = {
  // ------------------------------------------------------------------ sessions
  /** "Obtains the number of sessions currently attached to the realm", optionally by authrole. */
  'wamp.session.count': (realm, _caller, args) => {
    // Without a filter the count is the map's size: no copy of every session per call.
    if (args[0] === undefined || args[0] === null) return result(realm.sessions.size);
    const sessions = filteredSessions(realm, args);
    return Array.isArray(sessions) ? result(sessions.length) : sessions;
  },
  /** "List of WAMP session IDs (order undefined)". */
  'wamp.session.list': (realm, _caller, args) => {
    const sessions = filteredSessions(realm, args);
    return Array.isArray(sessions) ? result(sessions.map((peer) => peer.id)) : sessions;
  },
  'wamp.session.get': (realm, _caller, args) => {
    const id = idArgument(args, 'session');
    if (typeof id !== 'number') return id;
    const peer = realm.sessions.get(id);
    return peer ? result(sessionDetails(peer)) : failure(WampError.NoSuchSession, `no session ${id}`);
  },
  /**
   * "Specifying the caller's own session will result in a wamp.error.no_such_session since no
   * other session with that ID exists." No positional result.
   */
  'wamp.session.kill': (realm, caller, args, kwargs) => {
    const id = idArgument(args, 'session');
    if (typeof id !== 'number') return id;
    const options = killOptions(realm, kwargs);
    if (!isKillOptions(options)) return options;
    const peer = realm.sessions.get(id);
    if (!peer || id === caller.id) return failure(WampError.NoSuchSession, `no other session ${id}`);
    peer.kill(options.reason, options.message);
    return {};
  },
  /** "If the caller's own session has the specified authid, the caller's session is excluded"; the result is the killed ids. */
  'wamp.session.kill_by_authid': (realm, caller, args, kwargs) => {
    const authid = stringArgument(args, 'authid');
    if (typeof authid !== 'string') return authid;
    const options = killOptions(realm, kwargs);
    if (!isKillOptions(options)) return options;
    return result(killWhere(realm, caller, options, (peer) => peer.authid === authid));
  },
  /** The same by authrole; the result is the count. */
  'wamp.session.kill_by_authrole': (realm, caller, args, kwargs) => {
    const authrole = stringArgument(args, 'authrole');
    if (typeof authrole !== 'string') return authrole;
    const options = killOptions(realm, kwargs);
    if (!isKillOptions(options)) return options;
    return result(killWhere(realm, caller, options, (peer) => peer.authrole === authrole).length);
  },
  /** "Kill all currently connected sessions in the caller's realm. The caller's own session is excluded." */
  'wamp.session.kill_all': (realm, caller, _args, kwargs) => {
    const options = killOptions(realm, kwargs);
    if (!isKillOptions(options)) return options;
    return result(killWhere(realm, caller, options, () => true, true).length);
  },

  // ------------------------------------------------------------------ registrations
  /** `RegistrationLists = {exact, prefix, wildcard}` of registration ids. */
  'wamp.registration.list': (realm) => result(realm.dealer.list()),
  /** "Obtains the registration (if any) managing a procedure, according to some match policy": options as in REGISTER. */
  'wamp.registration.lookup': (realm, _caller, args) => {
    const uri = stringArgument(args, 'procedure');
    if (typeof uri !== 'string') return uri;
    const match = lookupMatch(args[1]);
    return typeof match === 'string' ? result(realm.dealer.lookup(uri, match)) : match;
  },
  /** "Obtains the registration best matching a given procedure URI" (exact, longest prefix, wildcard), or null. */
  'wamp.registration.match': (realm, _caller, args) => {
    const uri = stringArgument(args, 'procedure');
    return typeof uri === 'string' ? result(realm.dealer.match(uri)) : uri;
  },
  /** `RegistrationDetails = {id, created, uri, match, invoke}`. */
  'wamp.registration.get': (realm, _caller, args) => {
    const id = idArgument(args, 'registration');
    if (typeof id !== 'number') return id;
    const info = realm.dealer.get(id);
    return info ? result({ id: info.id, created: info.created, uri: info.uri, match: info.match, invoke: info.invoke }) : failure(WampError.NoSuchRegistration, `no registration ${id}`);
  },
  'wamp.registration.list_callees': (realm, _caller, args) => {
    const id = idArgument(args, 'registration');
    if (typeof id !== 'number') return id;
    const callees = realm.dealer.callees(id);
    return callees ? result(callees) : failure(WampError.NoSuchRegistration, `no registration ${id}`);
  },
  'wamp.registration.count_callees': (realm, _caller, args) => {
    const id = idArgument(args, 'registration');
    if (typeof id !== 'number') return id;
    const callees = realm.dealer.callees(id);
    return callees ? result(callees.length) : failure(WampError.NoSuchRegistration, `no registration ${id}`);
  },

  // ------------------------------------------------------------------ subscriptions
  /** `SubscriptionLists = {exact, prefix, wildcard}` of subscription ids. */
  'wamp.subscription.list': (realm) => result(realm.broker.list()),
  'wamp.subscription.lookup': (realm, _caller, args) => {
    const uri = stringArgument(args, 'topic');
    if (typeof uri !== 'string') return uri;
    const match = lookupMatch(args[1]);
    return typeof match === 'string' ? result(realm.broker.lookup(uri, match)) : match;
  },
  /** "A list of all matching subscription IDs, or null", "irrespective of match policy". */
  'wamp.subscription.match': (realm, _caller, args) => {
    const uri = stringArgument(args, 'topic');
    if (typeof uri !== 'string') return uri;
    const ids = realm.broker.match(uri);
    return result(ids && ids.length > 0 ? ids : null);
  },
  /** `SubscriptionDetails = {id, created, uri, match}`. */
  'wamp.subscription.get': (realm, _caller, args) => {
    const id = idArgument(args, 'subscription');
    if (typeof id !== 'number') return id;
    const info = realm.broker.get(id);
    return info ? result({ id: info.id, created: info.created, uri: info.uri, match: info.match }) : failure(WampError.NoSuchSubscription, `no subscription ${id}`);
  },
  'wamp.subscription.list_subscribers': (realm, _caller, args) => {
    const id = idArgument(args, 'subscription');
    if (typeof id !== 'number') return id;
    const subscribers = realm.broker.subscribers(id);
    return subscribers ? result(subscribers) : failure(WampError.NoSuchSubscription, `no subscription ${id}`);
  },
  'wamp.subscription.count_subscribers': (realm, _caller, args) => {
    const id = idArgument(args, 'subscription');
    if (typeof id !== 'number') return id;
    const subscribers = realm.broker.subscribers(id);
    return subscribers ? result(subscribers.length) : failure(WampError.NoSuchSubscription, `no subscription ${id}`);
  },
  'wamp.subscription.get_events': getEvents,
};

/** The `options|dict` of a lookup: "Same options as when registering/subscribing", i.e. `match`. */
function lookupMatch(options: unknown): MatchPolicy | Answer {
  if (options === undefined || options === null) return 'exact';
  if (!isDict(options)) return failure(WampError.InvalidArgument, 'options|dict expected as the second argument');
  return matchPolicyOf(options) ?? failure(WampError.InvalidArgument, `unknown match policy ${String(options.match)}`);
}

/**
 * Answers a CALL to a meta procedure with RESULT `[50, request, {}, [result]]` or ERROR
 * (REQUEST.Type CALL). Returns false, sending nothing, when `procedure` is not one.
 */
export function callMeta(realm: Realm, peer: Peer, message: CallMessage): boolean {
  if (!Object.hasOwn(PROCEDURES, message.procedure)) return false;
  const procedure = PROCEDURES[message.procedure]!;
  const reply = (answer: Answer) => {
    if ('error' in answer) {
      peer.send({ type: MessageType.ERROR, requestType: MessageType.CALL, request: message.request, details: {}, error: answer.error, args: [answer.text] });
      return;
    }
    // "Peers SHOULD NOT send an empty Arguments list or an empty ArgumentsKw dict".
    peer.send({ type: MessageType.RESULT, request: message.request, details: {}, ...(answer.args ? { args: answer.args } : {}), ...(answer.kwargs ? { kwargs: answer.kwargs } : {}) });
  };
  // "Progressive Call Invocations": "if a Callee doesn't support this feature, the Dealer MUST
  // respond to the Caller with an wamp.error.feature_not_supported error". The router, as the
  // callee of its meta procedures, does not.
  if (message.options.progress === true) {
    reply(failure(WampError.FeatureNotSupported, `${message.procedure} takes no progressive invocations`));
    return true;
  }
  // A fault here must not take the session down: the caller gets an ERROR, the log the cause.
  // No spec URI fits a router fault; autobahn uses this one for a callee's unexpected exception.
  const crashed = (error: unknown): Answer => {
    realm.router.log.error({ err: error, procedure: message.procedure }, 'wamp meta procedure failed');
    return failure('wamp.error.runtime_error', `${message.procedure} failed`);
  };
  let answer: Answer | Promise<Answer>;
  try {
    answer = procedure(realm, peer, message.args ?? [], message.kwargs ?? {});
  } catch (error) {
    answer = crashed(error);
  }
  if (isThenable(answer)) answer.then(reply, (error: unknown) => reply(crashed(error)));
  else reply(answer);
  return true;
}
