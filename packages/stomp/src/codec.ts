/**
 * The STOMP frame codec, per version: bytes or text in, typed frames out, and back. Pure: no
 * session state, no timers. The parser is incremental (a frame may span WebSocket messages and a
 * message may hold several frames) and reports bad input as a value; it never throws.
 *
 * @see https://stomp.github.io/stomp-specification-1.2.html#STOMP_Frames
 */
import { Buffer } from 'node:buffer';
import { Byte, type StompVersion } from './constants.js';

/** One STOMP frame. */
export interface StompFrame {
  readonly command: string;
  /**
   * Decoded header values (escapes undone). STOMP 1.2 "Repeated Header Entries": "only the first
   * header entry SHOULD be used as the value of header entry", so a repeated name keeps its first value.
   */
  readonly headers: Readonly<Record<string, string>>;
  /** The body octets, exactly as sent (a view into the received message, not a copy). */
  readonly body: Uint8Array;
}

/** Limits the parser enforces; exceeding one is a `too-large` fault. */
export interface ParseLimits {
  /** Header lines per frame. @default 64 */
  readonly maxHeaders: number;
  /** Bytes per command or header line, EOL excluded. @default 8192 */
  readonly maxHeaderLength: number;
  /** Body bytes per frame. @default 4194304 (4 MiB) */
  readonly maxBodyLength: number;
}

export const defaultParseLimits: ParseLimits = {
  maxHeaders: 64,
  maxHeaderLength: 8192,
  maxBodyLength: 4 * 1024 * 1024,
};

/** Why a frame could not be parsed. After a fault the parser is spent: the session must close. */
export interface ParseFault {
  readonly kind: 'malformed' | 'too-large';
  readonly message: string;
  /** The `receipt` header of the bad frame, when it was read before the fault. */
  readonly receipt?: string;
}

/** What one `push` produced: frames in order, heart-beat EOLs seen, and at most one fault (last). */
export interface ParseResult {
  readonly frames: StompFrame[];
  readonly heartBeats: number;
  readonly fault?: ParseFault;
}

export interface StompParser {
  /** Feeds one WebSocket message (text or binary). Frames that are not complete yet wait for the next push. */
  push(chunk: Uint8Array | string): ParseResult;
  /** Bytes held back waiting for the rest of a frame. */
  readonly pending: number;
}

const INCOMPLETE = 0;

/** Frames whose headers are never escaped. STOMP 1.2 "Value Encoding": "CONNECT and CONNECTED frames do not escape the carriage return, line feed or colon octets in order to remain backward compatible with STOMP 1.0". */
function escapes(command: string, version: StompVersion): boolean {
  return version !== '1.0' && command !== 'CONNECT' && command !== 'CONNECTED';
}

/** Creates an incremental parser for one connection speaking `version`. */
export function createParser(version: StompVersion, limits: Partial<ParseLimits> = {}): StompParser {
  const lim: ParseLimits = { ...defaultParseLimits, ...limits };
  let pending: Buffer | undefined;
  let spent: ParseFault | undefined;
  // STOMP 1.2 "Augmented BNF": EOL = [CR] LF. 1.0 and 1.1 end lines with LF only.
  const crlf = version === '1.2';

  /** Parses whole frames of `buf` from `pos` into `out`; keeps an incomplete tail as `pending`. */
  const drain = (buf: Buffer, pos: number, out: { frames: StompFrame[]; heartBeats: number }): ParseFault | undefined => {
    const len = buf.length;
    while (pos < len) {
      const b = buf[pos]!;
      // STOMP 1.2 "Heart-beating": "heart-beats ... a single end-of-line (EOL)"; 1.2 "Augmented
      // BNF": frames may be followed by *( EOL ). A CR before LF is tolerated here in every version.
      if (b === Byte.LF) {
        out.heartBeats++;
        pos++;
        continue;
      }
      if (b === Byte.CR && (pos + 1 >= len || buf[pos + 1] === Byte.LF)) {
        if (pos + 1 >= len) break;
        out.heartBeats++;
        pos += 2;
        continue;
      }
      const one = parseOne(buf, pos, version, crlf, lim);
      if (one === INCOMPLETE) break;
      if ('fault' in one) return (spent = one.fault);
      out.frames.push(one.frame);
      pos = one.next;
    }
    if (pos < len) pending = Buffer.from(buf.subarray(pos));
    return undefined;
  };

  return {
    get pending() {
      return pending?.length ?? 0;
    },
    push(chunk) {
      if (spent) return { frames: [], heartBeats: 0, fault: spent };
      const out = { frames: [] as StompFrame[], heartBeats: 0 };
      let fault: ParseFault | undefined;
      if (typeof chunk === 'string' && pending === undefined) {
        // A text WebSocket message: read it as a string (no encode of the command and headers,
        // no decode back); only bodies become bytes. Whatever the text path cannot settle
        // exactly (a frame split across messages, a limit near its edge, NUL octets under
        // content-length) goes through the byte path from that frame on.
        const pos = drainText(chunk, version, crlf, lim, out);
        if (typeof pos !== 'number') fault = spent = pos;
        else if (pos < chunk.length) fault = drain(Buffer.from(chunk.slice(pos), 'utf8'), 0, out);
      } else {
        const data = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : toBuffer(chunk);
        const buf = pending ? Buffer.concat([pending, data]) : data;
        pending = undefined;
        fault = drain(buf, 0, out);
      }
      return fault ? { frames: out.frames, heartBeats: out.heartBeats, fault } : out;
    },
  };
}

