import { windows } from './windows.js';
import type { Scenario } from '../types.js';

/** Upgrades per second, negotiation included, vs `ws` answering the first offer. */
export const handshake: Scenario = {
  name: 'handshake',
  description:
    'Opening handshakes per second: the client offers two subprotocols, the server negotiates one, opens the echo session, and the client closes. 16 (quick) or 64 (full) handshakes in flight.',
  metric: 'throughput',
  unit: 'handshakes/s',
  higherIsBetter: true,
  goal: { ratio: 0.95, text: 'Protoplex costs at most 5 % (ratio >= 0.95)' },
  subject: { label: 'protoplex', server: 'protoplex-echo' },
  reference: { label: 'ws', server: 'ws-echo' },
  load: ({ mode }) => ({
    name: 'handshake',
    options: {
      concurrency: mode === 'full' ? 64 : 16,
      protocols: ['bench.echo', 'bench.other'],
      ...windows(mode),
    },
  }),
};
