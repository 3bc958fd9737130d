import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { aorOf, canonicalEscapes, formatUri, isIPv4, isIPv6, isHostname, parseUri, unescape, uriEquals, uriScheme, UNRESERVED, USER_UNRESERVED, type SipUri } from './uri.js';

describe('parseUri', () => {
  it('reads the RFC 3261 §19.1.3 examples', () => {
    expect(parseUri('sip:alice@atlanta.com')).toEqual({ scheme: 'sip', user: 'alice', host: 'atlanta.com', params: {}, headers: {} });
    expect(parseUri('sip:alice:secretword@atlanta.com;transport=tcp')).toEqual({ scheme: 'sip', user: 'alice', password: 'secretword', host: 'atlanta.com', params: { transport: 'tcp' }, headers: {} });
    expect(parseUri('sips:alice@atlanta.com?subject=project%20x&priority=urgent')).toEqual({ scheme: 'sips', user: 'alice', host: 'atlanta.com', params: {}, headers: { subject: 'project%20x', priority: 'urgent' } });
    expect(parseUri('sip:+1-212-555-1212:1234@gateway.com;user=phone')).toMatchObject({ user: '+1-212-555-1212', password: '1234', host: 'gateway.com', params: { user: 'phone' } });
    expect(parseUri('sips:1212@gateway.com')).toMatchObject({ scheme: 'sips', user: '1212', host: 'gateway.com' });
    expect(parseUri('sip:alice@192.0.2.4')).toMatchObject({ host: '192.0.2.4' });
    expect(parseUri('sip:atlanta.com;method=REGISTER?to=alice%40atlanta.com')).toEqual({ scheme: 'sip', host: 'atlanta.com', params: { method: 'REGISTER' }, headers: { to: 'alice%40atlanta.com' } });
    expect(parseUri('sip:alice;day=tuesday@atlanta.com')).toMatchObject({ user: 'alice;day=tuesday', host: 'atlanta.com', params: {} });
  });

  it('reads ports, IPv6 references, value-less params and lower-cases scheme and param names', () => {
    expect(parseUri('SIP:bob@[2001:db8::1]:5061;LR;Transport=WS')).toEqual({ scheme: 'sip', user: 'bob', host: '[2001:db8::1]', port: 5061, params: { lr: null, transport: 'WS' }, headers: {} });
    expect(parseUri('sip:[::ffff:192.0.2.1]')).toMatchObject({ host: '[::ffff:192.0.2.1]' });
    expect(parseUri('sip:example.com.')).toMatchObject({ host: 'example.com.' });
    expect(parseUri('sip:j2hs7f.invalid;transport=ws')).toMatchObject({ host: 'j2hs7f.invalid', params: { transport: 'ws' } });
    expect(parseUri('sip:a@b;x=1;x=2')!.params).toEqual({ x: '1' }); // the first of a repeated name
    expect(parseUri('sip:a@b;%6C%72')!.params).toEqual({ lr: null }); // needless escapes in names are decoded
    expect(parseUri('sip:a@b;__proto__=1')!.params.__proto__).toBe('1'); // a plain key, not the prototype
  });

  it('refuses what the grammar does not allow', () => {
    for (const text of [
      '', 'sip:', 'sip:@example.com', 'sip:a@', 'sip:a@@b', 'sip:a@b@c', 'sip: a@b', 'sip:a@b ', 'sip:a b@c',
      'sip:a@b;', 'sip:a@b;=x', 'sip:a@b;x=', 'sip:a@b?', 'sip:a@b?x', 'sip:a@b?=1', 'sip:a@b:', 'sip:a@b:65536', 'sip:a@b:x',
      'sip:a%4@b', 'sip:a%zz@b', 'sip:a@[::1', 'sip:a@[1::2::3]', 'sip:a@[12345::]', 'sip:a@-b.com', 'sip:a@b-.com', 'sip:a@b..com',
      'sip:a@1.2.3.256', 'sip:a@192.0.2', 'sip:a@example.123', 'sip:ä@b', 'sip:a@b;x=ä', 'sip:<a@b>', 'tel:+1234', 'http://x', 'sipx:a@b',
      'sip:a@b"c', 'sip:a@b;x="y"',
    ]) {
      expect(parseUri(text), text).toBeUndefined();
    }
  });
});

