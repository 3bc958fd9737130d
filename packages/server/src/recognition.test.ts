import { describe, expect, it } from 'vitest';
import { closeReasonByteLength } from '@protoplex/core';
import { echo } from './_test-adapters.js';
import { capturingLogger, silent } from './_test-utils.js';
import { recognise } from './recognition.js';
import { compileRoute } from './routes.js';

const text = echo({
  name: 'text',
  protocols: ['text.test', 'text2.test'],
  aliases: ['text-old'],
  recognize: (data, isBinary) => {
    if (isBinary || typeof data !== 'string') return undefined;
    if (data.startsWith('T2 ')) return 'text2.test';
    if (data.startsWith('TOLD ')) return 'text-old';
    return data.startsWith('T ') ? 'text.test' : undefined;
  },
});
const mqttLike = echo({ name: 'mq', protocols: ['mqtt'], recognize: (data, isBinary) => (isBinary && typeof data !== 'string' && data[0] === 0x10 ? 'mqtt' : undefined) });
const plain = echo({ name: 'plain', protocols: ['plain.test'] });

describe('recognise', () => {
  const route = compileRoute({ path: '/', adapters: [plain, text, mqttLike], recognize: true });

  it('picks the adapter whose recognize answers, with the id it gave and its registered flag', () => {
    expect(recognise(route, 'T hello', false, silent)).toMatchObject({ adapter: text, protocol: 'text.test', registered: false });
    expect(recognise(route, 'T2 hello', false, silent)).toMatchObject({ adapter: text, protocol: 'text2.test', registered: false });
    expect(recognise(route, 'TOLD hello', false, silent)).toMatchObject({ adapter: text, protocol: 'text-old', registered: false });
    expect(recognise(route, Uint8Array.of(0x10, 0), true, silent)).toMatchObject({ adapter: mqttLike, protocol: 'mqtt', registered: true });
  });

  it('answers undefined when nobody recognises the message; adapters without recognize are skipped', () => {
    expect(recognise(route, 'hello', false, silent)).toBeUndefined();
    expect(recognise(route, Uint8Array.of(0x20), true, silent)).toBeUndefined();
  });

  it('asks in route order', () => {
    const greedy = echo({ name: 'greedy', protocols: ['greedy.test'], recognize: () => 'greedy.test' });
    expect(recognise(compileRoute({ path: '/', adapters: [text, greedy], recognize: true }), 'T x', false, silent)?.adapter).toBe(text);
    expect(recognise(compileRoute({ path: '/', adapters: [greedy, text], recognize: true }), 'T x', false, silent)?.adapter).toBe(greedy);
  });

  it("takes an id that is not the adapter's own, a non-string and a throw as not recognised, and logs each", () => {
    const { logger, records } = capturingLogger();
    const other = echo({ name: 'other', protocols: ['other.test'], recognize: () => 'text.test' });
    const unknown = echo({ name: 'unknown', protocols: ['unknown.test'], recognize: () => 'nobody.test' });
    const numeric = echo({ name: 'numeric', protocols: ['numeric.test'], recognize: () => 42 as never });
    const thrower = echo({
      name: 'thrower',
      protocols: ['thrower.test'],
      recognize: () => {
        throw new Error('bug');
      },
    });
    const r = compileRoute({ path: '/', adapters: [other, unknown, numeric, thrower, text], recognize: true });
    expect(recognise(r, 'T x', false, logger)?.adapter).toBe(text);
    expect(records.filter((record) => record.level === 50).map((record) => record.adapter)).toEqual(['other', 'unknown', 'numeric', 'thrower']);
  });
});

describe('compileRoute recognition', () => {
  it('is off unless asked for', () => {
    expect(compileRoute({ path: '/', adapters: [text] }).recognition).toBeUndefined();
    expect(compileRoute({ path: '/', adapters: [text], recognize: false }).recognition).toBeUndefined();
  });

  it('defaults the timeout to 10 s and names every served id in the close reason', () => {
    expect(compileRoute({ path: '/', adapters: [mqttLike, text], recognize: true }).recognition).toEqual({
      timeout: 10_000,
      unrecognisedReason: 'unrecognised first message; this path serves mqtt, text.test, text2.test, text-old',
    });
    expect(compileRoute({ path: '/', adapters: [text], recognize: true, recognizeTimeout: 250 }).recognition?.timeout).toBe(250);
  });

  it('cuts the close reason to what a Close frame can carry', () => {
    const many = echo({ name: 'many', protocols: Array.from({ length: 30 }, (_, i) => `p${i}.example`), recognize: () => undefined });
    const reason = compileRoute({ path: '/', adapters: [many], recognize: true }).recognition!.unrecognisedReason;
    expect(closeReasonByteLength(reason)).toBe(123);
  });

  it('refuses what cannot work', () => {
    expect(() => compileRoute({ path: '/', adapters: [plain], recognize: true })).toThrow(TypeError);
    expect(() => compileRoute({ path: '/', adapters: [text], recognize: true, fallback: plain })).toThrow(TypeError);
    expect(() => compileRoute({ path: '/', adapters: [text], recognize: true, recognizeTimeout: Number.NaN })).toThrow(RangeError);
    expect(() => compileRoute({ path: '/', adapters: [text], recognizeTimeout: 0 })).toThrow(RangeError);
  });
});
