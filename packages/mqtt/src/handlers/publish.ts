/**
 * PUBLISH from a client: topic and alias rules, QoS 2 duplicate suppression, `authorizePublish`, acknowledgement.
 */
import { isUtf8 } from 'node:buffer';
import { CloseCode, isValidTopicName } from '@protoplex/core';
import { ReasonCode } from '../constants.js';
import type { PublishPacket } from '../codec.js';
import type { AppMessage } from '../sessions.js';
import type { MqttSession } from '../session.js';
import { ack, isPromise, hookMessage, violation, ACK_PUBACK, ACK_PUBREC } from '../_helpers.js';

export function handlePublish(session: MqttSession, packet: PublishPacket): void {
  const v5 = session.version === 5;
  const qos = packet.qos;
  const packetId = packet.messageId ?? 0;
  if (qos === 0 && packet.dup) {
    // [MQTT-3.3.1-2] "The DUP flag MUST be set to 0 for all QoS 0 messages."
    throw violation(CloseCode.ProtocolError, 'DUP set on a QoS 0 PUBLISH', ReasonCode.MalformedPacket);
  }
  if (qos > 0 && packetId === 0) {
    // [MQTT-2.2.1-3] PUBLISH with QoS > 0 "MUST contain a non-zero 16-bit Packet Identifier".
    throw violation(CloseCode.ProtocolError, 'packet identifier 0', ReasonCode.ProtocolError);
  }
  if (qos > session.options.maximumQoS) {
    // 5.0 §3.3.1.2: "If the Server included a Maximum QoS in its CONNACK response to a Client and it
    // receives a PUBLISH packet with a QoS greater than this then it uses DISCONNECT with Reason Code
    // 0x9B (QoS not supported)". 3.1.1 has no such code: the connection is closed, as Mosquitto's
    // max_qos does for 3.1.1 clients.
    throw violation(CloseCode.PolicyViolation, 'QoS not supported', ReasonCode.QoSNotSupported);
  }
  let topic = packet.topic;
  const props = packet.properties;
  if (v5 && props) {
    const alias = props.topicAlias;
    if (alias !== undefined) {
      // [MQTT-3.3.2-8] "A sender MUST NOT send a PUBLISH packet containing a Topic Alias which has
      // the value 0"; a value above the Server's Topic Alias Maximum is a Protocol Error: 0x94.
      if (alias === 0 || alias > session.options.topicAliasMaximum) {
        throw violation(CloseCode.ProtocolError, 'topic alias out of range', ReasonCode.TopicAliasInvalid);
      }
      session.inAliases ??= new Map();
      if (topic.length > 0) session.inAliases.set(alias, topic);
      else {
        const known = session.inAliases.get(alias);
        if (known === undefined) {
          throw violation(CloseCode.ProtocolError, 'unknown topic alias', ReasonCode.ProtocolError);
        }
        topic = known;
      }
    }
    if (props.subscriptionIdentifier !== undefined) {
      // [MQTT-3.3.4-6] "A PUBLISH packet sent from a Client to a Server MUST NOT contain a
      // Subscription Identifier."
      throw violation(CloseCode.ProtocolError, 'subscription identifier in a client PUBLISH', ReasonCode.ProtocolError);
    }
  }
  // [MQTT-3.3.2-2] "The Topic Name in the PUBLISH packet MUST NOT contain wildcard characters."
  if (!isValidTopicName(topic)) {
    throw violation(CloseCode.ProtocolError, 'invalid topic name', ReasonCode.TopicNameInvalid);
  }
  if (packet.retain && !session.options.retainAvailable) {
    // MQTT 5.0 §3.2.2.3.5: a PUBLISH with RETAIN 1 when the Server said Retain Available 0 "is a
    // Protocol Error"; the Reason Code is 0x9A (Retain not supported).
    throw violation(CloseCode.ProtocolError, 'retain not supported', ReasonCode.RetainNotSupported);
  }
  const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
  if (v5 && props?.payloadFormatIndicator === true && !isUtf8(payload)) {
    // MQTT 5.0 §3.3.2.3.2: a receiver MAY check a UTF-8 payload and answer 0x99 Payload format invalid.
    if (qos === 0) throw violation(CloseCode.InvalidFramePayloadData, 'payload is not UTF-8', ReasonCode.PayloadFormatInvalid);
    session.sendPacket({ cmd: qos === 1 ? 'puback' : 'pubrec', messageId: packetId, reasonCode: ReasonCode.PayloadFormatInvalid });
    return;
  }
  const state = session.state!;
  if (qos === 2) {
    if (state.incomingQos2.has(packetId)) {
      // [MQTT-4.3.3-10] (5.0) until PUBREL "the receiver MUST acknowledge any subsequent PUBLISH
      // packet with the same Packet Identifier by sending a PUBREC. It MUST NOT cause duplicate
      // messages to be delivered to any onward recipients in session case."
      session.write(ack(ACK_PUBREC, packetId));
      return;
    }
    if (state.incomingQos2.size >= session.options.receiveMaximum) {
      // MQTT 5.0 §3.3.4: more unacknowledged QoS 2 PUBLISH packets than the Server's Receive
      // Maximum: "it uses DISCONNECT with Reason Code 0x93 (Receive Maximum exceeded)".
      throw violation(CloseCode.PolicyViolation, 'receive maximum exceeded', ReasonCode.ReceiveMaximumExceeded);
    }
  }
  const message = session.appMessage(topic, payload, qos, packet.retain, props, session.client.id);
  const authorize = session.options.authorizePublish;
  if (!authorize) {
    accept(session, message, packetId);
    return;
  }
  let allowed: boolean | Promise<boolean>;
  try {
    allowed = authorize({ client: session.client, message: hookMessage(message) });
  } catch (error) {
    session.context.log.warn({ err: error }, 'authorizePublish threw');
    allowed = false;
  }
  if (isPromise(allowed)) {
    session.blocked = true;
    session.after(
      allowed,
      (ok) => session.afterHook(() => (ok ? accept(session, message, packetId) : deny(session, message, packetId))),
      (error: unknown) => {
        session.context.log.warn({ err: error }, 'authorizePublish failed');
        session.afterHook(() => deny(session, message, packetId));
      },
    );
  } else if (allowed) accept(session, message, packetId);
  else deny(session, message, packetId);
}

