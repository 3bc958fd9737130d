/**
 * Header field values of RFC 3261 §20 with the grammar of §25.1: lists, parameters, Via,
 * name-addr / addr-spec (From, To, Contact, Route, Record-Route), CSeq and the credentials of
 * Authorization / Proxy-Authorization. Values come in unfolded (`message.ts`), so the only
 * whitespace left is SP and HTAB, and LWS around separators (SEMI, EQUAL, SLASH, COLON, COMMA) is
 * `*(SP / HTAB)` here. Every function is total: malformed input gives undefined, never a throw.
 */
import { ALNUM, DIGIT, TOKEN, UNIT_CLASSES, WORD, dict, hasClass, isHost, scanHost, scanUri, uriScheme } from './uri.js';

const SP = 0x20;
const HTAB = 0x09;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;
const SEMI = 0x3b;
const COMMA = 0x2c;
const EQUAL = 0x3d;
const LAQUOT = 0x3c;
const RAQUOT = 0x3e;

const isWs = (code: number): boolean => code === SP || code === HTAB;

function skipWs(text: string, i: number): number {
  while (i < text.length && isWs(text.charCodeAt(i))) i++;
  return i;
}

/**
 * Trims SP and HTAB only: String#trim would also eat U+FEFF, U+00A0 and other Unicode spaces that
 * are content in SIP (RFC 4475 §3.1.1.2 has a header value starting with U+FEFF).
 */
export function trimWs(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isWs(text.charCodeAt(start))) start++;
  while (end > start && isWs(text.charCodeAt(end - 1))) end--;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

function scanToken(text: string, i: number): number {
  while (i < text.length && hasClass(text.charCodeAt(i), TOKEN)) i++;
  return i;
}

/** Whether `text` is a non-empty token (RFC 3261 §25.1). */
export function isToken(text: string): boolean {
  return text.length > 0 && scanToken(text, 0) === text.length;
}

/**
 * End of the quoted-string starting at `i` (on its DQUOTE), or -1. qdtext is LWS, %x21, %x23-5B,
 * %x5D-7E or UTF8-NONASCII; quoted-pair is "\" followed by %x00-09 / %x0B-0C / %x0E-7F.
 */
export function scanQuoted(text: string, i: number): number {
  if (text.charCodeAt(i) !== DQUOTE) return -1;
  for (i++; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === DQUOTE) return i + 1;
    if (code === BACKSLASH) {
      const next = text.charCodeAt(i + 1);
      if (i + 1 >= text.length || next > 0x7f || next === 0x0a || next === 0x0d) return -1;
      i++;
    } else if ((code < 0x20 && code !== HTAB) || code === 0x7f) return -1;
  }
  return -1;
}

/** The content of a quoted-string with its quoted-pairs resolved; text that is not quoted comes back unchanged. */
export function unquote(text: string): string {
  if (text.length < 2 || text.charCodeAt(0) !== DQUOTE || text.charCodeAt(text.length - 1) !== DQUOTE) return text;
  const inner = text.slice(1, -1);
  if (inner.indexOf('\\') === -1) return inner;
  let out = '';
  for (let i = 0; i < inner.length; i++) {
    const char = inner[i]!;
    if (char === '\\' && i + 1 < inner.length) out += inner[++i]!;
    else out += char;
  }
  return out;
}

/**
 * A quoted-string holding `text`: `"` and `\` and control characters become quoted-pairs; CR and
 * LF, which no quoted-pair can carry (RFC 3261 §25.1), become spaces.
 */
export function quote(text: string): string {
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x0d || code === 0x0a) out += ' ';
    else if (code === DQUOTE || code === BACKSLASH || (code < 0x20 && code !== HTAB) || code === 0x7f) out += `\\${text[i]}`;
    else out += text[i];
  }
  return `${out}"`;
}

/**
 * Splits a header value at the commas that separate list elements: not inside a quoted-string
 * and not inside `<...>` (RFC 3261 §7.3.1). Elements are trimmed; empty elements are kept (as
 * `''`) so the typed parsers can refuse them, since SIP lists have no null elements (§25.1).
 */
export function splitHeaderValues(value: string): string[] {
  const out: string[] = [];
  let start = 0;
  let angle = false;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code === DQUOTE && !angle) {
      const end = scanQuoted(value, i);
      if (end === -1) break; // unbalanced: the rest is one element, its parser refuses it
      i = end - 1;
    } else if (code === LAQUOT) angle = true;
    else if (code === RAQUOT) angle = false;
    else if (code === COMMA && !angle) {
      out.push(trimWs(value.slice(start, i)));
      start = i + 1;
    }
  }
  out.push(trimWs(value.slice(start)));
  return out;
}

