import { describe, expect, it } from 'vitest';
import { parseFrame } from './codec.js';
import type { QueuedMessage } from './queues.js';
import { encodeTail, messageFrame, messageHead, tailOf } from './wire.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('MESSAGE encoding', () => {
  it('encodes a message once per version, and once for every queued copy that shares it', () => {
    const message = { destination: '/topic/a', payload: bytes('x'), headers: { k: 'v' } };
    expect(tailOf(message, '1.2')).toBe(tailOf(message, '1.2'));
    expect(tailOf(message, '1.1')).not.toBe(tailOf(message, '1.2'));
    const queued: QueuedMessage = { ...message, redelivered: false, shared: message };
    expect(tailOf(queued, '1.2')).toBe(tailOf(message, '1.2'));
    expect(tailOf({ ...message }, '1.2')).not.toBe(tailOf(message, '1.2'));
  });

  it('writes a frame the parser reads back, per-subscriber head first', () => {
    const tail = encodeTail({ destination: '/topic/a:b', payload: bytes('héllo'), contentType: 'text/plain', headers: { 'x-k': 'a\nb', receipt: 'never', '': 'nameless' } }, '1.2');
    const wire = messageFrame(messageHead('sub\\c1', 'm-1', 'm-1', true), tail, false);
    expect(typeof wire).toBe('string');
    expect(parseFrame(wire, '1.2')).toMatchObject({
      command: 'MESSAGE',
      headers: { subscription: 'sub:1', 'message-id': 'm-1', ack: 'm-1', redelivered: 'true', destination: '/topic/a:b', 'content-type': 'text/plain', 'x-k': 'a\nb', 'content-length': '6' },
    });
    const frame = parseFrame(wire, '1.2');
    expect('command' in frame && (frame.headers.receipt ?? frame.headers[''])).toBeUndefined();
  });

  it('sends a body that is not UTF-8, or any frame with binaryFrames, as bytes', () => {
    const binary = encodeTail({ destination: '/queue/b', payload: new Uint8Array([0xff, 0]) }, '1.2');
    expect(binary.text).toBeUndefined();
    expect(messageFrame(messageHead('s', 'm', undefined, false), binary, false)).toBeInstanceOf(Uint8Array);
    const text = encodeTail({ destination: '/queue/b', payload: bytes('ok') }, '1.2');
    expect(messageFrame(messageHead('s', 'm', undefined, false), text, true)).toBeInstanceOf(Uint8Array);
  });

  it('leaves out on 1.0 the headers 1.0 cannot write (no escaping there)', () => {
    const tail = encodeTail({ destination: '/topic/a', payload: bytes(''), headers: { ok: 'v', 'bad:name': 'v', multi: 'a\nb' } }, '1.0');
    expect(tail.head).toBe('destination:/topic/a\nok:v\ncontent-length:0\n\n');
  });
});
