import { describe, expect, it } from 'vitest';
import { identityProblem, parseBasicAuth } from './identity.js';

describe('identityProblem', () => {
  it('accepts identifierString identities in 2.x', () => {
    expect(identityProblem('CP-001_a=b+c|d@e.f*', 'ocpp2.0.1')).toBeUndefined();
  });
  it('refuses ":" (2.0 Part 4 errata: the identity is the Basic user-id)', () => {
    expect(identityProblem('CP:1', 'ocpp2.1')).toMatch(/only use|must use/);
    expect(identityProblem('CP:1', 'ocpp1.6')).toMatch(/without ":"/);
  });
  it('refuses more than 48 characters and the empty identity', () => {
    expect(identityProblem('x'.repeat(48), 'ocpp1.6')).toBeUndefined();
    expect(identityProblem('x'.repeat(49), 'ocpp1.6')).toMatch(/48/);
    expect(identityProblem('', 'ocpp2.0.1')).toMatch(/empty/);
  });
  it('refuses spaces, controls and non-ASCII', () => {
    for (const identity of ['a b', 'a\u0000', 'é', 'a\n']) {
      expect(identityProblem(identity, 'ocpp1.6'), identity).toBeDefined();
      expect(identityProblem(identity, 'ocpp2.0.1'), identity).toBeDefined();
    }
  });
  it('accepts characters outside identifierString in 1.6 when printable', () => {
    expect(identityProblem('CP#1~(x)', 'ocpp1.6')).toBeUndefined();
    expect(identityProblem('CP#1~(x)', 'ocpp2.0.1')).toBeDefined();
  });
});

describe('parseBasicAuth', () => {
  const basic = (text: string): string => `Basic ${Buffer.from(text).toString('base64')}`;
  it('reads user-id and password, splitting at the first colon', () => {
    expect(parseBasicAuth(basic('CP1:pa:ss'))).toEqual({ username: 'CP1', password: 'pa:ss' });
  });
  it('returns undefined without a header or for another scheme', () => {
    expect(parseBasicAuth(undefined)).toBeUndefined();
    expect(parseBasicAuth('Bearer abc')).toBeUndefined();
  });
  it('returns null for a malformed Basic header', () => {
    expect(parseBasicAuth('Basic !!!')).toBeNull();
    expect(parseBasicAuth(basic('nocolon'))).toBeNull();
  });
});
