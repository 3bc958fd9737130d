/**
 * Authentication (Advanced Profile "Authentication Methods"): the router picks one of the
 * methods the client offers in HELLO.Details.authmethods, runs it (CHALLENGE, AUTHENTICATE) and
 * ends in WELCOME or ABORT. Anonymous, ticket, WAMP-CRA and WAMP-Cryptosign; who may join is the
 * `authenticate` hook's decision, the router checks the cryptography. Each step is a value
 * (`AuthStep`) that session.ts acts on; nothing here sends or throws.
 */
import { createHmac, createPublicKey, pbkdf2, randomBytes, timingSafeEqual, verify, type KeyObject } from 'node:crypto';
import type { AuthenticateMessage, Dict, HelloMessage } from './codec.js';
import { WampError } from './constants.js';
import type { RouterContext } from './realm.js';
import type { AuthMethod, AuthenticateAnswer, AuthenticateRequest } from './types.js';

export type AuthStep =
  | { readonly kind: 'welcome'; readonly authid: string; readonly authrole: string; readonly authmethod: string; readonly authprovider: string; readonly authextra?: Dict }
  | { readonly kind: 'challenge'; readonly method: string; readonly extra: Dict; verify(message: AuthenticateMessage): AuthStep | Promise<AuthStep> }
  | { readonly kind: 'abort'; readonly reason: string; readonly message: string };

type Welcome = Extract<AuthStep, { kind: 'welcome' }>;
type Abort = Extract<AuthStep, { kind: 'abort' }>;

/** WELCOME.Details.authprovider when the hook names none (the spec's examples use `static`). */
const DEFAULT_PROVIDER = 'static';
/** PBKDF2 defaults when the salt parameters are not given (what autobahn and wampy use). */
const DEFAULT_ITERATIONS = 1000;
const DEFAULT_KEYLEN = 32;

/** Methods this router implements, for telling an unknown name from an unaccepted one. */
const IMPLEMENTED: ReadonlySet<string> = new Set<AuthMethod>(['anonymous', 'ticket', 'wampcra', 'cryptosign']);

/** "The client public key (32 bytes) as a Hex encoded string" (Cryptosign "Client Authentication"). */
const PUBKEY_HEX = /^[0-9a-fA-F]{64}$/;
/** "the concatenation of the signature and the message signed (96 bytes)", hex-encoded. */
const SIGNATURE_HEX = /^[0-9a-fA-F]{192}$/;
/** DER SubjectPublicKeyInfo header of an Ed25519 key (RFC 8410): the raw 32 bytes follow it. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

function abort(reason: string, message: string): Abort {
  return { kind: 'abort', reason, message };
}

function isDict(value: unknown): value is Dict {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isThenable<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/** Runs `then` on a value that may be a promise, without making a synchronous path asynchronous. */
function after<T, R>(value: T | Promise<T>, then: (value: T) => R | Promise<R>, failed: (error: unknown) => R): R | Promise<R> {
  if (!isThenable(value)) return then(value);
  return value.then(then, failed);
}

/**
 * Starts authentication for a HELLO. `sessionId` is the id WELCOME will carry (WAMP-CRA puts it
 * in the challenge). Without an `authenticate` hook only anonymous is possible.
 */
