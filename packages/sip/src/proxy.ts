/**
 * The stateful proxy (RFC 3261 §16) and the server's own UAS answers: request validation
 * (§16.3), route pre-processing with flow tokens (§16.4, RFC 5626 §5.3), target sets from the
 * registrar with forking (§16.5, §16.6), the response context that picks the best answer and
 * cancels the losers (§16.7, §16.10), and REGISTER, OPTIONS and MESSAGE to the server itself.
 */
import type { Logger } from '@protoplex/core';
import type { Authenticator } from './auth.js';
import type { Flow, FlowTable } from './flow.js';
import { formatVia, parseCSeq, parseNameAddr, parseVia, splitHeaderValues, tagOf, type Via } from './headers.js';
import { getHeader, getHeaders, type SipHeader, type SipRequest, type SipResponse } from './message.js';
import { addressUri, type Binding, type Registrar } from './registrar.js';
import { createResponse } from './serializer.js';
import { serverKey, type ClientTransaction, type ResponseSink, type ServerTransaction, type TransactionLayer } from './transaction.js';
import type { SipApplicationMessage, SipCallInfo, SipReply } from './types.js';
import { aorOf, parseUri, uriScheme, type SipUri } from './uri.js';

/** Methods this server knows; what else arrives for the server itself gets 501 (§8.2.1). */
const KNOWN_METHODS = new Set(['INVITE', 'ACK', 'CANCEL', 'BYE', 'OPTIONS', 'REGISTER', 'MESSAGE', 'SUBSCRIBE', 'NOTIFY', 'REFER', 'INFO', 'UPDATE', 'PRACK', 'PUBLISH']);
/** What the server itself answers (Allow of its OPTIONS and 405 answers). */
const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, MESSAGE, SUBSCRIBE, NOTIFY, REFER, INFO, UPDATE, PRACK';
/** Option tags the registrar understands in Require (§10.3 step 2). */
const SUPPORTED = 'outbound, gruu, path';
const REGISTRAR_EXTENSIONS: ReadonlySet<string> = new Set(['outbound', 'gruu', 'path']);
const NO_EXTENSIONS: ReadonlySet<string> = new Set();
/** Requests that may create a dialog, which the proxy record-routes (§16.6 step 4). */
const DIALOG_CREATING = new Set(['INVITE', 'SUBSCRIBE', 'REFER', 'NOTIFY']);
const COMPLETED_ELSEWHERE = 'SIP;cause=200;text="Call completed elsewhere"';
const MAX_CALLS = 50;
const URI_CACHE_SIZE = 1024;

export interface ProxyOptions {
  readonly domain: string;
  readonly host: string;
  readonly users: Readonly<Record<string, string>> | undefined;
  readonly services: ReadonlySet<string>;
  /** Bridge names, only when the bus is on. */
  readonly bridge: ReadonlySet<string>;
  readonly agent: string;
  readonly log: Logger;
  readonly now: () => number;
  readonly onMessage?: (message: SipApplicationMessage) => SipReply | void | Promise<SipReply | void>;
  /** A MESSAGE to a bridge name, for the bus. */
  readonly onBridge: (name: string, request: SipRequest, from: string, flow: Flow) => void;
}

/** A forwarding target: the flow to the UA and the Request-URI it gets. */
interface Target {
  readonly flow: Flow;
  readonly uri: string;
}

/** 32-bit FNV-1a in base 36: the loop-detection part of our branches (§16.6 step 8), cheap enough for every request. */
function loopHash(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(36);
}

const replaceHeader = (headers: SipHeader[], index: number, value: string): void => {
  const header = headers[index]!;
  headers[index] = { key: header.key, name: header.name, value };
};

export class SipProxy {
  private readonly calls: (SipCallInfo & { status?: number; ended?: number })[] = [];
  private readonly hostLower: string;
  private readonly uris = new Map<string, SipUri>();
  private readonly domainLower: string;

