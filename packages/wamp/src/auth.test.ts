import { createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, sign as edSign } from 'node:crypto';
import { fc, test } from '@fast-check/vitest';
import autobahn from 'autobahn';
import { describe, expect, it } from 'vitest';
import { sign as wampyCraSign } from 'wampy/wampcra.js';
import { sign as wampyCryptosignSign } from 'wampy/cryptosign.js';
import { createDeadlineSweep, type Logger } from '@protoplex/core';
import { createFakeClock } from '@protoplex/core/testing';
import { beginAuthentication, craSignatureMatches, cryptosignSignatureMatches, deriveCraKey, ed25519Key, type AuthStep } from './auth.js';
import type { AuthenticateMessage, Dict, HelloMessage } from './codec.js';
import { MessageType } from './constants.js';
import { createIds, type RouterContext } from './realm.js';
import type { AuthMethod, AuthenticateHook, AuthenticateRequest } from './types.js';
import { ALL_ROLES, createRig } from './_test-utils.js';

const SESSION = 4_580_268_554_656_113;

function context(options: { authenticate?: AuthenticateHook; authmethods?: readonly AuthMethod[] } = {}) {
  const clock = createFakeClock(Date.parse('2024-05-01T12:00:00.000Z'));
  const warnings: unknown[] = [];
  const log: Logger = {
    debug: () => {},
    info: () => {},
    warn: (...args: unknown[]) => void warnings.push(args),
    error: () => {},
    child: () => log,
  };
  const router: RouterContext = {
    clock,
    log,
    metrics: { increment: () => {}, set: () => {}, observe: () => {} },
    sweep: createDeadlineSweep(clock, 500, () => {}),
    uriCheck: 'loose',
    eventHistory: 0,
    payloadPassthrough: false,
    maxCallTimeout: 0,
    authorize: undefined,
    authenticate: options.authenticate,
    authmethods: options.authmethods ?? (options.authenticate ? ['cryptosign', 'wampcra', 'ticket', 'anonymous'] : ['anonymous']),
    ...createIds(),
    now: () => new Date(clock.now()).toISOString(),
  };
  return { router, warnings };
}

function hello(details: Dict): HelloMessage {
  return { type: MessageType.HELLO, realm: 'realm1', details: { roles: { caller: {} }, ...details } };
}

function authenticate(signature: string): AuthenticateMessage {
  return { type: MessageType.AUTHENTICATE, signature, extra: {} };
}

function challenged(step: AuthStep): Extract<AuthStep, { kind: 'challenge' }> {
  if (step.kind !== 'challenge') throw new Error(`expected a challenge, got ${JSON.stringify(step)}`);
  return step;
}

/** Records what the hook was asked and answers with `answer`. */
function recordingHook(answer: (request: AuthenticateRequest) => ReturnType<AuthenticateHook>) {
  const requests: AuthenticateRequest[] = [];
  const hook: AuthenticateHook = (request) => {
    requests.push(request);
    return answer(request);
  };
  return { hook, requests };
}

/** The raw public key (hex) of an Ed25519 seed (hex), through a PKCS#8 wrapping (RFC 8410). */
function publicKeyOfSeed(seedHex: string): string {
  const privateKey = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(seedHex, 'hex')]), format: 'der', type: 'pkcs8' });
  return createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).subarray(12).toString('hex');
}

function freshKeyPair() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(16).toString('hex');
  const pubkey = publicKey.export({ format: 'der', type: 'spki' }).subarray(12).toString('hex');
  return { privateKey, seed, pubkey };
}

