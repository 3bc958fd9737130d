/**
 * The `ProtocolAdapter` object: ids, options and the broker-wide state (queues, reply queues,
 * the session list for `stats()`). It only wires things up; the protocol rules live in
 * `session.ts`, `queues.ts` and `codec.ts`.
 */
import type { AdapterContext, Connection, ProtocolAdapter, Session } from '@protoplex/core';
import { defaultParseLimits } from './codec.js';
import { SERVER_NAME, SUBPROTOCOLS, type AckMode } from './constants.js';
import { QueueRegistry, type ReplyTarget } from './queues.js';
import { StompSession, type Broker, type SessionStats, type StompCredentials } from './session.js';

/** Options of {@link stomp}. Every field is optional; see {@link defaultOptions}. */
export interface StompOptions {
  /**
   * The server's side of heart-beat negotiation, in milliseconds: `outgoing` is how often it can
   * send (sx), `incoming` how often it wants to hear from the client (sy). 0 disables a direction.
   * @default { outgoing: 10000, incoming: 10000 }
   */
  heartBeat?: { outgoing?: number; incoming?: number };
  /**
   * How many negotiated client heart-beat periods may pass in silence before the server closes
   * the connection (the grace period). @default 2
   */
  heartBeatTolerance?: number;
  /**
   * Send every frame as a binary WebSocket message (RabbitMQ's `ws_frame = binary`). When false,
   * frames go as text unless their body is not valid UTF-8. @default false
   */
  binaryFrames?: boolean;
  /**
   * Virtual hosts accepted in the CONNECT `host` header; queues are separate per virtual host.
   * A CONNECT without `host` gets the first one. Undefined accepts any host, one namespace.
   * @default undefined
   */
  virtualHosts?: readonly string[];
  /**
   * Hook: runs on CONNECT/STOMP with `login`, `passcode` and `host`. Return (or resolve) false
   * to refuse: the client gets ERROR `Access refused` and close 1008. @default undefined (anyone)
   */
  authenticate?: (credentials: StompCredentials) => boolean | Promise<boolean>;
  /** Header lines per frame. @default 64 */
  maxHeaders?: number;
  /** Bytes per command or header line. @default 8192 */
  maxHeaderLength?: number;
  /** Body bytes per frame; larger frames get ERROR and close 1009. @default 4194304 (4 MiB) */
  maxBodyLength?: number;
  /** Ready messages per queue; beyond it the oldest is dropped. 0 is unlimited. @default 100000 */
  maxQueueLength?: number;
  /**
   * Unacknowledged messages per `client`/`client-individual` topic subscription without a
   * `prefetch-count`; further topic messages wait in the subscription's backlog until it acks.
   * @default 1000
   */
  maxUnackedTopicMessages?: number;
  /**
   * Messages a `client`/`client-individual` topic subscription holds for delivery beyond its
   * unacknowledged ones (its private queue, as RabbitMQ gives each topic subscription one). When
   * full, the oldest waiting message is dropped (RabbitMQ's `drop-head`). 0 is unlimited.
   * @default 10000
   */
  maxTopicBacklog?: number;
  /**
   * Refuse a STOMP 1.1/1.2 CONNECT without a `host` header (ERROR `Missing host header`, close
   * 1002), as the specification requires of clients. Off by default because `@stomp/stompjs` and
   * RabbitMQ do without it. @default false
   */
  requireHost?: boolean;
  /** The `server` header of CONNECTED. @default 'protoplex-stomp/0' */
  serverName?: string;
}

export const defaultOptions = {
  heartBeat: { outgoing: 10_000, incoming: 10_000 },
  heartBeatTolerance: 2,
  binaryFrames: false,
  virtualHosts: undefined,
  authenticate: undefined,
  maxHeaders: defaultParseLimits.maxHeaders,
  maxHeaderLength: defaultParseLimits.maxHeaderLength,
  maxBodyLength: defaultParseLimits.maxBodyLength,
  maxQueueLength: 100_000,
  maxUnackedTopicMessages: 1000,
  maxTopicBacklog: 10_000,
  requireHost: false,
  serverName: SERVER_NAME,
} as const satisfies StompOptions;

