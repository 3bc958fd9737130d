/**
 * A scripted user agent for the unit tests: writes requests the way JsSIP does (WS transport,
 * `.invalid` hosts), answers what it receives, and computes digest answers with its own MD5
 * code, independent of digest.ts. It runs on the core test harness, no sockets.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createTestHarness, type TestHarness, type TestPeer } from '@protoplex/core/testing';
import { sip, type SipAdapter } from './adapter.js';
import { getHeader, getHeaders, type SipMessage, type SipRequest, type SipResponse } from './message.js';
import { parseMessage } from './parser.js';
import type { SipOptions } from './types.js';

const md5 = (text: string): string => createHash('md5').update(text).digest('hex');
const hex = (n: number): string => randomBytes(n).toString('hex');

export const DOMAIN = 'example.com';
export const USERS = { alice: 'alice', bob: 'bob', carol: 'carol' };

export interface RequestOptions {
  readonly to?: string;
  readonly toTag?: string;
  readonly from?: string;
  readonly callId?: string;
  readonly cseq?: number;
  readonly branch?: string;
  readonly headers?: readonly string[];
  readonly body?: string;
  readonly maxForwards?: number | null;
}

export class TestUa {
  readonly host = `${hex(4)}.invalid`;
  readonly contact: string;
  readonly fromTag = hex(4);
  readonly callId = `${hex(8)}`;
  private cseq = 1;
  private inbox: SipMessage[] = [];

  constructor(
    readonly peer: TestPeer,
    readonly user: string,
    readonly password: string,
  ) {
    this.contact = `sip:${hex(4)}@${this.host};transport=ws`;
  }

  get aor(): string {
    return `sip:${this.user}@${DOMAIN}`;
  }

  /** Writes a request as text; `target` is the Request-URI. */
  request(method: string, target: string, options: RequestOptions = {}): string {
    const lines = [
      `${method} ${target} SIP/2.0`,
      `Via: SIP/2.0/WS ${this.host};branch=${options.branch ?? `z9hG4bK${hex(5)}`}`,
      ...(options.maxForwards === null ? [] : [`Max-Forwards: ${options.maxForwards ?? 70}`]),
      `To: <${options.to ?? target}>${options.toTag ? `;tag=${options.toTag}` : ''}`,
      `From: <${options.from ?? this.aor}>;tag=${this.fromTag}`,
      `Call-ID: ${options.callId ?? this.callId}`,
      `CSeq: ${options.cseq ?? this.cseq++} ${method}`,
      ...(options.headers ?? []),
    ];
    const body = options.body ?? '';
    lines.push(`Content-Length: ${Buffer.byteLength(body)}`, '', body);
    return lines.join('\r\n');
  }

  send(text: string): void {
    this.peer.send(text);
  }

  /** Everything received since the last call, parsed. */
  take(): SipMessage[] {
    for (const text of this.peer.takeText()) {
      const parsed = parseMessage(text);
      if (!parsed.ok) throw new Error(`the server sent an unparsable message (${parsed.reason}):\n${text}`);
      this.inbox.push(parsed.message);
    }
    const out = this.inbox;
    this.inbox = [];
    return out;
  }

  /** Responses received, by status. */
  responses(): SipResponse[] {
    return this.take().filter((m): m is SipResponse => m.kind === 'response');
  }

  /** The single final response received (fails the test otherwise). */
  final(): SipResponse {
    const finals = this.responses().filter((r) => r.status >= 200);
    if (finals.length !== 1) throw new Error(`expected one final response, got ${finals.map((r) => r.status).join(', ') || 'none'}`);
    return finals[0]!;
  }

  /** The digest answer to `challenge` (a WWW-/Proxy-Authenticate value) for `method` `uri`, MD5 with qop=auth. */
  authorization(challenge: string, method: string, uri: string, password = this.password): string {
    const param = (name: string): string | undefined => new RegExp(`${name}="?([^",]*)"?`).exec(challenge)?.[1];
    const realm = param('realm')!;
    const nonce = param('nonce')!;
    const cnonce = hex(4);
    const nc = '00000001';
    const ha1 = md5(`${this.user}:${realm}:${password}`);
    const ha2 = md5(`${method}:${uri}`);
    const response = md5(`${ha1}:${nonce}:${nc}:${cnonce}:auth:${ha2}`);
    return `Digest username="${this.user}", realm="${realm}", nonce="${nonce}", uri="${uri}", response="${response}", algorithm=MD5, cnonce="${cnonce}", nc=${nc}, qop=auth`;
  }

  /** REGISTER, answer the MD5 challenge, and return the final response. */
  async register(options: { expires?: number; contactParams?: string; contact?: string; headers?: readonly string[]; password?: string } = {}): Promise<SipResponse> {
    const target = `sip:${DOMAIN}`;
    const contact = `Contact: ${options.contact ?? `<${this.contact}>${options.contactParams ?? ''}${options.expires === undefined ? '' : `;expires=${options.expires}`}`}`;
    const headers = [contact, ...(options.headers ?? [])];
    this.send(this.request('REGISTER', target, { to: this.aor, headers }));
    await settle();
    const first = this.final();
    if (first.status !== 401) return first;
    const md5Challenge = getHeaders(first, 'www-authenticate').find((c) => /algorithm=MD5\b/i.test(c));
    if (!md5Challenge) throw new Error('no MD5 challenge');
    this.send(this.request('REGISTER', target, { to: this.aor, headers: [...headers, `Authorization: ${this.authorization(md5Challenge, 'REGISTER', target, options.password)}`] }));
    await settle();
    return this.final();
  }

  /** Answers a received request with `status` (copying Via, From, To, Call-ID, CSeq as §8.2.6 says). */
  reply(request: SipRequest, status: number, options: { toTag?: string; headers?: readonly string[]; body?: string } = {}): string {
    const lines = [`SIP/2.0 ${status} Whatever`];
    for (const header of request.headers) {
      if (header.key === 'via' || header.key === 'from' || header.key === 'call-id' || header.key === 'cseq' || header.key === 'record-route') lines.push(`${header.name}: ${header.value}`);
      else if (header.key === 'to') lines.push(`To: ${header.value}${options.toTag && !header.value.includes('tag=') ? `;tag=${options.toTag}` : ''}`);
    }
    if (status >= 200 && status < 300 && request.method === 'INVITE') lines.push(`Contact: <${this.contact}>`);
    lines.push(...(options.headers ?? []));
    const body = options.body ?? '';
    lines.push(`Content-Length: ${Buffer.byteLength(body)}`, '', body);
    const text = lines.join('\r\n');
    this.send(text);
    return text;
  }
}

export interface SipRig {
  readonly harness: TestHarness;
  readonly adapter: SipAdapter;
  /** Opens a connection for `user` (password from USERS unless given). */
  ua(user: string, password?: string): Promise<TestUa>;
  /** Opens a connection for `user` and registers it (fails the test unless 200). */
  registered(user: string, options?: Parameters<TestUa['register']>[0]): Promise<TestUa>;
}

export function createSipRig(options: SipOptions = {}, harness: TestHarness = createTestHarness()): SipRig {
  const adapter = sip({ domain: DOMAIN, users: USERS, ...options });
  const ua = async (user: string, password?: string): Promise<TestUa> =>
    new TestUa(await harness.connect(adapter, { protocol: 'sip' }), user, password ?? (USERS as Record<string, string>)[user] ?? 'x');
  return {
    harness,
    adapter,
    ua,
    async registered(user, registerOptions) {
      const agent = await ua(user);
      const response = await agent.register(registerOptions);
      if (response.status !== 200) throw new Error(`REGISTER of ${user} got ${response.status}`);
      return agent;
    },
  };
}

/** Lets promise continuations (an async hook, the authenticator) run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

export { getHeader, getHeaders };
