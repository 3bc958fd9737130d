/**
 * Digest authentication of REGISTER (401, RFC 3261 §22.2) and of requests a flow sends before it
 * registered (407, §22.3), on the primitives of digest.ts.
 */
import { createNonceCounter, createNonceIssuer, credentialsOf, formatChallenge, verifyDigest, type DigestAlgorithm } from './digest.js';
import { parseAuthorization } from './headers.js';
import { getHeaders, type SipRequest } from './message.js';
import type { AuthenticateHook, SipCredentials } from './types.js';

export type AuthOutcome =
  | { readonly ok: true; readonly username: string }
  /** Challenge again (§22.4: also after wrong credentials, so that a guesser learns nothing). */
  | { readonly ok: false; readonly stale: boolean };

export interface AuthenticatorOptions {
  readonly realm: string;
  readonly algorithms: readonly DigestAlgorithm[];
  readonly nonceLifetime: number;
  /** Undefined: authentication is off. */
  readonly lookup: AuthenticateHook | undefined;
  readonly now: () => number;
}

export class Authenticator {
  private readonly nonces;
  private readonly counts = createNonceCounter();

  constructor(private readonly options: AuthenticatorOptions) {
    this.nonces = createNonceIssuer({ lifetime: options.nonceLifetime });
  }

  get enabled(): boolean {
    return this.options.lookup !== undefined;
  }

  /**
   * One challenge line per algorithm, most preferred first (RFC 8760 §2.3). JsSIP and SIP.js
   * keep only the last line they parse, and know only MD5: so MD5 goes last.
   */
  challenge(proxy: boolean, stale: boolean): [string, string][] {
    const nonce = this.nonces.issue(this.options.now());
    const name = proxy ? 'Proxy-Authenticate' : 'WWW-Authenticate';
    return this.options.algorithms.map((algorithm) => [name, formatChallenge({ realm: this.options.realm, nonce, algorithm, stale, qop: 'auth' })]);
  }

  /** Checks the request's credentials for our realm (Authorization, or Proxy-Authorization for a 407). */
  async check(request: SipRequest, proxy: boolean, remoteAddress: string): Promise<AuthOutcome> {
    const lookup = this.options.lookup;
    if (!lookup) throw new Error('authentication is off');
    const credentials = this.credentialsOf(request, proxy);
    if (!credentials) return { ok: false, stale: false };
    const secret: SipCredentials | undefined = await lookup({ username: credentials.username, realm: credentials.realm, request, remoteAddress });
    if (!secret) return { ok: false, stale: false };
    const valid = 'password' in secret
      ? verifyDigest(credentials, { method: request.method, password: secret.password }, request.body)
      : secret.ha1[credentials.algorithm] !== undefined && verifyDigest(credentials, { method: request.method, ha1: secret.ha1[credentials.algorithm]! }, request.body);
    if (!valid) return { ok: false, stale: false };
    // RFC 7616 §3.3: a right answer to an old nonce is stale, and the UA retries without asking its user.
    const freshness = this.nonces.check(credentials.nonce, this.options.now());
    if (freshness === 'stale') return { ok: false, stale: true };
    if (freshness !== 'valid') return { ok: false, stale: false };
    // A nonce count that does not grow is a replay (RFC 7616 §3.4).
    if (credentials.nc !== undefined && !this.counts.accept(credentials.nonce, credentials.nc)) return { ok: false, stale: false };
    return { ok: true, username: credentials.username };
  }

  /** The user's secret, or undefined for a user the hook does not know. */
  async lookupUser(username: string, request: SipRequest, remoteAddress = ''): Promise<SipCredentials | undefined> {
    return this.options.lookup?.({ username, realm: this.options.realm, request, remoteAddress });
  }

  private credentialsOf(request: SipRequest, proxy: boolean) {
    for (const line of getHeaders(request, proxy ? 'proxy-authorization' : 'authorization')) {
      const parsed = parseAuthorization(line);
      if (!parsed || parsed.scheme.toLowerCase() !== 'digest') continue;
      const credentials = credentialsOf(parsed.params);
      // §22.4: several lines may answer several realms; ours is the one to check.
      if (!credentials || credentials.realm !== this.options.realm) continue;
      if (!this.options.algorithms.includes(credentials.algorithm)) continue;
      return credentials;
    }
    return undefined;
  }
}