describe('method selection', () => {
  it('joins anonymously without authmethods: authid from the session id, role anonymous, provider static', () => {
    const { router } = context();
    expect(beginAuthentication(router, 'realm1', hello({}), SESSION)).toEqual({ kind: 'welcome', authid: String(SESSION), authrole: 'anonymous', authmethod: 'anonymous', authprovider: 'static' });
    // An unauthenticated claim is not taken: it would let anyone pass for "joe" in the meta API.
    expect(beginAuthentication(router, 'realm1', hello({ authid: 'joe' }), SESSION)).toMatchObject({ kind: 'welcome', authid: String(SESSION), authmethod: 'anonymous' });
  });

  it('without a hook offers nothing but anonymous, even when authmethods names more', () => {
    const { router } = context({ authmethods: ['ticket', 'anonymous'] });
    expect(beginAuthentication(router, 'realm1', hello({ authmethods: ['ticket'], authid: 'joe' }), SESSION)).toMatchObject({ kind: 'abort', reason: 'wamp.error.no_matching_auth_method' });
    expect(beginAuthentication(router, 'realm1', hello({ authmethods: ['ticket', 'anonymous'], authid: 'joe' }), SESSION)).toMatchObject({ kind: 'welcome', authmethod: 'anonymous' });
  });

  it("follows the client's order, not the router's", () => {
    const { hook } = recordingHook(() => ({ authrole: 'user' }));
    const { router } = context({ authenticate: hook, authmethods: ['anonymous', 'ticket'] });
    expect(beginAuthentication(router, 'realm1', hello({ authmethods: ['ticket', 'anonymous'], authid: 'joe' }), SESSION)).toMatchObject({ kind: 'challenge', method: 'ticket' });
    expect(beginAuthentication(router, 'realm1', hello({ authmethods: ['anonymous', 'ticket'], authid: 'joe' }), SESSION)).toMatchObject({ kind: 'welcome', authmethod: 'anonymous', authrole: 'user' });
  });

  it('skips methods the router does not accept or does not know, and aborts when none is left', () => {
    const { hook } = recordingHook(() => ({ authrole: 'user' }));
    const { router } = context({ authenticate: hook, authmethods: ['ticket'] });
    expect(beginAuthentication(router, 'realm1', hello({ authmethods: ['wampscram', 'cryptosign', 'ticket'], authid: 'joe' }), SESSION)).toMatchObject({ kind: 'challenge', method: 'ticket' });
    const step = beginAuthentication(router, 'realm1', hello({ authmethods: ['wampcra', 'anonymous'], authid: 'joe' }), SESSION);
    expect(step).toMatchObject({ kind: 'abort', reason: 'wamp.error.no_matching_auth_method' });
    expect(beginAuthentication(router, 'realm1', hello({ authmethods: [] }), SESSION)).toMatchObject({ kind: 'abort', reason: 'wamp.error.no_matching_auth_method' });
  });

  it('skips forward past a method HELLO cannot run (ticket and wampcra without authid), and says why when nothing runs', () => {
    const { hook } = recordingHook(() => ({ authrole: 'user', secret: 's' }));
    const { router } = context({ authenticate: hook });
    expect(beginAuthentication(router, 'realm1', hello({ authmethods: ['ticket', 'anonymous'] }), SESSION)).toMatchObject({ kind: 'welcome', authmethod: 'anonymous' });
    expect(beginAuthentication(router, 'realm1', hello({ authmethods: ['wampcra'] }), SESSION)).toEqual({ kind: 'abort', reason: 'wamp.error.no_matching_auth_method', message: 'wampcra needs HELLO.Details.authid' });
  });

  it('aborts with protocol_violation when authmethods, authid or authextra have the wrong type', () => {
    const { router } = context();
    for (const details of [{ authmethods: 'anonymous' }, { authmethods: [1] }, { authid: 7 }, { authextra: [] }]) {
      expect(beginAuthentication(router, 'realm1', hello(details), SESSION)).toMatchObject({ kind: 'abort', reason: 'wamp.error.protocol_violation' });
    }
  });
});

