import { describe, expect, it } from 'vitest';
import { createTestRequest } from '@protoplex/core/testing';
import { HandshakeError, type TlsInfo, type UpgradeRequest } from '@protoplex/core';
import { ocpp, ocppDefaults, type AuthenticateInfo, type OcppOptions } from './adapter.js';
import type { OcppVersion } from './constants.js';

const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

function request(identity: string | undefined, extra: Partial<UpgradeRequest> = {}): UpgradeRequest {
  return createTestRequest({ url: `/ocpp/${identity ?? ''}`, params: identity === undefined ? {} : { identity }, ...extra });
}

function tls(cn: string, authorized = true): TlsInfo {
  return {
    authorized,
    peerCertificate: { subject: { CN: cn }, issuer: { CN: 'Test CA' }, fingerprint256: 'AA', serialNumber: '01', raw: new Uint8Array() },
  };
}

async function refusal(options: OcppOptions, req: UpgradeRequest, protocol: OcppVersion = 'ocpp2.0.1'): Promise<{ status: number; message: string; headers: Record<string, string> } | 'accepted'> {
  try {
    await ocpp(options).authorize!(req, protocol);
    return 'accepted';
  } catch (error) {
    if (!(error instanceof HandshakeError)) throw error;
    return { status: error.status, message: error.message, headers: { ...error.headers } };
  }
}

describe('ocpp()', () => {
  it('serves ocpp2.1, ocpp2.0.1 and ocpp1.6, best first, under the name "ocpp"', () => {
    const csms = ocpp();
    expect(csms.name).toBe('ocpp');
    expect(csms.protocols).toEqual(['ocpp2.1', 'ocpp2.0.1', 'ocpp1.6']);
  });

  it('serves the configured versions in the given order', () => {
    expect(ocpp({ versions: ['ocpp1.6', 'ocpp2.0.1'] }).protocols).toEqual(['ocpp1.6', 'ocpp2.0.1']);
  });

  it('takes the default of an option given as undefined', async () => {
    const csms = ocpp({ versions: undefined, securityProfile: undefined, heartbeatInterval: undefined });
    expect(csms.protocols).toEqual(ocppDefaults.versions);
    await expect(csms.authorize!(request('CP1'), 'ocpp2.0.1')).resolves.toEqual({ identity: 'CP1' });
  });

  it('refuses an unknown version at creation', () => {
    expect(() => ocpp({ versions: ['ocpp3.0' as OcppVersion] })).toThrow(TypeError);
  });
});

describe('authorize', () => {
  it('accepts any valid identity by default and returns it as the connection auth', async () => {
    await expect(ocpp().authorize!(request('CP1'), 'ocpp2.0.1')).resolves.toEqual({ identity: 'CP1' });
  });

  it('refuses a malformed identity with 400', async () => {
    expect(await refusal({}, request('bad:id'))).toMatchObject({ status: 400 });
    expect(await refusal({}, request('x'.repeat(49)))).toMatchObject({ status: 400 });
  });

  it('refuses a request without an identity with 404', async () => {
    expect(await refusal({}, request(undefined))).toMatchObject({ status: 404 });
  });

  it('applies the security profile before authenticate (rules and their tests: security.ts)', async () => {
    let called = false;
    const result = await refusal({ securityProfile: 1, authenticate: () => (called = true) }, request('CP1'));
    expect(result).toMatchObject({ status: 401, headers: { 'WWW-Authenticate': expect.stringContaining('Basic') } });
    expect(called).toBe(false);
    expect(await refusal({ securityProfile: 2 }, request('CP1', { headers: { authorization: basic('CP1', 'secretsecretsecret') } }))).toMatchObject({ status: 403 });
  });

  it('profile 1: passes the password to authenticate and accepts when it returns true', async () => {
    const seen: AuthenticateInfo[] = [];
    const result = await refusal(
      { securityProfile: 1, authenticate: (info) => (seen.push(info), info.password === 'secretsecretsecret') },
      request('CP1', { headers: { authorization: basic('CP1', 'secretsecretsecret') } }),
    );
    expect(result).toBe('accepted');
    expect(seen[0]).toMatchObject({ identity: 'CP1', protocol: 'ocpp2.0.1', password: 'secretsecretsecret', certificate: undefined });
  });

  it('refuses with 401 when authenticate returns false and 404 when it returns "unknown"', async () => {
    const req = request('CP1', { headers: { authorization: basic('CP1', 'wrongwrongwrong!') } });
    expect(await refusal({ authenticate: () => false }, req)).toMatchObject({ status: 401 });
    expect(await refusal({ authenticate: () => 'unknown' }, req)).toMatchObject({ status: 404 });
  });

  it('keeps the status of a HandshakeError thrown by authenticate, and answers 500 for other throws', async () => {
    expect(await refusal({ authenticate: () => { throw new HandshakeError(403, 'banned'); } }, request('CP1'))).toMatchObject({ status: 403 });
    expect(await refusal({ authenticate: () => { throw new Error('db down'); } }, request('CP1'))).toMatchObject({ status: 500 });
  });

  it('passes the verified certificate to authenticate (profile 3)', async () => {
    const seen: AuthenticateInfo[] = [];
    const certificate = tls('CP1');
    expect(await refusal({ securityProfile: 3, authenticate: (info) => void seen.push(info) }, request('CP1', { tls: certificate }))).toBe('accepted');
    expect(seen[0]).toMatchObject({ identity: 'CP1', password: undefined, certificate });
  });

  it('challenges for Basic on a 401 from authenticate only where Basic is in play', async () => {
    const withCredentials = request('CP1', { headers: { authorization: basic('CP1', 'wrongwrongwrong!') } });
    expect(await refusal({ authenticate: () => false }, withCredentials)).toMatchObject({ status: 401, headers: { 'WWW-Authenticate': expect.stringContaining('Basic') } });
    expect(await refusal({ authenticate: () => false }, request('CP1'))).toEqual({ status: 401, message: 'bad credentials', headers: {} });
  });

  it('refuses a second connection with 409 when duplicate is "refuse"', async () => {
    const { createTestHarness } = await import('@protoplex/core/testing');
    const csms = ocpp({ duplicate: 'refuse' });
    await createTestHarness().connect(csms, { protocol: 'ocpp1.6', request: { params: { identity: 'CP1' } } });
    await expect(csms.authorize!(request('CP1'), 'ocpp1.6')).rejects.toMatchObject({ status: 409 });
  });
});
