/**
 * The router: realms (configured, or any a client names), session ids, session meta events and
 * the bridge of the bus realm to the cross-protocol bus. One per adapter, set up in `setup`.
 */
import { createBusBridge, createDeadlineSweep, type AdapterContext, type BusBridge } from '@protoplex/core';
import { Broker } from './broker.js';
import { BROKER_FEATURES, DEALER_FEATURES } from './constants.js';
import { Dealer } from './dealer.js';
import { sessionDetails } from './meta.js';
import { createIds, Realm, type Peer, type RouterContext } from './realm.js';
import type { WampSession } from './session.js';
import type { AuthMethod, WampOptions, WampRealmConfig, WampStats } from './types.js';
import { isValidUri } from './uri.js';

/** Options as the router keeps them (see `wampDefaults`). */
export interface RouterOptions {
  readonly realms: readonly (string | WampRealmConfig)[] | 'any';
  readonly uriCheck: 'loose' | 'strict';
  readonly authmethods: readonly AuthMethod[] | undefined;
  readonly authenticate: WampOptions['authenticate'];
  readonly authorize: WampOptions['authorize'];
  readonly busRealm: string | false | undefined;
  readonly eventHistory: number;
  readonly payloadPassthrough: boolean;
  readonly helloTimeout: number;
  readonly goodbyeTimeout: number;
  readonly maxCallTimeout: number;
  readonly agent: string;
}

/** Sweep ticks: HELLO, AUTHENTICATE and GOODBYE deadlines are checked this often. */
const SWEEP_MS = 500;

export class Router {
  context!: RouterContext;
  private readonly realms = new Map<string, Realm>();
  private readonly configs = new Map<string, WampRealmConfig>();
  private readonly sessions = new Map<number, WampSession>();
  private bridge: BusBridge | undefined;
  private busRealm: string | undefined;
  readonly helloTimeout: number;
  readonly goodbyeTimeout: number;
  readonly agent: string;
  /** WELCOME.Details.roles: the broker's and dealer's features, payload passthrough when enabled. */
  readonly roles: Readonly<Record<'broker' | 'dealer', { features: Readonly<Record<string, boolean>> }>>;

  constructor(readonly options: RouterOptions) {
    const ppt: Record<string, boolean> = options.payloadPassthrough ? { payload_passthru_mode: true } : {};
    this.roles = { broker: { features: { ...BROKER_FEATURES, ...ppt } }, dealer: { features: { ...DEALER_FEATURES, ...ppt } } };
    this.helloTimeout = options.helloTimeout;
    this.goodbyeTimeout = options.goodbyeTimeout;
    this.agent = options.agent;
    if (options.realms !== 'any') {
      for (const entry of options.realms) {
        const config = typeof entry === 'string' ? { name: entry } : entry;
        if (!isValidUri(config.name, options.uriCheck)) throw new TypeError(`realm ${JSON.stringify(config.name)} is not a valid URI`);
        this.configs.set(config.name, config);
      }
    }
  }

  setup(context: AdapterContext): void {
    const sweep = createDeadlineSweep(context.clock, SWEEP_MS, (error) => context.log.error({ err: error }, 'wamp deadline check failed'));
    const ids = createIds();
    const authmethods = this.options.authmethods ?? (this.options.authenticate ? (['cryptosign', 'wampcra', 'ticket', 'anonymous'] as const) : (['anonymous'] as const));
    this.context = {
      clock: context.clock,
      log: context.log,
      metrics: context.metrics,
      sweep,
      uriCheck: this.options.uriCheck,
      eventHistory: this.options.eventHistory,
      payloadPassthrough: this.options.payloadPassthrough,
      maxCallTimeout: this.options.maxCallTimeout,
      authorize: this.options.authorize,
      authenticate: this.options.authenticate,
      authmethods,
      ...ids,
      now: () => new Date(context.clock.now()).toISOString(),
    };
    const first = this.configs.keys().next();
    this.busRealm = this.options.busRealm === false ? undefined : (this.options.busRealm ?? (first.done ? 'realm1' : first.value));
    if (this.busRealm !== undefined) {
      this.bridge = createBusBridge(context.bus, { onMessage: (message) => this.realm(this.busRealm!)?.onBusMessage(message), log: context.log });
    }
    for (const name of this.configs.keys()) this.realm(name);
    context.signal.addEventListener('abort', () => {
      sweep.stop();
      this.bridge?.close();
    }, { once: true });
  }

  /** The realm named `name`, made on first use; undefined when it is not served. */
  realm(name: string): Realm | undefined {
    let realm = this.realms.get(name);
    if (realm) return realm;
    const config = this.configs.get(name);
    if (!config && this.options.realms !== 'any') return undefined;
    realm = new Realm(name, config, this.context, name === this.busRealm ? this.bridge : undefined);
    realm.broker = new Broker(realm);
    realm.dealer = new Dealer(realm);
    this.realms.set(name, realm);
    return realm;
  }

  /**
   * With `realms: 'any'` a realm is made for every name a HELLO gives: one that no configuration
   * keeps is dropped again once no session is in it, so names that never join (a refused login,
   * a scan of realm names) cost nothing lasting.
   */
  releaseRealm(realm: Realm): void {
    if (realm.config || realm.sessions.size > 0 || realm.name === this.busRealm) return;
    if (this.realms.get(realm.name) === realm) this.realms.delete(realm.name);
  }

  /** A session id no live session has ("MUST be a randomly generated ID specific to the WAMP session"). */
  newSessionId(): number {
    for (;;) {
      const id = this.context.globalId();
      if (!this.sessions.has(id)) return id;
    }
  }

  /** After WELCOME: the realm lists the session and `wamp.session.on_join` goes out. */
  join(session: WampSession): void {
    this.sessions.set(session.id, session);
    session.realm.join(session);
    session.realm.broker.publishMeta('wamp.session.on_join', [sessionDetails(session)]);
  }

  /** The session left (GOODBYE, ABORT, close, kill): its subscriptions and registrations go, `on_leave` goes out. */
  leave(session: Peer, quiet = false): void {
    if (this.sessions.get(session.id) !== session) return;
    this.sessions.delete(session.id);
    session.realm.leave(session);
    if (!quiet) session.realm.broker.publishMeta('wamp.session.on_leave', [session.id, session.authid, session.authrole]);
    this.releaseRealm(session.realm);
  }

  /** Server shutdown: every session gets GOODBYE `wamp.close.system_shutdown`. */
  shutdown(): void {
    for (const session of [...this.sessions.values()]) session.shutDown();
  }

  stats(): WampStats {
    return {
      realms: [...this.realms.values()].map((realm) => ({
        name: realm.name,
        sessions: [...realm.sessions.values()].map((peer) => ({ session: peer.id, authid: peer.authid, authrole: peer.authrole, authmethod: peer.authmethod, serializer: peer.serializer.id })),
        subscriptions: realm.broker.stats(),
        registrations: realm.dealer.stats(),
      })),
    };
  }
}
