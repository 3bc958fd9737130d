/**
 * HTTP Digest as SIP uses it (RFC 3261 §22.4, RFC 2617, RFC 7616, RFC 8760): stateless nonces,
 * challenge lines, reading and checking the client's credentials, and a nonce-count replay
 * check. Only node:crypto; nothing here parses header text (the codec hands over parameters
 * already unquoted) and nothing throws on what a client sent: a refusal is `undefined`/`false`.
 *
 * How the pieces fit, for the registrar: on a request without credentials send one challenge
 * line per algorithm (`formatChallenge`) with a nonce from `issue`. On a request with them:
 * `credentialsOf` → the realm and algorithm must be ones this server challenged with (the uri
 * need not equal the Request-URI: RFC 3261 §22.4 item 6 says the server MAY check it, "but it
 * is not necessarily a failure if the two fields are not equivalent") → `check` the nonce →
 * `verifyDigest` → `accept` the nc. A `stale` nonce whose digest still verifies is answered
 * with a fresh challenge carrying `stale: true`; a wrong digest never is, because stale=true
 * tells the client its password was right (RFC 2617 §3.2.1: only "if ... the nonce is invalid
 * but with a valid digest for that nonce"; RFC 7616 §3.3: without it "the username and/or
 * password are invalid").
 */
