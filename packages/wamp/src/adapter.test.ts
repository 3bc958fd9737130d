import { describe, expect, it } from 'vitest';
import { SERIALIZERS } from './codec.js';
import { recognizeHello, wamp } from './adapter.js';

describe('wamp adapter', () => {
  it('serves the IANA id and, by default, the per-serializer ids clients offer', () => {
    expect(wamp().protocols).toEqual(['wamp']);
    expect(wamp().aliases).toEqual(['wamp.2.json', 'wamp.2.msgpack', 'wamp.2.cbor']);
    expect(wamp({ aliases: false }).aliases).toBeUndefined();
  });

  it('recognizes HELLO in each serializer, and nothing else', () => {
    const hello = [1, 'realm1', { roles: { caller: {} } }];
    expect(recognizeHello(JSON.stringify(hello), false, true)).toBe('wamp.2.json');
    expect(recognizeHello(' [ 1 , "realm1", {}]', false, true)).toBe('wamp.2.json');
    expect(recognizeHello(JSON.stringify(hello), false, false)).toBe('wamp');
    expect(recognizeHello(SERIALIZERS.msgpack.encode(hello) as Uint8Array, true, true)).toBe('wamp.2.msgpack');
    expect(recognizeHello(SERIALIZERS.cbor.encode(hello) as Uint8Array, true, true)).toBe('wamp.2.cbor');
    expect(recognizeHello(SERIALIZERS.msgpack.encode(hello) as Uint8Array, true, false)).toBeUndefined();
    for (const other of ['[16, 1, {}, "a"]', '[10]', 'CONNECT\naccept-version:1.2\n\n\0', '{"a":1}', '']) expect(recognizeHello(other, false, true), other).toBeUndefined();
    expect(recognizeHello(new Uint8Array([0x10, 0x0c]), true, true)).toBeUndefined();
  });

  it('refuses a configured realm that is not a URI', () => {
    expect(() => wamp({ realms: ['bad realm'] })).toThrow(TypeError);
  });
});
