/**
 * One WebSocket message to one SIP message (RFC 7118 §5: "Each SIP message MUST be carried
 * within a single WebSocket message, and a WebSocket message MUST NOT contain more than one SIP
 * message"). Strict RFC 3261 grammar where the registrar and proxy depend on a header; unknown
 * headers pass through as written. Never throws: a refusal is a value carrying the status the
 * spec names for it (400, 505, 513), or 0 for a response, which is dropped rather than answered
 * (RFC 3261 §18.3, §16.7 step 1). A refused request whose Via, From, To, Call-ID and CSeq could
 * be read comes back as `partial`, so the caller can answer it.
 *
 * Speed: the proxy parses every message it relays. The header section is read once as units (a
 * byte per UTF-16 unit, `toUnits`; typed-array reads cost a fraction of `charCodeAt`), lines are
 * found with indexOf, and the headers the stack relies on are checked by validators that build
 * nothing (headers.ts, uri.ts) where they lie in the text. No regex, no array of lines, no object
 * per checked header: only the model's header lines are built.
 */
import { DEFAULT_MAX_MESSAGE_SIZE, HEADER_SPELLINGS, METHOD_SPELLINGS, SIP_VERSION, headerKey } from './constants.js';
import { CONTACT_BAD, CONTACT_STAR, checkContactLine, checkCSeq, checkNameAddr, checkNameAddrList, checkVia, digitsIn, isCallIdIn, isToken, skipWsUnits, trimWs } from './headers.js';
import type { SipBody, SipHeader, SipMessage, SipRequest } from './message.js';
import { TOKEN, UNIT_CLASSES, URI_SIP_HEADERS, checkUri, scanUri, toUnits } from './uri.js';

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

// The header section as units (see `toUnits`), reused by every parse: enough for any usual
// message; a larger header section gets an array of its own.
const SCRATCH = new Uint8Array(8192);

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const lenientUtf8 = new TextDecoder('utf-8', { ignoreBOM: true });

