/**
 * SIP tables: the subprotocol id, the version, the branch magic cookie, reason phrases and
 * compact header names. Sources: RFC 7118 §7 (subprotocol `sip`), RFC 3261 §7.1, §7.3.3, §8.1.1.7,
 * §21, the IANA "Session Initiation Protocol (SIP) Parameters" registry (header compact forms,
 * response codes) and the RFCs that registered the codes noted below.
 */

/** The IANA WebSocket subprotocol id (RFC 7118 §7). */
export const SIP_PROTOCOL = 'sip';

/** The only version this stack speaks (RFC 3261 §7.1); others get 505. */
export const SIP_VERSION = 'SIP/2.0';

/** Branch prefix of RFC 3261 transactions (§8.1.1.7); a branch without it is RFC 2543-style. */
export const BRANCH_MAGIC = 'z9hG4bK';

/** Largest message accepted by default, in bytes; larger ones get 513 (RFC 3261 §21.5.14). */
export const DEFAULT_MAX_MESSAGE_SIZE = 65535;

/** The Max-Forwards a proxy adds when a request has none (RFC 3261 §16.6 step 3). */
export const DEFAULT_MAX_FORWARDS = 70;

/** Reason phrases: RFC 3261 §21 and the registered extensions (RFC noted where not 3261). */
export const REASON_PHRASES: Readonly<Record<number, string>> = Object.freeze({
  100: 'Trying',
  180: 'Ringing',
  181: 'Call Is Being Forwarded',
  182: 'Queued',
  183: 'Session Progress',
  199: 'Early Dialog Terminated', // RFC 6228
  200: 'OK',
  202: 'Accepted', // RFC 6665 (deprecated)
  204: 'No Notification', // RFC 5839
  300: 'Multiple Choices',
  301: 'Moved Permanently',
  302: 'Moved Temporarily',
  305: 'Use Proxy',
  380: 'Alternative Service',
  400: 'Bad Request',
  401: 'Unauthorized',
  402: 'Payment Required',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  407: 'Proxy Authentication Required',
  408: 'Request Timeout',
  410: 'Gone',
  412: 'Conditional Request Failed', // RFC 3903
  413: 'Request Entity Too Large',
  414: 'Request-URI Too Long',
  415: 'Unsupported Media Type',
  416: 'Unsupported URI Scheme',
  417: 'Unknown Resource-Priority', // RFC 4412
  420: 'Bad Extension',
  421: 'Extension Required',
  422: 'Session Interval Too Small', // RFC 4028
  423: 'Interval Too Brief',
  424: 'Bad Location Information', // RFC 6442
  425: 'Bad Alert Message', // RFC 8876
  428: 'Use Identity Header', // RFC 8224
  429: 'Provide Referrer Identity', // RFC 3892
  430: 'Flow Failed', // RFC 5626
  433: 'Anonymity Disallowed', // RFC 5079
  436: 'Bad Identity Info', // RFC 8224
  437: 'Unsupported Credential', // RFC 8224
  438: 'Invalid Identity Header', // RFC 8224
  439: 'First Hop Lacks Outbound Support', // RFC 5626
  440: 'Max-Breadth Exceeded', // RFC 5393
  469: 'Bad Info Package', // RFC 6086
  470: 'Consent Needed', // RFC 5360
  480: 'Temporarily Unavailable',
  481: 'Call/Transaction Does Not Exist',
  482: 'Loop Detected',
  483: 'Too Many Hops',
  484: 'Address Incomplete',
  485: 'Ambiguous',
  486: 'Busy Here',
  487: 'Request Terminated',
  488: 'Not Acceptable Here',
  489: 'Bad Event', // RFC 6665
  491: 'Request Pending',
  493: 'Undecipherable',
  494: 'Security Agreement Required', // RFC 3329
  500: 'Server Internal Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Server Time-out',
  505: 'Version Not Supported',
  513: 'Message Too Large',
  555: 'Push Notification Service Not Supported', // RFC 8599
  580: 'Precondition Failure', // RFC 3312
  600: 'Busy Everywhere',
  603: 'Decline',
  604: 'Does Not Exist Anywhere',
  606: 'Not Acceptable',
  607: 'Unwanted', // RFC 8197
  608: 'Rejected', // RFC 8688
});

// An unknown code is treated as the x00 of its class (RFC 3261 §8.1.3.2, §16.7): the phrase names
// the class, as the §21 section titles do, rather than claiming a specific x00 meaning.
const CLASS_PHRASES = ['', 'Provisional', 'Successful', 'Redirection', 'Request Failure', 'Server Failure', 'Global Failure'];

/** The phrase for `status`: registered, else its class name; empty outside 100-699. */
export function reasonPhrase(status: number): string {
  const known = REASON_PHRASES[status];
  if (known !== undefined) return known;
  if (!Number.isInteger(status) || status < 100 || status > 699) return '';
  return CLASS_PHRASES[Math.floor(status / 100)]!;
}

/**
 * Compact forms (RFC 3261 §7.3.3 and the IANA header registry): single letter to the lower-case
 * long name. Compact names are case-insensitive like every header name (§7.3.1).
 */
