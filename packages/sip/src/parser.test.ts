import { describe, expect, it } from 'vitest';
import { BRANCH_MAGIC, COMPACT_FORMS, DEFAULT_MAX_MESSAGE_SIZE, REASON_PHRASES, SIP_PROTOCOL, SIP_VERSION, headerKey, reasonPhrase } from './constants.js';
import { getHeader, getHeaders } from './message.js';
import { parseMessage, utf8Length, type ParseFailure } from './parser.js';

const CRLF = '\r\n';
const REGISTER_HEADERS = [
  'Via: SIP/2.0/WSS 5ds7hpm6ahtb.invalid;branch=z9hG4bK2906341',
  'Max-Forwards: 69',
  'To: <sip:alice@example.com>',
  'From: "Alice" <sip:alice@example.com>;tag=4hbr6e2rdq',
  'Call-ID: 36sd2gq5nofoc72sahlf4c',
  'CSeq: 1 REGISTER',
  'Contact: <sip:hlk0h1g6@5ds7hpm6ahtb.invalid;transport=ws>;+sip.ice;reg-id=1;+sip.instance="<urn:uuid:4405bbe2-cf06-4c27-9c59-6caf83af9b00>";expires=600',
  'Expires: 600',
  'Allow: INVITE,ACK,CANCEL,BYE,UPDATE,MESSAGE,OPTIONS,REFER,INFO,NOTIFY',
  'Supported: path,gruu,outbound',
  'User-Agent: JsSIP 3.10.0',
];

/** A message from a start line and header lines, CRLF-terminated, with an optional body. */
const wire = (start: string, headers: readonly string[], body = ''): string => `${start}${CRLF}${headers.map((line) => line + CRLF).join('')}${CRLF}${body}`;
const register = (replace: Record<string, string | null> = {}, body = ''): string => {
  const lines = REGISTER_HEADERS.flatMap((line) => {
    const name = line.slice(0, line.indexOf(':'));
    if (!(name in replace)) return [line];
    const value = replace[name];
    return value === null ? [] : [`${name}: ${value}`];
  });
  return wire('REGISTER sip:example.com SIP/2.0', lines, body);
};

function refused(data: string | Uint8Array): ParseFailure {
  const result = parseMessage(data);
  if (result.ok) throw new Error('accepted');
  return result;
}

describe('constants', () => {
  it('names the protocol, version and branch cookie', () => {
    expect(SIP_PROTOCOL).toBe('sip');
    expect(SIP_VERSION).toBe('SIP/2.0');
    expect(BRANCH_MAGIC).toBe('z9hG4bK');
    expect(DEFAULT_MAX_MESSAGE_SIZE).toBe(65535);
  });

  it('has the reason phrases of RFC 3261 §21 and the registered extensions', () => {
    expect(reasonPhrase(200)).toBe('OK');
    expect(reasonPhrase(430)).toBe('Flow Failed');
    expect(reasonPhrase(439)).toBe('First Hop Lacks Outbound Support');
    expect(reasonPhrase(440)).toBe('Max-Breadth Exceeded');
    expect(reasonPhrase(421)).toBe('Extension Required');
    expect(reasonPhrase(423)).toBe('Interval Too Brief');
    expect(reasonPhrase(429)).toBe('Provide Referrer Identity');
    expect(reasonPhrase(433)).toBe('Anonymity Disallowed');
    expect(reasonPhrase(470)).toBe('Consent Needed');
    expect(reasonPhrase(494)).toBe('Security Agreement Required');
    expect(reasonPhrase(580)).toBe('Precondition Failure');
    expect(reasonPhrase(513)).toBe('Message Too Large');
    expect(reasonPhrase(499)).toBe('Request Failure'); // an unknown code reads as its class
    expect(reasonPhrase(700)).toBe('');
    expect(Object.isFrozen(REASON_PHRASES)).toBe(true);
  });

  it('expands compact forms and lower-cases long names', () => {
    expect(headerKey('v')).toBe('via');
    expect(headerKey('V')).toBe('via');
    expect(headerKey('ViA')).toBe('via');
    expect(headerKey('i')).toBe('call-id');
    expect(headerKey('Call-ID')).toBe('call-id');
    expect(headerKey('l')).toBe('content-length');
    expect(headerKey('X-Custom')).toBe('x-custom');
    expect(headerKey('z')).toBe('z');
    for (const [letter, long] of Object.entries(COMPACT_FORMS)) {
      expect(headerKey(letter)).toBe(long);
      expect(headerKey(letter.toUpperCase())).toBe(long);
    }
    expect(Object.keys(COMPACT_FORMS).sort().join('')).toBe('abcdefijklmnorstuvxy');
  });
});

