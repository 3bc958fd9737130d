/**
 * The `ProtocolAdapter` object plus the CSMS API. Wiring only: the protocol rules live in
 * session.ts, codec.ts, schemas.ts, identity.ts and security.ts.
 */
import {
  CloseCode,
  HandshakeError,
  HandshakeErrorCode,
  ProtocolError,
  resolveOptions,
  type AdapterContext,
  type BusSubscription,
  type Connection,
  type ProtocolAdapter,
  type Session,
  type TlsInfo,
  type UpgradeRequest,
} from '@protoplex/core';
import { routeCommand } from './commands.js';
import { OCPP_VERSIONS, isOcppVersion, type OcppVersion } from './constants.js';
import { createDefaultHandlers } from './defaults.js';
import { OcppNotConnectedError } from './errors.js';
import { identityProblem } from './identity.js';
import { actionsOf, isSendOnly, validatorOf } from './schemas.js';
import { checkSecurityProfile, refusalHeaders, type SecurityPolicy, type SecurityProfile } from './security.js';
import { OcppSession, type AnyCallHandler, type OcppFault, type SessionHost } from './session.js';
import { COMMAND_FILTER } from './topics.js';
import type { ActionOf, CallActionOf, CallHandler, CallOptions, CsmsEvents, RequestOf, ResponseOf, StationHandle, StationInfo } from './types.js';

/** What `authenticate` learns about a connecting station. */
export interface AuthenticateInfo {
  readonly identity: string;
  readonly protocol: OcppVersion;
  /** From HTTP Basic (security profiles 1 and 2), when the station sent it. */
  readonly password: string | undefined;
  /** What TLS proved (profiles 2 and 3), when the connection is TLS. */
  readonly certificate: TlsInfo | undefined;
  readonly request: UpgradeRequest;
}

/**
 * Decides whether a station may connect. Return `true` or nothing to accept, `false` to refuse
 * with 401 (bad credentials), `'unknown'` to refuse with 404 (unknown identity), or throw a
 * `HandshakeError` for any other status.
 */
export type AuthenticateHook = (info: AuthenticateInfo) => boolean | 'unknown' | void | Promise<boolean | 'unknown' | void>;

export interface OcppOptions {
  /**
   * Subprotocol ids served, best first.
   * @default ['ocpp2.1', 'ocpp2.0.1', 'ocpp1.6']
   */
  versions?: readonly OcppVersion[];
  /**
   * Security profile the handshake enforces (OCPP 2.0.1 Part 2 §A00, 1.6 security whitepaper):
   * 0 none; 1 HTTP Basic with the identity as user-id; 2 Basic over TLS; 3 TLS with a client
   * certificate the server's CA verified. TLS itself comes from the server's TLS options.
   * @default 0
   */
  securityProfile?: SecurityProfile;
  /**
   * Profile 3: require the client certificate's subject CN to equal the identity.
   * @default true
   */
  matchCertificateCommonName?: boolean;
  /**
   * Called for every handshake after the identity and profile checks; see {@link AuthenticateHook}.
   * @default undefined (every station that passes the identity and profile checks is accepted)
   */
  authenticate?: AuthenticateHook;
  /**
   * What a second connection with an identity already connected does: `'replace'` closes the
   * older one (1000), `'refuse'` answers the new handshake with 409.
   * @default 'replace'
   */
  duplicate?: 'replace' | 'refuse';
  /**
   * Validate every inbound and outbound payload against its version's schema.
   * @default true
   */
  validate?: boolean;
  /**
   * Milliseconds a server CALL waits for its answer.
   * @default 30000
   */
  callTimeout?: number;
  /**
   * Longest text message accepted, in UTF-16 code units; longer ones get a CALLERROR and 1009.
   * @default 1048576
   */
  maxMessageLength?: number;
  /**
   * Publish station CALLs/SENDs and their answers on `ocpp/cp/{identity}/{Action}[/result]`,
   * each only when the bus has a subscriber for its topic (`hasSubscribers`): a message nobody
   * receives is never built.
   * @default true
   */
  publish?: boolean;
  /**
   * Turn messages on `ocpp/cs/{identity}/{Action}` into CALLs to the station. The adapter then
   * holds one bus subscription, `ocpp/cs/+/+` ({@link COMMAND_FILTER}), for every station.
   * @default true
   */
  commands?: boolean;
  /**
   * Answer a command for a station this node does not hold with a `NotConnected` result on
   * `ocpp/cs/{identity}/{Action}/result`. Turn it off when several nodes share one bus, or every
   * node but the station's own would answer.
   * @default true
   */
  replyNotConnected?: boolean;
  /**
   * Answer what a station needs to come online when no `onCall` handler is registered for the
   * action: BootNotification (Accepted), Heartbeat, StatusNotification, Authorize (Accepted),
   * MeterValues, StartTransaction/StopTransaction (1.6), TransactionEvent (2.x), DataTransfer
   * (UnknownVendorId) and the status/notify reports. A registered handler always wins.
   * @default true
   */
  defaultHandlers?: boolean;
  /**
   * Seconds of the `interval` the default BootNotification handler answers.
   * @default 300
   */
  heartbeatInterval?: number;
  /**
   * Validators compiled in `setup()` instead of on first use: a list of `{ version, action }`
   * (request and response), or `'all'` for every action of every served version. Compiling is
   * synchronous and happens before the server listens; `'all'` costs seconds (see README).
   * @default []
   */
  precompile?: readonly PrecompileTarget[] | 'all';
}

