/**
 * PUBREL: the client releases a QoS 2 message it published; answer PUBCOMP.
 */
import { ReasonCode } from '../constants.js';
import type { MqttSession } from '../session.js';
import { ack, ACK_PUBCOMP } from '../_helpers.js';

export function handlePubrel(session: MqttSession, packetId: number): void {
  const state = session.state!;
  if (!state.releaseIncomingQos2(packetId)) {
    if (session.version === 5) {
      session.sendPacket({ cmd: 'pubcomp', messageId: packetId, reasonCode: ReasonCode.PacketIdentifierNotFound });
      return;
    }
  } else session.broker.store.markDirty(state);
  session.write(ack(ACK_PUBCOMP, packetId));
}
