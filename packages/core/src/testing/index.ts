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