/** End of an unquoted gen-value (token / host, RFC 3261 §25.1) at `i`: token characters plus `[ ] :` for IPv6. */
function scanGenValue(text: string, i: number): number {
  while (i < text.length) {
    const code = text.charCodeAt(i);
    if (hasClass(code, TOKEN) || code === 0x5b || code === 0x5d || code === 0x3a) i++;
    else break;
  }
  return i;
}

export interface Params {
  /** Parameters by lower-case name; `null` when written without a value; values as written (quotes kept). */
  params: Record<string, string | null>;
  /** Index after the last parameter and any whitespace after it. */
  end: number;
}

/**
 * Reads `*( SEMI generic-param )` from `start` (RFC 3261 §25.1: generic-param = token [ EQUAL
 * gen-value ], gen-value = token / host / quoted-string), stopping before the first character
 * that does not continue the list (a COMMA, the end). Undefined on a malformed parameter
 * (`;;`, `;=x`, `;a=`). A repeated name keeps its first value.
 */
export function parseParams(text: string, start: number): Params | undefined {
  const params = dict<string | null>();
  let i = skipWs(text, start);
  while (i < text.length && text.charCodeAt(i) === SEMI) {
    const nameStart = skipWs(text, i + 1);
    const nameEnd = scanToken(text, nameStart);
    if (nameEnd === nameStart) return undefined;
    let value: string | null = null;
    let j = skipWs(text, nameEnd);
    if (j < text.length && text.charCodeAt(j) === EQUAL) {
      const valueStart = skipWs(text, j + 1);
      const valueEnd = text.charCodeAt(valueStart) === DQUOTE ? scanQuoted(text, valueStart) : scanGenValue(text, valueStart);
      if (valueEnd <= valueStart) return undefined;
      value = text.slice(valueStart, valueEnd);
      j = skipWs(text, valueEnd);
    }
    const name = text.slice(nameStart, nameEnd).toLowerCase();
    if (!(name in params)) params[name] = value;
    i = j;
  }
  return { params, end: i };
}

function formatParams(params: Record<string, string | null>, skip?: string): string {
  let out = '';
  for (const name in params) {
    if (name === skip) continue;
    const value = params[name];
    out += value === null || value === undefined ? `;${name}` : `;${name}=${value}`;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Via (RFC 3261 §20.42)

export interface Via {
  /** `protocol-name/version/transport`, upper-case, no whitespace: `SIP/2.0/WSS`. */
  protocol: string;
  /** Upper-case transport: `WSS`, `WS`, `UDP`, `TCP`, `TLS`, `SCTP`, or an extension token. */
  transport: string;
  /** sent-by host as written (an IPv6 reference keeps its brackets); browsers send `xxxx.invalid`. */
  host: string;
  port?: number;
  /** via-params by lower-case name (`branch`, `received`, `rport` (null when empty), `maddr`, `ttl`...). */
  params: Record<string, string | null>;
  /** `params.branch` when present. `formatVia` writes this one if both are set. */
  branch?: string;
}

/**
 * Reads one via-parm at `i`: sent-protocol LWS sent-by *( SEMI via-params ), with SLASH and COLON
 * allowing whitespace around them (RFC 3261 §25.1, RFC 4475 §3.1.1.1). Returns the Via and the
 * index after it, or undefined.
 */
function scanVia(text: string, i: number): { via: Via; end: number } | undefined {
  // sent-protocol = protocol-name SLASH protocol-version SLASH transport, each a token
  i = skipWs(text, i);
  const protocolStart = i;
  let nameEnd = 0;
  let versionStart = 0;
  let versionEnd = 0;
  let transportStart = 0;
  for (let p = 0; p < 3; p++) {
    if (p > 0) {
      if (text.charCodeAt(i) !== 0x2f /* / */) return undefined;
      i = skipWs(text, i + 1);
    }
    const end = scanToken(text, i);
    if (end === i) return undefined;
    if (p === 0) nameEnd = end;
    else if (p === 1) {
      versionStart = i;
      versionEnd = end;
    } else transportStart = i;
    i = p < 2 ? skipWs(text, end) : end;
  }
  const transport = upperAscii(text.slice(transportStart, i));
  // Written without whitespace around the slashes (as everyone does), the text is the protocol.
  const protocol =
    versionStart === nameEnd + 1 && transportStart === versionEnd + 1
      ? upperAscii(text.slice(protocolStart, i))
      : `${upperAscii(text.slice(protocolStart, nameEnd))}/${upperAscii(text.slice(versionStart, versionEnd))}/${transport}`;
  const afterProtocol = i;
  i = skipWs(text, i);
  if (i === afterProtocol) return undefined; // LWS between sent-protocol and sent-by is required
  const hostStart = i;
  if (text.charCodeAt(i) === 0x5b) {
    const close = text.indexOf(']', i);
    if (close === -1) return undefined;
    i = close + 1;
  } else {
    while (i < text.length) {
      const code = text.charCodeAt(i);
      if (hasClass(code, ALNUM) || code === 0x2d || code === 0x2e) i++;
      else break;
    }
  }
  const host = text.slice(hostStart, i);
  if (!isHost(host)) return undefined;
  let port: number | undefined;
  let j = skipWs(text, i);
  if (text.charCodeAt(j) === 0x3a /* : */) {
    j = skipWs(text, j + 1);
    const digitsStart = j;
    let value = 0;
    while (j < text.length && hasClass(text.charCodeAt(j), DIGIT)) {
      value = value * 10 + (text.charCodeAt(j) - 0x30);
      if (value > 65535) return undefined;
      j++;
    }
    if (j === digitsStart) return undefined;
    port = value;
    i = j;
  }
  const parsed = parseParams(text, i);
  if (parsed === undefined) return undefined;
  const via: Via = { protocol, transport, host, params: parsed.params };
  if (port !== undefined) via.port = port;
  const branch = parsed.params.branch;
  if (branch !== undefined) {
    // via-branch = "branch" EQUAL token
    if (branch === null || !isToken(branch)) return undefined;
    via.branch = branch;
  }
  return { via, end: parsed.end };
}

/** `text.toUpperCase()` for a token (ASCII), without the copy when it is upper-case already. */
function upperAscii(text: string): string {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0x61 && code <= 0x7a) return text.toUpperCase();
  }
  return text;
}

