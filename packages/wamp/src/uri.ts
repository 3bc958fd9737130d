/**
 * URIs (Basic Profile "URIs"): dot-separated components. The loose rule is a MUST, the strict
 * rule a SHOULD; empty components are wildcards and are allowed only where a pattern is expected.
 */
import { MatchPolicy } from './constants.js';

/** "loose" follows the MUST; "strict" adds the SHOULD (lower-case letters, digits, `_`). */
export type UriCheck = 'loose' | 'strict';

// The spec's regexes, "URIs" section; the prefix forms (only the last component may be empty)
// are what the reference router uses for `match: "prefix"`.
const LOOSE = /^([^\s.#]+\.)*([^\s.#]+)$/;
const LOOSE_EMPTY = /^(([^\s.#]+\.)|\.)*([^\s.#]+)?$/;
const LOOSE_PREFIX = /^([^\s.#]+\.)*([^\s.#]*)$/;
const STRICT = /^([0-9a-z_]+\.)*([0-9a-z_]+)$/;
const STRICT_EMPTY = /^(([0-9a-z_]+\.)|\.)*([0-9a-z_]+)?$/;
const STRICT_PREFIX = /^([0-9a-z_]+\.)*([0-9a-z_]*)$/;

/** Whether `uri` is valid for the given match policy (exact URIs have no empty component). */
export function isValidUri(uri: string, check: UriCheck, match: MatchPolicy = MatchPolicy.Exact): boolean {
  if (uri.length === 0) return match === MatchPolicy.Prefix;
  if (match === MatchPolicy.Wildcard) return (check === 'strict' ? STRICT_EMPTY : LOOSE_EMPTY).test(uri);
  if (match === MatchPolicy.Prefix) return (check === 'strict' ? STRICT_PREFIX : LOOSE_PREFIX).test(uri);
  return (check === 'strict' ? STRICT : LOOSE).test(uri);
}

/**
 * "Prefix Matching" is on the string, not on components: a prefix subscription to
 * `com.myapp.topic.emergency` also matches `com.myapp.topic.emergency-low`.
 */
export function prefixMatches(prefix: string, uri: string): boolean {
  return uri.startsWith(prefix);
}

/**
 * "Wildcard Matching": an empty component matches exactly one component, and the numbers of
 * components must be equal (`com.myapp..userevent` matches `com.myapp.foo.userevent`).
 */
export function wildcardMatches(pattern: readonly string[], uri: string): boolean {
  const parts = uri.split('.');
  if (parts.length !== pattern.length) return false;
  for (let i = 0; i < parts.length; i++) {
    const component = pattern[i]!;
    if (component !== '' && component !== parts[i]) return false;
  }
  return true;
}

/** The match policy named in SUBSCRIBE/REGISTER options, or undefined when it is not one. */
export function matchPolicyOf(options: Record<string, unknown>): MatchPolicy | undefined {
  const match = options.match;
  if (match === undefined || match === null) return MatchPolicy.Exact;
  return match === MatchPolicy.Exact || match === MatchPolicy.Prefix || match === MatchPolicy.Wildcard ? match : undefined;
}