/** One action whose request and response validators `precompile` compiles in `setup()`. */
export interface PrecompileTarget {
  readonly version: OcppVersion;
  readonly action: string;
}

/** Defaults of every option but the `authenticate` hook; see {@link OcppOptions}. */
export const ocppDefaults: Readonly<Required<Omit<OcppOptions, 'authenticate'>>> = Object.freeze({
  versions: OCPP_VERSIONS,
  securityProfile: 0,
  matchCertificateCommonName: true,
  duplicate: 'replace',
  validate: true,
  callTimeout: 30_000,
  maxMessageLength: 1_048_576,
  publish: true,
  commands: true,
  replyNotConnected: true,
  defaultHandlers: true,
  heartbeatInterval: 300,
  precompile: [] as readonly PrecompileTarget[],
});

/** What `stats()` returns: JSON-serialisable, for the demo dashboard. */
export interface OcppStats {
  readonly stations: StationInfo[];
}

/** The adapter plus the CSMS API. */
export interface OcppAdapter extends ProtocolAdapter {
  readonly name: 'ocpp';
  readonly protocols: readonly OcppVersion[];
  /** Connected stations by identity. */
  readonly stations: ReadonlyMap<string, StationInfo>;
  /** A handle on a station; `version` narrows the types and makes calls reject on another version. */
  station<V extends OcppVersion = OcppVersion>(identity: string, version?: V): StationHandle<V>;
  /**
   * Answers CALLs (and 2.1 SENDs) of `action` from stations of `versions` (default: every
   * version that defines it). A later registration for the same action and version wins.
   * @returns a function that removes the handler
   */
  onCall<A extends ActionOf<V>, V extends OcppVersion = OcppVersion>(
    action: A,
    handler: CallHandler<V, A>,
    options?: { readonly versions?: readonly V[] },
  ): () => void;
  /** @returns a function that removes the listener */
  on<E extends keyof CsmsEvents>(event: E, listener: CsmsEvents[E]): () => void;
  stats(): OcppStats;
}

interface AuthResult {
  readonly identity: string;
}

interface HandlerEntry {
  readonly versions: ReadonlySet<OcppVersion> | undefined;
  readonly handler: AnyCallHandler;
}

/**
 * permessage-deflate for station connections, unless the route says otherwise. OCPP 2.0.1 Part 4
 * (and 2.1) has the CSMS support RFC 7692 compression; 1.6 stations that offer it save bandwidth
 * too. Small windows (1 KiB, zlib memLevel 4: about 12 KiB of compressor state, allocated only
 * once a station exchanges a large enough message) keep 10,000 stations from costing the ~300
 * KiB each that zlib's defaults would.
 */
export const OCPP_DEFLATE = Object.freeze({ serverMaxWindowBits: 10, clientMaxWindowBits: 10, memLevel: 4 });