function accept(session: MqttSession, message: AppMessage, packetId: number): void {
  session.broker.messagesIn++;
  if (message.qos === 2) {
    session.state!.addIncomingQos2(packetId);
    session.broker.store.markDirty(session.state!);
  }
  session.broker.publish(message, session.client);
  if (message.qos === 1) session.write(ack(ACK_PUBACK, packetId));
  else if (message.qos === 2) session.write(ack(ACK_PUBREC, packetId));
}

/**
 * [MQTT-3.3.5-2] (3.1.1) an unauthorized PUBLISH: the Server "MUST either make a positive
 * acknowledgement, according to the normal QoS rules, or close the Network Connection";
 * 5.0 answers PUBACK/PUBREC 0x87 (Not authorized).
 */
function deny(session: MqttSession, message: AppMessage, packetId: number): void {
  if (message.qos === 0) return;
  if (session.version === 5) {
    session.sendPacket({ cmd: message.qos === 1 ? 'puback' : 'pubrec', messageId: packetId, reasonCode: ReasonCode.NotAuthorized, properties: { reasonString: 'not authorized' } });
    return;
  }
  if (message.qos === 2) {
    session.state!.addIncomingQos2(packetId);
    session.broker.store.markDirty(session.state!);
  }
  session.write(ack(message.qos === 1 ? ACK_PUBACK : ACK_PUBREC, packetId));
}