/**
 * Parses exactly one complete frame from `data` (trailing EOLs allowed).
 * @returns the frame, or a fault (an incomplete frame is a `malformed` fault here)
 */
export function parseFrame(data: Uint8Array | string, version: StompVersion, limits: Partial<ParseLimits> = {}): StompFrame | ParseFault {
  const parser = createParser(version, limits);
  const result = parser.push(data);
  if (result.fault) return result.fault;
  if (result.frames.length !== 1 || parser.pending > 0) {
    return { kind: 'malformed', message: result.frames.length === 0 ? 'Incomplete frame' : 'Expected exactly one frame' };
  }
  return result.frames[0]!;
}

type ParseOne = typeof INCOMPLETE | { frame: StompFrame; next: number } | { fault: ParseFault };

/** What the header lines of one frame have set so far. */
interface HeaderState {
  readonly command: string;
  readonly headers: Record<string, string>;
  readonly unescape: boolean;
  receipt: string | undefined;
  contentLength: number;
}

function headerState(command: string, version: StompVersion): HeaderState {
  return { command, headers: Object.create(null) as Record<string, string>, unescape: escapes(command, version), receipt: undefined, contentLength: -1 };
}

/** Takes one header line (`name` and `value` as on the wire). @returns a fault, or undefined */
function takeHeader(st: HeaderState, name: string, value: string, version: StompVersion, lim: ParseLimits): ParseFault | undefined {
  // STOMP 1.2 "Augmented BNF": header-name = 1*<any OCTET except CR or LF or ":">.
  if (name.length === 0) return fault('malformed', 'Empty header name', st.receipt);
  if (st.unescape) {
    const n = unescapeHeader(name, version);
    const v = unescapeHeader(value, version);
    // STOMP 1.2 "Value Encoding": "Undefined escape sequences such as \t (octet 92 and 116) MUST be treated as a fatal protocol error."
    if (n === undefined || v === undefined) return fault('malformed', 'Undefined escape sequence in header', st.receipt);
    name = n;
    value = v;
  }
  // STOMP 1.2 "Repeated Header Entries": "only the first header entry SHOULD be used".
  if (name in st.headers) return undefined;
  st.headers[name] = value;
  if (name === 'receipt') st.receipt = value;
  else if (name === 'content-length') {
    if (!/^[0-9]{1,15}$/.test(value)) return fault('malformed', 'Invalid content-length', st.receipt);
    st.contentLength = Number(value);
    if (st.contentLength > lim.maxBodyLength) return fault('too-large', 'Body too large', st.receipt);
  }
  return undefined;
}

