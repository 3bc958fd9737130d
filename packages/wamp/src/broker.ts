/**
 * The broker of one realm: subscriptions (exact, prefix, wildcard), fan-out of publications as
 * EVENTs, the options of the Advanced Profile's publish/subscribe features, event history, the
 * subscription meta events and queries, and this realm's side of the cross-protocol bus.
 *
 * Sources: Basic Profile "Publish and Subscribe"; Advanced Profile "Pattern-based Subscription",
 * "Publisher Exclusion", "Subscriber Black- and Whitelisting", "Publisher Identification",
 * "Event History", "Subscription Meta API", "Payload Passthru Mode".
 *
 * The publish path is the hot one: an exact subscription is one Map lookup; each matching
 * subscription builds its EVENT list once and encodes it once per serializer; the loop over
 * subscribers allocates nothing and creates no closures.
 */
import type { BusMessage, MessageOrigin } from '@protoplex/core';
import { isId, type Args, type Dict, type PublishMessage, type Serializer, type SubscribeMessage, type UnsubscribeMessage } from './codec.js';
import { MatchPolicy, MessageType, Metric, WampError } from './constants.js';
import { fromBusPayload, toBusPayload } from './payload.js';
import type { Peer, Realm } from './realm.js';
import { wampViolation } from './session.js';
import { busFilterOf, wampTopics } from './topics.js';
import type { SubscriptionInfo } from './types.js';
import { isValidUri, matchPolicyOf } from './uri.js';

/** Meta topics (Advanced Profile "Subscription Meta API", "Events"). */
export const SubscriptionMeta = {
  OnCreate: 'wamp.subscription.on_create',
  OnSubscribe: 'wamp.subscription.on_subscribe',
  OnUnsubscribe: 'wamp.subscription.on_unsubscribe',
  OnDelete: 'wamp.subscription.on_delete',
} as const;

/** One entry of `wamp.subscription.get_events`' result (Advanced Profile "Event History"). */
export interface HistoricEvent {
  /** RFC 3339, when the broker received the publication. */
  readonly timestamp: string;
  readonly subscription: number;
  readonly publication: number;
  /** The EVENT.Details the subscribers got. */
  readonly details: Dict;
  readonly args?: Args;
  readonly kwargs?: Dict;
}

/** Who asks for event history: the original publication's authid/authrole lists apply to it. */
export interface HistoryRequester {
  readonly authid: string;
  readonly authrole: string;
}

/** Bus messages WAMP publishes say where they came from. */
const WAMP_ORIGIN: MessageOrigin = Object.freeze({ protocol: 'wamp' });
/** EVENT.Details of a plain publication: shared, never mutated. */
const NO_DETAILS: Dict = Object.freeze({});
const NO_ARGS: Args = Object.freeze([]);

/** "Application URIs MUST NOT use wamp as a first URI component" (Basic Profile "Reserved URIs"): the router's own. */
function isReserved(uri: string): boolean {
  return uri.startsWith('wamp') && (uri.length === 4 || uri.charCodeAt(4) === 0x2e /* . */);
}

function hasKeys(value: Dict | undefined): value is Dict {
  if (value === undefined) return false;
  for (const _ in value) return true;
  return false;
}

/** Components in a URI: one more than its dots. */
function componentCount(uri: string): number {
  let count = 1;
  for (let at = uri.indexOf('.'); at !== -1; at = uri.indexOf('.', at + 1)) count++;
  return count;
}

/**
 * Advanced Profile "Wildcard Matching": "an empty URI component matches exactly one URI
 * component", and pattern and topic have the same number of components (`com.myapp..userevent`
 * matches `com.myapp.foo.userevent`, not `com.myapp.foo.userevent.bar`). Walks the topic in
 * place, without splitting it.
 */
export function wildcardMatch(parts: readonly string[], topic: string): boolean {
  let start = 0;
  const last = parts.length - 1;
  for (let i = 0; i <= last; i++) {
    let end = topic.indexOf('.', start);
    if (i === last) {
      if (end !== -1) return false;
      end = topic.length;
    } else if (end === -1) return false;
    const part = parts[i]!;
    if (part.length !== 0 && (end - start !== part.length || !topic.startsWith(part, start))) return false;
    start = end + 1;
  }
  return true;
}

// ------------------------------------------------------------------------------- black/white lists

/** A scalar where a list is expected is taken as a one-element list (wampy's shorthand). */
function listOf(value: unknown): readonly unknown[] | undefined {
  if (value === undefined || value === null) return undefined;
  return Array.isArray(value) ? value : [value];
}

