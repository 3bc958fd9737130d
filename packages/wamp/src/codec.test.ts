import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { runCodecProperties } from '@protoplex/core/testing';
import { SERIALIZERS, decodeMessage, encodeMessage, generateMessage, parseMessage, type WampMessage } from './codec.js';
import { MAX_ID, MessageType, type SerializerId } from './constants.js';

const id = fc.oneof(fc.integer({ min: 1, max: 2 ** 31 }), fc.constant(MAX_ID), fc.integer({ min: 2 ** 32, max: 2 ** 40 }));
const uri = fc.stringMatching(/^[a-z][a-z0-9_]{0,6}(\.[a-z][a-z0-9_]{0,6}){0,3}$/);
// JSON-safe values: every serializer carries them unchanged (no -0, no undefined, no NaN).
const value = fc.letrec((tie) => ({
  leaf: fc.oneof(fc.string({ maxLength: 8 }), fc.integer({ min: -1000, max: 1000 }), fc.boolean(), fc.constant(null), fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Object.is(d, -0))),
  node: fc.oneof({ depthSize: 'small' }, tie('leaf'), fc.array(tie('node'), { maxLength: 3 }), fc.dictionary(fc.string({ minLength: 1, maxLength: 5 }).filter((k) => k !== '__proto__'), tie('node'), { maxKeys: 3 })),
})).node;
const dict = fc.dictionary(fc.stringMatching(/^[a-z_]{1,8}$/).filter((k) => k !== '__proto__'), value, { maxKeys: 3 });
const args = fc.option(fc.array(value, { minLength: 1, maxLength: 3 }), { nil: undefined });
const kwargs = fc.option(fc.dictionary(fc.stringMatching(/^[a-z]{1,6}$/).filter((k) => k !== '__proto__'), value, { minKeys: 1, maxKeys: 3 }), { nil: undefined });
const payload = fc.tuple(args, kwargs).map(([a, k]) => ({ ...(a !== undefined || k !== undefined ? { args: a ?? [] } : {}), ...(k !== undefined ? { kwargs: k } : {}) }));

const messages: fc.Arbitrary<WampMessage> = fc.oneof(
  fc.record({ type: fc.constant(MessageType.HELLO), realm: uri, details: dict }),
  fc.record({ type: fc.constant(MessageType.WELCOME), session: id, details: dict }),
  fc.tuple(dict, uri, payload).map(([details, reason, p]) => ({ type: MessageType.ABORT, details, reason, ...p })),
  fc.record({ type: fc.constant(MessageType.GOODBYE), details: dict, reason: uri }),
  fc.tuple(fc.constantFrom(16, 32, 34, 48, 64, 66, 68), id, dict, uri, payload).map(([requestType, request, details, error, p]) => ({ type: MessageType.ERROR, requestType, request, details, error, ...p })),
  fc.tuple(id, dict, uri, payload).map(([request, options, topic, p]) => ({ type: MessageType.PUBLISH, request, options, topic, ...p })),
  fc.record({ type: fc.constant(MessageType.SUBSCRIBE), request: id, options: dict, topic: uri }),
  fc.record({ type: fc.constant(MessageType.UNSUBSCRIBE), request: id, subscription: id }),
  fc.tuple(id, id, dict, payload).map(([subscription, publication, details, p]) => ({ type: MessageType.EVENT, subscription, publication, details, ...p })),
  fc.tuple(id, dict, uri, payload).map(([request, options, procedure, p]) => ({ type: MessageType.CALL, request, options, procedure, ...p })),
  fc.record({ type: fc.constant(MessageType.CANCEL), request: id, options: dict }),
  fc.tuple(id, dict, payload).map(([request, details, p]) => ({ type: MessageType.RESULT, request, details, ...p })),
  fc.record({ type: fc.constant(MessageType.REGISTER), request: id, options: dict, procedure: uri }),
  fc.tuple(id, id, dict, payload).map(([request, registration, details, p]) => ({ type: MessageType.INVOCATION, request, registration, details, ...p })),
  fc.tuple(id, dict, payload).map(([request, options, p]) => ({ type: MessageType.YIELD, request, options, ...p })),
  fc.record({ type: fc.constant(MessageType.UNSUBSCRIBED), request: fc.oneof(id, fc.constant(0)) }),
) as fc.Arbitrary<WampMessage>;

/** Empty payloads are not sent ("SHOULD NOT send an empty Arguments list"), so they parse back absent. */
const normalize = (message: WampMessage): unknown => {
  const copy: Record<string, unknown> = { ...message };
  const hasKwargs = copy.kwargs !== undefined && Object.keys(copy.kwargs as object).length > 0;
  if (!hasKwargs) delete copy.kwargs;
  if (!hasKwargs && Array.isArray(copy.args) && copy.args.length === 0) delete copy.args;
  return JSON.parse(JSON.stringify(copy));
};

for (const serializerId of ['json', 'msgpack', 'cbor'] as SerializerId[]) {
  const serializer = SERIALIZERS[serializerId];
  runCodecProperties({
    name: `wamp.2.${serializerId}`,
    frames: messages,
    encode: (message) => encodeMessage(serializer, message),
    decode: (wire) => decodeMessage(serializer, wire, typeof wire !== 'string'),
    framesOf: (result) => (result.ok ? [result.message] : []),
    refusalOf: (result) => (result.ok ? undefined : result.fault.message),
    normalize: (message) => normalize(message),
    ...(serializer.binary ? {} : { inputs: fc.oneof(fc.string(), fc.json()) }),
  });
}

