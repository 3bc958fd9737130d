/**
 * PUBREC: the client received a QoS 2 message from the broker; answer PUBREL.
 */
import { ReasonCode } from '../constants.js';
import type { MqttSession } from '../session.js';
import { ack, ACK_PUBREL } from '../_helpers.js';

export function handlePubrec(session: MqttSession, packetId: number, reasonCode: number): void {
  const state = session.state!;
  const delivery = state.inflight.get(packetId);
  if (!delivery || delivery.qos !== 2) {
    // MQTT 5.0 §3.6.2.1: PUBREL 0x92 (Packet Identifier not found).
    if (session.version === 5) session.sendPacket({ cmd: 'pubrel', messageId: packetId, reasonCode: ReasonCode.PacketIdentifierNotFound });
    else session.write(ack(ACK_PUBREL, packetId));
    return;
  }
  if (reasonCode >= 0x80) {
    // [MQTT-4.4.0-2] (5.0) "If PUBACK or PUBREC is received containing a Reason Code of 0x80 or
    // greater the corresponding PUBLISH packet is treated as acknowledged, and MUST NOT be retransmitted."
    session.broker.complete(state, packetId);
    return;
  }
  delivery.released = true;
  session.broker.store.markDirty(state);
  session.write(ack(ACK_PUBREL, packetId));
}