/**
 * Session ids, compared as numbers: wampy's msgpack and cbor send ids above 2^32 as doubles,
 * and a decoder may hand out a BigInt.
 */
function idSet(value: unknown): Set<number> | undefined {
  const list = listOf(value);
  if (!list) return undefined;
  const set = new Set<number>();
  for (const item of list) {
    if (typeof item === 'number') set.add(item);
    else if (typeof item === 'bigint') set.add(Number(item));
  }
  return set;
}

function stringSet(value: unknown): Set<string> | undefined {
  const list = listOf(value);
  if (!list) return undefined;
  const set = new Set<string>();
  for (const item of list) if (typeof item === 'string') set.add(item);
  return set;
}

/**
 * Advanced Profile "Subscriber Black- and Whitelisting": a receiver must be in every `eligible*`
 * list given and in no `exclude*` list given.
 */
class Audience {
  constructor(
    readonly exclude: Set<number> | undefined,
    readonly excludeAuthid: Set<string> | undefined,
    readonly excludeAuthrole: Set<string> | undefined,
    readonly eligible: Set<number> | undefined,
    readonly eligibleAuthid: Set<string> | undefined,
    readonly eligibleAuthrole: Set<string> | undefined,
  ) {}

  /** Lists by session id: events with them are not kept in the history ("Event History", "Security Aspects"). */
  get bySession(): boolean {
    return this.exclude !== undefined || this.eligible !== undefined;
  }

  /** A whitelist names who may receive: nobody on the bus is on it. */
  get whitelist(): boolean {
    return this.eligible !== undefined || this.eligibleAuthid !== undefined || this.eligibleAuthrole !== undefined;
  }

  /** By authid and authrole only: what still means something after the session is gone. */
  get byPrincipal(): boolean {
    return this.excludeAuthid !== undefined || this.excludeAuthrole !== undefined || this.eligibleAuthid !== undefined || this.eligibleAuthrole !== undefined;
  }

  admits(peer: Peer): boolean {
    if (this.exclude !== undefined && this.exclude.has(peer.id)) return false;
    if (this.eligible !== undefined && !this.eligible.has(peer.id)) return false;
    return this.admitsPrincipal(peer.authid, peer.authrole);
  }

  admitsPrincipal(authid: string, authrole: string): boolean {
    if (this.excludeAuthid !== undefined && this.excludeAuthid.has(authid)) return false;
    if (this.excludeAuthrole !== undefined && this.excludeAuthrole.has(authrole)) return false;
    if (this.eligibleAuthid !== undefined && !this.eligibleAuthid.has(authid)) return false;
    if (this.eligibleAuthrole !== undefined && !this.eligibleAuthrole.has(authrole)) return false;
    return true;
  }
}

/** The publication's audience, or undefined when it names no list (the common case: no sets built). */
function audienceOf(options: Dict): Audience | undefined {
  if (
    options.exclude === undefined &&
    options.exclude_authid === undefined &&
    options.exclude_authrole === undefined &&
    options.eligible === undefined &&
    options.eligible_authid === undefined &&
    options.eligible_authrole === undefined
  ) {
    return undefined;
  }
  const audience = new Audience(
    idSet(options.exclude),
    stringSet(options.exclude_authid),
    stringSet(options.exclude_authrole),
    idSet(options.eligible),
    stringSet(options.eligible_authid),
    stringSet(options.eligible_authrole),
  );
  return audience.bySession || audience.byPrincipal ? audience : undefined;
}

// ------------------------------------------------------------------------------------ event history

interface HistoryEntry {
  /** Epoch ms on the router's clock. */
  readonly time: number;
  readonly publication: number;
  readonly topic: string;
  readonly details: Dict;
  readonly args: Args | undefined;
  readonly kwargs: Dict | undefined;
  /** authid/authrole lists of the publication, applied to whoever asks later. */
  readonly audience: Audience | undefined;
}

/** The last `capacity` events of one subscription, oldest first. */
class History {
  private readonly ring: Array<HistoryEntry | undefined>;
  private start = 0;
  private size = 0;

  constructor(private readonly capacity: number) {
    this.ring = new Array<HistoryEntry | undefined>(capacity);
  }

  push(entry: HistoryEntry): void {
    if (this.size < this.capacity) {
      this.ring[(this.start + this.size) % this.capacity] = entry;
      this.size++;
      return;
    }
    this.ring[this.start] = entry;
    this.start = (this.start + 1) % this.capacity;
  }