  constructor(
    private readonly options: ProxyOptions,
    private readonly flows: FlowTable,
    private readonly transactions: TransactionLayer,
    private readonly registrar: Registrar,
    private readonly auth: Authenticator,
  ) {
    this.hostLower = options.host.toLowerCase();
    this.domainLower = options.domain.toLowerCase();
  }

  recentCalls(): SipCallInfo[] {
    return this.calls.map((call) => ({ ...call }));
  }

  // ------------------------------------------------------------------ requests

  handleRequest(flow: Flow, request: SipRequest): void {
    // The parser guarantees a Via that parses; it is read once here for `received` and the key.
    const top = markReceived(flow, request);
    if (!top) return;
    if (request.method === 'ACK') return this.ack(flow, request, top);
    if (request.method === 'CANCEL') return this.cancel(flow, request, top);
    const key = serverKey(flow, request, top);
    const existing = this.transactions.servers.get(key);
    if (existing) {
      existing.retransmission();
      return;
    }
    const transaction = this.transactions.createServer(key, flow, request);
    // §16.2: a stateful proxy answers an INVITE with 100 at once, so the UA stops retrying.
    if (request.method === 'INVITE') transaction.reply(100);
    if (request.method === 'BYE') this.callEnded(request);
    this.route(transaction);
  }

  private route(transaction: ServerTransaction): void {
    const request = transaction.request;
    // §16.3 step 3: Max-Forwards.
    const maxForwardsText = getHeader(request, 'max-forwards');
    const maxForwards = maxForwardsText === undefined ? 70 : Number(maxForwardsText);
    // §16.3 step 4: a request that comes back with our own branch is a loop.
    if (this.isLoop(request)) return transaction.reply(482);
    // §16.3 step 5: this proxy implements no extension a Proxy-Require may name.
    const proxyRequire = getHeaders(request, 'proxy-require');
    if (proxyRequire.length > 0) return transaction.reply(420, { headers: [['Unsupported', proxyRequire.join(', ')]] });

    // §16.4: a Route to us is ours to remove; its flow token says where the dialog goes.
    const routeIndex = request.headers.findIndex((h) => h.key === 'route');
    let flowToken: readonly [number, number] | undefined;
    if (routeIndex >= 0) {
      const values = splitHeaderValues(request.headers[routeIndex]!.value);
      const top = parseNameAddr(values[0] ?? '');
      const topUri = top ? parseUri(top.uri) : undefined;
      if (topUri && this.isOurHost(topUri.host)) {
        if (topUri.user !== undefined) flowToken = this.flows.parseToken(topUri.user);
        if (values.length > 1) replaceHeader(request.headers, routeIndex, values.slice(1).join(', '));
        else request.headers.splice(routeIndex, 1);
      }
    }
    if (flowToken) {
      const [inbound, outbound] = flowToken;
      const peer = transaction.flow.n === inbound ? outbound : transaction.flow.n === outbound ? inbound : undefined;
      const target = peer === undefined ? undefined : this.flows.get(peer);
      // RFC 5626 §5.3: the flow the token names is gone: 430, and the UA re-registers.
      if (!target) return transaction.reply(430);
      if (maxForwards <= 0) return transaction.reply(483);
      return this.forward(transaction, [{ flow: target, uri: request.uri }], maxForwards, false);
    }
    if (request.headers.some((h) => h.key === 'route')) {
      // The next hop is another element, which this server cannot reach: it serves WebSocket UAs only.
      return transaction.reply(403, { reason: 'Relaying Forbidden' });
    }

    const uri = this.requestUri(request.uri);
    if (!uri) {
      // §8.2.2.1: a scheme we do not serve; otherwise the URI is broken.
      const scheme = uriScheme(request.uri)?.toLowerCase();
      return scheme !== 'sip' && scheme !== 'sips' ? transaction.reply(416) : transaction.reply(400, { reason: 'Bad Request-URI' });
    }
    if (request.method === 'REGISTER') return this.register(transaction, uri);
    if (!this.isOurHost(uri.host)) {
      // A request straight to a registered contact (a peer that does not record-route).
      const binding = this.registrar.byContact(uri);
      if (!binding) return transaction.reply(403, { reason: 'Relaying Forbidden' });
      if (maxForwards <= 0) return transaction.reply(483);
      return this.authorized(transaction, () => this.forward(transaction, [{ flow: binding.flow, uri: request.uri }], maxForwards, true));
    }
    if (uri.user === undefined) return this.toServer(transaction);
    // §16.3 step 3: MF 0 may still be answered for OPTIONS, by the proxy itself.
    if (maxForwards <= 0) return request.method === 'OPTIONS' ? this.options200(transaction) : transaction.reply(483);
    this.authorized(transaction, () => this.toUser(transaction, uri, maxForwards));
  }