describe('parseMessage: requests', () => {
  it('reads a JsSIP REGISTER', () => {
    const result = parseMessage(register());
    expect(result.ok).toBe(true);
    if (!result.ok || result.message.kind !== 'request') return;
    expect(result.message).toMatchObject({ kind: 'request', method: 'REGISTER', uri: 'sip:example.com', version: 'SIP/2.0', body: '' });
    expect(result.message.headers).toHaveLength(REGISTER_HEADERS.length);
    expect(result.message.headers[0]).toEqual({ key: 'via', name: 'Via', value: 'SIP/2.0/WSS 5ds7hpm6ahtb.invalid;branch=z9hG4bK2906341' });
    expect(getHeader(result.message, 'user-agent')).toBe('JsSIP 3.10.0');
  });

  it('unfolds continuation lines into one SP and expands compact names (RFC 3261 §7.3.1, §7.3.3)', () => {
    const text = wire('MESSAGE sip:bob@example.com SIP/2.0', [
      'v: SIP/2.0/WSS a.invalid;branch=z9hG4bK1',
      'f: <sip:alice@example.com>;tag=1',
      't: <sip:bob@example.com>',
      'i: abc',
      'CSeq: 2',
      '   \t MESSAGE',
      'Subject: one  ',
      ' \t two',
      'X-Empty:',
      'X-Spaces : \t ',
      'c: text/plain',
      'l: 2',
    ], 'hi');
    const result = parseMessage(text);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(getHeader(result.message, 'cseq')).toBe('2 MESSAGE');
    expect(getHeader(result.message, 'subject')).toBe('one two');
    expect(getHeader(result.message, 'x-empty')).toBe('');
    expect(getHeader(result.message, 'x-spaces')).toBe('');
    expect(result.message.headers.map((header) => header.key)).toEqual(['via', 'from', 'to', 'call-id', 'cseq', 'subject', 'x-empty', 'x-spaces', 'content-type', 'content-length']);
    expect(result.message.headers.map((header) => header.name).slice(0, 4)).toEqual(['v', 'f', 't', 'i']);
    expect(result.message.body).toBe('hi');
  });

  it('accepts a missing Max-Forwards and Content-Length (the caller adds 70; the WebSocket message frames the body)', () => {
    const result = parseMessage(register({ 'Max-Forwards': null }, ''));
    expect(result.ok).toBe(true);
    const withBody = parseMessage(register({}, 'body without a length'));
    expect(withBody.ok && withBody.message.body).toBe('body without a length');
  });

  it('ignores CRLFs before the start line (RFC 3261 §7.5)', () => {
    expect(parseMessage(`\r\n\r\n${register()}`).ok).toBe(true);
    expect(refused('\r\n\r\n')).toMatchObject({ status: 0, reason: 'Empty message' });
    expect(refused('')).toMatchObject({ status: 0 });
  });

  it('refuses a malformed Request-Line with 400, and an unknown version with 505', () => {
    const cases: [string, number, RegExp][] = [
      ['REGISTER sip:example.com', 400, /Request-Line/],
      ['REGISTER', 400, /Request-Line/],
      ['REGISTER  sip:example.com SIP/2.0', 400, /whitespace/],
      ['REGISTER sip:example.com  SIP/2.0', 400, /whitespace/],
      ['REGISTER sip:example.com SIP/2.0 ', 400, /whitespace/],
      ['REGISTER\tsip:example.com SIP/2.0', 400, /Request-Line/],
      ['REGISTER sip:example.com SIP/2.0\t', 400, /whitespace/],
      ['REG(ISTER sip:example.com SIP/2.0', 400, /method/],
      ['REGISTER <sip:example.com> SIP/2.0', 400, /angle brackets/],
      ['REGISTER sip:exa mple.com SIP/2.0', 400, /whitespace/],
      ['REGISTER example.com SIP/2.0', 400, /Request-URI/],
      ['REGISTER sip:example.com?Route=x SIP/2.0', 400, /headers/],
      ['REGISTER sip:example..com SIP/2.0', 400, /Request-URI/],
      ['REGISTER sip:example.com SIP/3.0', 505, /Version/],
      ['REGISTER sip:example.com SIP/2.01', 505, /Version/],
      ['REGISTER sip:example.com HTTP/1.1', 400, /SIP-Version/],
    ];
    for (const [start, status, reason] of cases) {
      const failure = refused(wire(start, REGISTER_HEADERS.map((line) => line.replace('1 REGISTER', start.startsWith('REG(') ? '1 REG(ISTER' : '1 REGISTER'))));
      expect(failure.status, start).toBe(status);
      expect(failure.reason, start).toMatch(reason);
      expect(failure.partial, start).toBeDefined();
    }
    // The version is case-insensitive (RFC 3261 §7.1).
    expect(parseMessage(wire('REGISTER sip:example.com sip/2.0', REGISTER_HEADERS)).ok).toBe(true);
  });

  it('accepts other Request-URI schemes: 416 is the proxy answer, not a parse error', () => {
    const result = parseMessage(wire('OPTIONS tel:+1-201-555-0123 SIP/2.0', REGISTER_HEADERS.map((line) => line.replace('1 REGISTER', '1 OPTIONS'))));
    expect(result.ok && result.message.kind === 'request' && result.message.uri).toBe('tel:+1-201-555-0123');
  });

  it('refuses missing mandatory headers with 400; a response can be formed only with all five', () => {
    for (const [name, reason] of [['Via', /Via/], ['From', /From/], ['To', /To/], ['Call-ID', /Call-ID/], ['CSeq', /CSeq/]] as const) {
      const failure = refused(register({ [name]: null }));
      expect(failure.status).toBe(400);
      expect(failure.reason).toMatch(reason);
      expect(failure.partial).toBeUndefined();
    }
  });

  it('checks the headers the registrar and proxy read', () => {
    const cases: [Record<string, string | null>, RegExp][] = [
      [{ CSeq: '1 INVITE' }, /CSeq method/],
      [{ CSeq: '4294967296 REGISTER' }, /CSeq/],
      [{ CSeq: 'REGISTER' }, /CSeq/],
      [{ CSeq: '1 register' }, /CSeq method/], // methods are case-sensitive (§7.1)
      [{ 'Max-Forwards': '256' }, /Max-Forwards/],
      [{ 'Max-Forwards': '-1' }, /Max-Forwards/],
      [{ 'Max-Forwards': '7 0' }, /Max-Forwards/],
      [{ 'Call-ID': 'a b' }, /Call-ID/],
      [{ 'Call-ID': '' }, /Call-ID/],
      [{ Via: 'SIP/2.0/WSS' }, /Via/],
      [{ Via: 'SIP/2.0/WSS a.invalid;branch=z9hG4bK1,' }, /Via/],
      [{ From: '"Alice <sip:alice@example.com>;tag=1' }, /From/],
      [{ To: 'Alice, Smith <sip:alice@example.com>' }, /To/],
      [{ To: '< sip:alice@example.com>' }, /To/],
      [{ Contact: '<sip:a@b>;;' }, /Contact/],
      [{ Contact: '*, <sip:a@b>' }, /Contact/],
      [{ Expires: '-1' }, /Expires/],
      [{ Expires: '600s' }, /Expires/],
    ];
    for (const [replace, reason] of cases) {
      const failure = refused(register(replace));
      expect(failure.status, JSON.stringify(replace)).toBe(400);
      expect(failure.reason, JSON.stringify(replace)).toMatch(reason);
    }
    expect(refused(wire('INVITE sip:b@c SIP/2.0', [...REGISTER_HEADERS.map((line) => line.replace('1 REGISTER', '1 INVITE')), 'Route: sip:p.example.com;lr'])).reason).toMatch(/Route/);
    expect(refused(wire('INVITE sip:b@c SIP/2.0', [...REGISTER_HEADERS.map((line) => line.replace('1 REGISTER', '1 INVITE')), 'Record-Route: <sip:p.example.com;lr>,'])).reason).toMatch(/Route/);
    expect(parseMessage(register({ Expires: '10000000000000000000000' })).ok).toBe(true); // digits: the registrar clamps
    expect(parseMessage(register({ Contact: '*', Expires: '0' })).ok).toBe(true);
  });

  it('refuses a second From, To, Call-ID, CSeq, Max-Forwards, Content-Length, Content-Type or Expires', () => {
    for (const line of ['From: <sip:x@y>;tag=2', 'To: <sip:x@y>', 'Call-ID: x', 'i: x', 'CSeq: 1 REGISTER', 'Max-Forwards: 70', 'Content-Length: 0', 'l: 0', 'Content-Type: a/b', 'c: a/b', 'Expires: 1']) {
      // REGISTER_HEADERS has no Content-Type or Content-Length of its own: give them a first one.
      const first = /^(c|Content-Type):/.test(line) ? ['Content-Type: a/b'] : /^(l|Content-Length):/.test(line) ? ['Content-Length: 0'] : [];
      const extra = [...first, line];
      const failure = refused(wire('REGISTER sip:example.com SIP/2.0', [...REGISTER_HEADERS, ...extra]));
      expect(failure.reason, line).toMatch(/More than one/);
      expect(failure.partial, line).toBeDefined();
    }
  });

  it('passes unknown headers through untouched', () => {
    const result = parseMessage(wire('REGISTER sip:example.com SIP/2.0', [...REGISTER_HEADERS, 'X-Odd: ;;,,;;,; "unbalanced <', 'P-Asserted-Identity: whatever, you like']));
    expect(result.ok).toBe(true);
    if (result.ok) expect(getHeaders(result.message, 'x-odd')).toEqual([';;,,;;,; "unbalanced <']);
  });

  it('refuses malformed header lines and bare line breaks', () => {
    const cases: [string, RegExp][] = [
      [wire('REGISTER sip:example.com SIP/2.0', [...REGISTER_HEADERS, 'No colon here']), /header line/],
      [wire('REGISTER sip:example.com SIP/2.0', [...REGISTER_HEADERS, 'Bad Name: x']), /header line/],
      [wire('REGISTER sip:example.com SIP/2.0', [...REGISTER_HEADERS, ': x']), /header line/],
      [wire('REGISTER sip:example.com SIP/2.0', [' folded: first', ...REGISTER_HEADERS]), /Continuation/],
      [wire('REGISTER sip:example.com SIP/2.0', [...REGISTER_HEADERS, 'X-A: a\nX-B: b']), /Bare LF/],
      [wire('REGISTER sip:example.com SIP/2.0', [...REGISTER_HEADERS, 'X-A: a\rb']), /Bare CR/],
      [register().replace('\r\n\r\n', '\r\n'), /empty line/],
      [register().replace(/\r\n/g, '\n'), /./],
    ];
    for (const [text, reason] of cases) {
      const failure = refused(text);
      expect(failure.status).toBe(400);
      expect(failure.reason).toMatch(reason);
    }
    // Even with a broken line elsewhere, the five headers a response needs make a partial.
    expect(refused(wire('REGISTER sip:example.com SIP/2.0', [...REGISTER_HEADERS, 'No colon here'])).partial?.method).toBe('REGISTER');
  });
});

