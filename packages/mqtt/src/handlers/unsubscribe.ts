/**
 * UNSUBSCRIBE: remove each filter and answer UNSUBACK.
 */
import { ReasonCode } from '../constants.js';
import type { UnsubscribePacket } from '../codec.js';
import type { MqttSession } from '../session.js';

export function handleUnsubscribe(session: MqttSession, packet: UnsubscribePacket): void {
  const state = session.state!;
  const codes: number[] = [];
  for (const filter of packet.unsubscriptions) {
    const existed = session.broker.unsubscribe(state, filter);
    codes.push(existed ? ReasonCode.Success : ReasonCode.NoSubscriptionExisted);
  }
  // [MQTT-3.10.4-4] "The Server MUST respond to an UNSUBSCRIBE request by sending an UNSUBACK packet."
  if (session.version === 5) session.sendPacket({ cmd: 'unsuback', messageId: packet.messageId!, granted: codes });
  else session.sendPacket({ cmd: 'unsuback', messageId: packet.messageId!, granted: [] });
}