  /**
   * The Request-URI parsed, from a small cache: a relay sees the same few URIs (each user's
   * AOR) over and over. Parsed URIs are never mutated, so sharing them is safe.
   */
  private requestUri(text: string): SipUri | undefined {
    const cached = this.uris.get(text);
    if (cached !== undefined) return cached;
    const uri = parseUri(text);
    if (!uri) return undefined;
    if (this.uris.size >= URI_CACHE_SIZE) this.uris.clear();
    this.uris.set(text, uri);
    return uri;
  }

  /** Requests for the server's own URI (§8.2.1, §10.3, §11). */
  private toServer(transaction: ServerTransaction): void {
    const request = transaction.request;
    // §8.2.2.3: as the UAS, an extension the request requires and we do not have gets 420.
    const unsupported = this.unsupported(request, NO_EXTENSIONS);
    if (unsupported) return transaction.reply(420, { headers: [['Unsupported', unsupported]] });
    switch (request.method) {
      case 'OPTIONS':
        return this.options200(transaction);
      default:
        if (KNOWN_METHODS.has(request.method)) return transaction.reply(405, { headers: [['Allow', 'OPTIONS, REGISTER']] });
        return transaction.reply(501);
    }
  }

  private options200(transaction: ServerTransaction): void {
    transaction.reply(200, {
      headers: [
        ['Allow', ALLOW],
        ['Accept', 'application/sdp, text/plain, message/cpim'],
        ['Supported', SUPPORTED],
        ['Server', this.options.agent],
      ],
    });
  }

  /** Requests for a user (or a service) at our domain (§16.5). */
  private toUser(transaction: ServerTransaction, uri: SipUri, maxForwards: number): void {
    const request = transaction.request;
    const user = uri.user!;
    if (this.options.services.has(user) || this.options.bridge.has(user)) return this.toService(transaction, user);
    const gruu = this.registrar.byGruu(uri);
    if (gruu !== undefined) {
      // RFC 5627 §3.3: a GRUU reaches its instance only; a GRUU whose binding lapsed gets 480.
      if (gruu.length === 0) return transaction.reply(480);
      return this.forward(transaction, gruu.map(targetOf), maxForwards, true);
    }
    const bindings = this.registrar.lookup(aorOf(uri));
    if (bindings.length === 0) {
      void this.isKnownUser(user, request).then(
        (known) => transaction.reply(known ? 480 : 404),
        (error: unknown) => transaction.flow.fail(error, request),
      );
      return;
    }
    this.forward(transaction, bindings.map(targetOf), maxForwards, true);
  }

  private async isKnownUser(user: string, request: SipRequest): Promise<boolean> {
    if (this.options.users) return Object.hasOwn(this.options.users, user);
    // Without a table, a user the hook knows is known; with authentication off, anyone may register.
    return this.auth.enabled ? (await this.auth.lookupUser(user, request)) !== undefined : true;
  }

