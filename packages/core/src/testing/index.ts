/**
 * `@protoplex/core/testing`: test an adapter without sockets. Never imported by production code.
 */

// Harness
export { createTestHarness, createTestRequest } from './harness.js';
export type { TestHarness, TestPeer, SentMessage, CloseRecord, ConnectOptions, HarnessOptions } from './harness.js';

// Clock
export { createFakeClock } from './fake-clock.js';
export type { FakeClock } from './fake-clock.js';

// Conformance
export { runConformance } from './conformance.js';
export type { ConformanceOptions } from './conformance.js';

// Codec properties
export { runCodecProperties } from './codec.js';
export type { CodecProperties } from './codec.js';

// TLS certificates
/**
 * Throwaway CAs and certificates for TLS tests, made in a temporary directory. Shells out to the
 * `openssl` CLI, so it runs on Node only and only where openssl is installed: guard the suite
 * with `describe.skipIf(!hasOpenssl())`. For tests, never for production certificates.
 */
export { createTestCertificates, hasOpenssl } from './certificates.js';
export type { TestCertificates, TestCertificateAuthority, TestCertificatesOptions, TestKeyPair } from './certificates.js';
