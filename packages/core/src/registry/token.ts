// RFC 7230 §3.2.6 (carried over unchanged into RFC 9110 §5.6.2):
//
//   token = 1*tchar
//   tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*"
//         / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~"
//         / DIGIT / ALPHA
//         ; any VCHAR, except delimiters
//
// RFC 6455 §4.1 requires the same of every subprotocol a client offers: "The elements that
// comprise this value MUST be non-empty strings with characters in the range U+0021 to U+007E
// not including separator characters as defined in [RFC2616]". ALPHA and DIGIT are ASCII only
// (RFC 5234 Appendix B.1), so no Unicode letter or digit class belongs here.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Whether `s` is an HTTP token: non-empty and made only of RFC 7230 `tchar`s. Subprotocol ids
 * (RFC 6455 §4.1, §11.3.4) and extension names (§9.1) must be tokens.
 */
export function isToken(s: string): boolean {
  return TOKEN.test(s);
}
