/**
 * The suite every adapter runs: `runConformance(() => myAdapter())` inside a vitest file.
 * It checks what the contract promises, whatever the protocol: ids are tokens, only sendable
 * close codes go out, garbage never throws out of `onMessage`, and a closed session leaves no bus
 * subscription and no timer behind.
 */
import { describe, expect, it } from 'vitest';
import type { ProtocolAdapter, UpgradeRequest } from '../contract.js';
import { createAdapterRegistry } from '../adapter-registry.js';
import { isToken } from '../registry/token.js';
import { createMemoryBus } from '../bus/memory.js';
import { createTestHarness, type TestHarness, type TestPeer } from './harness.js';

export interface ConformanceOptions {
  /** Ids to exercise; default every id in `protocols` and `aliases`. */
  protocols?: readonly string[];
  /** The upgrade request sessions see (path parameters for OCPP, Authorization headers...). */
  request?: Partial<UpgradeRequest>;
  /** `Connection.auth` for every session. */
  auth?: unknown;
  /**
   * Brings a fresh session into a busy state (connected, subscribed, heart-beating) so the
   * release checks mean something. Runs with the harness's fake clock.
   */
  prepare?: (peer: TestPeer, harness: TestHarness) => void | Promise<void>;
  /**
   * Valid messages of the protocol, used as seeds: the fuzzer truncates, splices and flips bits
   * in them, which reaches deeper into a parser than uniform noise.
   */
  samples?: ReadonlyArray<Uint8Array | string>;
  /** Random messages per protocol id. @default 300 */
  runs?: number;
  /** Seed of the random generator, so a failure reproduces. @default 0x5eed */
  seed?: number;
}

/** Registers the conformance tests for one adapter under `describe('conformance: <name>')`. */
export function runConformance(createAdapter: () => ProtocolAdapter, options: ConformanceOptions = {}): void {
  const probe = createAdapter();
  const ids = options.protocols ?? [...probe.protocols, ...(probe.aliases ?? [])];
  const runs = options.runs ?? 300;

  const connect = async (harness: TestHarness, adapter: ProtocolAdapter, protocol: string): Promise<TestPeer> => {
    const peer = await harness.connect(adapter, { protocol, request: options.request, auth: options.auth });
    if (options.prepare && !peer.closed) await options.prepare(peer, harness);
    return peer;
  };

  const expectClean = (peer: TestPeer): void => {
    expect(peer.closeViolations, 'close codes and reasons used').toEqual([]);
    expect(peer.leaked, 'bus subscriptions and timers left after onClose').toEqual({ subscriptions: 0, timers: 0 });
  };

  describe(`conformance: ${probe.name}`, () => {
    it('serves only RFC 7230 tokens, each once, with no two ids differing only by case', () => {
      expect(typeof probe.name).toBe('string');
      expect(probe.name.length).toBeGreaterThan(0);
      expect(probe.protocols.length).toBeGreaterThan(0);
      for (const id of [...probe.protocols, ...(probe.aliases ?? [])]) expect(isToken(id), id).toBe(true);
      expect(() => createAdapterRegistry([probe])).not.toThrow();
    });

    if (probe.recognize) {
      it('recognize() never throws, claims only its own ids, and claims its own samples or nothing', () => {
        const own = new Set([...probe.protocols, ...(probe.aliases ?? [])]);
        const random = createRandom((options.seed ?? 0x5eed) ^ 0x7ec0);
        for (let i = 0; i < runs; i++) {
          const { data, isBinary } = randomMessage(random, options.samples ?? []);
          let id: string | undefined;
          expect(() => (id = probe.recognize!(data, isBinary)), describeMessage(data)).not.toThrow();
          if (id !== undefined) expect(own.has(id), `recognize() returned ${id}`).toBe(true);
        }
      });
    }

    for (const protocol of ids) {
      describe(protocol, () => {
        it('opens a session without throwing and with nothing sent but protocol frames', async () => {
          const harness = createTestHarness();
          const peer = await connect(harness, createAdapter(), protocol);
          expect(peer.closeViolations).toEqual([]);
        });

        it(`never throws out of onMessage on ${runs} random or mutated messages, and closes only with sendable codes`, async () => {
          const harness = createTestHarness();
          const adapter = createAdapter();
          const random = createRandom(options.seed ?? 0x5eed);
          let peer = await connect(harness, adapter, protocol);
          for (let i = 0; i < runs; i++) {
            if (peer.closed) {
              expectClean(peer);
              peer = await connect(harness, adapter, protocol);
            }
            const { data, isBinary } = randomMessage(random, options.samples ?? []);
            expect(() => peer.send(data, isBinary), `message ${i}: ${describeMessage(data)}`).not.toThrow();
            if (random.next() < 0.1) harness.clock.advance(Math.floor(random.next() * 120_000));
          }
          if (!peer.closed) peer.close(1000, '');
          expectClean(peer);
        });

        it('releases every bus subscription and timer when the peer closes cleanly', async () => {
          const harness = createTestHarness();
          const peer = await connect(harness, createAdapter(), protocol);
          if (!peer.closed) peer.close(1000, 'bye');
          expectClean(peer);
          expect(() => peer.connection.send('late')).not.toThrow();
        });

        it('releases every bus subscription and timer when the socket dies (1006)', async () => {
          const harness = createTestHarness();
          const peer = await connect(harness, createAdapter(), protocol);
          if (!peer.closed) peer.drop();
          expectClean(peer);
        });

        // Adapter-wide state (a bus bridge, a deadline sweep) lives in the server-wide context,
        // where the connection scope cannot see it: compare the whole harness before and after.
        it('leaves no server-wide bus subscription or timer behind once its sessions are gone', async () => {
          const bus = createMemoryBus();
          const harness = createTestHarness({ bus });
          const adapter = createAdapter();
          await harness.setup(adapter);
          const before = { subscriptions: bus.size, timers: harness.clock.pending };
          const first = await connect(harness, adapter, protocol);
          const second = await connect(harness, adapter, protocol);
          if (!first.closed) first.close(1000, '');
          if (!second.closed) second.drop();
          expect({ subscriptions: bus.size, timers: harness.clock.pending }).toEqual(before);
        });

        it('releases everything after keep-alive time passes and the peer goes away', async () => {
          const harness = createTestHarness();
          const peer = await connect(harness, createAdapter(), protocol);
          for (let i = 0; i < 10 && !peer.closed; i++) harness.clock.advance(60_000);
          if (!peer.closed) peer.drop();
          expectClean(peer);
        });

        it('keeps working when the transport reports backpressure', async () => {
          const harness = createTestHarness();
          const peer = await connect(harness, createAdapter(), protocol);
          if (peer.closed) return;
          peer.setBufferedAmount(64 * 1024 * 1024);
          for (const sample of options.samples ?? []) {
            if (peer.closed) break;
            expect(() => peer.send(sample)).not.toThrow();
          }
          peer.drain();
          if (!peer.closed) peer.close(1000, '');
          expectClean(peer);
        });
      });
    }
  });
}

