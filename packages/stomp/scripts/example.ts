// The README usage example, kept here so `tsc` checks that it compiles.
import { createServer } from '@protoplex/server';
import { stomp } from '@protoplex/stomp';

const broker = stomp({
  heartBeat: { outgoing: 10_000, incoming: 10_000 },
  authenticate: ({ login, passcode }) => login === 'guest' && passcode === 'guest',
});

const server = createServer({ adapters: [broker] });
const address = await server.listen(15674, '127.0.0.1');
console.log(`STOMP over WebSocket on ws://127.0.0.1:${address.port}/`);

// For a dashboard: sessions, subscriptions, destinations and queue depths.
setInterval(() => console.log(JSON.stringify(broker.stats())), 60_000).unref();