  entries(): HistoryEntry[] {
    const out: HistoryEntry[] = [];
    for (let i = 0; i < this.size; i++) out.push(this.ring[(this.start + i) % this.capacity]!);
    return out;
  }
}

/** `wamp.subscription.get_events` kwargs, checked ("Receiving Event History"). */
interface EventFilters {
  reverse?: boolean;
  limit?: number;
  fromTime?: number;
  afterTime?: number;
  beforeTime?: number;
  untilTime?: number;
  topic?: string;
  fromPublication?: number;
  afterPublication?: number;
  beforePublication?: number;
  untilPublication?: number;
}

const TIME_KEYS = [
  ['from_time', 'fromTime'],
  ['after_time', 'afterTime'],
  ['before_time', 'beforeTime'],
  ['until_time', 'untilTime'],
] as const;
const PUBLICATION_KEYS = [
  ['from_publication', 'fromPublication'],
  ['after_publication', 'afterPublication'],
  ['before_publication', 'beforePublication'],
  ['until_publication', 'untilPublication'],
] as const;

/** RFC 3339 date-time (`2024-05-01T12:00:00Z`, `...T12:00:00.123+02:00`). */
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

function parseFilters(kwargs: Dict): { filters: EventFilters; problem: string | undefined } {
  const filters: EventFilters = {};
  let problem: string | undefined;
  const present = (key: string): boolean => kwargs[key] !== undefined && kwargs[key] !== null;
  if (present('reverse')) {
    if (typeof kwargs.reverse === 'boolean') filters.reverse = kwargs.reverse;
    else problem ??= 'reverse must be a boolean';
  }
  if (present('limit')) {
    const limit = kwargs.limit;
    // "limit. Positive integer."
    if (typeof limit === 'number' && Number.isInteger(limit) && limit > 0) filters.limit = limit;
    else problem ??= 'limit must be a positive integer';
  }
  for (const [key, field] of TIME_KEYS) {
    if (!present(key)) continue;
    const value = kwargs[key];
    const time = typeof value === 'string' && RFC3339.test(value) ? Date.parse(value) : Number.NaN;
    if (Number.isFinite(time)) filters[field] = time;
    else problem ??= `${key} must be an RFC 3339 timestamp`;
  }
  if (present('topic')) {
    if (typeof kwargs.topic === 'string') filters.topic = kwargs.topic;
    else problem ??= 'topic must be a URI';
  }
  for (const [key, field] of PUBLICATION_KEYS) {
    if (!present(key)) continue;
    const value = kwargs[key];
    if (isId(value)) filters[field] = value;
    else problem ??= `${key} must be a publication id`;
  }
  return { filters, problem };
}

/**
 * Why `wamp.subscription.get_events` kwargs are unusable (answer `wamp.error.invalid_argument`),
 * or undefined when they are fine. `Broker.events` itself skips a filter of the wrong type.
 */
export function eventFiltersProblem(kwargs: Dict): string | undefined {
  return parseFilters(kwargs).problem;
}

// ------------------------------------------------------------------------------------ subscriptions

class Subscription {
  /** Iterated on every publish: an array, kept dense by swap-removal. */
  readonly subscribers: Peer[] = [];
  /** Where each subscriber sits in `subscribers`. */
  private readonly slots = new Map<Peer, number>();
  /** The components of a wildcard pattern. */
  readonly parts: readonly string[] | undefined;
  /** The bus filter held for this subscription, if any. */
  busFilter: string | undefined;
  readonly history: History | undefined;

  constructor(
    readonly id: number,
    readonly uri: string,
    readonly match: MatchPolicy,
    readonly created: string,
    /** A `wamp.*` subscription: no subscription meta events, no bus filter. */
    readonly reserved: boolean,
    historySize: number,
  ) {
    this.parts = match === MatchPolicy.Wildcard ? uri.split('.') : undefined;
    this.history = historySize > 0 ? new History(historySize) : undefined;
  }

  add(peer: Peer): void {
    this.slots.set(peer, this.subscribers.length);
    this.subscribers.push(peer);
  }

  remove(peer: Peer): void {
    const slot = this.slots.get(peer);
    if (slot === undefined) return;
    this.slots.delete(peer);
    const last = this.subscribers.pop()!;
    if (last !== peer) {
      this.subscribers[slot] = last;
      this.slots.set(last, slot);
    }
  }

  info(): SubscriptionInfo {
    return { id: this.id, created: this.created, uri: this.uri, match: this.match };
  }
}

