/**
 * SIP and SIPS URIs (RFC 3261 §19.1, grammar §25.1): parse, format, compare (§19.1.4) and the
 * address-of-record key a registrar files bindings under (§10.3).
 *
 * `parseUri` answers only for `sip:` and `sips:`; other schemes (`tel:`, `urn:`, `http:`) give
 * undefined, and `uriScheme` says whether such a text is at least a well-formed absoluteURI
 * (RFC 3261 §25.1, RFC 2396 §3), which is what separates 416 Unsupported URI Scheme from 400.
 * Components keep their escapes as written, so `formatUri(parseUri(x))` gives `x` back up to the
 * case of the scheme and of parameter names; comparison works on canonical escapes.
 */

// Character classes of the RFC 3261 §25.1 grammar, one bit each, for ASCII only: anything
// above 0x7F is outside every class (a URI carries non-ASCII only as escapes).
export const ALNUM = 1;
export const MARK = 2; // - _ . ! ~ * ' ( )
export const USER_UNRESERVED = 4; // & = + $ , ; ? /
export const PASSWORD_UNRESERVED = 8; // & = + $ ,
export const PARAM_UNRESERVED = 16; // [ ] / : & + $
export const HNV_UNRESERVED = 32; // [ ] / ? : + $
export const TOKEN = 64; // alphanum - . ! % * _ + ` ' ~
export const WORD = 128; // token chars and ( ) < > : \ " / [ ] ? { }
export const URIC = 256; // RFC 2396 reserved / unreserved / "%"
export const ALPHA = 512;
export const DIGIT = 1024;
export const HEX = 2048;
export const UNRESERVED = ALNUM | MARK;

/** Bit set per ASCII code; index with `code < 128 ? CHARS[code] : 0`. */
export const CHARS = new Uint16Array(128);
{
  const mark = (chars: string, bit: number): void => {
    for (let i = 0; i < chars.length; i++) CHARS[chars.charCodeAt(i)]! |= bit;
  };
  const alpha = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
  const digit = '0123456789';
  mark(alpha, ALPHA | ALNUM | TOKEN | WORD | URIC);
  mark(digit, DIGIT | ALNUM | TOKEN | WORD | URIC);
  mark('0123456789abcdefABCDEF', HEX);
  mark("-_.!~*'()", MARK | URIC);
  mark('&=+$,;?/', USER_UNRESERVED);
  mark('&=+$,', PASSWORD_UNRESERVED);
  mark('[]/:&+$', PARAM_UNRESERVED);
  mark('[]/?:+$', HNV_UNRESERVED);
  mark("-.!%*_+`'~", TOKEN | WORD);
  mark('()<>:\\"/[]?{}', WORD);
  mark(';/?:@&=+$,%', URIC);
}

/** Whether the ASCII code has any of `bits`. */
export function hasClass(code: number, bits: number): boolean {
  return code < 128 && (CHARS[code]! & bits) !== 0;
}

/** A parsed `sip:` or `sips:` URI. */
export interface SipUri {
  /** Lower-case: `sip` or `sips` (schemes are case-insensitive, RFC 3261 §19.1.4). */
  scheme: 'sip' | 'sips' | (string & {});
  /** As written, escapes kept (`%75ser`); compare with `uriEquals`, key with `aorOf`. */
  user?: string;
  password?: string;
  /** As written: a hostname, an IPv4 address, or an IPv6 reference with its brackets. */
  host: string;
  port?: number;
  /** uri-parameters by lower-case name with needless escapes decoded (`;%6C%72` is `lr`); `null` without a value. Values as written. */
  params: Record<string, string | null>;
  /** `?name=value&...` components, names and values as written (escaped). */
  headers: Record<string, string>;
}

/** A dictionary with no prototype, so a parameter named `__proto__` is just a key. */
export function dict<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

/** Scans `text[i..end)` over characters of class `bits` and `%HH` escapes; -1 on a bad escape. */
function scanEscaped(text: string, i: number, end: number, bits: number): number {
  while (i < end) {
    const code = text.charCodeAt(i);
    if (code === 0x25 /* % */) {
      if (i + 2 >= end) return -1;
      if (!hasClass(text.charCodeAt(i + 1), HEX) || !hasClass(text.charCodeAt(i + 2), HEX)) return -1;
      i += 3;
    } else if (hasClass(code, bits)) i++;
    else return i;
  }
  return i;
}