export function beginAuthentication(router: RouterContext, realm: string, hello: HelloMessage, sessionId: number): AuthStep | Promise<AuthStep> {
  const details = hello.details;
  // HELLO.Details.authmethods|list[string], authid|string, authextra|dict ("WAMP-level
  // Authentication"). autobahn sends no authmethods unless configured, wampy none without an
  // authid: a missing list means anonymous.
  const offered = details.authmethods === undefined || details.authmethods === null ? ['anonymous'] : details.authmethods;
  if (!Array.isArray(offered) || !offered.every((method) => typeof method === 'string')) return abort(WampError.ProtocolViolation, 'HELLO.Details.authmethods must be a list of strings');
  const authid = details.authid ?? undefined;
  if (authid !== undefined && typeof authid !== 'string') return abort(WampError.ProtocolViolation, 'HELLO.Details.authid must be a string');
  const authextra = details.authextra ?? {};
  if (!isDict(authextra)) return abort(WampError.ProtocolViolation, 'HELLO.Details.authextra must be a dict');

  const hook = router.authenticate;
  const accepted = new Set<string>(router.authmethods);
  // A method the router cannot check is one it does not accept: without the hook nothing but
  // anonymous can be decided.
  const usable = (method: string) => IMPLEMENTED.has(method) && accepted.has(method) && (hook !== undefined || method === 'anonymous');

  // "If the server is unwilling or unable to perform [a method], it MAY either skip forward
  // trying other authentication methods (if the client announced any) or send an ABORT"
  // (Ticket, WAMP-CRA and Cryptosign sections). The client's order is its preference, so the
  // first of its methods that the router accepts and can run with what HELLO carries wins.
  let unable: string | undefined;
  for (const method of offered as string[]) {
    if (!usable(method)) continue;
    switch (method) {
      case 'anonymous':
        return anonymous(router, realm, authid, details, sessionId);
      case 'ticket':
        // "For Ticket-based authentication, this [authid] MUST be provided."
        if (authid === undefined) {
          unable ??= 'ticket needs HELLO.Details.authid';
          continue;
        }
        return ticket(router, realm, authid, details);
      case 'wampcra':
        // "For WAMP-CRA, this [authid] MUST be provided."
        if (authid === undefined) {
          unable ??= 'wampcra needs HELLO.Details.authid';
          continue;
        }
        return wampcra(router, realm, authid, details, sessionId);
      case 'cryptosign': {
        const problem = cryptosignProblem(authextra);
        if (problem) {
          unable ??= problem;
          continue;
        }
        const pubkey = (authextra.pubkey as string).toLowerCase();
        const key = ed25519Key(pubkey);
        if (!key) {
          unable ??= 'HELLO.Details.authextra.pubkey is not an Ed25519 public key';
          continue;
        }
        return cryptosign(router, realm, authid, pubkey, key, details);
      }
    }
  }
  const names = (offered as string[]).slice(0, 8).join(', ') || 'none';
  return abort(WampError.NoMatchingAuthMethod, unable ?? `no acceptable authentication method among: ${names}`);
}

// ------------------------------------------------------------------------------------ hook calls

/**
 * Asks the hook. false/undefined is a denial (authentication_denied); a throw or rejection is
 * the hook failing (authentication_failed, logged, its text not shown to the client).
 */
function ask(router: RouterContext, request: AuthenticateRequest, then: (answer: AuthenticateAnswer) => AuthStep | Promise<AuthStep>): AuthStep | Promise<AuthStep> {
  const failed = (error: unknown): AuthStep => {
    router.log.warn({ err: error, method: request.method, realm: request.realm }, 'wamp authenticate hook failed');
    return abort(WampError.AuthenticationFailed, 'authentication failed');
  };
  let answer: ReturnType<NonNullable<RouterContext['authenticate']>>;
  try {
    answer = router.authenticate!(request);
  } catch (error) {
    return failed(error);
  }
  return after(
    answer,
    (value) => {
      if (value === false || value === undefined || value === null) return abort(WampError.AuthenticationDenied, `${request.method} authentication denied`);
      if (!isDict(value) || typeof value.authrole !== 'string' || value.authrole === '') return failed(new TypeError('authenticate hook answered without an authrole'));
      if (value.authid !== undefined && typeof value.authid !== 'string') return failed(new TypeError('authenticate hook answered a non-string authid'));
      if (value.authextra !== undefined && !isDict(value.authextra)) return failed(new TypeError('authenticate hook answered a non-dict authextra'));
      try {
        return then(value);
      } catch (error) {
        return failed(error);
      }
    },
    failed,
  );
}

/** "WELCOME.Details ... MUST carry the authentication information actually in effect". */
function welcome(method: AuthMethod, authid: string, answer: AuthenticateAnswer): Welcome {
  return {
    kind: 'welcome',
    authid,
    authrole: answer.authrole,
    authmethod: method,
    authprovider: typeof answer.authprovider === 'string' && answer.authprovider !== '' ? answer.authprovider : DEFAULT_PROVIDER,
    ...(answer.authextra ? { authextra: answer.authextra } : {}),
  };
}

// -------------------------------------------------------------------------------------- anonymous

