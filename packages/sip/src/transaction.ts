/**
 * The transaction layer (RFC 3261 §17, with RFC 6026's Accepted states) over a reliable
 * transport. Over WebSocket nothing is retransmitted (§17.1.1.2: Timer A is not started on
 * reliable transports), and Timers D, I, J and K are zero, so what is left is: Timer B/F (a
 * request nobody answers becomes a 408), Timer C (an INVITE that rings too long), Timer H (an
 * INVITE server transaction that waits for the ACK of its non-2xx answer) and Timer L/M (the
 * Accepted state that lets further 2xx of a forked INVITE through).
 *
 * Deadlines are kept as timestamps and checked by the adapter's one sweep on `ctx.clock`, not a
 * timer per transaction: a relay of thousands of MESSAGEs a second would otherwise arm and
 * cancel a timer for each.
 */
import { randomBytes } from 'node:crypto';
import type { Watched } from '@protoplex/core';
import { BRANCH_MAGIC } from './constants.js';
import type { Flow } from './flow.js';
import { getHeader, type SipHeader, type SipRequest, type SipResponse } from './message.js';
import { createResponse } from './serializer.js';
import { parseCSeq, parseVia, tagOf, type Via } from './headers.js';

/** Where a transaction's answers go: the server transaction of a proxied request, or the application. */
export interface ResponseSink {
  respond(response: SipResponse): void;
}

export interface TransactionTimers {
  /** 64*T1: Timers B, F, H and the Accepted states. */
  readonly transactionTimeout: number;
  /** Timer C. */
  readonly inviteTimeout: number;
}

/** RFC 3261 §19.3: tags are random, with at least 32 bits of randomness. Made only when a response of our own needs one. */
const random = (): string => randomBytes(6).toString('hex');

/** Server transaction states (§17.2). `accepted` is RFC 6026's, after a 2xx to an INVITE. */
export type ServerState = 'proceeding' | 'completed' | 'accepted' | 'terminated';

export class ServerTransaction implements ResponseSink {
  state: ServerState = 'proceeding';
  lastResponse: SipResponse | undefined;
  /** Epoch ms at which the transaction ends (Timer H / L), Infinity while proceeding. */
  deadline = Infinity;
  private tag: string | undefined;
  /** Called once when the transaction ends. */
  onTerminated: (() => void) | undefined;
  /** The proxy's state for a forwarded request (its branches), when it was forwarded. */
  forward: { cancel(reason?: string): void; upstreamGone(): void } | undefined;

  constructor(
    private readonly layer: TransactionLayer,
    readonly key: string,
    readonly flow: Flow,
    readonly request: SipRequest,
  ) {}

  get isInvite(): boolean {
    return this.request.method === 'INVITE';
  }

  /** The To tag of the responses this server makes itself (§8.2.6.2: one per transaction), made when first needed. */
  get toTag(): string {
    return (this.tag ??= random());
  }

  /** Answers with a response made from the request (§8.2.6), with this transaction's To tag. */
  reply(status: number, options: { reason?: string; headers?: [string, string][]; body?: string; contentType?: string } = {}): void {
    this.respond(createResponse(this.request, status, { ...options, toTag: status === 100 ? undefined : this.toTag }));
  }

  respond(response: SipResponse): void {
    if (this.state === 'terminated' || this.state === 'completed') return;
    // RFC 6026 §7.1: in Accepted only further 2xx (of other forks) pass.
    if (this.state === 'accepted' && (response.status < 200 || response.status >= 300)) return;
    this.flow.send(response);
    if (response.status < 200) {
      this.lastResponse = response;
      return;
    }
    this.lastResponse = response;
    if (!this.isInvite) {
      // Timer J is zero over a reliable transport (§17.2.2).
      this.terminate();
      return;
    }
    if (this.state === 'proceeding') {
      this.state = response.status < 300 ? 'accepted' : 'completed';
      this.deadline = this.layer.now() + this.layer.timers.transactionTimeout;
    }
  }

