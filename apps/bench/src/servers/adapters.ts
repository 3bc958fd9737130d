/**
 * Subjects for the adapter scenarios: each adapter package's factory under @protoplex/server,
 * alone (`protoplex-mqtt`, `protoplex-stomp`, `protoplex-ocpp`, `protoplex-wamp`) or all of them
 * on one server and one bus, mounted as apps/demo mounts them (`protoplex-all`).
 *
 * Loaded dynamically and looked up by factory name only (`mqtt`, `stomp`, `ocpp`, `wamp`,
 * `lines`): a package that does not load or export its factory yet makes the scenario skip, and
 * no type or constant of an adapter package is imported, so renames inside them do not break the
 * bench.
 */
import type { ProtocolAdapter } from '@protoplex/core';
import { startProtoplex } from './protoplex.js';
import { UnavailableError, type ServerFactory } from './types.js';

type Factory<T extends ProtocolAdapter = ProtocolAdapter> = (options?: Record<string, unknown>) => T;

async function factory<T extends ProtocolAdapter>(specifier: string, name: string): Promise<Factory<T>> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(specifier)) as Record<string, unknown>;
  } catch (error) {
    throw new UnavailableError(`${specifier} does not load: ${(error as Error).message}`);
  }
  if (typeof mod[name] !== 'function') throw new UnavailableError(`${specifier} exports no ${name}() yet`);
  return mod[name] as Factory<T>;
}

/** The CSMS API the OCPP scenarios use: answer StatusNotification and Heartbeat. */
interface OcppCsmsApi extends ProtocolAdapter {
  onCall(action: string, handler: (...args: unknown[]) => unknown): unknown;
}

/*
 * One maker per adapter, used alone and all mounted alike, so that "all mounted / alone"
 * measures the mounting and nothing else.
 */

async function mqttAdapter(): Promise<ProtocolAdapter> {
  const mqtt = await factory('@protoplex/mqtt', 'mqtt');
  // No $SYS updates: the references publish none either.
  return mqtt({ sysInterval: 0 });
}

async function stompAdapter(): Promise<ProtocolAdapter> {
  return (await factory('@protoplex/stomp', 'stomp'))();
}

async function ocppAdapter(options: Readonly<Record<string, unknown>>): Promise<ProtocolAdapter> {
  const ocpp = await factory<OcppCsmsApi>('@protoplex/ocpp', 'ocpp');
  const adapter = ocpp(options.validate === false ? { validate: false } : {});
  adapter.onCall('StatusNotification', () => ({}));
  adapter.onCall('Heartbeat', () => ({ currentTime: new Date().toISOString() }));
  return adapter;
}

/** apps/demo's WAMP router: realm `realm1` (the default), anonymous (no `authenticate`). */
async function wampAdapter(): Promise<ProtocolAdapter> {
  return (await factory('@protoplex/wamp', 'wamp'))({ realms: ['realm1'] });
}

async function linesAdapter(): Promise<ProtocolAdapter> {
  return (await factory('@protoplex/adapter-template', 'lines'))();
}

/** apps/demo's OCPP route: stations connect to `/ocpp/<identity>`. */
const OCPP_PATH = '/ocpp/:identity';

export const protoplexMqtt: ServerFactory = async () => startProtoplex({ adapters: [await mqttAdapter()] });

export const protoplexStomp: ServerFactory = async () => startProtoplex({ adapters: [await stompAdapter()] });

export const protoplexWamp: ServerFactory = async () => startProtoplex({ adapters: [await wampAdapter()] });

export const protoplexOcpp: ServerFactory = async (options) =>
  startProtoplex({ routes: [{ path: OCPP_PATH, adapters: [await ocppAdapter(options)] }] });

/**
 * Every demo adapter on one server and one in-memory bus, routed as apps/demo/src/demo.ts does:
 * MQTT, STOMP, WAMP (realm `realm1`) and the template's lines adapter on `/` (with first-message
 * recognition), OCPP on `/ocpp/:identity` (closing connections that offer no OCPP version). Each
 * adapter has the options of its alone subject (MQTT without `$SYS`, OCPP answering
 * StatusNotification and Heartbeat, WAMP on `realm1`; `validate` as given),
 * so the difference to alone is what the other adapters cost by being there: their `setup`,
 * their bus subscriptions, and the bus messages they make or receive because of the others.
 */
export const protoplexAll: ServerFactory = async (options) => {
  const [mqtt, stomp, wamp, lines, ocpp] = await Promise.all([mqttAdapter(), stompAdapter(), wampAdapter(), linesAdapter(), ocppAdapter(options)]);
  return startProtoplex({
    routes: [
      // Recognition by first message, as the demo serves clients that offer no subprotocol; the
      // bench's clients all offer one, which is negotiated as without it.
      { path: '/', adapters: [mqtt, stomp, wamp, lines], recognize: true },
      { path: OCPP_PATH, adapters: [ocpp], onNoMatch: 'close' },
    ],
  });
};
