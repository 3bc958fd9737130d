/** Server factories by name, resolved inside the server child process. */
import type { ServerFactory } from './types.js';

/** Lazy so a server child only loads the packages its server needs. */
export const servers: Readonly<Record<string, () => Promise<ServerFactory>>> = {
  'protoplex-echo': async () => (await import('./protoplex.js')).protoplexEcho,
  'protoplex-fanout': async () => (await import('./protoplex.js')).protoplexFanout,
  'ws-echo': async () => (await import('./ws.js')).wsEcho,
  'ws-fanout': async () => (await import('./ws.js')).wsFanout,
  'aedes-ws': async () => (await import('./mqtt-refs.js')).aedesWs,
  'ws-mqtt': async () => (await import('./mqtt-refs.js')).wsMqtt,
  'ws-mqtt-relay': async () => (await import('./mqtt-refs.js')).wsMqttRelay,
  'ws-stomp': async () => (await import('./stomp-refs.js')).wsStomp,
  'ocpp-rpc': async () => (await import('./ocpp-refs.js')).ocppRpc,
  'protoplex-mqtt': async () => (await import('./adapters.js')).protoplexMqtt,
  'protoplex-stomp': async () => (await import('./adapters.js')).protoplexStomp,
  'protoplex-ocpp': async () => (await import('./adapters.js')).protoplexOcpp,
  'protoplex-wamp': async () => (await import('./adapters.js')).protoplexWamp,
  'ws-wamp': async () => (await import('./wamp-refs.js')).wsWamp,
  'fox-wamp': async () => (await import('./wamp-refs.js')).foxWamp,
  'protoplex-sip': async () => (await import('./adapters.js')).protoplexSip,
  'ws-sip-canned': async () => (await import('./sip-refs.js')).wsSipCanned,
  'ws-sip-relay': async () => (await import('./sip-refs.js')).wsSipRelay,
  kamailio: async () => (await import('./sip-refs.js')).kamailio,
  'protoplex-all': async () => (await import('./adapters.js')).protoplexAll,
};
