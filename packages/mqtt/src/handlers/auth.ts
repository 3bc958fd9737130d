/**
 * AUTH: MQTT 5.0 enhanced authentication (§4.12), at CONNECT and for re-authentication.
 */
import { CloseCode } from '@protoplex/core';
import { ReasonCode } from '../constants.js';
import type { AuthPacket } from '../codec.js';
import type { EnhancedAuthStep } from '../types.js';
import type { MqttSession } from '../session.js';
import { hookFailure, isPromise, refusal, violation } from '../_helpers.js';
import { completeConnect } from './connect.js';

export function handleAuth(session: MqttSession, packet: AuthPacket): void {
  if (session.version !== 5) {
    throw violation(CloseCode.ProtocolError, 'AUTH is an MQTT 5 packet');
  }
  const method = packet.properties?.authenticationMethod;
  // MQTT 5.0 §3.15.2.2.2: the Authentication Method MUST be the one of the CONNECT.
  if (session.authMethod === undefined || method !== session.authMethod) {
    throw violation(CloseCode.ProtocolError, 'AUTH with another authentication method', ReasonCode.ProtocolError);
  }
  const data = packet.properties?.authenticationData;
  if (session.phase === 'authenticating') {
    if (packet.reasonCode !== ReasonCode.ContinueAuthentication) {
      throw violation(CloseCode.ProtocolError, 'AUTH must continue authentication', ReasonCode.ProtocolError);
    }
    runEnhancedAuth(session, data, false, (result) => completeConnect(session, session.connectClean, session.connectKeepAlive, session.connectExtra(result)));
    return;
  }
  if (packet.reasonCode === ReasonCode.ReAuthenticate && !session.reauthenticating) {
    session.reauthenticating = true;
    session.authStep = 0;
    session.authState = {};
    runEnhancedAuth(session, data, true, () => undefined);
    return;
  }
  if (packet.reasonCode === ReasonCode.ContinueAuthentication && session.reauthenticating) {
    runEnhancedAuth(session, data, true, () => undefined);
    return;
  }
  throw violation(CloseCode.ProtocolError, 'unexpected AUTH', ReasonCode.ProtocolError);
}

export function runEnhancedAuth(session: MqttSession, data: Buffer | undefined, reauthenticate: boolean, onSuccess: (data: Buffer | undefined) => void): void {
  const hook = session.options.enhancedAuth!;
  let step: EnhancedAuthStep | Promise<EnhancedAuthStep>;
  try {
    step = hook({ client: session.client, method: session.authMethod!, data, step: session.authStep++, reauthenticate, state: session.authState });
  } catch (error) {
    throw hookFailure(error, session.context.log);
  }
  const apply = (result: EnhancedAuthStep): void => {
    if (result.status === 'continue') {
      // MQTT 5.0 §4.12: the Server answers with AUTH 0x18 (Continue authentication).
      session.sendPacket({
        cmd: 'auth',
        reasonCode: ReasonCode.ContinueAuthentication,
        properties: { authenticationMethod: session.authMethod!, ...(result.data ? { authenticationData: result.data } : {}) },
      });
      session.blocked = false;
      return;
    }
    if (result.status === 'success') {
      session.authStep = 0;
      session.authState = {};
      if (reauthenticate) {
        session.reauthenticating = false;
        session.sendPacket({
          cmd: 'auth',
          reasonCode: ReasonCode.Success,
          properties: { authenticationMethod: session.authMethod!, ...(result.data ? { authenticationData: result.data } : {}) },
        });
        session.blocked = false;
        session.drainBacklog();
      } else onSuccess(result.data);
      return;
    }
    const code = result.reasonCode ?? ReasonCode.NotAuthorized;
    if (reauthenticate) throw violation(CloseCode.PolicyViolation, 're-authentication failed', code);
    throw refusal(code, CloseCode.PolicyViolation, 'authentication failed');
  };
  if (isPromise(step)) {
    session.blocked = true;
    session.after(step, (result) => session.phase !== 'closed' && apply(result));
  } else apply(step);
}