  private toService(transaction: ServerTransaction, user: string): void {
    const request = transaction.request;
    if (request.method === 'OPTIONS') return this.options200(transaction);
    if (request.method !== 'MESSAGE') return transaction.reply(405, { headers: [['Allow', 'MESSAGE, OPTIONS']] });
    const from = aorOfHeader(getHeader(request, 'from')) ?? '';
    if (this.options.bridge.has(user)) {
      this.options.onBridge(user, request, from, transaction.flow);
      return transaction.reply(200);
    }
    const hook = this.options.onMessage;
    if (!hook) return transaction.reply(404);
    const message: SipApplicationMessage = { from, to: user, contentType: getHeader(request, 'content-type'), body: request.body, request };
    let answer: SipReply | void | Promise<SipReply | void>;
    try {
      answer = hook(message);
    } catch (error) {
      this.options.log.warn({ err: error }, 'sip onMessage hook failed');
      return transaction.reply(500);
    }
    const reply = (value: SipReply | void): void => {
      const status = value?.status ?? 200;
      if (!Number.isInteger(status) || status < 200 || status > 699) return transaction.reply(500);
      transaction.reply(status, { reason: value?.reason });
    };
    if (answer instanceof Promise) {
      answer.then(reply, (error: unknown) => {
        this.options.log.warn({ err: error }, 'sip onMessage hook failed');
        transaction.reply(500);
      });
    } else reply(answer);
  }

  // ------------------------------------------------------------------ authentication

  /**
   * Requests from our users must come from a flow that proved who they are: by REGISTER on it,
   * or by answering a 407 (§22.3). In-dialog requests that carry this proxy's flow token never
   * get here (the dialog was let through when it was made), and ACK and CANCEL cannot be
   * challenged. A To tag alone proves nothing: anyone can write one.
   */
  private authorized(transaction: ServerTransaction, next: () => void): void {
    const request = transaction.request;
    if (!this.auth.enabled) return next();
    const from = getHeader(request, 'from') ?? '';
    // A UA sends the same From but for its tag on every request: the flow remembers the last one.
    const flow = transaction.flow;
    const tagAt = from.lastIndexOf(';tag=');
    const fromKey = tagAt >= 0 && from.indexOf(';', tagAt + 1) < 0 ? from.slice(0, tagAt) : undefined;
    if (fromKey !== undefined && fromKey === flow.lastFrom?.key && flow.identities.has(flow.lastFrom.aor)) return next();
    const fromUri = addressUri(from);
    if (!fromUri) return transaction.reply(400, { reason: 'Bad From' });
    const fromAor = aorOf(fromUri);
    if (flow.identities.has(fromAor)) {
      if (fromKey !== undefined) flow.lastFrom = { key: fromKey, aor: fromAor };
      return next();
    }
    if (!this.isOurHost(fromUri.host)) return transaction.reply(403, { reason: 'Relaying Forbidden' });
    this.auth.check(request, true, transaction.flow.connection.request.remoteAddress).then(
      (outcome) => {
        if (transaction.state === 'terminated') return;
        if (!outcome.ok) return transaction.reply(407, { headers: this.auth.challenge(true, outcome.stale) });
        // §22.3: the credentials must be those of the user the request claims to come from.
        if (outcome.username !== fromUri.user) return transaction.reply(403, { reason: 'Identity Mismatch' });
        transaction.flow.identities.add(fromAor);
        next();
      },
      (error: unknown) => transaction.flow.fail(error, request),
    );
  }

  private register(transaction: ServerTransaction, uri: SipUri): void {
    const request = transaction.request;
    // §10.3 step 1: we are the registrar of our domain only.
    if (!this.isOurHost(uri.host)) return transaction.reply(404, { reason: 'Domain Not Served' });
    // §10.3 step 2: an extension in Require we do not have.
    const unsupported = this.unsupported(request, REGISTRAR_EXTENSIONS);
    if (unsupported) return transaction.reply(420, { headers: [['Unsupported', unsupported]] });
    const to = addressUri(getHeader(request, 'to'));
    // §10.3 step 5: the AOR must be valid for the domain.
    // RFC 4475 §3.3.8: an AOR that is not a SIP URI at all is a bad request.
    if (!to || (to.scheme !== 'sip' && to.scheme !== 'sips')) return transaction.reply(400, { reason: 'To Is Not A SIP URI' });
    if (to.user === undefined) return transaction.reply(404, { reason: 'Bad Address Of Record' });
    if (!this.isOurHost(to.host)) return transaction.reply(404, { reason: 'Address Of Record Not Served' });
    if (!this.auth.enabled) return this.registrar.register(transaction, to);
    this.auth.check(request, false, transaction.flow.connection.request.remoteAddress).then(
      (outcome) => {
        if (transaction.state === 'terminated') return;
        // §10.3 step 3, §22.2: challenge (again, after wrong credentials, §22.4).
        if (!outcome.ok) return transaction.reply(401, { headers: this.auth.challenge(false, outcome.stale) });
        // §10.3 step 4: a user may change the bindings of its own AOR only.
        if (outcome.username !== to.user) return transaction.reply(403, { reason: 'Not Your Address Of Record' });
        transaction.flow.identities.add(aorOf(to));
        this.registrar.register(transaction, to);
      },
      (error: unknown) => transaction.flow.fail(error, request),
    );
  }