describe('host checks', () => {
  it('follow the §25.1 productions', () => {
    expect(isIPv4('192.0.2.1')).toBe(true);
    expect(isIPv4('255.255.255.255')).toBe(true);
    expect(isIPv4('1.2.3')).toBe(false);
    expect(isIPv4('1.2.3.4.5')).toBe(false);
    expect(isIPv4('1..3.4')).toBe(false);
    expect(isIPv4('1234.1.1.1')).toBe(false);
    for (const v6 of ['::', '::1', '2001:db8::', '2001:db8:0:0:0:0:0:1', '::ffff:1.2.3.4', '1:2:3:4:5:6:1.2.3.4', 'fe80::1:2']) expect(isIPv6(v6), v6).toBe(true);
    for (const v6 of ['', ':', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '1::2::3', '12345::', 'g::', '1:2:3:4:5:6:7:1.2.3.4', '::1.2.3', 'fe80::1%eth0']) expect(isIPv6(v6), v6).toBe(false);
    expect(isHostname('a')).toBe(true);
    expect(isHostname('a-b.c2')).toBe(true);
    expect(isHostname('1a.com')).toBe(true);
    expect(isHostname('a.1com')).toBe(false); // toplabel starts with ALPHA
    expect(isHostname('a_b.com')).toBe(false);
  });
});

describe('uriScheme', () => {
  it('names the scheme of any well-formed absoluteURI, and of valid SIP URIs only', () => {
    expect(uriScheme('sip:a@b')).toBe('sip');
    expect(uriScheme('SIPS:a@b')).toBe('sips');
    expect(uriScheme('sip:a b')).toBeUndefined();
    expect(uriScheme('tel:+1-201-555-0123')).toBe('tel');
    expect(uriScheme('urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6')).toBe('urn');
    expect(uriScheme('soap.beep://192.0.2.103:3002')).toBe('soap.beep');
    expect(uriScheme('nobodyKnowsThisScheme:totallyopaquecontent')).toBe('nobodyknowsthisscheme');
    for (const text of ['', ':x', '1a:x', 'a:', 'a b:x', 'a:b c', 'a:<b>', 'a:%g0', 'noscheme']) expect(uriScheme(text), text).toBeUndefined();
  });
});

describe('formatUri', () => {
  it('writes back what it read, with lower-case scheme and parameter names', () => {
    for (const text of ['sip:alice@atlanta.com', 'sips:alice:pw@[2001:db8::1]:5061;lr;transport=ws?subject=x%20y&a=', 'sip:example.com;user=phone', 'sip:%75ser@h']) {
      expect(formatUri(parseUri(text)!)).toBe(text);
    }
    expect(formatUri(parseUri('SIP:a@b;LR')!)).toBe('sip:a@b;lr');
  });
});