/** One publication on its way to the matching subscriptions. */
interface Publication {
  readonly id: number;
  readonly topic: string;
  /** EVENT.Details for exact subscriptions. */
  readonly details: Dict;
  /** The same plus `topic`, for pattern subscriptions; made by the first one that matches. */
  patternDetails: Dict | undefined;
  /** Absent when empty ("SHOULD NOT send an empty Arguments list"). */
  readonly args: Args | undefined;
  /** Absent when empty. */
  readonly kwargs: Dict | undefined;
  /** The publisher, when publisher exclusion applies. */
  readonly excluded: Peer | undefined;
  readonly audience: Audience | undefined;
  /** Whether the event history keeps it. */
  readonly keep: boolean;
  readonly time: number;
}

type Visit<A> = (subscription: Subscription, arg: A) => void;

const collect: Visit<Subscription[]> = (subscription, out) => {
  out.push(subscription);
};

export class Broker {
  private readonly byId = new Map<number, Subscription>();
  /** Exact subscriptions by URI: what a publish looks up first. */
  private readonly exact = new Map<string, Subscription>();
  private readonly prefixByUri = new Map<string, Subscription>();
  private readonly prefixes: Subscription[] = [];
  private readonly wildcardByUri = new Map<string, Subscription>();
  /** Wildcard subscriptions by component count: only those can match a topic with that many. */
  private readonly wildcards = new Map<number, Subscription[]>();
  /** What each session holds, by subscription id. */
  private readonly held = new Map<Peer, Map<number, Subscription>>();
  /** The last topic mapped to the bus, and its canonical form (undefined: it has none). */
  private lastTopic: string | undefined;
  private lastBusTopic: string | undefined;
  private readonly deliver: Visit<Publication> = (subscription, publication) => this.fanOutTo(subscription, publication);

  constructor(readonly realm: Realm) {}

  // -------------------------------------------------------------------------- SUBSCRIBE / UNSUBSCRIBE

  /**
   * SUBSCRIBE, after the session checked the URI, the match policy and authorization.
   * Subscription ids are per (match, uri) and shared by every subscriber; a session that asks
   * again for what it holds gets the same id ("If the Broker is able to fulfill and allow the
   * subscription, ... the same Subscription|id", Basic Profile "SUBSCRIBED").
   */
  subscribe(peer: Peer, message: SubscribeMessage): void {
    const match = matchPolicyOf(message.options) ?? MatchPolicy.Exact;
    const uri = message.topic;
    let subscription = this.index(match).get(uri);
    const created = subscription === undefined;
    subscription ??= this.create(uri, match);
    let held = this.held.get(peer);
    if (held?.has(subscription.id)) {
      peer.send({ type: MessageType.SUBSCRIBED, request: message.request, subscription: subscription.id });
      return;
    }
    if (!held) {
      held = new Map();
      this.held.set(peer, held);
    }
    held.set(subscription.id, subscription);
    subscription.add(peer);
    // "Ordering Guarantees": SUBSCRIBED goes out before any EVENT of the subscription; this
    // session's send order is the wire order.
    peer.send({ type: MessageType.SUBSCRIBED, request: message.request, subscription: subscription.id });
    if (subscription.reserved) return;
    // "A wamp.subscription.on_subscribe event shall always be fired subsequent to a
    // wamp.subscription.on_create event" (Subscription Meta API).
    if (created) this.publishMeta(SubscriptionMeta.OnCreate, [peer.id, subscription.info()]);
    this.publishMeta(SubscriptionMeta.OnSubscribe, [peer.id, subscription.id]);
  }

  /** UNSUBSCRIBE: only what this session holds ("wamp.error.no_such_subscription" otherwise, Basic Profile "Unsubscribe ERROR"). */
  unsubscribe(peer: Peer, message: UnsubscribeMessage): void {
    const held = this.held.get(peer);
    const subscription = held?.get(message.subscription);
    if (!held || !subscription) {
      peer.send({
        type: MessageType.ERROR,
        requestType: MessageType.UNSUBSCRIBE,
        request: message.request,
        details: {},
        error: WampError.NoSuchSubscription,
        args: [`no subscription ${message.subscription} in this session`],
      });
      return;
    }
    held.delete(subscription.id);
    if (held.size === 0) this.held.delete(peer);
    subscription.remove(peer);
    peer.send({ type: MessageType.UNSUBSCRIBED, request: message.request });
    this.removed(subscription, peer.id);
  }

