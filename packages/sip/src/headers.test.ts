import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  formatNameAddr,
  formatVia,
  headerParam,
  isCallId,
  isRouteList,
  isToken,
  parseAuthorization,
  parseContacts,
  parseCSeq,
  parseDigits,
  parseNameAddr,
  parseParams,
  parseRoutes,
  parseVia,
  quote,
  splitHeaderValues,
  tagOf,
  trimWs,
  unquote,
  type NameAddr,
  type Via,
} from './headers.js';

describe('splitHeaderValues', () => {
  it('splits at commas outside quotes and angle brackets, keeping empty elements', () => {
    expect(splitHeaderValues('a, b ,c')).toEqual(['a', 'b', 'c']);
    expect(splitHeaderValues('"Bell, Alexander" <sip:a@b>, <sip:c@d;x=1,2>')).toEqual(['"Bell, Alexander" <sip:a@b>', '<sip:c@d;x=1,2>']);
    expect(splitHeaderValues('"a\\", b" <sip:a@b>, c')).toEqual(['"a\\", b" <sip:a@b>', 'c']);
    expect(splitHeaderValues('a,,b,')).toEqual(['a', '', 'b', '']);
    expect(splitHeaderValues('')).toEqual(['']);
    expect(splitHeaderValues('"open, x')).toEqual(['"open, x']); // an unbalanced quote is one element
  });

  it('trims only SP and HTAB, never U+FEFF or NBSP', () => {
    expect(splitHeaderValues('\ufeffa ,\u00a0b')).toEqual(['\ufeffa', '\u00a0b']);
    expect(trimWs(' \t\ufeffx\u00a0 \t')).toBe('\ufeffx\u00a0');
  });
});

describe('quote / unquote', () => {
  it('round-trips any text without CR and LF', () => {
    expect(quote('Bell, "Al" \\ x')).toBe('"Bell, \\"Al\\" \\\\ x"');
    expect(unquote(quote('Bell, "Al" \\ x'))).toBe('Bell, "Al" \\ x');
    expect(quote('a\r\nb')).toBe('"a  b"');
    expect(quote('\x00\x7f\t')).toBe('"\\\x00\\\x7f\t"');
    expect(unquote('token')).toBe('token');
  });
});

describe('parseParams', () => {
  it('reads generic-params with SWS around ; and =, token, host and quoted values', () => {
    const text = ' ; tag = abc ;lr; +sip.instance="<urn:uuid:1>" ;received=2001:db8::1;maddr=[::1] ';
    expect(parseParams(text, 0)).toEqual({ params: { tag: 'abc', lr: null, '+sip.instance': '"<urn:uuid:1>"', received: '2001:db8::1', maddr: '[::1]' }, end: text.length });
    expect(parseParams('<x>;A=1;a=2, next', 3)).toEqual({ params: { a: '1' }, end: 11 });
  });

  it('refuses empty names, empty values, unterminated quotes', () => {
    for (const text of [';', ';;', ';=x', ';a=', ';a="x', ';a=,']) expect(parseParams(text, 0), text).toBeUndefined();
  });
});