/** UTF-8 length of `text[start..]` (lone surrogates count as the 3 bytes of U+FFFD they encode to). */
export function utf8Length(text: string, start = 0): number {
  // Node's native count (the same rule for lone surrogates) beats the loop from a few characters on.
  if (text.length - start > 16) return Buffer.byteLength(start === 0 ? text : text.slice(start), 'utf8');
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

// What the parser checks a header as. The single-valued ones (FROM and up) are those whose
// repetition is an error (RFC 4475 §3.3.8, §3.3.9); each has a bit in `Scan.seen`.
const OTHER = 0;
const VIA = 1;
const CONTACT = 2;
const ROUTE = 3; // Route and Record-Route
const FROM = 4;
const TO = 5;
const CALL_ID = 6;
const CSEQ = 7;
const MAX_FORWARDS = 8;
const CONTENT_LENGTH = 9;
const CONTENT_TYPE = 10;
const EXPIRES = 11;
const ANSWERABLE = (1 << FROM) | (1 << TO) | (1 << CALL_ID) | (1 << CSEQ);

function kindOf(key: string): number {
  switch (key) {
    case 'via':
      return VIA;
    case 'contact':
      return CONTACT;
    case 'route':
    case 'record-route':
      return ROUTE;
    case 'from':
      return FROM;
    case 'to':
      return TO;
    case 'call-id':
      return CALL_ID;
    case 'cseq':
      return CSEQ;
    case 'max-forwards':
      return MAX_FORWARDS;
    case 'content-length':
      return CONTENT_LENGTH;
    case 'content-type':
      return CONTENT_TYPE;
    case 'expires':
      return EXPIRES;
    default:
      return OTHER;
  }
}

const SPELLING_KINDS = Uint8Array.from(HEADER_SPELLINGS.values, kindOf);

type Problem = { status: number; reason: string };

/**
 * What one scan of the message gathers for the checks after it. Header values are checked as
 * they are read, where they lie in the message text, and only the outcome is kept, so the
 * checks can be reported afterwards in a fixed order.
 */
class Scan {
  headers: SipHeader[] = [];
  error: Problem | undefined = undefined;
  kind: 'request' | 'response' = 'request';
  method = '';
  /** Where the method is in `units` (for the CSeq check), when this is a request. */
  units: Uint8Array | undefined = undefined;
  methodEnd = 0;
  methodStart = 0;
  uri = '';
  status = 0;
  reason = '';
  vias = 0;
  viaBad = false;
  contacts = 0;
  contactStars = 0;
  contactLists = 0;
  contactBad = false;
  routeBad = false;
  /** A bit per single-valued kind seen; only the first of each is checked (a second is an error of its own). */
  seen = 0;
  repeated: string | undefined = undefined;
  fromBad = false;
  toBad = false;
  callIdBad = false;
  /** `checkCSeq`: 0 valid, 1 another method than the request's, -1 malformed. */
  cseq = 0;
  maxForwardsBad = false;
  expiresBad = false;
  /** -1 when malformed; read only when CONTENT_LENGTH is in `seen`. */
  contentLength = -1;

  fail(status: number, reason: string): Problem {
    this.error ??= { status, reason };
    return this.error;
  }

  /** Records one header line whose value is `units[start..end)`. */
  add(kind: number, header: SipHeader, units: Uint8Array, start: number, end: number): void {
    this.headers.push(header);
    switch (kind) {
      case OTHER:
        return;
      case VIA:
        this.vias++;
        if (!this.viaBad && !checkVia(units, start, end)) this.viaBad = true;
        return;
      case CONTACT: {
        this.contacts++;
        if (this.contactBad) return;
        const line = checkContactLine(units, start, end);
        if (line === CONTACT_BAD) this.contactBad = true;
        else if (line === CONTACT_STAR) this.contactStars++;
        else this.contactLists++;
        return;
      }
      case ROUTE:
        if (!this.routeBad && !checkNameAddrList(units, start, end, true)) this.routeBad = true;
        return;
    }
    const bit = 1 << kind;
    if ((this.seen & bit) !== 0) {
      this.repeated ??= header.key;
      return;
    }
    this.seen |= bit;
    switch (kind) {
      case FROM:
        this.fromBad = !checkNameAddr(units, start, end);
        return;
      case TO:
        this.toBad = !checkNameAddr(units, start, end);
        return;
      case CALL_ID:
        this.callIdBad = !isCallIdIn(units, start, end);
        return;
      case CSEQ:
        this.cseq = checkCSeq(units, start, end, this.kind === 'request' ? this.units : undefined, this.methodStart, this.methodEnd);
        return;
      case MAX_FORWARDS:
        this.maxForwardsBad = digitsIn(units, start, end, 255) === -1; // §20.22: 0-255
        return;
      case CONTENT_LENGTH:
        this.contentLength = digitsIn(units, start, end, Infinity);
        return;
      case EXPIRES:
        this.expiresBad = digitsIn(units, start, end, Infinity) === -1; // §20.19 delta-seconds
        return;
    }
  }
}

/** Index after the last non-SP/HTAB unit before `end` (and not before `start`). */
function trimEnd(units: Uint8Array, start: number, end: number): number {
  while (end > start) {
    const code = units[end - 1]!;
    if (code !== SP && code !== HTAB) break;
    end--;
  }
  return end;
}

/**
 * Reads the header lines of `head` from `start` to `end` (the index of the blank line's CRLF),
 * unfolding continuation lines (RFC 3261 §7.3.1: LWS across CRLF is one SP). A line is added
 * once the next one shows it is not continued. `units` is `head` as units (`toUnits`).
 */
function scanHeaders(head: string, units: Uint8Array, start: number, end: number, scan: Scan): void {
  let kind = -1; // -1: no header pending
  let key = '';
  let name = '';
  let valueStart = 0;
  let valueEnd = 0;
  let folded: string | undefined; // the pending value once continuation lines were joined to it
  let lineStart = -1; // the pending line's start when it is written exactly `name: value` CRLF, else -1
  let i = start;
  while (i < end) {
    let lineEnd = head.indexOf('\n', i);
    let clean = true; // ends with CRLF, no bare CR
    if (lineEnd === -1 || lineEnd > end) {
      lineEnd = end;
      clean = end < head.length; // the last line ends with the empty line's CRLF
    } else {
      // Lines end with CRLF; a bare LF or CR is not a line break (RFC 3261 §7).
      if (units[lineEnd - 1] !== CR) {
        scan.fail(400, 'Bare LF in the header section');
        clean = false;
      }
      lineEnd--;
    }
    const cr = head.indexOf('\r', i);
    if (cr !== -1 && cr < lineEnd) {
      scan.fail(400, 'Bare CR in the header section');
      clean = false;
    }
    const first = units[i];
    if (first === SP || first === HTAB) {
      if (kind === -1) scan.fail(400, 'Continuation line before any header');
      else {
        const more = skipWsUnits(units, i, lineEnd);
        const base = folded ?? head.slice(valueStart, valueEnd);
        folded = `${trimWs(base)} ${head.slice(more, trimEnd(units, more, lineEnd))}`;
        lineStart = -1;
      }
    } else {
      if (kind !== -1) addPending(scan, kind, key, name, head, units, valueStart, valueEnd, folded, lineStart, i);
      kind = -1;
      // header-name HCOLON: a token, optional SP/HTAB, ":" (RFC 3261 §7.3.1, §25.1).
      let j = i;
      while (j < lineEnd && (UNIT_CLASSES[units[j]!]! & TOKEN) !== 0) j++;
      const nameEnd = j;
      j = skipWsUnits(units, j, lineEnd);
      if (nameEnd === i || j >= lineEnd || units[j] !== 0x3a) scan.fail(400, 'Malformed header line');
      else {
        const known = HEADER_SPELLINGS.find(units, i, nameEnd);
        if (known !== -1) {
          // The usual spelling is the table's own string; another letter case is kept as written.
          name = HEADER_SPELLINGS.exact ? HEADER_SPELLINGS.names[known]! : head.slice(i, nameEnd);
          key = HEADER_SPELLINGS.values[known]!;
          kind = SPELLING_KINDS[known]!;
        } else {
          name = head.slice(i, nameEnd);
          key = headerKey(name);
          kind = kindOf(key);
        }
        valueStart = skipWsUnits(units, j + 1, lineEnd);
        valueEnd = trimEnd(units, valueStart, lineEnd);
        folded = undefined;
        lineStart = clean && j === nameEnd && valueStart === j + 2 && units[j + 1] === SP && valueEnd === lineEnd ? i : -1;
      }
    }
    i = lineEnd + 2;
  }
  if (kind !== -1) addPending(scan, kind, key, name, head, units, valueStart, valueEnd, folded, lineStart, i);
}

function addPending(
  scan: Scan,
  kind: number,
  key: string,
  name: string,
  head: string,
  units: Uint8Array,
  valueStart: number,
  valueEnd: number,
  folded: string | undefined,
  lineStart: number,
  lineEnd: number,
): void {
  if (folded === undefined) {
    const value = head.slice(valueStart, valueEnd);
    scan.add(kind, new ParsedHeader(key, name, value, lineStart === -1 ? undefined : head, lineStart, lineEnd), units, valueStart, valueEnd);
  } else {
    // Unfolded values (rare) are checked as a text of their own.
    const value = trimWs(folded);
    scan.add(kind, new ParsedHeader(key, name, value, undefined, 0, 0), toUnits(value, value.length, EMPTY_UNITS), 0, value.length);
  }
}

/**
 * A header line as the parser read it. When the line was written exactly as `name: value` CRLF
 * (and holds no bare CR), it also knows where it lies in the message text, so `serializeMessage`
 * can copy that text, consecutive lines as one piece, instead of writing the line again: the
 * bytes are the same, and the copy is cheaper than the writing.
 */
export class ParsedHeader implements SipHeader {
  readonly #source: string | undefined;
  readonly #start: number;
  readonly #end: number;

  constructor(
    readonly key: string,
    readonly name: string,
    readonly value: string,
    source: string | undefined,
    start: number,
    end: number,
  ) {
    this.#source = source;
    this.#start = start;
    this.#end = end;
  }

  /** The message text `header` is a line of (exactly `name: value` CRLF), or undefined. */
  static sourceOf(header: SipHeader): string | undefined {
    return header instanceof ParsedHeader ? header.#source : undefined;
  }

  /** Where the line starts in `sourceOf(header)`. */
  static startOf(header: SipHeader): number {
    return (header as ParsedHeader).#start;
  }

  /** Where the line ends in `sourceOf(header)`, after its CRLF. */
  static endOf(header: SipHeader): number {
    return (header as ParsedHeader).#end;
  }
}

const EMPTY_UNITS = new Uint8Array(0);

const VERSION_SYNTAX = /^SIP\/[0-9]+\.[0-9]+$/i;

/**
 * Whether `head[start..end).toUpperCase()` is `upperText` (upper-case ASCII, `upper` as units),
 * without the copy when the range is ASCII. Other ranges take the exact `toUpperCase` path, so
 * the answer is that of the expression for any input.
 */
function isUpperCaseOf(head: string, units: Uint8Array, start: number, end: number, upper: Uint8Array, upperText: string): boolean {
  if (end - start === upper.length) {
    let k = 0;
    for (; k < upper.length; k++) {
      const code = units[start + k]!;
      if ((code >= 0x61 && code <= 0x7a ? code - 0x20 : code) !== upper[k]) break;
    }
    if (k === upper.length) return true;
  }
  // Non-ASCII may upper-case to ASCII ("ſ" to "S"): then the exact expression decides.
  for (let i = start; i < end; i++) if (units[i] === 0x80) return head.slice(start, end).toUpperCase() === upperText;
  return false;
}

const asUnits = (text: string): Uint8Array => Uint8Array.from(text, (char) => char.charCodeAt(0));
const SIP_SLASH = asUnits('SIP/');
const VERSION_UNITS = asUnits(SIP_VERSION);

/** Whether `units[start..end)` holds `code`. */
function holds(units: Uint8Array, start: number, end: number, code: number): boolean {
  for (let i = start; i < end; i++) if (units[i] === code) return true;
  return false;
}

/**
 * Records a start-line error, unless the line holds a bare CR or LF, which is reported first.
 * A line that passes every check has neither (no part of it allows them), so this scan is
 * made only for lines that are refused anyway.
 */
function failStartLine(scan: Scan, units: Uint8Array, pos: number, end: number, status: number, reason: string): void {
  if (holds(units, pos, end, CR) || holds(units, pos, end, LF)) scan.fail(400, 'Bare CR or LF in the start line');
  scan.fail(status, reason);
}

/** Reads the start line `head[pos..end)` (RFC 3261 §7.1, §7.2) into `scan`, recording the first error on it. */
function scanStartLine(head: string, units: Uint8Array, pos: number, end: number, scan: Scan): void {
  let sp = head.indexOf(' ', pos);
  if (sp >= end) sp = -1;
  if (end - pos >= 4 && isUpperCaseOf(head, units, pos, pos + 4, SIP_SLASH, 'SIP/')) {
    // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase; Status-Code is 3DIGIT,
    // 100-699 (§7.2, §21).
    scan.kind = 'response';
    if (sp === -1 || !isUpperCaseOf(head, units, pos, sp, VERSION_UNITS, SIP_VERSION)) return failStartLine(scan, units, pos, end, 0, 'Version Not Supported');
    const status = sp + 4 <= end ? digitsIn(units, sp + 1, sp + 4, Number.MAX_SAFE_INTEGER) : -1;
    // A missing SP before an empty Reason-Phrase is accepted: there is no ambiguity, and
    // dropping a final response for it would leave a transaction hanging.
    if (status < 100 || status > 699 || (sp + 4 < end && units[sp + 4] !== SP)) {
      return failStartLine(scan, units, pos, end, 0, 'Malformed Status-Line'); // RFC 4475 §3.1.2.19: drop
    }
    scan.status = status;
    scan.reason = sp + 5 < end ? head.slice(sp + 5, end) : '';
    // Only control characters are refused: the Reason-Phrase grammar is narrower, but dropping
    // a final response over a quote in its phrase would leave a transaction hanging.
    for (let i = sp + 5; i < end; i++) {
      const c = units[i]!;
      if ((c < 0x20 && c !== HTAB) || c === 0x7f) return failStartLine(scan, units, pos, end, 0, 'Malformed Reason-Phrase');
    }
    return;
  }

  // Request-Line = Method SP Request-URI SP SIP-Version: exactly two single SPs, no LWS inside
  // the Request-URI, nothing after the version (RFC 3261 §7.1; RFC 4475 §3.1.2.8-10).
  let sp2 = sp === -1 ? -1 : head.indexOf(' ', sp + 1);
  if (sp2 >= end) sp2 = -1;
  const methodEnd = sp === -1 ? end : sp;
  const known = METHOD_SPELLINGS.find(units, pos, methodEnd);
  scan.method = known !== -1 ? METHOD_SPELLINGS.names[known]! : head.slice(pos, methodEnd);
  scan.units = units;
  scan.methodStart = pos;
  scan.methodEnd = methodEnd;
  if (sp2 === -1) return failStartLine(scan, units, pos, end, 400, 'Malformed Request-Line');
  scan.uri = head.slice(sp + 1, sp2);
  if (known === -1 && !isToken(scan.method)) return failStartLine(scan, units, pos, end, 400, 'Malformed method');
  if (sp2 === sp + 1) return failStartLine(scan, units, pos, end, 400, 'Extra whitespace in the Request-Line');
  // The checks below fail on any HTAB or extra SP (no part they accept holds one), so the
  // whitespace check that comes first in the order of reports is made only when one fails.
  let problem: string | undefined;
  let status = 400;
  if (!isUpperCaseOf(head, units, sp2 + 1, end, VERSION_UNITS, SIP_VERSION)) {
    if (holds(units, sp2 + 1, end, SP)) problem = 'Extra whitespace in the Request-Line';
    else {
      const valid = VERSION_SYNTAX.test(head.slice(sp2 + 1, end));
      status = valid ? 505 : 400;
      problem = valid ? 'Version Not Supported' : 'Malformed SIP-Version';
    }
  } else if (units[sp + 1] === 0x3c) problem = 'Request-URI enclosed in angle brackets'; // RFC 4475 §3.1.2.7
  else if (scanUri(units, sp + 1, sp2, false) !== sp2) {
    // The headers component is not allowed in a Request-URI (RFC 3261 §19.1.1 table 1; RFC 4475 §3.1.2.11).
    problem = checkUri(units, sp + 1, sp2) === URI_SIP_HEADERS ? 'Request-URI with headers' : 'Malformed Request-URI';
  }
  if (problem === undefined) return;
  if (holds(units, pos, end, HTAB)) {
    status = 400;
    problem = 'Extra whitespace in the Request-Line';
  }
  failStartLine(scan, units, pos, end, status, problem);
}

/** Checks of the headers the stack reads (RFC 3261 §8.1.1, §8.2.2, §20), in the order they are reported. */
function checkHeaders(scan: Scan): Problem | undefined {
  // §8.1.1: To, From, CSeq, Call-ID, Max-Forwards and Via are mandatory in requests;
  // Max-Forwards may be absent (RFC 2543 peers, RFC 4475 §3.4.1) and is added by the proxy.
  // §8.2.6.2 / §16.7: responses carry Via, From, To, Call-ID and CSeq.
  if (scan.vias === 0) return scan.fail(400, 'Missing Via header');
  const seen = scan.seen;
  if ((seen & (1 << FROM)) === 0) return scan.fail(400, 'Missing From header');
  if ((seen & (1 << TO)) === 0) return scan.fail(400, 'Missing To header');
  if ((seen & (1 << CALL_ID)) === 0) return scan.fail(400, 'Missing Call-ID header');
  if ((seen & (1 << CSEQ)) === 0) return scan.fail(400, 'Missing CSeq header');
  if (scan.repeated !== undefined) return scan.fail(400, `More than one ${LABELS[scan.repeated] ?? scan.repeated} header`);
  if (scan.cseq === -1) return scan.fail(400, 'Malformed CSeq'); // RFC 4475 §3.1.2.4 / .5
  // §8.2.2 / §12.2.1.1: the CSeq method matches the request method (RFC 4475 §3.1.2.17, .18).
  if (scan.cseq === 1) return scan.fail(400, 'CSeq method does not match the request method');
  if (scan.maxForwardsBad) return scan.fail(400, 'Malformed Max-Forwards');
  if (scan.callIdBad) return scan.fail(400, 'Malformed Call-ID');
  if (scan.viaBad) return scan.fail(400, 'Malformed Via header');
  if (scan.fromBad) return scan.fail(400, 'Malformed From header');
  if (scan.toBad) return scan.fail(400, 'Malformed To header');
  // §10.3 step 6: STAR only alone.
  if (scan.contacts > 0 && (scan.contactBad || (scan.contactStars > 0 && (scan.contactStars > 1 || scan.contactLists > 0)))) return scan.fail(400, 'Malformed Contact header');
  if (scan.routeBad) return scan.fail(400, 'Malformed Route or Record-Route header');
  if (scan.expiresBad) return scan.fail(400, 'Malformed Expires');
  return undefined;
}

function fail(status: number, reason: string, scan: Scan | undefined, invalidUtf8 = false): ParseFailure {
  const out: { ok: false; status: number; reason: string; partial?: SipRequest; invalidUtf8?: boolean } = { ok: false, status, reason };
  if (invalidUtf8) out.invalidUtf8 = true;
  // A response to the request can be formed when it has what §8.2.6.2 copies into one.
  if (scan !== undefined && scan.kind === 'request' && status !== 0 && scan.vias > 0 && (scan.seen & ANSWERABLE) === ANSWERABLE) {
    out.partial = { kind: 'request', method: scan.method, uri: scan.uri, version: SIP_VERSION, headers: scan.headers, body: '' };
  }
  return out;
}

function parse(data: string | Uint8Array, limits: ParseLimits | undefined): ParseResult {
  const max = limits?.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  let head: string;
  let pos = 0;
  let blank: number; // index of the CRLF that ends the last header line, in `head`
  let body: SipBody = '';
  let bodyBytes = -1; // counted when a Content-Length asks for it
  let tooLarge: boolean;
  let invalidUtf8 = false;

  if (typeof data === 'string') {
    // UTF-8 is at least one byte per UTF-16 unit and at most three per unit.
    tooLarge = data.length > max || (data.length * 3 > max && utf8Length(data) > max);
    // Stream transports ignore CRLFs before the start line (RFC 3261 §7.5).
    while (data.charCodeAt(pos) === CR && data.charCodeAt(pos + 1) === LF) pos += 2;
    head = data;
    blank = data.indexOf('\r\n\r\n', pos);
    if (blank !== -1 && !tooLarge) body = data.slice(blank + 4);
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
  const units = toUnits(head, headerEnd, SCRATCH);
  let lineEnd = head.indexOf('\r\n', pos);
  if (lineEnd === -1 || lineEnd > headerEnd) lineEnd = headerEnd;
  const scan = new Scan();
  scanStartLine(head, units, pos, lineEnd, scan);
  scanHeaders(head, units, lineEnd + 2, headerEnd, scan);

  // Responses are never answered (RFC 3261 §18.3, §16.7 step 1): status 0 drops them.
  const answerable = scan.kind === 'request';
  if (invalidUtf8) return fail(answerable ? 400 : 0, 'Invalid UTF-8 in the header section', scan, true);
  if (tooLarge) return fail(answerable ? 513 : 0, 'Message Too Large', scan);
  if (scan.error !== undefined) return fail(answerable ? scan.error.status : 0, scan.error.reason, scan);
  if (blank === -1) return fail(answerable ? 400 : 0, 'No empty line after the header section', scan);
  const problem = checkHeaders(scan);
  if (problem !== undefined) return fail(answerable ? problem.status : 0, problem.reason, scan);

  // Content-Length is optional over WebSocket (the message boundary frames the body, RFC 7118
  // §5); when present it must count the body exactly: fewer bytes is a truncated message (RFC
  // 3261 §18.3, RFC 4475 §3.1.2.2), more is a second message in one WebSocket message (RFC 7118 §5).
  if ((scan.seen & (1 << CONTENT_LENGTH)) !== 0) {
    const length = scan.contentLength;
    if (length === -1) return fail(answerable ? 400 : 0, 'Malformed Content-Length', scan); // RFC 4475 §3.1.2.3
    if (bodyBytes === -1) bodyBytes = typeof body === 'string' ? utf8Length(body) : body.length;
    if (length > bodyBytes) return fail(answerable ? 400 : 0, 'Content-Length larger than the body', scan);
    if (length < bodyBytes) return fail(answerable ? 400 : 0, 'Data after the body', scan);
  }

  const message: SipMessage =
    scan.kind === 'request'
      ? { kind: 'request', method: scan.method, uri: scan.uri, version: SIP_VERSION, headers: scan.headers, body }
      : { kind: 'response', status: scan.status, reason: scan.reason, version: SIP_VERSION, headers: scan.headers, body };
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