  /** The session left: every subscription it held loses it, with the meta events of each. */
  leave(peer: Peer): void {
    const held = this.held.get(peer);
    if (!held) return;
    this.held.delete(peer);
    // Detach from everything first, so the leaving session gets none of the meta events below.
    for (const subscription of held.values()) subscription.remove(peer);
    for (const subscription of held.values()) this.removed(subscription, peer.id);
  }

  /**
   * After a subscriber went: on_unsubscribe, then, when it was the last, the subscription is
   * deleted and on_delete follows ("the wamp.subscription.on_delete event shall always be
   * preceded by a wamp.subscription.on_unsubscribe event").
   */
  private removed(subscription: Subscription, session: number): void {
    if (!subscription.reserved) this.publishMeta(SubscriptionMeta.OnUnsubscribe, [session, subscription.id]);
    if (subscription.subscribers.length > 0) return;
    this.destroy(subscription);
    if (!subscription.reserved) this.publishMeta(SubscriptionMeta.OnDelete, [session, subscription.id]);
  }

  private index(match: MatchPolicy): Map<string, Subscription> {
    return match === MatchPolicy.Exact ? this.exact : match === MatchPolicy.Prefix ? this.prefixByUri : this.wildcardByUri;
  }

  private create(uri: string, match: MatchPolicy): Subscription {
    const router = this.realm.router;
    const subscription = new Subscription(router.routerId(), uri, match, router.now(), isReserved(uri), router.eventHistory);
    this.byId.set(subscription.id, subscription);
    this.index(match).set(uri, subscription);
    if (match === MatchPolicy.Prefix) this.prefixes.push(subscription);
    else if (match === MatchPolicy.Wildcard) {
      const count = subscription.parts!.length;
      const list = this.wildcards.get(count);
      if (list) list.push(subscription);
      else this.wildcards.set(count, [subscription]);
    }
    // The bus rule: hold on the bus exactly the filters the subscriptions stand for, while they
    // exist. The router's own `wamp.*` topics stay off the bus.
    const bridge = this.realm.bridge;
    if (bridge && !subscription.reserved) {
      const filter = busFilterOf(uri, match);
      if (filter !== undefined) {
        try {
          bridge.hold(filter);
          subscription.busFilter = filter;
        } catch (error) {
          router.log.warn({ err: error, uri, match, filter }, 'wamp subscription has no bus filter');
        }
      }
    }
    return subscription;
  }

  private destroy(subscription: Subscription): void {
    this.byId.delete(subscription.id);
    this.index(subscription.match).delete(subscription.uri);
    if (subscription.match === MatchPolicy.Prefix) removeFrom(this.prefixes, subscription);
    else if (subscription.match === MatchPolicy.Wildcard) {
      const count = subscription.parts!.length;
      const list = this.wildcards.get(count)!;
      removeFrom(list, subscription);
      if (list.length === 0) this.wildcards.delete(count);
    }
    if (subscription.busFilter !== undefined) this.realm.bridge?.release(subscription.busFilter);
  }

  // ------------------------------------------------------------------------------------- PUBLISH

