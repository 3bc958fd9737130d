/**
 * The `ProtocolAdapter` object: ids, options, recognition of clients that offer no subprotocol,
 * and `stats()`. It only wires things up; the shared state and the routes between sessions live
 * in `broker.ts`, the protocol rules in `session.ts`, `queues.ts` and `codec.ts`.
 */
import { resolveOptions, type AdapterContext, type Connection, type ProtocolAdapter, type Session } from '@protoplex/core';
import { Broker } from './broker.js';
import { defaultParseLimits } from './codec.js';
import { SERVER_NAME, STOMP_PROTOCOLS, type StompSubprotocol } from './constants.js';
import { recognizeStomp } from './recognize.js';
import { StompSession, type SessionStats, type StompCredentials } from './session.js';

/** Options of {@link stomp}. Every field is optional; see {@link stompDefaults}. */
export interface StompOptions {
  /**
   * The server's side of heart-beat negotiation, in milliseconds, as floors: `outgoing` is the
   * shortest interval at which it sends (sx), `incoming` the shortest at which it wants to hear
   * from the client (sy). STOMP 1.2 "Heart-beating" makes the periods MAX(sx, cy) and MAX(cx, sy),
   * so a client gets the interval it asks for down to these floors (a stompjs client with
   * `heartbeatIncoming: 1000` gets an EOL every second). 0 disables a direction.
   * @default { outgoing: 1000, incoming: 1000 }
   */
  heartBeat?: {
    /** sx: the shortest interval at which the server sends heart-beats. @default 1000 */
    outgoing?: number;
    /** sy: the shortest interval at which the server wants to hear from the client. @default 1000 */
    incoming?: number;
  };
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

/** {@link StompOptions} with every default filled in. */
export type StompDefaults = Readonly<
  Required<Omit<StompOptions, 'heartBeat' | 'virtualHosts' | 'authenticate'>> & {
    heartBeat: Readonly<Required<NonNullable<StompOptions['heartBeat']>>>;
    virtualHosts: StompOptions['virtualHosts'];
    authenticate: StompOptions['authenticate'];
  }
>;

/** The default of every option of {@link stomp} (documented on {@link StompOptions}). */
export const stompDefaults: StompDefaults = {
  heartBeat: { outgoing: 1000, incoming: 1000 },
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
};

/** JSON-serialisable broker state for dashboards. */
export interface StompStats {
  readonly sessions: SessionStats[];
  readonly destinations: Array<{ destination: string; kind: 'topic' | 'queue' | 'temp-queue'; subscribers: number; queued: number }>;
}

/** The STOMP adapter: a `ProtocolAdapter` plus `stats()`. */
export interface StompAdapter extends ProtocolAdapter {
  readonly name: 'stomp';
  /**
   * Recognises a STOMP CONNECT (or STOMP) frame as the first message of a client that offered no
   * subprotocol, and picks its version from `accept-version` (none: 1.0).
   */
  recognize(data: Uint8Array | string, isBinary: boolean): StompSubprotocol | undefined;
  /** Sessions (after CONNECTED) and destinations with their subscriber and ready-message counts. */
  stats(): StompStats;
}

/**
 * Creates a STOMP 1.0/1.1/1.2 broker adapter for `v12.stomp`, `v11.stomp` and `v10.stomp`
 * (preferred in that order). The negotiated id fixes the STOMP version.
 */
export function stomp(options: StompOptions = {}): StompAdapter {
  const resolved: StompDefaults = resolveOptions(stompDefaults, options);
  const heartBeat = resolveOptions(stompDefaults.heartBeat, options.heartBeat);
  const virtualHosts = resolved.virtualHosts;
  const broker = new Broker({
    heartBeat: { outgoing: nonNegative(heartBeat.outgoing), incoming: nonNegative(heartBeat.incoming) },
    heartBeatTolerance: Math.max(1, resolved.heartBeatTolerance),
    binaryFrames: resolved.binaryFrames,
    virtualHosts: virtualHosts && virtualHosts.length > 0 ? [...virtualHosts] : undefined,
    authenticate: resolved.authenticate,
    limits: { maxHeaders: resolved.maxHeaders, maxHeaderLength: resolved.maxHeaderLength, maxBodyLength: resolved.maxBodyLength },
    maxQueueLength: resolved.maxQueueLength,
    maxUnackedTopicMessages: Math.max(1, resolved.maxUnackedTopicMessages),
    maxTopicBacklog: nonNegative(resolved.maxTopicBacklog),
    requireHost: resolved.requireHost,
    serverName: resolved.serverName,
  });

  return {
    name: 'stomp',
    protocols: STOMP_PROTOCOLS,
    setup(context: AdapterContext): void {
      broker.setup(context);
    },
    open(connection: Connection, context: AdapterContext): Session {
      return new StompSession(connection, context, broker);
    },
    recognize(data: Uint8Array | string, _isBinary: boolean): StompSubprotocol | undefined {
      return recognizeStomp(data);
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


