/**
 * One WebSocket message to one SIP message (RFC 7118 §5: "Each SIP message MUST be carried
 * within a single WebSocket message, and a WebSocket message MUST NOT contain more than one SIP
 * message"). Strict RFC 3261 grammar where the registrar and proxy depend on a header; unknown
 * headers pass through as written. Never throws: a refusal is a value carrying the status the
 * spec names for it (400, 505, 513), or 0 for a response, which is dropped rather than answered
 * (RFC 3261 §18.3, §16.7 step 1). A refused request whose Via, From, To, Call-ID and CSeq could
 * be read comes back as `partial`, so the caller can answer it.
 *
 * The header section is scanned with indexOf, one pass, no regex and no array of lines.
 */
import { DEFAULT_MAX_MESSAGE_SIZE, SIP_VERSION, headerKey } from './constants.js';
import { isCallId, isRouteList, isToken, parseContacts, parseCSeq, parseDigits, parseNameAddr, parseVia, trimWs } from './headers.js';
import type { SipBody, SipHeader, SipMessage, SipRequest } from './message.js';
import { parseUri, uriScheme } from './uri.js';

export interface ParseLimits {
  /** Largest message in bytes; larger ones are refused with 513 (RFC 3261 §21.5.14). @default 65535 */
  maxMessageSize?: number;
}

export interface ParseFailure {
  readonly ok: false;
  /** The answer: 400, 505 or 513 for a request; 0 for a response (drop it). */
  readonly status: number;
  /** A Reason-Phrase saying what is wrong (no input is echoed in it). */
  readonly reason: string;
  /** The request as far as it could be read, when a response to it can be formed. */
  readonly partial?: SipRequest;
  /** The header section of a binary message is not UTF-8 (the connection closes with 1007). */
  readonly invalidUtf8?: boolean;
}

export type ParseResult = { readonly ok: true; readonly message: SipMessage } | ParseFailure;

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const lenientUtf8 = new TextDecoder('utf-8', { ignoreBOM: true });