export const COMPACT_FORMS: Readonly<Record<string, string>> = Object.freeze({
  a: 'accept-contact', // RFC 3841
  b: 'referred-by', // RFC 3892
  c: 'content-type',
  d: 'request-disposition', // RFC 3841
  e: 'content-encoding',
  f: 'from',
  i: 'call-id',
  j: 'reject-contact', // RFC 3841
  k: 'supported',
  l: 'content-length',
  m: 'contact',
  n: 'identity-info', // RFC 4474 (obsoleted by RFC 8224, still registered)
  o: 'event', // RFC 6665
  r: 'refer-to', // RFC 3515
  s: 'subject',
  t: 'to',
  u: 'allow-events', // RFC 6665
  v: 'via',
  x: 'session-expires', // RFC 4028
  y: 'identity', // RFC 8224
});

/**
 * A fixed set of spellings found in a range of units (a text as one byte per UTF-16 unit, see
 * `toUnits` in uri.ts) without copying it: by length and first letter, then one comparison,
 * letter case ignored when `foldCase`. Tables of a few KB, built once at load, never grown.
 */
export class Spellings {
  /** Each spelling as given; `find` says when the range is exactly this one. */
  readonly names: string[] = [];
  readonly values: string[] = [];
  /** Whether the last successful `find` matched the spelling exactly (letter case too). */
  exact = false;
  private readonly first = new Int16Array(32 << 5).fill(-1);
  private readonly next: number[] = [];
  private readonly offsets: number[] = [];
  private readonly chars: number[] = [];
  // Lower-case letters where `chars` has a letter; 0x100 (matched by no unit) elsewhere.
  private readonly folded: number[] = [];

  constructor(
    entries: Iterable<readonly [name: string, value: string]>,
    private readonly foldCase: boolean,
  ) {
    const seen = new Set<string>();
    for (const [name, value] of entries) {
      const id = foldCase ? name.toLowerCase() : name;
      if (name.length === 0 || name.length > 31 || seen.has(id)) continue;
      seen.add(id);
      const slot = (name.length << 5) | (name.charCodeAt(0) & 31);
      this.offsets.push(this.chars.length);
      for (let i = 0; i < name.length; i++) {
        const code = name.charCodeAt(i);
        if (code > 0x7f) throw new Error(`not ASCII: ${name}`);
        const letter = (code | 0x20) >= 0x61 && (code | 0x20) <= 0x7a;
        this.chars.push(code);
        this.folded.push(letter ? code | 0x20 : 0x100);
      }
      this.next.push(this.first[slot]!);
      this.first[slot] = this.names.length;
      this.names.push(name);
      this.values.push(value);
    }
  }

  /** The index of the spelling equal to `units[start..end)`, or -1. */
  find(units: Uint8Array, start: number, end: number): number {
    const length = end - start;
    if (length < 1 || length > 31) return -1;
    const { chars, folded, offsets, next, foldCase } = this;
    for (let index = this.first[(length << 5) | (units[start]! & 31)]!; index !== -1; index = next[index]!) {
      const offset = offsets[index]!;
      let exact = true;
      let k = 0;
      for (; k < length; k++) {
        const code = units[start + k]!;
        if (code === chars[offset + k]) continue;
        if (!foldCase || (code | 0x20) !== folded[offset + k]) break;
        exact = false;
      }
      if (k === length) {
        this.exact = exact;
        return index;
      }
    }
    return -1;
  }
}

// The header-name spellings clients actually send, each with its lower-case long form.
const KNOWN_SPELLINGS = new Map<string, string>();
for (const name of [
  'Via', 'From', 'To', 'Call-ID', 'Call-Id', 'CSeq', 'Contact', 'Content-Length', 'Content-Type', 'Max-Forwards',
  'Route', 'Record-Route', 'Path', 'Expires', 'Allow', 'Supported', 'Require', 'Proxy-Require', 'User-Agent',
  'Server', 'Authorization', 'Proxy-Authorization', 'WWW-Authenticate', 'Proxy-Authenticate', 'Timestamp',
  'Accept', 'Allow-Events', 'Event', 'Subscription-State', 'Session-Expires', 'Min-Expires', 'Unsupported',
  'Organization', 'Date', 'Subject', 'Reason', 'Warning', 'Flow-Timer', 'Content-Disposition', 'Content-Encoding',
]) {
  KNOWN_SPELLINGS.set(name, name.toLowerCase());
  KNOWN_SPELLINGS.set(name.toLowerCase(), name.toLowerCase());
}
for (const [letter, long] of Object.entries(COMPACT_FORMS)) {
  KNOWN_SPELLINGS.set(letter, long);
  KNOWN_SPELLINGS.set(letter.toUpperCase(), long);
}

/** The same names for the parser, which finds them in the message text in any letter case (`values` are the `headerKey`s). */
export const HEADER_SPELLINGS = new Spellings(KNOWN_SPELLINGS, true);

/** The lower-case long form of a header name: `v`/`V`/`VIA` give `via` (RFC 3261 §7.3.1, §7.3.3). */
export function headerKey(name: string): string {
  const known = KNOWN_SPELLINGS.get(name);
  if (known !== undefined) return known;
  const lower = name.toLowerCase();
  if (lower.length === 1) return COMPACT_FORMS[lower] ?? lower;
  return lower;
}

/** The methods of RFC 3261 and its extensions, so a parsed method is the literal, not a copy. */
export const METHOD_SPELLINGS = new Spellings(
  ['INVITE', 'ACK', 'BYE', 'CANCEL', 'REGISTER', 'OPTIONS', 'MESSAGE', 'SUBSCRIBE', 'NOTIFY', 'REFER', 'INFO', 'UPDATE', 'PRACK', 'PUBLISH'].map((method) => [method, method] as const),
  false, // methods are case-sensitive (RFC 3261 §7.1)
);
