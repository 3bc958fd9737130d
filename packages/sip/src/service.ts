/**
 * What one `sip()` adapter holds across connections: flows, transactions, the registrar, the
 * authenticator, the proxy, the bus bridge and the one deadline sweep they share. The adapter
 * (adapter.ts) wires it to the contract; the session (session.ts) feeds it messages.
 */
import { randomBytes } from 'node:crypto';
import {
  createBusBridge,
  createDeadlineSweep,
  createTopicMapper,
  type AdapterContext,
  type BusBridge,
  type BusMessage,
  type Connection,
  type DeadlineSweep,
  type TopicMapper,
} from '@protoplex/core';
import { Authenticator } from './auth.js';
import type { DigestAlgorithm } from './digest.js';
import { FlowTable, type Flow } from './flow.js';
import type { SipRequest, SipResponse } from './message.js';
import { SipProxy } from './proxy.js';
import { info, Registrar, type Binding } from './registrar.js';
import { TransactionLayer } from './transaction.js';
import type { AuthenticateHook, SendMessageRequest, SipOptions, SipRegistrationChange, SipReply, SipStats } from './types.js';
import { aorOf, parseUri } from './uri.js';

/** The options with every default applied (see `sipDefaults`). */
export interface ResolvedSipOptions extends Required<Omit<SipOptions, 'authenticate' | 'users' | 'onMessage' | 'onRegistration' | 'host'>> {
  readonly host: string;
  readonly users: Readonly<Record<string, string>> | undefined;
  readonly authenticate: AuthenticateHook | false | undefined;
  readonly onMessage: SipOptions['onMessage'];
  readonly onRegistration: SipOptions['onRegistration'];
  readonly algorithms: readonly DigestAlgorithm[];
}

/** How often the sweep visits transactions and bindings: the precision of Timers B, C, F, H and of expiry. */
const SWEEP_INTERVAL = 500;
const decoder = new TextDecoder('utf-8', { fatal: true });

export class SipService {
  readonly flows = new FlowTable();
  private context: AdapterContext | undefined;
  private transactions: TransactionLayer | undefined;
  private registrar: Registrar | undefined;
  private proxy: SipProxy | undefined;
  private sweep: DeadlineSweep | undefined;
  private bridge: BusBridge | undefined;
  private readonly topics: TopicMapper;
  private readonly listeners = new Set<(change: SipRegistrationChange) => void>();

  /** The parser's limits, one object for every message. */
  readonly limits: { readonly maxMessageSize: number };

  constructor(readonly options: ResolvedSipOptions) {
    this.limits = { maxMessageSize: options.maxMessageSize };
    this.topics = createTopicMapper({ separator: '/', busPrefix: options.busPrefix });
  }

  setup(context: AdapterContext): void {
    const options = this.options;
    this.context = context;
    const now = (): number => context.clock.now();
    const lookup: AuthenticateHook | undefined =
      options.authenticate === false
        ? undefined
        : (options.authenticate ?? (({ username }) => (options.users && Object.hasOwn(options.users, username) ? { password: options.users[username]! } : undefined)));
    const auth = new Authenticator({ realm: options.domain, algorithms: options.algorithms, nonceLifetime: options.nonceLifetime, lookup, now });
    this.transactions = new TransactionLayer({ transactionTimeout: options.transactionTimeout, inviteTimeout: options.inviteTimeout }, now, (t) => this.proxy?.timerC(t));
    this.registrar = new Registrar({
      domain: options.domain,
      minExpires: options.minExpires,
      maxExpires: options.maxExpires,
      defaultExpires: options.defaultExpires,
      maxBindings: options.maxBindings,
      flowTimer: options.flowTimer,
      now,
      onChange: (change, binding) => this.registrationChanged(change, binding),
    });
    if (options.bus) {
      this.bridge = createBusBridge(context.bus, { onMessage: (message) => this.fromBus(message), log: context.log });
    }
    this.proxy = new SipProxy(
      {
        domain: options.domain,
        host: options.host,
        users: options.authenticate === undefined ? options.users ?? {} : undefined,
        services: new Set(options.services),
        bridge: new Set(options.bus ? options.bridge : []),
        agent: options.agent,
        log: context.log,
        now,
        onMessage: options.onMessage,
        onBridge: (name, request, from, flow) => this.toBus(name, request, from, flow),
      },
      this.flows,
      this.transactions,
      this.registrar,
      auth,
    );
    this.sweep = createDeadlineSweep(context.clock, SWEEP_INTERVAL, (error) => context.log.error({ err: error }, 'sip sweep failed'));
  }

  private get ready(): { proxy: SipProxy; transactions: TransactionLayer; registrar: Registrar; sweep: DeadlineSweep } {
    if (!this.proxy || !this.transactions || !this.registrar || !this.sweep) throw new Error('sip adapter used before setup');
    return { proxy: this.proxy, transactions: this.transactions, registrar: this.registrar, sweep: this.sweep };
  }

  flowOpened(connection: Connection): Flow {
    const { sweep, transactions, registrar } = this.ready;
    // The sweep runs only while a flow is open, so an idle server keeps no timer.
    sweep.watch(transactions);
    sweep.watch(registrar);
    return this.flows.add(connection);
  }