describe('the authenticate hook', () => {
  it('is asked for anonymous with the request shape of the method and sets authid, role, provider and authextra', () => {
    const { hook, requests } = recordingHook(() => ({ authid: 'joe', authrole: 'guest', authprovider: 'dynamic', authextra: { tier: 1 } }));
    const { router } = context({ authenticate: hook });
    const details = { roles: { caller: {} }, authid: 'joe' };
    expect(beginAuthentication(router, 'realm1', hello(details), SESSION)).toEqual({ kind: 'welcome', authid: 'joe', authrole: 'guest', authmethod: 'anonymous', authprovider: 'dynamic', authextra: { tier: 1 } });
    expect(requests).toEqual([{ method: 'anonymous', realm: 'realm1', authid: 'joe', details }]);
  });

  it('denies with authentication_denied on false or undefined', () => {
    for (const answer of [false, undefined] as const) {
      const { router } = context({ authenticate: () => answer });
      expect(beginAuthentication(router, 'realm1', hello({}), SESSION)).toMatchObject({ kind: 'abort', reason: 'wamp.error.authentication_denied' });
    }
  });

  it('fails with authentication_failed, logged, when it throws, rejects or answers without an authrole', async () => {
    const cases: AuthenticateHook[] = [
      () => {
        throw new Error('database down');
      },
      () => Promise.reject(new Error('database down')),
      () => ({}) as never,
    ];
    for (const hook of cases) {
      const { router, warnings } = context({ authenticate: hook });
      const step = await beginAuthentication(router, 'realm1', hello({}), SESSION);
      expect(step).toEqual({ kind: 'abort', reason: 'wamp.error.authentication_failed', message: 'authentication failed' });
      expect(warnings).toHaveLength(1);
    }
  });

  it('may answer asynchronously', async () => {
    const { router } = context({ authenticate: async () => ({ authrole: 'user', authid: 'renamed' }) });
    const step = beginAuthentication(router, 'realm1', hello({ authid: 'joe' }), SESSION);
    expect(step).toBeInstanceOf(Promise);
    expect(await step).toMatchObject({ kind: 'welcome', authid: 'renamed', authrole: 'user' });
  });
});

describe('ticket', () => {
  it('challenges with [ticket, {}] and gives the hook AUTHENTICATE.Signature as the ticket', async () => {
    const { hook, requests } = recordingHook((request) => (request.method === 'ticket' && request.ticket === 'secret!!!' ? { authrole: 'user' } : false));
    const { router } = context({ authenticate: hook });
    const details = { roles: { caller: {} }, authmethods: ['ticket'], authid: 'joe' };
    const step = challenged(await beginAuthentication(router, 'realm1', hello(details), SESSION));
    expect(step).toMatchObject({ method: 'ticket', extra: {} });
    expect(requests).toEqual([]);
    expect(await step.verify(authenticate('secret!!!'))).toEqual({ kind: 'welcome', authid: 'joe', authrole: 'user', authmethod: 'ticket', authprovider: 'static' });
    expect(requests).toEqual([{ method: 'ticket', realm: 'realm1', authid: 'joe', ticket: 'secret!!!', details }]);
    expect(await step.verify(authenticate('guess'))).toMatchObject({ kind: 'abort', reason: 'wamp.error.authentication_denied' });
  });
});

