import { describe, expect, it } from 'vitest';
import { getHeader, getHeaders, type SipRequest } from './message.js';
import { parseMessage } from './parser.js';
import { addHeader, createResponse, removeHeader, serializeMessage, setHeader } from './serializer.js';

function parseRequest(text: string): SipRequest {
  const result = parseMessage(text);
  if (!result.ok || result.message.kind !== 'request') throw new Error(result.ok ? 'not a request' : result.reason);
  return result.message;
}

const INVITE = [
  'INVITE sip:bob@example.com SIP/2.0',
  'Via: SIP/2.0/WSS proxy.example.com;branch=z9hG4bKproxy',
  'v: SIP/2.0/WSS a.invalid;branch=z9hG4bKua;received=192.0.2.1',
  'Max-Forwards: 69',
  'f: "Alice" <sip:alice@example.com>;tag=a1',
  'To: <sip:bob@example.com>',
  'i: call-1',
  'CSeq: 7 INVITE',
  'Timestamp: 54.2 0.1',
  'Contact: <sip:a@a.invalid;transport=ws;ob>',
  'Content-Type: application/sdp',
  'l: 4',
  '',
  'v=0\n',
].join('\r\n');

describe('serializeMessage', () => {
  it('writes the start line, the headers as written, and a Content-Length in place of the first one', () => {
    const request = parseRequest(INVITE);
    const wire = serializeMessage(request) as string;
    expect(wire.split('\r\n').slice(0, 13)).toEqual([
      'INVITE sip:bob@example.com SIP/2.0',
      'Via: SIP/2.0/WSS proxy.example.com;branch=z9hG4bKproxy',
      'v: SIP/2.0/WSS a.invalid;branch=z9hG4bKua;received=192.0.2.1',
      'Max-Forwards: 69',
      'f: "Alice" <sip:alice@example.com>;tag=a1',
      'To: <sip:bob@example.com>',
      'i: call-1',
      'CSeq: 7 INVITE',
      'Timestamp: 54.2 0.1',
      'Contact: <sip:a@a.invalid;transport=ws;ob>',
      'Content-Type: application/sdp',
      'Content-Length: 4',
      '',
    ]);
    expect(wire.endsWith('\r\n\r\nv=0\n')).toBe(true);
  });

  it('recounts the body after a change, and appends a Content-Length when there was none', () => {
    const request = parseRequest(INVITE);
    request.body = 'ü✓';
    expect(serializeMessage(request)).toContain('\r\nContent-Length: 5\r\n\r\nü✓');
    removeHeader(request, 'content-length');
    request.body = '';
    expect((serializeMessage(request) as string).endsWith('Content-Type: application/sdp\r\nContent-Length: 0\r\n\r\n')).toBe(true);
    addHeader(request, 'Content-Length', '99');
    addHeader(request, 'l', '98');
    const wire = serializeMessage(request) as string;
    expect(wire.match(/Content-Length/g)).toHaveLength(1);
    expect(wire).toContain('Content-Length: 0\r\n');
  });

  it('returns bytes for a binary body, text otherwise', () => {
    const request = parseRequest(INVITE);
    request.body = new Uint8Array([0xff, 0, 1]);
    const wire = serializeMessage(request);
    expect(wire).toBeInstanceOf(Uint8Array);
    const text = new TextDecoder().decode((wire as Uint8Array).subarray(0, -3));
    expect(text).toContain('Content-Length: 3\r\n\r\n');
    expect(Array.from((wire as Uint8Array).subarray(-3))).toEqual([0xff, 0, 1]);
    const back = parseMessage(wire);
    expect(back.ok && back.message.body).toEqual(new Uint8Array([0xff, 0, 1]));
  });

  it('writes a response Status-Line, and never lets a CR or LF start a new line', () => {
    const response = createResponse(parseRequest(INVITE), 486, { reason: 'Busy\r\nX-Injected: 1', headers: [['Warning', '399 x "a\r\nb"']] });
    const wire = serializeMessage(response) as string;
    expect(wire.startsWith('SIP/2.0 486 Busy X-Injected: 1\r\n')).toBe(true);
    expect(wire).toContain('\r\nWarning: 399 x "a b"\r\n');
    expect(wire.split('\r\n').filter((line) => line.startsWith('X-Injected'))).toEqual([]);
  });
});

