/**
 * SIP message to one WebSocket message, responses built from requests (RFC 3261 §8.2.6), and the
 * header mutation helpers the registrar and proxy use on the `message.ts` model.
 */
import { SIP_VERSION, headerKey, reasonPhrase } from './constants.js';
import { tagOf } from './headers.js';
import type { SipBody, SipHeader, SipMessage, SipRequest, SipResponse } from './message.js';
import { ParsedHeader, utf8Length } from './parser.js';

const encoder = new TextEncoder();

// A CR or LF inside a value would start a new header line (or the body) on the wire: values
// from the model never hold one, values built by callers might.
const safe = (text: string): string => (text.indexOf('\r') === -1 && text.indexOf('\n') === -1 ? text : text.replace(/[\r\n]+/g, ' '));

/**
 * The wire form: start line, headers in order as `name: value`, one `Content-Length` counting the
 * body in bytes (written where the first Content-Length / `l` line was, else last; the others
 * are dropped), the empty line, the body. A string when the body is a string, bytes otherwise.
 */
export function serializeMessage(message: SipMessage): string | Uint8Array {
  const body = message.body;
  const text = typeof body === 'string';
  const length = text ? utf8Length(body) : body.length;
  let out = message.kind === 'request' ? `${safe(message.method)} ${safe(message.uri)} ${SIP_VERSION}\r\n` : `${SIP_VERSION} ${message.status} ${safe(message.reason)}\r\n`;
  let counted = false;
  // Lines the parser read as exactly `name: value` CRLF are copied from the text they came
  // from, a run of consecutive ones as one piece: the same bytes as writing them again, fewer
  // and larger pieces to join, and no CR or LF to look for (the parser saw none in them).
  let source: string | undefined;
  let runStart = 0;
  let runEnd = 0;
  for (const header of message.headers) {
    if (header.key === 'content-length') {
      if (!counted) {
        if (source !== undefined) out += source.slice(runStart, runEnd);
        source = undefined;
        out += `Content-Length: ${length}\r\n`;
      }
      counted = true;
      continue;
    }
    const from = ParsedHeader.sourceOf(header);
    if (from !== undefined) {
      const start = ParsedHeader.startOf(header);
      if (from === source && start === runEnd) runEnd = ParsedHeader.endOf(header);
      else {
        if (source !== undefined) out += source.slice(runStart, runEnd);
        source = from;
        runStart = start;
        runEnd = ParsedHeader.endOf(header);
      }
      continue;
    }
    if (source !== undefined) out += source.slice(runStart, runEnd);
    source = undefined;
    out += `${header.name}: ${safe(header.value)}\r\n`;
  }
  if (source !== undefined) out += source.slice(runStart, runEnd);
  if (!counted) out += `Content-Length: ${length}\r\n`;
  out += '\r\n';
  if (text) return out + body;
  const head = encoder.encode(out);
  const bytes = new Uint8Array(head.length + body.length);
  bytes.set(head, 0);
  bytes.set(body, head.length);
  return bytes;
}

export interface ResponseOptions {
  /** @default the registered phrase for `status` */
  reason?: string;
  /** Added as `;tag=` to To when To has no tag (never on 100, RFC 3261 §8.2.6.2). */
  toTag?: string;
  /** Extra header lines, appended in order. */
  headers?: readonly (readonly [name: string, value: string])[];
  body?: SipBody;
  /** Content-Type of `body`, written when the body is not empty. */
  contentType?: string;
}

/**
 * A response to `request` per RFC 3261 §8.2.6.2: every Via in order, From, To (with `toTag` when
 * To has none), Call-ID and CSeq copied; §8.2.6.1: a 100 Trying copies Timestamp. Header lines
 * are copied as written, so compact names stay compact.
 */
export function createResponse(request: SipRequest, status: number, options: ResponseOptions = {}): SipResponse {
  const headers: SipHeader[] = [];
  let from: SipHeader | undefined;
  let to: SipHeader | undefined;
  let callId: SipHeader | undefined;
  let cseq: SipHeader | undefined;
  let timestamp: SipHeader | undefined;
  for (const header of request.headers) {
    switch (header.key) {
      case 'via':
        headers.push(header);
        break;
      case 'from':
        from ??= header;
        break;
      case 'to':
        to ??= header;
        break;
      case 'call-id':
        callId ??= header;
        break;
      case 'cseq':
        cseq ??= header;
        break;
      case 'timestamp':
        timestamp ??= header;
        break;
    }
  }
  if (from !== undefined) headers.push(from);
  if (to !== undefined) {
    if (options.toTag !== undefined && status !== 100 && tagOf(to.value) === undefined) headers.push({ key: 'to', name: to.name, value: `${to.value};tag=${options.toTag}` });
    else headers.push(to);
  }
  if (callId !== undefined) headers.push(callId);
  if (cseq !== undefined) headers.push(cseq);
  if (status === 100 && timestamp !== undefined) headers.push(timestamp);
  for (const [name, value] of options.headers ?? []) headers.push({ key: headerKey(name), name, value });
  const body = options.body ?? '';
  if (body.length > 0 && options.contentType !== undefined) headers.push({ key: 'content-type', name: 'Content-Type', value: options.contentType });
  return { kind: 'response', status, reason: options.reason ?? reasonPhrase(status), version: SIP_VERSION, headers, body };
}

/** Adds a header line, last or (`atTop`, for Via and Record-Route) first. */
export function addHeader(message: SipMessage, name: string, value: string, atTop = false): void {
  const header: SipHeader = { key: headerKey(name), name, value };
  if (atTop) message.headers.unshift(header);
  else message.headers.push(header);
}

/** Removes every line of a header (`key` or any spelling of its name); returns how many went. */
export function removeHeader(message: SipMessage, key: string): number {
  const wanted = headerKey(key);
  const before = message.headers.length;
  message.headers = message.headers.filter((header) => header.key !== wanted);
  return before - message.headers.length;
}

/** Replaces the first line of the header (in place, dropping any further lines of it), or appends it. */
export function setHeader(message: SipMessage, name: string, value: string): void {
  const replacement: SipHeader = { key: headerKey(name), name, value };
  const out: SipHeader[] = [];
  let placed = false;
  for (const header of message.headers) {
    if (header.key !== replacement.key) out.push(header);
    else if (!placed) {
      out.push(replacement);
      placed = true;
    }
  }
  if (!placed) out.push(replacement);
  message.headers = out;
}