/** Every via-parm of one Via header value, or undefined if any is malformed (RFC 4475 §3.1.2.1 `;;,;,,`). */
export function parseVia(value: string): Via[] | undefined {
  const out: Via[] = [];
  let i = 0;
  for (;;) {
    const scanned = scanVia(value, i);
    if (scanned === undefined) return undefined;
    out.push(scanned.via);
    i = scanned.end;
    if (i === value.length) return out;
    if (value.charCodeAt(i) !== COMMA) return undefined;
    i++;
  }
}

/** A Via value: `SIP/2.0/WSS host:port;params` (branch from `via.branch` when set). */
export function formatVia(via: Via): string {
  let out = `${via.protocol} ${via.host}`;
  if (via.port !== undefined) out += `:${via.port}`;
  if (via.branch !== undefined) return `${out}${formatParams(via.params, 'branch')};branch=${via.branch}`;
  return out + formatParams(via.params);
}

// ---------------------------------------------------------------------------------------------
// name-addr / addr-spec (RFC 3261 §20.10, §20.20, §20.39, §20.30, §20.34)

export interface NameAddr {
  /** The display name, unquoted (quoted-pairs resolved) or the tokens as written; absent when none was written. */
  displayName?: string;
  /** The URI as written, without the angle brackets. */
  uri: string;
  /** Header parameters (after the address) by lower-case name, values as written: `+sip.instance` keeps its quotes. */
  params: Record<string, string | null>;
}

/** Whether `text` is an addr-spec: a valid SIP/SIPS URI, or another scheme's absoluteURI. */
function isAddrSpec(text: string): boolean {
  return text.length > 0 && uriScheme(text) !== undefined;
}

/**
 * Reads `( name-addr / addr-spec ) *( SEMI param )` at `i`, stopping at a list COMMA or the end.
 * `angle` tells whether the URI was in `<>`.
 */