describe('createResponse (RFC 3261 §8.2.6)', () => {
  it('copies every Via in order, From, To, Call-ID and CSeq, with the registered phrase', () => {
    const request = parseRequest(INVITE);
    const response = createResponse(request, 180, { toTag: 'b2' });
    expect(response).toMatchObject({ kind: 'response', status: 180, reason: 'Ringing', version: 'SIP/2.0', body: '' });
    expect(response.headers.map((header) => `${header.name}: ${header.value}`)).toEqual([
      'Via: SIP/2.0/WSS proxy.example.com;branch=z9hG4bKproxy',
      'v: SIP/2.0/WSS a.invalid;branch=z9hG4bKua;received=192.0.2.1',
      'f: "Alice" <sip:alice@example.com>;tag=a1',
      'To: <sip:bob@example.com>;tag=b2',
      'i: call-1',
      'CSeq: 7 INVITE',
    ]);
    expect(parseMessage(serializeMessage(response)).ok).toBe(true);
  });

  it('keeps an existing To tag and never tags a 100; a 100 copies Timestamp (§8.2.6.1)', () => {
    const request = parseRequest(INVITE);
    const trying = createResponse(request, 100, { toTag: 'b2' });
    expect(getHeader(trying, 'to')).toBe('<sip:bob@example.com>');
    expect(getHeader(trying, 'timestamp')).toBe('54.2 0.1');
    expect(getHeader(createResponse(request, 200), 'timestamp')).toBeUndefined();
    setHeader(request, 'To', '<sip:bob@example.com>;tag=existing');
    expect(getHeader(createResponse(request, 200, { toTag: 'new' }), 'to')).toBe('<sip:bob@example.com>;tag=existing');
  });

  it('adds extra headers and a body with its Content-Type', () => {
    const response = createResponse(parseRequest(INVITE), 200, { headers: [['Contact', '<sip:bob@b.invalid>'], ['Supported', 'outbound']], body: 'v=0\r\n', contentType: 'application/sdp', reason: 'Fine' });
    expect(response.reason).toBe('Fine');
    expect(response.headers.slice(-3).map((header) => [header.key, header.value])).toEqual([
      ['contact', '<sip:bob@b.invalid>'],
      ['supported', 'outbound'],
      ['content-type', 'application/sdp'],
    ]);
    const wire = serializeMessage(response) as string;
    expect(wire.endsWith('Content-Type: application/sdp\r\nContent-Length: 5\r\n\r\nv=0\r\n')).toBe(true);
  });

  it('uses the class phrase for an unregistered code', () => {
    expect(createResponse(parseRequest(INVITE), 499).reason).toBe('Request Failure');
  });
});

describe('header mutation helpers', () => {
  it('addHeader appends, or prepends with atTop, keying by the long lower-case name', () => {
    const request = parseRequest(INVITE);
    addHeader(request, 'Via', 'SIP/2.0/WSS edge.example.com;branch=z9hG4bKedge', true);
    addHeader(request, 'Record-Route', '<sip:edge.example.com;lr>', true);
    addHeader(request, 'k', 'path');
    expect(request.headers[0]).toEqual({ key: 'record-route', name: 'Record-Route', value: '<sip:edge.example.com;lr>' });
    expect(getHeaders(request, 'via')[0]).toBe('SIP/2.0/WSS edge.example.com;branch=z9hG4bKedge');
    expect(request.headers.at(-1)).toEqual({ key: 'supported', name: 'k', value: 'path' });
  });

  it('removeHeader removes every line of a header by key or any spelling', () => {
    const request = parseRequest(INVITE);
    expect(removeHeader(request, 'via')).toBe(2);
    expect(getHeaders(request, 'via')).toEqual([]);
    expect(removeHeader(request, 'i')).toBe(1);
    expect(removeHeader(request, 'X-None')).toBe(0);
  });

  it('setHeader replaces the first line in place, drops the rest, or appends', () => {
    const request = parseRequest(INVITE);
    setHeader(request, 'Max-Forwards', '68');
    expect(request.headers[2]).toEqual({ key: 'max-forwards', name: 'Max-Forwards', value: '68' });
    setHeader(request, 'Via', 'SIP/2.0/WSS only.example.com;branch=z9hG4bKonly');
    expect(getHeaders(request, 'via')).toEqual(['SIP/2.0/WSS only.example.com;branch=z9hG4bKonly']);
    expect(request.headers[0]!.key).toBe('via');
    setHeader(request, 'Expires', '60');
    expect(request.headers.at(-1)).toEqual({ key: 'expires', name: 'Expires', value: '60' });
  });
});
