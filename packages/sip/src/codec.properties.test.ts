/**
 * The codec properties of `@protoplex/core/testing` for SIP: valid requests and responses
 * survive serialize then parse; any text or bytes (noise, and valid messages cut, spliced and
 * bit-flipped) parse without throwing; every refusal has a reason.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { runCodecProperties } from '@protoplex/core/testing';
import { headerKey } from './constants.js';
import { formatNameAddr, formatVia, quote } from './headers.js';
import type { SipHeader, SipMessage, SipRequest, SipResponse } from './message.js';
import { parseMessage, type ParseResult } from './parser.js';
import { serializeMessage } from './serializer.js';
import { formatUri } from './uri.js';

const token = fc.stringMatching(/^[a-zA-Z0-9\-.!%*_+`'~]{1,10}$/);
const method = fc.oneof(fc.constantFrom('INVITE', 'ACK', 'BYE', 'CANCEL', 'REGISTER', 'OPTIONS', 'MESSAGE', 'SUBSCRIBE', 'NOTIFY', 'REFER', 'INFO', 'UPDATE', 'PRACK'), token);
const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,5}[a-z0-9])?$/);
const topLabel = fc.stringMatching(/^[a-z]([a-z0-9-]{0,5}[a-z0-9])?$/);
const hostname = fc.tuple(fc.array(label, { maxLength: 2 }), topLabel).map(([labels, top]) => [...labels, top].join('.'));
const host = fc.oneof(hostname, fc.ipV4(), fc.ipV6().map((address) => `[${address}]`));
const port = fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined });
const user = fc.stringMatching(/^([a-zA-Z0-9\-_.!~*'()&=+$,;?/]|%[0-9A-F]{2}){1,8}$/);
const uriParams = fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9-]{0,5}$/), fc.option(fc.stringMatching(/^[a-zA-Z0-9\-_.!~*'()]{1,6}$/), { nil: null }), { maxKeys: 2 });

const sipUri = fc.record({ scheme: fc.constantFrom('sip', 'sips'), user: fc.option(user, { nil: undefined }), host, port, params: uriParams }).map((uri) => {
  const out: Parameters<typeof formatUri>[0] = { scheme: uri.scheme, host: uri.host, params: uri.params, headers: {} };
  if (uri.user !== undefined) out.user = uri.user;
  if (uri.port !== undefined) out.port = uri.port;
  return formatUri(out);
});
const requestUri = fc.oneof({ weight: 5, arbitrary: sipUri }, { weight: 1, arbitrary: fc.constantFrom('tel:+1-201-555-0123', 'urn:service:sos', 'mailto:a@example.com') });

const printable = (maxLength: number): fc.Arbitrary<string> =>
  fc.string({ unit: 'grapheme', maxLength }).map((text) => text.replace(/[\x00-\x1f\x7f]/g, '').replace(/^[ \t]+|[ \t]+$/g, ''));
const headerParams = fc.dictionary(token.map((name) => name.toLowerCase()), fc.option(fc.oneof(token, printable(6).map(quote)), { nil: null }), { maxKeys: 2 });

const via = fc
  .record({ transport: fc.constantFrom('WSS', 'WS', 'UDP', 'TCP', 'TLS'), host, port, branch: token.map((t) => `z9hG4bK${t}`), params: headerParams })
  .map(({ transport, host, port, branch, params }) => formatVia({ protocol: `SIP/2.0/${transport}`, transport, host, ...(port === undefined ? {} : { port }), params, branch }));
const viaLine = fc.array(via, { minLength: 1, maxLength: 3 }).map((values) => values.join(', '));
const nameAddr = fc.record({ displayName: fc.option(printable(12), { nil: undefined }), uri: fc.oneof(sipUri, fc.constant('tel:+15551234')), params: headerParams }).map(({ displayName, uri, params }) =>
  formatNameAddr(displayName === undefined ? { uri, params } : { displayName, uri, params }),
);
const callId = fc.stringMatching(/^[a-zA-Z0-9\-.!%*_+`'~()<>:\\"/[\]?{}]{1,16}(@[a-z0-9.]{1,10})?$/);
const cseqNumber = fc.integer({ min: 0, max: 2 ** 32 - 1 });

// Names the parser validates or counts are generated on purpose above, never as extension headers.
const CHECKED = new Set(['via', 'from', 'to', 'call-id', 'cseq', 'max-forwards', 'content-length', 'content-type', 'expires', 'contact', 'route', 'record-route']);
const extension = fc.tuple(token.filter((name) => !CHECKED.has(headerKey(name))), printable(30));
const spelling = (...names: string[]): fc.Arbitrary<string> => fc.constantFrom(...names);
const header = (name: string, value: string): SipHeader => ({ key: headerKey(name), name, value });

/** The header section common to requests and responses, in a random order. */
const headersFor = (cseqMethod: fc.Arbitrary<string>, request: boolean): fc.Arbitrary<SipHeader[]> =>
  fc
    .record({
      vias: fc.array(fc.tuple(spelling('Via', 'v', 'VIA'), viaLine), { minLength: 1, maxLength: 2 }),
      from: fc.tuple(spelling('From', 'f', 'from'), nameAddr, token),
      to: fc.tuple(spelling('To', 't'), nameAddr),
      callId: fc.tuple(spelling('Call-ID', 'i', 'call-id'), callId),
      cseq: fc.tuple(cseqNumber, cseqMethod),
      maxForwards: fc.option(fc.integer({ min: 0, max: 255 }), { nil: undefined }),
      contacts: fc.option(fc.oneof(fc.constant('*'), fc.array(nameAddr, { minLength: 1, maxLength: 2 }).map((values) => values.join(', '))), { nil: undefined }),
      routes: fc.array(sipUri.map((uri) => `<${uri};lr>`), { maxLength: 2 }),
      extensions: fc.array(extension, { maxLength: 4 }),
    })
    .chain((parts) => {
      const lines: SipHeader[] = [
        ...parts.vias.map(([name, value]) => header(name, value)),
        header(parts.from[0], `${parts.from[1]};tag=${parts.from[2]}`),
        header(parts.to[0], parts.to[1]),
        header(parts.callId[0], parts.callId[1]),
        header('CSeq', `${parts.cseq[0]} ${parts.cseq[1]}`),
        ...(request && parts.maxForwards !== undefined ? [header('Max-Forwards', String(parts.maxForwards))] : []),
        ...(parts.contacts !== undefined ? [header('Contact', parts.contacts)] : []),
        ...parts.routes.map((route) => header(request ? 'Route' : 'Record-Route', route)),
        ...parts.extensions.map(([name, value]) => header(name, value)),
      ];
      // Via order is meaningful (RFC 3261 §8.2.6.2), so only the other lines move around.
      const vias = lines.filter((line) => line.key === 'via');
      return fc.shuffledSubarray(lines.filter((line) => line.key !== 'via'), { minLength: lines.length - vias.length }).map((others) => [...vias, ...others]);
    });