  /** The option tags of Require that `known` lacks, comma-separated, or undefined. */
  private unsupported(request: SipRequest, known: ReadonlySet<string>): string | undefined {
    const tags = getHeaders(request, 'require')
      .flatMap((line) => line.split(','))
      .map((t) => t.trim())
      .filter((t) => t !== '' && !known.has(t.toLowerCase()));
    return tags.length > 0 ? tags.join(', ') : undefined;
  }

  // ------------------------------------------------------------------ forwarding

  private forward(transaction: ServerTransaction, targets: readonly Target[], maxForwards: number, recordRoute: boolean): void {
    const request = transaction.request;
    const context = new ForwardContext(this, transaction, request.method === 'INVITE');
    transaction.forward = context;
    const dialogCreating = recordRoute && DIALOG_CREATING.has(request.method) && tagOf(getHeader(request, 'to') ?? '') === undefined;
    if (request.method === 'INVITE' && dialogCreating) this.callStarted(request);
    const loop = this.loopPart(request);
    for (const target of targets) {
      const branch = this.transactions.branch(loop);
      const headers: SipHeader[] = [{ key: 'via', name: 'Via', value: `SIP/2.0/${target.flow.transport} ${this.options.host};branch=${branch}` }];
      if (dialogCreating) {
        // RFC 5626 §5.3 / RFC 7118 §5.5: the flow token names both flows of this branch.
        headers.push({ key: 'record-route', name: 'Record-Route', value: `<sip:${this.flows.token(transaction.flow, target.flow)}@${this.options.host};transport=ws;lr>` });
      }
      let hasMaxForwards = false;
      for (const header of request.headers) {
        if (header.key === 'max-forwards') {
          hasMaxForwards = true;
          headers.push({ key: 'max-forwards', name: header.name, value: String(maxForwards - 1) });
        } else headers.push(header);
      }
      // §16.6 step 3: a request without Max-Forwards gets one.
      if (!hasMaxForwards) headers.push({ key: 'max-forwards', name: 'Max-Forwards', value: String(maxForwards - 1) });
      const copy: SipRequest = { kind: 'request', method: request.method, uri: target.uri, version: request.version, headers, body: request.body };
      context.add(this.transactions.send(branch, target.flow, copy, (response, client) => context.receive(response, client)));
    }
  }

  /** §16.6 step 8: the loop part of the branch, from what a looping request would carry again. */
  private loopPart(request: SipRequest): string {
    const to = getHeader(request, 'to') ?? '';
    const from = getHeader(request, 'from') ?? '';
    const cseq = getHeader(request, 'cseq') ?? '';
    return loopHash(`${request.uri}|${tagOf(to) ?? ''}|${tagOf(from) ?? ''}|${getHeader(request, 'call-id') ?? ''}|${parseCSeq(cseq)?.seq ?? ''}`);
  }

  private isLoop(request: SipRequest): boolean {
    let ours: string[] | undefined;
    for (const header of request.headers) {
      if (header.key !== 'via' || !header.value.includes(this.options.host)) continue;
      for (const via of parseVia(header.value) ?? []) {
        if (via.host.toLowerCase() === this.hostLower && via.branch !== undefined) (ours ??= []).push(via.branch);
      }
    }
    if (!ours) return false;
    // Our branches are `z9hG4bK{loop}.{unique}`: the same loop part again is a loop, another one a spiral.
    const loop = this.loopPart(request);
    return ours.some((branch) => branch.slice(7, branch.indexOf('.')) === loop);
  }

