import { describe, expect, it } from 'vitest';
import { resolveOptions } from './options.js';

describe('resolveOptions', () => {
  it('takes given values and treats undefined as absent', () => {
    const defaults = { a: 1, b: 'x', c: true };
    expect(resolveOptions(defaults, { a: 2, b: undefined })).toEqual({ a: 2, b: 'x', c: true });
    expect(resolveOptions(defaults, undefined)).toEqual(defaults);
    expect(defaults).toEqual({ a: 1, b: 'x', c: true });
  });
});