  /** A retransmission of the request arrived (§17.2.1): send the last response again. */
  retransmission(): void {
    if (this.lastResponse && this.state !== 'accepted') this.flow.send(this.lastResponse);
  }

  /** The ACK of a non-2xx answer (§17.2.1): Timer I is zero over a reliable transport. */
  acknowledged(): void {
    if (this.state === 'completed') this.terminate();
  }

  terminate(): void {
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    this.layer.servers.delete(this.key);
    this.onTerminated?.();
  }
}

export type ClientState = 'calling' | 'proceeding' | 'accepted' | 'terminated';

export class ClientTransaction {
  state: ClientState = 'calling';
  /** A provisional answer arrived: a CANCEL may now be sent (§9.1). */
  provisional = false;
  /** Timer B / F, or the end of the Accepted state. */
  deadline: number;
  /** Timer C (INVITE only). */
  timerC: number;
  /** The ACK or CANCEL sent for it, so a proxy does it once. */
  canceled = false;
  /** A CANCEL is owed as soon as a provisional arrives (§9.1). */
  cancelPending: string | undefined;

  constructor(
    private readonly layer: TransactionLayer,
    readonly branch: string,
    readonly flow: Flow,
    readonly request: SipRequest,
    private readonly onResponse: (response: SipResponse, transaction: ClientTransaction) => void,
  ) {
    const now = layer.now();
    this.deadline = now + layer.timers.transactionTimeout;
    this.timerC = request.method === 'INVITE' ? now + layer.timers.inviteTimeout : Infinity;
  }

  get key(): string {
    return clientKey(this.branch, this.request.method);
  }

  receive(response: SipResponse): void {
    if (this.state === 'terminated') return;
    if (this.state === 'accepted') {
      // RFC 6026 §7.2: retransmitted or forked 2xx pass to the TU; nothing else does.
      if (response.status >= 200 && response.status < 300) this.onResponse(response, this);
      return;
    }
    if (response.status < 200) {
      this.state = 'proceeding';
      this.provisional = true;
      if (this.request.method === 'INVITE') {
        // §17.1.1.2: Timer B only runs in Calling. §16.7 step 2: each provisional resets Timer C.
        this.deadline = Infinity;
        if (response.status > 100) this.timerC = this.layer.now() + this.layer.timers.inviteTimeout;
      }
      if (this.cancelPending !== undefined) this.sendCancel(this.cancelPending);
      this.onResponse(response, this);
      return;
    }
    if (this.request.method === 'INVITE') {
      if (response.status >= 300) {
        // §17.1.1.3: the client transaction acknowledges a non-2xx final itself; Timer D is zero.
        this.flow.send(ackFor(this.request, response));
        this.terminate();
      } else {
        this.state = 'accepted';
        this.timerC = Infinity;
        this.deadline = this.layer.now() + this.layer.timers.transactionTimeout;
      }
    } else this.terminate();
    this.onResponse(response, this);
  }

  /**
   * Cancels a pending INVITE (§9.1): at once after a provisional, else as soon as one arrives.
   * @returns whether the branch is still unanswered
   */
  cancel(reason?: string): boolean {
    if (this.request.method !== 'INVITE' || this.state === 'terminated' || this.state === 'accepted' || this.canceled) return false;
    if (this.provisional) this.sendCancel(reason);
    else this.cancelPending = reason ?? '';
    return true;
  }

  private sendCancel(reason: string | undefined): void {
    if (this.canceled) return;
    this.canceled = true;
    this.cancelPending = undefined;
    const cancel = cancelFor(this.request, reason);
    this.layer.startCancel(this, cancel);
  }

  /** Timer B/F: nobody answered (§17.1.1.2, §17.1.2.2): the TU sees a 408. */
  timeout(): void {
    this.synthesize(408);
  }

