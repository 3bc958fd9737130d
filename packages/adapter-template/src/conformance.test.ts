import { runConformance } from '@protoplex/core/testing';
import { lines } from './adapter.js';

runConformance(() => lines(), {
  samples: ['PING', 'ECHO hello', 'SUB a.*.c', 'SUB a.#', 'UNSUB a.#', 'PUB a.b.c payload with spaces'],
  // Subscribed, so the release checks cover the bus bridge's filters as well as the session.
  prepare: (peer) => {
    peer.send('SUB sensors.*.temperature');
    peer.send('SUB alarms.#');
  },
});