/** Whether `text` is an IPv4address with each part 0-255 (RFC 3261 §25.1, 1*3DIGIT each). */
export function isIPv4(text: string): boolean {
  let parts = 0;
  let digits = 0;
  let value = 0;
  for (let i = 0; i <= text.length; i++) {
    const code = i < text.length ? text.charCodeAt(i) : 0x2e;
    if (code === 0x2e) {
      if (digits === 0 || value > 255) return false;
      parts++;
      digits = 0;
      value = 0;
    } else if (code >= 0x30 && code <= 0x39) {
      if (++digits > 3) return false;
      value = value * 10 + (code - 0x30);
    } else return false;
  }
  return parts === 4;
}

/** Whether `text` (no brackets) is an IPv6address (RFC 3261 §25.1 hexpart [ ":" IPv4address ]). */
export function isIPv6(text: string): boolean {
  const double = text.indexOf('::');
  if (double !== -1 && text.indexOf('::', double + 1) !== -1) return false;
  const groupsOf = (part: string, allowV4: boolean): number => {
    if (part === '') return 0;
    const groups = part.split(':');
    let count = 0;
    for (let g = 0; g < groups.length; g++) {
      const group = groups[g]!;
      if (g === groups.length - 1 && allowV4 && group.includes('.')) {
        if (!isIPv4(group)) return -1;
        count += 2;
      } else {
        if (group.length === 0 || group.length > 4) return -1;
        for (let i = 0; i < group.length; i++) if (!hasClass(group.charCodeAt(i), HEX)) return -1;
        count++;
      }
    }
    return count;
  };
  if (double === -1) return groupsOf(text, true) === 8;
  const head = groupsOf(text.slice(0, double), false);
  const tail = groupsOf(text.slice(double + 2), true);
  return head >= 0 && tail >= 0 && head + tail <= 7;
}

/** Whether `text` is a hostname per RFC 3261 §25.1 (labels of alphanum and inner `-`, top label starting with a letter). */
export function isHostname(text: string): boolean {
  let end = text.length;
  if (end > 0 && text.charCodeAt(end - 1) === 0x2e) end--; // one trailing dot is allowed
  if (end === 0) return false;
  let labelStart = 0;
  for (let i = 0; i <= end; i++) {
    const code = i < end ? text.charCodeAt(i) : 0x2e;
    if (code === 0x2e) {
      if (i === labelStart) return false;
      if (text.charCodeAt(labelStart) === 0x2d || text.charCodeAt(i - 1) === 0x2d) return false;
      if (i === end && !hasClass(text.charCodeAt(labelStart), ALPHA)) return false;
      labelStart = i + 1;
    } else if (!hasClass(code, ALNUM) && code !== 0x2d) return false;
  }
  return true;
}

/** Whether `text` is a `host` of RFC 3261 §25.1: hostname, IPv4address or bracketed IPv6reference. */
export function isHost(text: string): boolean {
  if (text.length === 0) return false;
  if (text.charCodeAt(0) === 0x5b /* [ */) return text.charCodeAt(text.length - 1) === 0x5d && isIPv6(text.slice(1, -1));
  return isIPv4(text) || isHostname(text);
}

/**
 * Reads `host [ ":" port ]` at `i`; returns the end index, or -1. Hostnames are read over
 * alphanum, `-` and `.` and then checked as a whole.
 */
export function scanHostPort(text: string, i: number, end: number, out: { host: string; port?: number }): number {
  const start = i;
  if (text.charCodeAt(i) === 0x5b) {
    const close = text.indexOf(']', i);
    if (close === -1 || close >= end) return -1;
    i = close + 1;
  } else {
    while (i < end) {
      const code = text.charCodeAt(i);
      if (hasClass(code, ALNUM) || code === 0x2d || code === 0x2e) i++;
      else break;
    }
  }
  const host = text.slice(start, i);
  if (!isHost(host)) return -1;
  out.host = host;
  if (i < end && text.charCodeAt(i) === 0x3a /* : */) {
    i++;
    const portStart = i;
    let port = 0;
    while (i < end && hasClass(text.charCodeAt(i), DIGIT)) {
      port = port * 10 + (text.charCodeAt(i) - 0x30);
      if (port > 65535) return -1;
      i++;
    }
    if (i === portStart) return -1;
    out.port = port;
  }
  return i;
}

