/**
 * RFC 4475, SIP Torture Test Messages. The fixtures are the RFC's own message files (the `.dat`
 * files of its appendix tarball, <allOneLine>/<hex> already expanded), byte for byte, CRLF.
 *
 * §3.1.1 valid messages parse, with the fields the RFC points at; §3.1.2 invalid ones are refused
 * with the answer the RFC describes (400, 505, or dropped for a response). §3.2-3.4 are about
 * transaction and application semantics: the parser accepts them (or, where the grammar breaks,
 * refuses them), and each test names the layer that owns the rest and the answer it needs.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { getHeader, getHeaders, type SipMessage, type SipRequest, type SipResponse } from './message.js';
import { parseMessage, type ParseFailure } from './parser.js';
import { createResponse, serializeMessage } from './serializer.js';
import { parseAuthorization, parseContacts, parseCSeq, parseNameAddr, parseRoutes, parseVia, tagOf } from './headers.js';
import { aorOf, parseUri, unescape, uriEquals, uriScheme } from './uri.js';

const dir = new URL('./fixtures/rfc4475/', import.meta.url);
const bytes = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(`${name}.dat`, dir)));

function valid(name: string): SipMessage {
  const result = parseMessage(bytes(name));
  if (!result.ok) throw new Error(`${name}: ${result.status} ${result.reason}`);
  // The same bytes as a text frame parse the same whenever they are UTF-8.
  const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  let asText: string | undefined;
  try {
    asText = text.decode(bytes(name));
  } catch {
    asText = undefined;
  }
  if (asText !== undefined) expect(parseMessage(asText)).toEqual(result);
  // Serializing and parsing again gives the same message; the serializer writes its own
  // Content-Length (long name, where the first one was, or last), so that line is set aside.
  const again = parseMessage(serializeMessage(result.message));
  expect(again.ok).toBe(true);
  const withoutLength = (message: SipMessage): SipMessage => ({ ...message, headers: message.headers.filter((header) => header.key !== 'content-length') });
  if (again.ok) expect(withoutLength(again.message)).toEqual(withoutLength(result.message));
  return result.message;
}

const request = (name: string): SipRequest => {
  const message = valid(name);
  if (message.kind !== 'request') throw new Error(`${name} is not a request`);
  return message;
};

const response = (name: string): SipResponse => {
  const message = valid(name);
  if (message.kind !== 'response') throw new Error(`${name} is not a response`);
  return message;
};

function refused(name: string, data: Uint8Array | string = bytes(name)): ParseFailure {
  const result = parseMessage(data);
  if (result.ok) throw new Error(`${name} was accepted`);
  expect(result.reason.length).toBeGreaterThan(0);
  return result;
}

/**
 * A refused request that can still be answered: `partial` holds what RFC 3261 §8.2.6.2 copies
 * into the response (copied as received, so a malformed To stays malformed in the 400 too).
 */
function answerable(name: string, status: number, reason: RegExp): ParseFailure {
  const failure = refused(name);
  expect(failure.status).toBe(status);
  expect(failure.reason).toMatch(reason);
  expect(failure.partial).toBeDefined();
  const answer = createResponse(failure.partial!, failure.status, { reason: failure.reason });
  expect(new Set(answer.headers.map((header) => header.key))).toEqual(new Set(['via', 'from', 'to', 'call-id', 'cseq']));
  expect(serializeMessage(answer)).toMatch(new RegExp(`^SIP/2\\.0 ${status} ${failure.reason}\r\n`));
  return failure;
}