/** JSON-serialisable broker state for dashboards. */
export interface StompStats {
  readonly sessions: SessionStats[];
  readonly destinations: Array<{ destination: string; kind: 'topic' | 'queue' | 'temp-queue'; subscribers: number; queued: number }>;
}

/** The STOMP adapter: a `ProtocolAdapter` plus `stats()`. */
export interface StompAdapter extends ProtocolAdapter {
  readonly name: 'stomp';
  /** Sessions (after CONNECTED) and destinations with their subscriber and ready-message counts. */
  stats(): StompStats;
}

/**
 * Creates a STOMP 1.0/1.1/1.2 broker adapter for `v12.stomp`, `v11.stomp` and `v10.stomp`
 * (preferred in that order). The negotiated id fixes the STOMP version.
 */
export function stomp(options: StompOptions = {}): StompAdapter {
  const heartBeat = { ...defaultOptions.heartBeat, ...options.heartBeat };
  const broker: Broker = {
    options: {
      heartBeat: { outgoing: nonNegative(heartBeat.outgoing), incoming: nonNegative(heartBeat.incoming) },
      heartBeatTolerance: Math.max(1, options.heartBeatTolerance ?? defaultOptions.heartBeatTolerance),
      binaryFrames: options.binaryFrames ?? defaultOptions.binaryFrames,
      virtualHosts: options.virtualHosts && options.virtualHosts.length > 0 ? [...options.virtualHosts] : undefined,
      authenticate: options.authenticate,
      limits: {
        maxHeaders: options.maxHeaders ?? defaultOptions.maxHeaders,
        maxHeaderLength: options.maxHeaderLength ?? defaultOptions.maxHeaderLength,
        maxBodyLength: options.maxBodyLength ?? defaultOptions.maxBodyLength,
      },
      maxUnackedTopicMessages: Math.max(1, options.maxUnackedTopicMessages ?? defaultOptions.maxUnackedTopicMessages),
      maxTopicBacklog: nonNegative(options.maxTopicBacklog ?? defaultOptions.maxTopicBacklog),
      requireHost: options.requireHost ?? defaultOptions.requireHost,
      serverName: options.serverName ?? defaultOptions.serverName,
    },
    queues: new QueueRegistry(options.maxQueueLength ?? defaultOptions.maxQueueLength),
    replies: new Map<string, ReplyTarget>(),
    sessions: new Set<StompSession>(),
  };

  return {
    name: 'stomp',
    protocols: SUBPROTOCOLS,
    open(connection: Connection, context: AdapterContext): Session {
      return new StompSession(connection, context, broker);
    },
    stats(): StompStats {
      const sessions: SessionStats[] = [];
      const counts = new Map<string, { kind: 'topic' | 'queue' | 'temp-queue'; subscribers: number; queued: number }>();
      for (const session of broker.sessions) {
        sessions.push(session.stats());
        for (const { destination, kind, backlog } of session.subscriptionList()) {
          if (kind === 'queue') continue;
          const key = kind === 'temp-queue' ? `${session.id} ${destination}` : destination;
          const entry = counts.get(key);
          if (entry) {
            entry.subscribers++;
            entry.queued += backlog;
          } else counts.set(key, { kind, subscribers: 1, queued: backlog });
        }
      }
      const destinations: StompStats['destinations'] = [];
      for (const [key, { kind, subscribers, queued }] of counts) {
        if (kind === 'topic') destinations.push({ destination: key, kind, subscribers, queued });
      }
      for (const queue of broker.queues.values()) {
        destinations.push({ destination: queue.destination, kind: 'queue', subscribers: queue.consumers.length, queued: queue.ready });
      }
      for (const session of broker.sessions) {
        for (const local of session.tempQueueNames()) destinations.push({ destination: `/temp-queue/${local}`, kind: 'temp-queue', subscribers: 1, queued: 0 });
      }
      return { sessions, destinations };
    },
  };
}

function nonNegative(ms: number): number {
  return Number.isFinite(ms) && ms > 0 ? Math.floor(ms) : 0;
}


