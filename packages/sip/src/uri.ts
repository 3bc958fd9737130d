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

// The prototype of `dict()` objects: empty, itself without a prototype, so no key is
// inherited (`toString`, `__proto__`'s accessor), and `dict()` objects stay in V8's fast mode,
// where a new key costs a few ns rather than the hundreds an `Object.create(null)` one does.
function Dict(): void {}
Dict.prototype = Object.create(null) as object;

/** A dictionary that inherits no key, so a parameter named `__proto__` or `toString` is just a key. */
export function dict<T>(): Record<string, T> {
  return new (Dict as unknown as new () => Record<string, T>)();
}

// ---------------------------------------------------------------------------------------------
// Scanning over units. The scanners below read a text as one byte per UTF-16 unit (`toUnits`):
// the unit itself when it is ASCII, 0x80 for any other, which is outside every class just as a
// `charCodeAt` above 0x7F is. Typed-array reads cost a fraction of `charCodeAt`, and positions
// are the text's own, so what the scanners find is sliced out of the text.

/** `CHARS` over a whole byte: the upper half (non-ASCII) is in no class. */
export const UNIT_CLASSES = new Uint16Array(256);
UNIT_CLASSES.set(CHARS);

const utf8Encoder = new TextEncoder();

/**
 * `text[0..end)` as units, in `scratch` when it fits (else in a new array). The scratch is
 * only valid until the next call with it: callers read it within one synchronous call.
 */
export function toUnits(text: string, end: number, scratch: Uint8Array): Uint8Array {
  const target = end <= scratch.length ? scratch : new Uint8Array(end);
  const { read, written } = utf8Encoder.encodeInto(end === text.length ? text : text.slice(0, end), target);
  if (read !== end || written !== end) {
    // Not all ASCII: the UTF-8 bytes do not line up with the units, so map unit by unit.
    for (let i = 0; i < end; i++) {
      const code = text.charCodeAt(i);
      target[i] = code < 0x80 ? code : 0x80;
    }
  }
  return target;
}

// For the string entry points of this module (`parseUri`, `uriScheme`, `isHost`...), each of
// which reads it within its own call. Nothing `scanHost` or `scanUri` calls may use it.
const scratch = new Uint8Array(1024);

/** Units `[start..end)` as a string; only for runs already known to be ASCII. */
function unitsText(units: Uint8Array, start: number, end: number): string {
  let out = '';
  for (let i = start; i < end; i++) out += String.fromCharCode(units[i]!);
  return out;
}

/** Scans `units[i..end)` over characters of class `bits` and `%HH` escapes; -1 on a bad escape. */
function scanEscaped(units: Uint8Array, i: number, end: number, bits: number): number {
  while (i < end) {
    const code = units[i]!;
    if (code === 0x25 /* % */) {
      if (i + 2 >= end) return -1;
      if ((UNIT_CLASSES[units[i + 1]!]! & HEX) === 0 || (UNIT_CLASSES[units[i + 2]!]! & HEX) === 0) return -1;
      i += 3;
    } else if ((UNIT_CLASSES[code]! & bits) !== 0) i++;
    else return i;
  }
  return i;
}

/** Whether `text` is an IPv4address with each part 0-255 (RFC 3261 §25.1, 1*3DIGIT each). */
export function isIPv4(text: string): boolean {
  // Units of its own, not the scratch: `isIPv6` calls this from inside `scanHost`, which may be
  // reading the scratch. IPv4 text is short, and only IPv6 references with an IPv4 tail get here.
  const units = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) units[i] = Math.min(text.charCodeAt(i), 0x80);
  return isIPv4In(units, 0, text.length);
}