  isOurHost(host: string): boolean {
    const lower = host.toLowerCase();
    return lower === this.domainLower || lower === this.hostLower;
  }

  /** Sends a request the server originates (`sendMessage`) to every binding of `aor`. */
  originate(request: SipRequest, bindings: readonly Binding[], sink: ResponseSink): void {
    const context = new ForwardContext(this, sink, false);
    for (const binding of bindings) {
      const branch = this.transactions.branch();
      const copy: SipRequest = {
        ...request,
        uri: binding.contact,
        headers: [{ key: 'via', name: 'Via', value: `SIP/2.0/${binding.flow.transport} ${this.options.host};branch=${branch}` }, ...request.headers],
      };
      context.add(this.transactions.send(branch, binding.flow, copy, (response, client) => context.receive(response, client)));
    }
  }

  // ------------------------------------------------------------------ ACK and CANCEL

  private ack(flow: Flow, request: SipRequest, top: Via): void {
    const transaction = this.transactions.servers.get(serverKey(flow, request, top, 'ACK'));
    if (transaction && transaction.state === 'completed') {
      // §17.2.1: the ACK of our non-2xx answer ends here (the branch's own ACK went downstream).
      transaction.acknowledged();
      return;
    }
    // The ACK of a 2xx is its own transaction, routed like any in-dialog request (§16.11).
    const target = this.inDialogTarget(flow, request);
    if (!target) return;
    const maxForwards = Number(getHeader(request, 'max-forwards') ?? '70');
    if (maxForwards <= 0) return;
    const headers: SipHeader[] = [{ key: 'via', name: 'Via', value: `SIP/2.0/${target.transport} ${this.options.host};branch=${this.transactions.branch(this.loopPart(request))}` }];
    for (const header of request.headers) headers.push(header.key === 'max-forwards' ? { key: header.key, name: header.name, value: String(maxForwards - 1) } : header);
    target.send({ ...request, headers });
  }

  /** The flow an in-dialog request without a transaction goes to: its flow token, or a registered contact. */
  private inDialogTarget(flow: Flow, request: SipRequest): Flow | undefined {
    const routeIndex = request.headers.findIndex((h) => h.key === 'route');
    if (routeIndex >= 0) {
      const values = splitHeaderValues(request.headers[routeIndex]!.value);
      const top = parseNameAddr(values[0] ?? '');
      const topUri = top ? parseUri(top.uri) : undefined;
      if (!topUri || !this.isOurHost(topUri.host)) return undefined;
      if (values.length > 1) replaceHeader(request.headers, routeIndex, values.slice(1).join(', '));
      else request.headers.splice(routeIndex, 1);
      const token = topUri.user === undefined ? undefined : this.flows.parseToken(topUri.user);
      if (token) {
        const peer = flow.n === token[0] ? token[1] : flow.n === token[1] ? token[0] : undefined;
        return peer === undefined ? undefined : this.flows.get(peer);
      }
    }
    const uri = parseUri(request.uri);
    return uri ? this.registrar.byContact(uri)?.flow : undefined;
  }

  private cancel(flow: Flow, request: SipRequest, top: Via): void {
    const invite = this.transactions.servers.get(serverKey(flow, request, top, 'INVITE'));
    // §16.10: a CANCEL that matches nothing gets 481; one that matches is answered 200 at once.
    if (!invite) {
      flow.send(createResponse(request, 481, { toTag: 'x' + Math.random().toString(36).slice(2, 10) }));
      return;
    }
    flow.send(createResponse(request, 200, { toTag: invite.toTag }));
    if (invite.state !== 'proceeding') return;
    if (invite.forward) invite.forward.cancel(getHeader(request, 'reason'));
    // Not forwarded yet (still authenticating, say): the INVITE ends here (§9.2).
    else invite.reply(487);
  }

  // ------------------------------------------------------------------ responses

