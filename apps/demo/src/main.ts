import { startDemo } from './demo.js';

const demo = await startDemo();
console.log(`Protoplex demo on ${demo.url}  (WebSocket ${demo.url.replace('http', 'ws')}/ and ${demo.url.replace('http', 'ws')}/ocpp/{identity})`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1);
    stopping = true;
    console.log('shutting down: closing every connection with 1001');
    demo.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
}