function scanNameAddr(text: string, i: number): { value: NameAddr; angle: boolean; end: number } | undefined {
  i = skipWs(text, i);
  let displayName: string | undefined;
  let uri: string;
  let angle = false;
  if (text.charCodeAt(i) === DQUOTE) {
    const end = scanQuoted(text, i);
    if (end === -1) return undefined; // RFC 4475 §3.1.2.6: unterminated quote
    displayName = unquote(text.slice(i, end));
    i = skipWs(text, end);
    if (text.charCodeAt(i) !== LAQUOT) return undefined;
  } else {
    // display-name = *(token LWS): tokens and whitespace up to a "<" make a name-addr; the
    // missing LWS before "<" is accepted (RFC 4475 §3.1.1.6). Anything else is an addr-spec,
    // which always holds a ":" that no token does.
    let j = i;
    while (j < text.length && (hasClass(text.charCodeAt(j), TOKEN) || isWs(text.charCodeAt(j)))) j++;
    if (text.charCodeAt(j) === LAQUOT) {
      const name = trimWs(text.slice(i, j));
      if (name.length > 0) displayName = name;
      i = j;
    }
  }
  if (text.charCodeAt(i) === LAQUOT) {
    const close = text.indexOf('>', i + 1);
    if (close === -1) return undefined;
    uri = text.slice(i + 1, close);
    // LAQUOT addr-spec RAQUOT: no whitespace inside the brackets (RFC 4475 §3.1.2.14).
    for (let k = 0; k < uri.length; k++) if (isWs(uri.charCodeAt(k))) return undefined;
    angle = true;
    i = close + 1;
  } else {
    // §20.10: in addr-spec form the URI ends at the first ";" (what follows are header
    // parameters), and a URI with "," "?" or ";" of its own must be in <> (RFC 4475 §3.1.2.13).
    let j = i;
    while (j < text.length) {
      const code = text.charCodeAt(j);
      if (code === SEMI || code === COMMA || isWs(code)) break;
      if (code === 0x3f /* ? */) return undefined;
      j++;
    }
    uri = text.slice(i, j);
    i = j;
  }
  if (!isAddrSpec(uri)) return undefined;
  const parsed = parseParams(text, i);
  if (parsed === undefined) return undefined;
  const value: NameAddr = { uri, params: parsed.params };
  if (displayName !== undefined) value.displayName = displayName;
  return { value, angle, end: parsed.end };
}

/** One name-addr or addr-spec with its parameters (From, To, one Contact or Route element). */
export function parseNameAddr(value: string): NameAddr | undefined {
  const scanned = scanNameAddr(value, 0);
  return scanned !== undefined && scanned.end === value.length ? scanned.value : undefined;
}

/** `"Display" <uri>;params`: always the name-addr form, which is valid for any URI. */
export function formatNameAddr(nameAddr: NameAddr): string {
  const name = nameAddr.displayName !== undefined ? `${quote(nameAddr.displayName)} ` : '';
  return `${name}<${nameAddr.uri}>${formatParams(nameAddr.params)}`;
}

/** Elements of a comma list of name-addr/addr-spec, or undefined if any element is malformed or empty. */
function parseNameAddrList(value: string, requireAngle: boolean, out: NameAddr[]): boolean {
  let i = 0;
  for (;;) {
    const scanned = scanNameAddr(value, i);
    if (scanned === undefined || (requireAngle && !scanned.angle)) return false;
    out.push(scanned.value);
    i = scanned.end;
    if (i === value.length) return true;
    if (value.charCodeAt(i) !== COMMA) return false;
    i++;
  }
}

/**
 * The Contact header (RFC 3261 §20.10): pass every Contact line's value (or them joined with
 * ", "). `'*'` when the only value is STAR (REGISTER removal, §10.2.2); undefined when a value is
 * malformed, or `*` comes with anything else (§10.3 step 6 answers that with 400). No lines: `[]`.
 */
export function parseContacts(value: string | readonly string[]): '*' | NameAddr[] | undefined {
  const lines = typeof value === 'string' ? [value] : value;
  const out: NameAddr[] = [];
  let star = false;
  for (const line of lines) {
    if (trimWs(line) === '*') {
      if (star) return undefined;
      star = true;
      continue;
    }
    if (!parseNameAddrList(line, false, out)) return undefined;
  }
  if (star) return out.length === 0 ? '*' : undefined;
  return out;
}

/**
 * Route or Record-Route values in order (RFC 3261 §20.30, §20.34: name-addr only, so `<>` is
 * required). Lines that do not parse are left out; `parseMessage` refuses a message whose Route
 * or Record-Route does not parse, so for parsed messages nothing is left out.
 */
export function parseRoutes(values: readonly string[]): NameAddr[] {
  const out: NameAddr[] = [];
  for (const line of values) {
    const before = out.length;
    if (!parseNameAddrList(line, true, out)) out.length = before;
  }
  return out;
}

