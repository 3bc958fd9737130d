import { startDemo } from './demo.js';

let demo: Awaited<ReturnType<typeof startDemo>>;
try {
  demo = await startDemo();
} catch (error) {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE' || code === 'EACCES') {
    console.error(`Cannot listen: ${(error as Error).message}. Set PORT (and HOST) to another value, e.g. PORT=8081 pnpm demo`);
    process.exit(1);
  }
  throw error;
}
const ws = demo.url.replace('http', 'ws');
console.log(`Protoplex demo on ${demo.url}  (WebSocket ${ws}/, with or without a subprotocol, and ${ws}/ocpp/{identity})`);

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