/** Parses a `sip:`/`sips:` URI (RFC 3261 §25.1); undefined for anything else or any syntax error. */
export function parseUri(text: string): SipUri | undefined {
  if (typeof text !== 'string') return undefined;
  const colon = text.indexOf(':');
  if (colon !== 3 && colon !== 4) return undefined;
  const scheme = text.slice(0, colon).toLowerCase();
  if (scheme !== 'sip' && scheme !== 'sips') return undefined;
  const end = text.length;
  let i = colon + 1;
  const uri: SipUri = { scheme, host: '', params: dict(), headers: dict() };

  // userinfo: `user` may hold ; ? / (user-unreserved) but never @ or :, so the one @ ends it
  // and the first : before it starts the password (RFC 3261 §25.1; RFC 4475 §3.1.1.2, §3.1.1.9).
  const at = text.indexOf('@', i);
  if (at !== -1) {
    if (text.indexOf('@', at + 1) !== -1) return undefined;
    const passwordColon = text.indexOf(':', i);
    const userEnd = passwordColon !== -1 && passwordColon < at ? passwordColon : at;
    if (userEnd === i) return undefined; // user = 1*( ... )
    if (scanEscaped(text, i, userEnd, UNRESERVED | USER_UNRESERVED) !== userEnd) return undefined;
    uri.user = text.slice(i, userEnd);
    if (userEnd < at) {
      if (scanEscaped(text, userEnd + 1, at, UNRESERVED | PASSWORD_UNRESERVED) !== at) return undefined;
      uri.password = text.slice(userEnd + 1, at);
    }
    i = at + 1;
  }

  const hostPort: { host: string; port?: number } = { host: '' };
  i = scanHostPort(text, i, end, hostPort);
  if (i === -1) return undefined;
  uri.host = hostPort.host;
  if (hostPort.port !== undefined) uri.port = hostPort.port;

  // uri-parameters = *( ";" pname [ "=" pvalue ] ), pname and pvalue 1*paramchar.
  while (i < end && text.charCodeAt(i) === 0x3b /* ; */) {
    const nameStart = i + 1;
    const nameEnd = scanEscaped(text, nameStart, end, UNRESERVED | PARAM_UNRESERVED);
    if (nameEnd <= nameStart) return undefined;
    let value: string | null = null;
    i = nameEnd;
    if (i < end && text.charCodeAt(i) === 0x3d /* = */) {
      const valueEnd = scanEscaped(text, i + 1, end, UNRESERVED | PARAM_UNRESERVED);
      if (valueEnd <= i + 1) return undefined;
      value = text.slice(i + 1, valueEnd);
      i = valueEnd;
    }
    // Names are case-insensitive and %HH is the character it encodes (§19.1.4): `;%6C%72` is `;lr`.
    const name = canonicalEscapes(text.slice(nameStart, nameEnd), UNRESERVED | PARAM_UNRESERVED).toLowerCase();
    if (!(name in uri.params)) uri.params[name] = value;
  }

  // headers = "?" header *( "&" header ), header = hname "=" hvalue.
  if (i < end && text.charCodeAt(i) === 0x3f /* ? */) {
    do {
      const nameStart = i + 1;
      const nameEnd = scanEscaped(text, nameStart, end, UNRESERVED | HNV_UNRESERVED);
      if (nameEnd <= nameStart || nameEnd >= end || text.charCodeAt(nameEnd) !== 0x3d) return undefined;
      const valueEnd = scanEscaped(text, nameEnd + 1, end, UNRESERVED | HNV_UNRESERVED);
      if (valueEnd === -1) return undefined;
      const name = text.slice(nameStart, nameEnd);
      if (!(name in uri.headers)) uri.headers[name] = text.slice(nameEnd + 1, valueEnd);
      i = valueEnd;
    } while (i < end && text.charCodeAt(i) === 0x26 /* & */);
  }
  return i === end ? uri : undefined;
}