  /** PUBLISH, after the session checked the URI and authorization. */
  publish(peer: Peer, message: PublishMessage): void {
    const router = this.realm.router;
    router.metrics.increment(Metric.Publications);
    const options = message.options;
    // Basic Profile "PUBLISHED": only "if the Publisher requested an acknowledgement".
    const acknowledge = options.acknowledge === true;
    let details: Dict | undefined;
    // "Payload Passthru Mode": "A Router can recognize that Payload Passthru Mode is in use by
    // checking the existence and non-empty value of [ppt_scheme]".
    const scheme = options.ppt_scheme;
    if (scheme !== undefined && scheme !== null && scheme !== '') {
      if (!router.payloadPassthrough) {
        // The router does not offer the mode (it is an option, off by default): the option is
        // refused rather than forwarded to subscribers that cannot expect it.
        return this.refusePublish(peer, message, acknowledge, WampError.OptionNotAllowed, 'payload passthru mode is not enabled on this router');
      }
      // "Cases where a Publisher sends a PUBLISH message with payload passthru, without
      // announcing it during HELLO handshake, MUST be treated as PROTOCOL ERRORS".
      if (!peer.supports('publisher', 'payload_passthru_mode')) throw wampViolation('PUBLISH with ppt_scheme from a publisher that did not announce payload_passthru_mode');
      // "the message payload MUST be sent as one binary item within Arguments|list, while
      // ArgumentsKw|dict MUST be absent or empty".
      if (typeof scheme !== 'string' || message.args?.length !== 1 || hasKeys(message.kwargs)) {
        return this.refusePublish(peer, message, acknowledge, WampError.InvalidArgument, 'payload passthru mode carries one argument and no keyword arguments');
      }
      // "These additional attributes must be forwarded via ... EVENT".
      details = { ppt_scheme: scheme };
      if (options.ppt_serializer !== undefined) details.ppt_serializer = options.ppt_serializer;
      if (options.ppt_cipher !== undefined) details.ppt_cipher = options.ppt_cipher;
      if (options.ppt_keyid !== undefined) details.ppt_keyid = options.ppt_keyid;
    }
    // "Publisher Identification": disclose_me asks for EVENT.Details.publisher (and the
    // principal); the broker may disclose to every subscriber, and does.
    if (options.disclose_me === true) {
      details ??= {};
      details.publisher = peer.id;
      details.publisher_authid = peer.authid;
      details.publisher_authrole = peer.authrole;
    }
    const audience = audienceOf(options);
    const id = router.globalId();
    const args = message.args !== undefined && message.args.length > 0 ? message.args : undefined;
    const kwargs = hasKeys(message.kwargs) ? message.kwargs : undefined;
    const topic = message.topic;
    this.fanOut({
      id,
      topic,
      details: details ?? NO_DETAILS,
      patternDetails: undefined,
      args,
      kwargs,
      // "Publisher Exclusion": exclude_me defaults to true, so the publisher does not receive
      // its own event even when it is subscribed; only `false` turns that off.
      excluded: options.exclude_me === false ? undefined : peer,
      audience,
      // "all events published with Options.exclude|list[int] or Options.eligible|list[int]
      // should be ignored by the Event History mechanism and not be saved at all".
      keep: router.eventHistory > 0 && !(audience?.bySession ?? false),
      time: router.clock.now(),
    });
    this.toBus(topic, args, kwargs, audience);
    if (acknowledge) peer.send({ type: MessageType.PUBLISHED, request: message.request, publication: id });
  }

  /** Basic Profile "Publish ERROR": only when the publish asked for acknowledgement. */
  private refusePublish(peer: Peer, message: PublishMessage, acknowledge: boolean, error: string, text: string): void {
    if (!acknowledge) return;
    peer.send({ type: MessageType.ERROR, requestType: MessageType.PUBLISH, request: message.request, details: {}, error, args: [text] });
  }

  /**
   * A router-originated publication (meta events: `wamp.session.on_join`, the subscription and
   * registration meta topics): no publisher to identify or exclude, never on the bus, not kept
   * in the event history.
   */
  publishMeta(topic: string, args?: Args, kwargs?: Dict): void {
    if (this.byId.size === 0) return;
    this.fanOut({
      id: this.realm.router.globalId(),
      topic,
      details: NO_DETAILS,
      patternDetails: undefined,
      args: args !== undefined && args.length > 0 ? args : undefined,
      kwargs: hasKeys(kwargs) ? kwargs : undefined,
      excluded: undefined,
      audience: undefined,
      keep: false,
      time: 0,
    });
  }

  /**
   * A message another protocol published on the bus (the bus realm only): delivered like a
   * publication without a publisher, to every matching subscription.
   */
  publishFromBus(message: BusMessage): void {
    const topic = wampTopics.fromBus(message.topic);
    // A bus topic with an empty level or a space names no WAMP topic; one under `wamp.` would
    // pose as the router's own meta events ("Reserved URIs").
    if (!isValidUri(topic, 'loose') || isReserved(topic)) return;
    if (this.byId.size === 0) return;
    const router = this.realm.router;
    const payload = fromBusPayload(message);
    this.fanOut({
      id: router.globalId(),
      topic,
      details: NO_DETAILS,
      patternDetails: undefined,
      args: payload.args,
      kwargs: payload.kwargs,
      excluded: undefined,
      audience: undefined,
      keep: router.eventHistory > 0,
      time: router.clock.now(),
    });
  }

  /**
   * The bus side of a publish: built only when somebody outside this adapter wants the topic.
   * A publication with a whitelist (`eligible*`) names who may receive it, and nobody on the
   * bus is on that list, so it stays in WAMP.
   */
  private toBus(topic: string, args: Args | undefined, kwargs: Dict | undefined, audience: Audience | undefined): void {
    const bridge = this.realm.bridge;
    if (!bridge || audience?.whitelist) return;
    // Publishers repeat topics: the last mapping is reused rather than split and joined again.
    let canonical = this.lastBusTopic;
    if (topic !== this.lastTopic) {
      canonical = wampTopics.toBus(topic);
      this.lastTopic = topic;
      this.lastBusTopic = canonical;
    }
    if (canonical === undefined || !bridge.wanted(canonical)) return;
    const converted = toBusPayload(args, kwargs);
    const message: { -readonly [K in keyof BusMessage]: BusMessage[K] } = { topic: canonical, payload: converted.payload, origin: WAMP_ORIGIN, qos: 0 };
    if (converted.contentType !== undefined) message.contentType = converted.contentType;
    if (converted.headers !== undefined) message.headers = converted.headers;
    void bridge.publish(message);
  }