describe('parseVia / formatVia', () => {
  it('reads what JsSIP and SIP.js send', () => {
    expect(parseVia('SIP/2.0/WSS 5ds7hpm6ahtb.invalid;branch=z9hG4bK2906341')).toEqual([
      { protocol: 'SIP/2.0/WSS', transport: 'WSS', host: '5ds7hpm6ahtb.invalid', params: { branch: 'z9hG4bK2906341' }, branch: 'z9hG4bK2906341' },
    ]);
    expect(parseVia('SIP/2.0/WS df7jal23ls0d.invalid;rport;branch=z9hG4bKlq01dl')![0]).toMatchObject({ transport: 'WS', params: { rport: null } });
  });

  it('reads ports, IPv6, received/rport, LWS around / and :, and several values', () => {
    expect(parseVia('sip / 2.0 / udp [2001:db8::1] : 5060 ;received=2001:db8::2;rport=5061, SIP/2.0/TCP h')).toEqual([
      { protocol: 'SIP/2.0/UDP', transport: 'UDP', host: '[2001:db8::1]', port: 5060, params: { received: '2001:db8::2', rport: '5061' } },
      { protocol: 'SIP/2.0/TCP', transport: 'TCP', host: 'h', params: {} },
    ]);
  });

  it('refuses malformed values (RFC 4475 §3.1.2.1 among them)', () => {
    for (const text of [
      '', 'SIP/2.0/UDP', 'SIP/2.0 host', 'SIP/2.0/UDPhost', 'SIP/2.0/UDP 192.0.2.15;;,;,,', 'SIP/2.0/UDP h;branch', 'SIP/2.0/UDP h;branch="x"',
      'SIP/2.0/UDP h:', 'SIP/2.0/UDP h:99999', 'SIP/2.0/UDP h,', 'SIP/2.0/UDP h, ', 'SIP/2.0/UDP h x', 'SIP/2.0/UDP [::1', 'SIP/2.0/UDP -h', 'SIP/2.0/U DP h',
    ]) {
      expect(parseVia(text), text).toBeUndefined();
    }
  });

  it('writes a Via the proxy can prepend, the branch from `branch`', () => {
    const via: Via = { protocol: 'SIP/2.0/WSS', transport: 'WSS', host: 'proxy.example.com', port: 443, params: { rport: null }, branch: 'z9hG4bKabc' };
    expect(formatVia(via)).toBe('SIP/2.0/WSS proxy.example.com:443;rport;branch=z9hG4bKabc');
    expect(formatVia({ ...via, params: { branch: 'old', received: '1.2.3.4' } })).toBe('SIP/2.0/WSS proxy.example.com:443;received=1.2.3.4;branch=z9hG4bKabc');
    expect(parseVia(formatVia(via))).toEqual([{ ...via, params: { rport: null, branch: 'z9hG4bKabc' } }]);
  });
});

describe('parseNameAddr / formatNameAddr', () => {
  it('reads the forms of RFC 3261 §20.10 and §20.20', () => {
    expect(parseNameAddr('"Mr. Watson" <sip:watson@worcester.bell-telephone.com>;q=0.7; expires=3600')).toEqual({
      displayName: 'Mr. Watson',
      uri: 'sip:watson@worcester.bell-telephone.com',
      params: { q: '0.7', expires: '3600' },
    });
    expect(parseNameAddr('Anonymous <sip:c8oqz84zk7z@privacy.org>;tag=hyh8')).toEqual({ displayName: 'Anonymous', uri: 'sip:c8oqz84zk7z@privacy.org', params: { tag: 'hyh8' } });
    expect(parseNameAddr('sip:+12125551212@server.phone2net.com;tag=887s')).toEqual({ uri: 'sip:+12125551212@server.phone2net.com', params: { tag: '887s' } });
    expect(parseNameAddr('<mailto:watson@bell-telephone.com>')).toEqual({ uri: 'mailto:watson@bell-telephone.com', params: {} });
    expect(parseNameAddr('"" <sip:a@b>')).toEqual({ displayName: '', uri: 'sip:a@b', params: {} });
    expect(parseNameAddr('A  B <sip:a@b>')?.displayName).toBe('A  B');
  });

  it('reads what JsSIP registers: reg-id and a quoted +sip.instance', () => {
    const value = '<sip:hlk0h1g6@ab12cd34.invalid;transport=ws>;+sip.ice;reg-id=1;+sip.instance="<urn:uuid:3f1b2a4c-1111-4222-8333-444455556666>";expires=600';
    expect(parseNameAddr(value)).toEqual({
      uri: 'sip:hlk0h1g6@ab12cd34.invalid;transport=ws',
      params: { '+sip.ice': null, 'reg-id': '1', '+sip.instance': '"<urn:uuid:3f1b2a4c-1111-4222-8333-444455556666>"', expires: '600' },
    });
  });

  it('refuses unbalanced quotes, spaces in <>, unquoted non-tokens, ? in an addr-spec, junk after', () => {
    for (const text of [
      '', '"Mr. J. User <sip:j.user@example.com>', '"x" < sip:a@b >', 'Bell, Alexander <sip:a@b>', 'sip:a@b?Route=x', '<sip:a@b', 'sip:a@b x', '<sip:a@b> x', '"x"sip:a@b',
      'x <y>', '<sip:a@b>;', 'a@b', '<>', '<sip:a b@c>', 'sip:a@b;tag="x',
    ]) {
      expect(parseNameAddr(text), text).toBeUndefined();
    }
  });

  it('always writes the name-addr form', () => {
    expect(formatNameAddr({ uri: 'sip:a@b', params: { tag: 'x', lr: null } })).toBe('<sip:a@b>;tag=x;lr');
    expect(formatNameAddr({ displayName: 'Bell, "A"', uri: 'sip:a@b;transport=ws', params: {} })).toBe('"Bell, \\"A\\"" <sip:a@b;transport=ws>');
  });
});

