/**
 * CONNECT: version, client id, session expiry, will and keep-alive rules, then the authentication hooks and CONNACK.
 */
import { CloseCode, isValidTopicName, type QoS } from '@protoplex/core';
import { ConnackReturnCode, ProtocolLevel, ReasonCode } from '../constants.js';
import type { ConnectPacket } from '../codec.js';
import type { AuthenticateResult } from '../types.js';
import type { MqttSession } from '../session.js';
import { hookFailure, hookMessage, isPromise, refusal, unsupportedLevel, violation } from '../_helpers.js';
import { runEnhancedAuth } from './auth.js';

export function handleConnect(session: MqttSession, packet: ConnectPacket): void {
  if (session.phase !== 'awaiting-connect') {
    // [MQTT-3.1.0-2] "The Server MUST process a second CONNECT packet sent from a Client as a
    // Protocol Error and close the Network Connection."
    throw violation(CloseCode.ProtocolError, 'second CONNECT', ReasonCode.ProtocolError);
  }
  const level = packet.protocolVersion ?? 4;
  if (level !== ProtocolLevel.V311 && level !== ProtocolLevel.V5) throw unsupportedLevel(level);
  session.version = level;
  // From here the CONNECT is read: a refusal answers in its version's own CONNACK.
  session.phase = 'connecting';
  if (packet.protocolId !== 'MQTT') {
    // [MQTT-3.1.2-1] (5.0) "The protocol name MUST be the UTF-8 String "MQTT". If the Server does
    // not want to accept the CONNECT, and wishes to reveal that it is an MQTT Server it MAY send a
    // CONNACK packet with Reason Code of 0x84 (Unsupported Protocol Version), and then it MUST
    // close the Network Connection." (3.1.1: 0x01.)
    throw refusal(ReasonCode.UnsupportedProtocolVersion, CloseCode.ProtocolError, `protocol name ${packet.protocolId ?? ''} with level ${level}`);
  }
  session.blocked = true;
  const v5 = level === 5;
  const props = packet.properties;
  const options = session.options;

  let clientId = packet.clientId;
  let assigned = false;
  if (clientId.length === 0) {
    if (!v5 && !packet.clean) {
      // [MQTT-3.1.3-8] (3.1.1) "If the Client supplies a zero-byte ClientId with
      // CleanSession set to 0, the Server MUST respond to the CONNECT Packet with a CONNACK
      // return code 0x02 (Identifier rejected) and then close the Network Connection."
      throw refusal(ReasonCode.ClientIdentifierNotValid, CloseCode.PolicyViolation, 'empty client id needs a clean session');
    }
    // [MQTT-3.1.3-6] (5.0) "A Server MAY allow a Client to supply a ClientID that has a length of
    // zero bytes, however if it does so the Server MUST treat session as a special case and assign
    // a unique ClientID to that Client." [MQTT-3.1.3-7] "It MUST then ... return the Assigned
    // Client Identifier in the CONNACK packet."
    clientId = `ppx-${session.connection.id}-${session.broker.clock.now().toString(36)}`;
    assigned = true;
  }

  if (v5) {
    // MQTT 5.0 §3.1.2.11.3/4: a Receive Maximum or Maximum Packet Size of 0 is a Protocol Error.
    if (props?.receiveMaximum === 0 || props?.maximumPacketSize === 0) {
      throw refusal(ReasonCode.ProtocolError, CloseCode.ProtocolError, 'receive maximum and maximum packet size must not be 0');
    }
    session.sendQuota = Math.min(props?.receiveMaximum ?? 65_535, options.maxInflight);
    if (props?.maximumPacketSize !== undefined) session.clientMaxPacket = props.maximumPacketSize;
    session.clientAliasMax = props?.topicAliasMaximum ?? 0;
    if (session.clientAliasMax > 0) session.outAliases = new Map();
    session.requestProblemInfo = props?.requestProblemInformation !== false;
    session.requestResponseInfo = props?.requestResponseInformation === true;
    session.connectExpiry = Math.min(props?.sessionExpiryInterval ?? 0, options.sessionExpiryMaximum);
  } else {
    // [MQTT-3.1.2-6] (3.1.1) "If CleanSession is set to 1, the Client and Server MUST discard
    // any previous Session and start a new one. This Session lasts as long as the Network
    // Connection." With 0 the session outlives the connection.
    session.connectExpiry = packet.clean ? 0 : options.sessionExpiryMaximum;
  }

  if (packet.will) {
    const willTopic = packet.will.topic;
    if (!isValidTopicName(willTopic)) {
      throw refusal(ReasonCode.TopicNameInvalid, CloseCode.ProtocolError, 'invalid will topic');
    }
    if (packet.will.retain && !options.retainAvailable) {
      // [MQTT-3.2.2-13] (5.0) a will with Will Retain 1 when retain is unavailable: CONNACK 0x9A.
      throw refusal(ReasonCode.RetainNotSupported, CloseCode.PolicyViolation, 'retain not supported');
    }
    if ((packet.will.qos ?? 0) > options.maximumQoS) {
      // [MQTT-3.2.2-12] (5.0) "If a Server receives a CONNECT packet containing a Will QoS that
      // exceeds its capabilities, it MUST reject the connection. It SHOULD use a CONNACK packet with
      // Reason Code 0x9B (QoS not supported)". (3.1.1 clients get 0x05, the nearest code.)
      throw refusal(ReasonCode.QoSNotSupported, CloseCode.PolicyViolation, 'will QoS not supported');
    }
    const willProps = packet.will.properties;
    const payload = typeof packet.will.payload === 'string' ? Buffer.from(packet.will.payload) : packet.will.payload;
    const message = session.appMessage(willTopic, payload, (packet.will.qos ?? 0) as QoS, packet.will.retain === true, willProps, clientId);
    const expiry = willProps?.messageExpiryInterval;
    session.will = { message, delay: willProps?.willDelayInterval ?? 0, ...(expiry !== undefined ? { expiry } : {}) };
  }

  const keepAlive = packet.keepalive ?? 0;
  let serverKeepAlive: number | undefined;
  let effectiveKeepAlive = keepAlive;
  if (v5 && options.keepAliveMaximum > 0 && (keepAlive === 0 || keepAlive > options.keepAliveMaximum)) {
    // [MQTT-3.2.2-21] (5.0) "If the Server sends a Server Keep Alive on the CONNACK packet, the
    // Client MUST use session value instead of the Keep Alive value the Client sent on CONNECT."
    serverKeepAlive = options.keepAliveMaximum;
    effectiveKeepAlive = serverKeepAlive;
  }

  session.client = {
    id: clientId,
    connectionId: session.connection.id,
    version: level,
    ...(packet.username !== undefined ? { username: packet.username } : {}),
    request: session.connection.request,
    auth: session.connection.auth,
  };

  session.connectClean = packet.clean !== false;
  session.connectKeepAlive = effectiveKeepAlive;
  session.connectAssigned = assigned;
  session.connectServerKeepAlive = serverKeepAlive;
  const finish = (authData: Buffer | undefined): void => {
    authorizeWill(session, () => completeConnect(session, session.connectClean, session.connectKeepAlive, session.connectExtra(authData)));
  };

  if (v5 && props?.authenticationMethod !== undefined) {
    if (!options.enhancedAuth) {
      // MQTT 5.0 §4.12: a Server that does not support the Authentication Method "MAY send a
      // CONNACK with a Reason Code of 0x8C (Bad authentication method)".
      throw refusal(ReasonCode.BadAuthenticationMethod, CloseCode.PolicyViolation, 'authentication method not supported');
    }
    session.authMethod = props.authenticationMethod;
    session.authState = {};
    session.phase = 'authenticating';
    runEnhancedAuth(session, props.authenticationData, false, finish);
    return;
  }

  const authenticate = options.authenticate;
  if (!authenticate) {
    finish(undefined);
    return;
  }
  let verdict: boolean | AuthenticateResult | Promise<boolean | AuthenticateResult>;
  try {
    verdict = authenticate({ client: session.client, username: packet.username, password: packet.password });
  } catch (error) {
    throw hookFailure(error, session.context.log);
  }
  const decide = (result: boolean | AuthenticateResult): void => {
    const ok = typeof result === 'boolean' ? result : result.ok;
    if (ok) finish(undefined);
    else {
      const code = typeof result === 'object' && result.reasonCode !== undefined ? result.reasonCode : ReasonCode.NotAuthorized;
      throw refusal(code, CloseCode.PolicyViolation, 'not authorized');
    }
  };
  if (isPromise(verdict)) session.after(verdict, (result) => session.phase !== 'closed' && decide(result));
  else decide(verdict);
}

