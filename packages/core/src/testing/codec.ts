/**
 * The three properties every codec of Protoplex is held to, as one call:
 * `runCodecProperties({ name, frames, encode, decode, ... })` inside a vitest file.
 *
 * - round trip: every valid frame, encoded then decoded, comes back equal;
 * - total: any input (random bytes and text, plus the encodings of valid frames cut and
 *   bit-flipped) decodes without throwing;
 * - honest refusal: whatever the decoder refuses carries a non-empty reason.
 *
 * Needs `fast-check` and `@fast-check/vitest` as dev dependencies of the package under test.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';

export interface CodecProperties<Frame, Wire extends Uint8Array | string, Result> {
  /** Names the `describe` block: `codec: <name>`. */
  readonly name: string;
  /** Valid frames of the protocol. */
  readonly frames: fc.Arbitrary<Frame>;
  /** Frame to wire form (a WebSocket message's text or bytes). */
  encode(frame: Frame): Wire;
  /** Wire form to a result; MUST NOT throw for any input. */
  decode(wire: Wire): Result;
  /** The frames a result holds (empty when it holds none). */
  framesOf(result: Result): readonly Frame[];
  /** Why a result refuses its input: a non-empty text, or undefined when it accepts it. */
  refusalOf(result: Result): string | undefined;
  /**
   * What a frame is compared as after the round trip (defaults added by the codec, JSON's -0).
   * @default the frame itself
   */
  normalize?(frame: Frame): unknown;
  /**
   * Arbitrary inputs besides mutated valid encodings.
   * @default byte arrays (binary codecs) or strings (text codecs), as `encode` returns
   */
  readonly inputs?: fc.Arbitrary<Wire>;
  /** Runs per property. @default 300 */
  readonly numRuns?: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Registers the three codec properties under `describe('codec: <name>')`. */
export function runCodecProperties<Frame, Wire extends Uint8Array | string, Result>(spec: CodecProperties<Frame, Wire, Result>): void {
  const normalize = spec.normalize ?? ((frame: Frame) => frame);
  const numRuns = spec.numRuns ?? 300;

  // The wire kind is read off one sample encoding, so the mutations keep the codec's own type.
  let textual: boolean | undefined;
  const isText = (): boolean => {
    if (textual === undefined) {
      const [sample] = fc.sample(spec.frames, { numRuns: 1, seed: 1 });
      textual = typeof spec.encode(sample as Frame) === 'string';
    }
    return textual;
  };
  const toWire = (bytes: Uint8Array): Wire => (isText() ? (decoder.decode(bytes) as Wire) : (bytes as Wire));
  const toBytes = (wire: Wire): Uint8Array => (typeof wire === 'string' ? encoder.encode(wire) : wire);

  // Cut, splice and flip bits in valid encodings: that reaches deeper into a parser than noise.
  const mutated = fc
    .tuple(spec.frames, fc.nat(), fc.nat(), fc.integer({ min: 0, max: 7 }), fc.constantFrom('cut', 'flip', 'drop', 'double'))
    .map(([frame, at, length, bit, how]) => {
      const bytes = toBytes(spec.encode(frame));
      if (bytes.length === 0) return toWire(bytes);
      const i = at % bytes.length;
      let out: Uint8Array;
      if (how === 'cut') out = bytes.subarray(0, i);
      else if (how === 'drop') out = new Uint8Array([...bytes.subarray(0, i), ...bytes.subarray(i + 1 + (length % 8))]);
      else if (how === 'double') out = new Uint8Array([...bytes, ...bytes.subarray(0, i)]);
      else {
        out = Uint8Array.from(bytes);
        out[i] = out[i]! ^ (1 << bit);
      }
      return toWire(out);
    });
  const noise: fc.Arbitrary<Wire> = spec.inputs ?? (fc.uint8Array({ maxLength: 256 }).map((bytes) => toWire(bytes)) as fc.Arbitrary<Wire>);
  const anyInput = fc.oneof(noise, mutated);

  describe(`codec: ${spec.name}`, () => {
    test.prop([spec.frames], { numRuns })('every valid frame survives encode then decode', (frame) => {
      const result = spec.decode(spec.encode(frame));
      expect(spec.refusalOf(result), 'refusal of a valid encoding').toBeUndefined();
      expect(spec.framesOf(result).map(normalize)).toEqual([normalize(frame)]);
    });

    test.prop([anyInput], { numRuns: numRuns * 3 })('any input decodes without throwing', (wire) => {
      expect(() => spec.decode(wire)).not.toThrow();
    });

    test.prop([anyInput], { numRuns })('a refusal carries a reason', (wire) => {
      const result = spec.decode(wire);
      const refusal = spec.refusalOf(result);
      if (refusal !== undefined) {
        expect(typeof refusal).toBe('string');
        expect(refusal.trim().length).toBeGreaterThan(0);
      }
    });
  });
}