/**
 * Anonymous: the spec defines no flow, its examples use authmethod and authrole `anonymous`.
 * Without a hook the authid is made from the session id, whatever the client claims: an
 * unauthenticated client must not pass for another principal in the meta API, publisher
 * identification or `eligible_authid` (Crossbar makes one up too). A hook may accept the claim.
 */
function anonymous(router: RouterContext, realm: string, authid: string | undefined, details: Dict, sessionId: number): AuthStep | Promise<AuthStep> {
  const fallback = String(sessionId);
  if (!router.authenticate) return { kind: 'welcome', authid: fallback, authrole: 'anonymous', authmethod: 'anonymous', authprovider: DEFAULT_PROVIDER };
  return ask(router, { method: 'anonymous', realm, authid, details }, (answer) => welcome('anonymous', answer.authid ?? fallback, answer));
}

// ----------------------------------------------------------------------------------------- ticket

/**
 * Ticket ("Ticket-based Authentication"): `CHALLENGE [4, "ticket", {}]`, the client answers with
 * the ticket as AUTHENTICATE.Signature; "WAMP does not care or interpret the ticket", so the
 * hook decides.
 */
function ticket(router: RouterContext, realm: string, authid: string, details: Dict): AuthStep {
  return {
    kind: 'challenge',
    method: 'ticket',
    extra: {},
    verify: (message) => ask(router, { method: 'ticket', realm, authid, ticket: message.signature, details }, (answer) => welcome('ticket', answer.authid ?? authid, answer)),
  };
}

// ---------------------------------------------------------------------------------------- wampcra

/**
 * WAMP-CRA ("Challenge Response Authentication"): the hook names the principal's secret and
 * role first, because the challenge "MUST contain" the authid and authrole the client will get.
 */
function wampcra(router: RouterContext, realm: string, authid: string, details: Dict, sessionId: number): AuthStep | Promise<AuthStep> {
  return ask(router, { method: 'wampcra', realm, authid, details }, (answer) => {
    if (typeof answer.secret !== 'string') throw new TypeError('authenticate hook answered wampcra without a secret');
    const salted = answer.salt !== undefined;
    if (salted && typeof answer.salt !== 'string') throw new TypeError('authenticate hook answered a non-string salt');
    const iterations = answer.iterations ?? DEFAULT_ITERATIONS;
    const keylen = answer.keylen ?? DEFAULT_KEYLEN;
    if (!Number.isSafeInteger(iterations) || iterations < 1) throw new TypeError('authenticate hook answered a bad iterations count');
    if (!Number.isSafeInteger(keylen) || keylen < 1) throw new TypeError('authenticate hook answered a bad keylen');
    const effective = welcome('wampcra', answer.authid ?? authid, answer);
    // "The string MUST BE a JSON serialized object which MUST contain: authid, authrole,
    // authmethod, authprovider, nonce, timestamp, session"; the nonce makes it "robust against
    // replay attacks", the session binds it to this session.
    const challenge = JSON.stringify({
      authid: effective.authid,
      authrole: effective.authrole,
      authmethod: 'wampcra',
      authprovider: effective.authprovider,
      nonce: randomBytes(16).toString('base64'),
      timestamp: router.now(),
      session: sessionId,
    });
    const secret = answer.secret;
    const salt = answer.salt;
    // "Password Salting": the extra carries salt, keylen and iterations so the client can derive the key.
    const extra: Dict = salted ? { challenge, salt, keylen, iterations } : { challenge };
    return {
      kind: 'challenge',
      method: 'wampcra',
      extra,
      verify: (message) =>
        after(
          salted ? deriveCraKey(secret, salt!, iterations, keylen) : secret,
          (key) => (craSignatureMatches(key, challenge, message.signature) ? effective : abort(WampError.AuthenticationDenied, 'wampcra signature does not match')),
          (error) => {
            router.log.warn({ err: error }, 'wamp wampcra key derivation failed');
            return abort(WampError.AuthenticationFailed, 'authentication failed');
          },
        ),
    } satisfies AuthStep;
  });
}

/**
 * The salted key: the spec names PBKDF2 but not its hash nor the key's encoding; autobahn,
 * wampy and Crossbar all use PBKDF2-HMAC-SHA256 over the UTF-8 password and salt, and then use
 * the base64 text of the derived bytes as the HMAC key. Asynchronous: a high iteration count
 * must not stall the event loop.
 */
