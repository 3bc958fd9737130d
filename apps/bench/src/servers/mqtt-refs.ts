/**
 * MQTT references: Aedes over `ws` (as Aedes's docs show: `ws.createWebSocketStream(socket)`
 * handed to `aedes.handle`), and a raw `ws` broker for exactly the bench's flow (CONNECT,
 * SUBSCRIBE to exact topics, PUBLISH QoS 0/1, PUBACK, PINGREQ) written with mqtt-packet.
 */
import { createServer } from 'node:http';
import { Aedes } from 'aedes';
import mqttPacket from 'mqtt-packet';
import { createWebSocketStream, WebSocket, WebSocketServer } from 'ws';
import { closeAll, listen } from './ws.js';
import type { ServerFactory } from './types.js';

const mqttOnly = (protocols: Set<string>): string | false => (protocols.has('mqtt') ? 'mqtt' : false);

export const aedesWs: ServerFactory = async () => {
  const aedes = await Aedes.createBroker();
  const http = createServer();
  const wss = new WebSocketServer({ server: http, perMessageDeflate: false, handleProtocols: mqttOnly });
  wss.on('connection', (ws) => {
    const stream = createWebSocketStream(ws);
    stream.on('error', () => {});
    aedes.handle(stream);
  });
  const port = await listen(http);
  return {
    port,
    connections: () => wss.clients.size,
    close: async () => {
      await closeAll(wss, http);
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
    },
  };
};

interface RawClient {
  readonly ws: WebSocket;
  nextId: number;
  readonly topics: Set<string>;
}

export const wsMqtt: ServerFactory = async () => {
  const http = createServer();
  const wss = new WebSocketServer({ server: http, perMessageDeflate: false, handleProtocols: mqttOnly });
  /** Exact topic -> subscriber -> granted QoS. */
  const topics = new Map<string, Map<RawClient, 0 | 1>>();
  const send = (client: RawClient, packet: mqttPacket.Packet): void => {
    client.ws.send(mqttPacket.generate(packet));
  };
  const deliver = (packet: mqttPacket.IPublishPacket): void => {
    const subscribers = topics.get(packet.topic);
    if (!subscribers) return;
    let qos0: Buffer | undefined;
    for (const [client, granted] of subscribers) {
      const qos = Math.min(granted, packet.qos) as 0 | 1;
      if (qos === 0) {
        // One encoding for every QoS 0 subscriber, as a hand-written broker would do.
        qos0 ??= mqttPacket.generate({ cmd: 'publish', topic: packet.topic, payload: packet.payload, qos: 0, retain: false, dup: false });
        client.ws.send(qos0);
      } else {
        client.nextId = (client.nextId % 65535) + 1;
        send(client, { cmd: 'publish', topic: packet.topic, payload: packet.payload, qos: 1, messageId: client.nextId, retain: false, dup: false });
      }
    }
  };
  wss.on('connection', (ws) => {
    const client: RawClient = { ws, nextId: 0, topics: new Set() };
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    parser.on('packet', (packet: mqttPacket.Packet) => {
      switch (packet.cmd) {
        case 'connect':
          send(client, { cmd: 'connack', returnCode: 0, sessionPresent: false });
          break;
        case 'subscribe': {
          const granted: number[] = [];
          for (const { topic, qos } of packet.subscriptions) {
            const q = Math.min(qos, 1) as 0 | 1;
            let subscribers = topics.get(topic);
            if (!subscribers) topics.set(topic, (subscribers = new Map()));
            subscribers.set(client, q);
            client.topics.add(topic);
            granted.push(q);
          }
          send(client, { cmd: 'suback', messageId: packet.messageId, granted });
          break;
        }
        case 'publish':
          deliver(packet);
          if (packet.qos === 1) send(client, { cmd: 'puback', messageId: packet.messageId! });
          break;
        case 'pingreq':
          send(client, { cmd: 'pingresp' });
          break;
        case 'disconnect':
          ws.close();
          break;
        default:
          // PUBACK from subscribers and anything else the flow does not need.
          break;
      }
    });
    parser.on('error', () => ws.close(1002));
    ws.on('message', (data: Buffer) => parser.parse(data));
    ws.on('close', () => {
      for (const topic of client.topics) topics.get(topic)?.delete(client);
    });
  });
  const port = await listen(http);
  return { port, connections: () => wss.clients.size, close: () => closeAll(wss, http) };
};

/**
 * The ceiling of the QoS 1 point-to-point flow: a relay that parses no MQTT beyond the first
 * byte. Connections pair up in the order the load opens them (subscriber, then publisher);
 * CONNECT gets a canned CONNACK, SUBSCRIBE a SUBACK with its message id, PINGREQ a PINGRESP,
 * and every PUBLISH and PUBACK is forwarded to the pair's other side as it came, so the
 * subscriber's PUBACK carries the publisher's own message id back.
 */
export const wsMqttRelay: ServerFactory = async () => {
  const http = createServer();
  const wss = new WebSocketServer({ server: http, perMessageDeflate: false, handleProtocols: mqttOnly });
  const CONNACK = Buffer.from([0x20, 0x02, 0x00, 0x00]);
  const PINGRESP = Buffer.from([0xd0, 0x00]);
  const waiting: WebSocket[] = [];
  const peers = new Map<WebSocket, WebSocket>();
  wss.on('connection', (ws) => {
    const first = waiting.shift();
    if (first) {
      peers.set(first, ws);
      peers.set(ws, first);
    } else waiting.push(ws);
    ws.on('message', (data: Buffer) => {
      switch (data[0]! >> 4) {
        case 1: // CONNECT
          ws.send(CONNACK);
          return;
        case 8: // SUBSCRIBE: message id after a one-byte remaining length (short filters)
          ws.send(Buffer.from([0x90, 0x03, data[2]!, data[3]!, 0x01]));
          return;
        case 12: // PINGREQ
          ws.send(PINGRESP);
          return;
        case 14: // DISCONNECT
          ws.close();
          return;
        default:
          peers.get(ws)?.send(data);
      }
    });
    ws.on('close', () => {
      const peer = peers.get(ws);
      peers.delete(ws);
      if (peer) peers.delete(peer);
      const index = waiting.indexOf(ws);
      if (index >= 0) waiting.splice(index, 1);
    });
  });
  const port = await listen(http);
  return { port, connections: () => wss.clients.size, close: () => closeAll(wss, http) };
};

