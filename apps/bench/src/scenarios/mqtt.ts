import { adapterSides, adapterThroughput } from './adapter.js';
import type { Scenario } from '../types.js';

/** Every MQTT scenario's sides: Aedes over ws, and a raw ws broker for the same flow. */
const mqttSides = () => adapterSides('protoplex-mqtt', { label: 'aedes', server: 'aedes-ws' }, { label: 'ws-raw', server: 'ws-mqtt' });

/** @protoplex/mqtt vs Aedes over ws (and a raw ws broker), QoS 0 to 100 subscribers. */
export const mqttQos0Fanout: Scenario = adapterThroughput(mqttSides(), {
  name: 'mqtt-qos0-fanout',
  description:
    'MQTT 3.1.1 over WebSocket: 1 publisher, 100 subscribers of one topic at QoS 0, 64-byte payloads, 4 publishes in flight; deliveries per second. Client: ws + mqtt-packet. References: Aedes (ws.createWebSocketStream piped to aedes.handle) and a raw ws broker for the same flow. Also run on a server with every demo adapter mounted (@all).',
  unit: 'deliveries/s',
  allMounted: true,
  load: 'mqtt-fanout',
  options: { subscribers: 100, inflight: 4, size: 64 },
});

/**
 * @protoplex/mqtt vs Aedes over ws, the raw ws broker, and the ceiling (issue 13): a byte relay
 * that forwards each PUBLISH to the pair's subscriber and each PUBACK back without parsing MQTT.
 */
export const mqttQos1P2p: Scenario = adapterThroughput(adapterSides('protoplex-mqtt', { label: 'aedes', server: 'aedes-ws' }, { label: 'ws-raw', server: 'ws-mqtt' }, { label: 'byte-relay', server: 'ws-mqtt-relay' }), {
  name: 'mqtt-qos1-p2p',
  description:
    'MQTT 3.1.1 over WebSocket: 10 publisher/subscriber pairs, each on its own topic at QoS 1 (PUBACK both ways), 10 publishes in flight per pair; messages delivered per second. References: Aedes, the raw ws broker, and a byte relay that forwards PUBLISH and PUBACK without parsing MQTT (the ceiling). The load writes each PUBLISH from a template and reads deliveries by offset, so the server saturates first. Also run on a server with every demo adapter mounted (@all).',
  unit: 'msg/s',
  allMounted: true,
  load: 'mqtt-p2p',
  options: { pairs: 10, inflight: 10, size: 64 },
});

/**
 * The QoS 0 fan-out at ten times the subscribers: one publish reaches 1,000 clients, as in the
 * core `fanout` scenario, so the broker's per-delivery cost dominates, not the round trip.
 */
export const mqttQos0Fanout1k: Scenario = adapterThroughput(mqttSides(), {
  name: 'mqtt-qos0-fanout-1k',
  description:
    'MQTT 3.1.1 over WebSocket: 1 publisher, 1,000 subscribers of one topic at QoS 0, 64-byte payloads, 4 publishes in flight; deliveries per second (--full only). References: Aedes and the raw ws broker.',
  unit: 'deliveries/s',
  fullOnly: true,
  load: 'mqtt-fanout',
  options: { subscribers: 1000, inflight: 4, size: 64 },
});

/**
 * What an idle MQTT client costs the broker: the `idle-memory` scenario's measurement with a
 * client that has CONNECTed (keep alive 60 s) and holds one subscription.
 */
export const mqttIdleMemory: Scenario = {
  name: 'mqtt-idle-memory',
  description:
    'Server RSS growth per idle MQTT 3.1.1 client (after global.gc()): CONNECT with keep alive 60 s and one SUBSCRIBE (idle/<n>/#, QoS 1), then silence; 2,000 clients (--full only). Lower is better; the ratio is reference over subject. References: Aedes and the raw ws broker.',
  metric: 'rss-per-connection',
  unit: 'B/conn',
  higherIsBetter: false,
  fullOnly: true,
  ...mqttSides(),
  gcAtMarks: true,
  freshServerPerRound: true,
  load: ({ mode }) => ({
    name: 'mqtt-idle',
    // 2,000 in both modes: each client costs the server about ten times an idle echo connection,
    // so the growth is well above RSS page noise, and a round stays near 4 s per side.
    options: { connections: 2000, keepalive: 60, settleMs: mode === 'full' ? 1000 : 300 },
  }),
};
