/** Helpers the demo's end-to-end tests share. */
import { Client } from '@stomp/stompjs';
import WebSocket from 'ws';

/** A connected @stomp/stompjs client on `url`, offering `v12.stomp`. */
export async function connectStomp(url: string): Promise<Client> {
  const client = new Client({
    webSocketFactory: () => new WebSocket(url, ['v12.stomp']) as unknown as globalThis.WebSocket,
    reconnectDelay: 0,
  });
  await new Promise<void>((resolve) => {
    client.onConnect = () => resolve();
    client.activate();
  });
  return client;
}

/** Polls `get` every 20 ms until it returns a value. */
export async function waitFor<T>(get: () => T | undefined, ms = 3000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = get();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