  /** The flow died under the request: §8.1.3.1 has the TU treat it as a 503. */
  transportError(): void {
    this.synthesize(503);
  }

  private synthesize(status: number): void {
    if (this.state === 'terminated' || this.state === 'accepted') {
      this.terminate();
      return;
    }
    this.terminate();
    this.onResponse(createResponse(this.request, status, { toTag: random() }), this);
  }

  terminate(): void {
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    this.layer.clients.delete(this.key);
    this.layer.onClientTerminated(this);
  }
}

/** The branch of the first Via of a line, read without parsing it (one of ours: `;branch=` then the value). */
function branchOf(line: string): string | undefined {
  const at = line.indexOf(';branch=');
  if (at < 0) return undefined;
  const start = at + 8;
  let end = start;
  while (end < line.length) {
    const c = line.charCodeAt(end);
    if (c === 0x3b /* ; */ || c === 0x2c /* , */ || c === 0x20 || c === 0x09) break;
    end++;
  }
  // A comma before the branch means it belongs to a later Via of the line: parse instead.
  const comma = line.indexOf(',');
  return comma >= 0 && comma < at ? undefined : line.slice(start, end);
}

export function clientKey(branch: string, method: string): string {
  return `${branch} ${method === 'ACK' ? 'INVITE' : method}`;
}

/**
 * The server transaction a request belongs to (§17.2.3): the top Via's branch when it has the
 * magic cookie, with sent-by and the method (ACK matches its INVITE); the flow as well, since
 * branches are only unique per UA. Requests from pre-3261 peers fall back to the §17.2.3 rule
 * of Call-ID, CSeq, From tag and the whole top Via.
 */
export function serverKey(flow: Flow, request: SipRequest, topVia: Via, method: string = request.method): string {
  const m = method === 'ACK' ? 'INVITE' : method;
  const branch = topVia.branch;
  if (branch !== undefined && branch.length > BRANCH_MAGIC.length && branch.startsWith(BRANCH_MAGIC)) return `${flow.n} ${branch} ${topVia.host}:${topVia.port ?? ''} ${m}`;
  const cseq = parseCSeq(getHeader(request, 'cseq') ?? '');
  return `${flow.n} ~ ${getHeader(request, 'call-id')} ${cseq?.seq} ${tagOf(getHeader(request, 'from') ?? '')} ${topVia.host}:${topVia.port ?? ''} ${topVia.branch ?? ''} ${m}`;
}

/** The ACK of a non-2xx final answer to `invite` (§17.1.1.3). */
export function ackFor(invite: SipRequest, response: SipResponse): SipRequest {
  const headers: SipHeader[] = [];
  for (const header of invite.headers) {
    // Via: only the top one (ours); Route as in the INVITE; To from the response (its tag).
    if (header.key === 'via') {
      if (!headers.some((h) => h.key === 'via')) headers.push(header);
    } else if (header.key === 'from' || header.key === 'call-id' || header.key === 'route' || header.key === 'max-forwards') headers.push(header);
    else if (header.key === 'cseq') headers.push({ key: 'cseq', name: 'CSeq', value: `${parseCSeq(header.value)?.seq ?? 1} ACK` });
  }
  const to = getHeader(response, 'to');
  if (to !== undefined) headers.push({ key: 'to', name: 'To', value: to });
  return { kind: 'request', method: 'ACK', uri: invite.uri, version: invite.version, headers, body: '' };
}

/** The CANCEL of a pending `invite` (§9.1): same Request-URI, top Via, From, To, Call-ID, CSeq number and Route. */
export function cancelFor(invite: SipRequest, reason?: string): SipRequest {
  const headers: SipHeader[] = [];
  let via = false;
  for (const header of invite.headers) {
    if (header.key === 'via') {
      if (!via) headers.push(header);
      via = true;
    } else if (header.key === 'from' || header.key === 'to' || header.key === 'call-id' || header.key === 'route' || header.key === 'max-forwards') headers.push(header);
    else if (header.key === 'cseq') headers.push({ key: 'cseq', name: 'CSeq', value: `${parseCSeq(header.value)?.seq ?? 1} CANCEL` });
  }
  // RFC 3326: why the branch was cancelled (a fork answered elsewhere, say).
  if (reason) headers.push({ key: 'reason', name: 'Reason', value: reason });
  return { kind: 'request', method: 'CANCEL', uri: invite.uri, version: invite.version, headers, body: '' };
}