/** Whether every line is a valid Route / Record-Route list. */
export function isRouteList(values: readonly string[]): boolean {
  const scratch: NameAddr[] = [];
  for (const line of values) if (!parseNameAddrList(line, true, scratch)) return false;
  return true;
}

/** Index where the header parameters of a From/To/Contact value start, skipping the address. */
function paramsStart(value: string): number {
  let i = skipWs(value, 0);
  if (value.charCodeAt(i) === DQUOTE) {
    const end = scanQuoted(value, i);
    if (end === -1) return -1;
    i = end;
  }
  const open = value.indexOf('<', i);
  if (open !== -1) {
    let j = i;
    while (j < open && (hasClass(value.charCodeAt(j), TOKEN) || isWs(value.charCodeAt(j)))) j++;
    if (j === open) {
      const close = value.indexOf('>', open);
      return close === -1 ? -1 : close + 1;
    }
  }
  const semi = value.indexOf(';', i);
  return semi === -1 ? value.length : semi;
}

/**
 * One header parameter of a From/To/Contact value without a full parse: the value as written,
 * `null` when present without a value, undefined when absent.
 */
export function headerParam(value: string, name: string): string | null | undefined {
  let i = paramsStart(value);
  if (i === -1) return undefined;
  const wanted = name.toLowerCase();
  while (i < value.length) {
    i = skipWs(value, i);
    if (value.charCodeAt(i) !== SEMI) return undefined;
    const nameStart = skipWs(value, i + 1);
    const nameEnd = scanToken(value, nameStart);
    if (nameEnd === nameStart) return undefined;
    let j = skipWs(value, nameEnd);
    let found: string | null = null;
    if (value.charCodeAt(j) === EQUAL) {
      const valueStart = skipWs(value, j + 1);
      const valueEnd = value.charCodeAt(valueStart) === DQUOTE ? scanQuoted(value, valueStart) : scanGenValue(value, valueStart);
      if (valueEnd <= valueStart) return undefined;
      found = value.slice(valueStart, valueEnd);
      j = valueEnd;
    }
    if (nameEnd - nameStart === wanted.length && value.slice(nameStart, nameEnd).toLowerCase() === wanted) return found;
    i = j;
  }
  return undefined;
}

/** The `tag` of a From or To value (RFC 3261 §19.3), or undefined when it has none. */
export function tagOf(value: string): string | undefined {
  const tag = headerParam(value, 'tag');
  return tag === null ? undefined : tag;
}

// ---------------------------------------------------------------------------------------------
// Numbers, CSeq, Call-ID

/**
 * A 1*DIGIT value (leading zeros allowed, RFC 4475 §3.1.1.1) up to `max`, or undefined when it
 * is not all digits or is larger (Max-Forwards 0-255 §20.22, delta-seconds, Content-Length).
 */
export function parseDigits(value: string, max: number = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value.length === 0) return undefined;
  let out = 0;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x30 || code > 0x39) return undefined;
    out = out * 10 + (code - 0x30);
    if (out > max) return undefined;
  }
  return out;
}

/** Largest CSeq number: "MUST be expressible as a 32-bit unsigned integer" (RFC 3261 §20.16). */
export const MAX_CSEQ = 2 ** 32 - 1;

/** `CSeq: 1*DIGIT LWS Method` (RFC 3261 §20.16); the number at most 2**32-1. */
export function parseCSeq(value: string): { seq: number; method: string } | undefined {
  let i = skipWs(value, 0);
  const digitsStart = i;
  let seq = 0;
  while (i < value.length && hasClass(value.charCodeAt(i), DIGIT)) {
    seq = seq * 10 + (value.charCodeAt(i) - 0x30);
    if (seq > MAX_CSEQ) return undefined;
    i++;
  }
  if (i === digitsStart) return undefined;
  const methodStart = skipWs(value, i);
  if (methodStart === i) return undefined;
  const methodEnd = scanToken(value, methodStart);
  if (methodEnd === methodStart || skipWs(value, methodEnd) !== value.length) return undefined;
  return { seq, method: value.slice(methodStart, methodEnd) };
}


/** `callid = word [ "@" word ]` (RFC 3261 §25.1); `%` is not an escape here (RFC 4475 §3.1.1.2). */
export function isCallId(value: string): boolean {
  let at = -1;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code === 0x40 /* @ */) {
      if (at !== -1 || i === 0 || i === value.length - 1) return false;
      at = i;
    } else if (!hasClass(code, WORD)) return false;
  }
  return value.length > 0;
}

