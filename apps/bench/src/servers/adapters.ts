/**
 * Subjects for the adapter scenarios: each adapter package's factory under @protoplex/server.
 * Loaded dynamically: a package that does not export its factory yet makes the scenario skip.
 */
import type { ProtocolAdapter } from '@protoplex/core';
import { startProtoplex } from './protoplex.js';
import { UnavailableError, type ServerFactory } from './types.js';

async function factory<T>(specifier: string, name: string): Promise<T> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(specifier)) as Record<string, unknown>;
  } catch (error) {
    throw new UnavailableError(`${specifier} does not load: ${(error as Error).message}`);
  }
  if (typeof mod[name] !== 'function') throw new UnavailableError(`${specifier} exports no ${name}() yet`);
  return mod[name] as T;
}

export const protoplexMqtt: ServerFactory = async () => {
  const mqtt = await factory<(options?: Record<string, unknown>) => ProtocolAdapter>('@protoplex/mqtt', 'mqtt');
  // No $SYS updates: the references publish none either.
  return startProtoplex({ adapters: [mqtt({ sysInterval: 0 })] });
};

export const protoplexStomp: ServerFactory = async () => {
  const stomp = await factory<(options?: Record<string, unknown>) => ProtocolAdapter>('@protoplex/stomp', 'stomp');
  return startProtoplex({ adapters: [stomp()] });
};

/** The CSMS API the OCPP scenario uses: answer StatusNotification and Heartbeat. */
interface OcppAdapter extends ProtocolAdapter {
  onCall(action: string, handler: (...args: unknown[]) => unknown): unknown;
}

export const protoplexOcpp: ServerFactory = async (options) => {
  const ocpp = await factory<(options?: Record<string, unknown>) => OcppAdapter>('@protoplex/ocpp', 'ocpp');
  const adapter = ocpp(options.validate === false ? { validate: false } : {});
  adapter.onCall('StatusNotification', () => ({}));
  adapter.onCall('Heartbeat', () => ({ currentTime: new Date().toISOString() }));
  return startProtoplex({ routes: [{ path: '/ocpp/:identity', adapters: [adapter] }] });
};