  flowClosed(flow: Flow): void {
    if (!flow.open) return;
    const { sweep, transactions, registrar } = this.ready;
    this.flows.remove(flow);
    registrar.flowClosed(flow);
    transactions.flowClosed(flow);
    if (this.flows.size === 0 && transactions.servers.size === 0 && transactions.clients.size === 0) {
      sweep.unwatch(transactions);
      sweep.unwatch(registrar);
    }
  }

  request(flow: Flow, request: SipRequest): void {
    this.ready.proxy.handleRequest(flow, request);
  }

  response(flow: Flow, response: SipResponse): void {
    this.ready.proxy.handleResponse(flow, response);
  }

  // ------------------------------------------------------------------ application API

  onRegistration(listener: (change: SipRegistrationChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private registrationChanged(change: SipRegistrationChange, binding: Binding): void {
    const bridge = this.bridge;
    if (bridge && !this.options.bridge.includes(binding.user)) {
      // The bus rule: a user's topic is held while the user has a binding, once per user.
      const count = this.ready.registrar.lookup(binding.aor).length;
      const topic = this.topicOf(binding.user);
      if (change.type === 'added' && count === 1) bridge.hold(topic);
      else if (change.type === 'removed' && count === 0) bridge.release(topic);
    }
    try {
      this.options.onRegistration?.(change);
      for (const listener of this.listeners) listener(change);
    } catch (error) {
      this.context?.log.warn({ err: error }, 'sip onRegistration listener failed');
    }
  }

  private topicOf(name: string): string {
    return this.topics.toBus(name)!;
  }

  /** Sends a MESSAGE from the server to every binding of a user (RFC 3428), forked like a proxied one. */
  sendMessage(message: SendMessageRequest): Promise<SipReply & { reason: string }> {
    const { proxy, registrar } = this.ready;
    const domain = this.options.domain;
    const to = message.to.includes(':') ? parseUri(message.to) : parseUri(`sip:${message.to}@${domain}`);
    if (!to || to.user === undefined) return Promise.reject(new TypeError(`not a SIP address: ${JSON.stringify(message.to)}`));
    const aor = aorOf(to);
    const bindings = registrar.lookup(aor);
    if (bindings.length === 0) return Promise.resolve({ status: 480, reason: 'Temporarily Unavailable' });
    const from = message.from ?? `sip:${this.options.services[0] ?? 'server'}@${domain}`;
    const body = message.body;
    const request: SipRequest = {
      kind: 'request',
      method: 'MESSAGE',
      uri: aor,
      version: 'SIP/2.0',
      headers: [
        { key: 'max-forwards', name: 'Max-Forwards', value: '70' },
        { key: 'from', name: 'From', value: `<${from}>;tag=${randomBytes(6).toString('hex')}` },
        { key: 'to', name: 'To', value: `<${aor}>` },
        { key: 'call-id', name: 'Call-ID', value: `${randomBytes(12).toString('base64url')}@${this.options.host}` },
        { key: 'cseq', name: 'CSeq', value: '1 MESSAGE' },
        { key: 'content-type', name: 'Content-Type', value: message.contentType ?? 'text/plain;charset=utf-8' },
        { key: 'user-agent', name: 'User-Agent', value: this.options.agent },
      ],
      body,
    };
    return new Promise((resolve) => {
      proxy.originate(request, bindings, { respond: (response) => response.status >= 200 && resolve({ status: response.status, reason: response.reason }) });
    });
  }

  // ------------------------------------------------------------------ bus

  private toBus(name: string, request: SipRequest, from: string, flow: Flow): void {
    const bridge = this.bridge;
    const topic = this.topicOf(name);
    if (!bridge || !bridge.wanted(topic)) return;
    const body = request.body;
    const contentType = request.headers.find((h) => h.key === 'content-type')?.value;
    bridge.publish({
      topic,
      payload: typeof body === 'string' ? Buffer.from(body) : body,
      ...(contentType !== undefined ? { contentType } : {}),
      headers: { from },
      origin: { protocol: 'sip', connectionId: flow.connection.id },
      qos: 0,
    });
  }

  private fromBus(message: BusMessage): void {
    const prefix = this.options.busPrefix + '/';
    if (!message.topic.startsWith(prefix)) return;
    const user = this.topics.fromBus(message.topic);
    let body: string | Uint8Array = message.payload;
    try {
      body = decoder.decode(message.payload);
    } catch {
      // Not UTF-8: sent as bytes (a binary WebSocket message).
    }
    this.sendMessage({
      to: user,
      from: `sip:${message.origin.protocol}@${this.options.domain}`,
      contentType: message.contentType ?? 'text/plain;charset=utf-8',
      body,
    }).then(undefined, (error: unknown) => this.context?.log.warn({ err: error }, 'sip bus delivery failed'));
  }

  stats(): SipStats {
    const registrar = this.registrar;
    return {
      domain: this.options.domain,
      registrations: registrar ? registrar.all().map(info) : [],
      calls: this.proxy?.recentCalls() ?? [],
      transactions: { server: this.transactions?.servers.size ?? 0, client: this.transactions?.clients.size ?? 0 },
    };
  }

  shutdown(): void {
    this.sweep?.stop();
    this.bridge?.close();
    this.transactions?.clear();
    this.registrar?.clear();
  }
}