/**
 * Wills are authorized twice with `authorizePublish`: here, once the client is authenticated, and
 * again when the will is sent (permissions may have changed meanwhile). The spec leaves
 * authorization to the implementation (MQTT 5.0 §5.4.2); a refusal at CONNECT uses the CONNACK code
 * 5.0 gives for it, 0x87 Not authorized (3.1.1: 0x05), so the client learns at once instead of its
 * will vanishing silently later. A throw or rejection counts as a refusal, as for any PUBLISH.
 */
function authorizeWill(session: MqttSession, then: () => void): void {
  const will = session.will;
  const authorize = session.options.authorizePublish;
  if (!will || !authorize) {
    then();
    return;
  }
  const decide = (allowed: boolean): void => {
    if (session.phase === 'closed') return;
    if (allowed) then();
    else throw refusal(ReasonCode.NotAuthorized, CloseCode.PolicyViolation, 'will not authorized');
  };
  let verdict: boolean | Promise<boolean>;
  try {
    verdict = authorize({ client: session.client, message: hookMessage(will.message) });
  } catch (error) {
    session.context.log.warn({ err: error }, 'authorizePublish threw for a will');
    decide(false);
    return;
  }
  if (isPromise(verdict)) {
    session.after(verdict, decide, (error: unknown) => {
      session.context.log.warn({ err: error }, 'authorizePublish failed for a will');
      decide(false);
    });
  } else decide(verdict);
}