// ---------------------------------------------------------------------------------------------
// Validation without building anything, for `parseMessage`: the grammar of the parsers above
// (parseVia, parseNameAddr, parseContacts, isRouteList, parseCSeq, parseDigits, isCallId) over
// `units[start..end)`, the message text read as one byte per UTF-16 unit (`toUnits` in uri.ts),
// so a header value is checked where it lies in the message. The property tests hold each of
// these to the parser it mirrors.

/** Index after the SP/HTAB run at `i` of `units`. */
export function skipWsUnits(units: Uint8Array, i: number, end: number): number {
  while (i < end) {
    const code = units[i]!;
    if (code !== SP && code !== HTAB) break;
    i++;
  }
  return i;
}

function scanTokenUnits(units: Uint8Array, i: number, end: number): number {
  while (i < end && (UNIT_CLASSES[units[i]!]! & TOKEN) !== 0) i++;
  return i;
}

/** `scanQuoted` over units. */
function scanQuotedUnits(units: Uint8Array, i: number, end: number): number {
  if (i >= end || units[i] !== DQUOTE) return -1;
  for (i++; i < end; i++) {
    const code = units[i]!;
    if (code === DQUOTE) return i + 1;
    if (code === BACKSLASH) {
      if (i + 1 >= end) return -1;
      const next = units[i + 1]!;
      if (next > 0x7f || next === 0x0a || next === 0x0d) return -1;
      i++;
    } else if ((code < 0x20 && code !== HTAB) || code === 0x7f) return -1;
  }
  return -1;
}

/** `scanGenValue` over units. */
function scanGenValueUnits(units: Uint8Array, i: number, end: number): number {
  while (i < end) {
    const code = units[i]!;
    if ((UNIT_CLASSES[code]! & TOKEN) !== 0 || code === 0x5b || code === 0x5d || code === 0x3a) i++;
    else break;
  }
  return i;
}

/** Whether `units[start..end)` spells `branch` in any case (parameter names are case-insensitive, §7.3.1). */
function isBranchName(units: Uint8Array, start: number, end: number): boolean {
  return (
    end - start === 6 &&
    (units[start]! | 0x20) === 0x62 &&
    (units[start + 1]! | 0x20) === 0x72 &&
    (units[start + 2]! | 0x20) === 0x61 &&
    (units[start + 3]! | 0x20) === 0x6e &&
    (units[start + 4]! | 0x20) === 0x63 &&
    (units[start + 5]! | 0x20) === 0x68
  );
}

/**
 * `parseParams` as a check: the index after the parameters and the whitespace after them, or
 * -1. With `via`, the first `branch` must have a token value (via-branch = "branch" EQUAL token).
 */
function checkParams(units: Uint8Array, i: number, end: number, via: boolean): number {
  let branchSeen = !via;
  i = skipWsUnits(units, i, end);
  while (i < end && units[i] === SEMI) {
    const nameStart = skipWsUnits(units, i + 1, end);
    const nameEnd = scanTokenUnits(units, nameStart, end);
    if (nameEnd === nameStart) return -1;
    // A repeated name keeps its first value, so only the first branch is held to via-branch.
    const branch = !branchSeen && isBranchName(units, nameStart, nameEnd);
    if (branch) branchSeen = true;
    let j = skipWsUnits(units, nameEnd, end);
    if (j < end && units[j] === EQUAL) {
      const valueStart = skipWsUnits(units, j + 1, end);
      let valueEnd: number;
      if (branch) {
        // a token, and not the start of a longer gen-value (host characters) or a quoted-string
        valueEnd = scanTokenUnits(units, valueStart, end);
        if (valueEnd === valueStart) return -1;
        if (valueEnd < end) {
          const next = units[valueEnd]!;
          if (next === 0x5b || next === 0x5d || next === 0x3a) return -1;
        }
      } else {
        valueEnd = valueStart < end && units[valueStart] === DQUOTE ? scanQuotedUnits(units, valueStart, end) : scanGenValueUnits(units, valueStart, end);
        if (valueEnd <= valueStart) return -1;
      }
      j = skipWsUnits(units, valueEnd, end);
    } else if (branch) return -1;
    i = j;
  }
  return i;
}

