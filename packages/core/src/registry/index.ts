// Look-ups over the generated IANA tables, plus the RFC 6455 rules for what may be sent in a
// Close frame. Every index is built once, when the module loads.

import type {
  CloseCodeInfo,
  CloseCodeRange,
  ExtensionRecord,
  SubprotocolRecord,
  VersionNumberRecord,
} from './types.js';
import {
  CLOSE_CODE_RANGES,
  CloseCode,
  EXTENSIONS,
  SUBPROTOCOLS,
  VERSION_NUMBERS,
  type ExtensionId,
  type SubprotocolId,
} from './websocket.generated.js';

// ---------------------------------------------------------------------------------------------
// Subprotocols and extensions

// RFC 7936 §2: the registered tokens "are matched using case-sensitive string match", so the
// primary index is keyed by the exact id.
const subprotocolsById: ReadonlyMap<string, SubprotocolRecord<SubprotocolId>> = new Map(
  SUBPROTOCOLS.map((record) => [record.id, record]),
);

// The registry's note on RFC 7936 §2: "registrations which differ from existing registrations
// only by case will be refused", so an ASCII-folded id names at most one record (the generator
// checks it).
const subprotocolsByFoldedId: ReadonlyMap<string, SubprotocolRecord<SubprotocolId>> = new Map(
  SUBPROTOCOLS.map((record) => [asciiLowerCase(record.id), record]),
);

const extensionsById: ReadonlyMap<string, ExtensionRecord<ExtensionId>> = new Map(
  EXTENSIONS.map((record) => [record.id, record]),
);

const versionNumbers: ReadonlyMap<number, VersionNumberRecord> = new Map(
  VERSION_NUMBERS.map((record) => [record.value, record]),
);

/**
 * Folds A-Z only. `String#toLowerCase` would also fold non-ASCII letters (the Kelvin sign U+212A
 * becomes "k"), making a non-token look like a registered id.
 */
function asciiLowerCase(s: string): string {
  return s.replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
}

/**
 * The registry record for a subprotocol id, matched exactly and case-sensitively
 * (RFC 7936 §2), or `undefined` if IANA does not list it. `subprotocol('MQTT')` is `undefined`.
 */
export function subprotocol(id: string): SubprotocolRecord<SubprotocolId> | undefined {
  return subprotocolsById.get(id);
}

/** Whether IANA lists `id` exactly (case-sensitive, RFC 7936 §2). */
export function isRegisteredSubprotocol(id: string): id is SubprotocolId {
  return subprotocolsById.has(id);
}

/**
 * The registered subprotocol that `id` imitates by case alone, e.g. `'MQTT'` -> the `mqtt`
 * record; `undefined` when `id` is itself registered or matches nothing. The adapter registry
 * uses it to refuse look-alikes, the same way IANA refuses them (RFC 7936 §2).
 */
export function subprotocolCaseConflict(id: string): SubprotocolRecord<SubprotocolId> | undefined {
  const record = subprotocolsByFoldedId.get(asciiLowerCase(id));
  return record === undefined || record.id === id ? undefined : record;
}

/** The WebSocket Extension Name Registry record for `name` (exact match), if any. */
export function extension(name: string): ExtensionRecord<ExtensionId> | undefined {
  return extensionsById.get(name);
}

/** The WebSocket Version Number Registry record for `n` (13 is RFC 6455), if any. */
export function versionNumber(n: number): VersionNumberRecord | undefined {
  return versionNumbers.get(n);
}

// ---------------------------------------------------------------------------------------------
// Close codes

// RFC 6455 §7.4.2: "Status codes in the range 0-999 are not used." The registry has no row for
// them, so closeCode() reports this one.
const NOT_USED: CloseCodeRange = {
  from: 0,
  to: 999,
  description: 'Not used',
  references: [{ type: 'rfc', data: 'rfc6455', title: 'Section 7.4.2' }],
};

// RFC 6455 §7.4.2: "Status codes in the range 4000-4999 are reserved for private use and thus
// can't be registered. Such codes can be used by prior agreements between WebSocket
// applications."
const PRIVATE_USE_FROM = 4000;
const LAST_CODE = 4999;

