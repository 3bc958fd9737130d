/**
 * Small helpers shared by the session and its packet handlers (internal, never exported).
 */
import { CloseCode, INTERNAL_ERROR_MESSAGE, ProtocolError, ProtocolErrorCode, type Logger } from '@protoplex/core';
import { ConnackReturnCode, ReasonCode } from './constants.js';
import type { AppMessage } from './sessions.js';
import type { MqttMessage } from './types.js';

export const PINGRESP = Buffer.from([0xd0, 0x00]);

export const ACK_PUBACK = 0x40;
export const ACK_PUBREC = 0x50;
export const ACK_PUBREL = 0x62;
export const ACK_PUBCOMP = 0x70;

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

/**
 * What `MqttSession.fail` answers before it closes, carried as a `ProtocolError`'s detail.
 * Without a reason code (or without a detail) there is no MQTT answer, only the close.
 */
export interface MqttFault {
  /**
   * The MQTT 5.0 reason code: 5.0 clients get it in a CONNACK while none was sent, in a
   * DISCONNECT after. 3.1.1 has no DISCONNECT from the server ([MQTT-4.8.0-1]).
   */
  readonly reasonCode?: number;
  /** The CONNECT is refused: a 3.1.1 client that got no CONNACK yet gets one, with the nearest return code. */
  readonly refuse?: boolean;
  /** The CONNECT's protocol level when the broker does not speak it: the CONNACK takes that level's form. */
  readonly level?: number;
}

/** A violation after which the connection closes with `closeCode`, answered with `reasonCode` when given. */
export function violation(closeCode: number, message: string, reasonCode?: number): ProtocolError<MqttFault> {
  return new ProtocolError<MqttFault>(closeCode, message, reasonCode === undefined ? {} : { detail: { reasonCode } });
}

/** A refused CONNECT: CONNACK `reasonCode` (3.1.1: the nearest return code), then the close. */
export function refusal(reasonCode: number, closeCode: number, message: string): ProtocolError<MqttFault> {
  return new ProtocolError<MqttFault>(closeCode, message, { detail: { reasonCode, refuse: true } });
}

/** A CONNECT of a protocol level this broker does not speak (only 4 and 5): CONNACK, close 1002. */
export function unsupportedLevel(level: number): ProtocolError<MqttFault> {
  return new ProtocolError<MqttFault>(CloseCode.ProtocolError, `unsupported MQTT protocol level ${level}`, {
    detail: { reasonCode: ReasonCode.UnsupportedProtocolVersion, refuse: true, level },
  });
}

/**
 * A hook threw or rejected (or the persistence failed during CONNECT): logged, answered 0x80
 * Unspecified error (a refused CONNECT, so 3.1.1 gets CONNACK 0x03 before its CONNACK), closed 1011.
 */
export function hookFailure(error: unknown, log: Logger): ProtocolError<MqttFault> {
  log.error({ err: error }, 'mqtt hook failed');
  return new ProtocolError<MqttFault>(CloseCode.InternalError, INTERNAL_ERROR_MESSAGE, {
    code: ProtocolErrorCode.Internal,
    cause: error,
    detail: { reasonCode: ReasonCode.UnspecifiedError, refuse: true },
  });
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