describe('parseMessage', () => {
  const refuses = (value: unknown, text: RegExp): void => {
    const result = parseMessage(value);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.fault.message).toMatch(text);
      expect(result.fault.closeCode).toBe(1002);
    }
  };
  it('refuses what Basic Profile "Protocol Errors" lists', () => {
    refuses([], /non-empty list/);
    refuses({}, /non-empty list/);
    refuses(['1'], /integer/);
    refuses([999, {}], /unknown message type 999/);
    refuses([1, 'realm1'], /HELLO has 1 elements, expected 2/);
    refuses([1, 5, {}], /HELLO.Realm has the wrong type/);
    refuses([16, 0, {}, 'a'], /PUBLISH.Request/);
    refuses([16, MAX_ID * 2, {}, 'a'], /PUBLISH.Request/);
    refuses([16, 1.5, {}, 'a'], /PUBLISH.Request/);
    refuses([16, 1, [], 'a'], /PUBLISH.Options/);
    refuses([16, 1, {}, 'a', {}], /Arguments must be a list/);
    refuses([16, 1, {}, 'a', [], []], /ArgumentsKw must be a dict/);
    refuses([8, 36, 1, {}, 'wamp.error.x'], /REQUEST.Type/);
    refuses([32, 1, {}, 'a', []], /SUBSCRIBE has 4 elements/);
  });

  it('accepts 2^53 as an id and the revocation form of UNSUBSCRIBED', () => {
    expect(parseMessage([34, MAX_ID, 1]).ok).toBe(true);
    expect(parseMessage([35, 0, { subscription: 5, reason: 'gone' }])).toEqual({ ok: true, message: { type: 35, request: 0, details: { subscription: 5, reason: 'gone' } } });
  });

  it('writes kwargs with an empty args list and omits empty payloads', () => {
    expect(generateMessage({ type: MessageType.RESULT, request: 1, details: {}, kwargs: { a: 1 } })).toEqual([50, 1, {}, [], { a: 1 }]);
    expect(generateMessage({ type: MessageType.RESULT, request: 1, details: {}, args: [], kwargs: {} })).toEqual([50, 1, {}]);
  });
});

describe('serializers', () => {
  it('use text for JSON and binary for MessagePack and CBOR, refusing the other kind with 1003', () => {
    expect(typeof SERIALIZERS.json.encode([1, 'a', {}])).toBe('string');
    expect(SERIALIZERS.msgpack.encode([1, 'a', {}])).toBeInstanceOf(Uint8Array);
    expect(SERIALIZERS.cbor.encode([1, 'a', {}])).toBeInstanceOf(Uint8Array);
    expect(decodeMessage(SERIALIZERS.json, new Uint8Array([0x5b, 0x5d]), true)).toMatchObject({ ok: false, fault: { closeCode: 1003 } });
    expect(decodeMessage(SERIALIZERS.msgpack, '[1]', false)).toMatchObject({ ok: false, fault: { closeCode: 1003 } });
    expect(decodeMessage(SERIALIZERS.cbor, '[1]', false)).toMatchObject({ ok: false, fault: { closeCode: 1003 } });
  });

  it('decodes 64-bit integers as numbers (autobahn sends ids above 2^32 as uint64)', () => {
    // msgpack: fixarray(3) [34, uint64 2^40, uint64 2^53]
    const msgpack = Uint8Array.from([0x93, 0x22, 0xcf, 0, 0, 0x01, 0, 0, 0, 0, 0, 0xcf, 0, 0x20, 0, 0, 0, 0, 0, 0]);
    expect(decodeMessage(SERIALIZERS.msgpack, msgpack, true)).toEqual({ ok: true, message: { type: 34, request: 2 ** 40, subscription: 2 ** 53 } });
    // cbor: array(3) [34, uint64 2^40, uint64 2^53]
    const cbor = Uint8Array.from([0x83, 0x18, 0x22, 0x1b, 0, 0, 0x01, 0, 0, 0, 0, 0, 0x1b, 0, 0x20, 0, 0, 0, 0, 0, 0]);
    expect(decodeMessage(SERIALIZERS.cbor, cbor, true)).toEqual({ ok: true, message: { type: 34, request: 2 ** 40, subscription: 2 ** 53 } });
  });

  it('never writes msgpackr extensions (autobahn msgpack5 rejects them): undefined goes as nil', () => {
    const bytes = SERIALIZERS.msgpack.encode([32, 1, { match: undefined }, 'a']) as Uint8Array;
    expect(Buffer.from(bytes).includes(Buffer.from([0xd4, 0x00]))).toBe(false);
  });

  test.prop([fc.uint8Array({ maxLength: 32 })])('carry bytes through JSON with the NUL-base64 convention', (bytes) => {
    const text = SERIALIZERS.json.encode([36, 1, 2, {}, [Buffer.from(bytes)]]) as string;
    expect(text).toContain('\\u0000');
    const decoded = SERIALIZERS.json.decode(text, false);
    expect(decoded.ok && Buffer.from((decoded.value as unknown[][])[4]![0] as Uint8Array).equals(Buffer.from(bytes))).toBe(true);
  });
});