// RFC 6455 §7.4.2: "Status codes in the range 3000-3999 are reserved for use by libraries,
// frameworks, and applications. These status codes are registered directly with IANA. The
// interpretation of these codes is undefined by this protocol."
const APPLICATION_FROM = 3000;

// RFC 6455 §7.4.1 defines these codes but keeps them off the wire:
//   1004 "Reserved.  The specific meaning might be defined in the future."
//   1005, 1006, 1015 "is a reserved value and MUST NOT be set as a status code in a Close
//   control frame by an endpoint."
// ws and undici refuse all four, and so do we.
const RESERVED_CODES: ReadonlySet<number> = new Set<number>([
  CloseCode.Reserved,
  CloseCode.NoStatusReceived,
  CloseCode.AbnormalClosure,
  CloseCode.TLSHandshake,
]);

// RFC 6455 §7.4.2: "Status codes in the range 1000-2999 are reserved for definition by this
// protocol, its future revisions, and extensions specified in a permanent and readily available
// public specification." Below 3000 a code has a meaning only once IANA registers it, so only
// registered codes (minus the reserved four) may be sent: today 1000-1003 and 1007-1014. Derived
// from the registry so a future registration becomes sendable by regenerating.
const SENDABLE_PROTOCOL_CODES: ReadonlySet<number> = new Set(
  CLOSE_CODE_RANGES.filter(
    (row) => row.from === row.to && row.to < APPLICATION_FROM && !RESERVED_CODES.has(row.from),
  ).map((row) => row.from),
);

/** The registry row holding `code` (1000-4999); the rows are sorted and gap-free. */
function rowOf(code: number): CloseCodeRange | undefined {
  let low = 0;
  let high = CLOSE_CODE_RANGES.length - 1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    const row = CLOSE_CODE_RANGES[middle]!;
    if (code < row.from) high = middle - 1;
    else if (code > row.to) low = middle + 1;
    else return row;
  }
  return undefined;
}

/**
 * Whether an endpoint may put `code` in a Close frame: 1000-1003 and 1007-1014 (the registered
 * protocol codes), and every integer in 3000-4999, registered or not, as ws and undici accept.
 * Never 0-999, 1004, 1005, 1006, 1015, unassigned 1016-2999, anything above 4999 or a
 * non-integer. See the RFC 6455 §7.4 quotes above each rule.
 */
export function isSendableCloseCode(code: number): boolean {
  if (!Number.isInteger(code)) return false;
  // §7.4.2: 3000-3999 and 4000-4999 are the applications' ranges; the protocol gives them no
  // meaning to check, so a code need not be registered to be sent.
  if (code >= APPLICATION_FROM && code <= LAST_CODE) return true;
  return SENDABLE_PROTOCOL_CODES.has(code);
}

/**
 * What the registry and RFC 6455 §7.4 say about a status code, or `undefined` for a code outside
 * 0-4999 or a non-integer (no Close frame can carry those as a defined status code).
 */
export function closeCode(code: number): CloseCodeInfo | undefined {
  if (!Number.isInteger(code) || code < 0 || code > LAST_CODE) return undefined;
  const range = code <= NOT_USED.to ? NOT_USED : rowOf(code);
  if (range === undefined) return undefined;
  return {
    code,
    description: range.description,
    range,
    sendable: isSendableCloseCode(code),
    reserved: RESERVED_CODES.has(code),
    assigned: range !== NOT_USED && range.from === range.to,
    privateUse: code >= PRIVATE_USE_FROM,
  };
}

/**
 * RFC 6455 §5.5: "All control frames MUST have a payload length of 125 bytes or less". §5.5.1:
 * a Close body starts with the 2-byte status code, and "Following the 2-byte integer, the body
 * MAY contain UTF-8-encoded data with value /reason/". 125 - 2 = 123 bytes of reason.
 */
export const CLOSE_REASON_MAX_BYTES = 123;

/**
 * Cuts `text` to at most {@link CLOSE_REASON_MAX_BYTES} bytes of UTF-8, at a code point
 * boundary, so any error message can be used as a close reason (RFC 6455 §5.5: "All control
 * frames MUST have a payload length of 125 bytes or less", two of which are the code).
 */
