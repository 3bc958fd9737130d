// The bus carries only what someone wants: with every demo adapter mounted and nobody listening
// elsewhere, traffic from MQTT, STOMP, WAMP and OCPP stations builds no bus
// message at all. Before the core review the MQTT broker subscribed to '#', so every publish of
// every protocol was built and delivered to it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqttjs from 'mqtt';
import type { IMessage } from '@stomp/stompjs';
import WebSocket from 'ws';
import { RPCClient } from 'ocpp-rpc';
import { Wampy } from 'wampy';
import { pino } from 'pino';
import { createMemoryBus, type Bus, type BusMessage } from '@protoplex/core';
import { startDemo, type Demo } from './demo.js';
import { connectStomp } from './_test-utils.js';

const published: BusMessage[] = [];
const memory = createMemoryBus();
const bus: Bus = {
  publish(message) {
    published.push(message);
    return memory.publish(message);
  },
  subscribe: (filter, handler, options) => memory.subscribe(filter, handler, options),
  hasSubscribers: (topic, except) => memory.hasSubscribers(topic, except),
};

let demo: Demo;
let ws: string;

beforeAll(async () => {
  demo = await startDemo({ port: 0, host: '127.0.0.1', logger: pino({ level: 'silent' }), bus });
  ws = demo.url.replace('http', 'ws');
});
afterAll(() => demo?.close());

const settle = (ms = 150): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));


describe('demo bus with every adapter mounted', () => {
  it('builds no bus message for traffic that nobody outside its own protocol wants', async () => {
    // MQTT to MQTT, STOMP to STOMP, lines to lines: each protocol delivers to its own clients
    // without the bus.
    const m = await mqttjs.connectAsync(ws + '/', { protocolVersion: 5, clientId: 'quiet-mqtt', reconnectPeriod: 0 });
    const mqttGot: string[] = [];
    m.on('message', (topic) => mqttGot.push(topic));
    await m.subscribeAsync('quiet/mqtt/#');
    const stomp = await connectStomp(ws + '/');
    const stompGot: string[] = [];
    stomp.subscribe('/topic/quiet.stomp', (message: IMessage) => stompGot.push(message.body));
    await settle();
    const wampy = new Wampy(ws + '/', { realm: 'realm1', ws: WebSocket, autoReconnect: false } as unknown as ConstructorParameters<typeof Wampy>[1]);
    await wampy.connect();
    const wampGot: unknown[] = [];
    await wampy.subscribe('quiet.wamp', (event: { argsList?: unknown[] }) => void wampGot.push(event.argsList?.[0]));
    const station = new RPCClient({ endpoint: ws + '/ocpp', identity: 'QUIET-1', protocols: ['ocpp1.6'], strictMode: true, reconnect: false } as unknown as ConstructorParameters<typeof RPCClient>[0]);
    await station.connect();

    const before = published.length;
    await m.publishAsync('quiet/mqtt/a', 'x', { qos: 1 });
    await m.publishAsync('nobody/listens', 'x');
    stomp.publish({ destination: '/topic/quiet.stomp', body: 'y' });
    stomp.publish({ destination: '/topic/nobody.listens', body: 'y' });
    await station.call('BootNotification', { chargePointVendor: 'Acme', chargePointModel: 'Q' });
    await station.call('Heartbeat', {});
    // Publisher exclusion is on (wampy cannot ask for exclude_me:false), so this reaches nobody.
    await wampy.publish('quiet.wamp', ['z']);
    await wampy.publish('nobody.listens', ['z']);
    await settle();

    expect(wampGot).toEqual([]);
    expect(mqttGot).toEqual(['quiet/mqtt/a']);
    expect(stompGot).toEqual(['y']);
    expect(published.slice(before).map((message) => message.topic)).toEqual([]);

    // The control: once a STOMP client wants MQTT's topic and an MQTT client wants the
    // station's traffic, exactly those messages are built, once each.
    stomp.subscribe('/topic/quiet.mqtt.#', () => {});
    await m.subscribeAsync('ocpp/cp/QUIET-1/#');
    await settle();
    await m.publishAsync('quiet/mqtt/b', 'x');
    await station.call('Heartbeat', {});
    await settle();
    expect(published.slice(before).map((message) => message.topic).sort()).toEqual(['ocpp/cp/QUIET-1/Heartbeat', 'ocpp/cp/QUIET-1/Heartbeat/result', 'quiet/mqtt/b']);

    await wampy.disconnect();
    await station.close();
    await stomp.deactivate();
    await m.endAsync();
  });
});