describe('wampcra', () => {
  const secret = 'prq7+YkJ1/KlW1X0YczMHw==';

  it('builds the challenge the spec asks for, after asking the hook for the secret and role', async () => {
    const { hook, requests } = recordingHook(() => ({ authrole: 'user', authprovider: 'userdb', secret }));
    const { router } = context({ authenticate: hook });
    const step = challenged(await beginAuthentication(router, 'realm1', hello({ authmethods: ['wampcra'], authid: 'peter' }), SESSION));
    expect(requests).toMatchObject([{ method: 'wampcra', realm: 'realm1', authid: 'peter' }]);
    expect(step.method).toBe('wampcra');
    expect(Object.keys(step.extra)).toEqual(['challenge']);
    const challenge = JSON.parse(step.extra.challenge as string) as Dict;
    expect(challenge).toEqual({ authid: 'peter', authrole: 'user', authmethod: 'wampcra', authprovider: 'userdb', nonce: expect.any(String), timestamp: '2024-05-01T12:00:00.000Z', session: SESSION });
    expect(Buffer.from(challenge.nonce as string, 'base64')).toHaveLength(16);
    const again = challenged(await beginAuthentication(router, 'realm1', hello({ authmethods: ['wampcra'], authid: 'peter' }), SESSION));
    expect(JSON.parse(again.extra.challenge as string).nonce).not.toBe(challenge.nonce);
  });

  it("accepts autobahn's and wampy's signatures and denies a wrong secret", async () => {
    const { router } = context({ authenticate: () => ({ authrole: 'user', secret }) });
    const start = () => beginAuthentication(router, 'realm1', hello({ authmethods: ['wampcra'], authid: 'peter' }), SESSION);
    const ab = challenged(await start());
    expect(await ab.verify(authenticate(autobahn.auth_cra.sign(secret, ab.extra.challenge as string)))).toEqual({ kind: 'welcome', authid: 'peter', authrole: 'user', authmethod: 'wampcra', authprovider: 'static' });
    const wy = challenged(await start());
    expect(await wy.verify(authenticate(await wampyCraSign(secret)('wampcra', { challenge: wy.extra.challenge as string })))).toMatchObject({ kind: 'welcome', authid: 'peter' });
    const wrong = challenged(await start());
    expect(await wrong.verify(authenticate(autobahn.auth_cra.sign('not the secret', wrong.extra.challenge as string)))).toMatchObject({ kind: 'abort', reason: 'wamp.error.authentication_denied' });
    // A signature for another challenge (a replay) does not pass either.
    expect(await wrong.verify(authenticate(autobahn.auth_cra.sign(secret, ab.extra.challenge as string)))).toMatchObject({ kind: 'abort', reason: 'wamp.error.authentication_denied' });
  });

  it('salts with PBKDF2-HMAC-SHA256 as the clients do (the fact-sheet check value)', async () => {
    expect(await deriveCraKey('secret123', 'salt123', 1000, 32)).toBe('Eu7CQLfR+/Ffb+275A4s9/6H/RGKYxM4s6IMrsNKzC8=');
    expect(await deriveCraKey('secret123', 'salt123')).toBe(autobahn.auth_cra.derive_key('secret123', 'salt123', 1000, 32));
  });

  it('sends salt, keylen and iterations for salted secrets and verifies both clients against the derived key', async () => {
    const { router } = context({ authenticate: () => ({ authrole: 'user', secret: 'secret123', salt: 'salt123', iterations: 100, keylen: 16 }) });
    const start = () => beginAuthentication(router, 'realm1', hello({ authmethods: ['wampcra'], authid: 'peter' }), SESSION);
    const ab = challenged(await start());
    expect(ab.extra).toEqual({ challenge: expect.any(String), salt: 'salt123', keylen: 16, iterations: 100 });
    const key = autobahn.auth_cra.derive_key('secret123', 'salt123', 100, 16);
    expect(await ab.verify(authenticate(autobahn.auth_cra.sign(key, ab.extra.challenge as string)))).toMatchObject({ kind: 'welcome', authmethod: 'wampcra' });
    const wy = challenged(await start());
    const info = wy.extra as { challenge: string; salt: string; iterations: number; keylen: number };
    expect(await wy.verify(authenticate(await wampyCraSign('secret123')('wampcra', info)))).toMatchObject({ kind: 'welcome' });
    // The unsalted signature (key = the password itself) is not what a salted challenge expects.
    const plain = challenged(await start());
    expect(await plain.verify(authenticate(autobahn.auth_cra.sign('secret123', plain.extra.challenge as string)))).toMatchObject({ kind: 'abort', reason: 'wamp.error.authentication_denied' });
  });

  it('defaults iterations to 1000 and keylen to 32 when only a salt is given', async () => {
    const { router } = context({ authenticate: () => ({ authrole: 'user', secret: 'secret123', salt: 'salt123' }) });
    const step = challenged(await beginAuthentication(router, 'realm1', hello({ authmethods: ['wampcra'], authid: 'peter' }), SESSION));
    expect(step.extra).toMatchObject({ salt: 'salt123', iterations: 1000, keylen: 32 });
    const signature = autobahn.auth_cra.sign('Eu7CQLfR+/Ffb+275A4s9/6H/RGKYxM4s6IMrsNKzC8=', step.extra.challenge as string);
    expect(await step.verify(authenticate(signature))).toMatchObject({ kind: 'welcome' });
  });

  it('fails (logged) when the hook gives no secret, and denies before any challenge when the hook refuses', async () => {
    const failing = context({ authenticate: () => ({ authrole: 'user' }) });
    expect(await beginAuthentication(failing.router, 'realm1', hello({ authmethods: ['wampcra'], authid: 'peter' }), SESSION)).toMatchObject({ kind: 'abort', reason: 'wamp.error.authentication_failed' });
    expect(failing.warnings).toHaveLength(1);
    const { router } = context({ authenticate: () => false });
    expect(await beginAuthentication(router, 'realm1', hello({ authmethods: ['wampcra'], authid: 'nobody' }), SESSION)).toMatchObject({ kind: 'abort', reason: 'wamp.error.authentication_denied' });
  });

  test.prop([fc.string(), fc.string(), fc.string()])('craSignatureMatches accepts exactly the base64 HMAC-SHA256 of the challenge', (key, challenge, other) => {
    const good = createHmac('sha256', key).update(challenge).digest('base64');
    expect(craSignatureMatches(key, challenge, good)).toBe(true);
    expect(craSignatureMatches(key, challenge, other)).toBe(other === good);
  });
});

