/** Load generators by name, resolved inside the load child process. */
import type { LoadGenerator } from './common.js';

export const loads: Readonly<Record<string, () => Promise<LoadGenerator>>> = {
  echo: async () => (await import('./echo.js')).echoLoad,
  handshake: async () => (await import('./handshake.js')).handshakeLoad,
  fanout: async () => (await import('./fanout.js')).fanoutLoad,
  idle: async () => (await import('./idle.js')).idleLoad,
  'mqtt-fanout': async () => (await import('./mqtt.js')).mqttFanoutLoad,
  'mqtt-p2p': async () => (await import('./mqtt.js')).mqttP2pLoad,
  'mqtt-idle': async () => (await import('./mqtt.js')).mqttIdleLoad,
  'ocpp-idle': async () => (await import('./ocpp.js')).ocppIdleLoad,
  'stomp-fanout': async () => (await import('./stomp.js')).stompFanoutLoad,
  'stomp-queue': async () => (await import('./stomp.js')).stompQueueLoad,
  'ocpp-calls': async () => (await import('./ocpp.js')).ocppCallsLoad,
  'wamp-fanout': async () => (await import('./wamp.js')).wampFanoutLoad,
  'wamp-calls': async () => (await import('./wamp.js')).wampCallsLoad,
  'wamp-flood': async () => (await import('./wamp.js')).wampFloodLoad,
  'sip-register': async () => (await import('./sip.js')).sipRegisterLoad,
  'sip-message': async () => (await import('./sip.js')).sipMessageLoad,
};
