import { adapterSides, adapterThroughput } from './adapter.js';
import type { Scenario } from '../types.js';

/** Every STOMP scenario's sides: a raw ws server handling the same frames by hand. */
const stompSides = () => adapterSides('protoplex-stomp', { label: 'ws-raw', server: 'ws-stomp' });

export const stompTopicFanout: Scenario = adapterThroughput(stompSides(), {
  name: 'stomp-topic-fanout',
  description:
    'STOMP 1.2 over WebSocket: 1 producer, 100 subscribers of /topic/bench.fanout (ack:auto), 64-byte text bodies, 4 SENDs in flight; deliveries per second. Reference: a raw ws server handling the same frames by hand. Also run on a server with every demo adapter mounted (@all).',
  unit: 'deliveries/s',
  allMounted: true,
  load: 'stomp-fanout',
  options: { subscribers: 100, inflight: 4, size: 64 },
});

export const stompQueueClientIndividual: Scenario = adapterThroughput(stompSides(), {
  name: 'stomp-queue-client-individual',
  description:
    'STOMP 1.2 over WebSocket: 1 producer, 10 consumers of /queue/bench with ack:client-individual and prefetch-count:10, each MESSAGE ACKed at once, 50 messages in flight; messages consumed per second. Also run on a server with every demo adapter mounted (@all).',
  unit: 'msg/s',
  allMounted: true,
  load: 'stomp-queue',
  options: { consumers: 10, prefetch: 10, inflight: 50, size: 64 },
});

/** The topic fan-out with 256-byte bodies and a deep pipeline (50 SENDs in flight). */
export const stompTopicFanout256: Scenario = adapterThroughput(stompSides(), {
  name: 'stomp-topic-fanout-256b',
  description:
    'STOMP 1.2 over WebSocket: 1 producer, 100 subscribers of /topic/bench.fanout (ack:auto), 256-byte text bodies, 50 SENDs in flight; deliveries per second (--full only). Reference: the raw ws server.',
  unit: 'deliveries/s',
  fullOnly: true,
  load: 'stomp-fanout',
  options: { subscribers: 100, inflight: 50, size: 256 },
});
