/**
 * The SIP message model shared by the parser, the serializer, the registrar and the proxy.
 *
 * Headers stay as the peer wrote them (one entry per header field line, values unfolded and
 * trimmed), keyed by the lower-case long form of the name, so a proxy can forward what it does
 * not understand untouched and pay for parsing only the headers it reads.
 */

/** One header field line. `key` is the lower-case long name (`v` and `Via` both give `via`). */
export interface SipHeader {
  /** Lower-case long form: compact forms are expanded (`f` -> `from`, `i` -> `call-id`). */
  readonly key: string;
  /** The name as written on the wire (kept for forwarding). */
  readonly name: string;
  /** The value with folding (LWS across CRLF) replaced by one space and outer whitespace trimmed. */
  readonly value: string;
}

/** What a SIP message carries after its header section. */
export type SipBody = string | Uint8Array;

interface SipMessageBase {
  /** Always `SIP/2.0` once parsed (other versions are refused with 505). */
  readonly version: string;
  /** Header field lines in wire order. Mutate through the helpers below only. */
  headers: SipHeader[];
  /** Empty string when there is none. A `Uint8Array` only when the message came as binary and was not UTF-8. */
  body: SipBody;
}

export interface SipRequest extends SipMessageBase {
  readonly kind: 'request';
  /** Upper-case as sent (methods are case-sensitive: RFC 3261 §7.1). */
  readonly method: string;
  /** The Request-URI as written. */
  uri: string;
}

export interface SipResponse extends SipMessageBase {
  readonly kind: 'response';
  readonly status: number;
  readonly reason: string;
}

export type SipMessage = SipRequest | SipResponse;

/** First value of header `key` (lower-case long form), or undefined. */
export function getHeader(message: SipMessage, key: string): string | undefined {
  for (const header of message.headers) if (header.key === key) return header.value;
  return undefined;
}

/** Every line of header `key`, in order (values not split at commas: see `splitHeaderValues`). */
export function getHeaders(message: SipMessage, key: string): string[] {
  const out: string[] = [];
  for (const header of message.headers) if (header.key === key) out.push(header.value);
  return out;
}
