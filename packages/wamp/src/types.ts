/**
 * Options, hooks and the shapes the router's parts share (session, realm, broker, dealer, meta,
 * auth). Everything a user passes is documented here, where an editor shows it.
 */
import type { Dict } from './codec.js';
import type { InvokePolicy, MatchPolicy } from './constants.js';
import type { UriCheck } from './uri.js';

/** Authentication methods the router implements (Advanced Profile "Authentication"). */
export type AuthMethod = 'anonymous' | 'ticket' | 'wampcra' | 'cryptosign';

/** What `authenticate` is asked, one shape per method. `details` is the HELLO's Details. */
export type AuthenticateRequest =
  | { readonly method: 'anonymous'; readonly realm: string; readonly authid: string | undefined; readonly details: Dict }
  /** Ticket: the router compares nothing itself; the hook decides from `ticket`. */
  | { readonly method: 'ticket'; readonly realm: string; readonly authid: string; readonly ticket: string; readonly details: Dict }
  /** WAMP-CRA: the hook returns the principal's `secret` (and its salt parameters); the router checks the signature. */
  | { readonly method: 'wampcra'; readonly realm: string; readonly authid: string; readonly details: Dict }
  /** WAMP-Cryptosign: the router checks the Ed25519 signature of `pubkey` (hex); the hook decides whether that key may join. */
  | { readonly method: 'cryptosign'; readonly realm: string; readonly authid: string | undefined; readonly pubkey: string; readonly details: Dict };

/** What `authenticate` answers: the principal as it joins, or false/undefined to deny. */
export interface AuthenticateAnswer {
  /** The authid in effect (WELCOME.Details.authid). @default the client's authid, or one the router makes */
  readonly authid?: string;
  /** The role the session gets in the realm (WELCOME.Details.authrole). */
  readonly authrole: string;
  /** WELCOME.Details.authprovider. @default 'static' */
  readonly authprovider?: string;
  /** Extra WELCOME.Details.authextra. */
  readonly authextra?: Dict;
  /** WAMP-CRA only: the shared secret (or the password, with `salt`). */
  readonly secret?: string;
  /** WAMP-CRA only: salted passwords (PBKDF2-HMAC-SHA256 with these parameters). */
  readonly salt?: string;
  /** @default 1000 */
  readonly iterations?: number;
  /** @default 32 */
  readonly keylen?: number;
}

export type AuthenticateHook = (request: AuthenticateRequest) => AuthenticateAnswer | false | undefined | Promise<AuthenticateAnswer | false | undefined>;

/** The four actions a session can be authorized for. */
export type WampAction = 'publish' | 'subscribe' | 'call' | 'register';

/** What `authorize` is asked. */
export interface AuthorizeRequest {
  readonly realm: string;
  readonly session: number;
  readonly authid: string;
  readonly authrole: string;
  readonly action: WampAction;
  readonly uri: string;
  /** The message's Options (match policy, invoke policy, ...). */
  readonly options: Dict;
}

export type AuthorizeHook = (request: AuthorizeRequest) => boolean | Promise<boolean>;

/** One permission of a role: URIs it covers and what it allows there (Crossbar's static authorizer shape). */
export interface WampPermission {
  readonly uri: string;
  /** How `uri` matches. @default 'exact' */
  readonly match?: MatchPolicy;
  readonly allow: { readonly call?: boolean; readonly register?: boolean; readonly publish?: boolean; readonly subscribe?: boolean };
}

/** A realm with its roles. Without `roles` every joined session may do everything (then `authorize`, if any, decides). */
export interface WampRealmConfig {
  readonly name: string;
  /** Roles and their permissions; a session whose authrole is not listed is refused (`wamp.error.no_such_role`). */
  readonly roles?: Readonly<Record<string, readonly WampPermission[]>>;
}

/** Options of {@link wamp}. */
export interface WampOptions {
  /**
   * Realms served: names or configurations, or `'any'` to accept every realm a client names
   * (each is created on first join). A HELLO for another realm gets ABORT `wamp.error.no_such_realm`.
   * @default ['realm1']
   */
  readonly realms?: readonly (string | WampRealmConfig)[] | 'any';
  /** Also negotiate the ids clients actually offer, `wamp.2.json`, `wamp.2.msgpack`, `wamp.2.cbor` (not IANA-registered). @default true */
  readonly aliases?: boolean;
  /** URI rule: `'loose'` (the MUST) or `'strict'` (also the SHOULD: lower-case letters, digits and `_`). @default 'loose' */
  readonly uriCheck?: UriCheck;
  /** Authentication methods accepted, in the router's order of preference. @default ['anonymous'] without `authenticate`, else all four */
  readonly authmethods?: readonly AuthMethod[];
  /** Hook: decides who joins, per method (see {@link AuthenticateRequest}). Without it every session joins anonymously as `anonymous`. @default undefined */
  readonly authenticate?: AuthenticateHook;
  /** Hook: runs for every publish, subscribe, call and register after the realm's roles allowed it. @default undefined (allow) */
  readonly authorize?: AuthorizeHook;
  /** The realm whose topics meet the cross-protocol bus, or false for none. @default the first configured realm ('realm1') */
  readonly busRealm?: string | false;
  /** Events kept per subscription for `wamp.subscription.get_events` (event history); 0 keeps none. @default 0 */
  readonly eventHistory?: number;
  /** Accept payload passthrough mode (`ppt_scheme` ...) and forward it untouched. @default false */
  readonly payloadPassthrough?: boolean;
  /** Milliseconds a connection may stay without HELLO, or without AUTHENTICATE after a CHALLENGE. @default 10000 */
  readonly helloTimeout?: number;
  /** Milliseconds the router waits for the GOODBYE reply to its own GOODBYE before it closes. @default 5000 */
  readonly goodbyeTimeout?: number;
  /** Router-side ceiling on CALL `timeout` in ms (0: none, calls wait for their callee). @default 0 */
  readonly maxCallTimeout?: number;
  /** EVENTs dropped, not queued, for a subscriber whose send buffer is full (counted in `wamp_events_dropped_total`). Always on; this is the bound. @default 1000 */
  readonly maxPendingEvents?: number;
  /** The `agent` of WELCOME.Details. @default 'protoplex-wamp' */
  readonly agent?: string;
}

/** Match and invoke policies as registrations hold them. */
export interface RegistrationInfo {
  readonly id: number;
  readonly uri: string;
  readonly match: MatchPolicy;
  readonly invoke: InvokePolicy;
  readonly created: string;
}

export interface SubscriptionInfo {
  readonly id: number;
  readonly uri: string;
  readonly match: MatchPolicy;
  readonly created: string;
}

/** JSON-serialisable router state for dashboards. */
export interface WampStats {
  readonly realms: Array<{
    readonly name: string;
    readonly sessions: Array<{ session: number; authid: string; authrole: string; authmethod: string; serializer: string }>;
    readonly subscriptions: Array<SubscriptionInfo & { subscribers: number }>;
    readonly registrations: Array<RegistrationInfo & { callees: number }>;
  }>;
}