  handleResponse(flow: Flow, response: SipResponse): void {
    const transaction = this.transactions.match(response);
    // §16.7: a response that matches no transaction would be forwarded statelessly by its next
    // Via, but over WebSocket that Via names an unreachable `.invalid` host: it is dropped.
    if (!transaction || transaction.flow !== flow) {
      this.options.log.debug({ status: response.status }, 'sip response matches no transaction; dropped');
      return;
    }
    transaction.receive(response);
  }

  /** Timer C (§16.8): a ringing branch is cancelled; one that never answered times out. */
  timerC(transaction: ClientTransaction): void {
    if (transaction.provisional) {
      transaction.cancel();
      // If not even the CANCEL brings a final answer, Timer B's length later it is a 408.
      transaction.deadline = this.options.now() + this.transactions.timers.transactionTimeout;
    } else transaction.timeout();
  }

  // ------------------------------------------------------------------ calls (dashboard)

  private callStarted(request: SipRequest): void {
    const callId = getHeader(request, 'call-id') ?? '';
    if (this.calls.some((c) => c.callId === callId)) return;
    this.calls.unshift({ callId, from: aorOfHeader(getHeader(request, 'from')) ?? '', to: aorOfHeader(getHeader(request, 'to')) ?? '', started: this.options.now() });
    if (this.calls.length > MAX_CALLS) this.calls.pop();
  }

  callAnswered(request: SipRequest, status: number): void {
    if (request.method !== 'INVITE') return;
    const call = this.calls.find((c) => c.callId === getHeader(request, 'call-id'));
    if (call && call.status === undefined) call.status = status;
  }

  private callEnded(request: SipRequest): void {
    const call = this.calls.find((c) => c.callId === getHeader(request, 'call-id'));
    if (call && call.ended === undefined) call.ended = this.options.now();
  }
}

/**
 * The response context of one forwarded request (§16.7): forwards provisionals and 2xx at once,
 * keeps the best final answer of the others until every branch is done, and cancels the losers.
 */
class ForwardContext {
  private readonly branches: ClientTransaction[] = [];
  private readonly done = new Set<ClientTransaction>();
  private best: SipResponse | undefined;
  private challenges: SipHeader[] = [];
  private finalSent = false;
  private canceled = false;

  constructor(
    private readonly proxy: SipProxy,
    private readonly upstream: ResponseSink & { request?: SipRequest },
    private readonly invite: boolean,
  ) {}

  add(branch: ClientTransaction): void {
    this.branches.push(branch);
  }

  receive(response: SipResponse, branch: ClientTransaction): void {
    const status = response.status;
    // §16.7 step 5: the proxy made its own 100; others' are not forwarded.
    if (status === 100) return;
    const upward = withoutTopVia(response);
    if (status < 200) {
      if (!this.finalSent) this.upstream.respond(upward);
      return;
    }
    this.done.add(branch);
    if (status < 300) {
      // §16.7 step 5: every 2xx goes up at once (a forked INVITE may be answered twice);
      // §16.7 step 10: then the other branches are cancelled.
      this.finalSent = true;
      this.upstream.respond(upward);
      if (this.upstream.request) this.proxy.callAnswered(this.upstream.request, status);
      if (this.invite) for (const other of this.branches) if (other !== branch && other.cancel(COMPLETED_ELSEWHERE)) this.done.add(other);
      return;
    }
    if (status >= 600 && this.invite) {
      // §16.7 step 5 (6xx): nobody else will do better; the rest are cancelled.
      for (const other of this.branches) if (other !== branch && other.cancel()) this.done.add(other);
    }
    if (status === 401 || status === 407) {
      // §16.7 step 7: the challenges of every branch reach the UA together.
      for (const header of response.headers) if (header.key === 'www-authenticate' || header.key === 'proxy-authenticate') this.challenges.push(header);
    }
    if (!this.best || rank(status) < rank(this.best.status)) this.best = upward;
    this.settle();
  }