describe('RFC 4475 fixtures', () => {
  it('holds the 49 messages of the RFC, CRLF throughout', () => {
    const files = readdirSync(dir).filter((file) => file.endsWith('.dat'));
    expect(files).toHaveLength(49);
    for (const file of files) {
      const data = readFileSync(new URL(file, dir));
      const blank = data.indexOf('\r\n\r\n');
      const head = data.subarray(0, blank === -1 ? data.length : blank + 2);
      for (let i = head.indexOf(0x0a); i !== -1; i = head.indexOf(0x0a, i + 1)) expect(head[i - 1], `${file} at ${i}`).toBe(0x0d);
      expect(head.subarray(-2).toString('latin1'), file).toBe('\r\n');
    }
  });

  it('no message makes the parser throw, as bytes or as text, whole or cut anywhere', () => {
    for (const file of readdirSync(dir).filter((name) => name.endsWith('.dat'))) {
      const data = new Uint8Array(readFileSync(new URL(file, dir)));
      for (let cut = 0; cut <= data.length; cut += 7) {
        const part = data.subarray(0, cut);
        for (const input of [part, new TextDecoder().decode(part)]) {
          const result = parseMessage(input);
          if (!result.ok) expect(result.reason, `${file} cut at ${cut}`).not.toBe('Internal parser error');
        }
      }
    }
  });
});