  // --------------------------------------------------------------------------------------- fan-out

  /**
   * Calls `visit` for every subscription that matches `topic`: the exact one (one lookup), the
   * prefixes ("Prefix Matching" is on the string: `com.myapp.topic.emergency` matches
   * `com.myapp.topic.emergency-low`), the wildcards with as many components.
   */
  private visitMatches<A>(topic: string, visit: Visit<A>, arg: A): void {
    const exact = this.exact.get(topic);
    if (exact !== undefined) visit(exact, arg);
    const prefixes = this.prefixes;
    for (let i = 0; i < prefixes.length; i++) {
      const subscription = prefixes[i]!;
      if (topic.startsWith(subscription.uri)) visit(subscription, arg);
    }
    if (this.wildcards.size === 0) return;
    const wildcards = this.wildcards.get(componentCount(topic));
    if (wildcards === undefined) return;
    for (let i = 0; i < wildcards.length; i++) {
      const subscription = wildcards[i]!;
      if (wildcardMatch(subscription.parts!, topic)) visit(subscription, arg);
    }
  }

  private fanOut(publication: Publication): void {
    this.visitMatches(publication.topic, this.deliver, publication);
  }

  /**
   * One EVENT per matching subscription ("Events matching multiple subscriptions": a session
   * subscribed through two gets two), built once and encoded once per serializer. Pattern
   * subscriptions get "EVENT.Details.topic" ("the Broker MUST ... provide the actual topic").
   */
  private fanOutTo(subscription: Subscription, publication: Publication): void {
    let details = publication.details;
    if (subscription.match !== MatchPolicy.Exact) details = publication.patternDetails ??= { ...publication.details, topic: publication.topic };
    if (subscription.history !== undefined && publication.keep) {
      subscription.history.push({
        time: publication.time,
        publication: publication.id,
        topic: publication.topic,
        details,
        args: publication.args,
        kwargs: publication.kwargs,
        audience: publication.audience,
      });
    }
    const subscribers = subscription.subscribers;
    if (subscribers.length === 0) return;
    // "ArgumentsKw can only be present if Arguments is present" (as []).
    const list: unknown[] =
      publication.kwargs !== undefined
        ? [MessageType.EVENT, subscription.id, publication.id, details, publication.args ?? NO_ARGS, publication.kwargs]
        : publication.args !== undefined
          ? [MessageType.EVENT, subscription.id, publication.id, details, publication.args]
          : [MessageType.EVENT, subscription.id, publication.id, details];
    const excluded = publication.excluded;
    const audience = publication.audience;
    // The encodings of this EVENT, one per serializer met (a session has one of three).
    let s0: Serializer | undefined;
    let d0: string | Uint8Array | undefined;
    let s1: Serializer | undefined;
    let d1: string | Uint8Array | undefined;
    let s2: Serializer | undefined;
    let d2: string | Uint8Array | undefined;
    let sent = 0;
    for (let i = 0; i < subscribers.length; i++) {
      const peer = subscribers[i]!;
      if (peer === excluded) continue;
      if (audience !== undefined && !audience.admits(peer)) continue;
      const serializer = peer.serializer;
      let data: string | Uint8Array;
      if (serializer === s0) data = d0!;
      else if (serializer === s1) data = d1!;
      else if (serializer === s2) data = d2!;
      else {
        data = serializer.encode(list);
        // A JSON EVENT goes to every subscriber as the same UTF-8 bytes (sent as text), so the
        // transport does not measure and encode the string again for each of them.
        if (typeof data === 'string') data = Buffer.from(data);
        if (s0 === undefined) {
          s0 = serializer;
          d0 = data;
        } else if (s1 === undefined) {
          s1 = serializer;
          d1 = data;
        } else {
          s2 = serializer;
          d2 = data;
        }
      }
      peer.sendEvent(data);
      sent++;
    }
    // Once per publication, not per EVENT: a metric update costs more than a send's bookkeeping.
    if (sent > 0) this.realm.router.metrics.increment(Metric.Events, undefined, sent);
  }

  // --------------------------------------------------------------------------------------- queries

