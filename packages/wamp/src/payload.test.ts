import { describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { APPLICATION_JSON, ARGS_KWARGS, OCTET_STREAM, TEXT_PLAIN, WAMP_PAYLOAD_HEADER, fromBusPayload, toBusPayload, type WampPayload } from './payload.js';

const enc = (text: string): Uint8Array => new TextEncoder().encode(text);
const dec = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

/** Buffers and Uint8Arrays compare as plain byte lists, so expectations do not depend on which one a step made. */
function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return { bytes: [...value] };
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

/** What EVENT carries for a publication: empty kwargs and empty args are omitted, kwargs come with args. */
function normalized(args: unknown[] | undefined, kwargs: Record<string, unknown> | undefined): WampPayload {
  const withKwargs = kwargs !== undefined && Object.keys(kwargs).length > 0;
  if (withKwargs) return { args: args ?? [], kwargs };
  if (args !== undefined && args.length > 0) return { args };
  return {};
}

describe('toBusPayload', () => {
  it('sends one string argument as UTF-8 text', () => {
    const out = toBusPayload(['héllo'], undefined);
    expect(dec(out.payload)).toBe('héllo');
    expect(out.contentType).toBe(TEXT_PLAIN);
    expect(out.headers).toBeUndefined();
  });

  it('sends one bytes argument as the bytes themselves, also with an empty kwargs dict', () => {
    const bytes = new Uint8Array([0, 255, 7]);
    const out = toBusPayload([bytes], {});
    expect(out.payload).toBe(bytes);
    expect(out.contentType).toBe(OCTET_STREAM);
  });

  it('sends one argument of any other type as its JSON', () => {
    expect(dec(toBusPayload([{ a: [1, true, null] }], undefined).payload)).toBe('{"a":[1,true,null]}');
    expect(dec(toBusPayload([42], undefined).payload)).toBe('42');
    expect(toBusPayload([42], undefined).contentType).toBe(APPLICATION_JSON);
    // msgpack and cbor can decode undefined; JSON has null for it.
    expect(dec(toBusPayload([undefined], undefined).payload)).toBe('null');
    // A CBOR bignum decodes as a BigInt, which JSON.stringify alone would throw on.
    expect(dec(toBusPayload([{ n: 12n }], undefined).payload)).toBe('{"n":12}');
  });

  it('sends kwargs, or several arguments, as the {args, kwargs} envelope with the wamp-payload header', () => {
    const withKwargs = toBusPayload(undefined, { k: 'v' });
    expect(JSON.parse(dec(withKwargs.payload))).toEqual({ args: [], kwargs: { k: 'v' } });
    expect(withKwargs.contentType).toBe(APPLICATION_JSON);
    expect(withKwargs.headers).toEqual({ [WAMP_PAYLOAD_HEADER]: ARGS_KWARGS });
    const several = toBusPayload(['a', 2], undefined);
    expect(JSON.parse(dec(several.payload))).toEqual({ args: ['a', 2] });
    expect(several.headers).toEqual({ 'wamp-payload': 'args-kwargs' });
  });

  it('writes nested bytes with the JSON binary convention (NUL, then base64)', () => {
    const out = toBusPayload([{ blob: Buffer.from([1, 2, 3]) }], undefined);
    expect(JSON.parse(dec(out.payload))).toEqual({ blob: '\u0000AQID' });
  });

  it('sends an empty payload, without content type, for no arguments', () => {
    for (const out of [toBusPayload(undefined, undefined), toBusPayload([], undefined), toBusPayload([], {})]) {
      expect(out.payload.length).toBe(0);
      expect(out.contentType).toBeUndefined();
      expect(out.headers).toBeUndefined();
    }
  });
});

describe('fromBusPayload', () => {
  it('restores both lists from the envelope', () => {
    expect(fromBusPayload({ payload: enc('{"args":[1],"kwargs":{"a":2}}'), contentType: APPLICATION_JSON, headers: { 'wamp-payload': 'args-kwargs' } })).toEqual({ args: [1], kwargs: { a: 2 } });
    expect(fromBusPayload({ payload: enc('{"kwargs":{"a":2}}'), headers: { 'wamp-payload': 'args-kwargs' } })).toEqual({ args: [], kwargs: { a: 2 } });
    expect(fromBusPayload({ payload: enc('{"args":[]}'), headers: { 'wamp-payload': 'args-kwargs' } })).toEqual({});
  });

  it('treats a malformed envelope as an ordinary payload', () => {
    expect(fromBusPayload({ payload: enc('{"args":5}'), contentType: APPLICATION_JSON, headers: { 'wamp-payload': 'args-kwargs' } })).toEqual({ args: [{ args: 5 }] });
    expect(fromBusPayload({ payload: enc('not json'), headers: { 'wamp-payload': 'args-kwargs' } })).toEqual({ args: ['not json'] });
  });

  it('parses application/json into one argument, whatever the parameters and case, and keeps text that does not parse', () => {
    expect(fromBusPayload({ payload: enc('{"t":21.5}'), contentType: 'Application/JSON; charset=utf-8' })).toEqual({ args: [{ t: 21.5 }] });
    expect(fromBusPayload({ payload: enc('"x"'), contentType: APPLICATION_JSON })).toEqual({ args: ['x'] });
    expect(fromBusPayload({ payload: enc('{oops'), contentType: APPLICATION_JSON })).toEqual({ args: ['{oops'] });
  });

  it('gives valid UTF-8 as one string and other bytes as one bytes argument', () => {
    expect(fromBusPayload({ payload: enc('{"looks":"like json"}') })).toEqual({ args: ['{"looks":"like json"}'] });
    const bytes = new Uint8Array([0xff, 0xfe, 0x00]);
    // Bytes come out as Buffers: the JSON serializer recognises bytes by Buffer's JSON form.
    expect(fromBusPayload({ payload: bytes })).toEqual({ args: [Buffer.from(bytes)] });
    expect(fromBusPayload({ payload: bytes, contentType: APPLICATION_JSON })).toEqual({ args: [Buffer.from(bytes)] });
    expect(Buffer.isBuffer(fromBusPayload({ payload: bytes }).args![0])).toBe(true);
  });

  it('keeps application/octet-stream as bytes even when they are valid UTF-8', () => {
    const bytes = enc('abc');
    expect(fromBusPayload({ payload: bytes, contentType: OCTET_STREAM }).args![0]).toEqual(Buffer.from(bytes));
  });

  it('gives no arguments for an empty payload, unless the content type says empty text or empty bytes', () => {
    expect(fromBusPayload({ payload: new Uint8Array(0) })).toEqual({});
    expect(fromBusPayload({ payload: new Uint8Array(0), contentType: APPLICATION_JSON })).toEqual({});
    expect(fromBusPayload({ payload: new Uint8Array(0), contentType: 'text/plain' })).toEqual({ args: [''] });
    expect(fromBusPayload({ payload: new Uint8Array(0), contentType: OCTET_STREAM })).toEqual({ args: [Buffer.alloc(0)] });
  });

  it('reads nested NUL-base64 strings of JSON back as bytes', () => {
    const out = fromBusPayload({ payload: enc('{"blob":"\\u0000AQID"}'), contentType: APPLICATION_JSON });
    expect(plain(out)).toEqual({ args: [{ blob: { bytes: [1, 2, 3] } }] });
  });
});

/** Values a WAMP serializer can carry and JSON can hold, bytes included (they travel NUL-base64 in JSON). */
const value: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.string(),
    fc.boolean(),
    fc.constant(null),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter((x) => !Object.is(x, -0)),
    fc.uint8Array({ maxLength: 16 }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 6 }).filter((k) => k !== '__proto__'), tie('value'), { maxKeys: 4 }),
  ),
})).value;

