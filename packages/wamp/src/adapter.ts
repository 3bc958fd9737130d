/**
 * The `wamp(options)` factory: ids, serializer choice by subprotocol, first-message recognition
 * of HELLO, and wiring of the router (router.ts) to per-connection sessions (session.ts). No
 * protocol rules live here.
 */
import { resolveOptions, type AdapterContext, type Connection, type ProtocolAdapter, type Session } from '@protoplex/core';
import { SERIALIZERS } from './codec.js';
import { WAMP_PROTOCOL, WAMP_SERIALIZER_PROTOCOLS, type SerializerId } from './constants.js';
import { Router } from './router.js';
import { WampSession } from './session.js';
import type { WampOptions, WampStats } from './types.js';

/** Every option's default (hooks default to absent). */
export const wampDefaults = Object.freeze({
  realms: ['realm1'] as readonly string[],
  aliases: true,
  uriCheck: 'loose' as 'loose' | 'strict',
  busRealm: undefined as string | false | undefined,
  eventHistory: 0,
  payloadPassthrough: false,
  helloTimeout: 10_000,
  goodbyeTimeout: 5000,
  maxCallTimeout: 0,
  agent: 'protoplex-wamp',
});

/** The WAMP adapter: a `ProtocolAdapter` plus the router's state for dashboards. */
export interface WampAdapter extends ProtocolAdapter {
  readonly name: 'wamp';
  /** Realms with their sessions, subscriptions and registrations, JSON-serialisable. */
  stats(): WampStats;
}

const SERIALIZER_OF: Readonly<Record<string, SerializerId>> = {
  [WAMP_SERIALIZER_PROTOCOLS.json]: 'json',
  [WAMP_SERIALIZER_PROTOCOLS.msgpack]: 'msgpack',
  [WAMP_SERIALIZER_PROTOCOLS.cbor]: 'cbor',
  // The IANA id names no serializer; JSON is the one every WAMP peer must speak.
  [WAMP_PROTOCOL]: 'json',
};

/**
 * Creates a WAMP v2 router (Basic and Advanced Profile) served under the IANA id `wamp` and,
 * by default, the ids clients send: `wamp.2.json`, `wamp.2.msgpack`, `wamp.2.cbor`. The
 * negotiated id picks the serializer.
 */
export function wamp(options: WampOptions = {}): WampAdapter {
  const resolved = resolveOptions(wampDefaults, options);
  const router = new Router({ ...resolved, authmethods: options.authmethods, authenticate: options.authenticate, authorize: options.authorize });
  const aliases = resolved.aliases ? [WAMP_SERIALIZER_PROTOCOLS.json, WAMP_SERIALIZER_PROTOCOLS.msgpack, WAMP_SERIALIZER_PROTOCOLS.cbor] : [];
  return {
    name: 'wamp',
    protocols: [WAMP_PROTOCOL],
    ...(aliases.length > 0 ? { aliases } : {}),
    setup(context: AdapterContext) {
      router.setup(context);
    },
    open(connection: Connection, context: AdapterContext): Session {
      return new WampSession(connection, context, router, SERIALIZERS[SERIALIZER_OF[connection.protocol] ?? 'json']);
    },
    recognize(data, isBinary) {
      return recognizeHello(data, isBinary, resolved.aliases);
    },
    async shutdown() {
      router.shutdown();
    },
    stats() {
      return router.stats();
    },
  };
}

/**
 * A first message that is a HELLO (`[1, ...]`): JSON text, or a MessagePack (fixarray of 3,
 * then 1) or CBOR (array of 3, then 1) binary message. Looks at the first bytes only.
 */
export function recognizeHello(data: Uint8Array | string, isBinary: boolean, aliases: boolean): string | undefined {
  if (!isBinary && typeof data === 'string') {
    let i = 0;
    while (i < data.length && (data.charCodeAt(i) === 0x20 || data.charCodeAt(i) === 0x0a || data.charCodeAt(i) === 0x0d || data.charCodeAt(i) === 0x09)) i++;
    if (data.charCodeAt(i) !== 0x5b /* [ */) return undefined;
    i++;
    while (i < data.length && data.charCodeAt(i) === 0x20) i++;
    if (data.charCodeAt(i) !== 0x31 /* 1 */) return undefined;
    const next = data.charCodeAt(i + 1);
    if (next !== 0x2c /* , */ && next !== 0x20) return undefined;
    return aliases ? WAMP_SERIALIZER_PROTOCOLS.json : WAMP_PROTOCOL;
  }
  if (!aliases || typeof data === 'string' || data.length < 2) return undefined;
  if (data[0] === 0x93 && data[1] === 0x01) return WAMP_SERIALIZER_PROTOCOLS.msgpack;
  if (data[0] === 0x83 && data[1] === 0x01) return WAMP_SERIALIZER_PROTOCOLS.cbor;
  return undefined;
}
