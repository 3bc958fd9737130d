// The README's usage block, kept here so `tsc` checks it: a standalone MQTT broker over WebSocket.
import { createServer } from '@protoplex/server';
import { mqtt } from '@protoplex/mqtt';

const broker = mqtt({
  authenticate: ({ username, password }) => username === 'demo' && password?.toString() === 'secret',
  authorizePublish: ({ message }) => !message.topic.startsWith('$'),
});
const server = createServer({ adapters: [broker] });
const { port } = await server.listen(8080, '127.0.0.1');
console.log(`MQTT over WebSocket on ws://127.0.0.1:${port}/`, broker.stats());