describe('parseMessage: Content-Length and the one-message rule (RFC 7118 §5)', () => {
  it('counts bytes, not UTF-16 units', () => {
    const body = 'héllo ✓ 😀';
    const result = parseMessage(register({ 'User-Agent': 'x' }, body).replace('User-Agent: x', `Content-Type: text/plain\r\nContent-Length: ${new TextEncoder().encode(body).length}`));
    expect(result.ok && result.message.body).toBe(body);
    expect(utf8Length(body)).toBe(new TextEncoder().encode(body).length);
    expect(utf8Length('\ud800x')).toBe(4); // a lone surrogate is U+FFFD on the wire
  });

  it('refuses a length larger than the body, data after the body, and a non-number', () => {
    expect(refused(register({ 'User-Agent': null }, 'abc').replace('Supported', 'Content-Length: 4\r\nSupported'))).toMatchObject({ status: 400, reason: 'Content-Length larger than the body' });
    expect(refused(register({ 'User-Agent': null }, 'abc').replace('Supported', 'Content-Length: 2\r\nSupported'))).toMatchObject({ status: 400, reason: 'Data after the body' });
    expect(refused(register({ 'User-Agent': null }, '').replace('Supported', 'Content-Length: 0\r\nSupported') + register())).toMatchObject({ status: 400, reason: 'Data after the body' });
    for (const value of ['-1', 'five', '1 0', '0x10', '']) {
      expect(refused(register({ 'User-Agent': null }).replace('Supported', `Content-Length: ${value}\r\nSupported`)).reason, value).toBe('Malformed Content-Length');
    }
    expect(parseMessage(register({ 'User-Agent': null }).replace('Supported', 'l: 000\r\nSupported')).ok).toBe(true);
  });
});