/** UTF-8 length of `text[start..]` (lone surrogates count as the 3 bytes of U+FFFD they encode to). */
export function utf8Length(text: string, start = 0): number {
  let bytes = 0;
  for (let i = start; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes++;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

/** Index of the first CRLFCRLF in `bytes` from `from`, or -1. */
function indexOfBlankLine(bytes: Uint8Array, from: number): number {
  for (let i = bytes.indexOf(CR, from); i !== -1 && i + 3 < bytes.length; i = bytes.indexOf(CR, i + 1)) {
    if (bytes[i + 1] === LF && bytes[i + 2] === CR && bytes[i + 3] === LF) return i;
  }
  return -1;
}

/** The single-valued headers whose repetition is an error (RFC 4475 §3.3.8, §3.3.9). */
const SINGLE = new Set(['from', 'to', 'call-id', 'cseq', 'max-forwards', 'content-length', 'content-type', 'expires']);

const LABELS: Record<string, string> = {
  from: 'From',
  to: 'To',
  'call-id': 'Call-ID',
  cseq: 'CSeq',
  'max-forwards': 'Max-Forwards',
  'content-length': 'Content-Length',
  'content-type': 'Content-Type',
  expires: 'Expires',
};

type Problem = { status: number; reason: string };

/** What one scan of the header section gathers for the checks after it. */
class Scan {
  headers: SipHeader[] = [];
  error: Problem | undefined;
  vias: string[] = [];
  contacts: string[] = [];
  routes: string[] = [];
  single = new Map<string, string>();
  repeated: string | undefined;

  fail(status: number, reason: string): Problem {
    this.error ??= { status, reason };
    return this.error;
  }

  add(name: string, value: string): void {
    const key = headerKey(name);
    this.headers.push({ key, name, value });
    if (key === 'via') this.vias.push(value);
    else if (key === 'contact') this.contacts.push(value);
    else if (key === 'route' || key === 'record-route') this.routes.push(value);
    else if (SINGLE.has(key)) {
      if (this.single.has(key)) this.repeated ??= key;
      else this.single.set(key, value);
    }
  }
}

/**
 * Reads the header lines of `head` from `start` to `end` (the index of the blank line's CRLF),
 * unfolding continuation lines (RFC 3261 §7.3.1: LWS across CRLF is one SP).
 */
function scanHeaders(head: string, start: number, end: number, scan: Scan): void {
  let name: string | undefined;
  let value = '';
  let i = start;
  while (i < end) {
    let lineEnd = head.indexOf('\n', i);
    if (lineEnd === -1 || lineEnd > end) lineEnd = end;
    else {
      // Lines end with CRLF; a bare LF or CR is not a line break (RFC 3261 §7).
      if (head.charCodeAt(lineEnd - 1) !== CR) scan.fail(400, 'Bare LF in the header section');
      lineEnd--;
    }
    const cr = head.indexOf('\r', i);
    if (cr !== -1 && cr < lineEnd) scan.fail(400, 'Bare CR in the header section');
    const first = head.charCodeAt(i);
    if (first === SP || first === HTAB) {
      if (name === undefined) scan.fail(400, 'Continuation line before any header');
      else value = `${trimEndWs(value)} ${trimWs(head.slice(i, lineEnd))}`;
    } else {
      if (name !== undefined) scan.add(name, trimWs(value));
      name = undefined;
      // header-name HCOLON: a token, optional SP/HTAB, ":" (RFC 3261 §7.3.1, §25.1).
      let j = i;
      while (j < lineEnd && isTokenCode(head.charCodeAt(j))) j++;
      const nameEnd = j;
      while (j < lineEnd && (head.charCodeAt(j) === SP || head.charCodeAt(j) === HTAB)) j++;
      if (nameEnd === i || j >= lineEnd || head.charCodeAt(j) !== 0x3a) scan.fail(400, 'Malformed header line');
      else {
        name = head.slice(i, nameEnd);
        value = head.slice(j + 1, lineEnd);
      }
    }
    i = lineEnd + 2;
  }
  if (name !== undefined) scan.add(name, trimWs(value));
}

function trimEndWs(text: string): string {
  let end = text.length;
  while (end > 0 && (text.charCodeAt(end - 1) === SP || text.charCodeAt(end - 1) === HTAB)) end--;
  return end === text.length ? text : text.slice(0, end);
}

// token characters (RFC 3261 §25.1): alphanum and - . ! % * _ + ` ' ~
const TOKEN_CODES = new Uint8Array(128);
for (const char of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~") TOKEN_CODES[char.charCodeAt(0)] = 1;
const isTokenCode = (code: number): boolean => code < 128 && TOKEN_CODES[code] === 1;

interface StartLine {
  kind: 'request' | 'response';
  method: string;
  uri: string;
  status: number;
  reason: string;
}

const VERSION_SYNTAX = /^SIP\/[0-9]+\.[0-9]+$/i;

/** Reads the start line (RFC 3261 §7.1, §7.2), recording the first error on `scan`. */
function scanStartLine(line: string, scan: Scan): StartLine {
  const out: StartLine = { kind: 'request', method: '', uri: '', status: 0, reason: '' };
  if (line.length >= 4 && line.slice(0, 4).toUpperCase() === 'SIP/') {
    // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase; Status-Code is 3DIGIT,
    // 100-699 (§7.2, §21).
    out.kind = 'response';
    const sp = line.indexOf(' ');
    if (sp === -1 || line.slice(0, sp).toUpperCase() !== SIP_VERSION) {
      scan.fail(0, 'Version Not Supported');
      return out;
    }
    const code = line.slice(sp + 1, sp + 4);
    const status = parseDigits(code);
    // A missing SP before an empty Reason-Phrase is accepted: there is no ambiguity, and
    // dropping a final response for it would leave a transaction hanging.
    if (code.length !== 3 || status === undefined || status < 100 || status > 699 || (sp + 4 < line.length && line.charCodeAt(sp + 4) !== SP)) {
      scan.fail(0, 'Malformed Status-Line'); // RFC 4475 §3.1.2.19: drop
      return out;
    }
    out.status = status;
    out.reason = line.slice(sp + 5);
    // Only control characters are refused: the Reason-Phrase grammar is narrower, but dropping
    // a final response over a quote in its phrase would leave a transaction hanging.
    for (let i = 0; i < out.reason.length; i++) {
      const c = out.reason.charCodeAt(i);
      if ((c < 0x20 && c !== HTAB) || c === 0x7f) scan.fail(0, 'Malformed Reason-Phrase');
    }
    return out;
  }

  // Request-Line = Method SP Request-URI SP SIP-Version: exactly two single SPs, no LWS inside
  // the Request-URI, nothing after the version (RFC 3261 §7.1; RFC 4475 §3.1.2.8-10).
  const sp1 = line.indexOf(' ');
  const sp2 = sp1 === -1 ? -1 : line.indexOf(' ', sp1 + 1);
  out.method = sp1 === -1 ? line : line.slice(0, sp1);
  if (sp2 === -1) {
    scan.fail(400, 'Malformed Request-Line');
    return out;
  }
  out.uri = line.slice(sp1 + 1, sp2);
  const version = line.slice(sp2 + 1);
  if (!isToken(out.method)) scan.fail(400, 'Malformed method');
  else if (out.uri.length === 0 || version.indexOf(' ') !== -1 || line.indexOf('\t') !== -1) scan.fail(400, 'Extra whitespace in the Request-Line');
  else if (version.toUpperCase() !== SIP_VERSION) {
    scan.fail(VERSION_SYNTAX.test(version) ? 505 : 400, VERSION_SYNTAX.test(version) ? 'Version Not Supported' : 'Malformed SIP-Version');
  } else if (out.uri.charCodeAt(0) === 0x3c) scan.fail(400, 'Request-URI enclosed in angle brackets'); // RFC 4475 §3.1.2.7
  else {
    const scheme = uriScheme(out.uri);
    if (scheme === undefined) scan.fail(400, 'Malformed Request-URI');
    else if ((scheme === 'sip' || scheme === 'sips') && Object.keys(parseUri(out.uri)!.headers).length > 0) {
      // The headers component is not allowed in a Request-URI (RFC 3261 §19.1.1 table 1; RFC 4475 §3.1.2.11).
      scan.fail(400, 'Request-URI with headers');
    }
  }
  return out;
}

/** Checks of the headers the stack reads (RFC 3261 §8.1.1, §8.2.2, §20), in the order they are reported. */
function checkHeaders(scan: Scan, start: StartLine): Problem | undefined {
  // §8.1.1: To, From, CSeq, Call-ID, Max-Forwards and Via are mandatory in requests;
  // Max-Forwards may be absent (RFC 2543 peers, RFC 4475 §3.4.1) and is added by the proxy.
  // §8.2.6.2 / §16.7: responses carry Via, From, To, Call-ID and CSeq.
  if (scan.vias.length === 0) return scan.fail(400, 'Missing Via header');
  for (const [key, label] of [['from', 'From'], ['to', 'To'], ['call-id', 'Call-ID'], ['cseq', 'CSeq']] as const) {
    if (!scan.single.has(key)) return scan.fail(400, `Missing ${label} header`);
  }
  if (scan.repeated !== undefined) return scan.fail(400, `More than one ${LABELS[scan.repeated] ?? scan.repeated} header`);
  const cseq = parseCSeq(scan.single.get('cseq')!);
  if (cseq === undefined) return scan.fail(400, 'Malformed CSeq'); // RFC 4475 §3.1.2.4 / .5
  // §8.2.2 / §12.2.1.1: the CSeq method matches the request method (RFC 4475 §3.1.2.17, .18).
  if (start.kind === 'request' && cseq.method !== start.method) return scan.fail(400, 'CSeq method does not match the request method');
  const maxForwards = scan.single.get('max-forwards');
  if (maxForwards !== undefined && parseDigits(maxForwards, 255) === undefined) return scan.fail(400, 'Malformed Max-Forwards'); // §20.22: 0-255
  if (!isCallId(scan.single.get('call-id')!)) return scan.fail(400, 'Malformed Call-ID');
  for (const via of scan.vias) if (parseVia(via) === undefined) return scan.fail(400, 'Malformed Via header');
  if (parseNameAddr(scan.single.get('from')!) === undefined) return scan.fail(400, 'Malformed From header');
  if (parseNameAddr(scan.single.get('to')!) === undefined) return scan.fail(400, 'Malformed To header');
  if (scan.contacts.length > 0 && parseContacts(scan.contacts) === undefined) return scan.fail(400, 'Malformed Contact header');
  if (scan.routes.length > 0 && !isRouteList(scan.routes)) return scan.fail(400, 'Malformed Route or Record-Route header');
  const expires = scan.single.get('expires');
  if (expires !== undefined && parseDigits(expires, Infinity) === undefined) return scan.fail(400, 'Malformed Expires'); // §20.19 delta-seconds
  return undefined;
}

function fail(status: number, reason: string, scan: Scan | undefined, start: StartLine | undefined, extra?: { invalidUtf8?: boolean }): ParseFailure {
  const out: { ok: false; status: number; reason: string; partial?: SipRequest; invalidUtf8?: boolean } = { ok: false, status, reason };
  if (extra?.invalidUtf8) out.invalidUtf8 = true;
  // A response to the request can be formed when it has what §8.2.6.2 copies into one.
  if (scan !== undefined && start !== undefined && start.kind === 'request' && status !== 0) {
    const single = scan.single;
    if (scan.vias.length > 0 && single.has('from') && single.has('to') && single.has('call-id') && single.has('cseq')) {
      out.partial = { kind: 'request', method: start.method, uri: start.uri, version: SIP_VERSION, headers: scan.headers, body: '' };
    }
  }
  return out;
}

function parse(data: string | Uint8Array, limits: ParseLimits | undefined): ParseResult {
  const max = limits?.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  let head: string;
  let pos = 0;
  let blank: number; // index of the CRLF that ends the last header line, in `head`
  let body: SipBody = '';
  let bodyBytes = 0;
  let tooLarge: boolean;
  let invalidUtf8 = false;

  if (typeof data === 'string') {
    // UTF-8 is at least one byte per UTF-16 unit and at most three per unit.
    tooLarge = data.length > max || (data.length * 3 > max && utf8Length(data) > max);
    // Stream transports ignore CRLFs before the start line (RFC 3261 §7.5).
    while (data.charCodeAt(pos) === CR && data.charCodeAt(pos + 1) === LF) pos += 2;
    head = data;
    blank = data.indexOf('\r\n\r\n', pos);
    if (blank !== -1 && !tooLarge) {
      body = data.slice(blank + 4);
      bodyBytes = utf8Length(body);
    }
  } else if (data instanceof Uint8Array) {
    tooLarge = data.length > max;
    while (data[pos] === CR && data[pos + 1] === LF) pos += 2;
    const blankAt = indexOfBlankLine(data, pos);
    const headBytes = data.subarray(0, blankAt === -1 ? data.length : blankAt + 4);
    try {
      head = fatalUtf8.decode(headBytes);
    } catch {
      invalidUtf8 = true;
      head = lenientUtf8.decode(headBytes);
    }
    blank = blankAt === -1 ? -1 : head.length - 4;
    if (blankAt !== -1 && !tooLarge) {
      const bytes = data.subarray(blankAt + 4);
      bodyBytes = bytes.length;
      try {
        body = fatalUtf8.decode(bytes);
      } catch {
        body = new Uint8Array(bytes); // a copy: the caller's buffer may be reused
      }
    }
  } else {
    return { ok: false, status: 0, reason: 'Not a text or binary message' };
  }

  if (pos >= head.length) return { ok: false, status: 0, reason: 'Empty message' };
  const headerEnd = blank === -1 ? head.length : blank;
  let lineEnd = head.indexOf('\r\n', pos);
  if (lineEnd === -1 || lineEnd > headerEnd) lineEnd = headerEnd;
  const scan = new Scan();
  const startText = head.slice(pos, lineEnd);
  if (startText.indexOf('\r') !== -1 || startText.indexOf('\n') !== -1) scan.fail(400, 'Bare CR or LF in the start line');
  const start = scanStartLine(startText, scan);
  scanHeaders(head, lineEnd + 2, headerEnd, scan);

  const answerable = start.kind === 'request';
  const status = (code: number): number => (answerable ? code : 0);
  if (invalidUtf8) return fail(status(400), 'Invalid UTF-8 in the header section', scan, start, { invalidUtf8: true });
  if (tooLarge) return fail(status(513), 'Message Too Large', scan, start);
  if (scan.error !== undefined) return fail(status(scan.error.status), scan.error.reason, scan, start);
  if (blank === -1) return fail(status(400), 'No empty line after the header section', scan, start);
  const problem = checkHeaders(scan, start);
  if (problem !== undefined) return fail(status(problem.status), problem.reason, scan, start);

  // Content-Length is optional over WebSocket (the message boundary frames the body, RFC 7118
  // §5); when present it must count the body exactly: fewer bytes is a truncated message (RFC
  // 3261 §18.3, RFC 4475 §3.1.2.2), more is a second message in one WebSocket message (RFC 7118 §5).
  const contentLength = scan.single.get('content-length');
  if (contentLength !== undefined) {
    const length = parseDigits(contentLength, Infinity);
    if (length === undefined) return fail(status(400), 'Malformed Content-Length', scan, start); // RFC 4475 §3.1.2.3
    if (length > bodyBytes) return fail(status(400), 'Content-Length larger than the body', scan, start);
    if (length < bodyBytes) return fail(status(400), 'Data after the body', scan, start);
  }

  const message: SipMessage =
    start.kind === 'request'
      ? { kind: 'request', method: start.method, uri: start.uri, version: SIP_VERSION, headers: scan.headers, body }
      : { kind: 'response', status: start.status, reason: start.reason, version: SIP_VERSION, headers: scan.headers, body };
  return { ok: true, message };
}

/**
 * Parses one SIP message from one WebSocket message (text, or binary for bodies that are not
 * UTF-8). Never throws.
 */
export function parseMessage(data: string | Uint8Array, limits?: ParseLimits): ParseResult {
  try {
    return parse(data, limits);
  } catch {
    // Unreachable by design (the property tests check no input gets here); kept so one bad
    // message can never take the process down.
    return { ok: false, status: 0, reason: 'Internal parser error' };
  }
}
