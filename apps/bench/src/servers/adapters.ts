/**
 * Subjects for the adapter scenarios: each adapter package's factory under @protoplex/server,
 * alone (`protoplex-mqtt`, `protoplex-stomp`, `protoplex-ocpp`, `protoplex-wamp`, `protoplex-sip`)
 * or all of them on one server and one bus, mounted as apps/demo mounts them (`protoplex-all`).
 *
 * Loaded dynamically and looked up by factory name only (`mqtt`, `stomp`, `ocpp`, `wamp`, `sip`,
 * `lines`): a package that does not load or export its factory yet makes the scenario skip, and
 * no type or constant of an adapter package is imported, so renames inside them do not break the
 * bench.
 */
import type { ProtocolAdapter } from '@protoplex/core';
import { SIP_DOMAIN, sipUsers } from '../load/sip.js';
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

/**
 * The SIP registrar and proxy for `example.com`. With `sipUsers: n` (the SIP scenarios, alone
 * and all mounted alike) it serves the load's users `user0`... with digest (`sipAuth: true`) or
 * as an open registrar (`sipAuth: false`: the MESSAGE relay needs no digest), otherwise with its
 * defaults (no bus); in the other scenarios' all-mounted server, as apps/demo mounts it: users
 * alice/alice and bob/bob, on the bus, `sip:chat@example.com` bridged to `sip/chat`.
 */
async function sipAdapter(options: Readonly<Record<string, unknown>>): Promise<ProtocolAdapter> {
  const sip = await factory('@protoplex/sip', 'sip');
  if (typeof options.sipUsers !== 'number') return sip({ domain: SIP_DOMAIN, users: { alice: 'alice', bob: 'bob' }, bus: true, bridge: ['chat'] });
  return sip({ domain: SIP_DOMAIN, users: sipUsers(options.sipUsers), ...(options.sipAuth === false ? { authenticate: false } : {}) });
}

async function linesAdapter(): Promise<ProtocolAdapter> {
  return (await factory('@protoplex/adapter-template', 'lines'))();
}

/** apps/demo's OCPP route: stations connect to `/ocpp/<identity>`. */
const OCPP_PATH = '/ocpp/:identity';

export const protoplexMqtt: ServerFactory = async () => startProtoplex({ adapters: [await mqttAdapter()] });

export const protoplexStomp: ServerFactory = async () => startProtoplex({ adapters: [await stompAdapter()] });

export const protoplexWamp: ServerFactory = async () => startProtoplex({ adapters: [await wampAdapter()] });

export const protoplexSip: ServerFactory = async (options) => startProtoplex({ adapters: [await sipAdapter(options)] });

export const protoplexOcpp: ServerFactory = async (options) =>
  startProtoplex({
    routes: [
      {
        path: OCPP_PATH,
        adapters: [await ocppAdapter(options)],
        // The adapter's own preference (deflate with small windows) unless the scenario says
        // otherwise: false for none, true for ws's defaults (15-bit windows, memLevel 8).
        ...(typeof options.perMessageDeflate === 'boolean' ? { perMessageDeflate: options.perMessageDeflate } : {}),
      },
    ],
  });

/**
 * Every demo adapter on one server and one in-memory bus, routed as apps/demo/src/demo.ts does:
 * MQTT, STOMP, WAMP (realm `realm1`), SIP (`example.com`) and the template's lines adapter on `/`
 * (with first-message recognition), OCPP on `/ocpp/:identity` (closing connections that offer no
 * OCPP version). Each adapter has the options of its alone subject (MQTT without `$SYS`, OCPP
 * answering StatusNotification and Heartbeat, WAMP on `realm1`; `validate` and the SIP users as
 * given),
 * so the difference to alone is what the other adapters cost by being there: their `setup`,
 * their bus subscriptions, and the bus messages they make or receive because of the others.
 */
export const protoplexAll: ServerFactory = async (options) => {
  const [mqtt, stomp, wamp, sip, lines, ocpp] = await Promise.all([
    mqttAdapter(),
    stompAdapter(),
    wampAdapter(),
    sipAdapter(options),
    linesAdapter(),
    ocppAdapter(options),
  ]);
  return startProtoplex({
    routes: [
      // Recognition by first message, as the demo serves clients that offer no subprotocol; the
      // bench's clients all offer one, which is negotiated as without it.
      { path: '/', adapters: [mqtt, stomp, wamp, sip, lines], recognize: true },
      { path: OCPP_PATH, adapters: [ocpp], onNoMatch: 'close' },
    ],
  });
};