/** Both transaction tables and their deadlines, visited by the adapter's sweep. */
export class TransactionLayer implements Watched {
  readonly servers = new Map<string, ServerTransaction>();
  readonly clients = new Map<string, ClientTransaction>();
  private branches = 0;
  private readonly branchSeed = random();

  constructor(
    readonly timers: TransactionTimers,
    readonly now: () => number,
    /** Timer C fired on a ringing INVITE (§16.8). */
    private readonly onTimerC: (transaction: ClientTransaction) => void,
  ) {}

  /** A branch for a request this server sends: the magic cookie (§8.1.1.7), then `loop` (§16.6 step 8), then a counter. */
  branch(loop = ''): string {
    return `${BRANCH_MAGIC}${loop}.${this.branchSeed}${(this.branches++).toString(36)}`;
  }

  createServer(key: string, flow: Flow, request: SipRequest): ServerTransaction {
    const transaction = new ServerTransaction(this, key, flow, request);
    this.servers.set(key, transaction);
    return transaction;
  }

  /** Sends `request` (its top Via already carries `branch`) on `flow` in a new client transaction. */
  send(branch: string, flow: Flow, request: SipRequest, onResponse: (response: SipResponse, transaction: ClientTransaction) => void): ClientTransaction {
    const transaction = new ClientTransaction(this, branch, flow, request, onResponse);
    this.clients.set(transaction.key, transaction);
    if (!flow.send(request) && !flow.open) queueMicrotask(() => transaction.transportError());
    return transaction;
  }

  /** The CANCEL of `invite` goes in its own transaction, whose answer nobody needs (§9.1). */
  startCancel(invite: ClientTransaction, cancel: SipRequest): void {
    this.send(invite.branch, invite.flow, cancel, () => {});
  }

  /** Where a response from downstream belongs (§17.1.3): its top Via branch and CSeq method. */
  match(response: SipResponse): ClientTransaction | undefined {
    const top = getHeader(response, 'via');
    const cseq = parseCSeq(getHeader(response, 'cseq') ?? '');
    if (top === undefined || !cseq) return undefined;
    // The top Via is ours (the parser checked its grammar): its branch names the transaction,
    // and a branch we did not make matches nothing.
    const branch = branchOf(top) ?? parseVia(top)?.[0]?.branch;
    return branch === undefined ? undefined : this.clients.get(clientKey(branch, cseq.method));
  }

  /** Every transaction on a flow that just closed. */
  flowClosed(flow: Flow): void {
    for (const transaction of [...this.clients.values()]) if (transaction.flow === flow) transaction.transportError();
    for (const transaction of [...this.servers.values()]) {
      if (transaction.flow !== flow) continue;
      transaction.forward?.upstreamGone();
      transaction.terminate();
    }
  }

  onClientTerminated(_transaction: ClientTransaction): void {}

  checkDeadlines(now: number): void {
    for (const transaction of this.servers.values()) if (now >= transaction.deadline) transaction.terminate();
    for (const transaction of this.clients.values()) {
      if (now >= transaction.timerC) {
        transaction.timerC = Infinity;
        this.onTimerC(transaction);
      } else if (now >= transaction.deadline) {
        if (transaction.state === 'accepted') transaction.terminate();
        else transaction.timeout();
      }
    }
  }

  /** Drops every transaction (shutdown). */
  clear(): void {
    this.servers.clear();
    this.clients.clear();
  }
}