export function deriveCraKey(secret: string, salt: string, iterations = DEFAULT_ITERATIONS, keylen = DEFAULT_KEYLEN): Promise<string> {
  return new Promise((resolve, reject) => {
    pbkdf2(secret, salt, iterations, keylen, 'sha256', (error, derived) => (error ? reject(error) : resolve(derived.toString('base64'))));
  });
}

/** "signature := HMAC[SHA256]_{secret} (challenge)", sent base64-encoded; compared in constant time. */
export function craSignatureMatches(key: string, challenge: string, signature: string): boolean {
  const expected = Buffer.from(createHmac('sha256', key).update(challenge).digest('base64'));
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

// ------------------------------------------------------------------------------------- cryptosign

/** Why HELLO does not allow a Cryptosign authentication, or undefined. */
function cryptosignProblem(authextra: Dict): string | undefined {
  // "pubkey | string | yes | The client public key (32 bytes) as a Hex encoded string".
  if (typeof authextra.pubkey !== 'string' || !PUBKEY_HEX.test(authextra.pubkey)) return 'cryptosign needs HELLO.Details.authextra.pubkey, 64 hex digits';
  // TLS channel binding is optional ("MAY implement"); this router does not, and a client that
  // asked for it would sign challenge XOR channel id, so it cannot authenticate here.
  if (authextra.channel_binding !== undefined && authextra.channel_binding !== null) return 'cryptosign channel binding is not supported';
  return undefined;
}

/** A KeyObject for a raw 32-byte Ed25519 public key (hex), or undefined when it is not one. */
export function ed25519Key(pubkeyHex: string): KeyObject | undefined {
  if (!PUBKEY_HEX.test(pubkeyHex)) return undefined;
  try {
    return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, Buffer.from(pubkeyHex, 'hex')]), format: 'der', type: 'spki' });
  } catch {
    return undefined;
  }
}

/**
 * "Computing the Signature": the client returns hex(Ed25519 signature (64 bytes) ‖ the message
 * signed (32 bytes)). Without channel binding the message is the challenge itself; the router
 * checks both the signature and that the message is the challenge it sent.
 */
export function cryptosignSignatureMatches(key: KeyObject, challengeHex: string, signatureHex: string): boolean {
  if (!SIGNATURE_HEX.test(signatureHex)) return false;
  const bytes = Buffer.from(signatureHex, 'hex');
  const challenge = Buffer.from(challengeHex, 'hex');
  const signed = bytes.subarray(64);
  if (signed.length !== challenge.length || !timingSafeEqual(signed, challenge)) return false;
  try {
    return verify(null, challenge, key, bytes.subarray(0, 64));
  } catch {
    return false;
  }
}

/**
 * WAMP-Cryptosign ("Client Authentication"): the hook decides whether this public key may join
 * (and as whom) before the router challenges it: "If the router is willing ... and the router
 * recognizes the provided pubkey, it'll send a CHALLENGE". Router authentication (a client
 * `authextra.challenge` for the router to sign) is optional and not offered; such clients get
 * no `signature` in CHALLENGE.Extra.
 */
function cryptosign(router: RouterContext, realm: string, authid: string | undefined, pubkey: string, key: KeyObject, details: Dict): AuthStep | Promise<AuthStep> {
  return ask(router, { method: 'cryptosign', realm, authid, pubkey, details }, (answer) => {
    // "If no authid is provided, the router SHOULD automatically chose and assign an authid
    // (e.g. the Hex encode public key)."
    const effective = welcome('cryptosign', answer.authid ?? authid ?? pubkey, answer);
    // "The challenge sent by the router is a 32 bytes random value, encoded as a Hex string".
    const challenge = randomBytes(32).toString('hex');
    return {
      kind: 'challenge',
      method: 'cryptosign',
      extra: { challenge, channel_binding: null },
      verify: (message) => (cryptosignSignatureMatches(key, challenge, message.signature) ? effective : abort(WampError.AuthenticationDenied, 'cryptosign signature does not verify')),
    } satisfies AuthStep;
  });
}
