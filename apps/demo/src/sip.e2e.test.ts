// SIP on the demo, with the real JsSIP client: alice and bob register on `/` (domain
// example.com), message each other, and meet MQTT, STOMP and WAMP through the bus
// (sip:chat@example.com publishes on sip/chat; a bus message on sip/bob reaches bob).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import JsSIP from 'jssip';
import mqttjs from 'mqtt';
import type { IMessage } from '@stomp/stompjs';
import { Wampy } from 'wampy';
import WebSocket from 'ws';
import { pino } from 'pino';
import { startDemo, type Demo } from './demo.js';
import { connectStomp, waitFor } from './_test-utils.js';

let demo: Demo;
let ws: string;
const previousWebSocket = globalThis.WebSocket;

beforeAll(async () => {
  // JsSIP's WebSocketInterface uses the global WebSocket, as in a browser.
  (globalThis as { WebSocket: unknown }).WebSocket = WebSocket;
  JsSIP.debug.disable();
  demo = await startDemo({ port: 0, host: '127.0.0.1', logger: pino({ level: 'silent' }) });
  ws = demo.url.replace('http', 'ws') + '/';
});
afterAll(async () => {
  (globalThis as { WebSocket: unknown }).WebSocket = previousWebSocket;
  await demo?.close();
});

type UA = InstanceType<typeof JsSIP.UA>;

function register(user: string, password = user): Promise<UA> {
  const ua = new JsSIP.UA({ sockets: [new JsSIP.WebSocketInterface(ws)], uri: `sip:${user}@example.com`, password, session_timers: false, connection_recovery_min_interval: 60 });
  return new Promise((resolve, reject) => {
    ua.on('registered', () => resolve(ua));
    ua.on('registrationFailed', (event: { cause?: string }) => reject(new Error(`registration failed: ${event.cause}`)));
    ua.start();
  });
}

function message(ua: UA, target: string, body: string): Promise<void> {
  return new Promise((resolve, reject) => {
    ua.sendMessage(target, body, { eventHandlers: { succeeded: () => resolve(), failed: (event: { cause?: string }) => reject(new Error(String(event.cause))) } });
  });
}

describe('SIP on the demo', () => {
  it('registers alice and bob, relays their MESSAGEs, lists them, and refuses a wrong password', async () => {
    const alice = await register('alice');
    const bob = await register('bob');
    try {
      const got: string[] = [];
      bob.on('newMessage', (event: { originator: string; request: { body: string } }) => {
        if (event.originator === 'remote') got.push(event.request.body);
      });
      await message(alice, 'sip:bob@example.com', 'hello bob');
      expect(await waitFor(() => got[0])).toBe('hello bob');
      const stats = (await (await fetch(demo.url + '/api/stats')).json()) as { sip: { registrations: Array<{ aor: string }> } };
      expect(stats.sip.registrations.map((r) => r.aor).sort()).toEqual(['sip:alice@example.com', 'sip:bob@example.com']);
      const html = await (await fetch(demo.url + '/')).text();
      expect(html).toContain('SIP registrations and recent calls');
      await expect(register('alice', 'wrong')).rejects.toThrow(/registration failed/);
    } finally {
      alice.stop();
      bob.stop();
    }
  });

  it('carries SIP MESSAGEs to MQTT, STOMP and WAMP, and bus messages to a SIP user', async () => {
    const bob = await register('bob');
    const mqtt = await mqttjs.connectAsync(ws, { clientId: 'demo-sip-mqtt', reconnectPeriod: 0 });
    const stomp = await connectStomp(ws);
    const wampy = new Wampy(ws, { realm: 'realm1', ws: WebSocket, autoReconnect: false } as unknown as ConstructorParameters<typeof Wampy>[1]);
    await wampy.connect();
    try {
      const mqttGot: string[] = [];
      mqtt.on('message', (topic, payload) => mqttGot.push(`${topic} ${payload.toString()}`));
      await mqtt.subscribeAsync('sip/chat');
      const stompGot: string[] = [];
      const subscribed = new Promise<void>((resolve) => stomp.watchForReceipt('sip-sub', () => resolve()));
      stomp.subscribe('/topic/sip.chat', (frame: IMessage) => stompGot.push(frame.body), { receipt: 'sip-sub' });
      await subscribed;
      const wampGot: unknown[] = [];
      await wampy.subscribe('sip.chat', (event: { argsList?: unknown[] }) => void wampGot.push(event.argsList?.[0]));

      await message(bob, 'sip:chat@example.com', 'bob to everyone');
      expect(await waitFor(() => mqttGot[0])).toBe('sip/chat bob to everyone');
      expect(await waitFor(() => stompGot[0])).toBe('bob to everyone');
      expect(await waitFor(() => wampGot[0])).toBe('bob to everyone');

      const bobGot: string[] = [];
      bob.on('newMessage', (event: { originator: string; request: { body: string; getHeader(name: string): string } }) => {
        if (event.originator === 'remote') bobGot.push(`${event.request.getHeader('Content-Type')} ${event.request.body}`);
      });
      await mqtt.publishAsync('sip/bob', 'from mqtt');
      expect(await waitFor(() => bobGot[0])).toMatch(/^text\/plain.* from mqtt$/);
    } finally {
      bob.stop();
      await mqtt.endAsync();
      await stomp.deactivate();
      await wampy.disconnect().catch(() => {});
    }
  });
});
