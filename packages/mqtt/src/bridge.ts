/**
 * MQTT messages <-> bus messages. MQTT topics are the bus's canonical topics, so only the
 * properties change form: the 5.0 content type is `contentType`, user properties are `headers`.
 * Which messages cross, and when, is the broker's business (its `BusBridge`).
 */
import type { BusMessage } from '@protoplex/core';
import type { UserProperties } from './codec.js';
import type { StoredMessageProperties } from './persistence.js';
import type { AppMessage } from './sessions.js';
import type { MqttClient } from './types.js';

/** The bus message of an accepted MQTT message (`client` null for the broker's own). */
export function toBusMessage(message: AppMessage, client: MqttClient | null): BusMessage {
  const props = message.properties;
  // One literal with every key (undefined when absent) keeps one object shape on the hot path.
  return {
    topic: message.topic,
    payload: message.payload,
    qos: message.qos,
    origin: client ? { protocol: 'mqtt', connectionId: client.connectionId } : { protocol: 'mqtt' },
    retain: message.retain,
    contentType: props?.contentType,
    headers: props?.userProperties ? flattenUserProperties(props.userProperties) : undefined,
  };
}

/** A message another protocol put on the bus, as the broker routes it (`now`: clock ms). */
export function fromBusMessage(message: BusMessage, now: number): AppMessage {
  const headers = message.headers;
  let properties: StoredMessageProperties | undefined;
  if (message.contentType !== undefined || headers !== undefined) {
    properties = {
      ...(message.contentType !== undefined ? { contentType: message.contentType } : {}),
      ...(headers !== undefined && Object.keys(headers).length > 0 ? { userProperties: { ...headers } } : {}),
    };
  }
  const payload = Buffer.isBuffer(message.payload) ? message.payload : Buffer.from(message.payload.buffer, message.payload.byteOffset, message.payload.byteLength);
  return {
    topic: message.topic,
    payload,
    qos: message.qos,
    retain: message.retain === true,
    receivedAt: now,
    ...(properties ? { properties } : {}),
  };
}

/** MQTT user properties (a name may repeat) to bus headers (one value per name, joined by ", "). */
export function flattenUserProperties(properties: UserProperties): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of Object.keys(properties)) {
    const value = properties[name]!;
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}