function parseOne(buf: Buffer, start: number, version: StompVersion, crlf: boolean, lim: ParseLimits): ParseOne {
  const len = buf.length;
  // Command line.
  let eol = buf.indexOf(Byte.LF, start);
  if (eol === -1) {
    if (len - start > lim.maxHeaderLength) return { fault: { kind: 'too-large', message: 'Command line too long' } };
    return INCOMPLETE;
  }
  let lineEnd = crlf && eol > start && buf[eol - 1] === Byte.CR ? eol - 1 : eol;
  if (lineEnd - start > lim.maxHeaderLength) return { fault: { kind: 'too-large', message: 'Command line too long' } };
  const st = headerState(buf.toString('utf8', start, lineEnd), version);
  let count = 0;
  let pos = eol + 1;
  // Header lines, up to the blank line.
  for (;;) {
    // Lenient: a NUL where a header line would start ends a frame that has no blank line, as in
    // the STOMP 1.2 "DISCONNECT" example ("DISCONNECT\nreceipt:77\n^@"). No body can follow.
    if (pos < len && buf[pos] === Byte.NUL && st.contentLength <= 0) return { frame: { command: st.command, headers: st.headers, body: EMPTY }, next: pos + 1 };
    eol = buf.indexOf(Byte.LF, pos);
    if (eol === -1) {
      if (len - pos > lim.maxHeaderLength) return { fault: fault('too-large', 'Header line too long', st.receipt) };
      return INCOMPLETE;
    }
    lineEnd = crlf && eol > pos && buf[eol - 1] === Byte.CR ? eol - 1 : eol;
    if (lineEnd === pos) break;
    if (lineEnd - pos > lim.maxHeaderLength) return { fault: fault('too-large', 'Header line too long', st.receipt) };
    if (++count > lim.maxHeaders) return { fault: fault('too-large', 'Too many headers', st.receipt) };
    const colon = buf.indexOf(Byte.COLON, pos);
    // STOMP 1.2 "Augmented BNF": header = header-name ":" header-value.
    if (colon === -1 || colon >= lineEnd) return { fault: fault('malformed', 'Header line without a colon', st.receipt) };
    const bad = takeHeader(st, buf.toString('utf8', pos, colon), buf.toString('utf8', colon + 1, lineEnd), version, lim);
    if (bad) return { fault: bad };
    pos = eol + 1;
  }
  const bodyStart = eol + 1;
  let bodyEnd: number;
  if (st.contentLength >= 0) {
    // STOMP 1.2 "Header content-length": "If a content-length header is included, this number of
    // octets MUST be read, regardless of whether or not there are NULL octets in the body."
    bodyEnd = bodyStart + st.contentLength;
    if (bodyEnd >= len) return INCOMPLETE;
    // "The frame still needs to be terminated with a NULL octet."
    if (buf[bodyEnd] !== Byte.NUL) return { fault: fault('malformed', 'Frame not terminated by NUL after content-length octets', st.receipt) };
  } else {
    bodyEnd = buf.indexOf(Byte.NUL, bodyStart);
    if (bodyEnd === -1) {
      if (len - bodyStart > lim.maxBodyLength) return { fault: fault('too-large', 'Body too large', st.receipt) };
      return INCOMPLETE;
    }
    if (bodyEnd - bodyStart > lim.maxBodyLength) return { fault: fault('too-large', 'Body too large', st.receipt) };
  }
  return { frame: { command: st.command, headers: st.headers, body: buf.subarray(bodyStart, bodyEnd) }, next: bodyEnd + 1 };
}
const EMPTY = new Uint8Array(0);
/** The text path hands the rest of the message to the byte path. */
const FALLBACK = 1;
/** Attempts at finding the NUL after `content-length` octets among NUL characters of a text body. */
const MAX_NUL_PROBES = 4;

/**
 * Parses frames from a text message as long as it can do so exactly as the byte path would.
 * @returns the index where the byte path must take over (the length when done), or a fault
 */
function drainText(text: string, version: StompVersion, crlf: boolean, lim: ParseLimits, out: { frames: StompFrame[]; heartBeats: number }): number | ParseFault {
  const len = text.length;
  let pos = 0;
  while (pos < len) {
    const c = text.charCodeAt(pos);
    if (c === Byte.LF) {
      out.heartBeats++;
      pos++;
      continue;
    }
    if (c === Byte.CR && pos + 1 < len && text.charCodeAt(pos + 1) === Byte.LF) {
      out.heartBeats++;
      pos += 2;
      continue;
    }
    const one = parseOneText(text, pos, version, crlf, lim);
    if (one === FALLBACK) return pos;
    if ('fault' in one) return one.fault;
    out.frames.push(one.frame);
    pos = one.next;
  }
  return pos;
}

/**
 * One frame from `text` at `start`. Lengths are counted in UTF-16 units here, so a line or body
 * that might be near a limit in octets (3 octets per unit at most) falls back to the byte path,
 * which measures octets exactly.
 */
