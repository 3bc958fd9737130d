import { windows } from './windows.js';
import type { Scenario } from '../types.js';

/** One publish reaching 1,000 subscribers through the in-memory bus vs a `ws` broadcast loop. */
export const fanout: Scenario = {
  name: 'fanout',
  description:
    'One publisher, 1,000 subscribers: each 64-byte publish goes through the in-memory bus to every subscriber (reference: the ws README broadcast loop). 4 publishes in flight; deliveries per second.',
  metric: 'throughput',
  unit: 'deliveries/s',
  higherIsBetter: true,
  goal: { ratio: 0.9, text: 'ratio >= 0.9' },
  subject: { label: 'protoplex', server: 'protoplex-fanout' },
  reference: { label: 'ws', server: 'ws-fanout' },
  load: ({ mode }) => ({
    name: 'fanout',
    options: {
      subscribers: 1000,
      inflight: 4,
      size: 64,
      ...windows(mode),
    },
  }),
};