/** `scanVia` as a check: the index after one via-parm, or -1. */
function checkViaParm(units: Uint8Array, i: number, end: number): number {
  i = skipWsUnits(units, i, end);
  for (let p = 0; p < 3; p++) {
    if (p > 0) {
      if (i >= end || units[i] !== 0x2f /* / */) return -1;
      i = skipWsUnits(units, i + 1, end);
    }
    const tokenEnd = scanTokenUnits(units, i, end);
    if (tokenEnd === i) return -1;
    i = p < 2 ? skipWsUnits(units, tokenEnd, end) : tokenEnd;
  }
  const afterProtocol = i;
  i = skipWsUnits(units, i, end);
  if (i === afterProtocol) return -1; // LWS between sent-protocol and sent-by is required
  i = scanHost(units, i, end);
  if (i === -1) return -1;
  let j = skipWsUnits(units, i, end);
  if (j < end && units[j] === 0x3a /* : */) {
    j = skipWsUnits(units, j + 1, end);
    const digitsStart = j;
    let value = 0;
    while (j < end) {
      const code = units[j]!;
      if (code < 0x30 || code > 0x39) break;
      value = value * 10 + (code - 0x30);
      if (value > 65535) return -1;
      j++;
    }
    if (j === digitsStart) return -1;
    i = j;
  }
  return checkParams(units, i, end, true);
}

/** Whether `units[start..end)` is a Via value `parseVia` accepts. */
export function checkVia(units: Uint8Array, start: number, end: number): boolean {
  let i = start;
  for (;;) {
    i = checkViaParm(units, i, end);
    if (i === -1) return false;
    if (i === end) return true;
    if (units[i] !== COMMA) return false;
    i++;
  }
}

/** `scanNameAddr` as a check: the index after one element and its parameters, or -1. */
function checkNameAddrAt(units: Uint8Array, i: number, end: number, requireAngle: boolean): number {
  i = skipWsUnits(units, i, end);
  if (i < end && units[i] === DQUOTE) {
    const quoteEnd = scanQuotedUnits(units, i, end);
    if (quoteEnd === -1) return -1;
    i = skipWsUnits(units, quoteEnd, end);
    if (i >= end || units[i] !== LAQUOT) return -1;
  } else {
    let j = i;
    while (j < end) {
      const code = units[j]!;
      if (code === SP || code === HTAB || (UNIT_CLASSES[code]! & TOKEN) !== 0) j++;
      else break;
    }
    if (j < end && units[j] === LAQUOT) i = j;
  }
  if (i < end && units[i] === LAQUOT) {
    // LAQUOT addr-spec RAQUOT: the URI must end exactly at the first ">", so no whitespace
    // inside the brackets (RFC 4475 §3.1.2.14), and no search past it.
    const close = scanUri(units, i + 1, end, true);
    if (close === -1 || close >= end || units[close] !== RAQUOT) return -1;
    i = close + 1;
  } else {
    if (requireAngle) return -1;
    // §20.10: in addr-spec form the URI ends at the first ";", "," or whitespace; "?" needs <>.
    let j = i;
    while (j < end) {
      const code = units[j]!;
      if (code === SEMI || code === COMMA || code === SP || code === HTAB) break;
      if (code === 0x3f /* ? */) return -1;
      j++;
    }
    if (scanUri(units, i, j, true) !== j) return -1;
    i = j;
  }
  return checkParams(units, i, end, false);
}

/** Whether `units[start..end)` is one name-addr / addr-spec with parameters, as `parseNameAddr` accepts (From, To). */
export function checkNameAddr(units: Uint8Array, start: number, end: number): boolean {
  return checkNameAddrAt(units, start, end, false) === end;
}

/** Whether `units[start..end)` is a comma list `parseNameAddrList` accepts; `requireAngle` for Route and Record-Route. */
export function checkNameAddrList(units: Uint8Array, start: number, end: number, requireAngle: boolean): boolean {
  let i = start;
  for (;;) {
    i = checkNameAddrAt(units, i, end, requireAngle);
    if (i === -1) return false;
    if (i === end) return true;
    if (units[i] !== COMMA) return false;
    i++;
  }
}

/** What one Contact line is, for `parseContacts` across lines: malformed, STAR, or a valid list. */
export const CONTACT_BAD = -1;
export const CONTACT_STAR = 0;
export const CONTACT_LIST = 1;

/** One Contact line of `parseContacts`: `CONTACT_STAR`, `CONTACT_LIST` or `CONTACT_BAD`. */
export function checkContactLine(units: Uint8Array, start: number, end: number): number {
  const first = skipWsUnits(units, start, end);
  let last = end;
  while (last > first && isWs(units[last - 1]!)) last--;
  if (last - first === 1 && units[first] === 0x2a /* * */) return CONTACT_STAR;
  return checkNameAddrList(units, start, end, false) ? CONTACT_LIST : CONTACT_BAD;
}

