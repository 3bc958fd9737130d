import { describe, expect, it } from 'vitest';
import { HandshakeError, INTERNAL_ERROR_MESSAGE, ProtocolError, ProtocolErrorCode, RegistryError, toProtocolError } from './errors.js';

describe('errors', () => {
  it('brand-checks across copies of core through Symbol.for', () => {
    const foreign = Object.create({ [Symbol.for('protoplex.HandshakeError')]: true }) as object;
    expect(foreign instanceof HandshakeError).toBe(true);
    expect(new Error('x') instanceof HandshakeError).toBe(false);
    expect(new ProtocolError(1002, 'bad') instanceof ProtocolError).toBe(true);
    expect(new ProtocolError(1002, 'bad') instanceof HandshakeError).toBe(false);
    expect(new RegistryError('PPX_REGISTRY_NOT_A_TOKEN', 'x') instanceof RegistryError).toBe(true);
  });

  it('carries status, code and headers', () => {
    const error = new HandshakeError(401, 'who are you', { headers: { 'WWW-Authenticate': 'Basic realm="ocpp"' } });
    expect(error).toMatchObject({ status: 401, code: 'PPX_HANDSHAKE_UNAUTHORIZED', headers: { 'WWW-Authenticate': 'Basic realm="ocpp"' } });
    expect(error).toBeInstanceOf(Error);
  });

  it('refuses a non-error HTTP status', () => {
    expect(() => new HandshakeError(200, 'ok')).toThrow(RangeError);
  });
});

describe('toProtocolError', () => {
  it('passes a ProtocolError through and turns anything else into a logged 1011', () => {
    const violation = new ProtocolError(1002, 'bad frame', { detail: { receipt: 'r1' } });
    expect(toProtocolError(violation)).toBe(violation);
    expect(violation.detail).toEqual({ receipt: 'r1' });
    const logged: unknown[] = [];
    const bug = new Error('secret internals');
    const turned = toProtocolError(bug, { error: (fields) => void logged.push(fields) });
    expect(turned.closeCode).toBe(1011);
    expect(turned.code).toBe(ProtocolErrorCode.Internal);
    expect(turned.message).toBe(INTERNAL_ERROR_MESSAGE);
    expect(turned.cause).toBe(bug);
    expect(logged).toEqual([{ err: bug }]);
  });
});
