/**
 * The pre-upgrade decision without sockets: request checks, Origin, negotiation, authorize, and
 * a property test over arbitrary Sec-WebSocket-Protocol values.
 */
import { describe, expect, it } from 'vitest';
import { fc, test as prop } from '@fast-check/vitest';
import { HandshakeError, type UpgradeRequest } from '@protoplex/core';
import { echo } from './_test-adapters.js';
import { KEY } from './_test-utils.js';
import {
  checkUpgradeHeaders,
  evaluateHandshake,
  readTlsInfo,
  type HandshakeEnvironment,
  type HandshakeInput,
  type HandshakeOutcome,
} from './handshake.js';
import { compileRoutes } from './routes.js';

const baseHeaders = {
  host: 'x',
  upgrade: 'websocket',
  connection: 'Upgrade',
  'sec-websocket-key': KEY,
  'sec-websocket-version': '13',
};

function input(headers: Record<string, string | string[] | undefined> = {}, url = '/', method = 'GET'): HandshakeInput {
  return { method, url, headers: { ...baseHeaders, ...headers } as HandshakeInput['headers'], socket: { remoteAddress: '10.0.0.1', remotePort: 4242 } };
}

function env(overrides: Partial<HandshakeEnvironment> = {}, adapter = echo()): HandshakeEnvironment {
  return {
    routes: compileRoutes([{ path: '/', adapters: [adapter] }]),
    isShuttingDown: () => false,
    ...overrides,
  };
}

function sync(outcome: HandshakeOutcome | Promise<HandshakeOutcome>): HandshakeOutcome {
  if (outcome instanceof Promise) throw new Error('expected a synchronous outcome');
  return outcome;
}

describe('checkUpgradeHeaders', () => {
  it('accepts a valid RFC 6455 §4.2.1 request, tolerating list-valued Upgrade and Connection', () => {
    expect(checkUpgradeHeaders('GET', baseHeaders)).toBeUndefined();
    expect(checkUpgradeHeaders('GET', { ...baseHeaders, upgrade: 'WebSocket', connection: 'keep-alive, Upgrade' })).toBeUndefined();
  });

  it('refuses HTTP/1.0', () => {
    expect(checkUpgradeHeaders('GET', baseHeaders, '1.0')).toMatchObject({ status: 400, reason: 'bad_request' });
    expect(checkUpgradeHeaders('GET', baseHeaders, '1.1')).toBeUndefined();
  });

  it.each([
    ['POST', {}, 400, 'bad_request'],
    ['GET', { upgrade: undefined }, 400, 'bad_request'],
    ['GET', { upgrade: 'h2c' }, 400, 'bad_request'],
    ['GET', { connection: 'keep-alive' }, 400, 'bad_request'],
    ['GET', { 'sec-websocket-key': undefined }, 400, 'bad_request'],
    ['GET', { 'sec-websocket-key': 'AAAAAAAAAAAAAAAAAAAAAA=' }, 400, 'bad_request'],
    ['GET', { 'sec-websocket-key': `${KEY}, ${KEY}` }, 400, 'bad_request'],
    ['GET', { 'sec-websocket-version': '8' }, 426, 'version'],
    ['GET', { 'sec-websocket-version': undefined }, 426, 'version'],
    ['GET', { 'sec-websocket-version': '13, 8' }, 426, 'version'],
  ] as const)('%s %j -> %i', (method, headers, status, reason) => {
    const refusal = checkUpgradeHeaders(method, { ...baseHeaders, ...headers });
    expect(refusal).toMatchObject({ status, reason });
    if (status === 426) expect(refusal!.headers).toMatchObject({ 'Sec-WebSocket-Version': '13' });
  });
});