/**
 * `parseCSeq` as a check, the method compared with `methodUnits[methodStart..methodEnd)` when
 * given: 0 valid and matching, 1 another method, -1 malformed.
 */
export function checkCSeq(units: Uint8Array, start: number, end: number, methodUnits: Uint8Array | undefined, methodStart: number, methodEnd: number): number {
  let i = skipWsUnits(units, start, end);
  const digitsStart = i;
  let seq = 0;
  while (i < end) {
    const code = units[i]!;
    if (code < 0x30 || code > 0x39) break;
    seq = seq * 10 + (code - 0x30);
    if (seq > MAX_CSEQ) return -1;
    i++;
  }
  if (i === digitsStart) return -1;
  const at = skipWsUnits(units, i, end);
  if (at === i) return -1;
  const methodEndHere = scanTokenUnits(units, at, end);
  if (methodEndHere === at || skipWsUnits(units, methodEndHere, end) !== end) return -1;
  if (methodUnits === undefined) return 0;
  // Methods are case-sensitive tokens (ASCII), so equal units are equal texts.
  const length = methodEnd - methodStart;
  if (methodEndHere - at !== length) return 1;
  for (let k = 0; k < length; k++) if (units[at + k] !== methodUnits[methodStart + k]) return 1;
  return 0;
}

/** `parseDigits` over units: the number, or -1. */
export function digitsIn(units: Uint8Array, start: number, end: number, max: number): number {
  if (end <= start) return -1;
  let out = 0;
  for (let i = start; i < end; i++) {
    const code = units[i]!;
    if (code < 0x30 || code > 0x39) return -1;
    out = out * 10 + (code - 0x30);
    if (out > max) return -1;
  }
  return out;
}

/** `isCallId` over units. */
export function isCallIdIn(units: Uint8Array, start: number, end: number): boolean {
  let at = -1;
  for (let i = start; i < end; i++) {
    const code = units[i]!;
    if (code === 0x40 /* @ */) {
      if (at !== -1 || i === start || i === end - 1) return false;
      at = i;
    } else if ((UNIT_CLASSES[code]! & WORD) === 0) return false;
  }
  return end > start;
}

// ---------------------------------------------------------------------------------------------
// Authorization / Proxy-Authorization (RFC 3261 §20.7, §20.28, §25.1; RFC 7616 §3.4)

export interface Credentials {
  /** The auth-scheme as written (`Digest`); compare case-insensitively. */
  scheme: string;
  /** auth-params by lower-case name, quoted-strings unquoted (`uri`, `response`, `nonce`...). */
  params: Record<string, string>;
}

/**
 * `credentials = auth-scheme LWS auth-param *(COMMA auth-param)`, auth-param = name EQUAL
 * ( token / quoted-string ). Also reads challenges (WWW-Authenticate, §20.44), which share the
 * grammar. Undefined when malformed or a parameter repeats (a digest with two `response`s is
 * ambiguous, so it is refused rather than guessed).
 */
export function parseAuthorization(value: string): Credentials | undefined {
  let i = skipWs(value, 0);
  const schemeEnd = scanToken(value, i);
  if (schemeEnd === i) return undefined;
  const scheme = value.slice(i, schemeEnd);
  i = skipWs(value, schemeEnd);
  if (i === schemeEnd) return undefined;
  const params = dict<string>();
  for (;;) {
    const nameEnd = scanToken(value, i);
    if (nameEnd === i) return undefined;
    const name = value.slice(i, nameEnd).toLowerCase();
    let j = skipWs(value, nameEnd);
    if (value.charCodeAt(j) !== EQUAL) return undefined;
    j = skipWs(value, j + 1);
    let paramValue: string;
    if (value.charCodeAt(j) === DQUOTE) {
      const end = scanQuoted(value, j);
      if (end === -1) return undefined;
      paramValue = unquote(value.slice(j, end));
      j = end;
    } else {
      const end = scanToken(value, j);
      if (end === j) return undefined;
      paramValue = value.slice(j, end);
      j = end;
    }
    if (name in params) return undefined;
    params[name] = paramValue;
    j = skipWs(value, j);
    if (j === value.length) return { scheme, params };
    if (value.charCodeAt(j) !== COMMA) return undefined;
    i = skipWs(value, j + 1);
  }
}
