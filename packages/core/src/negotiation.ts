/**
 * Sec-WebSocket-Protocol: one strict parser and one choosing function. Nothing else in
 * Protoplex reads the header.
 */
import { isToken } from './registry/token.js';

/** Why an offer was refused; each maps to one HTTP 400 message. */
export type OfferFault = 'empty' | 'empty-element' | 'not-a-token' | 'duplicate';

export type ParsedOffer =
  | { readonly ok: true; readonly protocols: readonly string[] }
  | { readonly ok: false; readonly fault: OfferFault; readonly detail: string };

const NO_OFFER: ParsedOffer = { ok: true, protocols: [] };

/**
 * Parses the client's offer.
 *
 * RFC 6455 §4.1 (client requirements, item 10): the header "MUST ... be a list of values
 * indicating which protocols the client would like to speak" whose elements "MUST all be unique
 * strings" and "MUST be a non-empty string with characters in the range U+0021 to U+007E not
 * including separator characters as defined in [RFC2616]" (that is, a token). §4.3 gives the ABNF
 * `Sec-WebSocket-Protocol-Client = 1#token`; list syntax comes from RFC 7230 §7 (`#rule`: elements
 * separated by commas with optional whitespace, OWS = SP / HTAB). Several header lines are one
 * list joined by commas (RFC 7230 §3.2.2).
 *
 * RFC 7230 §7 lets a recipient skip empty elements; we refuse them, as `ws` does, because an
 * offer such as `a,,b` comes from a broken client and guessing its intent hides the bug.
 *
 * @param header the header value, the array of repeated header lines, or undefined when absent
 * @returns the offered ids in client order (empty when the header is absent), or the fault
 */
export function parseProtocolOffer(header: string | readonly string[] | undefined): ParsedOffer {
  if (header === undefined) return NO_OFFER;
  const value = typeof header === 'string' ? header : header.join(',');
  const protocols: string[] = [];
  const seen = new Set<string>();
  let start = 0;
  // Split by hand so every element keeps its exact bytes; String.split + trim would also strip
  // characters that are not OWS (e.g. NBSP or \v) and let them pass as whitespace.
  for (let i = 0; i <= value.length; i++) {
    if (i < value.length && value.charCodeAt(i) !== 0x2c /* , */) continue;
    let from = start;
    let to = i;
    while (from < to && isOws(value.charCodeAt(from))) from++;
    while (to > from && isOws(value.charCodeAt(to - 1))) to--;
    const element = value.slice(from, to);
    start = i + 1;
    if (element.length === 0) {
      if (value.length === 0 || isAllOws(value)) return { ok: false, fault: 'empty', detail: 'empty Sec-WebSocket-Protocol header' };
      return { ok: false, fault: 'empty-element', detail: 'empty element in Sec-WebSocket-Protocol list' };
    }
    if (!isToken(element)) {
      return { ok: false, fault: 'not-a-token', detail: `subprotocol ${JSON.stringify(element)} is not a token` };
    }
    // RFC 6455 §4.1: "The elements that comprise this value MUST ... all be unique strings".
    if (seen.has(element)) {
      return { ok: false, fault: 'duplicate', detail: `subprotocol ${JSON.stringify(element)} is offered twice` };
    }
    seen.add(element);
    protocols.push(element);
  }
  return { ok: true, protocols };
}

function isOws(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

function isAllOws(value: string): boolean {
  for (let i = 0; i < value.length; i++) if (!isOws(value.charCodeAt(i))) return false;
  return true;
}

/** Whose order decides when several offered ids are served. */
export type ProtocolPreference = 'server' | 'client';

/**
 * Chooses exactly one of the offered ids, or none.
 *
 * RFC 6455 §4.2.2 (server, item 5.4): the server selects "one or none of the acceptable protocols"
 * and echoes that value; RFC 7936 §2 makes ids case-sensitive ("registrations which differ ...
 * only by case will be refused"), so comparison is exact.
 *
 * @param offered the client's ids, in client order
 * @param supported the server's ids, best first
 * @param preference `'server'` (default): the first supported id that was offered;
 *   `'client'`: the first offered id that is supported
 */
export function chooseProtocol(
  offered: readonly string[],
  supported: readonly string[] | ReadonlySet<string>,
  preference: ProtocolPreference = 'server',
): string | undefined {
  if (offered.length === 0) return undefined;
  if (preference === 'client') {
    const served = supported instanceof Set ? supported : new Set(supported as readonly string[]);
    for (const id of offered) if (served.has(id)) return id;
    return undefined;
  }
  const offeredSet = offered.length > 4 ? new Set(offered) : undefined;
  for (const id of supported) {
    if (offeredSet ? offeredSet.has(id) : offered.includes(id)) return id;
  }
  return undefined;
}
