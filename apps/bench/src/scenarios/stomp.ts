import { windows } from './windows.js';
import type { Scenario } from '../types.js';


export const stompTopicFanout: Scenario = {
  name: 'stomp-topic-fanout',
  description:
    'STOMP 1.2 over WebSocket: 1 producer, 100 subscribers of /topic/bench.fanout (ack:auto), 64-byte text bodies, 4 SENDs in flight; deliveries per second. Reference: a raw ws server handling the same frames by hand.',
  metric: 'throughput',
  unit: 'deliveries/s',
  higherIsBetter: true,
  subject: { label: 'protoplex', server: 'protoplex-stomp' },
  reference: { label: 'ws-raw', server: 'ws-stomp' },
  load: ({ mode }) => ({ name: 'stomp-fanout', options: { subscribers: 100, inflight: 4, size: 64, ...windows(mode) } }),
};

export const stompQueueClientIndividual: Scenario = {
  name: 'stomp-queue-client-individual',
  description:
    'STOMP 1.2 over WebSocket: 1 producer, 10 consumers of /queue/bench with ack:client-individual and prefetch-count:10, each MESSAGE ACKed at once, 50 messages in flight; messages consumed per second.',
  metric: 'throughput',
  unit: 'msg/s',
  higherIsBetter: true,
  subject: { label: 'protoplex', server: 'protoplex-stomp' },
  reference: { label: 'ws-raw', server: 'ws-stomp' },
  load: ({ mode }) => ({ name: 'stomp-queue', options: { consumers: 10, prefetch: 10, inflight: 50, size: 64, ...windows(mode) } }),
};
