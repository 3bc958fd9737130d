import type { Scenario } from '../types.js';

/** RSS growth per idle open connection, after a full GC before and after. */
export const idleMemory: Scenario = {
  name: 'idle-memory',
  description:
    'Server RSS growth per idle open connection (after global.gc()), 2,000 connections (10,000 with --full) on the echo server. Lower is better; the ratio is reference over subject.',
  metric: 'rss-per-connection',
  unit: 'B/conn',
  higherIsBetter: false,
  goal: { ratio: 1 / 1.2, text: 'subject at most 1.2x the reference (ratio >= 0.83)' },
  subject: { label: 'protoplex', server: 'protoplex-echo' },
  reference: { label: 'ws', server: 'ws-echo' },
  gcAtMarks: true,
  freshServerPerRound: true,
  load: ({ mode }) => ({
    name: 'idle',
    options: { connections: mode === 'full' ? 10_000 : 2000, settleMs: mode === 'full' ? 1000 : 300 },
  }),
};