interface Random {
  next(): number;
  int(max: number): number;
}

/** mulberry32: tiny, seedable, good enough for fuzzing. */
function createRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (max) => Math.floor(next() * max) };
}

const encoder = new TextEncoder();

function randomMessage(random: Random, samples: ReadonlyArray<Uint8Array | string>): { data: Uint8Array | string; isBinary: boolean } {
  const roll = random.next();
  if (samples.length > 0 && roll < 0.5) {
    const sample = samples[random.int(samples.length)]!;
    const bytes = typeof sample === 'string' ? encoder.encode(sample) : Uint8Array.from(sample);
    const mutated = mutate(random, bytes);
    if (typeof sample === 'string' && random.next() < 0.7) return { data: new TextDecoder().decode(mutated), isBinary: false };
    return { data: mutated, isBinary: true };
  }
  const length = random.next() < 0.8 ? random.int(64) : random.int(4096);
  if (roll < 0.75) {
    const bytes = new Uint8Array(length);
    for (let i = 0; i < length; i++) bytes[i] = random.int(256);
    return { data: bytes, isBinary: true };
  }
  let text = '';
  for (let i = 0; i < length; i++) {
    const kind = random.next();
    text += kind < 0.7 ? String.fromCharCode(32 + random.int(95)) : kind < 0.85 ? '\n\r\0:{}[],"'[random.int(10)]! : String.fromCodePoint(random.int(0x10ffff) & 0xffff || 0x41);
  }
  return { data: text, isBinary: false };
}

function mutate(random: Random, bytes: Uint8Array): Uint8Array {
  const choice = random.int(5);
  if (bytes.length === 0) return bytes;
  switch (choice) {
    case 0: // truncate
      return bytes.subarray(0, random.int(bytes.length));
    case 1: {
      // flip bits
      const out = Uint8Array.from(bytes);
      const flips = 1 + random.int(4);
      for (let i = 0; i < flips; i++) out[random.int(out.length)]! ^= 1 << random.int(8);
      return out;
    }
    case 2: {
      // duplicate a slice
      const from = random.int(bytes.length);
      const slice = bytes.subarray(from, from + random.int(bytes.length - from + 1));
      const out = new Uint8Array(bytes.length + slice.length);
      out.set(bytes);
      out.set(slice, bytes.length);
      return out;
    }
    case 3: {
      // overwrite with random bytes
      const out = Uint8Array.from(bytes);
      const at = random.int(out.length);
      for (let i = at; i < Math.min(out.length, at + 8); i++) out[i] = random.int(256);
      return out;
    }
    default:
      return bytes;
  }
}

function describeMessage(data: Uint8Array | string): string {
  if (typeof data === 'string') return JSON.stringify(data.slice(0, 80));
  return Buffer.from(data.subarray(0, 40)).toString('hex');
}
