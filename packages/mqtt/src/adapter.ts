/**
 * The `mqtt(options)` factory: the ProtocolAdapter object. It wires the broker (broker.ts) and
 * per-connection sessions (session.ts) together and holds no protocol rules of its own.
 */
import type { AdapterContext, Connection, ProtocolAdapter, Session } from '@protoplex/core';
import { Broker } from './broker.js';
import { createMemoryPersistence } from './persistence.js';
import { MqttSession } from './session.js';
import type { MqttOptions, MqttStats, ResolvedOptions } from './types.js';

/** Every option's default. Hooks default to absent (permissive). */
export const defaultOptions = {
  /** Also negotiate the unregistered `mqttv3.1` id some old clients offer. @default false */
  aliases: false,
  /**
   * Largest packet accepted from a client, in bytes; sent to 5.0 clients as Maximum Packet Size.
   * Kept strictly below the server's `maxPayload` (1 MiB by default) so that an oversized packet
   * arriving in one WebSocket message is still read far enough for MQTT to answer it (5.0:
   * DISCONNECT 0x95) before the close 1009; a message above `maxPayload` is closed 1009 by the
   * transport without an MQTT answer. @default 262144 (256 KiB)
   */
  maxPacketSize: 256 * 1024,
  /** Highest QoS accepted from clients and granted to subscriptions (5.0 Maximum QoS in CONNACK when below 2). @default 2 */
  maximumQoS: 2 as 0 | 1 | 2,
  /** QoS 2 PUBLISH packets a client may have unreleased (5.0 Receive Maximum sent in CONNACK). @default 64 */
  receiveMaximum: 64,
  /** Most QoS 1/2 messages in flight to one client, whatever its own Receive Maximum says. @default 64 */
  maxInflight: 64,
  /** Topic aliases a 5.0 client may use towards the broker (Topic Alias Maximum in CONNACK). @default 16 */
  topicAliasMaximum: 16,
  /** Use topic aliases towards 5.0 clients that allow them (saves bytes, disables buffer sharing for them). @default true */
  outboundTopicAliases: true,
  /** QoS 1/2 messages queued per session beyond its in-flight window (online or offline); more are dropped. @default 1000 */
  maxQueuedMessages: 1000,
  /** Seconds; when > 0, 5.0 clients asking for 0 or more get this as Server Keep Alive. @default 0 (accept the client's) */
  keepAliveMaximum: 0,
  /** Seconds a session may outlive its connection; 3.1.1 persistent sessions get exactly this. @default 4294967295 (never expire) */
  sessionExpiryMaximum: 0xffffffff,
  /** Retained messages are supported. @default true */
  retainAvailable: true,
  /** `$share/{group}/{filter}` subscriptions are supported. @default true */
  sharedSubscriptions: true,
  /** Seconds between `$SYS/broker/...` updates; 0 turns them off. @default 10 */
  sysInterval: 10,
  /** Milliseconds a connection may stay without CONNECT before it is closed. @default 30000 */
  connectTimeout: 30_000,
} as const;

/** The MQTT adapter: a `ProtocolAdapter` plus the broker's own API. */
export interface MqttAdapter extends ProtocolAdapter {
  readonly name: 'mqtt';
  /** Clients, sessions, retained messages and message counts, JSON-serialisable. */
  stats(): MqttStats;
  /**
   * Publishes an application message as the broker (retained store, MQTT subscribers, the bus).
   * @param topic a topic name without wildcards
   */
  publish(topic: string, payload: Uint8Array | string, options?: { qos?: 0 | 1 | 2; retain?: boolean; contentType?: string; userProperties?: Record<string, string> }): void;
}

/**
 * Creates the MQTT 3.1.1 and 5.0 broker adapter, served under the IANA id `mqtt`.
 */
export function mqtt(options: MqttOptions = {}): MqttAdapter {
  const resolved: ResolvedOptions = {
    ...defaultOptions,
    ...stripUndefined(options),
    persistence: options.persistence ?? createMemoryPersistence(),
  };
  const broker = new Broker(resolved);
  return {
    name: 'mqtt',
    protocols: ['mqtt'],
    ...(resolved.aliases ? { aliases: ['mqttv3.1'] } : {}),
    setup(context: AdapterContext) {
      return broker.setup(context);
    },
    open(connection: Connection, context: AdapterContext): Session {
      return new MqttSession(connection, context, broker);
    },
    shutdown() {
      return broker.shutdown();
    },
    stats() {
      return broker.stats();
    },
    publish(topic, payload, publishOptions = {}) {
      if (!isValidTopic(topic)) throw new TypeError(`invalid MQTT topic name ${JSON.stringify(topic)}`);
      const bytes = typeof payload === 'string' ? Buffer.from(payload) : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
      const properties =
        publishOptions.contentType !== undefined || publishOptions.userProperties !== undefined
          ? {
              ...(publishOptions.contentType !== undefined ? { contentType: publishOptions.contentType } : {}),
              ...(publishOptions.userProperties !== undefined ? { userProperties: publishOptions.userProperties } : {}),
            }
          : undefined;
      broker.publish(
        {
          topic,
          payload: bytes,
          qos: publishOptions.qos ?? 0,
          retain: publishOptions.retain === true,
          receivedAt: broker.clock.now(),
          ...(properties ? { properties } : {}),
        },
        null,
      );
    },
  };
}

function isValidTopic(topic: string): boolean {
  return topic.length > 0 && !topic.includes('+') && !topic.includes('#') && !topic.includes('\u0000');
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  const out: Partial<T> = {};
  for (const key of Object.keys(value) as Array<keyof T>) if (value[key] !== undefined) out[key] = value[key];
  return out;
}
