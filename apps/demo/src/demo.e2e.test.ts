import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqttjs from 'mqtt';
import { Client, Stomp, type IMessage } from '@stomp/stompjs';
import WebSocket from 'ws';
import { RPCClient } from 'ocpp-rpc';
import { pino } from 'pino';
import { startDemo, type Demo } from './demo.js';
import { connectStomp, waitFor } from './_test-utils.js';

let demo: Demo;
let ws: string;

beforeAll(async () => {
  demo = await startDemo({ port: 0, host: '127.0.0.1', logger: pino({ level: 'silent' }) });
  ws = demo.url.replace('http', 'ws');
});
afterAll(() => demo?.close());


describe('demo server', () => {
  it('serves the dashboard listing every IANA subprotocol and which adapter serves it', async () => {
    const html = await (await fetch(demo.url + '/')).text();
    expect(html).toContain('<code>mqtt</code>');
    expect(html).toContain('<code>v12.stomp</code>');
    expect(html).toContain('<code>ocpp2.0.1</code>');
    expect(html).toContain('<code>wamp</code>');
    expect(html).toContain('<b>mqtt</b> on <code>/</code>');
    expect(html).toContain('<b>ocpp</b> on <code>/ocpp/{identity}</code>');
    expect((html.match(/<tr/g) ?? []).length).toBeGreaterThanOrEqual(70);
  });

  it('answers /healthz and /metrics', async () => {
    expect(await (await fetch(demo.url + '/healthz')).json()).toMatchObject({ status: 'ok' });
    expect(await (await fetch(demo.url + '/metrics')).text()).toContain('protoplex_connections_open');
  });

  it('refuses an unknown subprotocol on / with 400 listing what is served', async () => {
    const status = await new Promise<number>((resolve) => {
      const client = new WebSocket(ws + '/', 'soap');
      client.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      client.on('error', () => {});
    });
    expect(status).toBe(400);
  });

  it('bridges topics across MQTT (MQTT.js), STOMP (stompjs) and the lines protocol', async () => {
    const mqttGot: string[] = [];
    const stompGot: string[] = [];
    const linesGot: string[] = [];
    const m = await mqttjs.connectAsync(ws + '/', { protocolVersion: 5, clientId: 'demo-e2e', reconnectPeriod: 0 });
    m.on('message', (topic, payload) => mqttGot.push(`${topic} ${payload.toString()}`));
    await m.subscribeAsync('bridge/#');
    const stomp = await connectStomp(ws + '/');
    stomp.subscribe('/topic/bridge.#', (message: IMessage) => stompGot.push(`${message.headers.destination} ${message.body}`), { receipt: 'r1' });
    const lines = new WebSocket(ws + '/', 'lines.protoplex.dev');
    await new Promise((resolve) => lines.on('open', resolve));
    lines.on('message', (data) => linesGot.push(data.toString()));
    lines.send('SUB bridge.#');
    await waitFor(() => (linesGot.includes('OK SUB bridge.#') ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, 100));

    await m.publishAsync('bridge/a', 'from mqtt');
    stomp.publish({ destination: '/topic/bridge.b', body: 'from stomp' });
    lines.send('PUB bridge.c from lines');

    await waitFor(() => (mqttGot.length >= 3 && stompGot.length >= 3 && linesGot.length >= 4 ? true : undefined));
    expect(mqttGot.sort()).toEqual(['bridge/a from mqtt', 'bridge/b from stomp', 'bridge/c from lines']);
    expect(stompGot.sort()).toEqual(['/topic/bridge.a from mqtt', '/topic/bridge.b from stomp', '/topic/bridge.c from lines']);
    expect(linesGot.filter((l) => l.startsWith('MSG')).sort()).toEqual(['MSG bridge.a from mqtt', 'MSG bridge.b from stomp', 'MSG bridge.c from lines']);

    await m.endAsync();
    await stomp.deactivate();
    lines.close();
  });

  it('refuses an OCPP station that offers no subprotocol (OCPP-J requires one): upgraded, then closed with 1002', async () => {
    const station = new WebSocket(ws + '/ocpp/CP-NONE');
    const close = await new Promise<number>((resolve) => station.on('close', (code) => resolve(code)));
    expect(close).toBe(1002);
  });

  it('recognises a stompjs Stomp.over() client that offers no subprotocol, which receives what MQTT.js publishes', async () => {
    const sockets: WebSocket[] = [];
    // stompjs's compatibility API over a ws WebSocket created without protocols, as in the
    // stompjs docs: `Stomp.over(() => new WebSocket(url))`.
    const client = Stomp.over(() => {
      const socket = new WebSocket(ws + '/');
      sockets.push(socket);
      return socket;
    });
    client.debug = () => {};
    client.reconnect_delay = 0;
    await new Promise<void>((resolve, reject) => {
      client.connect({}, () => resolve(), (frame: unknown) => reject(new Error(`STOMP error: ${String(frame)}`)));
    });
    expect(sockets).toHaveLength(1);
    expect(sockets[0]!.protocol).toBe('');
    // STOMP's version came from accept-version (stompjs offers 1.2, 1.1, 1.0).
    expect(client.version).toBe('1.2');
    const stompConnection = [...demo.server.connections].find((c) => c.adapter === 'stomp' && c.request.headers['sec-websocket-protocol'] === undefined);
    expect(stompConnection?.protocol).toBe('v12.stomp');

    const got: string[] = [];
    const subscribed = new Promise<void>((resolve) => client.watchForReceipt('compat-sub', () => resolve()));
    client.subscribe('/topic/compat.#', (message: IMessage) => got.push(`${message.headers.destination} ${message.body}`), { receipt: 'compat-sub' });
    await subscribed;

    const m = await mqttjs.connectAsync(ws + '/', { protocolVersion: 5, clientId: 'demo-e2e-compat', reconnectPeriod: 0 });
    await m.publishAsync('compat/a', 'from mqtt');
    await waitFor(() => (got.length >= 1 ? true : undefined));
    expect(got).toEqual(['/topic/compat.a from mqtt']);

    await m.endAsync();
    await new Promise<void>((resolve) => client.disconnect(() => resolve()));
  });

  it('recognises an MQTT.js client that offers no subprotocol, which exchanges messages with a STOMP client', async () => {
    const offered: string[][] = [];
    const sockets: WebSocket[] = [];
    const m = await mqttjs.connectAsync(ws + '/', {
      protocolVersion: 4,
      clientId: 'demo-e2e-no-header',
      reconnectPeriod: 0,
      // MQTT.js offers `mqtt` by default; this factory offers nothing.
      createWebsocket: (url: string, protocols: string[]) => {
        offered.push(protocols);
        const socket = new WebSocket(url);
        sockets.push(socket);
        return socket;
      },
    });
    expect(offered).toEqual([['mqtt']]);
    expect(sockets[0]!.protocol).toBe('');
    const mqttConnection = [...demo.server.connections].find((c) => c.adapter === 'mqtt' && c.request.headers['sec-websocket-protocol'] === undefined);
    expect(mqttConnection?.protocol).toBe('mqtt');
    const stats = (await (await fetch(demo.url + '/api/stats')).json()) as { mqtt: { clients: Array<{ clientId: string; version: number }> } };
    expect(stats.mqtt.clients).toContainEqual(expect.objectContaining({ clientId: 'demo-e2e-no-header', version: 4 }));

    const mqttGot: string[] = [];
    m.on('message', (topic, payload) => mqttGot.push(`${topic} ${payload.toString()}`));
    await m.subscribeAsync('plain/#');

    const stompGot: string[] = [];
    const stomp = await connectStomp(ws + '/');
    const subscribed = new Promise<void>((resolve) => stomp.watchForReceipt('plain-sub', () => resolve()));
    stomp.subscribe('/topic/plain.#', (message: IMessage) => stompGot.push(`${message.headers.destination} ${message.body}`), { receipt: 'plain-sub' });
    await subscribed;

    stomp.publish({ destination: '/topic/plain.to-mqtt', body: 'from stomp' });
    await m.publishAsync('plain/to-stomp', 'from mqtt');
    await waitFor(() => (mqttGot.length >= 2 && stompGot.length >= 2 ? true : undefined));
    expect(mqttGot.sort()).toEqual(['plain/to-mqtt from stomp', 'plain/to-stomp from mqtt']);
    expect(stompGot.sort()).toEqual(['/topic/plain.to-mqtt from stomp', '/topic/plain.to-stomp from mqtt']);

    await m.endAsync();
    await stomp.deactivate();
  });

  it('closes a client that offers no subprotocol and sends something no adapter speaks with 1002 naming what / serves', async () => {
    const client = new WebSocket(ws + '/');
    await new Promise((resolve) => client.on('open', resolve));
    const closedWith = new Promise<{ code: number; reason: string }>((resolve) => client.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    client.send('GET / HTTP/1.1');
    const { code, reason } = await closedWith;
    expect(code).toBe(1002);
    expect(reason).toMatch(/^unrecognised first message; this path serves mqtt, /);
    expect(reason).toContain('v12.stomp');
  });

  it('lets an OCPP 1.6 station (ocpp-rpc) boot on /ocpp/{identity} and takes a command through the bus', async () => {
    // ocpp-rpc's typings mark every option as required; its documented defaults fill the rest.
    const station = new RPCClient({ endpoint: ws + '/ocpp', identity: 'CP-E2E', protocols: ['ocpp1.6'], strictMode: true, reconnect: false } as unknown as ConstructorParameters<typeof RPCClient>[0]);
    const resets: unknown[] = [];
    station.handle('Reset', async ({ params }: { params?: unknown }) => {
      resets.push(params);
      return { status: 'Accepted' };
    });
    await station.connect();
    const boot = (await station.call('BootNotification', { chargePointVendor: 'Acme', chargePointModel: 'One' })) as { status: string };
    expect(boot.status).toBe('Accepted');

    const stats = (await (await fetch(demo.url + '/api/stats')).json()) as { ocpp: { stations: Array<{ identity: string; protocol: string }> } };
    expect(stats.ocpp.stations).toContainEqual(expect.objectContaining({ identity: 'CP-E2E', protocol: 'ocpp1.6' }));

    const response = await fetch(demo.url + '/api/ocpp/CP-E2E/Reset', { method: 'POST', body: JSON.stringify({ type: 'Soft' }) });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'Accepted' });
    expect(resets).toEqual([{ type: 'Soft' }]);
    await station.close();
  });
});
