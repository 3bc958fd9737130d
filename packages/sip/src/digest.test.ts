import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { createFakeClock } from '@protoplex/core/testing';
import { DigestAuthentication as SipJsDigestAuthentication } from 'sip.js/lib/core/messages/digest-authentication.js';
import { Parser as SipJsParser } from 'sip.js/lib/core/messages/parser.js';
import { Grammar as SipJsGrammar } from 'sip.js/lib/grammar/grammar.js';
import {
  DIGEST_ALGORITHMS,
  computeHa1,
  createNonceCounter,
  createNonceIssuer,
  credentialsOf,
  digestAlgorithm,
  formatChallenge,
  userhashOf,
  verifyDigest,
  type DigestAlgorithm,
  type DigestCredentials,
  type DigestQop,
} from './digest.js';

// JsSIP ships CommonJS without declarations for these modules: load them as Node does and
// describe the little the tests use.
const require = createRequire(import.meta.url);
interface JsSipDigest {
  authenticate(request: { method: string; ruri: string; body?: string }, challenge: unknown, cnonce?: string | null): boolean;
  toString(): string;
}
const JsSipDigestAuthentication = require('jssip/lib/DigestAuthentication.js') as new (credentials: { username: string; password: string | null; realm: string; ha1: string | null }) => JsSipDigest;
const JsSipGrammar = require('jssip/lib/Grammar.js') as { parse(input: string, rule: string): unknown };
const JsSipParser = require('jssip/lib/Parser.js') as { parseMessage(data: string, ua: unknown): { parseHeader(name: string): Record<string, unknown> | undefined } | undefined };

const quietLogger = { warn() {}, error() {}, log() {}, debug() {} };
const sipJsLoggerFactory = { getLogger: () => quietLogger } as unknown as ConstructorParameters<typeof SipJsDigestAuthentication>[0];
type SipJsRequest = Parameters<SipJsDigestAuthentication['authenticate']>[0];