/** Creates the OCPP-J central system adapter. Mount it on a route with an `identity` parameter. */
export function ocpp(options: OcppOptions = {}): OcppAdapter {
  const { authenticate, ...rest } = options;
  const config = resolveOptions(ocppDefaults, rest);
  const security: SecurityPolicy = { profile: config.securityProfile, matchCertificateCommonName: config.matchCertificateCommonName };
  const versions = [...config.versions];
  for (const version of versions) if (!isOcppVersion(version)) throw new TypeError(`unsupported OCPP version ${String(version)}`);
  if (!Number.isInteger(config.heartbeatInterval) || config.heartbeatInterval < 0) {
    throw new RangeError(`heartbeatInterval must be a whole number of seconds, got ${config.heartbeatInterval}`);
  }
  const precompile = precompileTargets(config.precompile, versions);
  const sessions = new Map<string, OcppSession>();
  const handlers = new Map<string, HandlerEntry[]>();
  const listeners: { [E in keyof CsmsEvents]: Set<CsmsEvents[E]> } = { connect: new Set(), disconnect: new Set() };
  let serverLog: AdapterContext['log'] | undefined;
  let serverClock: AdapterContext['clock'] | undefined;
  let commandSubscription: BusSubscription | undefined;
  let lastTransactionId = 0;
  const defaults = new Map<OcppVersion, ReadonlyMap<string, AnyCallHandler>>();
  if (config.defaultHandlers) {
    const defaultHost = {
      now: () => (serverClock ? serverClock.now() : Date.now()),
      heartbeatInterval: config.heartbeatInterval,
      // 1.6 StartTransaction.conf transactionId: an integer the Central System assigns; one
      // counter per adapter, so ids are unique per process run (not across restarts).
      nextTransactionId: () => (lastTransactionId = lastTransactionId >= 0x7fffffff ? 1 : lastTransactionId + 1),
    };
    for (const version of versions) defaults.set(version, createDefaultHandlers(version, defaultHost));
  }

  const emit = <E extends keyof CsmsEvents>(event: E, ...args: Parameters<CsmsEvents[E]>): void => {
    for (const listener of listeners[event]) {
      try {
        (listener as (...a: Parameters<CsmsEvents[E]>) => void)(...args);
      } catch (error) {
        serverLog?.error({ err: error, event }, 'ocpp event listener threw');
      }
    }
  };

  const host: SessionHost = {
    validate: config.validate,
    callTimeout: config.callTimeout,
    maxMessageLength: config.maxMessageLength,
    publish: config.publish,
    handlerFor(version, action) {
      const entries = handlers.get(action);
      if (entries) {
        for (let i = entries.length - 1; i >= 0; i--) {
          const entry = entries[i]!;
          if (!entry.versions || entry.versions.has(version)) return entry.handler;
        }
      }
      return defaults.get(version)?.get(action);
    },
    attach(session) {
      const previous = sessions.get(session.identity);
      if (previous && previous.isOpen) {
        // One connection per identity (the `duplicate` option; our rule, OCPP-J names none):
        // commands, `station()` and the bus topics address a station by its identity.
        if (config.duplicate === 'refuse') {
          session.fail(new ProtocolError<OcppFault>(CloseCode.PolicyViolation, 'identity already connected'));
          return;
        }
        previous.fail(new ProtocolError<OcppFault>(CloseCode.NormalClosure, 'replaced by a new connection'));
      }
      if (!session.isOpen) return;
      sessions.set(session.identity, session);
      session.registered = true;
      emit('connect', session.info());
    },
    detach(session, code, reason) {
      if (!session.registered) return;
      session.registered = false;
      // A replaced session closes after its successor registered: only drop our own entry.
      if (sessions.get(session.identity) === session) sessions.delete(session.identity);
      emit('disconnect', { ...session.info(), code, reason });
    },
  };

  const stationsView: ReadonlyMap<string, StationInfo> = {
    get size() {
      return sessions.size;
    },
    get: (identity) => sessions.get(identity)?.info(),
    has: (identity) => sessions.has(identity),
    forEach(callback, thisArg) {
      for (const [identity, session] of sessions) callback.call(thisArg, session.info(), identity, stationsView);
    },
    *entries() {
      for (const [identity, session] of sessions) yield [identity, session.info()] as [string, StationInfo];
    },
    keys: () => sessions.keys(),
    *values() {
      for (const session of sessions.values()) yield session.info();
    },
    [Symbol.iterator]() {
      return this.entries();
    },
  } as ReadonlyMap<string, StationInfo>;

  const csms: OcppAdapter = {
    name: 'ocpp',
    protocols: versions,
    stations: stationsView,
    perMessageDeflate: OCPP_DEFLATE,

    setup(context) {
      serverLog = context.log;
      serverClock = context.clock;
      // Before the server listens (it awaits setup): the stall is paid at start-up, not by the
      // first station that sends a large 2.x message.
      for (const { version, action } of precompile) {
        validatorOf(version, action, 'request');
        if (!isSendOnly(version, action)) validatorOf(version, action, 'response');
      }
      if (config.commands) {
        // A command inbox, not a bridge: `ocpp/cs/+/+` carries only messages addressed to this
        // adapter, so holding it costs nothing when nobody sends commands. It is server-wide
        // rather than per station because a command for a station that is not connected must
        // still be answered (NotConnected), or its sender waits for a result that never comes.
        const bus = context.bus;
        const commandHost = {
          sessionOf: (identity: string) => sessions.get(identity),
          replyNotConnected: config.replyNotConnected,
          log: context.log,
        };
        commandSubscription = bus.subscribe(COMMAND_FILTER, (message) => routeCommand(bus, commandHost, message));
      }
    },

    async authorize(request, protocol) {
      if (!isOcppVersion(protocol)) throw new HandshakeError(400, `unsupported subprotocol ${protocol}`);
      const identity = request.params['identity'];
      if (identity === undefined) throw new HandshakeError(404, 'no charging station identity in the path', { code: HandshakeErrorCode.NotFound });
      const problem = identityProblem(identity, protocol);
      // OCPP 2.0.1 Part 4 §3.1.1 / 1.6 §3.1.1: the identity is the last path segment; an
      // identity that cannot exist names no station, so it is a bad request.
      if (problem) throw new HandshakeError(400, problem);
      if (config.duplicate === 'refuse' && sessions.get(identity)?.isOpen) throw new HandshakeError(409, 'a station with this identity is already connected');

      const credentials = checkSecurityProfile(request, identity, security);
      if (authenticate) {
        let verdict: boolean | 'unknown' | void;
        try {
          verdict = await authenticate({ identity, protocol, password: credentials?.password, certificate: request.tls, request });
        } catch (error) {
          if (error instanceof HandshakeError) throw error;
          throw new HandshakeError(500, 'authentication failed', { cause: error });
        }
        if (verdict === 'unknown') throw new HandshakeError(404, 'unknown charging station', { code: HandshakeErrorCode.NotFound });
        if (verdict === false) throw new HandshakeError(401, 'bad credentials', { headers: refusalHeaders(security, credentials) });
      }
      const auth: AuthResult = { identity };
      return auth;
    },

    open(connection: Connection, context: AdapterContext): Session {
      const protocol = connection.protocol;
      const auth = connection.auth as AuthResult | undefined;
      const identity = auth?.identity ?? connection.request.params['identity'] ?? '';
      const version = isOcppVersion(protocol) ? protocol : undefined;
      if (!version || identityProblem(identity, version)) {
        // authorize() refuses these before the 101; reaching here means the adapter was opened
        // without it. Nothing can be answered without a station.
        connection.close(CloseCode.PolicyViolation, 'invalid charging station identity');
        return { onMessage() {}, onClose() {} };
      }
      const session = new OcppSession(connection, context, host, identity, version);
      session.start();
      return session;
    },

    station<V extends OcppVersion = OcppVersion>(identity: string, version?: V): StationHandle<V> {
      return {
        identity,
        get protocol() {
          return sessions.get(identity)?.version;
        },
        get connected() {
          return sessions.get(identity)?.isOpen ?? false;
        },
        call<A extends CallActionOf<V>>(action: A, payload: RequestOf<V, A>, callOptions?: CallOptions): Promise<ResponseOf<V, A>> {
          const session = sessions.get(identity);
          if (!session || !session.isOpen) {
            return Promise.reject(new OcppNotConnectedError(`station ${JSON.stringify(identity)} is not connected`));
          }
          if (version !== undefined && session.version !== version) {
            return Promise.reject(new OcppNotConnectedError(`station ${JSON.stringify(identity)} speaks ${session.version}, not ${version}`));
          }
          return session.call(action, payload, callOptions?.timeout) as Promise<ResponseOf<V, A>>;
        },
      };
    },

    onCall(action, handler, handlerOptions) {
      const entry: HandlerEntry = {
        versions: handlerOptions?.versions ? new Set(handlerOptions.versions) : undefined,
        handler: handler as unknown as AnyCallHandler,
      };
      const list = handlers.get(action) ?? [];
      list.push(entry);
      handlers.set(action, list);
      return () => {
        const current = handlers.get(action);
        if (!current) return;
        const at = current.indexOf(entry);
        if (at >= 0) current.splice(at, 1);
        if (current.length === 0) handlers.delete(action);
      };
    },

    on(event, listener) {
      const set = listeners[event] as Set<typeof listener>;
      set.add(listener);
      return () => {
        set.delete(listener);
      };
    },

    stats() {
      return { stations: [...sessions.values()].map((session) => session.info()) };
    },

    async shutdown() {
      // Nothing to persist: pending server CALLs reject when their connections close.
      commandSubscription?.unsubscribe();
      commandSubscription = undefined;
    },
  };
  return csms;
}

/** The (version, action) pairs `precompile` names, checked against the served versions. */
function precompileTargets(option: readonly PrecompileTarget[] | 'all', versions: readonly OcppVersion[]): PrecompileTarget[] {
  if (option === 'all') return versions.flatMap((version) => [...actionsOf(version)].map((action) => ({ version, action })));
  for (const { version, action } of option) {
    if (!versions.includes(version)) throw new TypeError(`precompile: ${String(version)} is not a served version`);
    if (!actionsOf(version).has(action)) throw new TypeError(`precompile: ${version} has no action ${JSON.stringify(action)}`);
  }
  return [...option];
}