describe('uriEquals (RFC 3261 §19.1.4)', () => {
  it('holds for the equivalent pairs of §19.1.4', () => {
    expect(uriEquals('sip:%61lice@atlanta.com;transport=TCP', 'sip:alice@AtLanTa.CoM;Transport=tcp')).toBe(true);
    expect(uriEquals('sip:carol@chicago.com', 'sip:carol@chicago.com;newparam=5')).toBe(true);
    expect(uriEquals('sip:carol@chicago.com', 'sip:carol@chicago.com;security=on')).toBe(true);
    expect(uriEquals('sip:carol@chicago.com;newparam=5', 'sip:carol@chicago.com;security=on')).toBe(true);
    expect(uriEquals('sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com', 'sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com')).toBe(true);
    expect(uriEquals('sip:alice@atlanta.com?subject=project%20x&priority=urgent', 'sip:alice@atlanta.com?priority=urgent&subject=project%20x')).toBe(true);
  });

  it('fails for the non-equivalent pairs of §19.1.4', () => {
    expect(uriEquals('SIP:ALICE@AtLanTa.CoM;Transport=udp', 'sip:alice@AtLanTa.CoM;Transport=UDP')).toBe(false); // user case
    expect(uriEquals('sip:bob@biloxi.com', 'sip:bob@biloxi.com:5060')).toBe(false);
    expect(uriEquals('sip:bob@biloxi.com', 'sip:bob@biloxi.com;transport=udp')).toBe(false);
    expect(uriEquals('sip:bob@biloxi.com', 'sip:bob@biloxi.com:6000;transport=tcp')).toBe(false);
    expect(uriEquals('sip:carol@chicago.com', 'sip:carol@chicago.com?Subject=next%20meeting')).toBe(false);
    expect(uriEquals('sip:bob@phone21.boxesbybob.com', 'sip:bob@192.0.2.4')).toBe(false);
  });

  it('applies the parameter rules: user, ttl, method and maddr must be in both', () => {
    for (const param of ['user=phone', 'ttl=1', 'method=INVITE', 'maddr=192.0.2.1']) expect(uriEquals('sip:a@b', `sip:a@b;${param}`), param).toBe(false);
    expect(uriEquals('sip:a@b;lr', 'sip:a@b')).toBe(true);
    expect(uriEquals('sip:a@b;lr', 'sip:a@b;lr=on')).toBe(false);
    expect(uriEquals('sip:a@b;x=%41', 'sip:a@b;x=a')).toBe(true);
    expect(uriEquals('sip:a:p@b', 'sip:a@b')).toBe(false);
    expect(uriEquals('sip:a:p@b', 'sip:a:%70@b')).toBe(true);
    expect(uriEquals('sip:a@b', 'sips:a@b')).toBe(false);
    expect(uriEquals('sip:b', 'sip:a@b')).toBe(false);
  });

  it('compares other schemes as text only', () => {
    expect(uriEquals('tel:+123', 'tel:+123')).toBe(true);
    expect(uriEquals('tel:+123', 'tel:+124')).toBe(false);
    expect(uriEquals('sip:a@b', 'tel:+1')).toBe(false);
  });
});

describe('aorOf', () => {
  it('is scheme:user@host with the host lower-cased and nothing else', () => {
    expect(aorOf('sip:alice@EXAMPLE.com:5060;transport=ws?x=y')).toBe('sip:alice@example.com');
    expect(aorOf('sips:Alice@example.com')).toBe('sips:Alice@example.com'); // user stays case-sensitive
    expect(aorOf('sip:%61lice@example.com')).toBe('sip:alice@example.com');
    expect(aorOf('sip:a%3ab@example.com')).toBe('sip:a%3Ab@example.com'); // ":" must stay escaped
    expect(aorOf('sip:example.com')).toBe('sip:example.com');
    expect(aorOf('tel:+1')).toBeUndefined();
    expect(aorOf(parseUri('sip:bob@Biloxi.COM')!)).toBe('sip:bob@biloxi.com');
  });
});

describe('escapes', () => {
  it('canonicalEscapes decodes only what needs no escape, once', () => {
    expect(canonicalEscapes('%75se%72', UNRESERVED | USER_UNRESERVED)).toBe('user');
    expect(canonicalEscapes('a%3ab%40c', UNRESERVED | USER_UNRESERVED)).toBe('a%3Ab%40c');
    expect(canonicalEscapes('v%2541', UNRESERVED)).toBe('v%2541');
    expect(canonicalEscapes('%e2%82%ac', UNRESERVED)).toBe('%E2%82%AC');
    expect(canonicalEscapes('100%', UNRESERVED)).toBe('100%');
  });

  it('unescape decodes UTF-8 and leaves broken escapes alone', () => {
    expect(unescape('I%20have%20spaces')).toBe('I have spaces');
    expect(unescape('%E2%82%AC')).toBe('€');
    expect(unescape('%zz%4')).toBe('%zz%4');
    expect(unescape('null-%00-null')).toBe('null-\0-null');
    expect(unescape('é%41')).toBe('éA');
  });
});