/** The parameters of a `Digest a=b, c="d"` field, the way the codec hands them over: keys lower-case, values unquoted. */
function digestParams(header: string): Record<string, string> {
  expect(header.startsWith('Digest ')).toBe(true);
  const params: Record<string, string> = {};
  for (const match of header.slice(7).matchAll(/([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g)) {
    params[match[1]!.toLowerCase()] = match[2] !== undefined ? match[2].replace(/\\(.)/g, '$1') : match[3]!;
  }
  return params;
}

function credentials(params: Record<string, string>): DigestCredentials {
  const result = credentialsOf(params);
  if (!result) throw new Error(`credentials refused: ${JSON.stringify(params)}`);
  return result;
}

const HASH: Record<DigestAlgorithm, string> = {
  MD5: 'md5',
  'MD5-sess': 'md5',
  'SHA-256': 'sha256',
  'SHA-256-sess': 'sha256',
  'SHA-512-256': 'sha512-256',
  'SHA-512-256-sess': 'sha512-256',
};

interface Inputs {
  algorithm: DigestAlgorithm;
  qop: DigestQop | undefined;
  username: string;
  realm: string;
  password: string;
  nonce: string;
  uri: string;
  method: string;
  cnonce: string;
  nc: string;
  body: string | Uint8Array;
}

/** RFC 7616 §3.4.1-§3.4.3 and RFC 2617 §3.2.2.1, written out once, apart from digest.ts. */
function referenceResponse(input: Inputs): string {
  const H = (data: string | Uint8Array) => createHash(HASH[input.algorithm]).update(data).digest('hex');
  let ha1 = H(`${input.username}:${input.realm}:${input.password}`);
  if (input.algorithm.endsWith('-sess')) ha1 = H(`${ha1}:${input.nonce}:${input.cnonce}`);
  const ha2 = input.qop === 'auth-int' ? H(`${input.method}:${input.uri}:${H(input.body)}`) : H(`${input.method}:${input.uri}`);
  return input.qop === undefined ? H(`${ha1}:${input.nonce}:${ha2}`) : H(`${ha1}:${input.nonce}:${input.nc}:${input.cnonce}:${input.qop}:${ha2}`);
}

function paramsOf(input: Inputs, response = referenceResponse(input)): Record<string, string> {
  return {
    username: input.username,
    realm: input.realm,
    nonce: input.nonce,
    uri: input.uri,
    response,
    algorithm: input.algorithm,
    ...(input.qop !== undefined ? { qop: input.qop, cnonce: input.cnonce, nc: input.nc } : {}),
  };
}

describe('hash functions', () => {
  it("node's sha512-256 is SHA-512/256 of FIPS 180-4 (its own initial values, not a cut SHA-512)", () => {
    expect(createHash('sha512-256').update('abc').digest('hex')).toBe('53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23');
    expect(createHash('sha512').update('abc').digest('hex').slice(0, 64)).not.toBe('53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23');
  });

  it('names algorithms case-insensitively, in the registry spelling', () => {
    expect(digestAlgorithm('sha-256')).toBe('SHA-256');
    expect(digestAlgorithm('MD5-SESS')).toBe('MD5-sess');
    expect(digestAlgorithm('SHA-512-256-SESS')).toBe('SHA-512-256-sess');
    expect(digestAlgorithm('SHA-1')).toBeUndefined();
    expect(DIGEST_ALGORITHMS).toHaveLength(6);
  });
});

describe('published vectors', () => {
  it('RFC 2617 §3.5: Mufasa, MD5, qop=auth', () => {
    const mufasa = credentials({
      username: 'Mufasa',
      realm: 'testrealm@host.com',
      nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
      uri: '/dir/index.html',
      qop: 'auth',
      nc: '00000001',
      cnonce: '0a4f113b',
      response: '6629fae49393a05397450978507c4ef1',
      opaque: '5ccc069c403ebaf9f0171e9517f40e41',
    });
    expect(mufasa.algorithm).toBe('MD5');
    expect(mufasa.opaque).toBe('5ccc069c403ebaf9f0171e9517f40e41');
    expect(computeHa1('MD5', 'Mufasa', 'testrealm@host.com', 'Circle Of Life')).toBe('939e7578ed9e3c518a452acee763bce9');
    expect(verifyDigest(mufasa, { method: 'GET', password: 'Circle Of Life' })).toBe(true);
    expect(verifyDigest(mufasa, { method: 'GET', ha1: '939e7578ed9e3c518a452acee763bce9' })).toBe(true);
    expect(verifyDigest(mufasa, { method: 'GET', ha1: '939E7578ED9E3C518A452ACEE763BCE9' })).toBe(true);
    expect(verifyDigest(mufasa, { method: 'GET', password: 'Circle of Life' })).toBe(false);
    expect(verifyDigest(mufasa, { method: 'POST', password: 'Circle Of Life' })).toBe(false);
  });

  // RFC 7616 §3.9.1, with erratum 4495: the password is "Circle of Life" (lower-case "of").
  const rfc7616 = {
    username: 'Mufasa',
    realm: 'http-auth@example.org',
    uri: '/dir/index.html',
    nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
    nc: '00000001',
    cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
    qop: 'auth',
    opaque: 'FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS',
  };

  it('RFC 7616 §3.9.1: Mufasa, SHA-256', () => {
    const sha = credentials({ ...rfc7616, algorithm: 'SHA-256', response: '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1' });
    expect(verifyDigest(sha, { method: 'GET', password: 'Circle of Life' })).toBe(true);
    expect(verifyDigest(sha, { method: 'GET', ha1: computeHa1('SHA-256', 'Mufasa', 'http-auth@example.org', 'Circle of Life') })).toBe(true);
    expect(verifyDigest(sha, { method: 'GET', password: 'Circle Of Life' })).toBe(false);
    // An MD5 HA1 cannot stand in for a SHA-256 one.
    expect(verifyDigest(sha, { method: 'GET', ha1: computeHa1('MD5', 'Mufasa', 'http-auth@example.org', 'Circle of Life') })).toBe(false);
  });

  it('RFC 7616 §3.9.1: Mufasa, MD5', () => {
    const md5 = credentials({ ...rfc7616, algorithm: 'MD5', response: '8ca523f5e9506fed4657c9700eebdbec' });
    expect(verifyDigest(md5, { method: 'GET', password: 'Circle of Life' })).toBe(true);
    expect(verifyDigest({ ...md5, algorithm: 'SHA-256' }, { method: 'GET', password: 'Circle of Life' })).toBe(false);
  });

  it('RFC 7616 §3.9.2 with erratum 4897: SHA-512-256 and userhash (the printed values do not follow from its inputs)', () => {
    const username = 'J\u00e4s\u00f8n Doe';
    const realm = 'api@example.org';
    const userhash = userhashOf('SHA-512-256', username, realm);
    expect(userhash).toBe('793263caabb707a56211940d90411ea4a575adeccb7e360aeb624ed06ece9b0b');
    const doe = credentials({
      username: userhash,
      realm,
      uri: '/doe.json',
      algorithm: 'SHA-512-256',
      nonce: '5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK',
      nc: '00000001',
      cnonce: 'NTg6RKcb9boFIAS3KrFK9BGeh+iDa/sm6jUMp2wds69v',
      qop: 'auth',
      response: '3798d4131c277846293534c3edc11bd8a5e4cdcbff78b05db9d95eeb1cec68a5',
      opaque: 'HRPCssKJSGjCrkzDg8OhwpzCiGPChXYjwrI2QmXDnsOS',
      userhash: 'true',
    });
    expect(doe.userhash).toBe(true);
    expect(verifyDigest(doe, { method: 'GET', password: 'Secret, or not?', username })).toBe(true);
    expect(verifyDigest(doe, { method: 'GET', ha1: computeHa1('SHA-512-256', username, realm, 'Secret, or not?') })).toBe(true);
    // The hashed name is not the name the password goes with.
    expect(verifyDigest(doe, { method: 'GET', password: 'Secret, or not?' })).toBe(false);
    expect(verifyDigest(doe, { method: 'GET', password: 'Secret, or not?', username: 'Jason Doe' })).toBe(false);
  });
});

describe('qop variants', () => {
  const base: Inputs = {
    algorithm: 'SHA-256',
    qop: 'auth-int',
    username: 'alice',
    realm: 'example.com',
    password: 'alice',
    nonce: 'n0nce',
    uri: 'sip:bob@example.com',
    method: 'MESSAGE',
    cnonce: 'c',
    nc: '00000001',
    body: 'hello bob',
  };

  it('auth-int covers the body, as text or bytes', () => {
    const message = credentials(paramsOf(base));
    expect(verifyDigest(message, { method: 'MESSAGE', password: 'alice' }, 'hello bob')).toBe(true);
    expect(verifyDigest(message, { method: 'MESSAGE', password: 'alice' }, new TextEncoder().encode('hello bob'))).toBe(true);
    expect(verifyDigest(message, { method: 'MESSAGE', password: 'alice' }, 'hello bOb')).toBe(false);
    expect(verifyDigest(message, { method: 'MESSAGE', password: 'alice' })).toBe(false);
  });

  it('auth-int hashes bytes that are not UTF-8 as they are', () => {
    const bytes = Uint8Array.of(0xff, 0xfe, 0x00, 0x80);
    const message = credentials(paramsOf({ ...base, body: bytes }));
    expect(verifyDigest(message, { method: 'MESSAGE', password: 'alice' }, bytes)).toBe(true);
    expect(verifyDigest(message, { method: 'MESSAGE', password: 'alice' }, Uint8Array.of(0xff, 0xfe, 0x00, 0x81))).toBe(false);
  });

  it('an empty body hashes as H("") (RFC 3261 §22.4 item 7)', () => {
    const md5 = { ...base, algorithm: 'MD5' as const, body: '' };
    const H = (s: string) => createHash('md5').update(s).digest('hex');
    // Written with the constant RFC 3261 prints, not with a hash of "".
    const ha2 = H(`MESSAGE:sip:bob@example.com:d41d8cd98f00b204e9800998ecf8427e`);
    const response = H(`${H('alice:example.com:alice')}:n0nce:00000001:c:auth-int:${ha2}`);
    const empty = credentials(paramsOf(md5, response));
    expect(verifyDigest(empty, { method: 'MESSAGE', password: 'alice' })).toBe(true);
    expect(verifyDigest(empty, { method: 'MESSAGE', password: 'alice' }, '')).toBe(true);
    expect(verifyDigest(empty, { method: 'MESSAGE', password: 'alice' }, new Uint8Array(0))).toBe(true);
  });

  it('auth leaves the body out', () => {
    const message = credentials(paramsOf({ ...base, qop: 'auth' }));
    expect(verifyDigest(message, { method: 'MESSAGE', password: 'alice' }, 'anything')).toBe(true);
    expect(verifyDigest(message, { method: 'MESSAGE', password: 'alice' })).toBe(true);
  });

  it('no qop: the RFC 2069 form (RFC 3261 §22.4 item 8 keeps it for servers to receive)', () => {
    const H = (s: string) => createHash('md5').update(s).digest('hex');
    const response = H(`${H('alice:example.com:alice')}:n0nce:${H('REGISTER:sip:example.com')}`);
    const old = credentials({ username: 'alice', realm: 'example.com', nonce: 'n0nce', uri: 'sip:example.com', response });
    expect(old.qop).toBeUndefined();
    expect(verifyDigest(old, { method: 'REGISTER', password: 'alice' })).toBe(true);
    expect(verifyDigest(old, { method: 'REGISTER', password: 'bob' })).toBe(false);
  });

  it('-sess derives the session key from the stored HA1, the nonce and the cnonce', () => {
    const H = (s: string) => createHash('md5').update(s).digest('hex');
    const stored = H('alice:example.com:alice');
    const session = H(`${stored}:n0nce:c`);
    const response = H(`${session}:n0nce:00000001:c:auth:${H('REGISTER:sip:example.com')}`);
    const sess = credentials({ username: 'alice', realm: 'example.com', nonce: 'n0nce', uri: 'sip:example.com', response, algorithm: 'MD5-sess', qop: 'auth', nc: '00000001', cnonce: 'c' });
    expect(computeHa1('MD5-sess', 'alice', 'example.com', 'alice')).toBe(stored);
    expect(verifyDigest(sess, { method: 'REGISTER', password: 'alice' })).toBe(true);
    expect(verifyDigest(sess, { method: 'REGISTER', ha1: stored })).toBe(true);
    expect(verifyDigest({ ...sess, cnonce: 'd' }, { method: 'REGISTER', ha1: stored })).toBe(false);
    // The same answer read as plain MD5 is wrong: the algorithm enters the computation.
    expect(verifyDigest({ ...sess, algorithm: 'MD5' }, { method: 'REGISTER', ha1: stored })).toBe(false);
    for (const algorithm of ['SHA-256-sess', 'SHA-512-256-sess'] as const) {
      const input: Inputs = { ...base, algorithm, qop: 'auth' };
      expect(verifyDigest(credentials(paramsOf(input)), { method: 'MESSAGE', password: 'alice' })).toBe(true);
    }
  });

  it('-sess without qop is refused, even with a cnonce and the digest a client might make of it (RFC 3261 §22.4 item 8)', () => {
    const H = (s: string) => createHash('md5').update(s).digest('hex');
    const session = H(`${H('alice:example.com:alice')}:n:c`);
    const response = H(`${session}:n:${H('REGISTER:sip:example.com')}`);
    const withoutQop = { username: 'alice', realm: 'example.com', nonce: 'n', uri: 'sip:example.com', response, algorithm: 'MD5-sess' };
    expect(credentialsOf(withoutQop)).toBeUndefined();
    expect(credentialsOf({ ...withoutQop, cnonce: 'c' })).toBeUndefined();
    expect(verifyDigest({ ...withoutQop, algorithm: 'MD5-sess', cnonce: 'c' }, { method: 'REGISTER', password: 'alice' })).toBe(false);
  });

  it('accepts an upper-case response, refuses one of the wrong length or with a non-hex digit', () => {
    const params = paramsOf({ ...base, qop: 'auth' });
    const upper = credentials({ ...params, response: params.response!.toUpperCase() });
    expect(verifyDigest(upper, { method: 'MESSAGE', password: 'alice' })).toBe(true);
    expect(verifyDigest({ ...upper, response: params.response!.slice(1) }, { method: 'MESSAGE', password: 'alice' })).toBe(false);
    expect(verifyDigest({ ...upper, response: `${params.response!.slice(1)}g` }, { method: 'MESSAGE', password: 'alice' })).toBe(false);
    expect(verifyDigest(upper, { method: 'MESSAGE', ha1: 'zz' })).toBe(false);
  });
});

describe('credentialsOf', () => {
  const complete = {
    username: 'alice',
    realm: 'example.com',
    nonce: 'n',
    uri: 'sip:example.com',
    response: '0123456789abcdef0123456789abcdef',
    qop: 'auth',
    cnonce: 'c',
    nc: '00000001',
  };

  it('reads a complete answer, MD5 when no algorithm is named', () => {
    expect(credentialsOf(complete)).toEqual({ ...complete, algorithm: 'MD5' });
    expect(credentialsOf({ ...complete, algorithm: 'md5' })?.algorithm).toBe('MD5');
    expect(credentialsOf({ ...complete, algorithm: 'sha-256', response: 'a'.repeat(64) })?.algorithm).toBe('SHA-256');
  });

  it.each(['username', 'realm', 'nonce', 'uri', 'response'])('refuses an answer without %s, or with it empty', (name) => {
    const { [name as keyof typeof complete]: _dropped, ...rest } = complete;
    expect(credentialsOf(rest)).toBeUndefined();
    expect(credentialsOf({ ...complete, [name]: '' })).toBeUndefined();
  });

  it('refuses qop without cnonce or nc, and cnonce or nc without qop (RFC 2617 §3.2.2)', () => {
    const { cnonce: _c, ...noCnonce } = complete;
    const { nc: _n, ...noNc } = complete;
    const { qop: _q, ...noQop } = complete;
    expect(credentialsOf(noCnonce)).toBeUndefined();
    expect(credentialsOf(noNc)).toBeUndefined();
    expect(credentialsOf({ ...complete, cnonce: '' })).toBeUndefined();
    expect(credentialsOf(noQop)).toBeUndefined();
    const { cnonce: _c2, nc: _n2, ...bare } = noQop;
    expect(credentialsOf(bare)).toEqual({ ...bare, algorithm: 'MD5' });
  });

  it.each(['1', '0000001', '000000001', '0000001g', ' 0000001', '0x000001'])('refuses nc=%j (8LHEX)', (nc) => {
    expect(credentialsOf({ ...complete, nc })).toBeUndefined();
  });

  it('keeps nc as written, upper-case digits included', () => {
    expect(credentialsOf({ ...complete, nc: '0000000A' })?.nc).toBe('0000000A');
  });

  it('refuses an unknown algorithm or qop, and a response that is not the hash length', () => {
    expect(credentialsOf({ ...complete, algorithm: 'SHA-1' })).toBeUndefined();
    expect(credentialsOf({ ...complete, algorithm: 'AKAv1-MD5' })).toBeUndefined();
    expect(credentialsOf({ ...complete, qop: 'auth-conf' })).toBeUndefined();
    expect(credentialsOf({ ...complete, qop: 'auth,auth-int' })).toBeUndefined();
    expect(credentialsOf({ ...complete, algorithm: 'SHA-256' })).toBeUndefined();
    expect(credentialsOf({ ...complete, response: 'z'.repeat(32) })).toBeUndefined();
  });

  it('reads userhash as a boolean token', () => {
    expect(credentialsOf({ ...complete, userhash: 'TRUE' })?.userhash).toBe(true);
    expect(credentialsOf({ ...complete, userhash: 'false' })?.userhash).toBe(false);
    expect(credentialsOf({ ...complete, userhash: 'yes' })).toBeUndefined();
  });

  it('does not read inherited properties', () => {
    expect(credentialsOf(Object.create(complete) as Record<string, string>)).toBeUndefined();
  });
});

describe('formatChallenge', () => {
  it('writes one challenge in RFC 7616 §3.3 form', () => {
    expect(formatChallenge({ realm: 'example.com', nonce: 'abc', algorithm: 'SHA-256' })).toBe('Digest realm="example.com", nonce="abc", algorithm=SHA-256, qop="auth"');
    expect(formatChallenge({ realm: 'example.com', nonce: 'abc', algorithm: 'MD5', opaque: 'op', stale: true, qop: ['auth', 'auth-int'] })).toBe(
      'Digest realm="example.com", nonce="abc", algorithm=MD5, qop="auth,auth-int", opaque="op", stale=true',
    );
    expect(formatChallenge({ realm: 'r', nonce: 'n', algorithm: 'SHA-512-256', stale: false, userhash: true })).toBe('Digest realm="r", nonce="n", algorithm=SHA-512-256, qop="auth", userhash=true');
  });

  it('escapes quoted strings and refuses what would break the header line', () => {
    expect(formatChallenge({ realm: 'a"b\\c', nonce: 'n', algorithm: 'MD5' })).toBe('Digest realm="a\\"b\\\\c", nonce="n", algorithm=MD5, qop="auth"');
    expect(() => formatChallenge({ realm: 'a\r\nVia: x', nonce: 'n', algorithm: 'MD5' })).toThrow(RangeError);
    expect(() => formatChallenge({ realm: 'a', nonce: 'n', algorithm: 'MD5', opaque: 'x\n' })).toThrow(RangeError);
    // RFC 3261 §22.4 item 8: servers MUST always send qop.
    expect(() => formatChallenge({ realm: 'a', nonce: 'n', algorithm: 'MD5', qop: [] })).toThrow(RangeError);
    expect(() => formatChallenge({ realm: 'a', nonce: 'n', algorithm: 'SHA-1' as DigestAlgorithm })).toThrow(RangeError);
  });

  it("reads back the same through JsSIP's and sip.js's grammars", () => {
    const challenge = formatChallenge({ realm: 'example.com', nonce: 'abc/+_-', algorithm: 'SHA-512-256-sess', opaque: 'op', stale: true, qop: ['auth', 'auth-int'] });
    const expected = { realm: 'example.com', nonce: 'abc/+_-', qop: ['auth', 'auth-int'], opaque: 'op', stale: true };
    expect(JsSipGrammar.parse(challenge, 'WWW_Authenticate')).toMatchObject({ ...expected, algorithm: 'SHA-512-256-SESS' });
    expect(SipJsGrammar.parse(challenge, 'WWW_Authenticate')).toMatchObject({ ...expected, algorithm: 'SHA-512-256-SESS' });
  });
});

describe('nonces', () => {
  const lifetime = 30_000;

  it('are 72 base64url characters carrying the time they were issued', () => {
    const clock = createFakeClock(Date.parse('2025-01-01T00:00:00Z'));
    const issuer = createNonceIssuer({ lifetime });
    const nonce = issuer.issue(clock.now());
    expect(nonce).toMatch(/^[A-Za-z0-9_-]{72}$/);
    expect(Buffer.from(nonce, 'base64url').readUIntBE(0, 6)).toBe(clock.now());
    expect(issuer.issue(clock.now())).not.toBe(nonce);
  });

  it('are valid for their lifetime, then stale (RFC 7616 §3.3)', () => {
    const clock = createFakeClock(1_700_000_000_000);
    const issuer = createNonceIssuer({ lifetime });
    const nonce = issuer.issue(clock.now());
    expect(issuer.check(nonce, clock.now())).toBe('valid');
    clock.advance(lifetime - 1);
    expect(issuer.check(nonce, clock.now())).toBe('valid');
    clock.advance(1);
    expect(issuer.check(nonce, clock.now())).toBe('stale');
    clock.advance(86_400_000);
    expect(issuer.check(nonce, clock.now())).toBe('stale');
    expect(issuer.check(issuer.issue(clock.now()), clock.now())).toBe('valid');
  });

  it('from the future (the clock went back) are stale, not valid', () => {
    const issuer = createNonceIssuer({ lifetime });
    const nonce = issuer.issue(10_000);
    expect(issuer.check(nonce, 9_999)).toBe('stale');
  });

  it('from another secret, or edited, are invalid', () => {
    const secret = randomBytes(32);
    const issuer = createNonceIssuer({ secret, lifetime });
    const nonce = issuer.issue(1_000);
    expect(createNonceIssuer({ lifetime }).check(nonce, 1_000)).toBe('invalid');
    // A second process with the same secret accepts it.
    expect(createNonceIssuer({ secret, lifetime }).check(nonce, 1_000)).toBe('valid');
    for (const at of [0, 5, 20, 40, 71]) {
      const other = nonce[at] === 'A' ? 'B' : 'A';
      expect(issuer.check(nonce.slice(0, at) + other + nonce.slice(at + 1), 1_000)).toBe('invalid');
    }
  });

  it('forged with a made-up key, or re-dated with the old HMAC, are invalid', () => {
    const issuer = createNonceIssuer({ lifetime });
    const signed = Buffer.alloc(22);
    signed.writeUIntBE(1_000, 0, 6);
    const forged = Buffer.concat([signed, createHmac('sha256', 'guess').update(signed).digest()]).toString('base64url');
    expect(issuer.check(forged, 1_000)).toBe('invalid');
    const real = Buffer.from(issuer.issue(1_000), 'base64url');
    real.writeUIntBE(500_000, 0, 6);
    expect(issuer.check(real.toString('base64url'), 500_000)).toBe('invalid');
  });

  it.each([
    ['empty', ''],
    ['short', 'abc'],
    ['padded', `${'A'.repeat(70)}==`],
    ['base64 alphabet', `${'A'.repeat(71)}+`],
    ['one too long', 'A'.repeat(73)],
    ['non-ASCII', `${'A'.repeat(71)}é`],
    ['with a space', `${'A'.repeat(35)} ${'A'.repeat(36)}`],
  ])('garbled (%s) are invalid', (_name, text) => {
    expect(createNonceIssuer({ lifetime }).check(text, 0)).toBe('invalid');
  });

  it('have one spelling: other text that decodes to the same bytes is invalid', () => {
    const issuer = createNonceIssuer({ lifetime });
    const nonce = issuer.issue(0);
    // Node's base64url decoder skips padding, white space and unknown characters.
    for (const variant of [`${nonce}=`, ` ${nonce}`, `${nonce.slice(0, 10)}\n${nonce.slice(10)}`, `${nonce.slice(0, 10)}.${nonce.slice(10)}`]) {
      expect(Buffer.from(variant, 'base64url').equals(Buffer.from(nonce, 'base64url'))).toBe(true);
      expect(issuer.check(variant, 0)).toBe('invalid');
    }
  });

  it('keep their key when the caller reuses the secret array', () => {
    const secret = new Uint8Array(32).fill(7);
    const issuer = createNonceIssuer({ secret, lifetime });
    const nonce = issuer.issue(0);
    secret.fill(8);
    expect(issuer.check(nonce, 0)).toBe('valid');
  });

  it('refuse a bad configuration', () => {
    expect(() => createNonceIssuer({ lifetime: 0 })).toThrow(RangeError);
    expect(() => createNonceIssuer({ lifetime: Number.NaN })).toThrow(RangeError);
    expect(() => createNonceIssuer({ lifetime: Number.POSITIVE_INFINITY })).toThrow(RangeError);
    expect(() => createNonceIssuer({ lifetime, secret: new Uint8Array(8) })).toThrow(RangeError);
  });
});

describe('nonce counts', () => {
  it('accept a growing nc and refuse a replayed or smaller one', () => {
    const counter = createNonceCounter();
    expect(counter.accept('n', '00000000')).toBe(false);
    expect(counter.accept('n', '00000001')).toBe(true);
    expect(counter.accept('n', '00000001')).toBe(false);
    expect(counter.accept('n', '00000002')).toBe(true);
    expect(counter.accept('n', '00000005')).toBe(true);
    expect(counter.accept('n', '00000004')).toBe(false);
    expect(counter.accept('n', '0000000A')).toBe(true);
    expect(counter.accept('n', '0000000a')).toBe(false);
    expect(counter.accept('n', 'ffffffff')).toBe(true);
    expect(counter.accept('n', 'ffffffff')).toBe(false);
    expect(counter.accept('other', '00000001')).toBe(true);
  });

  it('refuse an nc that is not 8 hex digits', () => {
    const counter = createNonceCounter();
    for (const nc of ['1', '000000001', '0000000g', '']) expect(counter.accept('n', nc)).toBe(false);
    expect(counter.size).toBe(0);
  });

  it('remember at most max nonces, dropping the least recently used', () => {
    const counter = createNonceCounter(2);
    expect(counter.accept('a', '00000001')).toBe(true);
    expect(counter.accept('b', '00000001')).toBe(true);
    expect(counter.accept('a', '00000002')).toBe(true);
    expect(counter.accept('c', '00000001')).toBe(true);
    expect(counter.size).toBe(2);
    expect(counter.accept('a', '00000002')).toBe(false);
    expect(counter.accept('c', '00000001')).toBe(false);
    // b was dropped: its counts are forgotten (the documented price of the bound).
    expect(counter.accept('b', '00000001')).toBe(true);
    expect(() => createNonceCounter(0)).toThrow(RangeError);
  });
});

describe('JsSIP 3.13 DigestAuthentication', () => {
  const realm = 'example.com';
  const issuer = createNonceIssuer({ lifetime: 60_000 });

  function answer(options: { challenge: string; password?: string | null; ha1?: string | null; method?: string; ruri?: string; body?: string }) {
    const auth = new JsSipDigestAuthentication({ username: 'alice', password: options.password ?? null, realm, ha1: options.ha1 ?? null });
    const ok = auth.authenticate({ method: options.method ?? 'REGISTER', ruri: options.ruri ?? 'sip:example.com', ...(options.body !== undefined ? { body: options.body } : {}) }, JsSipGrammar.parse(options.challenge, 'WWW_Authenticate'));
    return { ok, auth };
  }

  it('answers an MD5 challenge with credentials verifyDigest accepts', () => {
    const nonce = issuer.issue(0);
    const challenge = formatChallenge({ realm, nonce, algorithm: 'MD5', opaque: 'op' });
    const { ok, auth } = answer({ challenge, password: 'alice' });
    expect(ok).toBe(true);
    const first = credentials(digestParams(auth.toString()));
    expect(first).toMatchObject({ username: 'alice', realm, nonce, uri: 'sip:example.com', algorithm: 'MD5', qop: 'auth', nc: '00000001', opaque: 'op' });
    expect(issuer.check(first.nonce, 0)).toBe('valid');
    expect(verifyDigest(first, { method: 'REGISTER', password: 'alice' })).toBe(true);
    expect(verifyDigest(first, { method: 'REGISTER', ha1: computeHa1('MD5', 'alice', realm, 'alice') })).toBe(true);
    expect(verifyDigest(first, { method: 'REGISTER', password: 'bob' })).toBe(false);
    expect(verifyDigest(first, { method: 'INVITE', password: 'alice' })).toBe(false);

    const counter = createNonceCounter();
    expect(counter.accept(first.nonce, first.nc!)).toBe(true);
    // JsSIP counts up on the same nonce; the old answer replayed is refused.
    auth.authenticate({ method: 'REGISTER', ruri: 'sip:example.com' }, JsSipGrammar.parse(challenge, 'WWW_Authenticate'));
    const second = credentials(digestParams(auth.toString()));
    expect(second.nc).toBe('00000002');
    expect(verifyDigest(second, { method: 'REGISTER', password: 'alice' })).toBe(true);
    expect(counter.accept(second.nonce, second.nc!)).toBe(true);
    expect(counter.accept(first.nonce, first.nc!)).toBe(false);
  });

  it('answers from a stored HA1 too', () => {
    const ha1 = computeHa1('MD5', 'alice', realm, 'alice');
    const { ok, auth } = answer({ challenge: formatChallenge({ realm, nonce: issuer.issue(0), algorithm: 'MD5' }), ha1 });
    expect(ok).toBe(true);
    expect(verifyDigest(credentials(digestParams(auth.toString())), { method: 'REGISTER', password: 'alice' })).toBe(true);
  });

  it('picks auth-int when offered, and the body counts', () => {
    const body = 'v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n';
    const { ok, auth } = answer({ challenge: formatChallenge({ realm, nonce: issuer.issue(0), algorithm: 'MD5', qop: ['auth', 'auth-int'] }), password: 'alice', method: 'INVITE', ruri: 'sip:bob@example.com', body });
    expect(ok).toBe(true);
    const invite = credentials(digestParams(auth.toString()));
    expect(invite.qop).toBe('auth-int');
    expect(verifyDigest(invite, { method: 'INVITE', password: 'alice' }, body)).toBe(true);
    expect(verifyDigest(invite, { method: 'INVITE', password: 'alice' }, `${body} `)).toBe(false);
  });

  it('refuses every algorithm but MD5', () => {
    for (const algorithm of DIGEST_ALGORITHMS.filter((name) => name !== 'MD5')) {
      expect(answer({ challenge: formatChallenge({ realm, nonce: 'n', algorithm }), password: 'alice' }).ok).toBe(false);
    }
  });

  it('keeps only the last WWW-Authenticate line of a 401, so MD5 goes last', () => {
    const lines = [formatChallenge({ realm, nonce: 'n', algorithm: 'SHA-256' }), formatChallenge({ realm, nonce: 'n', algorithm: 'MD5' })];
    expect(JsSipParser.parseMessage(unauthorized(lines), undefined)?.parseHeader('www-authenticate')).toMatchObject({ algorithm: 'MD5' });
    expect(JsSipParser.parseMessage(unauthorized([...lines].reverse()), undefined)?.parseHeader('www-authenticate')).toMatchObject({ algorithm: 'SHA-256' });
  });
});

describe('SIP.js 0.21 DigestAuthentication', () => {
  const realm = 'example.com';
  const issuer = createNonceIssuer({ lifetime: 60_000 });
  const request = (method: string, ruri: string) => ({ method, ruri }) as unknown as SipJsRequest;

  it('answers an MD5 challenge with credentials verifyDigest accepts', () => {
    const nonce = issuer.issue(0);
    const auth = new SipJsDigestAuthentication(sipJsLoggerFactory, undefined, 'alice', 'alice');
    expect(auth.authenticate(request('REGISTER', 'sip:example.com'), SipJsGrammar.parse(formatChallenge({ realm, nonce, algorithm: 'MD5', opaque: 'op' }), 'WWW_Authenticate'))).toBe(true);
    const register = credentials(digestParams(auth.toString()));
    expect(register).toMatchObject({ username: 'alice', realm, nonce, algorithm: 'MD5', qop: 'auth', nc: '00000001', opaque: 'op' });
    expect(verifyDigest(register, { method: 'REGISTER', password: 'alice' })).toBe(true);
    expect(verifyDigest(register, { method: 'REGISTER', password: 'alicE' })).toBe(false);
  });

  it('answers from a stored HA1, and with auth-int over the body when only that is offered', () => {
    const ha1 = computeHa1('MD5', 'alice', realm, 'alice');
    const auth = new SipJsDigestAuthentication(sipJsLoggerFactory, ha1, 'alice', undefined);
    const challenge = SipJsGrammar.parse(formatChallenge({ realm, nonce: issuer.issue(0), algorithm: 'MD5', qop: 'auth-int' }), 'WWW_Authenticate');
    expect(auth.authenticate(request('MESSAGE', 'sip:bob@example.com'), challenge, 'hi bob')).toBe(true);
    const message = credentials(digestParams(auth.toString()));
    expect(message.qop).toBe('auth-int');
    expect(verifyDigest(message, { method: 'MESSAGE', password: 'alice' }, 'hi bob')).toBe(true);
    expect(verifyDigest(message, { method: 'MESSAGE', ha1 }, 'hi bob')).toBe(true);
    expect(verifyDigest(message, { method: 'MESSAGE', ha1 }, 'hi bo')).toBe(false);
  });

  it('refuses every algorithm but MD5', () => {
    for (const algorithm of DIGEST_ALGORITHMS.filter((name) => name !== 'MD5')) {
      const auth = new SipJsDigestAuthentication(sipJsLoggerFactory, undefined, 'alice', 'alice');
      expect(auth.authenticate(request('REGISTER', 'sip:example.com'), SipJsGrammar.parse(formatChallenge({ realm, nonce: 'n', algorithm }), 'WWW_Authenticate'))).toBe(false);
    }
  });

  it('keeps only the last WWW-Authenticate line of a 401, so MD5 goes last', () => {
    const lines = [formatChallenge({ realm, nonce: 'n', algorithm: 'SHA-256' }), formatChallenge({ realm, nonce: 'n', algorithm: 'MD5' })];
    const logger = quietLogger as unknown as Parameters<typeof SipJsParser.parseMessage>[1];
    expect(SipJsParser.parseMessage(unauthorized(lines), logger)?.parseHeader('www-authenticate')).toMatchObject({ algorithm: 'MD5' });
    expect(SipJsParser.parseMessage(unauthorized([...lines].reverse()), logger)?.parseHeader('www-authenticate')).toMatchObject({ algorithm: 'SHA-256' });
  });
});

function unauthorized(challenges: readonly string[]): string {
  return [
    'SIP/2.0 401 Unauthorized',
    'Via: SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bK56sdasks',
    'From: <sip:alice@example.com>;tag=9fxced76sl',
    'To: <sip:alice@example.com>;tag=37GkEhwl6',
    'Call-ID: 3848276298220188511@example.com',
    'CSeq: 1 REGISTER',
    ...challenges.map((challenge) => `WWW-Authenticate: ${challenge}`),
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

describe('properties', () => {
  const text = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 });
  const inputs: fc.Arbitrary<Inputs> = fc
    .record({
      algorithm: fc.constantFrom(...DIGEST_ALGORITHMS),
      qop: fc.constantFrom<DigestQop | undefined>('auth', 'auth-int', undefined),
      username: text,
      realm: text,
      password: fc.string({ unit: 'grapheme', maxLength: 12 }),
      nonce: text,
      uri: text,
      method: fc.stringMatching(/^[A-Z]{3,9}$/),
      cnonce: text,
      nc: fc.integer({ min: 1, max: 0xffffffff }).map((n) => n.toString(16).padStart(8, '0')),
      body: fc.oneof(fc.string({ unit: 'grapheme', maxLength: 20 }), fc.uint8Array({ maxLength: 20 })),
    })
    // -sess needs a cnonce, so a qop (RFC 3261 §22.4 item 8).
    .map((input) => (input.algorithm.endsWith('-sess') && input.qop === undefined ? { ...input, qop: 'auth' as const } : input));

  const secretOf = (input: Inputs, useHa1: boolean) =>
    useHa1 ? { method: input.method, ha1: createHash(HASH[input.algorithm]).update(`${input.username}:${input.realm}:${input.password}`).digest('hex') } : { method: input.method, password: input.password };

  test.prop([inputs, fc.boolean()])('verifyDigest accepts what an independent computation produces', (input, useHa1) => {
    const read = credentialsOf(paramsOf(input));
    expect(read).toBeDefined();
    expect(verifyDigest(read!, secretOf(input, useHa1), input.body)).toBe(true);
  });

  const FIELDS = ['username', 'realm', 'nonce', 'uri', 'response', 'algorithm', 'method', 'password', 'cnonce', 'nc', 'qop', 'body'] as const;

  test.prop([inputs, fc.boolean(), fc.constantFrom(...FIELDS), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 3 }), fc.nat()])(
    'verifyDigest refuses the answer when any one field it covers changes',
    (input, useHa1, field, suffix, pick) => {
      const good = credentialsOf(paramsOf(input))!;
      let changed: DigestCredentials = good;
      let secret = secretOf(input, useHa1);
      let body = input.body;
      let covered = true;
      switch (field) {
        case 'username':
        case 'realm':
          changed = { ...good, [field]: good[field] + suffix };
          // A stored HA1 is looked up by username and realm: another name finds another HA1.
          if (useHa1) secret = secretOf({ ...input, [field]: changed[field] }, true);
          break;
        case 'nonce':
        case 'uri':
          changed = { ...good, [field]: good[field] + suffix };
          break;
        case 'response': {
          const at = pick % good.response.length;
          const digit = good.response[at] === '0' ? '1' : '0';
          changed = { ...good, response: good.response.slice(0, at) + digit + good.response.slice(at + 1) };
          break;
        }
        case 'algorithm': {
          const others = DIGEST_ALGORITHMS.filter((name) => name !== good.algorithm);
          changed = { ...good, algorithm: others[pick % others.length]! };
          break;
        }
        case 'method':
          secret = { ...secret, method: `${secret.method}X` };
          break;
        case 'password':
          secret = useHa1 ? secretOf({ ...input, password: input.password + suffix }, true) : { method: input.method, password: input.password + suffix };
          break;
        case 'cnonce':
          if (good.qop === undefined) return; // not sent without qop
          changed = { ...good, cnonce: good.cnonce + suffix };
          break;
        case 'nc': {
          if (good.qop === undefined) return;
          const n = Number.parseInt(good.nc!, 16);
          changed = { ...good, nc: (n === 0xffffffff ? 1 : n + 1).toString(16).padStart(8, '0') };
          break;
        }
        case 'qop':
          if (good.qop === undefined) changed = { ...good, qop: 'auth', cnonce: input.cnonce, nc: input.nc };
          else if (pick % 2 === 0) changed = { ...good, qop: good.qop === 'auth' ? 'auth-int' : 'auth' };
          else {
            const { qop: _qop, cnonce: _cnonce, nc: _nc, ...without } = good;
            changed = without;
          }
          break;
        case 'body':
          body = typeof body === 'string' ? body + suffix : Uint8Array.from([...body, pick % 256]);
          // Only auth-int covers the body (RFC 7616 §3.4.3).
          covered = good.qop === 'auth-int';
          break;
      }
      expect(verifyDigest(changed, secret, body)).toBe(!covered);
    },
  );
});
