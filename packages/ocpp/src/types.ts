/**
 * Type-level glue between the generated per-version action maps and the CSMS API.
 */
import type { OcppVersion } from './constants.js';
import type { ActionMap16 } from './generated/ocpp16.js';
import type { ActionMap201 } from './generated/ocpp201.js';
import type { ActionMap21 } from './generated/ocpp21.js';

/** The action map of each subprotocol id. */
export interface ActionMaps {
  'ocpp1.6': ActionMap16;
  'ocpp2.0.1': ActionMap201;
  'ocpp2.1': ActionMap21;
}

/** Actions defined by any of the versions in `V` (a union of ids gives the union of actions). */
export type ActionOf<V extends OcppVersion> = V extends OcppVersion ? keyof ActionMaps[V] & string : never;

/**
 * Actions the CSMS can send as a CALL to a station of `V`: every action except the 2.1
 * SEND-only messages (response `void`), which `call()` refuses at run time.
 */
export type CallActionOf<V extends OcppVersion> = V extends OcppVersion
  ? { [A in keyof ActionMaps[V]]: ActionMaps[V][A] extends { response: void } ? never : A }[keyof ActionMaps[V]] & string
  : never;

/** The request payload of `A` in each version of `V` that defines it. */
export type RequestOf<V extends OcppVersion, A extends string> = V extends OcppVersion
  ? A extends keyof ActionMaps[V]
    ? ActionMaps[V][A] extends { request: infer R }
      ? R
      : never
    : never
  : never;

/** The response payload of `A` in each version of `V` that defines it. */
export type ResponseOf<V extends OcppVersion, A extends string> = V extends OcppVersion
  ? A extends keyof ActionMaps[V]
    ? ActionMaps[V][A] extends { response: infer R }
      ? R
      : never
    : never
  : never;

/** What an `onCall` handler learns about the message besides its payload. */
export interface CallContext<V extends OcppVersion = OcppVersion> {
  /** The charging station identity from the connection URL. */
  readonly identity: string;
  /** The negotiated version of this station. */
  readonly protocol: V;
  readonly messageId: string;
  /** `'send'` for a 2.1 SEND, which is never answered: the handler's return value is ignored. */
  readonly kind: 'call' | 'send';
}

/**
 * Answers one CALL from a station: return (or resolve) the response payload, or throw an
 * `OcppCallError` to answer with that CALLERROR. Any other throw answers InternalError.
 */
export type CallHandler<V extends OcppVersion, A extends string> = (
  payload: RequestOf<V, A>,
  context: CallContext<V>,
) => ResponseOf<V, A> | Promise<ResponseOf<V, A>>;

/** A connected station as `csms.stations` lists it. */
export interface StationInfo {
  readonly identity: string;
  readonly protocol: OcppVersion;
  /** Milliseconds since the epoch (the adapter's clock). */
  readonly connectedAt: number;
  /** Milliseconds since the epoch of the last message received from the station. */
  readonly lastMessageAt: number;
  /** Action of the last CALL or SEND the station made, if any. */
  readonly lastAction: string | undefined;
}

export interface CallOptions {
  /** Milliseconds to wait for the CALLRESULT or CALLERROR, counted from when the CALL is sent. */
  readonly timeout?: number;
}

/** A handle on one station, connected or not; calls go to whichever connection holds the identity. */
export interface StationHandle<V extends OcppVersion = OcppVersion> {
  readonly identity: string;
  /** The connected station's version, undefined while it is not connected. */
  readonly protocol: OcppVersion | undefined;
  readonly connected: boolean;
  /**
   * Sends a CALL and resolves with the validated CALLRESULT payload. Calls to one station go out
   * one at a time, in order (OCPP-J §4.1.1).
   * Rejects with `OcppCallError` (CALLERROR from the station, or a request or response that fails
   * its schema), `OcppTimeoutError`, or `OcppNotConnectedError`.
   */
  call<A extends CallActionOf<V>>(action: A, payload: RequestOf<V, A>, options?: CallOptions): Promise<ResponseOf<V, A>>;
}

/** Events of the CSMS. */
export interface CsmsEvents {
  connect: (station: StationInfo) => void;
  disconnect: (station: StationInfo & { readonly code: number; readonly reason: string }) => void;
}
