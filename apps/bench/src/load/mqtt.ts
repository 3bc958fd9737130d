/**
 * MQTT loads, spoken with `ws` + `mqtt-packet` (MQTT 3.1.1, subprotocol `mqtt`):
 *
 * - `mqtt-fanout`: `subscribers` clients subscribe at QoS 0 to one topic; one publisher keeps
 *   `inflight` QoS 0 publishes not yet delivered everywhere. Deliveries per second.
 * - `mqtt-p2p`: `pairs` publisher/subscriber pairs on their own topic at QoS 1, `inflight`
 *   publishes per pair not yet delivered; subscribers PUBACK each delivery. Messages per second.
 * - `mqtt-idle`: `connections` clients that CONNECT (keep alive `keepalive` s), SUBSCRIBE to
 *   `idle/<n>/#` at QoS 1 and then stay silent, held between the marks `before` and `after`.
 *
 * Payloads carry a sequence number and the send time (performance.now()) for latency.
 */
import mqttPacket from 'mqtt-packet';
import type { WebSocket } from 'ws';
import { connect, connectMany, FanoutLoop, idleSession, Loop, numberOption, stamp, trafficSession, type LoadGenerator } from './common.js';

interface MqttClient {
  readonly ws: WebSocket;
  send(packet: mqttPacket.Packet): void;
  /** SUBSCRIBE and wait for the SUBACK. */
  subscribe(topic: string, qos: 0 | 1): Promise<void>;
}

/** Connects, sends CONNECT, waits for CONNACK; later PUBLISH packets go to `onPublish`. */
async function mqttConnect(
  port: number,
  clientId: string,
  onPublish: (packet: mqttPacket.IPublishPacket, client: MqttClient) => void,
  keepalive = 0,
): Promise<MqttClient> {
  const ws = await connect(`ws://127.0.0.1:${port}/`, ['mqtt']);
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  let suback: (() => void) | undefined;
  const client: MqttClient = {
    ws,
    send: (packet) => ws.send(mqttPacket.generate(packet)),
    subscribe(topic, qos) {
      const done = new Promise<void>((resolve) => (suback = resolve));
      client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos }] });
      return done;
    },
  };
  const connack = new Promise<void>((resolve, reject) => {
    parser.on('packet', (packet: mqttPacket.Packet) => {
      if (packet.cmd === 'connack') {
        if (packet.returnCode === 0) resolve();
        else reject(new Error(`CONNACK ${packet.returnCode}`));
        return;
      }
      if (packet.cmd === 'suback') {
        suback?.();
        suback = undefined;
        return;
      }
      if (packet.cmd === 'publish') onPublish(packet, client);
    });
    parser.on('error', reject);
    ws.once('close', (code) => reject(new Error(`closed with ${code} before CONNACK`)));
  });
  ws.on('message', (data: Buffer) => parser.parse(data));
  client.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId, keepalive });
  await connack;
  return client;
}

export const mqttFanoutLoad: LoadGenerator = async ({ port, options }) => {
  const subscribers = numberOption(options, 'subscribers', 100);
  const inflight = numberOption(options, 'inflight', 4);
  const size = numberOption(options, 'size', 64);
  const topic = 'bench/fanout';
  let publisher: MqttClient | undefined;
  const loop = new FanoutLoop(subscribers, (seq) =>
    publisher!.send({ cmd: 'publish', topic, payload: stamp(seq, size), qos: 0, retain: false, dup: false }),
  );
  const onPublish = (packet: mqttPacket.IPublishPacket): void => {
    const payload = packet.payload as Buffer;
    loop.delivered(payload.readUInt32LE(0), payload.readDoubleLE(8));
  };
  const subs = await connectMany(
    subscribers,
    async (i) => {
      const client = await mqttConnect(port, `sub-${i}`, onPublish);
      await client.subscribe(topic, 0);
      return loop.watch(client.ws, 'subscriber');
    },
    50,
  );
  publisher = await mqttConnect(port, 'pub', () => {});
  return trafficSession(options, loop.traffic([publisher.ws, ...subs], () => loop.publish(inflight)));
};

export const mqttP2pLoad: LoadGenerator = async ({ port, options }) => {
  const pairs = numberOption(options, 'pairs', 10);
  const inflight = numberOption(options, 'inflight', 10);
  const size = numberOption(options, 'size', 64);
  const loop = new Loop();
  const sockets: WebSocket[] = [];
  const publishers: Array<{ client: MqttClient; topic: string; nextId: number; seq: number }> = [];

  const publish = (p: (typeof publishers)[number]): void => {
    p.nextId = (p.nextId % 65535) + 1;
    loop.outstanding++;
    p.client.send({ cmd: 'publish', topic: p.topic, payload: stamp(p.seq++, size), qos: 1, messageId: p.nextId, retain: false, dup: false });
  };
  for (let i = 0; i < pairs; i++) {
    const topic = `bench/p2p/${i}`;
    const subscriber = await mqttConnect(port, `p2p-sub-${i}`, (packet, client) => {
      if (packet.qos === 1) client.send({ cmd: 'puback', messageId: packet.messageId! });
      loop.outstanding--;
      loop.window.record((packet.payload as Buffer).readDoubleLE(8));
      if (loop.running) publish(publishers[i]!);
    });
    await subscriber.subscribe(topic, 1);
    const publisher = await mqttConnect(port, `p2p-pub-${i}`, () => {});
    publishers.push({ client: publisher, topic, nextId: 0, seq: 0 });
    sockets.push(subscriber.ws, publisher.ws);
    loop.watch(subscriber.ws, 'subscriber');
  }
  return trafficSession(
    options,
    loop.traffic(sockets, () => {
      for (const p of publishers) for (let k = 0; k < inflight; k++) publish(p);
    }),
  );
};

export const mqttIdleLoad: LoadGenerator = async ({ port, options }) => {
  const connections = numberOption(options, 'connections', 2000);
  // Keep-alive on, as a real client has it: the server then watches each connection's deadline.
  const keepalive = numberOption(options, 'keepalive', 60);
  return idleSession(options, (round) =>
    connectMany(
      connections,
      async (i) => {
        const client = await mqttConnect(port, `idle-${round}-${i}`, () => {}, keepalive);
        await client.subscribe(`idle/${i}/#`, 1);
        return client.ws;
      },
      50,
    ),
  );
};