describe('3.1.1 valid messages', () => {
  it('3.1.1.1 wsinv: a short tortuous INVITE', () => {
    const message = request('wsinv');
    expect(message.method).toBe('INVITE');
    expect(message.uri).toBe('sip:vivekg@chair-dnrc.example.com;unknownparam');
    expect(parseUri(message.uri)?.params).toEqual({ unknownparam: null });
    // line folding, LWS around ":" ";" "=", mixed case and compact names
    const to = parseNameAddr(getHeader(message, 'to')!)!;
    expect(to.uri).toBe('sip:vivekg@chair-dnrc.example.com');
    expect(tagOf(getHeader(message, 'to')!)).toBe('1918181833n');
    const from = parseNameAddr(getHeader(message, 'from')!)!;
    expect(from.displayName).toBe('J Rosenberg \\"'); // escaped characters within quotes
    expect(from.params.tag).toBe('98asjd8');
    // integer fields with leading zeros
    expect(Number(getHeader(message, 'max-forwards'))).toBe(68);
    expect(parseCSeq(getHeader(message, 'cseq')!)).toEqual({ seq: 9, method: 'INVITE' });
    // comma-separated and separately listed Via values, LWS inside sent-protocol
    const vias = getHeaders(message, 'via').flatMap((value) => parseVia(value)!);
    expect(vias.map((via) => [via.protocol, via.host, via.branch])).toEqual([
      ['SIP/2.0/UDP', '192.0.2.2', '390skdjuw'],
      ['SIP/2.0/TCP', 'spindle.example.com', 'z9hG4bK9ikj8'],
      ['SIP/2.0/UDP', '192.168.255.111', 'z9hG4bK30239'],
    ]);
    expect(getHeader(message, 'subject')).toBe(''); // an empty subject
    expect(getHeader(message, 'newfangledheader')).toBe('newfangled value continued newfangled value');
    // an unknown header whose value would be invalid as generic-params passes through untouched
    expect(getHeader(message, 'unknownheaderwithunusualvalue')).toBe(';;,,;;,;');
    expect(parseRoutes(getHeaders(message, 'route'))[0]).toEqual({ uri: 'sip:services.example.com;lr;unknownwith=value;unknown-no-value', params: {} });
    const contacts = parseContacts(getHeaders(message, 'contact'));
    expect(contacts).toEqual([{ displayName: 'Quoted string ""', uri: 'sip:jdrosen@example.com', params: { newparam: 'newvalue', secondparam: null, q: '0.33' } }]);
    expect(message.body).toMatch(/^v=0\r\n/);
    expect(new TextEncoder().encode(message.body as string).length).toBe(150);
  });

  it('3.1.1.2 intmeth: a wide range of valid characters', () => {
    const message = request('intmeth');
    expect(message.method).toBe("!interesting-Method0123456789_*+`.%indeed'~"); // not an escape
    const uri = parseUri(message.uri)!;
    expect(uri.user).toBe("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
    expect(uri.password).toBe("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
    expect(uri.host).toBe('example.com');
    expect(parseVia(getHeader(message, 'via')!)![0]!.branch).toBe("z9hG4bK-.!%66*_+`'~");
    // quoted-pairs in the To display name, a quoted NUL among them
    expect(parseNameAddr(getHeader(message, 'to')!)!.displayName).toBe('BEL:\x07 NUL:\x00 DEL:\x7f');
    const from = parseNameAddr(getHeader(message, 'from')!)!;
    expect(from.displayName).toBe("token1~` token2'+_ token3*%!.-");
    expect(from.params["fromparam''~+*_!.-%"]).toBe('"работающий"');
    expect(from.params.tag).toBe("_token~1'+`*%!-.");
    expect(getHeader(message, 'call-id')).toBe('intmeth.word%ZK-!.*_+\'@word`~)(><:\\/"][?}{');
    expect(parseCSeq(getHeader(message, 'cseq')!)).toEqual({ seq: 139122385, method: message.method });
    // an unknown header with a UTF8-NONASCII value starting with U+FEFF, kept as sent
    expect(getHeader(message, "extensionheader-!.%*+_`'~")).toBe('\ufeff大停電');
  });

  it('3.1.1.3 esc01: valid use of % escaping', () => {
    const message = request('esc01');
    const ruri = parseUri(message.uri)!;
    expect(unescape(ruri.user!)).toBe('sips:user@example.com');
    expect(ruri.host).toBe('example.net');
    // %HH is equivalent to the character it encodes
    const to = parseNameAddr(getHeader(message, 'to')!)!;
    expect(uriEquals(to.uri, 'sip:user@example.com')).toBe(true);
    expect(aorOf(to.uri)).toBe('sip:user@example.com');
    expect(unescape(parseUri(parseNameAddr(getHeader(message, 'from')!)!.uri)!.user!)).toBe('I have spaces');
    // "name" is "value%41", which is NOT "valueA": unescaping is never recursive
    const contact = (parseContacts(getHeaders(message, 'contact')) as { uri: string }[])[0]!.uri;
    expect(parseUri(contact)!.params).toEqual({ lr: null, name: 'v%61lue%25%34%31' });
    expect(uriEquals(contact, 'sip:caller@host5.example.net;lr;name=value%2541')).toBe(true);
    expect(uriEquals(contact, 'sip:caller@host5.example.net;lr;name=valueA')).toBe(false);
    expect(getHeader(message, 'content-type')).toBe('application/sdp'); // `C:`
    expect(getHeader(message, 'call-id')).toBe('esc01.239409asdfakjkn23onasd0-3234'); // `i:`
  });

  it('3.1.1.4 escnull: escaped NULs in user parts', () => {
    const message = request('escnull');
    const to = parseNameAddr(getHeader(message, 'to')!)!;
    expect(aorOf(to.uri)).toBe('sip:null-%00-null@example.com'); // not shortened at the NUL
    const contacts = parseContacts(getHeaders(message, 'contact')) as { uri: string }[];
    expect(contacts.map((contact) => contact.uri)).toEqual(['sip:%00@host5.example.com', 'sip:%00%00@host5.example.com']);
    expect(uriEquals(contacts[0]!.uri, contacts[1]!.uri)).toBe(false); // two distinct bindings
    expect(getHeader(message, 'content-length')).toBe('0'); // `L:0`
  });

  it('3.1.1.5 esc02: % where it is not an escape', () => {
    const message = request('esc02');
    expect(message.method).toBe('RE%47IST%45R'); // an unknown method, not REGISTER
    expect(parseNameAddr(getHeader(message, 'to')!)!.displayName).toBe('%Z%45');
    expect(parseNameAddr(getHeader(message, 'from')!)!.displayName).toBe('%Z%45');
    // two Contact values, not three: C%6Fntact is another header
    expect((parseContacts(getHeaders(message, 'contact')) as { uri: string }[]).map((c) => c.uri)).toEqual(['sip:alias1@host1.example.com', 'sip:alias3@host3.example.com']);
    expect(getHeader(message, 'c%6fntact')).toBe('<sip:alias2@host2.example.com>');
    expect(parseVia(getHeader(message, 'via')!)![0]!.branch).toBe('z9hG4bK209%fzsnel234');
  });

  it('3.1.1.6 lwsdisp: no LWS between display name and <', () => {
    const message = request('lwsdisp');
    expect(parseNameAddr(getHeader(message, 'from')!)).toEqual({ displayName: 'caller', uri: 'sip:caller@example.com', params: { tag: '323' } });
  });

  it('3.1.1.7 longreq: long values and many headers', () => {
    const message = request('longreq');
    const to = parseNameAddr(getHeader(message, 'to')!)!;
    expect(to.displayName).toMatch(/^I have a user name of (extreme){10} proportion$/);
    expect(parseUri(to.uri)!.port).toBe(6000);
    expect(Object.keys(parseUri(to.uri)!.params)).toHaveLength(3);
    expect(tagOf(getHeader(message, 'from')!)).toMatch(/^1(298)+2424$/);
    // 34 Via values under every spelling of Via and v
    const vias = getHeaders(message, 'via').flatMap((value) => parseVia(value)!);
    expect(vias).toHaveLength(34);
    expect(vias[0]!.host).toBe('sip33.example.com');
    expect(vias[33]!.params.received).toBe('192.0.2.5');
    expect(getHeader(message, 'call-id')).toMatch(/^longreq\.one(really){20}longcallid$/);
    expect(getHeader(message, 'content-length')).toBe('150'); // `l: 150`
  });

  it('3.1.1.8 dblreq: extra octets after the body are refused over WebSocket (RFC 7118 §5)', () => {
    // RFC 4475 reads this as one UDP datagram whose trailing octets are discarded (RFC 3261
    // §18.3). Over WebSocket a message "MUST NOT contain more than one SIP message", so they are
    // an error; the REGISTER can still be answered, with 400.
    const failure = answerable('dblreq', 400, /after the body/);
    expect(failure.partial!.method).toBe('REGISTER');
    expect(getHeader(failure.partial!, 'call-id')).toBe('dblreq.0ha0isndaksdj99sdfafnl3lk233412');
    // Cut at its Content-Length, the REGISTER alone is well formed.
    const data = bytes('dblreq');
    const end = Buffer.from(data).indexOf('\r\n\r\n') + 4;
    const alone = parseMessage(data.subarray(0, end));
    expect(alone.ok && alone.message.kind === 'request' && alone.message.method).toBe('REGISTER');
  });

  it('3.1.1.9 semiuri: a semicolon in the user part', () => {
    const message = request('semiuri');
    const uri = parseUri(message.uri)!;
    expect(uri.user).toBe('user;par=u%40example.net');
    expect(unescape(uri.user!)).toBe('user;par=u@example.net');
    expect(uri.host).toBe('example.com');
    expect(uri.params).toEqual({});
    expect(getHeader(message, 'accept')).toBe('application/sdp, application/pkcs7-mime, multipart/mixed, multipart/signed, message/sip, message/sipfrag');
  });

  it('3.1.1.10 transports: every transport in Via, the extension one too', () => {
    const message = request('transports');
    expect(getHeaders(message, 'via').map((value) => parseVia(value)![0]!.transport)).toEqual(['UDP', 'SCTP', 'TLS', 'UNKNOWN', 'TCP']);
    expect(getHeader(message, 'call-id')).toBe('transports.kijh4akdnaqjkwendsasfdj');
  });

  it('3.1.1.11 mpart01: a multipart body with binary parts', () => {
    const message = request('mpart01');
    // The second part is binary and not UTF-8: the body stays bytes, framed by its length.
    expect(message.body).toBeInstanceOf(Uint8Array);
    expect((message.body as Uint8Array).length).toBe(553);
    expect((message.body as Uint8Array).includes(0)).toBe(true);
    expect(getHeader(message, 'content-type')).toBe('multipart/mixed;boundary=7a9cbec02ceef655');
    const wire = serializeMessage(message);
    expect(wire).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(wire as Uint8Array).subarray(-553).equals(Buffer.from(message.body as Uint8Array))).toBe(true);
  });

  it('3.1.1.12 unreason: an unusual reason phrase', () => {
    const message = response('unreason');
    expect(message.status).toBe(200);
    expect(message.reason).toBe('= 2**3 * 5**2 но сто девяносто девять - простое');
  });

  it('3.1.1.13 noreason: an empty reason phrase', () => {
    const message = response('noreason');
    expect(message.status).toBe(100);
    expect(message.reason).toBe('');
  });
});

describe('3.1.2 invalid messages', () => {
  it('3.1.2.1 badinv01: extraneous header field separators -> 400', () => {
    answerable('badinv01', 400, /Via/);
  });

  it('3.1.2.2 clerr: Content-Length larger than the message -> 400', () => {
    answerable('clerr', 400, /Content-Length larger/);
  });

  it('3.1.2.3 ncl: negative Content-Length -> 400', () => {
    answerable('ncl', 400, /Content-Length/);
    const five = new TextDecoder().decode(bytes('ncl')).replace('Content-Length: -999', 'Content-Length: five');
    expect(refused('ncl five', five).status).toBe(400);
  });

  it('3.1.2.4 scalar02: request scalar fields with overlarge values -> 400 for the CSeq', () => {
    answerable('scalar02', 400, /CSeq/);
    const text = new TextDecoder().decode(bytes('scalar02'));
    // With the CSeq in range, Max-Forwards 300 is the next error (0-255, RFC 3261 §20.22).
    const cseqFixed = text.replace('36893488147419103232', '1');
    expect(refused('scalar02 mf', cseqFixed)).toMatchObject({ status: 400, reason: 'Malformed Max-Forwards' });
    // With both in range, the overlarge expiries are the registrar's to default (RFC 4475: 3600).
    const expiresOnly = cseqFixed.replace('Max-Forwards: 300', 'Max-Forwards: 70');
    expect(parseMessage(expiresOnly).ok).toBe(true);
  });

  it('3.1.2.5 scalarlg: response scalar fields with overlarge values -> dropped', () => {
    const failure = refused('scalarlg');
    expect(failure.status).toBe(0);
    expect(failure.partial).toBeUndefined();
  });

  it('3.1.2.6 quotbal: unterminated quoted string in a display name -> 400', () => {
    answerable('quotbal', 400, /To/);
  });

  it('3.1.2.7 ltgtruri: <> around the Request-URI -> 400', () => {
    answerable('ltgtruri', 400, /angle brackets/);
  });

  it('3.1.2.8 lwsruri: LWS inside the Request-URI -> 400', () => {
    answerable('lwsruri', 400, /whitespace/);
  });

  it('3.1.2.9 lwsstart: several SP between Request-Line elements -> 400', () => {
    answerable('lwsstart', 400, /whitespace/);
  });

  it('3.1.2.10 trws: SP after the SIP-Version -> 400', () => {
    answerable('trws', 400, /whitespace/);
  });

  it('3.1.2.11 escruri: escaped headers in the Request-URI -> 400', () => {
    answerable('escruri', 400, /headers/);
  });

  it('3.1.2.12 baddate: a non-GMT Date is accepted (the stack never reads Date)', () => {
    // "An element shouldn't [reject it] unless the contents of the Date header field were
    // actually important to its processing": neither registrar nor proxy reads Date.
    const message = request('baddate');
    expect(getHeader(message, 'date')).toBe('Fri, 01 Jan 2010 16:00:00 EST');
  });

  it('3.1.2.13 regbadct: an addr-spec with ? outside <> -> 400', () => {
    answerable('regbadct', 400, /Contact/);
  });

  it('3.1.2.14 badaspec: spaces inside <> -> 400', () => {
    answerable('badaspec', 400, /To/);
  });

  it('3.1.2.15 baddn: non-token characters in an unquoted display name -> 400', () => {
    // The RFC's baddn.dat ends after "l: 0" CRLF, without the empty line: refused for that first.
    answerable('baddn', 400, /empty line/);
    const complete = new Uint8Array([...bytes('baddn'), 0x0d, 0x0a]);
    const failure = refused('baddn + CRLF', complete);
    expect(failure).toMatchObject({ status: 400, reason: 'Malformed From header' });
    expect(failure.partial).toBeDefined();
  });

  it('3.1.2.16 badvers: unknown protocol version -> 505', () => {
    answerable('badvers', 505, /Version Not Supported/);
  });

  it('3.1.2.17 mismatch01: start line and CSeq method mismatch -> 400', () => {
    answerable('mismatch01', 400, /CSeq method/);
  });

  it('3.1.2.18 mismatch02: unknown method with CSeq mismatch -> 400 (the RFC prefers 501, allows 400)', () => {
    const failure = answerable('mismatch02', 400, /CSeq method/);
    expect(failure.partial!.method).toBe('NEWMETHOD');
  });

  it('3.1.2.19 bigcode: overlarge response code -> dropped', () => {
    const failure = refused('bigcode');
    expect(failure.status).toBe(0);
    expect(failure.partial).toBeUndefined();
  });
});

describe('3.2 transaction layer semantics', () => {
  it('3.2.1 badbranch: branch is the bare magic cookie (transaction layer: 400 or RFC 2543 matching)', () => {
    const message = request('badbranch');
    expect(parseVia(getHeader(message, 'via')!)![0]!.branch).toBe('z9hG4bK');
  });
});

describe('3.3 application layer semantics (parse here, answer in the layer named)', () => {
  it('3.3.1 insuf: no Call-ID, From or To -> 400 refusal with no response possible, so dropped', () => {
    // RFC 4475: "Ideally, it will respond with a 400". A response copies From, To and Call-ID
    // (RFC 3261 §8.2.6.2), so without them none can be formed: no partial, the caller drops it.
    const failure = refused('insuf');
    expect(failure.status).toBe(400);
    expect(failure.reason).toMatch(/Missing/);
    expect(failure.partial).toBeUndefined();
  });

  it('3.3.2 unkscm: unknown Request-URI scheme (proxy: 416)', () => {
    const message = request('unkscm');
    expect(uriScheme(message.uri)).toBe('nobodyknowsthisscheme');
    expect(parseUri(message.uri)).toBeUndefined();
  });

  it('3.3.3 novelsc: known but atypical Request-URI scheme (proxy: 416)', () => {
    expect(uriScheme(request('novelsc').uri)).toBe('soap.beep');
  });

  it('3.3.4 unksm2: other schemes in To, From and Contact (registrar: 400, To must be a SIP AOR)', () => {
    const message = request('unksm2');
    expect(uriScheme(parseNameAddr(getHeader(message, 'to')!)!.uri)).toBe('isbn');
    expect(uriScheme(parseNameAddr(getHeader(message, 'from')!)!.uri)).toBe('http');
    expect((parseContacts(getHeaders(message, 'contact')) as { uri: string }[])[0]!.uri).toBe('name:John_Smith');
    expect(aorOf(parseNameAddr(getHeader(message, 'to')!)!.uri)).toBeUndefined();
  });

  it('3.3.5 bext01: unknown Require and Proxy-Require (proxy: 420 for Proxy-Require, UAS: 420 for Require, Unsupported listing them)', () => {
    const message = request('bext01');
    expect(getHeader(message, 'require')).toBe('nothingSupportsThis, nothingSupportsThisEither');
    expect(getHeader(message, 'proxy-require')).toBe('noProxiesSupportThis, norDoAnyProxiesSupportThis');
  });

  it('3.3.6 invut: unknown Content-Type (UAS: 415; a proxy forwards it)', () => {
    const message = request('invut');
    expect(getHeader(message, 'content-type')).toBe('application/unknownformat');
    expect(message.body).toBe('<audio>\r\n <pcmu port="443"/>\r\n</audio>\r\n');
  });

  it('3.3.7 regaut01: unknown authorization scheme (registrar: 401 with a Digest challenge)', () => {
    const message = request('regaut01');
    expect(parseAuthorization(getHeader(message, 'authorization')!)).toEqual({ scheme: 'NoOneKnowsThisScheme', params: { 'opaque-data': 'here' } });
  });

  it('3.3.8 multi01: several values in single-value fields -> 400 (parser)', () => {
    answerable('multi01', 400, /More than one/);
  });

  it('3.3.9 mcl01: several Content-Length values -> 400 (parser)', () => {
    answerable('mcl01', 400, /Content-Length/);
  });

  it('3.3.10 bcast: 200 OK with a broadcast Via (proxy: drop, the top Via is not its own)', () => {
    const message = response('bcast');
    expect(getHeaders(message, 'via').map((value) => parseVia(value)![0]!.host)).toEqual(['192.0.2.198', '255.255.255.255']);
  });

  it('3.3.11 zeromf: Max-Forwards 0 (proxy: 483 when forwarding; the server as UAS answers, OPTIONS 200)', () => {
    expect(getHeader(request('zeromf'), 'max-forwards')).toBe('0');
  });

  it('3.3.12 cparam01: a contact-param, not a url-param (registrar: 200, unknownparam stays a header param)', () => {
    const contact = (parseContacts(getHeaders(request('cparam01'), 'contact')) as { uri: string; params: object }[])[0]!;
    expect(contact).toEqual({ uri: 'sip:+19725552222@gw1.example.net', params: { unknownparam: null } });
    expect(parseUri(contact.uri)!.params).toEqual({});
  });

  it('3.3.13 cparam02: a url-param (registrar: 200, unknownparam stays in the URI)', () => {
    const contact = (parseContacts(getHeaders(request('cparam02'), 'contact')) as { uri: string; params: object }[])[0]!;
    expect(contact).toEqual({ uri: 'sip:+19725552222@gw1.example.net;unknownparam', params: {} });
    expect(parseUri(contact.uri)!.params).toEqual({ unknownparam: null });
  });

  it('3.3.14 regescrt: an escaped header in a Contact URI (registrar: 200, binding keeps it)', () => {
    const contact = (parseContacts(getHeaders(request('regescrt'), 'contact')) as { uri: string }[])[0]!;
    expect(parseUri(contact.uri)!.headers).toEqual({ Route: '%3Csip:sip.example.com%3E' });
    expect(unescape(parseUri(contact.uri)!.headers.Route!)).toBe('<sip:sip.example.com>');
  });

  it('3.3.15 sdp01: Accept without application/sdp (UAS: 406, or 400; a proxy forwards it)', () => {
    expect(getHeader(request('sdp01'), 'accept')).toBe('text/nobodyKnowsThis');
  });
});

describe('3.4 backward compatibility', () => {
  it('3.4.1 inv2543: RFC 2543 syntax (no branch, no From tag, no Content-Length, no Max-Forwards) parses', () => {
    const message = request('inv2543');
    expect(getHeader(message, 'max-forwards')).toBeUndefined(); // the proxy adds 70
    expect(getHeader(message, 'content-length')).toBeUndefined(); // the WebSocket message frames the body
    expect(parseVia(getHeader(message, 'via')!)![0]!.branch).toBeUndefined(); // transaction layer: §17.2.3 RFC 2543 matching
    expect(tagOf(getHeader(message, 'from')!)).toBeUndefined();
    expect(parseNameAddr(getHeader(message, 'to')!)).toEqual({ uri: 'sip:+16505552222@ss1.example.net', params: { user: 'phone' } });
    expect(message.body).toMatch(/^v=0\r\n[^]*m=audio 49217 RTP\/AVP 0\r\n$/);
  });
});