const textBody = fc.oneof(fc.constant(''), fc.string({ unit: 'binary', maxLength: 60 }), fc.constant('v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n\r\n'));
// Bodies that are not UTF-8 (0xFF never occurs in UTF-8), which only binary frames carry.
const binaryBody = fc.uint8Array({ minLength: 1, maxLength: 40 }).map((bytes) => Uint8Array.from([0xff, ...bytes]));

const requests = (body: fc.Arbitrary<SipMessage['body']>): fc.Arbitrary<SipRequest> =>
  fc.tuple(method, requestUri).chain(([name, uri]) =>
    fc.record({ headers: headersFor(fc.constant(name), true), body }).map(({ headers, body }): SipRequest => ({ kind: 'request', method: name, uri, version: 'SIP/2.0', headers, body })),
  );
const responses = (body: fc.Arbitrary<SipMessage['body']>): fc.Arbitrary<SipResponse> =>
  fc
    .record({ status: fc.integer({ min: 100, max: 699 }), reason: fc.string({ unit: 'grapheme', maxLength: 20 }).map((text) => text.replace(/[\x00-\x1f\x7f]/g, '')), headers: headersFor(method, false), body })
    .map(({ status, reason, headers, body }): SipResponse => ({ kind: 'response', status, reason, version: 'SIP/2.0', headers, body }));

