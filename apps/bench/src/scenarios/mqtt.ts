import { windows } from './windows.js';
import type { Scenario } from '../types.js';


/** @protoplex/mqtt vs Aedes over ws (and a raw ws broker), QoS 0 to 100 subscribers. */
export const mqttQos0Fanout: Scenario = {
  name: 'mqtt-qos0-fanout',
  description:
    'MQTT 3.1.1 over WebSocket: 1 publisher, 100 subscribers of one topic at QoS 0, 64-byte payloads, 4 publishes in flight; deliveries per second. Client: ws + mqtt-packet. References: Aedes (ws.createWebSocketStream piped to aedes.handle) and a raw ws broker for the same flow.',
  metric: 'throughput',
  unit: 'deliveries/s',
  higherIsBetter: true,
  subject: { label: 'protoplex', server: 'protoplex-mqtt' },
  reference: { label: 'aedes', server: 'aedes-ws' },
  extraReferences: [{ label: 'ws-raw', server: 'ws-mqtt' }],
  load: ({ mode }) => ({ name: 'mqtt-fanout', options: { subscribers: 100, inflight: 4, size: 64, ...windows(mode) } }),
};

/** @protoplex/mqtt vs Aedes over ws (and a raw ws broker), QoS 1 between 10 pairs. */
export const mqttQos1P2p: Scenario = {
  name: 'mqtt-qos1-p2p',
  description:
    'MQTT 3.1.1 over WebSocket: 10 publisher/subscriber pairs, each on its own topic at QoS 1 (PUBACK both ways), 10 publishes in flight per pair; messages delivered per second.',
  metric: 'throughput',
  unit: 'msg/s',
  higherIsBetter: true,
  subject: { label: 'protoplex', server: 'protoplex-mqtt' },
  reference: { label: 'aedes', server: 'aedes-ws' },
  extraReferences: [{ label: 'ws-raw', server: 'ws-mqtt' }],
  load: ({ mode }) => ({ name: 'mqtt-p2p', options: { pairs: 10, inflight: 10, size: 64, ...windows(mode) } }),
};