describe('cryptosign', () => {
  // Advanced Profile "WAMP-Cryptosign", "Test Vectors", the three without channel_id.
  const vectors = [
    {
      privateKey: '4d57d97a68f555696620a6d849c0ce582568518d729eb753dc7c732de2804510',
      challenge: 'ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
      signature:
        'b32675b221f08593213737bef8240e7c15228b07028e19595294678c90d11c0cae80a357331bfc5cc9fb71081464e6e75013517c2cf067ad566a6b7b728e5d03ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
    },
    {
      privateKey: 'd511fe78e23934b3dadb52fcd022974b80bd92bccc7c5cf404e46cc0a8a2f5cd',
      challenge: 'b26c1f87c13fc1da14997f1b5a71995dff8fbe0a62fae8473c7bdbd05bfb607d',
      signature:
        'd4209ad10d5aff6bfbc009d7e924795de138a63515efc7afc6b01b7fe5201372190374886a70207b042294af5bd64ce725cd8dceb344e6d11c09d1aaaf4d660fb26c1f87c13fc1da14997f1b5a71995dff8fbe0a62fae8473c7bdbd05bfb607d',
    },
    {
      privateKey: '6e1fde9cf9e2359a87420b65a87dc0c66136e66945196ba2475990d8a0c3a25b',
      challenge: 'b05e6b8ad4d69abf74aa3be3c0ee40ae07d66e1895b9ab09285a2f1192d562d2',
      signature:
        '7beb282184baadd08f166f16dd683b39cab53816ed81e6955def951cb2ddad1ec184e206746fd82bda075af03711d3d5658fc84a76196b0fa8d1ebc92ef9f30bb05e6b8ad4d69abf74aa3be3c0ee40ae07d66e1895b9ab09285a2f1192d562d2',
    },
  ];

  it('verifies the spec test vectors and rejects them altered', () => {
    for (const vector of vectors) {
      const key = ed25519Key(publicKeyOfSeed(vector.privateKey))!;
      expect(cryptosignSignatureMatches(key, vector.challenge, vector.signature)).toBe(true);
      expect(cryptosignSignatureMatches(key, vector.challenge, vector.signature.toUpperCase())).toBe(true);
      // A flipped signature bit, a trailer that is not the challenge, a short signature.
      const flipped = (vector.signature[0] === '0' ? '1' : '0') + vector.signature.slice(1);
      expect(cryptosignSignatureMatches(key, vector.challenge, flipped)).toBe(false);
      expect(cryptosignSignatureMatches(key, vectors[0]!.challenge === vector.challenge ? vectors[1]!.challenge : vectors[0]!.challenge, vector.signature)).toBe(false);
      expect(cryptosignSignatureMatches(key, vector.challenge, vector.signature.slice(0, 128))).toBe(false);
    }
    // Vector 1's signature under vector 2's key.
    expect(cryptosignSignatureMatches(ed25519Key(publicKeyOfSeed(vectors[1]!.privateKey))!, vectors[0]!.challenge, vectors[0]!.signature)).toBe(false);
  });

  it('signs like the spec vector with both clients (so the flow below tests the real wire format)', () => {
    const vector = vectors[0]!;
    expect(wampyCryptosignSign(vector.privateKey)('cryptosign', { challenge: vector.challenge })).toBe(vector.signature);
    const ab = autobahn as unknown as { nacl: { sign: { keyPair: { fromSeed(seed: Uint8Array): unknown } } }; auth_cryptosign: { sign_challenge(pair: unknown, extra: Dict): string; public_key(pair: unknown): string } };
    const pair = ab.nacl.sign.keyPair.fromSeed(Buffer.from(vector.privateKey, 'hex'));
    expect(ab.auth_cryptosign.public_key(pair)).toBe(publicKeyOfSeed(vector.privateKey));
    expect(ab.auth_cryptosign.sign_challenge(pair, { challenge: vector.challenge })).toBe(vector.signature);
  });

  it('asks the hook with the pubkey, challenges with 32 random bytes and no channel binding, and welcomes a valid signature', async () => {
    const { seed, pubkey } = freshKeyPair();
    const { hook, requests } = recordingHook(() => ({ authrole: 'device' }));
    const { router } = context({ authenticate: hook });
    const details = { roles: { caller: {} }, authmethods: ['cryptosign'], authextra: { pubkey } };
    const step = challenged(await beginAuthentication(router, 'realm1', hello(details), SESSION));
    expect(requests).toEqual([{ method: 'cryptosign', realm: 'realm1', authid: undefined, pubkey, details }]);
    expect(step.method).toBe('cryptosign');
    expect(step.extra).toEqual({ challenge: expect.stringMatching(/^[0-9a-f]{64}$/), channel_binding: null });
    const signature = wampyCryptosignSign(seed)('cryptosign', step.extra as { challenge: string });
    // Without an authid from the client or the hook, the pubkey is the authid ("e.g. the Hex encode public key").
    expect(await step.verify(authenticate(signature))).toEqual({ kind: 'welcome', authid: pubkey, authrole: 'device', authmethod: 'cryptosign', authprovider: 'static' });
  });

  it("uses the hook's authid, else the client's", async () => {
    const { seed, pubkey } = freshKeyPair();
    for (const [answer, expected] of [[{ authrole: 'device', authid: 'dev-7' }, 'dev-7'], [{ authrole: 'device' }, 'client01@example.com']] as const) {
      const { router } = context({ authenticate: () => answer });
      const step = challenged(await beginAuthentication(router, 'realm1', hello({ authmethods: ['cryptosign'], authid: 'client01@example.com', authextra: { pubkey } }), SESSION));
      expect(await step.verify(authenticate(wampyCryptosignSign(seed)('cryptosign', step.extra as { challenge: string })))).toMatchObject({ kind: 'welcome', authid: expected });
    }
  });

  it("denies another key's signature and a signature of an earlier challenge", async () => {
    const mine = freshKeyPair();
    const theirs = freshKeyPair();
    const { router } = context({ authenticate: () => ({ authrole: 'device' }) });
    const start = async () => challenged(await beginAuthentication(router, 'realm1', hello({ authmethods: ['cryptosign'], authextra: { pubkey: mine.pubkey } }), SESSION));
    const first = await start();
    expect(await first.verify(authenticate(wampyCryptosignSign(theirs.seed)('cryptosign', first.extra as { challenge: string })))).toMatchObject({ kind: 'abort', reason: 'wamp.error.authentication_denied' });
    const earlier = wampyCryptosignSign(mine.seed)('cryptosign', first.extra as { challenge: string });
    const second = await start();
    expect(await second.verify(authenticate(earlier))).toMatchObject({ kind: 'abort', reason: 'wamp.error.authentication_denied' });
    expect(await second.verify(authenticate('not hex at all'))).toMatchObject({ kind: 'abort', reason: 'wamp.error.authentication_denied' });
  });

  it('needs a 64-hex pubkey and refuses channel binding, without asking the hook', async () => {
    const { hook, requests } = recordingHook(() => ({ authrole: 'device' }));
    const { router } = context({ authenticate: hook });
    const { pubkey } = freshKeyPair();
    for (const authextra of [{}, { pubkey: pubkey.slice(2) }, { pubkey: 'zz' + pubkey.slice(2) }, { pubkey, channel_binding: 'tls-unique' }]) {
      expect(await beginAuthentication(router, 'realm1', hello({ authmethods: ['cryptosign'], authextra }), SESSION)).toMatchObject({ kind: 'abort', reason: 'wamp.error.no_matching_auth_method' });
    }
    expect(requests).toEqual([]);
    // With another method offered, the router skips forward to it.
    expect(await beginAuthentication(router, 'realm1', hello({ authmethods: ['cryptosign', 'anonymous'] }), SESSION)).toMatchObject({ kind: 'welcome', authmethod: 'anonymous' });
  });

  it('denies a public key the hook does not know', async () => {
    const { pubkey } = freshKeyPair();
    const { router } = context({ authenticate: () => undefined });
    expect(await beginAuthentication(router, 'realm1', hello({ authmethods: ['cryptosign'], authextra: { pubkey } }), SESSION)).toMatchObject({ kind: 'abort', reason: 'wamp.error.authentication_denied' });
  });

  test.prop([fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.nat({ max: 95 }), fc.integer({ min: 1, max: 255 })], { numRuns: 50 })(
    'a signature verifies, and any changed byte of signature or trailer breaks it',
    (challengeBytes, at, xor) => {
      const { privateKey, pubkey } = freshKeyPair();
      const challenge = Buffer.from(challengeBytes).toString('hex');
      const signature = Buffer.concat([edSign(null, challengeBytes, privateKey), challengeBytes]);
      const key = ed25519Key(pubkey)!;
      expect(cryptosignSignatureMatches(key, challenge, signature.toString('hex'))).toBe(true);
      signature[at]! ^= xor;
      expect(cryptosignSignatureMatches(key, challenge, signature.toString('hex'))).toBe(false);
    },
  );
});

