import { describe, expect, it } from 'vitest';
import { test, fc } from '@fast-check/vitest';
import { chooseProtocol, parseProtocolOffer } from './negotiation.js';
import { isToken } from './registry/token.js';

const TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const token = fc.string({ unit: fc.constantFrom(...TCHARS.split('')), minLength: 1, maxLength: 20 });
const ows = fc.string({ unit: fc.constantFrom(' ', '\t'), maxLength: 3 });

describe('parseProtocolOffer', () => {
  it.each([
    ['mqtt', ['mqtt']],
    ['v12.stomp, v11.stomp,v10.stomp', ['v12.stomp', 'v11.stomp', 'v10.stomp']],
    [' \tocpp1.6 \t, ocpp2.0.1\t', ['ocpp1.6', 'ocpp2.0.1']],
    [['a', 'b, c'], ['a', 'b', 'c']],
  ] as const)('parses %j', (header, expected) => {
    expect(parseProtocolOffer(header)).toEqual({ ok: true, protocols: expected });
  });

  it('treats an absent header as an empty offer', () => {
    expect(parseProtocolOffer(undefined)).toEqual({ ok: true, protocols: [] });
  });

  it.each([
    ['', 'empty'],
    ['  ', 'empty'],
    ['a,,b', 'empty-element'],
    ['a,', 'empty-element'],
    [',a', 'empty-element'],
    ['a b', 'not-a-token'],
    ['a;b', 'not-a-token'],
    ['"quoted"', 'not-a-token'],
    ['caf\u00e9', 'not-a-token'],
    ['a\u00a0', 'not-a-token'],
    ['x, x', 'duplicate'],
    [['x', 'x'], 'duplicate'],
  ] as const)('refuses %j as %s', (header, fault) => {
    const parsed = parseProtocolOffer(header);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.fault).toBe(fault);
  });

  test.prop([fc.uniqueArray(token, { minLength: 1, maxLength: 8 }), fc.array(fc.tuple(ows, ows), { minLength: 8, maxLength: 8 })])(
    'round-trips any list of distinct tokens with any optional whitespace',
    (tokens, spaces) => {
      const header = tokens.map((t, i) => `${spaces[i]![0]}${t}${spaces[i]![1]}`).join(',');
      expect(parseProtocolOffer(header)).toEqual({ ok: true, protocols: tokens });
    },
  );

  test.prop([fc.string({ maxLength: 40 })])('never throws, and whatever it accepts is a list of distinct tokens', (header) => {
    const parsed = parseProtocolOffer(header);
    if (parsed.ok) {
      expect(parsed.protocols.every(isToken)).toBe(true);
      expect(new Set(parsed.protocols).size).toBe(parsed.protocols.length);
      expect(parsed.protocols.length).toBeGreaterThan(0);
    }
  });

  test.prop([fc.uniqueArray(token, { minLength: 2, maxLength: 5 }), fc.nat()])('refuses any list with an empty element', (tokens, at) => {
    const copy: string[] = [...tokens];
    copy.splice(at % (copy.length + 1), 0, '');
    expect(parseProtocolOffer(copy.join(',')).ok).toBe(false);
  });
});

describe('chooseProtocol', () => {
  it('follows server preference by default', () => {
    expect(chooseProtocol(['v10.stomp', 'v12.stomp'], ['v12.stomp', 'v11.stomp', 'v10.stomp'])).toBe('v12.stomp');
  });
  it('follows client preference when asked', () => {
    expect(chooseProtocol(['v10.stomp', 'v12.stomp'], ['v12.stomp', 'v11.stomp', 'v10.stomp'], 'client')).toBe('v10.stomp');
  });
  it('is case-sensitive (RFC 7936 §2)', () => {
    expect(chooseProtocol(['MQTT'], ['mqtt'])).toBeUndefined();
  });
  it('answers nothing for an empty offer', () => {
    expect(chooseProtocol([], ['mqtt'])).toBeUndefined();
  });
  test.prop([fc.uniqueArray(token, { maxLength: 8 }), fc.uniqueArray(token, { maxLength: 8 }), fc.constantFrom('server', 'client' as const)])(
    'answers exactly one offered and supported id, or none only when there is no overlap',
    (offered, supported, preference) => {
      const chosen = chooseProtocol(offered, supported, preference as 'server' | 'client');
      const overlap = offered.filter((id) => supported.includes(id));
      if (overlap.length === 0) expect(chosen).toBeUndefined();
      else {
        expect(offered).toContain(chosen);
        expect(supported).toContain(chosen);
        if (preference === 'server') expect(chosen).toBe(supported.find((id) => offered.includes(id)));
        else expect(chosen).toBe(overlap[0]);
      }
    },
  );
});
