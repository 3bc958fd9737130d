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

  return {
    get pending() {
      return pending?.length ?? 0;
    },
    push(chunk) {
      if (spent) return { frames: [], heartBeats: 0, fault: spent };
      const data = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : toBuffer(chunk);
      const buf = pending ? Buffer.concat([pending, data]) : data;
      pending = undefined;
      const frames: StompFrame[] = [];
      let heartBeats = 0;
      let pos = 0;
      const len = buf.length;
      while (pos < len) {
        const b = buf[pos]!;
        // STOMP 1.2 "Heart-beating": "heart-beats ... a single end-of-line (EOL)"; 1.2 "Augmented
        // BNF": frames may be followed by *( EOL ). A CR before LF is tolerated here in every version.
        if (b === Byte.LF) {
          heartBeats++;
          pos++;
          continue;
        }
        if (b === Byte.CR && (pos + 1 >= len || buf[pos + 1] === Byte.LF)) {
          if (pos + 1 >= len) break;
          heartBeats++;
          pos += 2;
          continue;
        }
        const out = parseOne(buf, pos, version, crlf, lim);
        if (out === INCOMPLETE) break;
        if ('fault' in out) {
          spent = out.fault;
          return { frames, heartBeats, fault: out.fault };
        }
        frames.push(out.frame);
        pos = out.next;
      }
      if (pos < len) pending = Buffer.from(buf.subarray(pos));
      return { frames, heartBeats };
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
  const command = buf.toString('utf8', start, lineEnd);
  const unescape = escapes(command, version);
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  let count = 0;
  let receipt: string | undefined;
  let contentLength = -1;
  let pos = eol + 1;
  // Header lines, up to the blank line.
  for (;;) {
    eol = buf.indexOf(Byte.LF, pos);
    if (eol === -1) {
      if (len - pos > lim.maxHeaderLength) return { fault: fault('too-large', 'Header line too long', receipt) };
      return INCOMPLETE;
    }
    lineEnd = crlf && eol > pos && buf[eol - 1] === Byte.CR ? eol - 1 : eol;
    if (lineEnd === pos) break;
    if (lineEnd - pos > lim.maxHeaderLength) return { fault: fault('too-large', 'Header line too long', receipt) };
    if (++count > lim.maxHeaders) return { fault: fault('too-large', 'Too many headers', receipt) };
    const colon = buf.indexOf(Byte.COLON, pos);
    // STOMP 1.2 "Augmented BNF": header = header-name ":" header-value.
    if (colon === -1 || colon >= lineEnd) return { fault: fault('malformed', 'Header line without a colon', receipt) };
    let name = buf.toString('utf8', pos, colon);
    let value = buf.toString('utf8', colon + 1, lineEnd);
    if (unescape) {
      const n = unescapeHeader(name, version);
      const v = unescapeHeader(value, version);
      // STOMP 1.2 "Value Encoding": "Undefined escape sequences such as \t (octet 92 and 116) MUST be treated as a fatal protocol error."
      if (n === undefined || v === undefined) return { fault: fault('malformed', 'Undefined escape sequence in header', receipt) };
      name = n;
      value = v;
    }
    if (!(name in headers)) {
      // STOMP 1.2 "Repeated Header Entries": only the first entry counts.
      headers[name] = value;
      if (name === 'receipt') receipt = value;
      else if (name === 'content-length') {
        if (!/^[0-9]{1,15}$/.test(value)) return { fault: fault('malformed', 'Invalid content-length', receipt) };
        contentLength = Number(value);
        if (contentLength > lim.maxBodyLength) return { fault: fault('too-large', 'Body too large', receipt) };
      }
    }
    pos = eol + 1;
  }
  const bodyStart = eol + 1;
  let bodyEnd: number;
  if (contentLength >= 0) {
    // STOMP 1.2 "Header content-length": "If a content-length header is included, this number of
    // octets MUST be read, regardless of whether or not there are NULL octets in the body."
    bodyEnd = bodyStart + contentLength;
    if (bodyEnd >= len) return INCOMPLETE;
    // "The frame still needs to be terminated with a NULL octet."
    if (buf[bodyEnd] !== Byte.NUL) return { fault: fault('malformed', 'Frame not terminated by NUL after content-length octets', receipt) };
  } else {
    bodyEnd = buf.indexOf(Byte.NUL, bodyStart);
    if (bodyEnd === -1) {
      if (len - bodyStart > lim.maxBodyLength) return { fault: fault('too-large', 'Body too large', receipt) };
      return INCOMPLETE;
    }
    if (bodyEnd - bodyStart > lim.maxBodyLength) return { fault: fault('too-large', 'Body too large', receipt) };
  }
  return { frame: { command, headers, body: buf.subarray(bodyStart, bodyEnd) }, next: bodyEnd + 1 };
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
