/**
 * The router's adapter-wide state: realms, each with its sessions, broker and dealer; global
 * ids; the bus bridge of the bus realm; the deadline sweep. Made once in `setup`; sessions
 * (session.ts) join a realm after WELCOME and leave it when they close.
 */
import { randomFillSync } from 'node:crypto';
import type { BusBridge, BusMessage, Clock, DeadlineSweep, Logger, Metrics } from '@protoplex/core';
import type { Dict, Serializer, WampMessage } from './codec.js';
import { MAX_ID, MessageType, type ClientRole } from './constants.js';
import type { Broker } from './broker.js';
import type { Dealer } from './dealer.js';
import type { AuthMethod, AuthorizeHook, AuthenticateHook, WampAction, WampPermission, WampRealmConfig } from './types.js';
import type { UriCheck } from './uri.js';

/** A joined session as the realm, broker, dealer and meta API see it (implemented by session.ts). */
export interface Peer {
  /** The session id (WELCOME.Session). */
  readonly id: number;
  readonly realm: Realm;
  readonly authid: string;
  readonly authrole: string;
  readonly authmethod: string;
  readonly authprovider: string;
  readonly serializer: Serializer;
  /** `wamp.session.get` details besides the auth keys: transport info. */
  readonly transport: Dict;
  /** Whether HELLO announced `roles.<role>.features.<feature>: true`. */
  supports(role: ClientRole, feature: string): boolean;
  /** Whether HELLO announced the role at all. */
  hasRole(role: ClientRole): boolean;
  /** Encodes and sends one message in this session's serializer. */
  send(message: WampMessage): void;
  /** Sends a message already encoded for this session's serializer (fan-out encodes once per serializer). */
  sendEncoded(data: string | Uint8Array): void;
  /**
   * Sends an EVENT unless the subscriber's send buffer is full, in which case it is dropped and
   * counted: events are the only messages a slow peer may lose, so one never holds back the others.
   */
  sendEvent(data: string | Uint8Array): void;
  /** The next router-to-client request id (INVOCATION): "MUST start at 1 and increase by 1" per session. */
  nextRequestId(): number;
  /**
   * Ends the session from the router side (meta kill): GOODBYE with `reason`, then close.
   * @param quiet publish no `wamp.session.on_leave` (`wamp.session.kill_all` "raises no meta events")
   */
  kill(reason: string, message?: string, quiet?: boolean): void;
}

/** What the router's parts need from the adapter: options, time, logs, ids, the bus. */
export interface RouterContext {
  readonly clock: Clock;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly sweep: DeadlineSweep;
  readonly uriCheck: UriCheck;
  readonly eventHistory: number;
  readonly payloadPassthrough: boolean;
  readonly maxCallTimeout: number;
  readonly authorize: AuthorizeHook | undefined;
  readonly authenticate: AuthenticateHook | undefined;
  readonly authmethods: readonly AuthMethod[];
  /** A fresh global-scope id: "drawn randomly from a uniform distribution over [1, 2^53]" (Basic Profile "IDs"). */
  globalId(): number;
  /** A fresh router-scope id (subscriptions, registrations). */
  routerId(): number;
  /** ISO 8601 now, for `created` in meta details. */
  now(): string;
}

/** Creates the id generators: random global ids, sequential router ids. */
export function createIds(): Pick<RouterContext, 'globalId' | 'routerId'> {
  let next = 0;
  // Every publication needs a random id: draw them from a pool filled 512 at a time rather than
  // asking the CSPRNG once per publish.
  const pool = new Uint32Array(1024);
  let at = pool.length;
  return {
    globalId() {
      if (at >= pool.length) {
        randomFillSync(pool);
        at = 0;
      }
      // 21 high bits and 32 low bits: uniform over [0, 2^53), shifted to [1, 2^53].
      const high = pool[at++]! & 0x1fffff;
      const low = pool[at++]!;
      return high * 0x100000000 + low + 1;
    },
    routerId: () => (next = next >= MAX_ID ? 1 : next + 1),
  };
}

/** A realm: a routing namespace with its own sessions, subscriptions and registrations. */
export class Realm {
  readonly sessions = new Map<number, Peer>();
  broker!: Broker;
  dealer!: Dealer;

  constructor(
    readonly name: string,
    readonly config: WampRealmConfig | undefined,
    readonly router: RouterContext,
    /** Set on the bus realm only: its bridge to the cross-protocol bus. */
    readonly bridge: BusBridge | undefined,
  ) {}

  /** Whether `authrole` exists here (always, when the realm lists no roles). */
  hasRole(authrole: string): boolean {
    return !this.config?.roles || Object.hasOwn(this.config.roles, authrole);
  }

  /**
   * Whether the realm's roles allow `action` on `uri` for `authrole`: the best-matching
   * permission decides (exact, then the longest prefix, then wildcard), none means no.
   */
  permits(authrole: string, action: WampAction, uri: string): boolean {
    const roles = this.config?.roles;
    if (!roles) return true;
    const permissions = roles[authrole];
    if (!permissions) return false;
    let best: WampPermission | undefined;
    let bestRank = -1;
    for (const permission of permissions) {
      const match = permission.match ?? 'exact';
      let rank = -1;
      if (match === 'exact') rank = permission.uri === uri ? Number.MAX_SAFE_INTEGER : -1;
      else if (match === 'prefix') rank = uri.startsWith(permission.uri) ? 1_000_000 + permission.uri.length : -1;
      else if (wildcardPermits(permission.uri, uri)) rank = permission.uri.length;
      if (rank > bestRank) {
        best = permission;
        bestRank = rank;
      }
    }
    return best?.allow[action] === true;
  }

  join(peer: Peer): void {
    this.sessions.set(peer.id, peer);
  }

  leave(peer: Peer): void {
    if (this.sessions.get(peer.id) !== peer) return;
    this.sessions.delete(peer.id);
    this.broker.leave(peer);
    this.dealer.leave(peer);
  }

  /** A bus message for this realm's topics (the bus realm only). */
  onBusMessage(message: BusMessage): void {
    this.broker.publishFromBus(message);
  }
}

function wildcardPermits(pattern: string, uri: string): boolean {
  const p = pattern.split('.');
  const u = uri.split('.');
  if (p.length !== u.length) return false;
  for (let i = 0; i < p.length; i++) if (p[i] !== '' && p[i] !== u[i]) return false;
  return true;
}

/** Types of the messages that may be answered with ERROR, by the request they answer. */
export const ErrorRequestType = {
  Subscribe: MessageType.SUBSCRIBE,
  Unsubscribe: MessageType.UNSUBSCRIBE,
  Publish: MessageType.PUBLISH,
  Register: MessageType.REGISTER,
  Unregister: MessageType.UNREGISTER,
  Call: MessageType.CALL,
} as const;