export function completeConnect(session: MqttSession, clean: boolean, keepAlive: number, extra: { assigned: boolean; serverKeepAlive: number | undefined; authData: Buffer | undefined }): void {
  session.phase = 'connecting';
  session.blocked = true;
  session.after(session.broker.openSession(session.client.id, session.version, clean), ({ state, present }) => {
    session.state = state;
    state.expiryInterval = session.connectExpiry;
    if (session.phase === 'closed') {
      // The socket went away while the store answered: end it as a lost connection would.
      session.broker.attach(state, session);
      session.broker.detach(state, session, session.will);
      return;
    }
    const v5 = session.version === 5;
    if (v5) {
      const options = session.options;
      const properties: Record<string, unknown> = {
        receiveMaximum: options.receiveMaximum,
        topicAliasMaximum: options.topicAliasMaximum,
        maximumPacketSize: options.maxPacketSize,
      };
      // [MQTT-3.2.2-9] (5.0) "If a Server does not support QoS 1 or QoS 2 PUBLISH packets it MUST
      // send a Maximum QoS in the CONNACK packet specifying the highest QoS it supports."
      if (options.maximumQoS < 2) properties.maximumQoS = options.maximumQoS;
      if (!options.retainAvailable) properties.retainAvailable = false;
      // 5.0 §3.1.2.11.6: Request Response Information 1 asks for Response Information in the
      // CONNACK; [MQTT-3.1.2-28] "A value of 0 indicates that the Server MUST NOT return Response
      // Information." The Server may still send none when it has none to give.
      if (session.requestResponseInfo && options.responseInformation) {
        properties.responseInformation = options.responseInformation({ client: session.client });
      }
      if (!options.sharedSubscriptions) properties.sharedSubscriptionAvailable = false;
      if (extra.assigned) properties.assignedClientIdentifier = session.client.id;
      if (extra.serverKeepAlive !== undefined) properties.serverKeepAlive = extra.serverKeepAlive;
      if (session.authMethod !== undefined) {
        properties.authenticationMethod = session.authMethod;
        if (extra.authData) properties.authenticationData = extra.authData;
      }
      session.sendPacket({ cmd: 'connack', reasonCode: ReasonCode.Success, sessionPresent: present, properties });
    } else {
      // [MQTT-3.2.2-1] (3.1.1) with CleanSession 1, Session Present MUST be 0.
      session.sendPacket({ cmd: 'connack', returnCode: ConnackReturnCode.Accepted, sessionPresent: present });
    }
    session.phase = 'connected';
    session.connectedAt = session.broker.clock.now();
    session.ready = true;
    session.attached = true;
    session.broker.attach(state, session);
    // [MQTT-3.1.2-24] (3.1.1; 5.0 §3.1.2.10) "If the Keep Alive value is non-zero and the Server does not receive
    // an MQTT Control Packet from the Client within one and a half times the Keep Alive time
    // period, it MUST disconnect the Network Connection to the Client as if the network had failed."
    if (keepAlive > 0) {
      session.startKeepAlive(keepAlive);
    }
    session.broker.resume(state);
    session.blocked = false;
    session.drainBacklog();
  });
}
