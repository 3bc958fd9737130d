/**
 * The fast paths of the codec against the plain ones they stand for. `parseMessage` checks
 * header values with validators that build nothing and read the text as units (`toUnits`);
 * each must accept exactly what the parser the rest of the stack uses accepts. `serializeMessage`
 * copies the lines the parser read as `name: value` CRLF from the message text; the result must
 * be the bytes writing them gives.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { headerKey } from './constants.js';
import {
  CONTACT_BAD,
  CONTACT_LIST,
  CONTACT_STAR,
  checkContactLine,
  checkCSeq,
  checkNameAddr,
  checkNameAddrList,
  checkVia,
  digitsIn,
  isCallId,
  isCallIdIn,
  isRouteList,
  parseContacts,
  parseCSeq,
  parseDigits,
  parseNameAddr,
  parseVia,
} from './headers.js';
import type { SipMessage } from './message.js';
import { parseMessage, utf8Length } from './parser.js';
import { serializeMessage } from './serializer.js';
import { URI_INVALID, URI_SIP_HEADERS, checkUri, dict, isHost, parseUri, scanHost, scanUri, toUnits, uriScheme } from './uri.js';

const units = (text: string): Uint8Array => toUnits(text, text.length, new Uint8Array(0));

// Pieces of header values, joined at random: the grammar's separators, its edge cases and
// characters outside it, so most draws land near the boundary between valid and not.
const PIECES = [
  'SIP/2.0/WSS ', 'SIP / 2.0 / udp ', 'sip/2.0/ws', ' ', '\t', ',', ';', ':', '=', '<', '>', '"', '\\', '/', '?', '&', '@', '%', '%41', '%4', '*',
  '[', ']', '.', '-', 'a', 'Z', '0', '9', '65535', '65536', '256', '1.2.3.4', '[::1]', '[2001:db8::1]', '[::ffff:1.2.3.4]', '[1::2::3]',
  'example.com', 'a.invalid', '-x', 'x-', 'a..b', '1a.b2', 'sip:', 'sips:', 'SIP:', 'tel:+1', 'urn:x', 'alice@', 'a:b@', ';branch=', 'branch',
  'BRANCH=z9hG4bK1', 'z9hG4bK', ';tag=', ';lr', ';transport=ws', ';+sip.instance="<urn:uuid:1>"', ';expires=600', '"Alice" ', 'Bob ', '\u00e9', '\ufeff',
  '\ud800', '\u017f', '1', '42', '4294967295', '4294967296', ' INVITE', ' MESSAGE', ' invite', '(', '{', '\x00', '\x7f', '\r', '\n',
];
const value = fc.array(fc.constantFrom(...PIECES), { maxLength: 14 }).map((parts) => parts.join(''));
// Values more likely to be valid, with the rest of the draws around them.
const param = fc
  .tuple(
    fc.constantFrom(';', ' ; ', ';;', ''),
    fc.constantFrom('branch', 'BRANCH', 'tag', 'lr', 'x', '', '+sip.instance', 'received'),
    fc.constantFrom('', '=', ' = ', '=='),
    fc.constantFrom('', 'z9hG4bK1', 'z9hG4bK1:x', 'z9hG4bK[1]', '[::1]', '"q"', '"open', '"a\\"b"', 'a]', '%41', '1.2.3.4', 'x y'),
  )
  .map((parts) => parts.join(''));
const params = fc.array(param, { maxLength: 4 }).map((parts) => parts.join(''));
const viaParm = fc
  .tuple(
    fc.constantFrom('SIP/2.0/WSS ', 'SIP/2.0/UDP ', 'SIP / 2.0 / TCP ', 'SIP/2.0/WSS', 'SIP/2.0 ', 'SIP//WS '),
    fc.constantFrom('a.invalid', '192.0.2.1', '[::1]', 'Example.COM.', '1.2.3', 'a-.b', '[::1', ''),
    fc.constantFrom('', ':5060', ' : 5061', ':0', ':', ':65536'),
    params,
  )
  .map((parts) => parts.join(''));
const via = fc.tuple(fc.array(viaParm, { minLength: 1, maxLength: 3 }), fc.constantFrom(',', ' , ', ',,')).map(([parts, comma]) => parts.join(comma));
const nameAddr = fc
  .tuple(
    fc.constantFrom('', '"Alice" ', 'Bob ', '"a\\"b"', '"open ', 'A B<'),
    fc.constantFrom('<sip:alice@example.com', '<sips:b@[::1]:5061;transport=wss', '<tel:+1-555', 'sip:x@y', '<sip:h;lr', '< sip:a@b', '<sip:a@b?x=y', 'sip:a@b?x=y', '<>', '<sip:a@-b'),
    fc.constantFrom('>', '?a=b>', '', '> ', ' >'),
    params,
  )
  .map((parts) => parts.join(''));
const nameAddrList = fc.array(nameAddr, { minLength: 1, maxLength: 3 }).map((parts) => parts.join(', '));
const anyValue = fc.oneof(value, via, nameAddr, nameAddrList);

describe('validators accept what the parsers accept', () => {
  test.prop([anyValue], { numRuns: 3000 })('Via', (text) => {
    expect(checkVia(units(text), 0, text.length)).toBe(parseVia(text) !== undefined);
  });

  test.prop([anyValue], { numRuns: 3000 })('From / To (one name-addr or addr-spec)', (text) => {
    expect(checkNameAddr(units(text), 0, text.length)).toBe(parseNameAddr(text) !== undefined);
  });

  test.prop([anyValue], { numRuns: 3000 })('Route / Record-Route lists', (text) => {
    expect(checkNameAddrList(units(text), 0, text.length, true)).toBe(isRouteList([text]));
  });

  test.prop([fc.array(fc.oneof(anyValue, fc.constantFrom('*', ' * ')), { minLength: 1, maxLength: 3 })], { numRuns: 2000 })('Contact lines, STAR only alone', (lines) => {
    const kinds = lines.map((line) => checkContactLine(units(line), 0, line.length));
    const stars = kinds.filter((kind) => kind === CONTACT_STAR).length;
    const valid = !kinds.includes(CONTACT_BAD) && (stars === 0 || (stars === 1 && !kinds.includes(CONTACT_LIST)));
    expect(valid).toBe(parseContacts(lines) !== undefined);
  });

  test.prop([anyValue, fc.constantFrom('INVITE', 'MESSAGE', 'invite')], { numRuns: 2000 })('CSeq, and its method', (text, method) => {
    const parsed = parseCSeq(text);
    const methodUnits = units(method);
    expect(checkCSeq(units(text), 0, text.length, methodUnits, 0, method.length)).toBe(parsed === undefined ? -1 : parsed.method === method ? 0 : 1);
    expect(checkCSeq(units(text), 0, text.length, undefined, 0, 0)).toBe(parsed === undefined ? -1 : 0);
  });

  test.prop([anyValue], { numRuns: 2000 })('Call-ID, and numbers', (text) => {
    expect(isCallIdIn(units(text), 0, text.length)).toBe(isCallId(text));
    for (const max of [255, Infinity]) expect(digitsIn(units(text), 0, text.length, max)).toBe(parseDigits(text, max) ?? -1);
  });

  test.prop([anyValue], { numRuns: 3000 })('URIs: scanUri and checkUri against uriScheme and parseUri', (text) => {
    const all = units(text);
    const kind = checkUri(all, 0, text.length);
    expect(kind !== URI_INVALID).toBe(uriScheme(text) !== undefined);
    const sip = parseUri(text);
    if (kind === URI_SIP_HEADERS) expect(Object.keys(sip!.headers).length).toBeGreaterThan(0);
    if (sip !== undefined && kind !== URI_SIP_HEADERS) expect(Object.keys(sip.headers)).toHaveLength(0);
    // The longest URI at the start is one uriScheme accepts, and nothing longer would be.
    const stop = scanUri(all, 0, text.length, true);
    if (stop !== -1) expect(uriScheme(text.slice(0, stop))).toBeDefined();
  });

  test.prop([fc.array(fc.constantFrom('a', 'Z', '0', '9', '1', '25', '255', '256', '-', '.', '[', ']', ':', 'f', '::', '1.2.3.4', ';'), { maxLength: 10 }).map((parts) => parts.join(''))], { numRuns: 3000 })(
    'hosts: one pass finds the end of a valid host, or refuses',
    (text) => {
      const end = scanHost(units(text), 0, text.length);
      expect(end === text.length).toBe(isHost(text));
      if (end !== -1) expect(isHost(text.slice(0, end))).toBe(true);
    },
  );
});

describe('units and byte counts', () => {
  test.prop([fc.string({ unit: 'binary', maxLength: 40 }), fc.nat()])('toUnits is each UTF-16 unit if ASCII, else 0x80', (text, cut) => {
    const end = cut % (text.length + 1);
    const out = toUnits(text, end, new Uint8Array(8));
    for (let i = 0; i < end; i++) expect(out[i]).toBe(text.charCodeAt(i) < 0x80 ? text.charCodeAt(i) : 0x80);
  });

  test.prop([fc.string({ unit: 'binary', maxLength: 80 })])('utf8Length counts what TextEncoder writes (lone surrogates as U+FFFD)', (text) => {
    expect(utf8Length(text)).toBe(new TextEncoder().encode(text).length);
  });

  it('keeps no inherited key in parameter dictionaries', () => {
    const params = parseUri('sip:a@b;__proto__=1;constructor=2')!.params;
    expect(Object.keys(params)).toEqual(['__proto__', 'constructor']);
    expect(params.__proto__).toBe('1');
    expect('toString' in dict()).toBe(false);
    expect('hasOwnProperty' in parseVia('SIP/2.0/WS h;branch=z9hG4bK1')![0]!.params).toBe(false);
  });

  it('reads an IPv6 reference with an IPv4 tail in a URI (the checks inside share no scratch)', () => {
    expect(parseUri('sip:[::ffff:192.0.2.1]:5060;lr')).toMatchObject({ host: '[::ffff:192.0.2.1]', port: 5060, params: { lr: null } });
    expect(parseMessage(['OPTIONS sip:[::ffff:192.0.2.1] SIP/2.0', 'Via: SIP/2.0/WSS [::ffff:192.0.2.1];branch=z9hG4bK1', 'From: <sip:a@[::ffff:1.2.3.4]>;tag=1', 'To: <sip:b@b>', 'Call-ID: c', 'CSeq: 1 OPTIONS', '', ''].join('\r\n')).ok).toBe(true);
  });
});

// Header lines with their spacing varied: copied lines must only be those written exactly `name: value`.
const NAMES = ['Via', 'v', 'VIA', 'From', 'f', 'To', 't', 'Call-ID', 'call-id', 'CALL-ID', 'i', 'CSeq', 'Max-Forwards', 'Contact', 'm', 'Content-Type', 'c', 'Supported', 'User-Agent', 'X-Custom', 'Content-Length', 'l'];
const VALUES: Record<string, string> = {
  via: 'SIP/2.0/WSS a.invalid;branch=z9hG4bK1',
  from: '"Alice" <sip:alice@example.com>;tag=1',
  to: '<sip:bob@example.com>',
  'call-id': 'abc@x',
  cseq: '1 MESSAGE',
  'max-forwards': '70',
  contact: '<sip:a@a.invalid;transport=ws>',
  'content-type': 'text/plain',
  'content-length': '2',
};
const line = fc.record({ name: fc.constantFrom(...NAMES), before: fc.constantFrom('', ' ', '\t'), after: fc.constantFrom(' ', '', '  ', '\t'), trailing: fc.constantFrom('', '', ' '), fold: fc.boolean() }).map(({ name, before, after, trailing, fold }) => {
  const text = VALUES[headerKey(name)] ?? 'some value';
  const folded = fold && text.includes(' ') ? text.replace(' ', '\r\n ') : text;
  return `${name}${before}:${after}${folded}${trailing}`;
});

describe('serializeMessage copies parsed lines as writing them would', () => {
  const written = (message: SipMessage): SipMessage => ({ ...message, headers: message.headers.map((header) => ({ key: header.key, name: header.name, value: header.value })) });

  test.prop([fc.array(line, { minLength: 1, maxLength: 12 }), fc.nat(), fc.nat()], { numRuns: 1000 })('for any spacing, folding, order, and after edits', (lines, edit, at) => {
    const wire = `MESSAGE sip:bob@example.com SIP/2.0\r\n${lines.map((text) => `${text}\r\n`).join('')}\r\nhi`;
    const result = parseMessage(wire);
    const message = result.ok ? result.message : result.partial;
    if (message === undefined) return;
    expect(serializeMessage(message)).toBe(serializeMessage(written(message)));
    // What a proxy does to a request it forwards: a Via on top, a header replaced, one removed, two swapped.
    const headers = message.headers.slice();
    if (edit & 1) headers.unshift({ key: 'via', name: 'Via', value: 'SIP/2.0/WSS proxy.invalid;branch=z9hG4bK2' });
    if (edit & 2 && headers.length > 0) headers[at % headers.length] = { key: 'x-new', name: 'X-New', value: 'v' };
    if (edit & 4 && headers.length > 1) headers.splice(at % headers.length, 1);
    if (edit & 8 && headers.length > 2) [headers[0], headers[2]] = [headers[2]!, headers[0]!];
    if (edit & 16 && headers.length > 0) headers.push(headers[at % headers.length]!);
    const edited = { ...message, headers };
    expect(serializeMessage(edited)).toBe(serializeMessage(written(edited)));
  });

  it('never copies a line holding a bare CR into what it writes', () => {
    const result = parseMessage('MESSAGE sip:b@b SIP/2.0\r\nVia: SIP/2.0/WSS a;branch=z9hG4bK1\r\nFrom: <sip:a@a>;tag=1\rX: y\r\nTo: <sip:b@b>\r\nCall-ID: c\r\nCSeq: 1 MESSAGE\r\n\r\n');
    expect(result.ok).toBe(false);
    const wire = serializeMessage(!result.ok ? result.partial! : result.message) as string;
    expect(wire).not.toMatch(/\r(?!\n)/);
    expect(wire).toContain('From: <sip:a@a>;tag=1 X: y\r\n');
  });
});
