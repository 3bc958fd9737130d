/**
 * The `mqtt(options)` factory: the ProtocolAdapter object. It wires the broker (broker.ts) and
 * per-connection sessions (session.ts) together and holds no protocol rules of its own.
 */
import { isValidTopicName, resolveOptions, type AdapterContext, type Connection, type ProtocolAdapter, type Session } from '@protoplex/core';
import { Broker } from './broker.js';
import { createMemoryPersistence } from './persistence.js';
import { MqttSession } from './session.js';
import type { MqttOptions, MqttStats, ResolvedOptions } from './types.js';

/**
 * Every option's default (each is documented on {@link MqttOptions}). Hooks default to absent
 * (permissive); `persistence` to a fresh `createMemoryPersistence()` per adapter.
 */
export const mqttDefaults = {
  aliases: false,
  maxPacketSize: 256 * 1024,
  maximumQoS: 2 as 0 | 1 | 2,
  receiveMaximum: 64,
  maxInflight: 64,
  topicAliasMaximum: 16,
  outboundTopicAliases: true,
  maxQueuedMessages: 1000,
  keepAliveMaximum: 0,
  sessionExpiryMaximum: 0xffffffff,
  retainAvailable: true,
  sharedSubscriptions: true,
  sysInterval: 10,
  connectTimeout: 30_000,
} as const;

/** First byte of a CONNECT: packet type 1, reserved flags 0 (3.1.1 §3.1.1 and [MQTT-2.2.2-1]; 5.0 §3.1.1 and [MQTT-2.1.3-1]). */
const CONNECT_FIRST_BYTE = 0x10;

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
    ...resolveOptions(mqttDefaults, options),
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
    /**
     * A client that offered no subprotocol speaks MQTT when its first message starts a CONNECT:
     * [MQTT-6.0.0-1] packets travel in binary frames, and [MQTT-3.1.0-1] the first packet is a
     * CONNECT. One byte is enough, and all there may be: MQTT.js sends a packet's first byte as a
     * WebSocket message of its own. The CONNECT's protocol level then picks the version, as for
     * any connection. `mqttv3.1` is never the answer: this broker does not speak level 3
     * (MQTT 3.1, `MQIsdp`), so such a CONNECT is refused with CONNACK 0x01 on `mqtt` as always.
     */
    recognize(data, isBinary) {
      if (!isBinary || typeof data === 'string' || data.length === 0) return undefined;
      return data[0] === CONNECT_FIRST_BYTE ? 'mqtt' : undefined;
    },
    shutdown() {
      return broker.shutdown();
    },
    stats() {
      return broker.stats();
    },
    publish(topic, payload, publishOptions = {}) {
      if (!isValidTopicName(topic)) throw new TypeError(`invalid MQTT topic name ${JSON.stringify(topic)}`);
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