describe('evaluateHandshake', () => {
  it('accepts synchronously when nothing is async, with the request adapters see', () => {
    const outcome = sync(evaluateHandshake(input({ 'sec-websocket-protocol': 'echo2.test', origin: 'https://a' }, '/?q=1'), env()));
    expect(outcome.type).toBe('accept');
    if (outcome.type !== 'accept') return;
    expect(outcome.protocol).toBe('echo2.test');
    expect(outcome.registered).toBe(false);
    expect(outcome.request).toMatchObject({ url: '/?q=1', path: '/', params: {}, remoteAddress: '10.0.0.1', remotePort: 4242 });
    expect(outcome.request.query.get('q')).toBe('1');
    expect(outcome.request.tls).toBeUndefined();
  });

  it('refuses with 503 while shutting down, before anything else', () => {
    expect(sync(evaluateHandshake(input({}, '/', 'POST'), env({ isShuttingDown: () => true })))).toMatchObject({ status: 503, reason: 'shutting_down' });
  });

  it('maps negotiation refusals to their reasons', () => {
    expect(sync(evaluateHandshake(input({ 'sec-websocket-protocol': 'a,,b' }), env()))).toMatchObject({ status: 400, reason: 'malformed_offer', adapterName: '' });
    expect(sync(evaluateHandshake(input({ 'sec-websocket-protocol': 'zzz' }), env()))).toMatchObject({ status: 400, reason: 'no_match' });
  });

  it('checks Origin against a list and a predicate', () => {
    const list = env({ allowedOrigins: ['https://ok.example'] });
    expect(sync(evaluateHandshake(input({ 'sec-websocket-protocol': 'echo.test', origin: 'https://no.example' }), list))).toMatchObject({ status: 403, reason: 'origin' });
    expect(sync(evaluateHandshake(input({ 'sec-websocket-protocol': 'echo.test', origin: 'https://ok.example' }), list)).type).toBe('accept');
    const predicate = env({ allowedOrigins: (_origin, request: UpgradeRequest) => request.remoteAddress === '10.0.0.1' });
    expect(sync(evaluateHandshake(input({ 'sec-websocket-protocol': 'echo.test', origin: 'x' }), predicate)).type).toBe('accept');
  });

  it('turns a thrown HandshakeError into its status and headers, anything else into 500', async () => {
    const adapter = echo({
      authorize: (request) => {
        if (request.headers.authorization === undefined) throw new HandshakeError(401, 'who are you', { headers: { 'WWW-Authenticate': 'Basic' } });
        if (request.headers.authorization === 'boom') throw new TypeError('oops');
        return Promise.resolve('ok');
      },
    });
    const e = env({}, adapter);
    expect(sync(evaluateHandshake(input({ 'sec-websocket-protocol': 'echo.test' }), e))).toMatchObject({
      status: 401,
      reason: 'unauthorized',
      adapterName: 'echo',
      headers: { 'WWW-Authenticate': 'Basic' },
    });
    const crashed = sync(evaluateHandshake(input({ 'sec-websocket-protocol': 'echo.test', authorization: 'boom' }), e));
    expect(crashed).toMatchObject({ status: 500, reason: 'error', message: 'Internal server error' });
    expect(crashed.type === 'refuse' && crashed.error).toBeInstanceOf(TypeError);
    const ok = await evaluateHandshake(input({ 'sec-websocket-protocol': 'echo.test', authorization: 'x' }), e);
    expect(ok).toMatchObject({ type: 'accept', auth: 'ok' });
  });

  it('refuses with 503 when shutdown starts during an async authorize', async () => {
    let down = false;
    const adapter = echo({ authorize: async () => 'late' });
    const pending = evaluateHandshake(input({ 'sec-websocket-protocol': 'echo.test' }), env({ isShuttingDown: () => down }, adapter));
    down = true;
    expect(await pending).toMatchObject({ status: 503, reason: 'shutting_down', adapterName: 'echo' });
  });

  it('waits for adapter setup and answers 503 if it failed', async () => {
    const failed = Promise.reject(new Error('no db'));
    failed.catch(() => {});
    const outcome = await evaluateHandshake(input({ 'sec-websocket-protocol': 'echo.test' }), env({ pendingSetup: () => failed }));
    expect(outcome).toMatchObject({ status: 503, reason: 'error' });
  });
});

describe('readTlsInfo', () => {
  it('is undefined over plain TCP and reads authorized, error and certificate over TLS', () => {
    expect(readTlsInfo({ remoteAddress: '1.2.3.4' })).toBeUndefined();
    const raw = Buffer.from([1, 2, 3]);
    const info = readTlsInfo({
      encrypted: true,
      authorized: false,
      authorizationError: new Error('UNABLE_TO_VERIFY_LEAF_SIGNATURE') as never,
      getPeerCertificate: (() => ({ subject: { CN: 'CP1' }, issuer: { CN: 'CA' }, fingerprint256: 'AB:CD', serialNumber: '01', raw })) as never,
    });
    expect(info).toEqual({
      authorized: false,
      authorizationError: 'Error: UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      peerCertificate: { subject: { CN: 'CP1' }, issuer: { CN: 'CA' }, fingerprint256: 'AB:CD', serialNumber: '01', raw },
    });
    expect(readTlsInfo({ encrypted: true, authorized: true, getPeerCertificate: (() => ({})) as never })).toEqual({ authorized: true });
  });
});

describe('property: any Sec-WebSocket-Protocol value', () => {
  const adapter = echo();
  const e = env({}, adapter);
  const served = ['echo.test', 'echo2.test'];
  const element = fc.oneof(
    fc.constantFrom(...served, 'ECHO.test', 'x', ''),
    fc.string({ maxLength: 8 }),
    fc.stringMatching(/^[!-~]{1,8}$/),
  );
  const header = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc
      .tuple(fc.array(element, { minLength: 1, maxLength: 5 }), fc.constantFrom(',', ', ', ' , ', ',\t', ',,'))
      .map(([parts, separator]) => parts.join(separator)),
    fc.array(fc.constantFrom(...served, 'x', ''), { minLength: 1, maxLength: 3 }),
  );

  prop.prop([header], { numRuns: 1000 })('upgrades with exactly one offered token or answers 4xx, never throws', (value) => {
    const outcome = sync(evaluateHandshake(input({ 'sec-websocket-protocol': value }), e));
    if (outcome.type === 'accept') {
      const offered = (typeof value === 'string' ? value : value.join(',')).split(',').map((s) => s.replace(/^[ \t]+|[ \t]+$/g, ''));
      expect(served).toContain(outcome.protocol);
      expect(offered).toContain(outcome.protocol);
    } else {
      expect(outcome.status).toBeGreaterThanOrEqual(400);
      expect(outcome.status).toBeLessThan(500);
      expect(outcome.reason === 'malformed_offer' || outcome.reason === 'no_match').toBe(true);
    }
  });
});
