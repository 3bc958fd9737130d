/**
 * Flows (RFC 5626 §3.2): each WebSocket connection is one flow, the only way to reach the UA on
 * it (browsers put an unresolvable `.invalid` host in Via and Contact, RFC 7118 §5.2). The proxy
 * names flows in its `Record-Route` with a flow token so in-dialog requests find their way back.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Connection } from '@protoplex/core';
import type { SipMessage, SipRequest } from './message.js';
import { serializeMessage } from './serializer.js';

export class Flow {
  /** Short process-unique number, what flow tokens carry. */
  readonly n: number;
  readonly connection: Connection;
  /** WSS (RFC 7118 §5.2: the Via transport of messages on it). */
  readonly secure: boolean;
  /** AORs that proved their credentials on this flow (REGISTER or 407), and may send as themselves. */
  readonly identities = new Set<string>();
  open = true;
  /** The last From (without its tag) that passed the identity check, and its AOR. */
  lastFrom: { readonly key: string; readonly aor: string } | undefined;
  /**
   * The session's one exit path, for failures in async continuations (a hook that throws):
   * answers `request` with 500 when given, then closes. Set by the session.
   */
  fail: (error: unknown, request?: SipRequest) => void = () => {};

  constructor(n: number, connection: Connection) {
    this.n = n;
    this.connection = connection;
    this.secure = connection.request.tls !== undefined;
  }

  get transport(): 'WS' | 'WSS' {
    return this.secure ? 'WSS' : 'WS';
  }

  /** Sends one SIP message as one WebSocket message (RFC 7118 §5): text when its body is text. */
  send(message: SipMessage): boolean {
    if (!this.open) return false;
    return this.connection.send(serializeMessage(message));
  }
}

/**
 * Flow tokens: `{a}.{b}.{mac}` in base 36, where `a` is the flow the dialog-creating request came
 * in on and `b` the flow it went out on, and `mac` an HMAC so a peer cannot forge a route into
 * somebody else's flow (RFC 5626 §5.2: tokens must not be guessable).
 */
export class FlowTable {
  private readonly flows = new Map<number, Flow>();
  private readonly byConnection = new Map<string, Flow>();
  private readonly secret = randomBytes(32);
  private next = 1;

  get size(): number {
    return this.flows.size;
  }

  add(connection: Connection): Flow {
    const flow = new Flow(this.next++, connection);
    this.flows.set(flow.n, flow);
    this.byConnection.set(connection.id, flow);
    return flow;
  }

  remove(flow: Flow): void {
    flow.open = false;
    this.flows.delete(flow.n);
    this.byConnection.delete(flow.connection.id);
  }

  get(n: number): Flow | undefined {
    return this.flows.get(n);
  }

  byConnectionId(id: string): Flow | undefined {
    return this.byConnection.get(id);
  }

  token(inbound: Flow, outbound: Flow): string {
    const body = `${inbound.n.toString(36)}.${outbound.n.toString(36)}`;
    return `${body}.${this.mac(body)}`;
  }

  /** The two flow numbers of a token we made, or undefined for anything else. */
  parseToken(token: string): readonly [number, number] | undefined {
    const last = token.lastIndexOf('.');
    if (last <= 0) return undefined;
    const body = token.slice(0, last);
    const mac = Buffer.from(token.slice(last + 1));
    const expected = Buffer.from(this.mac(body));
    if (mac.length !== expected.length || !timingSafeEqual(mac, expected)) return undefined;
    const dot = body.indexOf('.');
    const a = Number.parseInt(body.slice(0, dot), 36);
    const b = Number.parseInt(body.slice(dot + 1), 36);
    return Number.isSafeInteger(a) && Number.isSafeInteger(b) ? [a, b] : undefined;
  }

  private mac(body: string): string {
    return createHmac('sha256', this.secret).update(body).digest('base64url').slice(0, 12);
  }
}
