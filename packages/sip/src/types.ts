/**
 * Options, hooks and the shapes the registrar, the proxy and the application API share.
 * Everything a user passes is documented here, where an editor shows it.
 */
import type { DigestAlgorithm } from './digest.js';
import type { SipRequest } from './message.js';

/** What a user's secret is, for digest: the password, or HA1 per algorithm (`H(user:realm:password)`). */
export type SipCredentials = { readonly password: string } | { readonly ha1: Readonly<Partial<Record<DigestAlgorithm, string>>> };

/** What `authenticate` is asked: the username and realm of a digest answer. */
export interface AuthenticateRequest {
  readonly username: string;
  readonly realm: string;
  /** The REGISTER (or the request challenged with 407) that carries the credentials. */
  readonly request: SipRequest;
  readonly remoteAddress: string;
}

/** Returns the user's secret, or undefined for an unknown user, who is challenged again like a wrong password (RFC 3261 §22.4), so that nobody learns which users exist. */
export type AuthenticateHook = (request: AuthenticateRequest) => SipCredentials | undefined | Promise<SipCredentials | undefined>;

/** A SIP MESSAGE to a service URI, as `onMessage` sees it. */
export interface SipApplicationMessage {
  /** The sender's address of record (`sip:alice@example.com`). */
  readonly from: string;
  /** The Request-URI's user: which service was addressed. */
  readonly to: string;
  readonly contentType: string | undefined;
  /** The body as text (UTF-8), or bytes when it was not UTF-8. */
  readonly body: string | Uint8Array;
  readonly request: SipRequest;
}

/** How `onMessage` answers; nothing means 200 OK. */
export interface SipReply {
  readonly status: number;
  readonly reason?: string;
}

/** A binding as the registrar holds it (JSON-serialisable). */
export interface SipBindingInfo {
  readonly aor: string;
  readonly contact: string;
  /** `+sip.instance` (RFC 5626), when the UA sent one. */
  readonly instance?: string;
  /** `reg-id` (RFC 5626 Outbound), when the UA sent one. */
  readonly regId?: number;
  /** Public GRUU (RFC 5627), when the UA asked for GRUU. */
  readonly gruu?: string;
  /** Epoch ms at which the binding lapses. */
  readonly expires: number;
  readonly connectionId: string;
  readonly userAgent?: string;
}

/** A change of the registrations, for presence. */
export interface SipRegistrationChange {
  readonly type: 'added' | 'refreshed' | 'removed';
  readonly binding: SipBindingInfo;
  /** Why a binding went: the UA removed it, it expired, or its WebSocket closed. */
  readonly reason?: 'unregistered' | 'expired' | 'closed' | 'replaced';
}

/** A call (INVITE transaction) the proxy saw, for dashboards. */
export interface SipCallInfo {
  readonly callId: string;
  readonly from: string;
  readonly to: string;
  /** Epoch ms of the INVITE. */
  readonly started: number;
  /** Final status sent to the caller, undefined while ringing. */
  readonly status?: number;
  /** Epoch ms of the BYE (either side), once seen. */
  readonly ended?: number;
}

export interface SipStats {
  readonly domain: string;
  readonly registrations: SipBindingInfo[];
  /** Recent calls, newest first (at most 50). */
  readonly calls: SipCallInfo[];
  readonly transactions: { readonly server: number; readonly client: number };
}

/** What `sendMessage` sends. */
export interface SendMessageRequest {
  /** A user at the domain (`bob`) or an address (`sip:bob@example.com`). */
  readonly to: string;
  /** @default `sip:{first service, or 'server'}@{domain}` */
  readonly from?: string;
  /** @default 'text/plain;charset=utf-8' */
  readonly contentType?: string;
  readonly body: string | Uint8Array;
}

/** Options of {@link sip}. */
export interface SipOptions {
  /** The domain this registrar and proxy are responsible for (AORs `sip:user@domain`). @default 'localhost' */
  readonly domain?: string;
  /** The host name this server puts in `Via` and `Record-Route`. @default the domain */
  readonly host?: string;
  /**
   * The user table for digest authentication, username to password. Ignored when
   * `authenticate` is a function.
   */
  readonly users?: Readonly<Record<string, string>>;
  /**
   * Looks up a user's secret for digest authentication (RFC 3261 §22). `false` turns
   * authentication off: anyone may register any user at the domain, and every request is
   * relayed (an open server, for tests and demos only).
   * @default the `users` table
   */
  readonly authenticate?: AuthenticateHook | false;
  /**
   * Digest algorithms offered, most preferred first, one challenge line each (RFC 8760 §2.3).
   * Keep `MD5` last: JsSIP and SIP.js read only the last challenge and know only MD5.
   * @default ['SHA-256', 'MD5']
   */
  readonly algorithms?: readonly DigestAlgorithm[];
  /** How long a nonce stays fresh before `stale=true`, in ms. @default 300000 */
  readonly nonceLifetime?: number;
  /** Shortest registration accepted, in seconds (423 below it). @default 60 */
  readonly minExpires?: number;
  /** Longest registration granted, in seconds. @default 3600 */
  readonly maxExpires?: number;
  /** Expiry granted when the REGISTER names none, in seconds. @default 3600 */
  readonly defaultExpires?: number;
  /** Bindings one AOR may hold at once (the oldest is dropped). @default 10 */
  readonly maxBindings?: number;
  /** Largest SIP message accepted, in bytes of UTF-8 (513 above it). @default 65535 */
  readonly maxMessageSize?: number;
  /** Unparsable messages in a row after which the connection is closed with 1002. @default 5 */
  readonly maxBadMessages?: number;
  /** Timers B, F and H over a reliable transport (64*T1), in ms. @default 32000 */
  readonly transactionTimeout?: number;
  /** Timer C: how long an INVITE may ring before the proxy cancels it, in ms (> 3 min). @default 181000 */
  readonly inviteTimeout?: number;
  /** `Flow-Timer` (RFC 5626 §4.4.1) sent to Outbound registrations, in seconds. @default 120 */
  readonly flowTimer?: number;
  /** User names at the domain whose MESSAGEs `onMessage` handles. @default [] */
  readonly services?: readonly string[];
  /** Handles a MESSAGE to a service; its answer (or 200) goes back to the sender. */
  readonly onMessage?: (message: SipApplicationMessage) => SipReply | void | Promise<SipReply | void>;
  /**
   * Joins the bus: a MESSAGE to `sip:{name}@{domain}` with `name` in `bridge` publishes on
   * `{busPrefix}/{name}`, and a bus message on `{busPrefix}/{user}` reaches that registered user
   * as a MESSAGE. @default false
   */
  readonly bus?: boolean;
  /** Bridge names (see `bus`). @default [] */
  readonly bridge?: readonly string[];
  /** Bus topic prefix. @default 'sip' */
  readonly busPrefix?: string;
  /** Called on every change of the registrations. */
  readonly onRegistration?: (change: SipRegistrationChange) => void;
  /** `Server`/`User-Agent` header of what this server sends. @default 'protoplex-sip' */
  readonly agent?: string;
}

/** What the session's one exit path needs besides the text: the request to answer, and how. */
export interface SipFault {
  readonly request?: SipRequest;
  readonly status?: number;
}
