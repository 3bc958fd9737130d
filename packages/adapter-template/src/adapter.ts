/** Wires the `lines` protocol into a ProtocolAdapter: ids, options, setup. No protocol rules live here. */
import { resolveOptions, type AdapterContext, type Connection, type ProtocolAdapter, type Session } from '@protoplex/core';
import { startsWithVerb } from './codec.js';
import { LINES_BUS_PREFIX, LINES_PROTOCOL } from './constants.js';
import { LinesHub, type LinesStats } from './hub.js';
import { LinesSession } from './session.js';
import { createLinesTopics } from './topics.js';

/** Options of {@link lines}. Every one is optional; an explicit `undefined` means the default. */
export interface LinesOptions {
  /**
   * Subscriptions one connection may hold; one more is refused with `ERR too-many-subscriptions`.
   * @default 100
   */
  maxSubscriptions?: number;
  /**
   * Milliseconds without a command before the server answers `ERR idle` and closes with 1008.
   * Checked by one sweep for all connections, so a close comes up to a second late. 0: never.
   * @default 300000
   */
  idleTimeoutMs?: number;
  /**
   * `MSG` messages kept for a connection whose transport buffer is full, until it drains; beyond
   * that they are dropped and counted in `lines_messages_dropped_total`.
   * @default 100
   */
  maxQueuedMessages?: number;
  /**
   * Canonical levels the protocol's topics live under on the bus: with `'lines'`, `room.1` is
   * `lines/room/1`. `''` mounts them at the root, where other protocols' topics are (`room/1`).
   * @default 'lines'
   */
  busPrefix?: string;
}

/** The default of every option of {@link LinesOptions}. */
export const linesDefaults: Readonly<Required<LinesOptions>> = Object.freeze({
  maxSubscriptions: 100,
  idleTimeoutMs: 300_000,
  maxQueuedMessages: 100,
  busPrefix: LINES_BUS_PREFIX,
});

/** The `lines` adapter: a `ProtocolAdapter` with first-message recognition and counters. */
export interface LinesAdapter extends ProtocolAdapter {
  setup(context: AdapterContext): void;
  open(connection: Connection, context: AdapterContext): Session;
  recognize(data: Uint8Array | string, isBinary: boolean): string | undefined;
  /** Counts for dashboards and tests; zeros before `setup`. */
  stats(): LinesStats;
}

/**
 * Creates the `lines` adapter, served under the unregistered id `lines.protoplex.dev`.
 * @throws RangeError for a negative or fractional count, TypeError for a `busPrefix` that is not a topic name
 */
export function lines(options: LinesOptions = {}): LinesAdapter {
  const resolved = resolveOptions(linesDefaults, options);
  for (const key of ['maxSubscriptions', 'idleTimeoutMs', 'maxQueuedMessages'] as const) {
    const value = resolved[key];
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`lines(): ${key} must be a non-negative integer, got ${value}`);
  }
  const topics = createLinesTopics(resolved.busPrefix);
  const name = 'lines';
  let hub: LinesHub;
  return {
    name,
    protocols: [LINES_PROTOCOL],
    setup(context) {
      // Server-wide: the hub's bus subscriptions and its sweep outlive every connection.
      hub = new LinesHub(context, { name, topics, idleTimeoutMs: resolved.idleTimeoutMs });
    },
    open(connection, context) {
      if (!hub) throw new Error('lines: open() before setup(); the transport calls setup(context) once first');
      return new LinesSession(connection, context, hub, resolved);
    },
    recognize(data, isBinary) {
      // [LINES-1] commands are text messages that start with a verb.
      return !isBinary && typeof data === 'string' && startsWithVerb(data) ? LINES_PROTOCOL : undefined;
    },
    stats: () => hub?.stats() ?? { sessions: 0, subscriptions: 0, busFilters: 0 },
  };
}