import { createHash, createHmac, createSecretKey, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';

/**
 * The algorithms of the IANA "HTTP Digest Hash Algorithms" registry (RFC 7616 §6.1) that
 * RFC 8760 brings to SIP. SHA-512-256 is SHA-512/256 of FIPS 180-4 (its own initial
 * values, not a truncated SHA-512): node:crypto's `sha512-256` is that one (it gives the FIPS
 * 180-4 "abc" value, checked in the tests).
 */
export type DigestAlgorithm = 'MD5' | 'MD5-sess' | 'SHA-256' | 'SHA-256-sess' | 'SHA-512-256' | 'SHA-512-256-sess';
/** The quality-of-protection values of RFC 7616 §3.3. */
export type DigestQop = 'auth' | 'auth-int';
/** What `NonceIssuer.check` says of a nonce a client returned. */
export type NonceState = 'valid' | 'stale' | 'invalid';

export const DIGEST_ALGORITHMS: readonly DigestAlgorithm[] = ['MD5', 'MD5-sess', 'SHA-256', 'SHA-256-sess', 'SHA-512-256', 'SHA-512-256-sess'];

interface AlgorithmInfo {
  readonly hash: string;
  readonly hexLength: number;
  readonly session: boolean;
}

const ALGORITHMS: ReadonlyMap<string, AlgorithmInfo> = new Map([
  ['MD5', { hash: 'md5', hexLength: 32, session: false }],
  ['MD5-sess', { hash: 'md5', hexLength: 32, session: true }],
  ['SHA-256', { hash: 'sha256', hexLength: 64, session: false }],
  ['SHA-256-sess', { hash: 'sha256', hexLength: 64, session: true }],
  ['SHA-512-256', { hash: 'sha512-256', hexLength: 64, session: false }],
  ['SHA-512-256-sess', { hash: 'sha512-256', hexLength: 64, session: true }],
]);

/** Upper-cased name -> registry spelling: tokens are compared case-insensitively (RFC 7616 §3.3 names them as tokens; JsSIP's and sip.js's grammars upper-case what they read). */
const ALGORITHM_BY_UPPER: ReadonlyMap<string, DigestAlgorithm> = new Map(DIGEST_ALGORITHMS.map((name) => [name.toUpperCase(), name]));

/** The registry spelling of an `algorithm` parameter, or undefined for one this module does not implement. */
export function digestAlgorithm(name: string): DigestAlgorithm | undefined {
  return ALGORITHM_BY_UPPER.get(name.toUpperCase());
}

function info(algorithm: DigestAlgorithm): AlgorithmInfo {
  return ALGORITHMS.get(algorithm)!;
}

/** H(data) in lower-case hex (LHEX, RFC 2617 §3.2.2). Strings are hashed as UTF-8, the charset of SIP text (RFC 3261 §7) and of RFC 7616 §4. */
function hex(hash: string, data: string | Uint8Array): string {
  return createHash(hash).update(data).digest('hex');
}

const HEX = /^[0-9a-fA-F]+$/;
const NC = /^[0-9a-fA-F]{8}$/;

// ------------------------------------------------------------------------------------ nonces

export interface NonceIssuerOptions {
  /** HMAC key; 32 random bytes by default. Share one between processes that must accept each other's nonces. */
  readonly secret?: Uint8Array;
  /** How long a nonce is valid, in ms; older ones are `stale`. */
  readonly lifetime: number;
}

export interface NonceIssuer {
  /** A fresh nonce for a challenge issued at `now` (ms, the adapter's clock). */
  issue(now: number): string;
  check(nonce: string, now: number): NonceState;
}

/** 6 bytes of time (ms, good until year 10889) + 16 random bytes + HMAC-SHA-256 over them: 54 bytes, a multiple of 3, so the base64url text has no padding and exactly one spelling. */
const TIME_BYTES = 6;
const RANDOM_BYTES = 16;
const MAC_BYTES = 32;
const SIGNED_BYTES = TIME_BYTES + RANDOM_BYTES;
const NONCE_BYTES = SIGNED_BYTES + MAC_BYTES;
const NONCE_CHARS = (NONCE_BYTES / 3) * 4;
const NONCE_TEXT = new RegExp(`^[A-Za-z0-9_-]{${NONCE_CHARS}}$`);
const MAX_TIME = 2 ** (8 * TIME_BYTES) - 1;
/** HMAC is no stronger than its key (NIST SP 800-107); a key under 128 bits is a configuration mistake. */
const MIN_SECRET_BYTES = 16;

/**
 * Stateless nonces: RFC 7616 §3.3 suggests "time-stamp H(time-stamp ":" ETag ":" secret-data)",
 * and RFC 3261 §22.4 item 4 notes the ETag part "does not work for SIP"; this keeps the time
 * stamp and the secret with an HMAC and puts random bytes where the ETag was. The server keeps
 * nothing per challenge, any process holding the secret can check them, and a client can
 * neither forge one nor change its age.
 */
export function createNonceIssuer(options: NonceIssuerOptions): NonceIssuer {
  const lifetime = options.lifetime;
  if (typeof lifetime !== 'number' || !(lifetime > 0) || !Number.isFinite(lifetime)) throw new RangeError('nonce lifetime must be a positive number of milliseconds');
  const secret = options.secret ?? randomBytes(32);
  if (secret.byteLength < MIN_SECRET_BYTES) throw new RangeError(`nonce secret must be at least ${MIN_SECRET_BYTES} bytes`);
  // A KeyObject holds its own copy: later changes to the caller's array do not move the key.
  const key: KeyObject = createSecretKey(secret);
  const mac = (signed: Uint8Array) => createHmac('sha256', key).update(signed).digest();

  return {
    issue(now) {
      const nonce = Buffer.allocUnsafe(NONCE_BYTES);
      nonce.writeUIntBE(clampTime(now), 0, TIME_BYTES);
      randomBytes(RANDOM_BYTES).copy(nonce, TIME_BYTES);
      mac(nonce.subarray(0, SIGNED_BYTES)).copy(nonce, SIGNED_BYTES);
      return nonce.toString('base64url');
    },
    check(nonce, now) {
      // Node's base64url decoder skips characters it does not know; the pattern makes the text
      // itself the signed bytes, so two different strings never pass for one nonce (the nc
      // counter is keyed by the text).
      if (typeof nonce !== 'string' || !NONCE_TEXT.test(nonce)) return 'invalid';
      const bytes = Buffer.from(nonce, 'base64url');
      if (bytes.length !== NONCE_BYTES) return 'invalid';
      if (!timingSafeEqual(mac(bytes.subarray(0, SIGNED_BYTES)), bytes.subarray(SIGNED_BYTES))) return 'invalid';
      const age = now - bytes.readUIntBE(0, TIME_BYTES);
      // Ours but expired: with stale=true "the client may wish to simply retry the request with
      // a new encrypted response" without asking the user again (RFC 7616 §3.3). One from the
      // future means the clock went back; a fresh nonce costs one round trip, trusting it might
      // stretch its life, so it is stale too.
      if (!(age >= 0 && age < lifetime)) return 'stale';
      return 'valid';
    },
  };
}

function clampTime(now: number): number {
  if (!Number.isFinite(now) || now <= 0) return 0;
  return Math.min(Math.floor(now), MAX_TIME);
}

// ------------------------------------------------------------------------------- challenges

export interface ChallengeOptions {
  readonly realm: string;
  readonly nonce: string;
  readonly algorithm: DigestAlgorithm;
  readonly opaque?: string;
  /** The previous nonce was refused only for its age (RFC 7616 §3.3). */
  readonly stale?: boolean;
  /** `auth` by default. JsSIP picks `auth-int` when offered, sip.js picks `auth`. */
  readonly qop?: DigestQop | readonly DigestQop[];
  /** Offer username hashing (RFC 7616 §3.4.4). */
  readonly userhash?: boolean;
}

/**
 * The value of one WWW-Authenticate or Proxy-Authenticate header field. A server offering
 * several algorithms writes one field per algorithm, "in the order in which it would prefer to
 * see them used" (RFC 8760 §2.3), and the client "SHOULD use the topmost header field that it
 * supports" (§2.4).
 *
 * Browser clients do not do that. JsSIP 3.13 and SIP.js 0.21 keep only the LAST
 * WWW-Authenticate / Proxy-Authenticate field of a response: their parsers
 * (jssip/lib/Parser.js `parseHeader`, sip.js/lib/core/messages/parser.js) call
 * `message.setHeader(name, value)` for every such line, and `IncomingMessage.setHeader`
 * replaces the list with `[{ raw: value }]`; `parseHeader(name)` then reads entry 0. Their
 * `DigestAuthentication.authenticate` then refuses any algorithm other than MD5 ("challenge
 * with Digest algorithm different than MD5, authentication aborted"). So MD5, when offered,
 * must be the last line, which the RFC 8760 order (strongest first) gives anyway; the tests
 * parse such a 401 with both libraries' own parsers.
 */
export function formatChallenge(options: ChallengeOptions): string {
  const qop = options.qop === undefined ? ['auth'] : typeof options.qop === 'string' ? [options.qop] : options.qop;
  if (qop.length === 0) throw new RangeError('a SIP challenge must offer qop (RFC 3261 §22.4 item 8)');
  if (!ALGORITHMS.has(options.algorithm)) throw new RangeError(`unknown digest algorithm ${String(options.algorithm)}`);
  // RFC 7616 §3.3: realm, nonce, opaque and the qop list are quoted strings; algorithm and stale
  // are tokens ("a sender MUST NOT generate the quoted string syntax" for algorithm).
  let value = `Digest realm=${quoted(options.realm)}, nonce=${quoted(options.nonce)}, algorithm=${options.algorithm}, qop=${quoted(qop.join(','))}`;
  if (options.opaque !== undefined) value += `, opaque=${quoted(options.opaque)}`;
  if (options.stale) value += ', stale=true';
  if (options.userhash) value += ', userhash=true';
  return value;
}

/** quoted-string (RFC 3261 §25.1): `"` and `\` escaped. A CR, LF or NUL would end or split the header field, so such a value is a programming error, not something to escape. */
function quoted(text: string): string {
  if (/[\r\n\0]/.test(text)) throw new RangeError('digest challenge parameters must not contain CR, LF or NUL');
  return `"${text.replace(/["\\]/g, '\\$&')}"`;
}

// ------------------------------------------------------------------------------ credentials

/** What an Authorization / Proxy-Authorization Digest field carries (RFC 7616 §3.4). */
export interface DigestCredentials {
  readonly username: string;
  readonly realm: string;
  readonly nonce: string;
  readonly uri: string;
  readonly response: string;
  readonly algorithm: DigestAlgorithm;
  readonly cnonce?: string;
  /** 8 hex digits, as sent (the response hashes this exact text). */
  readonly nc?: string;
  readonly qop?: DigestQop;
  readonly opaque?: string;
  /** `username` is H(username ":" realm) (RFC 7616 §3.4.4). */
  readonly userhash?: boolean;
}

/**
 * Credentials from the parameters of one Digest Authorization field (keys lower-case, values
 * unquoted), or undefined when they cannot be checked at all.
 */
export function credentialsOf(params: Readonly<Record<string, string>>): DigestCredentials | undefined {
  const field = (name: string): string | undefined => {
    const value = Object.hasOwn(params, name) ? params[name] : undefined;
    return typeof value === 'string' ? value : undefined;
  };
  // RFC 7616 §3.4 lists username, realm, nonce, uri and response as the fields the client
  // sends; none of them can be missing from a response that is to be checked. `username*`
  // (§3.4.4, RFC 5987 encoding) is not read: SIP usernames are SIP text already.
  const username = field('username');
  const realm = field('realm');
  const nonce = field('nonce');
  const uri = field('uri');
  const response = field('response');
  if (!username || !realm || !nonce || !uri || !response) return undefined;

  // An absent algorithm means MD5 (RFC 7616 §3.3, RFC 2617 §3.2.1).
  const algorithmText = field('algorithm');
  const algorithm = algorithmText === undefined ? 'MD5' : digestAlgorithm(algorithmText);
  if (algorithm === undefined) return undefined;
  // The response is the hex of one hash of `algorithm` (RFC 7616 §3.4.1): 32 digits for MD5
  // (RFC 3261's request-digest = 32LHEX), 64 for the SHA-2 ones that RFC 8760 adds.
  if (response.length !== info(algorithm).hexLength || !HEX.test(response)) return undefined;

  const qopText = field('qop');
  const cnonce = field('cnonce');
  const nc = field('nc');
  let qop: DigestQop | undefined;
  if (qopText === undefined) {
    // "cnonce ... MUST NOT be specified if the server did not send a qop directive", same for
    // nc (RFC 2617 §3.2.2); and -sess needs the cnonce, so "any algorithms that have a
    // dependency on the cnonce (including "MD5-Sess") require that the qop directive be sent"
    // (RFC 3261 §22.4 item 8).
    if (cnonce !== undefined || nc !== undefined || info(algorithm).session) return undefined;
  } else {
    // The qop the client chose enters the hash as written; only the two values of RFC 7616 §3.3.
    if (qopText !== 'auth' && qopText !== 'auth-int') return undefined;
    qop = qopText;
    // With a qop the client "MUST" send cnonce and nc (RFC 2617 §3.2.2), nc-value = 8LHEX.
    if (!cnonce || nc === undefined || !NC.test(nc)) return undefined;
  }

  // userhash = "true" / "false" (RFC 7616 §3.4, case-insensitive tokens).
  const userhashText = field('userhash');
  let userhash: boolean | undefined;
  if (userhashText !== undefined) {
    const lower = userhashText.toLowerCase();
    if (lower !== 'true' && lower !== 'false') return undefined;
    userhash = lower === 'true';
  }

  const opaque = field('opaque');
  return {
    username,
    realm,
    nonce,
    uri,
    response,
    algorithm,
    ...(qop !== undefined ? { qop, cnonce, nc } : {}),
    ...(opaque !== undefined ? { opaque } : {}),
    ...(userhash !== undefined ? { userhash } : {}),
  };
}

/**
 * H(username ":" realm ":" password) in hex: what a user table may store instead of the
 * password (RFC 7616 §3.4.2 "A1"). The -sess algorithms share it with their base algorithm;
 * the per-nonce session key is derived from it in `verifyDigest`.
 */
export function computeHa1(algorithm: DigestAlgorithm, username: string, realm: string, password: string): string {
  return hex(info(algorithm).hash, `${username}:${realm}:${password}`);
}

/** H(username ":" realm): the `username` a client sends with userhash=true (RFC 7616 §3.4.4), for looking the user up. */
export function userhashOf(algorithm: DigestAlgorithm, username: string, realm: string): string {
  return hex(info(algorithm).hash, `${username}:${realm}`);
}

/**
 * What the server knows of the user: the password, or the stored `computeHa1` value for the
 * credentials' algorithm. With userhash=true the credentials' username is a hash, so the
 * password form needs the real `username`.
 */
export type DigestSecret =
  | { readonly method: string; readonly password: string; readonly username?: string }
  | { readonly method: string; readonly ha1: string };

/**
 * Whether `credentials.response` is the digest the user would have computed for this request
 * (RFC 7616 §3.4.1, RFC 2617 §3.2.2.1 without qop). `method` is the SIP method of the request
 * (RFC 3261 §22.4 applies RFC 2617 "with "HTTP/1.1" replaced by "SIP/2.0""; the digest-uri is
 * a Request-URI, item 3, used as the client wrote it); `body` is its body for qop=auth-int.
 * The realm, nonce and uri are the client's own, so the caller checks them against its
 * challenge first.
 */
export function verifyDigest(credentials: DigestCredentials, secret: DigestSecret, body?: string | Uint8Array): boolean {
  const algorithm = ALGORITHMS.get(credentials.algorithm);
  if (algorithm === undefined) return false;
  const { hash, hexLength } = algorithm;
  const { qop, cnonce, nc } = credentials;
  if (qop !== undefined && (qop !== 'auth' && qop !== 'auth-int' || !cnonce || nc === undefined || !NC.test(nc))) return false;
  // -sess without a cnonce has no session key (RFC 3261 §22.4 item 8).
  if (algorithm.session && qop === undefined) return false;

  let ha1: string;
  if ('ha1' in secret) {
    if (typeof secret.ha1 !== 'string' || secret.ha1.length !== hexLength || !HEX.test(secret.ha1)) return false;
    ha1 = secret.ha1.toLowerCase();
  } else {
    // With userhash the credentials carry H(username:realm), which is not what A1 hashes.
    ha1 = hex(hash, `${secret.username ?? credentials.username}:${credentials.realm}:${secret.password}`);
  }
  // A1 of -sess = H(username:realm:password) ":" nonce ":" cnonce (RFC 7616 §3.4.2, RFC 2617 §3.2.2.2).
  if (algorithm.session) ha1 = hex(hash, `${ha1}:${credentials.nonce}:${cnonce}`);

  // A2 = method ":" uri, and for auth-int ":" H(entity-body) (RFC 7616 §3.4.3); an empty SIP
  // body hashes as the empty string (RFC 3261 §22.4 item 7).
  const a2 = qop === 'auth-int' ? `${secret.method}:${credentials.uri}:${hex(hash, body ?? '')}` : `${secret.method}:${credentials.uri}`;
  const ha2 = hex(hash, a2);
  const expected =
    qop === undefined
      ? // RFC 2069 compatibility, which RFC 3261 §22.4 item 8 keeps for servers to receive.
        hex(hash, `${ha1}:${credentials.nonce}:${ha2}`)
      : hex(hash, `${ha1}:${credentials.nonce}:${nc}:${cnonce}:${qop}:${ha2}`);

  const response = credentials.response;
  if (typeof response !== 'string' || response.length !== expected.length) return false;
  // LHEX is what the sender must write (RFC 2617 §3.2.2); accepting upper-case digits costs
  // nothing and reveals nothing.
  return timingSafeEqual(Buffer.from(expected, 'latin1'), Buffer.from(response.toLowerCase(), 'latin1'));
}

// ----------------------------------------------------------------------------- nonce counts

export interface NonceCounter {
  /**
   * Records `nc` for `nonce` and says whether it is new: nc lets "the server ... detect request
   * replays by maintaining its own copy of this count - if the same nc-value is seen twice,
   * then the request is a replay" (RFC 2617 §3.2.2). Call it only after `verifyDigest`
   * succeeded, or anyone who saw a nonce could burn its counts for the real client.
   */
  accept(nonce: string, nc: string): boolean;
  readonly size: number;
}

/**
 * The highest nc seen per nonce, for at most `max` nonces; the least recently used is dropped
 * first. A dropped nonce that is still within its lifetime loses replay protection, so `max`
 * should cover the challenges answered within one nonce lifetime.
 */
export function createNonceCounter(max = 10_000): NonceCounter {
  if (!Number.isInteger(max) || max < 1) throw new RangeError('nonce counter size must be a positive integer');
  // A Map keeps insertion order: deleting and setting again moves a nonce to the young end.
  const seen = new Map<string, number>();
  return {
    accept(nonce, nc) {
      if (typeof nc !== 'string' || !NC.test(nc)) return false;
      const count = Number.parseInt(nc, 16);
      // Counting starts at 00000001 ("in the first request sent in response to a given nonce
      // value, the client sends "nc=00000001"", RFC 2617 §3.2.2); a count that does not grow
      // is a replay. Only "greater" is asked, not "one more", so a lost request costs nothing.
      const last = seen.get(nonce) ?? 0;
      if (count <= last) return false;
      seen.delete(nonce);
      seen.set(nonce, count);
      if (seen.size > max) seen.delete(seen.keys().next().value!);
      return true;
    },
    get size() {
      return seen.size;
    },
  };
}