  /** The caller's CANCEL (§16.10): every pending branch is cancelled and the INVITE gets 487. */
  cancel(reason?: string): void {
    if (this.finalSent || this.canceled) return;
    this.canceled = true;
    for (const branch of this.branches) {
      // A branch that has not rung yet owes its CANCEL until it does (§9.1); the caller does not wait for it.
      if (branch.cancel(reason) && !branch.provisional) this.done.add(branch);
    }
    this.settle();
  }

  /** The caller's flow closed: nobody waits for an answer, so the branches stop ringing. */
  upstreamGone(): void {
    this.finalSent = true;
    for (const branch of this.branches) branch.cancel();
  }

  private settle(): void {
    if (this.finalSent || this.done.size < this.branches.length) return;
    this.finalSent = true;
    const request = this.upstream.request;
    let best = this.best;
    // A cancelled INVITE ends in 487 (§9.2): the callee's own when it sent one, else the proxy's.
    if (this.canceled && request && (!best || (best.status < 600 && best.status !== 487))) best = createResponse(request, 487, { toTag: (this.upstream as ServerTransaction).toTag });
    if (!best) return;
    const answer: SipResponse = best;
    if (answer.status === 503 && request) {
      // §16.7 step 6: a 503 from downstream means that element is down, not this proxy.
      best = createResponse(request, 500, { toTag: (this.upstream as ServerTransaction).toTag });
    } else if ((answer.status === 401 || answer.status === 407) && this.challenges.length > 0) {
      best = { ...answer, headers: [...answer.headers.filter((h) => h.key !== 'www-authenticate' && h.key !== 'proxy-authenticate'), ...this.challenges] };
    }
    this.upstream.respond(best);
    if (request) this.proxy.callAnswered(request, best.status);
  }
}

/** §16.7 step 6: 6xx first, then the lowest class, preferring the answers a UA can act on. */
function rank(status: number): number {
  if (status >= 600) return 0;
  const preferred = status === 401 || status === 407 || status === 415 || status === 420 || status === 484;
  return Math.floor(status / 100) * 1000 + (preferred ? 0 : status);
}

/** §16.7 step 9: the response without the Via this proxy added. */
function withoutTopVia(response: SipResponse): SipResponse {
  const headers = response.headers.slice();
  const index = headers.findIndex((h) => h.key === 'via');
  if (index >= 0 && !headers[index]!.value.includes(',')) headers.splice(index, 1);
  else if (index >= 0) {
    const values = splitHeaderValues(headers[index]!.value);
    if (values.length > 1) replaceHeader(headers, index, values.slice(1).join(', '));
    else headers.splice(index, 1);
  }
  return { ...response, headers };
}

/**
 * §18.2.1: the top Via learns where the request really came from (`received`), and the port
 * when the UA asked with `rport` (RFC 3581). Over WebSocket the answer goes back on the same
 * connection anyway; the parameters tell the UA its public address.
 */
function markReceived(flow: Flow, request: SipRequest): Via | undefined {
  const index = request.headers.findIndex((h) => h.key === 'via');
  if (index < 0) return undefined;
  const line = request.headers[index]!.value;
  const vias = parseVia(line);
  const top = vias?.[0];
  if (!vias || !top) return undefined;
  const address = flow.connection.request.remoteAddress;
  const received = top.host !== address && top.host !== `[${address}]` && top.params.received !== address;
  const rport = 'rport' in top.params && top.params.rport === null;
  if (!received && !rport) return top;
  if (received && !rport && vias.length === 1 && !('received' in top.params)) {
    // The common case (one Via on the line, nothing to rewrite): append, without re-serializing.
    top.params.received = address;
    replaceHeader(request.headers, index, `${line};received=${address}`);
    return top;
  }
  if (received) top.params.received = address;
  if (rport) top.params.rport = String(flow.connection.request.remotePort);
  replaceHeader(request.headers, index, vias.map(formatVia).join(', '));
  return top;
}

function targetOf(binding: Binding): Target {
  return { flow: binding.flow, uri: binding.contact };
}

function aorOfHeader(value: string | undefined): string | undefined {
  const uri = addressUri(value);
  return uri ? aorOf(uri) : undefined;
}

export const _testing = { loopHash, rank };