export function limitCloseReason(text: string): string {
  if (text.length <= CLOSE_REASON_MAX_BYTES / 3 || closeReasonByteLength(text) <= CLOSE_REASON_MAX_BYTES) return text;
  let bytes = 0;
  let end = 0;
  while (end < text.length) {
    const unit = text.charCodeAt(end);
    const pair = unit >= 0xd800 && unit <= 0xdbff && end + 1 < text.length && (text.charCodeAt(end + 1) & 0xfc00) === 0xdc00;
    const size = unit < 0x80 ? 1 : unit < 0x800 ? 2 : pair ? 4 : 3;
    if (bytes + size > CLOSE_REASON_MAX_BYTES) break;
    bytes += size;
    end += pair ? 2 : 1;
  }
  return text.slice(0, end);
}

/**
 * Length of `reason` in UTF-8 bytes, which is what the 123-byte limit counts (`'€'.length` is 1,
 * its encoding is 3 bytes). Equals `new TextEncoder().encode(reason).length`, including a lone
 * surrogate counting as the 3 bytes of U+FFFD, without allocating.
 */
export function closeReasonByteLength(reason: string): number {
  let bytes = 0;
  for (let i = 0; i < reason.length; i++) {
    const unit = reason.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < reason.length) {
      const next = reason.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        // A surrogate pair is one code point above U+FFFF: 4 bytes.
        bytes += 4;
        i++;
      } else {
        bytes += 3;
      }
    } else bytes += 3;
  }
  return bytes;
}

/**
 * Throws a `RangeError` unless `(code, reason)` can go into a Close frame as given: the code
 * must be sendable ({@link isSendableCloseCode}), a reason needs a code, and the reason must fit
 * in {@link CLOSE_REASON_MAX_BYTES} bytes of UTF-8. No code and no reason (an empty Close body)
 * is valid; an empty reason counts as none.
 */
export function validateClose(code: number | undefined, reason: string | undefined): void {
  if (code === undefined) {
    // RFC 6455 §5.5.1: "If there is a body, the first two bytes of the body MUST be a 2-byte
    // unsigned integer (in network byte order) representing a status code"; the reason can
    // only follow it.
    if (reason !== undefined && reason !== '') {
      throw new RangeError('A close reason needs a close code (RFC 6455 §5.5.1)');
    }
    return;
  }
  if (!isSendableCloseCode(code)) throw new RangeError(whyNotSendable(code));
  if (reason !== undefined) {
    const bytes = closeReasonByteLength(reason);
    if (bytes > CLOSE_REASON_MAX_BYTES) {
      throw new RangeError(
        `Close reason is ${bytes} bytes of UTF-8; the limit is ${CLOSE_REASON_MAX_BYTES} (RFC 6455 §5.5)`,
      );
    }
  }
}

function whyNotSendable(code: number): string {
  const info = closeCode(code);
  if (info === undefined) {
    return `Close code ${String(code)} is not a status code; send 1000-1003, 1007-1014 or an integer in 3000-4999 (RFC 6455 §7.4)`;
  }
  if (info.reserved) {
    return `Close code ${code} (${info.description}) is reserved and must not be sent in a Close frame (RFC 6455 §7.4.1)`;
  }
  if (info.range === NOT_USED) {
    return `Close code ${code} is in 0-999, which is not used (RFC 6455 §7.4.2)`;
  }
  return `Close code ${code} is unassigned: 1000-2999 holds only codes registered with IANA; use 3000-4999 for application codes (RFC 6455 §7.4.2)`;
}

// ---------------------------------------------------------------------------------------------
// Re-exports

export { isToken } from './token.js';

export {
  CLOSE_CODE_RANGES,
  CLOSE_CODE_REGISTRATION_RANGES,
  CloseCode,
  EXTENSIONS,
  FRAMING_HEADER_BITS,
  OPCODES,
  Opcode,
  REGISTRY_UPDATED,
  SUBPROTOCOLS,
  VERSION_NUMBERS,
} from './websocket.generated.js';
export type { ExtensionId, SubprotocolId } from './websocket.generated.js';

export type {
  CloseCodeInfo,
  CloseCodeRange,
  CloseCodeRegistrationRange,
  ExtensionRecord,
  HeaderBitRecord,
  OpcodeRecord,
  Reference,
  ReferenceType,
  SubprotocolRecord,
  VersionNumberRecord,
  VersionStatus,
} from './types.js';