describe('parseContacts / parseRoutes', () => {
  it('joins Contact lines and lists, and reads * alone', () => {
    expect(parseContacts(['<sip:a@b>, "X" <sip:c@d>;expires=0', 'sip:e@f;q=0.5'])).toEqual([
      { uri: 'sip:a@b', params: {} },
      { displayName: 'X', uri: 'sip:c@d', params: { expires: '0' } },
      { uri: 'sip:e@f', params: { q: '0.5' } },
    ]);
    expect(parseContacts(' * ')).toBe('*');
    expect(parseContacts(['*'])).toBe('*');
    expect(parseContacts([])).toEqual([]);
  });

  it('refuses * with anything else (RFC 3261 §10.3 step 6) and malformed lists', () => {
    expect(parseContacts(['*', '<sip:a@b>'])).toBeUndefined();
    expect(parseContacts(['*', '*'])).toBeUndefined();
    expect(parseContacts('*, <sip:a@b>')).toBeUndefined();
    expect(parseContacts('<sip:a@b>,')).toBeUndefined();
    expect(parseContacts('"Joe" <sip:joe@example.org>;;;;')).toBeUndefined();
    expect(parseContacts('')).toBeUndefined();
  });

  it('reads Route lists in order, name-addr only', () => {
    expect(parseRoutes(['<sip:p1.example.com;lr>, <sip:p2.example.com;lr>', '<sip:p3.example.com;lr;ftag=x>'])).toEqual([
      { uri: 'sip:p1.example.com;lr', params: {} },
      { uri: 'sip:p2.example.com;lr', params: {} },
      { uri: 'sip:p3.example.com;lr;ftag=x', params: {} },
    ]);
    expect(isRouteList(['<sip:a@b;lr>'])).toBe(true);
    expect(isRouteList(['sip:a@b'])).toBe(false); // addr-spec is not allowed in Route
    expect(parseRoutes(['sip:a@b', '<sip:c@d>'])).toEqual([{ uri: 'sip:c@d', params: {} }]);
  });
});

describe('tagOf / headerParam', () => {
  it('finds the tag of every From/To form without a full parse', () => {
    expect(tagOf('<sip:a@b;tag=uri-param>;tag=header')).toBe('header');
    expect(tagOf('sip:a@b;tag=x')).toBe('x');
    expect(tagOf('"a;tag=q<" <sip:a@b>;TAG = y')).toBe('y');
    expect(tagOf('Bob <sip:b@c>;x="a;tag=z";tag=w')).toBe('w');
    expect(tagOf('<sip:a@b;tag=uri-param>')).toBeUndefined();
    expect(tagOf('<sip:a@b>;tag')).toBeUndefined();
    expect(tagOf('<sip:a@b>;tagx=1')).toBeUndefined();
    expect(tagOf('<sip:a@b')).toBeUndefined();
    expect(headerParam('<sip:a@b>;+sip.instance="<urn:x>";reg-id=2', 'REG-ID')).toBe('2');
    expect(headerParam('<sip:a@b>;+sip.instance="<urn:x>";reg-id=2', '+sip.instance')).toBe('"<urn:x>"');
    expect(headerParam('<sip:a@b>;lr', 'lr')).toBeNull();
  });
});

describe('numbers, CSeq, Call-ID, tokens', () => {
  it('parseDigits takes leading zeros and refuses signs, spaces and overflow', () => {
    expect(parseDigits('0068', 255)).toBe(68);
    expect(parseDigits('255', 255)).toBe(255);
    expect(parseDigits('256', 255)).toBeUndefined();
    for (const text of ['', '-1', '+1', ' 1', '1 ', '1.0', 'five']) expect(parseDigits(text), text).toBeUndefined();
  });

  it('parseCSeq reads 32-bit numbers and a method token', () => {
    expect(parseCSeq('0009\t INVITE')).toEqual({ seq: 9, method: 'INVITE' });
    expect(parseCSeq('4294967295 ACK')).toEqual({ seq: 4294967295, method: 'ACK' });
    for (const text of ['4294967296 ACK', '36893488147419103232 REGISTER', '1', 'INVITE', '1INVITE', '1 INVITE x', '-1 ACK', '1 IN/VITE']) expect(parseCSeq(text), text).toBeUndefined();
  });

  it('isCallId follows word [ "@" word ]', () => {
    expect(isCallId('f81d4fae-7dec-11d0-a765-00a0c91e6bf6@foo.bar.com')).toBe(true);
    expect(isCallId('intmeth.word%ZK-!.*_+\'@word`~)(><:\\/"][?}{')).toBe(true);
    for (const text of ['', 'a@', '@a', 'a@b@c', 'a b', 'a;b', 'é']) expect(isCallId(text), text).toBe(false);
  });

  it('isToken', () => {
    expect(isToken("!interesting-Method0123456789_*+`.%indeed'~")).toBe(true);
    expect(isToken('')).toBe(false);
    expect(isToken('a b')).toBe(false);
  });
});