function parseOneText(text: string, start: number, version: StompVersion, crlf: boolean, lim: ParseLimits): typeof FALLBACK | { frame: StompFrame; next: number } | { fault: ParseFault } {
  const maxLine = Math.floor(lim.maxHeaderLength / 3);
  let eol = text.indexOf('\n', start);
  if (eol === -1) return FALLBACK;
  let lineEnd = crlf && eol > start && text.charCodeAt(eol - 1) === Byte.CR ? eol - 1 : eol;
  if (lineEnd - start > maxLine) return FALLBACK;
  const st = headerState(text.slice(start, lineEnd), version);
  let count = 0;
  let pos = eol + 1;
  for (;;) {
    // A NUL where a header line would start: see parseOne.
    if (pos < text.length && text.charCodeAt(pos) === Byte.NUL && st.contentLength <= 0) return { frame: { command: st.command, headers: st.headers, body: EMPTY }, next: pos + 1 };
    eol = text.indexOf('\n', pos);
    if (eol === -1) return FALLBACK;
    lineEnd = crlf && eol > pos && text.charCodeAt(eol - 1) === Byte.CR ? eol - 1 : eol;
    if (lineEnd === pos) break;
    if (lineEnd - pos > maxLine) return FALLBACK;
    // STOMP 1.2 "Augmented BNF": header = header-name ":" header-value.
    if (++count > lim.maxHeaders) return { fault: fault('too-large', 'Too many headers', st.receipt) };
    const colon = text.indexOf(':', pos);
    if (colon === -1 || colon >= lineEnd) return { fault: fault('malformed', 'Header line without a colon', st.receipt) };
    const bad = takeHeader(st, text.slice(pos, colon), text.slice(colon + 1, lineEnd), version, lim);
    if (bad) return { fault: bad };
    pos = eol + 1;
  }
  const bodyStart = eol + 1;
  let nul = text.indexOf('\0', bodyStart);
  if (nul === -1) return FALLBACK;
  if (st.contentLength >= 0) {
    // STOMP 1.2 "Header content-length": that many octets, then NUL. The octets may hold NUL
    // characters: probe the next few NULs, then leave it to the byte path.
    for (let probe = 0; ; probe++) {
      const octets = nul === bodyStart ? 0 : Buffer.byteLength(text.slice(bodyStart, nul), 'utf8');
      if (octets === st.contentLength) break;
      if (octets > st.contentLength || probe >= MAX_NUL_PROBES) return FALLBACK;
      nul = text.indexOf('\0', nul + 1);
      if (nul === -1) return FALLBACK;
    }
  } else if ((nul - bodyStart) * 3 > lim.maxBodyLength) return FALLBACK;
  const body = nul === bodyStart ? EMPTY : Buffer.from(text.slice(bodyStart, nul), 'utf8');
  if (body.length > lim.maxBodyLength) return { fault: fault('too-large', 'Body too large', st.receipt) };
  return { frame: { command: st.command, headers: st.headers, body }, next: nul + 1 };
}

function fault(kind: ParseFault['kind'], message: string, receipt: string | undefined): ParseFault {
  return receipt === undefined ? { kind, message } : { kind, message, receipt };
}

function toBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Undoes header escaping. STOMP 1.1 "Value Encoding": `\n`, `\c`, `\\`; STOMP 1.2 adds `\r`.
 * @returns undefined on an undefined escape sequence (a fatal protocol error)
 */
export function unescapeHeader(text: string, version: StompVersion): string | undefined {
  if (version === '1.0' || text.indexOf('\\') === -1) return text;
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const next = text[++i];
    if (next === 'n') out += '\n';
    else if (next === 'c') out += ':';
    else if (next === '\\') out += '\\';
    else if (next === 'r' && version === '1.2') out += '\r';
    else return undefined;
  }
  return out;
}

const SPECIAL_11 = /[\\\n:]/;
const SPECIAL_12 = /[\\\n:\r]/;

/** Escapes a header name or value for `version` (identity in 1.0). */
export function escapeHeader(text: string, version: StompVersion): string {
  if (version === '1.0') return text;
  const special = version === '1.2' ? SPECIAL_12 : SPECIAL_11;
  if (!special.test(text)) return text;
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\') out += '\\\\';
    else if (c === '\n') out += '\\n';
    else if (c === ':') out += '\\c';
    else if (c === '\r' && version === '1.2') out += '\\r';
    else out += c;
  }
  return out;
}

/**
 * The command line, headers and blank line of a frame, as text. Header values are escaped for
 * `version` unless the command is CONNECT or CONNECTED. The body and the NUL follow it.
 */
export function encodeHead(command: string, headers: Readonly<Record<string, string>>, version: StompVersion): string {
  const escape = escapes(command, version);
  let head = command + '\n';
  for (const name in headers) {
    const value = headers[name]!;
    head += escape ? escapeHeader(name, version) + ':' + escapeHeader(value, version) + '\n' : name + ':' + value + '\n';
  }
  return head + '\n';
}

/**
 * Encodes a frame to bytes. A `content-length` header is added when the body is not empty and
 * the frame has none (STOMP 1.2: frames "SHOULD include a content-length header").
 */
export function encodeFrame(frame: StompFrame, version: StompVersion): Uint8Array {
  const headers =
    frame.body.length > 0 && !('content-length' in frame.headers) ? { ...frame.headers, 'content-length': String(frame.body.length) } : frame.headers;
  return joinFrame(encodeHead(frame.command, headers, version), frame.body);
}

/** `head` as UTF-8, then `body`, then NUL, in one buffer. */
export function joinFrame(head: string, body: Uint8Array): Uint8Array {
  const headLength = Buffer.byteLength(head, 'utf8');
  const out = Buffer.allocUnsafe(headLength + body.length + 1);
  out.write(head, 0, 'utf8');
  out.set(body, headLength);
  out[headLength + body.length] = 0;
  return out;
}