/** The serializer writes its own Content-Length, so it is set aside in comparisons. */
const normalize = (message: SipMessage): unknown => ({ ...message, headers: message.headers.filter((line) => line.key !== 'content-length') });
const framesOf = (result: ParseResult): SipMessage[] => (result.ok ? [result.message] : []);
const refusalOf = (result: ParseResult): string | undefined => (result.ok ? undefined : result.reason);

// Text that looks like SIP more often than noise does: pieces of start lines and headers.
const sipish = fc
  .array(
    fc.oneof(
      fc.constantFrom('INVITE sip:a@b SIP/2.0', 'SIP/2.0 200 OK', 'SIP/2.0 ', '\r\n', '\r\n\r\n', '\n', '\r', ' ', '\t', ':', ';', ',', '<', '>', '"', '\\', '=', '@', '%', '[', ']'),
      fc.constantFrom('Via: SIP/2.0/WSS a.invalid;branch=z9hG4bK1', 'v:', 'From: <sip:a@b>;tag=1', 'To:', 'Call-ID: x', 'CSeq: 1 INVITE', 'Content-Length: ', 'l: 3', 'Contact: *', 'Max-Forwards: 70', 'Route: <sip:p;lr>'),
      fc.string({ unit: 'binary', maxLength: 8 }),
    ),
    { maxLength: 30 },
  )
  .map((parts) => parts.join(''));

runCodecProperties({
  name: 'sip (text)',
  frames: fc.oneof(requests(textBody), responses(textBody)),
  encode: (message) => serializeMessage(message) as string,
  decode: (wire: string) => parseMessage(wire),
  framesOf,
  refusalOf,
  normalize,
  inputs: fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), sipish),
});

runCodecProperties({
  name: 'sip (binary bodies)',
  frames: fc.oneof(requests(binaryBody), responses(binaryBody)),
  encode: (message) => serializeMessage(message) as Uint8Array,
  decode: (wire: Uint8Array) => parseMessage(wire),
  framesOf,
  refusalOf,
  normalize,
});

describe('parser totality', () => {
  const anyInput = fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), sipish, fc.uint8Array({ maxLength: 300 }), sipish.map((text) => new TextEncoder().encode(text)));

  test.prop([anyInput], { numRuns: 1000 })('never reaches the last-resort catch', (input) => {
    const result = parseMessage(input);
    if (!result.ok) expect(result.reason).not.toBe('Internal parser error');
  });

  test.prop([fc.oneof(requests(textBody), responses(textBody)), fc.nat(), fc.string({ unit: 'binary', maxLength: 6 })], { numRuns: 500 })(
    'a valid message with text inserted anywhere parses or is refused, never throws',
    (message, at, insert) => {
      const wire = serializeMessage(message) as string;
      const i = at % (wire.length + 1);
      const result = parseMessage(wire.slice(0, i) + insert + wire.slice(i));
      if (!result.ok) {
        expect(result.reason).not.toBe('Internal parser error');
        // Responses are never answered; requests are answered only when a response can be formed.
        if (result.partial !== undefined) expect(result.status).toBeGreaterThan(0);
      }
    },
  );

  test.prop([requests(textBody)])('a valid request re-serialized after parse is byte-identical', (request) => {
    const wire = serializeMessage(request);
    const result = parseMessage(wire);
    expect(result.ok).toBe(true);
    if (result.ok) expect(serializeMessage(result.message)).toBe(wire);
  });
});