describe('parseAuthorization', () => {
  it('reads a digest response as JsSIP sends it', () => {
    const value =
      'Digest algorithm=SHA-256, username="alice", realm="example.com", nonce="a1b2c3", uri="sip:example.com", response="0123abcd", qop=auth, cnonce="xyz", nc=00000001, opaque="o"';
    expect(parseAuthorization(value)).toEqual({
      scheme: 'Digest',
      params: { algorithm: 'SHA-256', username: 'alice', realm: 'example.com', nonce: 'a1b2c3', uri: 'sip:example.com', response: '0123abcd', qop: 'auth', cnonce: 'xyz', nc: '00000001', opaque: 'o' },
    });
  });

  it('resolves quoted-pairs and keeps commas inside quotes', () => {
    expect(parseAuthorization('Digest username="a\\"b\\\\c", uri="sip:x;a=1,2"')?.params).toEqual({ username: 'a"b\\c', uri: 'sip:x;a=1,2' });
    expect(parseAuthorization('Digest  USERNAME = "x" ,realm="y"')?.params).toEqual({ username: 'x', realm: 'y' });
  });

  it('refuses repeats, empty elements and malformed params', () => {
    for (const text of ['', 'Digest', 'Digest ', 'Digest a', 'Digest a=', 'Digest a="x', 'Digest a=1,,b=2', 'Digest a=1,', 'Digest a=1, a=2', 'Digest a=x y', 'Digest a=sip:x', '"Digest" a=1']) {
      expect(parseAuthorization(text), text).toBeUndefined();
    }
  });
});

const token = fc.stringMatching(/^[a-zA-Z0-9\-.!%*_+`'~]{1,8}$/);
const paramsArbitrary = fc.dictionary(token.map((name) => name.toLowerCase()), fc.option(fc.oneof(token, fc.string({ maxLength: 6 }).map(quote)), { nil: null }), { maxKeys: 3 });
const nameAddrArbitrary: fc.Arbitrary<NameAddr> = fc
  .record({
    displayName: fc.option(fc.string({ unit: 'grapheme', maxLength: 10 }).map((text) => text.replace(/[\r\n]/g, '')), { nil: undefined }),
    uri: fc.constantFrom('sip:alice@example.com', 'sips:b@[::1]:5061;transport=wss', 'sip:example.com;lr', 'tel:+1-555', 'urn:uuid:1234'),
    params: paramsArbitrary,
  })
  .map(({ displayName, uri, params }) => (displayName === undefined ? { uri, params: { ...params } } : { displayName, uri, params: { ...params } }));

describe('properties', () => {
  test.prop([nameAddrArbitrary])('formatNameAddr then parseNameAddr gives the value back', (nameAddr) => {
    expect(parseNameAddr(formatNameAddr(nameAddr))).toEqual(nameAddr);
    expect(tagOf(formatNameAddr(nameAddr))).toBe(typeof nameAddr.params.tag === 'string' ? nameAddr.params.tag : undefined);
  });

  test.prop([fc.array(nameAddrArbitrary, { minLength: 1, maxLength: 3 })])('a Contact list of formatted values parses back', (list) => {
    expect(parseContacts(list.map(formatNameAddr).join(' , '))).toEqual(list);
  });

  test.prop([fc.string({ unit: 'binary', maxLength: 60 })])('no header parser throws', (text) => {
    for (const parse of [splitHeaderValues, parseVia, parseNameAddr, parseContacts, tagOf, parseCSeq, parseAuthorization, isCallId, unquote, quote] as ((value: string) => unknown)[]) {
      expect(() => parse(text)).not.toThrow();
    }
    expect(() => parseParams(text, 0)).not.toThrow();
    expect(() => parseRoutes([text, text])).not.toThrow();
    expect(() => headerParam(text, 'x')).not.toThrow();
  });
});