  /** `wamp.subscription.list`: ids by match policy. */
  list(): { exact: number[]; prefix: number[]; wildcard: number[] } {
    return { exact: idsOf(this.exact), prefix: idsOf(this.prefixByUri), wildcard: idsOf(this.wildcardByUri) };
  }

  /** `wamp.subscription.lookup`: the subscription for (uri, match), or null. */
  lookup(uri: string, match: MatchPolicy): number | null {
    return this.index(match).get(uri)?.id ?? null;
  }

  /** `wamp.subscription.match`: every subscription a publication to `uri` would reach, or null for none. */
  match(uri: string): number[] | null {
    const found: Subscription[] = [];
    this.visitMatches(uri, collect, found);
    return found.length > 0 ? found.map((subscription) => subscription.id) : null;
  }

  /** `wamp.subscription.get`: SubscriptionDetails `{id, created, uri, match}`. */
  get(id: number): SubscriptionInfo | undefined {
    return this.byId.get(id)?.info();
  }

  /** `wamp.subscription.list_subscribers`: session ids. */
  subscribers(id: number): number[] | undefined {
    return this.byId.get(id)?.subscribers.map((peer) => peer.id);
  }

  /**
   * `wamp.subscription.get_events`: the kept events of a subscription under the kwargs' filters
   * (combined with AND), oldest first unless `reverse`, at most `limit`. `*_publication` bounds
   * are positions in the history ("find an event with the specified publication|id and then
   * return events including or excluding the matched one"); one that is not in the history
   * matches nothing. The authid/authrole lists of each publication apply to `requester`
   * ("These same rules must also apply to event history requests"); without a requester,
   * events that had such lists are left out. A filter of the wrong type is skipped (see
   * {@link eventFiltersProblem}). Undefined for an unknown subscription; [] when no history is kept.
   */
  events(id: number, kwargs: Dict, requester?: HistoryRequester): HistoricEvent[] | undefined {
    const subscription = this.byId.get(id);
    if (!subscription) return undefined;
    if (!subscription.history) return [];
    const { filters } = parseFilters(kwargs);
    let entries = subscription.history.entries();
    let from = 0;
    let to = entries.length;
    const position = (publication: number): number => entries.findIndex((entry) => entry.publication === publication);
    for (const [bound, offset, lower] of [
      [filters.fromPublication, 0, true],
      [filters.afterPublication, 1, true],
      [filters.beforePublication, 0, false],
      [filters.untilPublication, 1, false],
    ] as const) {
      if (bound === undefined) continue;
      const at = position(bound);
      if (at === -1) return [];
      if (lower) from = Math.max(from, at + offset);
      else to = Math.min(to, at + offset);
    }
    entries = entries.slice(from, Math.max(from, to)).filter((entry) => {
      if (filters.fromTime !== undefined && !(entry.time >= filters.fromTime)) return false;
      if (filters.afterTime !== undefined && !(entry.time > filters.afterTime)) return false;
      if (filters.beforeTime !== undefined && !(entry.time < filters.beforeTime)) return false;
      if (filters.untilTime !== undefined && !(entry.time <= filters.untilTime)) return false;
      if (filters.topic !== undefined && entry.topic !== filters.topic) return false;
      if (entry.audience !== undefined && (requester === undefined || !entry.audience.admitsPrincipal(requester.authid, requester.authrole))) return false;
      return true;
    });
    if (filters.reverse) entries.reverse();
    if (filters.limit !== undefined) entries = entries.slice(0, filters.limit);
    return entries.map((entry) => {
      const event: { -readonly [K in keyof HistoricEvent]: HistoricEvent[K] } = {
        timestamp: new Date(entry.time).toISOString(),
        subscription: id,
        publication: entry.publication,
        details: entry.details,
      };
      if (entry.args !== undefined) event.args = entry.args;
      if (entry.kwargs !== undefined) event.kwargs = entry.kwargs;
      return event;
    });
  }

  /** Every subscription with its subscriber count, for dashboards. */
  stats(): Array<SubscriptionInfo & { subscribers: number }> {
    return [...this.byId.values()].map((subscription) => ({ ...subscription.info(), subscribers: subscription.subscribers.length }));
  }
}

function idsOf(index: Map<string, Subscription>): number[] {
  const ids: number[] = [];
  for (const subscription of index.values()) ids.push(subscription.id);
  return ids;
}

function removeFrom(list: Subscription[], subscription: Subscription): void {
  const at = list.indexOf(subscription);
  if (at !== -1) list.splice(at, 1);
}
