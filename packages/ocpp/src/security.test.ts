import { describe, expect, it } from 'vitest';
import { createTestRequest } from '@protoplex/core/testing';
import { HandshakeError, type TlsInfo, type UpgradeRequest } from '@protoplex/core';
import { BASIC_CHALLENGE, checkSecurityProfile, refusalHeaders, type SecurityPolicy, type SecurityProfile } from './security.js';

const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

function request(extra: Partial<UpgradeRequest> = {}): UpgradeRequest {
  return createTestRequest({ url: '/ocpp/CP1', params: { identity: 'CP1' }, ...extra });
}

function tls(cn: string | string[], authorized = true): TlsInfo {
  return {
    authorized,
    peerCertificate: { subject: { CN: cn }, issuer: { CN: 'Test CA' }, fingerprint256: 'AA', serialNumber: '01', raw: new Uint8Array() },
  };
}

const policy = (profile: SecurityProfile, matchCertificateCommonName = true): SecurityPolicy => ({ profile, matchCertificateCommonName });

/** The refusal `checkSecurityProfile` throws, or what it returns when it accepts. */
function check(profile: SecurityPolicy, req: UpgradeRequest): { status: number; message: string; headers: Record<string, string> } | { accepted: unknown } {
  try {
    return { accepted: checkSecurityProfile(req, 'CP1', profile) };
  } catch (error) {
    if (!(error instanceof HandshakeError)) throw error;
    return { status: error.status, message: error.message, headers: { ...error.headers } };
  }
}

describe('profile 0', () => {
  it('accepts a station without credentials or TLS', () => {
    expect(check(policy(0), request())).toEqual({ accepted: undefined });
  });

  it('hands on Basic credentials a station sent anyway, and still checks their user-id', () => {
    expect(check(policy(0), request({ headers: { authorization: basic('CP1', 'pw') } }))).toEqual({ accepted: { username: 'CP1', password: 'pw' } });
    expect(check(policy(0), request({ headers: { authorization: basic('CP2', 'pw') } }))).toMatchObject({ status: 401, headers: BASIC_CHALLENGE });
  });

  it('refuses a malformed Basic header with 401 and a challenge', () => {
    expect(check(policy(0), request({ headers: { authorization: 'Basic !!!' } }))).toMatchObject({ status: 401, message: 'malformed Basic credentials', headers: BASIC_CHALLENGE });
  });
});

describe('profile 1', () => {
  it('refuses a missing Basic header with 401 and a challenge', () => {
    expect(check(policy(1), request())).toMatchObject({ status: 401, headers: { 'WWW-Authenticate': expect.stringContaining('Basic') } });
  });

  it('refuses a Basic user-id other than the identity with 401', () => {
    expect(check(policy(1), request({ headers: { authorization: basic('CP2', 'secretsecretsecret') } }))).toMatchObject({ status: 401 });
  });

  it('accepts Basic whose user-id is the identity, without TLS, and returns the credentials', () => {
    expect(check(policy(1), request({ headers: { authorization: basic('CP1', 'secretsecretsecret') } }))).toEqual({ accepted: { username: 'CP1', password: 'secretsecretsecret' } });
  });
});

describe('profile 2', () => {
  it('refuses a connection without TLS with 403, before looking at credentials', () => {
    expect(check(policy(2), request({ headers: { authorization: basic('CP1', 'secretsecretsecret') } }))).toMatchObject({ status: 403 });
    expect(check(policy(2), request())).toMatchObject({ status: 403 });
  });

  it('accepts Basic over TLS, with no client certificate needed', () => {
    expect(check(policy(2), request({ headers: { authorization: basic('CP1', 'secretsecretsecret') }, tls: { authorized: false } }))).toMatchObject({ accepted: { username: 'CP1' } });
  });

  it('refuses TLS without Basic with 401', () => {
    expect(check(policy(2), request({ tls: tls('CP1') }))).toMatchObject({ status: 401, message: 'HTTP Basic authentication required' });
  });
});

describe('profile 3', () => {
  it('refuses a connection without TLS with 403', () => {
    expect(check(policy(3), request())).toMatchObject({ status: 403 });
  });

  it('requires a verified client certificate whose CN is the identity', () => {
    expect(check(policy(3), request({ tls: { authorized: false } }))).toMatchObject({ status: 401, message: 'a verified client certificate is required' });
    expect(check(policy(3), request({ tls: tls('CP1', false) }))).toMatchObject({ status: 401 });
    expect(check(policy(3), request({ tls: tls('CP2') }))).toMatchObject({ status: 401, message: 'the client certificate CN does not match the identity' });
    expect(check(policy(3), request({ tls: tls('CP1') }))).toEqual({ accepted: undefined });
  });

  it('accepts a certificate with several CNs when one of them is the identity', () => {
    expect(check(policy(3), request({ tls: tls(['Other', 'CP1']) }))).toEqual({ accepted: undefined });
  });

  it('accepts any verified certificate when matchCertificateCommonName is false', () => {
    expect(check(policy(3, false), request({ tls: tls('CP2') }))).toEqual({ accepted: undefined });
    expect(check(policy(3, false), request({ tls: tls('CP2', false) }))).toMatchObject({ status: 401 });
  });
});

describe('refusalHeaders', () => {
  const credentials = { username: 'CP1', password: 'pw' };

  it('challenges for Basic when the profile uses it or the station sent credentials', () => {
    expect(refusalHeaders(policy(1), undefined)).toEqual(BASIC_CHALLENGE);
    expect(refusalHeaders(policy(2), undefined)).toEqual(BASIC_CHALLENGE);
    expect(refusalHeaders(policy(0), credentials)).toEqual(BASIC_CHALLENGE);
    expect(refusalHeaders(policy(3), credentials)).toEqual(BASIC_CHALLENGE);
  });

  it('sends no challenge where Basic is not in play', () => {
    expect(refusalHeaders(policy(0), undefined)).toEqual({});
    expect(refusalHeaders(policy(3), undefined)).toEqual({});
  });
});
