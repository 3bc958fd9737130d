/** Every scenario, in run order: core and server first, then one or two per adapter. */
import type { Scenario } from '../types.js';
import { echo4k, echo4kDeflate, echo64 } from './echo.js';
import { fanout } from './fanout.js';
import { handshake } from './handshake.js';
import { idleMemory } from './idle-memory.js';
import { mqttIdleMemory, mqttQos0Fanout, mqttQos0Fanout1k, mqttQos1P2p } from './mqtt.js';
import { ocppCalls, ocppCalls201, ocppIdleDeflate } from './ocpp.js';
import { sipMessage, sipRegister } from './sip.js';
import { stompQueueClientIndividual, stompTopicFanout, stompTopicFanout256 } from './stomp.js';
import { wampCalls, wampFanout10, wampFanout100, wampFlood } from './wamp.js';

export const scenarios: readonly Scenario[] = [
  handshake,
  echo64,
  echo4k,
  echo4kDeflate,
  fanout,
  idleMemory,
  mqttQos0Fanout,
  mqttQos1P2p,
  mqttQos0Fanout1k,
  mqttIdleMemory,
  stompTopicFanout,
  stompQueueClientIndividual,
  stompTopicFanout256,
  ocppCalls,
  ocppCalls201,
  ocppIdleDeflate,
  wampFanout10,
  wampFanout100,
  wampCalls,
  wampFlood,
  sipRegister,
  sipMessage,
];
