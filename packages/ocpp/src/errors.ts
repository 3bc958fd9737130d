/**
 * Errors the CSMS API rejects with. Match on `code`, never on message text.
 */
import type { OcppErrorCode } from './constants.js';

const callErrorBrand = Symbol.for('protoplex.ocpp.OcppCallError');
const timeoutBrand = Symbol.for('protoplex.ocpp.OcppTimeoutError');
const notConnectedBrand = Symbol.for('protoplex.ocpp.OcppNotConnectedError');

/**
 * A CALL that ended in a CALLERROR from the station, a response that failed its schema, or a
 * request refused before sending. Throw one from an `onCall` handler to answer with that
 * CALLERROR instead of InternalError.
 */
export class OcppCallError extends Error {
  override readonly name = 'OcppCallError';
  /** The OCPP error code, as the version spells it (`OccurenceConstraintViolation` in 1.6). */
  readonly code: OcppErrorCode | (string & {});
  readonly description: string;
  readonly details: Record<string, unknown>;

  constructor(code: OcppErrorCode | (string & {}), description: string, details: Record<string, unknown> = {}) {
    super(`${code}: ${description}`);
    this.code = code;
    this.description = description;
    this.details = details;
  }

  static override [Symbol.hasInstance](value: unknown): value is OcppCallError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[callErrorBrand] === true;
  }
}
Object.defineProperty(OcppCallError.prototype, callErrorBrand, { value: true });

/** No CALLRESULT or CALLERROR arrived within the call's timeout. */
export class OcppTimeoutError extends Error {
  override readonly name = 'OcppTimeoutError';
  readonly code = 'PPX_OCPP_CALL_TIMEOUT';
  readonly action: string;
  readonly timeout: number;

  constructor(identity: string, action: string, timeout: number) {
    super(`${action} to station ${JSON.stringify(identity)} got no answer within ${timeout} ms`);
    this.action = action;
    this.timeout = timeout;
  }

  static override [Symbol.hasInstance](value: unknown): value is OcppTimeoutError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[timeoutBrand] === true;
  }
}
Object.defineProperty(OcppTimeoutError.prototype, timeoutBrand, { value: true });

/** The station is not connected, or went away before its answer arrived. */
export class OcppNotConnectedError extends Error {
  override readonly name = 'OcppNotConnectedError';
  readonly code = 'PPX_OCPP_NOT_CONNECTED';

  constructor(message: string) {
    super(message);
  }

  static override [Symbol.hasInstance](value: unknown): value is OcppNotConnectedError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[notConnectedBrand] === true;
  }
}
Object.defineProperty(OcppNotConnectedError.prototype, notConnectedBrand, { value: true });