/**
 * The lower-case scheme of a well-formed absoluteURI (`scheme ":" 1*uric`, RFC 2396 §3 as
 * RFC 3261 §25.1 uses it), or undefined. SIP URIs are checked fully: a malformed `sip:` gives
 * undefined here too.
 */
export function uriScheme(text: string): string | undefined {
  if (typeof text !== 'string') return undefined;
  const colon = text.indexOf(':');
  if (colon < 1 || !hasClass(text.charCodeAt(0), ALPHA)) return undefined;
  for (let i = 1; i < colon; i++) {
    const code = text.charCodeAt(i);
    if (!hasClass(code, ALNUM) && code !== 0x2b && code !== 0x2d && code !== 0x2e) return undefined;
  }
  const scheme = text.slice(0, colon).toLowerCase();
  if (scheme === 'sip' || scheme === 'sips') return parseUri(text) === undefined ? undefined : scheme;
  if (colon + 1 >= text.length) return undefined;
  if (scanEscaped(text, colon + 1, text.length, UNRESERVED | URIC) !== text.length) return undefined;
  return scheme;
}

/** The URI text of a parsed URI (parameter names come out lower-case). */
export function formatUri(uri: SipUri): string {
  let out = `${uri.scheme}:`;
  if (uri.user !== undefined) {
    out += uri.user;
    if (uri.password !== undefined) out += `:${uri.password}`;
    out += '@';
  }
  out += uri.host;
  if (uri.port !== undefined) out += `:${uri.port}`;
  for (const name in uri.params) {
    const value = uri.params[name];
    out += value === null || value === undefined ? `;${name}` : `;${name}=${value}`;
  }
  let separator = '?';
  for (const name in uri.headers) {
    out += `${separator}${name}=${uri.headers[name]}`;
    separator = '&';
  }
  return out;
}

const HEX_DIGITS = '0123456789ABCDEF';

/**
 * Canonical escapes: `%HH` of a character the component allows unescaped becomes that
 * character, the others stay escaped with upper-case hex. Two texts are equal after %-decoding
 * exactly when their canonical forms are equal (RFC 3261 §19.1.4: "characters other than those
 * in the reserved set are equivalent to their %-encoding"), and the result is still a valid
 * component, so it can serve as a key. Never decodes twice (`%2541` stays `%2541`, RFC 4475 §3.1.1.3).
 */
export function canonicalEscapes(text: string, allowed: number): string {
  if (text.indexOf('%') === -1) return text;
  let out = '';
  let last = 0;
  for (let i = text.indexOf('%'); i !== -1 && i + 2 < text.length; i = text.indexOf('%', i + 1)) {
    if (!hasClass(text.charCodeAt(i + 1), HEX) || !hasClass(text.charCodeAt(i + 2), HEX)) continue;
    const byte = parseInt(text.slice(i + 1, i + 3), 16);
    out += text.slice(last, i);
    out += hasClass(byte, allowed) ? String.fromCharCode(byte) : `%${HEX_DIGITS[byte >> 4]}${HEX_DIGITS[byte & 15]}`;
    last = i + 3;
    i += 2;
  }
  return out + text.slice(last);
}

const utf8 = new TextDecoder('utf-8');
const utf8Encoder = new TextEncoder();

/** %-decodes `text` as UTF-8 (for display and for URI header values); invalid bytes become U+FFFD. */
export function unescape(text: string): string {
  if (text.indexOf('%') === -1) return text;
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x25 && i + 2 < text.length && hasClass(text.charCodeAt(i + 1), HEX) && hasClass(text.charCodeAt(i + 2), HEX)) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (code < 0x80) bytes.push(code);
    else {
      const char = String.fromCodePoint(text.codePointAt(i)!);
      for (const byte of utf8Encoder.encode(char)) bytes.push(byte);
      i += char.length - 1;
    }
  }
  return utf8.decode(Uint8Array.from(bytes));
}