describe('parseMessage: size and binary messages', () => {
  it('answers 513 above maxMessageSize, counting bytes, with a partial', () => {
    const text = register({}, 'x'.repeat(100));
    const bytes = new TextEncoder().encode(text).length;
    expect(parseMessage(text, { maxMessageSize: bytes }).ok).toBe(true);
    // One more byte at the same string length.
    const large = parseMessage(text.replace('x', 'é'), { maxMessageSize: bytes });
    expect(large).toMatchObject({ ok: false, status: 513, reason: 'Message Too Large' });
    expect((large as ParseFailure).partial?.method).toBe('REGISTER');
    expect(parseMessage(new TextEncoder().encode(text), { maxMessageSize: bytes - 1 })).toMatchObject({ ok: false, status: 513 });
    expect(refused(register({}, 'x'.repeat(DEFAULT_MAX_MESSAGE_SIZE)))).toMatchObject({ status: 513 });
  });

  it('turns a UTF-8 binary body into a string and keeps any other as bytes', () => {
    const head = new TextEncoder().encode(register());
    const utf8 = parseMessage(new Uint8Array([...head, ...new TextEncoder().encode('ok ✓')]));
    expect(utf8.ok && utf8.message.body).toBe('ok ✓');
    const binary = parseMessage(new Uint8Array([...head, 0xff, 0x00, 0xfe]));
    expect(binary.ok && binary.message.body).toEqual(new Uint8Array([0xff, 0x00, 0xfe]));
    // The body is a copy, not a view into the caller's (possibly reused) buffer.
    const buffer = new Uint8Array([...head, 0xff]);
    const copied = parseMessage(buffer);
    buffer[buffer.length - 1] = 0;
    expect(copied.ok && (copied.message.body as Uint8Array)[0]).toBe(0xff);
    // A leading BOM in the body is content, not a marker to drop.
    const bom = parseMessage(new Uint8Array([...head, 0xef, 0xbb, 0xbf, 0x41]));
    expect(bom.ok && bom.message.body).toBe('\ufeffA');
  });

  it('flags a header section that is not UTF-8 (1007), still answerable', () => {
    const text = register({ 'User-Agent': 'JsSIP Z' });
    const bytes = new TextEncoder().encode(text);
    bytes[text.indexOf('Z')] = 0xc3; // a lead byte without its continuation
    const failure = refused(bytes);
    expect(failure).toMatchObject({ status: 400, invalidUtf8: true });
    expect(failure.partial).toBeDefined();
  });

  it('parses text and bytes of the same message alike', () => {
    const text = register({}, '');
    expect(parseMessage(new TextEncoder().encode(text))).toEqual(parseMessage(text));
    expect(parseMessage(Buffer.from(text))).toEqual(parseMessage(text));
  });

  it('refuses what is neither text nor bytes', () => {
    expect(parseMessage(42 as unknown as string)).toMatchObject({ ok: false, status: 0 });
    expect(parseMessage(new ArrayBuffer(4) as unknown as Uint8Array)).toMatchObject({ ok: false, status: 0 });
  });
});

