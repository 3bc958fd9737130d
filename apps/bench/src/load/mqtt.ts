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
import { performance } from 'node:perf_hooks';
import mqttPacket from 'mqtt-packet';
import type { WebSocket } from 'ws';
import { connect, connectMany, FanoutLoop, idleSession, Loop, numberOption, stamp, trafficSession, type LoadGenerator } from './common.js';

interface MqttClient {
  readonly ws: WebSocket;
  send(packet: mqttPacket.Packet): void;
  /** SUBSCRIBE and wait for the SUBACK. */
  subscribe(topic: string, qos: 0 | 1): Promise<void>;
  /** From now on hands every message to `handler` as bytes, without mqtt-packet (the light hot path). */
  raw(handler: (data: Buffer) => void): void;
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
    raw(handler) {
      ws.removeListener('message', parse);
      ws.on('message', handler);
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
  const parse = (data: Buffer): void => void parser.parse(data);
  ws.on('message', parse);
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
  // Light enough that the server saturates first: each PUBLISH is a copy of one packet made with
  // mqtt-packet, with its message id and time stamp written in place, and deliveries are read by
  // offset; mqtt-packet still does CONNECT and SUBSCRIBE.
  const publishers: Array<{ ws: WebSocket; template: Buffer; idAt: number; nextId: number; seq: number }> = [];

  const publish = (p: (typeof publishers)[number]): void => {
    p.nextId = (p.nextId % 65535) + 1;
    loop.outstanding++;
    const packet = Buffer.from(p.template);
    packet.writeUInt16BE(p.nextId, p.idAt);
    packet.writeUInt32LE(p.seq++, p.idAt + 2);
    packet.writeDoubleLE(performance.now(), p.idAt + 2 + 8);
    p.ws.send(packet);
  };
  for (let i = 0; i < pairs; i++) {
    const topic = `bench/p2p/${i}`;
    const subscriber = await mqttConnect(port, `p2p-sub-${i}`, () => {});
    await subscriber.subscribe(topic, 1);
    const delivered = (messageId: number, sentAt: number): void => {
      if (messageId >= 0) subscriber.ws.send(Buffer.from([0x40, 0x02, messageId >> 8, messageId & 0xff]));
      loop.outstanding--;
      loop.window.record(sentAt);
      if (loop.running) publish(publishers[i]!);
    };
    // A server that writes a packet in pieces (Aedes over a ws stream writes header and payload
    // apart) gets mqtt-packet's streaming parser from its first piece on.
    let streaming: ReturnType<typeof mqttPacket.parser> | undefined;
    subscriber.raw((data: Buffer) => {
      if (streaming) return void streaming.parse(data);
      // PUBLISH at QoS 1 (type 3): remaining length, topic, message id, payload.
      let at = 1;
      let length = -1;
      let shift = 0;
      let sum = 0;
      while (at < data.length) {
        const byte = data[at++]!;
        sum += (byte & 0x7f) << shift;
        shift += 7;
        if ((byte & 0x80) === 0) {
          length = sum;
          break;
        }
      }
      // Anything but one whole PUBLISH in this message (a piece of one: a lone header byte, say).
      if (data[0]! >> 4 !== 3 || length < 2 || at + length !== data.length) {
        streaming = mqttPacket.parser({ protocolVersion: 4 });
        streaming.on('packet', (packet: mqttPacket.Packet) => {
          if (packet.cmd === 'publish') delivered(packet.qos === 0 ? -1 : packet.messageId!, (packet.payload as Buffer).readDoubleLE(8));
        });
        return void streaming.parse(data);
      }
      at += 2 + data.readUInt16BE(at);
      // QoS 1 carries a message id before the payload; a QoS 0 delivery has none and needs no PUBACK.
      if ((data[0]! & 0x06) === 0) delivered(-1, data.readDoubleLE(at + 8));
      else delivered(data.readUInt16BE(at), data.readDoubleLE(at + 2 + 8));
    });
    const publisher = await mqttConnect(port, `p2p-pub-${i}`, () => {});
    publisher.raw(() => {}); // PUBACKs: nothing to do with them
    const template = mqttPacket.generate({ cmd: 'publish', topic, payload: stamp(0, size), qos: 1, messageId: 1, retain: false, dup: false });
    let idAt = 1;
    while (template[idAt]! & 0x80) idAt++;
    idAt += 1 + 2 + Buffer.byteLength(topic);
    publishers.push({ ws: publisher.ws, template, idAt, nextId: 0, seq: 0 });
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
