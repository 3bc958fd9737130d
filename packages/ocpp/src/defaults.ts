/**
 * The answers a CSMS gives out of the box (`defaultHandlers`), so a station can boot, send
 * heart-beats, status and meter values, and run a transaction against a bare `ocpp()`. A handler
 * registered with `onCall` always wins over these. Pure apart from the transaction counter the
 * caller owns.
 *
 * Every response here is valid against its version's response schema (defaults.test.ts checks
 * each one with the package's own validator).
 */
import { OcppVersion } from './constants.js';
import type { AnyCallHandler } from './session.js';

/** What the default handlers need from the adapter. */
export interface DefaultHandlerHost {
  /** Milliseconds since the epoch (the adapter's clock). */
  now(): number;
  /** BootNotification `interval`, in seconds. */
  readonly heartbeatInterval: number;
  /** The next 1.6 StartTransaction `transactionId`. */
  nextTransactionId(): number;
}

/** The actions answered by default in each version. */
export const DEFAULT_HANDLED_ACTIONS: Readonly<Record<OcppVersion, readonly string[]>> = {
  [OcppVersion.V16]: [
    'Authorize',
    'BootNotification',
    'DataTransfer',
    'DiagnosticsStatusNotification',
    'FirmwareStatusNotification',
    'Heartbeat',
    'LogStatusNotification',
    'MeterValues',
    'SecurityEventNotification',
    'SignedFirmwareStatusNotification',
    'StartTransaction',
    'StatusNotification',
    'StopTransaction',
  ],
  [OcppVersion.V201]: [
    'Authorize',
    'BootNotification',
    'DataTransfer',
    'FirmwareStatusNotification',
    'Heartbeat',
    'LogStatusNotification',
    'MeterValues',
    'NotifyEvent',
    'NotifyReport',
    'SecurityEventNotification',
    'StatusNotification',
    'TransactionEvent',
  ],
  [OcppVersion.V21]: [
    'Authorize',
    'BootNotification',
    'DataTransfer',
    'FirmwareStatusNotification',
    'Heartbeat',
    'LogStatusNotification',
    'MeterValues',
    'NotifyEvent',
    'NotifyReport',
    'SecurityEventNotification',
    'StatusNotification',
    'TransactionEvent',
  ],
};

const EMPTY: AnyCallHandler = () => ({});

/**
 * The default handlers of one version, by action. Built once per adapter; each handler returns a
 * fresh object (the session serialises it once).
 */
export function createDefaultHandlers(version: OcppVersion, host: DefaultHandlerHost): ReadonlyMap<string, AnyCallHandler> {
  const isoNow = (): string => new Date(host.now()).toISOString();
  const handlers = new Map<string, AnyCallHandler>();
  for (const action of DEFAULT_HANDLED_ACTIONS[version]) handlers.set(action, EMPTY);

  // 1.6 §4.2 / 2.0.1 B01: Accepted with the current time and the heart-beat interval (seconds).
  handlers.set('BootNotification', () => ({ currentTime: isoNow(), interval: host.heartbeatInterval, status: 'Accepted' }));
  handlers.set('Heartbeat', () => ({ currentTime: isoNow() }));
  // OCPP 1.6 §4.3 Data Transfer: "If the recipient of the request has no implementation for the
  // specific vendorId it SHALL return a status 'UnknownVendorId'"; 2.0.1 and 2.1 use case P02
  // (P02.FR.06/07, conformance test TC_P_02_CSMS) keep that answer.
  handlers.set('DataTransfer', () => ({ status: 'UnknownVendorId' }));
  if (version === OcppVersion.V16) {
    handlers.set('Authorize', () => ({ idTagInfo: { status: 'Accepted' } }));
    handlers.set('StartTransaction', () => ({ transactionId: host.nextTransactionId(), idTagInfo: { status: 'Accepted' } }));
  } else {
    handlers.set('Authorize', () => ({ idTokenInfo: { status: 'Accepted' } }));
  }
  return handlers;
}