describe('round trip', () => {
  test.prop([fc.option(fc.array(value, { maxLength: 4 }), { nil: undefined }), fc.option(fc.dictionary(fc.string({ maxLength: 6 }).filter((k) => k !== '__proto__'), value, { maxKeys: 3 }), { nil: undefined })], { numRuns: 300 })(
    'fromBusPayload(toBusPayload(args, kwargs)) gives back the normalized payload',
    (args, kwargs) => {
      const bus = toBusPayload(args, kwargs);
      expect(plain(fromBusPayload(bus))).toEqual(plain(normalized(args, kwargs)));
    },
  );

  test.prop([fc.uint8Array({ maxLength: 64 }), fc.option(fc.constantFrom(APPLICATION_JSON, TEXT_PLAIN, OCTET_STREAM, 'application/xml', ''), { nil: undefined }), fc.boolean()], { numRuns: 300 })(
    'fromBusPayload never throws and always gives the EVENT payload shape',
    (payload, contentType, envelope) => {
      const out = fromBusPayload({ payload, contentType, headers: envelope ? { 'wamp-payload': 'args-kwargs' } : undefined });
      if (out.kwargs !== undefined) expect(Array.isArray(out.args)).toBe(true);
      if (out.args !== undefined && out.kwargs === undefined) expect(out.args.length).toBeGreaterThan(0);
    },
  );
});