describe('parseMessage: responses', () => {
  const RESPONSE_HEADERS = ['Via: SIP/2.0/WSS a.invalid;branch=z9hG4bK1;received=192.0.2.1', 'From: <sip:alice@example.com>;tag=1', 'To: <sip:bob@example.com>;tag=2', 'Call-ID: c1', 'CSeq: 5 INVITE', 'Content-Length: 0'];

  it('reads the Status-Line, reason phrase as written', () => {
    const result = parseMessage(wire('SIP/2.0 180 Ringing', RESPONSE_HEADERS));
    expect(result.ok && result.message).toMatchObject({ kind: 'response', status: 180, reason: 'Ringing', version: 'SIP/2.0' });
    const empty = parseMessage(wire('SIP/2.0 100 ', RESPONSE_HEADERS));
    expect(empty.ok && empty.message.kind === 'response' && empty.message.reason).toBe('');
    const phrase = parseMessage(wire('SIP/2.0 486 Busy "Here" <now>', RESPONSE_HEADERS));
    expect(phrase.ok && phrase.message.kind === 'response' && phrase.message.reason).toBe('Busy "Here" <now>');
    // A missing SP before an empty phrase is tolerated (RFC 4475 §3.1.1.13: "a liberal receiver would accept it").
    expect(parseMessage(wire('SIP/2.0 200', RESPONSE_HEADERS)).ok).toBe(true);
  });

  it('drops malformed responses (status 0, never a partial)', () => {
    for (const start of ['SIP/2.0 99 Low', 'SIP/2.0 700 High', 'SIP/2.0 4294967301 big', 'SIP/2.0 2000 OK', 'SIP/2.0 20x OK', 'SIP/3.0 200 OK', 'SIP/2.0  200 OK', 'SIP/2.0 200 a\x01b', 'SIP/2.0']) {
      const failure = refused(wire(start, RESPONSE_HEADERS));
      expect(failure.status, start).toBe(0);
      expect(failure.partial, start).toBeUndefined();
    }
    const noVia = refused(wire('SIP/2.0 200 OK', RESPONSE_HEADERS.slice(1)));
    expect(noVia).toMatchObject({ status: 0, reason: 'Missing Via header' });
    expect(refused(wire('SIP/2.0 200 OK', RESPONSE_HEADERS, 'extra')).status).toBe(0);
  });
});
