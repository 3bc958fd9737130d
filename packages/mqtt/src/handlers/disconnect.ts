/**
 * DISCONNECT from the client: will and session expiry, then a normal close.
 */
import { CloseCode } from '@protoplex/core';
import { ReasonCode } from '../constants.js';
import type { DisconnectPacket } from '../codec.js';
import type { MqttSession } from '../session.js';
import { violation } from '../_helpers.js';

export function handleDisconnect(session: MqttSession, packet: DisconnectPacket): void {
  if (session.version === 5) {
    const expiry = packet.properties?.sessionExpiryInterval;
    if (expiry !== undefined) {
      // MQTT 5.0 §3.14.2.2.2: "If the Session Expiry Interval in the CONNECT packet was
      // zero, then it is a Protocol Error to set a non-zero Session Expiry Interval in the
      // DISCONNECT packet sent by the Client."
      if (session.connectExpiry === 0 && expiry !== 0) {
        throw violation(CloseCode.ProtocolError, 'session expiry set on DISCONNECT after 0 on CONNECT', ReasonCode.ProtocolError);
      }
      if (session.state) session.state.expiryInterval = Math.min(expiry, session.options.sessionExpiryMaximum);
    }
    // [MQTT-3.1.2-10] (5.0) the will is removed on "a DISCONNECT packet with a Reason Code of
    // 0x00 (Normal disconnection)"; 0x04 (Disconnect with Will Message) keeps it.
    session.willOnClose = packet.reasonCode === ReasonCode.DisconnectWithWill;
  } else {
    // [MQTT-3.14.4-3] (3.1.1) "On receipt of DISCONNECT the Server MUST discard any Will Message
    // associated with the current connection without publishing it".
    session.willOnClose = false;
  }
  session.closeNormally();
}
