/**
 * Small helpers shared by the session and its packet handlers (internal, never exported).
 */
import { ConnackReturnCode, ReasonCode } from './constants.js';
import type { AppMessage } from './broker.js';
import type { MqttMessage } from './types.js';

export const PINGRESP = Buffer.from([0xd0, 0x00]);

export const ACK_PUBACK = 0x40;
export const ACK_PUBREC = 0x50;
export const ACK_PUBREL = 0x62;
export const ACK_PUBCOMP = 0x70;
const MAX_REASON_BYTES = 123;

/** A 4-byte acknowledgement: valid in 3.1.1, and in 5.0 for reason code 0 without properties (§3.4.2.1). */
export function ack(type: number, packetId: number): Buffer {
  const bytes = Buffer.allocUnsafe(4);
  bytes[0] = type;
  bytes[1] = 2;
  bytes[2] = packetId >> 8;
  bytes[3] = packetId & 0xff;
  return bytes;
}

export function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/** Cuts a close reason to 123 bytes of UTF-8 (RFC 6455 §5.5.1). */
export function closeReason(text: string): string {
  if (Buffer.byteLength(text) <= MAX_REASON_BYTES) return text;
  let out = text.slice(0, MAX_REASON_BYTES);
  while (Buffer.byteLength(out) > MAX_REASON_BYTES) out = out.slice(0, -1);
  return out;
}

/** The nearest 3.1.1 CONNACK return code for a 5.0 reason code. */
export function connackCodeV4(reasonCode: number): number {
  switch (reasonCode) {
    case ReasonCode.UnsupportedProtocolVersion:
      return ConnackReturnCode.UnacceptableProtocolVersion;
    case ReasonCode.ClientIdentifierNotValid:
      return ConnackReturnCode.IdentifierRejected;
    case ReasonCode.BadUserNameOrPassword:
      return ConnackReturnCode.BadUsernameOrPassword;
    case ReasonCode.ServerUnavailable:
    case ReasonCode.ServerBusy:
    case ReasonCode.UnspecifiedError:
    case ReasonCode.ImplementationSpecificError:
      return ConnackReturnCode.ServerUnavailable;
    default:
      return ConnackReturnCode.NotAuthorized;
  }
}

export function hookMessage(message: AppMessage): MqttMessage {
  const props = message.properties;
  return {
    topic: message.topic,
    payload: message.payload,
    qos: message.qos,
    retain: message.retain,
    ...(props?.contentType !== undefined ? { contentType: props.contentType } : {}),
    ...(props?.userProperties !== undefined ? { userProperties: props.userProperties } : {}),
  };
}