/** `isIPv4` over `units[start..end)`. */
function isIPv4In(units: Uint8Array, start: number, end: number): boolean {
  let parts = 0;
  let digits = 0;
  let value = 0;
  for (let i = start; i <= end; i++) {
    const code = i < end ? units[i]! : 0x2e;
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
  const units = toUnits(text, text.length, scratch);
  let end = text.length;
  if (end > 0 && units[end - 1] === 0x2e) end--; // one trailing dot is allowed
  if (end === 0) return false;
  let labelStart = 0;
  for (let i = 0; i <= end; i++) {
    const code = i < end ? units[i]! : 0x2e;
    if (code === 0x2e) {
      if (i === labelStart) return false;
      if (units[labelStart] === 0x2d || units[i - 1] === 0x2d) return false;
      if (i === end && (UNIT_CLASSES[units[labelStart]!]! & ALPHA) === 0) return false;
      labelStart = i + 1;
    } else if ((UNIT_CLASSES[code]! & ALNUM) === 0 && code !== 0x2d) return false;
  }
  return true;
}

/** Whether `text` is a `host` of RFC 3261 §25.1: hostname, IPv4address or bracketed IPv6reference. */
export function isHost(text: string): boolean {
  return text.length > 0 && scanHost(toUnits(text, text.length, scratch), 0, text.length) === text.length;
}

/**
 * End of the `host` at `i` (before `end`), or -1: the longest run of alphanum, `-` and `.` (or an
 * IPv6 reference), which must be an IPv4address or a hostname, checked in the same single pass
 * that finds its end.
 */
export function scanHost(units: Uint8Array, i: number, end: number): number {
  const start = i;
  if (i < end && units[i] === 0x5b /* [ */) {
    // Up to the "]": hex digits, ":" and "." are all an IPv6address holds.
    for (i++; i < end; i++) {
      const code = units[i]!;
      if (code === 0x5d) return isIPv6(unitsText(units, start + 1, i)) ? i + 1 : -1;
      if (code !== 0x3a && code !== 0x2e && (UNIT_CLASSES[code]! & HEX) === 0) return -1;
    }
    return -1;
  }
  // One step per character of a hostname automaton (labels of alphanum and inner "-", the top
  // label starting with a letter, one trailing dot allowed); a run whose top label starts with
  // a digit is then checked as an IPv4address, four 1*3DIGIT parts of at most 255.
  let state = HOST_START;
  for (; i < end; i++) {
    const kind = HOST_CHARS[units[i]!]!;
    if (kind === -1) break;
    state = HOST_STEPS[state * 4 + kind]!;
  }
  if (state === HOST_ALPHA_LABEL || state === HOST_ALPHA_DOT) return i;
  // A top label starting with a digit: only an IPv4address (which no broken hostname rule can be).
  if (state === HOST_DIGIT_LABEL || state === HOST_DIGIT_DOT) return isIPv4In(units, start, i) ? i : -1;
  return -1;
}

// The hostname automaton of `scanHost`. Character kinds: 0 letter, 1 digit, 2 "-", 3 "."
// (anything else ends the host). States say what the current label started with and whether
// it now ends in "-", or that a label just ended with "."; DEAD once a rule is broken.
const HOST_CHARS = new Int8Array(256).fill(-1);
for (let code = 0; code < 128; code++) {
  if ((CHARS[code]! & ALPHA) !== 0) HOST_CHARS[code] = 0;
  else if ((CHARS[code]! & DIGIT) !== 0) HOST_CHARS[code] = 1;
}
HOST_CHARS[0x2d] = 2;
HOST_CHARS[0x2e] = 3;
const HOST_START = 0;
const HOST_ALPHA_LABEL = 1; // in a label that started with a letter, last character alphanum
const HOST_DIGIT_LABEL = 2;
const HOST_ALPHA_HYPHEN = 3; // the same, last character "-"
const HOST_DIGIT_HYPHEN = 4;
const HOST_ALPHA_DOT = 5; // after "." ending a label that started with a letter
const HOST_DIGIT_DOT = 6;
const HOST_DEAD = 7;
const HOST_STEPS = Int8Array.from([
  // letter, digit, "-", "."
  HOST_ALPHA_LABEL, HOST_DIGIT_LABEL, HOST_DEAD, HOST_DEAD, // start: a label must start with alphanum
  HOST_ALPHA_LABEL, HOST_ALPHA_LABEL, HOST_ALPHA_HYPHEN, HOST_ALPHA_DOT,
  HOST_DIGIT_LABEL, HOST_DIGIT_LABEL, HOST_DIGIT_HYPHEN, HOST_DIGIT_DOT,
  HOST_ALPHA_LABEL, HOST_ALPHA_LABEL, HOST_ALPHA_HYPHEN, HOST_DEAD, // a label must not end with "-"
  HOST_DIGIT_LABEL, HOST_DIGIT_LABEL, HOST_DIGIT_HYPHEN, HOST_DEAD,
  HOST_ALPHA_LABEL, HOST_DIGIT_LABEL, HOST_DEAD, HOST_DEAD, // no empty label
  HOST_ALPHA_LABEL, HOST_DIGIT_LABEL, HOST_DEAD, HOST_DEAD,
  HOST_DEAD, HOST_DEAD, HOST_DEAD, HOST_DEAD,
]);

/** End of `":" port` at `i` (0-65535, at least one digit), `i` itself when there is no ":", or -1. */
function scanPort(units: Uint8Array, i: number, end: number): number {
  if (i >= end || units[i] !== 0x3a /* : */) return i;
  i++;
  const portStart = i;
  let port = 0;
  while (i < end) {
    const code = units[i]!;
    if (code < 0x30 || code > 0x39) break;
    port = port * 10 + (code - 0x30);
    if (port > 65535) return -1;
    i++;
  }
  return i === portStart ? -1 : i;
}

/**
 * Reads `host [ ":" port ]` at `i` of `text`; returns the end index, or -1. Hostnames are read
 * over alphanum, `-` and `.` and then checked as a whole.
 */
export function scanHostPort(text: string, i: number, end: number, out: { host: string; port?: number }): number {
  const units = toUnits(text, end, scratch);
  const hostEnd = scanHost(units, i, end);
  if (hostEnd === -1) return -1;
  const portEnd = scanPort(units, hostEnd, end);
  if (portEnd === -1) return -1;
  out.host = text.slice(i, hostEnd);
  if (portEnd !== hostEnd) out.port = portNumber(units, hostEnd + 1, portEnd);
  return portEnd;
}

function portNumber(units: Uint8Array, start: number, end: number): number {
  let port = 0;
  for (let i = start; i < end; i++) port = port * 10 + (units[i]! - 0x30);
  return port;
}

/** What `checkUri` found: not a URI, another scheme's absoluteURI, a SIP/SIPS URI, one with a headers component. */
export const URI_INVALID = -1;
export const URI_OTHER = 0;
export const URI_SIP = 1;
export const URI_SIP_HEADERS = 2;

/** Whether `units[start..start+length)` spells `sip` or `sips`, any case. */
function isSipScheme(units: Uint8Array, start: number, length: number): boolean {
  return (
    (length === 3 || length === 4) &&
    (units[start]! | 0x20) === 0x73 &&
    (units[start + 1]! | 0x20) === 0x69 &&
    (units[start + 2]! | 0x20) === 0x70 &&
    (length === 3 || (units[start + 3]! | 0x20) === 0x73)
  );
}

/** End of the `scheme ":"` at `start` (the index of the ":"), or -1. */
function scanScheme(units: Uint8Array, start: number, end: number): number {
  if (start >= end || (UNIT_CLASSES[units[start]!]! & ALPHA) === 0) return -1;
  for (let i = start + 1; i < end; i++) {
    const code = units[i]!;
    if (code === 0x3a) return i;
    if ((UNIT_CLASSES[code]! & ALNUM) === 0 && code !== 0x2b && code !== 0x2d && code !== 0x2e) return -1;
  }
  return -1;
}

/**
 * Reads the longest URI at `start` (before `end`) by the grammar `parseUri` and `uriScheme`
 * accept, building nothing: a SIP/SIPS URI by RFC 3261 §25.1 (its headers component only with
 * `headers`), any other scheme as an RFC 2396 §3 absoluteURI. Returns where it stops, or -1
 * when what is there cannot start a valid URI; `[start..stop)` is then exactly a URI those
 * functions accept (the property tests hold the two to each other).
 *
 * No search runs past the URI, so the caller can give the end of the whole header value: the
 * URI ends at the first character its grammar does not allow (">", ",", SP).
 */
export function scanUri(units: Uint8Array, start: number, end: number, headers: boolean): number {
  const colon = scanScheme(units, start, end);
  if (colon === -1) return -1;
  if (isSipScheme(units, start, colon - start)) return scanSipUri(units, colon + 1, end, headers);
  const stop = scanEscaped(units, colon + 1, end, UNRESERVED | URIC);
  return stop > colon + 1 ? stop : -1; // 1*uric
}

/** The part of a SIP URI after `sip:`, as `parseUri` reads it. */
function scanSipUri(units: Uint8Array, i: number, end: number, headers: boolean): number {
  // userinfo: `parseUri` takes it up to the one "@"; no later part of a SIP URI may hold an
  // "@", so reading a user (and a password after a ":") up to an "@" finds the same userinfo,
  // and when none ends in "@" the text is read as host from the start.
  const userEnd = scanEscaped(units, i, end, UNRESERVED | USER_UNRESERVED);
  if (userEnd > i && userEnd < end) {
    const code = units[userEnd]!;
    if (code === 0x40 /* @ */) i = userEnd + 1;
    else if (code === 0x3a /* : */) {
      const passwordEnd = scanEscaped(units, userEnd + 1, end, UNRESERVED | PASSWORD_UNRESERVED);
      if (passwordEnd !== -1 && passwordEnd < end && units[passwordEnd] === 0x40) i = passwordEnd + 1;
    }
  }
  i = scanHost(units, i, end);
  if (i === -1) return -1;
  i = scanPort(units, i, end);
  if (i === -1) return -1;
  // uri-parameters = *( ";" pname [ "=" pvalue ] )
  while (i < end && units[i] === 0x3b /* ; */) {
    const nameEnd = scanEscaped(units, i + 1, end, UNRESERVED | PARAM_UNRESERVED);
    if (nameEnd <= i + 1) return -1;
    i = nameEnd;
    if (i < end && units[i] === 0x3d /* = */) {
      const valueEnd = scanEscaped(units, i + 1, end, UNRESERVED | PARAM_UNRESERVED);
      if (valueEnd <= i + 1) return -1;
      i = valueEnd;
    }
  }
  // headers = "?" hname "=" hvalue *( "&" hname "=" hvalue )
  if (headers && i < end && units[i] === 0x3f /* ? */) {
    do {
      const nameEnd = scanEscaped(units, i + 1, end, UNRESERVED | HNV_UNRESERVED);
      if (nameEnd <= i + 1 || nameEnd >= end || units[nameEnd] !== 0x3d) return -1;
      const valueEnd = scanEscaped(units, nameEnd + 1, end, UNRESERVED | HNV_UNRESERVED);
      if (valueEnd === -1) return -1;
      i = valueEnd;
    } while (i < end && units[i] === 0x26 /* & */);
  }
  return i;
}

/** Validates `units[start..end)` as `uriScheme` does, without building anything: one of the `URI_*` values. */
export function checkUri(units: Uint8Array, start: number, end: number): number {
  if (scanUri(units, start, end, false) === end) return isSipScheme(units, start, scanScheme(units, start, end) - start) ? URI_SIP : URI_OTHER;
  return scanUri(units, start, end, true) === end ? URI_SIP_HEADERS : URI_INVALID;
}

/** Parses a `sip:`/`sips:` URI (RFC 3261 §25.1); undefined for anything else or any syntax error. */
export function parseUri(text: string): SipUri | undefined {
  if (typeof text !== 'string') return undefined;
  const end = text.length;
  const units = toUnits(text, end, scratch);
  const colon = scanScheme(units, 0, end);
  if (colon === -1 || !isSipScheme(units, 0, colon)) return undefined;
  // The whole grammar first, so what follows only cuts the text at the places it found.
  if (scanSipUri(units, colon + 1, end, true) !== end) return undefined;
  const uri: SipUri = { scheme: colon === 3 ? 'sip' : 'sips', host: '', params: dict(), headers: dict() };
  let i = colon + 1;

  // userinfo: `user` may hold ; ? / (user-unreserved) but never @ or :, so the one @ ends it
  // and the first : before it starts the password (RFC 3261 §25.1; RFC 4475 §3.1.1.2, §3.1.1.9).
  const at = text.indexOf('@', i);
  if (at !== -1) {
    const passwordColon = text.indexOf(':', i);
    const userEnd = passwordColon !== -1 && passwordColon < at ? passwordColon : at;
    uri.user = text.slice(i, userEnd);
    if (userEnd < at) uri.password = text.slice(userEnd + 1, at);
    i = at + 1;
  }

  const hostEnd = scanHost(units, i, end);
  const portEnd = scanPort(units, hostEnd, end);
  uri.host = text.slice(i, hostEnd);
  if (portEnd !== hostEnd) uri.port = portNumber(units, hostEnd + 1, portEnd);
  i = portEnd;

  // uri-parameters = *( ";" pname [ "=" pvalue ] ), pname and pvalue 1*paramchar.
  while (i < end && units[i] === 0x3b /* ; */) {
    const nameStart = i + 1;
    const nameEnd = scanEscaped(units, nameStart, end, UNRESERVED | PARAM_UNRESERVED);
    let value: string | null = null;
    i = nameEnd;
    if (i < end && units[i] === 0x3d /* = */) {
      const valueEnd = scanEscaped(units, i + 1, end, UNRESERVED | PARAM_UNRESERVED);
      value = text.slice(i + 1, valueEnd);
      i = valueEnd;
    }
    // Names are case-insensitive and %HH is the character it encodes (§19.1.4): `;%6C%72` is `;lr`.
    const name = canonicalEscapes(text.slice(nameStart, nameEnd), UNRESERVED | PARAM_UNRESERVED).toLowerCase();
    if (!(name in uri.params)) uri.params[name] = value;
  }

  // headers = "?" header *( "&" header ), header = hname "=" hvalue.
  if (i < end && units[i] === 0x3f /* ? */) {
    do {
      const nameStart = i + 1;
      const nameEnd = scanEscaped(units, nameStart, end, UNRESERVED | HNV_UNRESERVED);
      const valueEnd = scanEscaped(units, nameEnd + 1, end, UNRESERVED | HNV_UNRESERVED);
      const name = text.slice(nameStart, nameEnd);
      if (!(name in uri.headers)) uri.headers[name] = text.slice(nameEnd + 1, valueEnd);
      i = valueEnd;
    } while (i < end && units[i] === 0x26 /* & */);
  }
  return uri;
}

/**
 * The lower-case scheme of a well-formed absoluteURI (`scheme ":" 1*uric`, RFC 2396 §3 as
 * RFC 3261 §25.1 uses it), or undefined. SIP URIs are checked fully: a malformed `sip:` gives
 * undefined here too.
 */
export function uriScheme(text: string): string | undefined {
  if (typeof text !== 'string' || scanUri(toUnits(text, text.length, scratch), 0, text.length, true) !== text.length) return undefined;
  return text.slice(0, text.indexOf(':')).toLowerCase();
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
