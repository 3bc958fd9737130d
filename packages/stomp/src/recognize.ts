/**
 * Version negotiation from `accept-version`, and first-message recognition for clients that
 * offer no WebSocket subprotocol (`Stomp.over(() => new WebSocket(url))`, `wscat`, older
 * embedded clients; RFC 6455 lets them leave `Sec-WebSocket-Protocol` out).
 *
 * @see https://stomp.github.io/stomp-specification-1.2.html#Protocol_Negotiation
 */
import { Buffer } from 'node:buffer';
import { STOMP_PROTOCOLS, StompVersion, VERSION_OF_SUBPROTOCOL, type StompSubprotocol } from './constants.js';

/**
 * How much of a first message recognition reads: a CONNECT head with a long `passcode` (a JWT,
 * say) before `accept-version`, which `@stomp/stompjs` puts after the user's connect headers.
 */
const HEAD_LIMIT = 16 * 1024;

/**
 * The versions an `accept-version` header lists. STOMP 1.2 "Protocol Negotiation": "If the
 * accept-version header is missing, it means that the client only supports version 1.0 of the
 * protocol."
 */
export function acceptedVersions(header: string | undefined): string[] {
  return header === undefined ? [StompVersion.V1_0] : header.split(',').map((version) => version.trim());
}

/**
 * Recognises a STOMP client from its first WebSocket message: after optional heart-beat EOLs, a
 * `CONNECT` or `STOMP` command line (STOMP 1.2 "Connecting"). Reads only the frame's head.
 *
 * @returns the subprotocol id of the best version both the client's `accept-version` and this
 *   adapter speak; `v10.stomp` without `accept-version`; the best id when the header names no
 *   version served here, so that the session answers with the specification's ERROR listing the
 *   supported versions; undefined when the message is not a STOMP CONNECT. Never throws.
 */
export function recognizeStomp(data: Uint8Array | string): StompSubprotocol | undefined {
  let text: string;
  if (typeof data === 'string') {
    const from = skipEols(data.length, (i) => data.charCodeAt(i));
    text = from === 0 && data.length <= HEAD_LIMIT ? data : data.slice(from, from + HEAD_LIMIT);
  } else if (data instanceof Uint8Array) {
    const from = skipEols(data.length, (i) => data[i]);
    // Decode only what can be the head, and only when it can be a CONNECT (`C`) or STOMP (`S`)
    // frame: any other protocol's first message costs a byte comparison here.
    if (data[from] !== 0x43 && data[from] !== 0x53) return undefined;
    text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8', from, Math.min(data.length, from + HEAD_LIMIT));
  } else return undefined;

  // STOMP 1.2 "Connecting": the command line is CONNECT, or STOMP from 1.1 on.
  const length = text.startsWith('CONNECT') ? 7 : text.startsWith('STOMP') ? 5 : 0;
  if (length === 0) return undefined;
  let eol = length;
  if (text.charCodeAt(eol) === 0x0d) eol++;
  if (text.charCodeAt(eol) !== 0x0a) return undefined;

  // Header lines up to the blank line. CONNECT headers are never escaped (STOMP 1.2 "Value
  // Encoding"), and of a repeated header "only the first header entry SHOULD be used".
  for (;;) {
    const start = eol + 1;
    // A NUL where a header line would start ends a frame without its blank line (the parser
    // accepts that too, after the STOMP 1.2 "DISCONNECT" example).
    if (text.charCodeAt(start) === 0) return bestOf(acceptedVersions(undefined));
    eol = text.indexOf('\n', start);
    // The head goes on past what was read (or past this message): `accept-version` may still
    // follow, so a current client is a better guess than 1.0.
    if (eol === -1) return STOMP_PROTOCOLS[0];
    const header = line(text, start, eol);
    if (header === '') return bestOf(acceptedVersions(undefined));
    if (header.startsWith('accept-version:')) return bestOf(acceptedVersions(header.slice('accept-version:'.length)));
  }
}

/** The best id of ours whose version the client accepts, else our best one. */
function bestOf(accepted: readonly string[]): StompSubprotocol {
  for (const id of STOMP_PROTOCOLS) if (accepted.includes(VERSION_OF_SUBPROTOCOL[id])) return id;
  return STOMP_PROTOCOLS[0];
}

/**
 * Where the first frame starts: after the EOLs that may come before it. STOMP 1.2 "Augmented
 * BNF": frame-stream = 1*frame, frames followed by *( EOL ), EOL = [CR] LF (heart-beats).
 */
function skipEols(length: number, at: (index: number) => number | undefined): number {
  let pos = 0;
  while (pos < length && pos < HEAD_LIMIT) {
    if (at(pos) === 0x0a) pos++;
    else if (at(pos) === 0x0d && at(pos + 1) === 0x0a) pos += 2;
    else break;
  }
  return pos;
}

/** `text[start, eol)` without a CR before the LF (STOMP 1.2: EOL = [CR] LF). */
function line(text: string, start: number, eol: number): string {
  return text.slice(start, eol > start && text.charCodeAt(eol - 1) === 0x0d ? eol - 1 : eol);
}
