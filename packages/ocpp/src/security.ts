/**
 * The handshake rules of the OCPP security profiles: which profile needs TLS, HTTP Basic or a
 * verified client certificate, and what each refusal answers. Pure: reads the upgrade request
 * and throws `HandshakeError`; the adapter runs the `authenticate` hook after it.
 *
 * Sources: OCPP 2.0.1 Part 2 §2 (security profiles; 2.1 keeps them) and the OCPP 1.6 Security
 * Whitepaper, which define the same three profiles for 1.6.
 */
import { HandshakeError, type TlsInfo, type UpgradeRequest } from '@protoplex/core';
import { parseBasicAuth, type BasicCredentials } from './identity.js';

/**
 * 0 none; 1 HTTP Basic with the identity as user-id; 2 Basic over TLS; 3 TLS with a client
 * certificate the server's CA verified.
 */
export type SecurityProfile = 0 | 1 | 2 | 3;

/** What the profile checks need from the adapter's options. */
export interface SecurityPolicy {
  readonly profile: SecurityProfile;
  /** Profile 3: the certificate subject CN must equal the identity. */
  readonly matchCertificateCommonName: boolean;
}

/** RFC 7617 §2: a 401 for Basic names the scheme and realm; `charset` is §2.1. */
export const BASIC_CHALLENGE: Readonly<Record<string, string>> = Object.freeze({ 'WWW-Authenticate': 'Basic realm="OCPP", charset="UTF-8"' });

/**
 * Checks `request` against the profile for a station claiming `identity` (already checked by
 * `identityProblem`).
 * @returns the Basic credentials the station sent, for the `authenticate` hook
 * @throws HandshakeError 403 for profiles 2 and 3 without TLS, 401 for missing, malformed or
 *   mismatched Basic credentials and for a missing, unverified or mismatched client certificate
 */
export function checkSecurityProfile(request: UpgradeRequest, identity: string, policy: SecurityPolicy): BasicCredentials | undefined {
  const { profile } = policy;
  const tls = request.tls;
  if ((profile === 2 || profile === 3) && !tls) {
    // OCPP 2.0.1 Part 2 §2 (security profiles): profile 2 is "TLS with Basic Authentication",
    // profile 3 "TLS with Client Side Certificates"; neither exists without TLS.
    throw new HandshakeError(403, `security profile ${profile} requires TLS`);
  }
  const credentials = parseBasicAuth(request.headers['authorization']);
  // RFC 7617 §2: a header that names Basic but is not base64(user-id ":" password) is refused
  // whatever the profile, rather than read as "no credentials".
  if (credentials === null) throw new HandshakeError(401, 'malformed Basic credentials', { headers: BASIC_CHALLENGE });
  if (profile === 1 || profile === 2) {
    // 2.0.1 Part 2 §2 and the 1.6 security whitepaper, profiles 1 and 2: the station sends
    // HTTP Basic credentials whose user-id is its identity.
    if (!credentials) throw new HandshakeError(401, 'HTTP Basic authentication required', { headers: BASIC_CHALLENGE });
  }
  if (credentials && credentials.username !== identity) {
    throw new HandshakeError(401, 'the Basic user-id must equal the charging station identity', { headers: BASIC_CHALLENGE });
  }
  if (profile === 3) checkClientCertificate(tls, identity, policy.matchCertificateCommonName);
  return credentials;
}

/** Profile 3: the CSMS verifies the Charging Station certificate against its CA (2.0.1 Part 2 §2). */
function checkClientCertificate(tls: TlsInfo | undefined, identity: string, matchCommonName: boolean): void {
  if (!tls?.authorized || !tls.peerCertificate) throw new HandshakeError(401, 'a verified client certificate is required');
  if (!matchCommonName) return;
  const cn = tls.peerCertificate.subject['CN'];
  const names = Array.isArray(cn) ? cn : cn === undefined ? [] : [cn];
  if (!names.includes(identity)) throw new HandshakeError(401, 'the client certificate CN does not match the identity');
}

/**
 * The headers of a 401 that the `authenticate` hook decided: a Basic challenge when Basic is in
 * play (the station sent credentials, or the profile asks for them), none for profiles 0 and 3
 * without credentials, where a challenge would ask for something the profile does not use.
 */
export function refusalHeaders(policy: SecurityPolicy, credentials: BasicCredentials | undefined): Readonly<Record<string, string>> {
  return credentials || policy.profile === 1 || policy.profile === 2 ? BASIC_CHALLENGE : {};
}
