// WAMP on the demo, with the real clients: Autobahn|JS (msgpack) and wampy (JSON) in realm1,
// and topics crossing to MQTT and STOMP through the bus.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import autobahn from 'autobahn';
import { Wampy } from 'wampy';
import mqttjs from 'mqtt';
import type { IMessage } from '@stomp/stompjs';
import WebSocket from 'ws';
import { pino } from 'pino';
import { startDemo, type Demo } from './demo.js';
import { connectStomp, waitFor } from './_test-utils.js';

let demo: Demo;
let ws: string;

beforeAll(async () => {
  demo = await startDemo({ port: 0, host: '127.0.0.1', logger: pino({ level: 'silent' }) });
  ws = demo.url.replace('http', 'ws') + '/';
});
afterAll(() => demo?.close());

const openAutobahn = (): Promise<{ connection: autobahn.Connection; session: autobahn.Session }> =>
  new Promise((resolve, reject) => {
    const connection = new autobahn.Connection({ url: ws, realm: 'realm1', max_retries: 0, retry_if_unreachable: false, serializers: [new (autobahn as unknown as { serializer: { MsgpackSerializer: new () => unknown } }).serializer.MsgpackSerializer()] } as autobahn.IConnectionOptions);
    connection.onopen = (session) => resolve({ connection, session });
    connection.onclose = (reason) => {
      reject(new Error(`autobahn closed: ${reason}`));
      return true;
    };
    connection.open();
  });

describe('WAMP on the demo', () => {
  it('lets Autobahn|JS and wampy call each other and meet MQTT and STOMP on the bus', async () => {
    const { connection, session } = await openAutobahn();
    const wampy = new Wampy(ws, { realm: 'realm1', ws: WebSocket, autoReconnect: false } as unknown as ConstructorParameters<typeof Wampy>[1]);
    await wampy.connect();
    try {
      // RPC across the two clients (and serializers: msgpack callee, JSON caller).
      await session.register('demo.add', (args?: unknown[]) => (args as number[])[0]! + (args as number[])[1]!);
      const sum = await wampy.call('demo.add', [2, 3]);
      expect(sum.argsList).toEqual([5]);

      // MQTT -> WAMP and STOMP -> WAMP through the bus.
      const got: unknown[] = [];
      await session.subscribe('demo.wamp', (args?: unknown[]) => void got.push(args?.[0]));
      const mqtt = await mqttjs.connectAsync(ws, { clientId: 'demo-wamp-mqtt', reconnectPeriod: 0 });
      await mqtt.publishAsync('demo/wamp', 'from mqtt');
      const stomp = await connectStomp(ws);
      stomp.publish({ destination: '/topic/demo.wamp', body: '{"from":"stomp"}', headers: { 'content-type': 'application/json' } });
      await waitFor(() => (got.length >= 2 ? true : undefined));
      expect(got).toEqual(['from mqtt', { from: 'stomp' }]);

      // WAMP -> MQTT and WAMP -> STOMP.
      const mqttGot: string[] = [];
      const stompGot: string[] = [];
      mqtt.on('message', (topic, payload) => mqttGot.push(`${topic} ${payload.toString()}`));
      await mqtt.subscribeAsync('demo/from_wamp');
      const subscribed = new Promise<void>((resolve) => stomp.watchForReceipt('wamp-sub', () => resolve()));
      stomp.subscribe('/topic/demo.from_wamp', (message: IMessage) => stompGot.push(message.body), { receipt: 'wamp-sub' });
      await subscribed;
      await wampy.publish('demo.from_wamp', ['hello']);
      await waitFor(() => (mqttGot.length > 0 && stompGot.length > 0 ? true : undefined));
      expect(mqttGot).toEqual(['demo/from_wamp hello']);
      expect(stompGot).toEqual(['hello']);

      // The meta API and the dashboard see both sessions.
      expect((await wampy.call('wamp.session.count')).argsList).toEqual([2]);
      const stats = (await (await fetch(demo.url + '/api/stats')).json()) as { wamp: { realms: Array<{ name: string; sessions: unknown[]; registrations: Array<{ uri: string }> }> } };
      const realm = stats.wamp.realms.find((r) => r.name === 'realm1')!;
      expect(realm.sessions).toHaveLength(2);
      expect(realm.registrations.map((r) => r.uri)).toContain('demo.add');

      await stomp.deactivate();
      await mqtt.endAsync();
    } finally {
      await wampy.disconnect().catch(() => {});
      connection.close();
    }
  });
});