// Generators for URIs the grammar allows.
const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,5}[a-z0-9])?$/);
const topLabel = fc.stringMatching(/^[a-z]([a-z0-9-]{0,5}[a-z0-9])?$/);
const hostname = fc.tuple(fc.array(label, { maxLength: 2 }), topLabel).map(([labels, top]) => [...labels, top].join('.'));
const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((parts) => parts.join('.'));
const ipv6 = fc.ipV6().map((address) => `[${address}]`);
const hostArbitrary = fc.oneof(hostname, ipv4, ipv6);
const escaped = fc.integer({ min: 0, max: 255 }).map((byte) => `%${byte.toString(16).padStart(2, '0').toUpperCase()}`);
const userChar = fc.oneof(fc.constantFrom(...'abcXYZ019-_.!~*\'()&=+$,;?/'.split('')), escaped);
const paramChar = fc.oneof(fc.constantFrom(...'abcXYZ019-_.!~*\'()[]/:&+$'.split('')), escaped);
const hnvChar = fc.oneof(fc.constantFrom(...'abcXYZ019-_.!~*\'()[]/?:+$'.split('')), escaped);
const chars = (char: fc.Arbitrary<string>, minLength: number): fc.Arbitrary<string> => fc.array(char, { minLength, maxLength: 8 }).map((list) => list.join(''));
const paramName = fc.stringMatching(/^[a-z][a-z0-9-]{0,6}$/);

const sipUriArbitrary: fc.Arbitrary<SipUri> = fc
  .record(
    {
      scheme: fc.constantFrom('sip', 'sips'),
      user: chars(userChar, 1),
      password: chars(fc.oneof(fc.constantFrom(...'abc019-_.!~*\'()&=+$,'.split('')), escaped), 0),
      host: hostArbitrary,
      port: fc.integer({ min: 0, max: 65535 }),
      params: fc.dictionary(paramName, fc.option(chars(paramChar, 1), { nil: null }), { maxKeys: 3 }),
      headers: fc.dictionary(chars(hnvChar, 1), chars(hnvChar, 0), { maxKeys: 2 }),
    },
    { requiredKeys: ['scheme', 'host', 'params', 'headers'] },
  )
  .map((uri) => {
    const out: SipUri = { scheme: uri.scheme, host: uri.host, params: { ...uri.params }, headers: { ...uri.headers } };
    if (uri.user !== undefined) out.user = uri.user;
    if (uri.user !== undefined && uri.password !== undefined) out.password = uri.password;
    if (uri.port !== undefined) out.port = uri.port;
    return out;
  });

describe('properties', () => {
  test.prop([sipUriArbitrary])('formatUri then parseUri gives the URI back', (uri) => {
    expect(parseUri(formatUri(uri))).toEqual(uri);
  });

  test.prop([sipUriArbitrary])('a URI equals itself, with its host upper-cased, and with a needless escape', (uri) => {
    const text = formatUri(uri);
    expect(uriEquals(text, text)).toBe(true);
    expect(uriEquals(uri, { ...uri, host: uri.host.toUpperCase() })).toBe(true);
    if (uri.user !== undefined) expect(uriEquals(uri, { ...uri, user: `${uri.user}%61` }) === uriEquals(uri, { ...uri, user: `${uri.user}a` })).toBe(true);
    expect(aorOf(text)).toBe(aorOf({ ...uri, host: uri.host.toUpperCase(), port: 1, params: {} }));
  });

  test.prop([fc.string({ unit: 'binary', maxLength: 80 })])('parseUri, uriScheme, uriEquals and aorOf never throw', (text) => {
    expect(() => parseUri(text)).not.toThrow();
    expect(() => uriScheme(text)).not.toThrow();
    expect(() => uriEquals(text, `sip:${text}`)).not.toThrow();
    expect(() => aorOf(`sip:${text}`)).not.toThrow();
    expect(() => unescape(text)).not.toThrow();
  });
});
