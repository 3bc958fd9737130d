/**
 * SUBSCRIBE: filter validation, shared subscriptions, `authorizeSubscribe`, SUBACK, then retained messages.
 */
import { CloseCode, isValidTopicFilter, type QoS } from '@protoplex/core';
import { ReasonCode, SUBACK_FAILURE } from '../constants.js';
import type { SubscribePacket } from '../codec.js';
import { parseSharedFilter } from '../topics.js';
import type { MqttSession } from '../session.js';
import { isPromise, violation } from '../_helpers.js';

export function handleSubscribe(session: MqttSession, packet: SubscribePacket): void {
  const v5 = session.version === 5;
  const subscriptionId = packet.properties?.subscriptionIdentifier;
  if (subscriptionId === 0) {
    // MQTT 5.0 §3.8.2.1.2: "It is a Protocol Error if the Subscription Identifier has a value of 0."
    throw violation(CloseCode.ProtocolError, 'subscription identifier 0', ReasonCode.ProtocolError);
  }
  const failure = v5 ? ReasonCode.NotAuthorized : SUBACK_FAILURE;
  const verdicts: Array<number | Promise<number>> = [];
  for (const sub of packet.subscriptions) {
    const share = parseSharedFilter(sub.topic);
    if (share === null || (share === undefined && !isValidTopicFilter(sub.topic))) {
      verdicts.push(v5 ? ReasonCode.TopicFilterInvalid : SUBACK_FAILURE);
      continue;
    }
    if (share) {
      if (!session.options.sharedSubscriptions) {
        verdicts.push(v5 ? ReasonCode.SharedSubscriptionsNotSupported : SUBACK_FAILURE);
        continue;
      }
      if (sub.nl) {
        // [MQTT-3.8.3-4] "It is a Protocol Error to set the No Local bit to 1 on a Shared Subscription."
        throw violation(CloseCode.ProtocolError, 'no local on a shared subscription', ReasonCode.ProtocolError);
      }
    }
    // [MQTT-3.2.2-10] (5.0) "A Server that does not support QoS 1 or QoS 2 PUBLISH packets MUST
    // still accept SUBSCRIBE packets containing a Requested QoS of 0, 1 or 2"; it grants at most its
    // Maximum QoS ([MQTT-3.9.3-2] 3.1.1: "The granted QoS might be lower than the requested QoS").
    const requested = Math.min(sub.qos, session.options.maximumQoS) as QoS;
    const authorize = session.options.authorizeSubscribe;
    if (!authorize) {
      verdicts.push(requested);
      continue;
    }
    const toCode = (answer: boolean | QoS): number => (answer === false ? failure : answer === true ? requested : Math.min(answer, requested));
    try {
      const answer = authorize({ client: session.client, topic: sub.topic, qos: requested });
      verdicts.push(isPromise(answer) ? answer.then(toCode, () => failure) : toCode(answer));
    } catch (error) {
      session.context.log.warn({ err: error }, 'authorizeSubscribe threw');
      verdicts.push(failure);
    }
  }
  const finish = (codes: number[]): void => {
    const state = session.state!;
    const fresh: Array<{ index: number; existed: boolean }> = [];
    packet.subscriptions.forEach((sub, index) => {
      const code = codes[index]!;
      if (code > 2) return;
      const existed = session.broker.subscribe(state, {
        filter: sub.topic,
        qos: code as QoS,
        noLocal: sub.nl === true,
        retainAsPublished: sub.rap === true,
        retainHandling: (sub.rh ?? 0) as 0 | 1 | 2,
        ...(subscriptionId !== undefined ? { subscriptionId } : {}),
      });
      fresh.push({ index, existed });
    });
    session.sendPacket({ cmd: 'suback', messageId: packet.messageId!, granted: codes });
    for (const { index, existed } of fresh) {
      const sub = packet.subscriptions[index]!;
      // Retained messages are not sent for shared subscriptions (MQTT 5.0 §4.8.2).
      if (sub.topic.startsWith('$share/')) continue;
      const rh = sub.rh ?? 0;
      // [MQTT-3.3.1-9] (5.0) "If Retain Handling is set to 0 the Server MUST send the retained
      // messages matching the Topic Filter of the subscription to the Client"; [MQTT-3.3.1-10]
      // "If Retain Handling is set to 1 then if the subscription did not already exist, the
      // Server MUST send all retained message matching the Topic Filter"; [MQTT-3.3.1-11] "If
      // Retain Handling is set to 2, the Server MUST NOT send the retained messages".
      if (rh === 2 || (rh === 1 && existed)) continue;
      const record = state.subscriptions.get(sub.topic);
      if (record) session.broker.sendRetained(state, record, record.matchFilter);
    }
  };
  if (verdicts.some(isPromise)) {
    session.blocked = true;
    session.after(Promise.all(verdicts), (codes) => session.afterHook(() => finish(codes)));
  } else finish(verdicts as number[]);
}