describe('through a session', () => {
  const ticketHook: AuthenticateHook = async (request) => (request.method === 'ticket' && request.authid === 'joe' && request.ticket === 'open sesame' ? { authrole: 'user', authprovider: 'tickets' } : false);
  const settle = () => new Promise((resolve) => setImmediate(resolve));

  it('runs HELLO, CHALLENGE, AUTHENTICATE, WELCOME with the auth keys in WELCOME.Details', async () => {
    const rig = createRig({ authenticate: ticketHook });
    const client = await rig.open();
    client.send([MessageType.HELLO, 'realm1', { roles: ALL_ROLES, authmethods: ['ticket'], authid: 'joe' }]);
    await settle();
    expect(client.take()).toEqual([[MessageType.CHALLENGE, 'ticket', {}]]);
    client.send([MessageType.AUTHENTICATE, 'open sesame', {}]);
    await settle();
    const [welcome] = client.take();
    expect(welcome![0]).toBe(MessageType.WELCOME);
    expect(welcome![2]).toMatchObject({ authid: 'joe', authrole: 'user', authmethod: 'ticket', authprovider: 'tickets' });
  });

  it('aborts a wrong ticket with authentication_denied and closes 1008', async () => {
    const rig = createRig({ authenticate: ticketHook });
    const client = await rig.open();
    client.send([MessageType.HELLO, 'realm1', { roles: ALL_ROLES, authmethods: ['ticket'], authid: 'joe' }]);
    await settle();
    client.take();
    client.send([MessageType.AUTHENTICATE, 'guess', {}]);
    await settle();
    expect(client.take()).toEqual([[MessageType.ABORT, { message: 'ticket authentication denied' }, 'wamp.error.authentication_denied']]);
    expect(client.peer.closed?.code).toBe(1008);
  });

  it('aborts a client whose methods the router does not accept', async () => {
    const rig = createRig();
    const client = await rig.open();
    client.send([MessageType.HELLO, 'realm1', { roles: ALL_ROLES, authmethods: ['wampcra'], authid: 'peter' }]);
    await settle();
    expect(client.take()).toEqual([[MessageType.ABORT, { message: 'no acceptable authentication method among: wampcra' }, 'wamp.error.no_matching_auth_method']]);
  });
});