// §19.1.4: "A user, ttl, or method uri-parameter appearing in only one URI never matches ... A
// URI that includes an maddr parameter will not match a URI that contains no maddr parameter."
// transport is added because the section's own examples list `sip:bob@biloxi.com` and
// `sip:bob@biloxi.com;transport=udp` as not equivalent.
const PARAMS_THAT_MUST_MATCH = new Set(['user', 'ttl', 'method', 'maddr', 'transport']);

const paramKey = (value: string | null | undefined): string | null | undefined =>
  value === null || value === undefined ? value : canonicalEscapes(value, UNRESERVED | PARAM_UNRESERVED).toLowerCase();

/**
 * URI equality of RFC 3261 §19.1.4: schemes equal, userinfo case-sensitive after unescaping,
 * host case-insensitive, ports both absent or equal, parameters by the rules above, URI headers
 * all present in both. Texts that are not SIP URIs compare equal only when identical.
 */
export function uriEquals(a: SipUri | string, b: SipUri | string): boolean {
  const left = typeof a === 'string' ? parseUri(a) : a;
  const right = typeof b === 'string' ? parseUri(b) : b;
  if (left === undefined || right === undefined) return typeof a === 'string' && typeof b === 'string' && a === b;
  if (left.scheme.toLowerCase() !== right.scheme.toLowerCase()) return false;
  if ((left.user === undefined) !== (right.user === undefined)) return false;
  if (left.user !== undefined && canonicalEscapes(left.user, UNRESERVED | USER_UNRESERVED) !== canonicalEscapes(right.user!, UNRESERVED | USER_UNRESERVED)) return false;
  if ((left.password === undefined) !== (right.password === undefined)) return false;
  if (left.password !== undefined && canonicalEscapes(left.password, UNRESERVED | PASSWORD_UNRESERVED) !== canonicalEscapes(right.password!, UNRESERVED | PASSWORD_UNRESERVED)) return false;
  if (left.host.toLowerCase() !== right.host.toLowerCase()) return false;
  if (left.port !== right.port) return false;
  for (const name in left.params) {
    if (name in right.params) {
      if (paramKey(left.params[name]) !== paramKey(right.params[name])) return false;
    } else if (PARAMS_THAT_MUST_MATCH.has(name)) return false;
  }
  for (const name in right.params) if (!(name in left.params) && PARAMS_THAT_MUST_MATCH.has(name)) return false;
  // "URI header components are never ignored. Any present header component MUST be present in
  // both URIs and match for the URIs to match."
  const headersOf = (uri: SipUri): Map<string, string> => {
    const map = new Map<string, string>();
    for (const name in uri.headers) map.set(canonicalEscapes(name, UNRESERVED | HNV_UNRESERVED).toLowerCase(), canonicalEscapes(uri.headers[name]!, UNRESERVED | HNV_UNRESERVED));
    return map;
  };
  const leftHeaders = headersOf(left);
  const rightHeaders = headersOf(right);
  if (leftHeaders.size !== rightHeaders.size) return false;
  for (const [name, value] of leftHeaders) if (rightHeaders.get(name) !== value) return false;
  return true;
}

/**
 * The address-of-record key of a URI: `scheme:user@host`, host lower-cased, no port,
 * parameters or headers (RFC 3261 §10.3 step 5 "converting it to canonical form"). The user
 * part keeps its case and is unescaped in the canonical-escape sense above, so
 * `sip:%75ser@EXAMPLE.com:5060;transport=ws` and `sip:user@example.com` give one key while
 * `%00` in a user part stays distinct from an empty one (RFC 4475 §3.1.1.4).
 */
export function aorOf(uri: SipUri): string;
export function aorOf(uri: string): string | undefined;
export function aorOf(uri: SipUri | string): string | undefined {
  const parsed = typeof uri === 'string' ? parseUri(uri) : uri;
  if (parsed === undefined) return undefined;
  const host = parsed.host.toLowerCase();
  const scheme = parsed.scheme.toLowerCase();
  return parsed.user === undefined ? `${scheme}:${host}` : `${scheme}:${canonicalEscapes(parsed.user, UNRESERVED | USER_UNRESERVED)}@${host}`;
}
