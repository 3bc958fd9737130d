/** Test helpers shared by the WAMP tests: a joined session on the core test harness. */
import { createTestHarness, type TestHarness, type TestPeer } from '@protoplex/core/testing';
import { SERIALIZERS, type Dict } from './codec.js';
import { MessageType, type SerializerId } from './constants.js';
import { wamp } from './adapter.js';
import type { WampAdapter } from './adapter.js';
import type { AuthenticateRequest, WampOptions } from './types.js';

/** Every client role with the features autobahn and wampy announce, plus cancel support. */
export const ALL_ROLES: Dict = {
  publisher: { features: { publisher_exclusion: true, subscriber_blackwhite_listing: true, publisher_identification: true } },
  subscriber: { features: { pattern_based_subscription: true, publisher_identification: true } },
  caller: { features: { caller_identification: true, progressive_call_results: true, call_canceling: true, call_timeout: true } },
  callee: { features: { caller_identification: true, pattern_based_registration: true, shared_registration: true, progressive_call_results: true, call_canceling: true } },
};

export interface WampPeer {
  readonly peer: TestPeer;
  readonly serializer: SerializerId;
  /** Sends one message (a list) in the peer's serializer. */
  send(message: readonly unknown[]): void;
  /** Messages received since the last call, decoded to lists. */
  take(): unknown[][];
  /** The session id from WELCOME (after `join`). */
  session: number;
}

export function wampPeer(peer: TestPeer, serializer: SerializerId = 'json'): WampPeer {
  const codec = SERIALIZERS[serializer];
  const self: WampPeer = {
    peer,
    serializer,
    session: 0,
    send(message) {
      const data = codec.encode(message);
      peer.send(data, typeof data !== 'string');
    },
    take() {
      return peer.take().map((m) => {
        const decoded = codec.decode(m.data, m.isBinary);
        if (!decoded.ok) throw new Error(decoded.fault.message);
        return decoded.value as unknown[];
      });
    },
  };
  return self;
}

export interface Rig {
  readonly harness: TestHarness;
  readonly adapter: WampAdapter;
  /** Opens a connection on `serializer` and joins `realm` (HELLO, WELCOME). */
  join(options?: { realm?: string; serializer?: SerializerId; roles?: Dict; details?: Dict }): Promise<WampPeer>;
  /** Opens a connection without joining. */
  open(serializer?: SerializerId): Promise<WampPeer>;
}

const PROTOCOL: Record<SerializerId, string> = { json: 'wamp.2.json', msgpack: 'wamp.2.msgpack', cbor: 'wamp.2.cbor' };

export function createRig(options: WampOptions = {}, harness: TestHarness = createTestHarness()): Rig {
  const adapter = wamp(options);
  const open = async (serializer: SerializerId = 'json'): Promise<WampPeer> => wampPeer(await harness.connect(adapter, { protocol: PROTOCOL[serializer] }), serializer);
  return {
    harness,
    adapter,
    open,
    async join(joinOptions = {}) {
      const client = await open(joinOptions.serializer ?? 'json');
      client.send([MessageType.HELLO, joinOptions.realm ?? 'realm1', { roles: joinOptions.roles ?? ALL_ROLES, ...joinOptions.details }]);
      await Promise.resolve();
      const [welcome] = client.take();
      if (!welcome || welcome[0] !== MessageType.WELCOME) throw new Error(`expected WELCOME, got ${JSON.stringify(welcome)}`);
      client.session = welcome[1] as number;
      return client;
    },
  };
}

// ------------------------------------------------------------------ end-to-end (real clients)

/** A WAMP router served by `@protoplex/server` on 127.0.0.1 (port 0), for the client e2e tests. */
export interface E2EServer {
  readonly url: string;
  readonly adapter: WampAdapter;
  /** Sessions joined in `realm` as the router sees them. */
  sessions(realm?: string): number;
  /** Open WebSocket connections, joined or not. */
  connections(): number;
  close(): Promise<void>;
}

/**
 * Starts `createServer({ adapters: [wamp(options)] })` on 127.0.0.1:0. The server package is
 * imported here, lazily, so the unit tests that share this file do not load it.
 */
export async function startServer(options: WampOptions = {}): Promise<E2EServer> {
  const [{ createServer }, { silentLogger }] = await Promise.all([import('@protoplex/server'), import('@protoplex/core')]);
  const adapter = wamp(options);
  const server = createServer({ adapters: [adapter], logger: silentLogger, keepAlive: false });
  const address = await server.listen(0, '127.0.0.1');
  return {
    url: `ws://127.0.0.1:${address.port}/`,
    adapter,
    sessions(realm = 'realm1') {
      return adapter.stats().realms.find((r) => r.name === realm)?.sessions.length ?? 0;
    },
    connections: () => server.connections.size,
    close: () => server.close({ timeout: 2000 }),
  };
}

/** Polls `check` every few milliseconds until it returns a truthy value (or throws after `timeout`). */
export async function waitFor<T>(check: () => T | undefined | false | null, what = 'condition', timeout = 3000): Promise<T> {
  const until = Date.now() + timeout;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * The e2e servers' access rules: anonymous in `realm1`; in `secure`, a ticket principal
 * (alice), WAMP-CRA principals plain (bob) and salted (carol), and the Cryptosign key `pubkey`
 * (dave), all with role `user`, which may use `app.` and call the meta API.
 */
export function e2eAccess(pubkey: string): Pick<WampOptions, 'realms' | 'authenticate' | 'authorize'> {
  return {
    // Grants what the roles allowed, and the kill procedures in realm1 (closed by default).
    authorize: () => true,
    realms: [
      'realm1',
      {
        name: 'secure',
        roles: {
          user: [
            { uri: 'app.', match: 'prefix', allow: { call: true, register: true, publish: true, subscribe: true } },
            { uri: 'app.admin.', match: 'prefix', allow: { subscribe: true } },
            { uri: 'wamp.', match: 'prefix', allow: { call: true } },
          ],
        },
      },
    ],
    authenticate(request: AuthenticateRequest) {
      if (request.realm === 'realm1') return request.method === 'anonymous' ? { authrole: 'anonymous' } : false;
      switch (request.method) {
        case 'ticket':
          return request.authid === 'alice' && request.ticket === 'alice-ticket' ? { authrole: 'user', authprovider: 'e2e' } : false;
        case 'wampcra':
          if (request.authid === 'bob') return { authrole: 'user', secret: 'bob-secret' };
          if (request.authid === 'carol') return { authrole: 'user', secret: 'carol-password', salt: 'carol-salt', iterations: 100, keylen: 32 };
          return false;
        case 'cryptosign':
          return request.pubkey === pubkey ? { authid: 'dave', authrole: 'user' } : false;
        default:
          return false;
      }
    },
  };
}

/** Collects what a handler gets; `take(n)` waits until there are n. */
export function inbox<T>() {
  const items: T[] = [];
  return {
    items,
    push: (item: T) => {
      items.push(item);
    },
    take: (n: number) => waitFor(() => items.length >= n && items.slice(0, n), `${n} item(s)`),
  };
}

/** The rejection of a promise (fails the test if it resolves). */
export async function rejection<E = unknown>(promise: PromiseLike<unknown>): Promise<E> {
  try {
    await promise;
  } catch (error) {
    return error as E;
  }
  throw new Error('expected a rejection');
}
