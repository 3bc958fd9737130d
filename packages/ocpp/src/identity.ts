/**
 * The charging station identity from the connection URL, and HTTP Basic credentials. Pure.
 */
import { MAX_IDENTITY_LENGTH, OcppVersion } from './constants.js';

/**
 * Why `identity` cannot name a charging station of `version`, or undefined when it can.
 *
 * - OCPP 2.0.1 Part 4 §3.1.1: the identity is an identifierString, "can only contain characters
 *   from the following character set: a-z, A-Z, 0-9, '*', '-', '_', '=', ':', '+', '|', '@', '.'";
 *   the 2.0 Part 4 errata §3.1 drops ':' because "the unique identifier is also used for the
 *   basic authentication username" (RFC 7617 §2: "a user-id containing a colon character is
 *   invalid").
 * - OCPP-J 1.6 §3.1.1 names no character set; we ask for printable ASCII without ':' for the same
 *   Basic-auth reason.
 * - 2.0.1 Part 2 (security) and the 1.6 security whitepaper: at most 48 characters.
 *
 * Second-pass review (2026-11-25): the 48-character maximum and the percent-encoding of the
 * identity in the connection URL are confirmed for 2.0.1 Part 4 §3.1.1 from a summary of the
 * text. The character set above is the identifierString data type; that Part 4 §3.1.1 restricts
 * the identity to exactly that set (rather than, say, RFC 3986 `unreserved`), and the errata
 * wording on ':' were NOT re-confirmed from the spec text: treat them as an assumption (another
 * implementation, ocpp-ws-io, reads §3.1.1 the same way: identifierString without ':', at most
 * 48, ':' a SHALL NOT in 2.1 and the 2.0.1 errata of 2023-12). The 1.6
 * rule (printable ASCII without ':') is our own choice, not a spec rule. identifierString is
 * case-insensitive, but identities are compared case-sensitively here (`CP1` and `cp1` are two
 * stations).
 */
export function identityProblem(identity: string, version: OcppVersion): string | undefined {
  if (identity.length === 0) return 'the charging station identity is empty';
  if (identity.length > MAX_IDENTITY_LENGTH) return `the charging station identity is longer than ${MAX_IDENTITY_LENGTH} characters`;
  const pattern = version === OcppVersion.V16 ? PRINTABLE_NO_COLON : IDENTIFIER_STRING_NO_COLON;
  if (!pattern.test(identity)) {
    return version === OcppVersion.V16
      ? 'the charging station identity must be printable ASCII without ":"'
      : 'the charging station identity must use only a-z A-Z 0-9 * - _ = + | @ .';
  }
  return undefined;
}

const PRINTABLE_NO_COLON = /^[\x21-\x39\x3b-\x7e]+$/;
const IDENTIFIER_STRING_NO_COLON = /^[A-Za-z0-9*\-_=+|@.]+$/;

export interface BasicCredentials {
  readonly username: string;
  readonly password: string;
}

/**
 * Reads `Authorization: Basic base64(user-id ":" password)` (RFC 7617 §2).
 * @returns undefined without a Basic header, null for a malformed one
 */
export function parseBasicAuth(header: string | readonly string[] | undefined): BasicCredentials | null | undefined {
  if (header === undefined) return undefined;
  if (typeof header !== 'string') return null;
  const match = /^Basic[ ]+([A-Za-z0-9+/]+={0,2})[ ]*$/i.exec(header);
  if (!match) return /^Basic\b/i.test(header) ? null : undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
