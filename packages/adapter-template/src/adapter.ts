/** Wires the lines protocol into a ProtocolAdapter. No protocol rules live here. */
import type { ProtocolAdapter } from '@protoplex/core';
import { PROTOCOL_ID } from './constants.js';
import { openLinesSession } from './session.js';

export interface LinesOptions {
  /**
   * Subscriptions one connection may hold.
   * @default 100
   */
  maxSubscriptions?: number;
  /**
   * Milliseconds without a command before the server closes the connection with 1008.
   * @default 300000
   */
  idleTimeoutMs?: number;
}

export const defaultOptions: Required<LinesOptions> = {
  maxSubscriptions: 100,
  idleTimeoutMs: 300_000,
};

/** Creates the lines adapter, served under the unregistered id `lines.protoplex.dev`. */
export function lines(options: LinesOptions = {}): ProtocolAdapter {
  const resolved = { ...defaultOptions, ...options };
  return {
    name: 'lines',
    protocols: [PROTOCOL_ID],
    open: (connection, context) => openLinesSession(connection, context, resolved),
  };
}
