/**
 * SIP over WebSocket loads (RFC 7118: subprotocol `sip`, one SIP message per text message),
 * spoken with raw `ws` and hand-written RFC 3261 messages shaped as JsSIP 3.13 writes them (Via
 * `SIP/2.0/WS <token>.invalid;branch=z9hG4bK...`, Max-Forwards 69, To, From with a tag, Call-ID,
 * CSeq, Contact `;transport=ws` with `reg-id` and `+sip.instance`, Allow, Supported, User-Agent,
 * Content-Length). No SIP library, so the load costs the same against every server. Answers are
 * parsed as little as the flow needs: the status line and the headers read below.
 *
 * - `sip-register`: `connections` user agents, each REGISTERing its own user in a loop: REGISTER
 *   without credentials -> 401 -> REGISTER with an `Authorization` computed here with node:crypto
 *   (HA1, HA2 and the response from scratch, a fresh cnonce, nc=00000001: JsSIP derives HA1 from
 *   the password for every challenge too) -> 200. Registrations per second; latency is the first
 *   REGISTER to the 200. The challenge answered is the one whose algorithm is `algorithm`
 *   (default `MD5`: the only one JsSIP and SIP.js implement; a challenge without `algorithm` is
 *   MD5, RFC 2617 §3.2.1), whichever line it is on.
 * - `sip-message`: `pairs` sender/receiver user agents, each REGISTERed once (answering a
 *   challenge if the server sends one). Each sender keeps `inflight` MESSAGEs (a new Call-ID each,
 *   as JsSIP sends them, `size` bytes of text/plain) to its receiver outstanding; the receiver
 *   answers each with 200 OK built from the request (its Via lines, From, To plus a tag, Call-ID,
 *   CSeq), which the proxy routes back to the sender. MESSAGE transactions completed per second;
 *   latency is MESSAGE to its 200 at the sender.
 *
 * Users are `user0`, `user1`, ... at `example.com` with the passwords `sipPassword` gives; the
 * servers (`src/servers/sip-refs.ts`, `src/servers/adapters.ts`) build the same table. Senders are
 * the even users, receivers the odd ones, and the sessions connect in user order (a sender, then
 * its receiver, one at a time), which is how the raw relay pairs them.
 */
import { createHash, randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { WebSocket } from 'ws';
import { connect, Loop, numberOption, trafficSession, type LoadGenerator } from './common.js';

/** The IANA WebSocket subprotocol of SIP (RFC 7118 §4). */
export const SIP_SUBPROTOCOL = 'sip';
export const SIP_DOMAIN = 'example.com';

export const sipUser = (index: number): string => `user${index}`;
export const sipPassword = (user: string): string => `${user}-pw`;

/** The digest user table of the first `count` bench users. */
export function sipUsers(count: number): Record<string, string> {
  const users: Record<string, string> = {};
  for (let i = 0; i < count; i++) users[sipUser(i)] = sipPassword(sipUser(i));
  return users;
}

const USER_AGENT = 'JsSIP 3.13.8';
/** JsSIP_C.ALLOWED_METHODS. */
const ALLOW = 'INVITE,ACK,CANCEL,BYE,UPDATE,MESSAGE,OPTIONS,REFER,INFO,NOTIFY';
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** A random token of `length` characters from [a-z0-9], as JsSIP's createRandomToken. */
function token(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET[bytes[i]! % ALPHABET.length];
  return out;
}

/** JsSIP's branch: the magic cookie (RFC 3261 §8.1.1.7) and a random number. */
const branch = (): string => `z9hG4bK${Math.floor(Math.random() * 10_000_000)}`;

/** One user agent on one WebSocket: its user, its Via host and Contact, its REGISTER dialog. */
class UserAgent {
  readonly viaHost = `${token(12)}.invalid`;
  readonly contact: string;
  /** JsSIP keeps one Call-ID and From tag for all REGISTERs of a UA (RFC 3261 §10.2). */
  readonly registerCallId = token(20);
  readonly registerTag = token(10);
  cseq = Math.floor(Math.random() * 10_000);
  readonly aor: string;

  constructor(
    readonly ws: WebSocket,
    readonly user: string,
  ) {
    this.aor = `sip:${user}@${SIP_DOMAIN}`;
    const instance = `${token(8)}-${token(4)}-4${token(3)}-8${token(3)}-${token(12)}`;
    this.contact = `<sip:${token(8)}@${this.viaHost};transport=ws>;reg-id=1;+sip.instance="<urn:uuid:${instance}>";expires=600`;
  }

  /** A REGISTER for this UA's binding, with `authorization` when answering a challenge. */
  register(authorization?: string): string {
    return (
      `REGISTER sip:${SIP_DOMAIN} SIP/2.0\r\n` +
      `Via: SIP/2.0/WS ${this.viaHost};branch=${branch()}\r\n` +
      'Max-Forwards: 69\r\n' +
      `To: <${this.aor}>\r\n` +
      `From: <${this.aor}>;tag=${this.registerTag}\r\n` +
      `Call-ID: ${this.registerCallId}\r\n` +
      `CSeq: ${++this.cseq} REGISTER\r\n` +
      (authorization ? `Authorization: ${authorization}\r\n` : '') +
      'Expires: 600\r\n' +
      `Contact: ${this.contact}\r\n` +
      `Allow: ${ALLOW}\r\n` +
      'Supported: path,gruu,outbound\r\n' +
      `User-Agent: ${USER_AGENT}\r\n` +
      'Content-Length: 0\r\n\r\n'
    );
  }

  /** An out-of-dialog MESSAGE to `to` (a new transaction and Call-ID, as JsSIP's Message). */
  message(to: string, callId: string, body: string): string {
    return (
      `MESSAGE ${to} SIP/2.0\r\n` +
      `Via: SIP/2.0/WS ${this.viaHost};branch=${branch()}\r\n` +
      'Max-Forwards: 69\r\n' +
      `To: <${to}>\r\n` +
      `From: <${this.aor}>;tag=${token(10)}\r\n` +
      `Call-ID: ${callId}\r\n` +
      `CSeq: ${Math.floor(Math.random() * 10_000)} MESSAGE\r\n` +
      'Content-Type: text/plain\r\n' +
      `Allow: ${ALLOW}\r\n` +
      'Supported: outbound\r\n' +
      `User-Agent: ${USER_AGENT}\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n` +
      body
    );
  }
}

/**
 * The value of the first header named `long` or `compact` (RFC 3261 §7.3.3 compact forms),
 * compared case-insensitively (§7.3.1), in the header part of `text`; undefined when absent.
 * Header lines are not unfolded: none of the servers folds the headers the load reads.
 */
function header(text: string, long: string, compact = ''): string | undefined {
  let start = text.indexOf('\r\n') + 2;
  while (start > 1 && start < text.length) {
    const end = text.indexOf('\r\n', start);
    if (end === start || end < 0) return undefined;
    const colon = text.indexOf(':', start);
    if (colon > start && colon < end) {
      const name = text.slice(start, colon).trimEnd().toLowerCase();
      if (name === long || (compact !== '' && name === compact)) return text.slice(colon + 1, end).trim();
    }
    start = end + 2;
  }
  return undefined;
}

/** Every value of `long`/`compact`, one per header line. */
function headers(text: string, long: string): string[] {
  const values: string[] = [];
  let start = text.indexOf('\r\n') + 2;
  while (start > 1 && start < text.length) {
    const end = text.indexOf('\r\n', start);
    if (end === start || end < 0) break;
    const colon = text.indexOf(':', start);
    if (colon > start && colon < end && text.slice(start, colon).trimEnd().toLowerCase() === long) values.push(text.slice(colon + 1, end).trim());
    start = end + 2;
  }
  return values;
}

/** The status code of a response (`SIP/2.0 200 OK`), or 0 for a request. */
const statusOf = (text: string): number => (text.startsWith('SIP/2.0 ') ? Number.parseInt(text.slice(8, 11), 10) : 0);

/** The method of a CSeq value (`4711 REGISTER`). */
const cseqMethod = (cseq: string | undefined): string => (cseq ? cseq.slice(cseq.lastIndexOf(' ') + 1) : '');

/** The auth-params of a `Digest` challenge (RFC 3261 §25.1 / RFC 7616 §3.3), names lower-cased. */
function digestParams(challenge: string): Map<string, string> | undefined {
  if (!/^digest\s/i.test(challenge)) return undefined;
  const params = new Map<string, string>();
  for (const match of challenge.slice(7).matchAll(/([A-Za-z0-9_-]+)\s*=\s*("((?:[^"\\]|\\.)*)"|[^\s,]+)/g)) {
    params.set(match[1]!.toLowerCase(), match[3] !== undefined ? match[3].replace(/\\(.)/g, '$1') : match[2]!);
  }
  return params;
}

const HASHES: Readonly<Record<string, string>> = { MD5: 'md5', 'SHA-256': 'sha256' };

/**
 * The `Authorization` answering the `WWW-Authenticate` line of `algorithm` among `challenges`
 * (RFC 7616 §3.4.1 and RFC 3261 §22.4: HA1 = H(user:realm:password), HA2 = H(REGISTER:uri),
 * response = H(HA1:nonce:nc:cnonce:qop:HA2) with qop=auth, else H(HA1:nonce:HA2)).
 */
export function authorize(challenges: readonly string[], algorithm: string, user: string, password: string, uri: string, method = 'REGISTER'): string {
  let params: Map<string, string> | undefined;
  for (const line of challenges) {
    const p = digestParams(line);
    // No algorithm means MD5 (RFC 2617 §3.2.1, kept by RFC 7616 §3.3).
    if (p && (p.get('algorithm') ?? 'MD5').toUpperCase() === algorithm.toUpperCase()) {
      params = p;
      break;
    }
  }
  if (!params) throw new Error(`no ${algorithm} challenge in ${JSON.stringify(challenges).slice(0, 300)}`);
  const hash = HASHES[algorithm.toUpperCase()] ?? algorithm;
  const h = (s: string): string => createHash(hash).update(s).digest('hex');
  const realm = params.get('realm') ?? '';
  const nonce = params.get('nonce') ?? '';
  const qops = (params.get('qop') ?? '').split(',').map((q) => q.trim());
  const ha1 = h(`${user}:${realm}:${password}`);
  const ha2 = h(`${method}:${uri}`);
  const opaque = params.get('opaque');
  let out = `Digest algorithm=${params.get('algorithm') ?? 'MD5'}, username="${user}", realm="${realm}", nonce="${nonce}", uri="${uri}"`;
  if (qops.includes('auth')) {
    const cnonce = token(12);
    const nc = '00000001';
    out += `, response="${h(`${ha1}:${nonce}:${nc}:${cnonce}:auth:${ha2}`)}"`;
    if (opaque !== undefined) out += `, opaque="${opaque}"`;
    return `${out}, qop=auth, cnonce="${cnonce}", nc=${nc}`;
  }
  out += `, response="${h(`${ha1}:${nonce}:${ha2}`)}"`;
  return opaque !== undefined ? `${out}, opaque="${opaque}"` : out;
}

/** What a UA's WebSocket delivers: a response (status > 0) or a request, as text. */
type Handler = (text: string, status: number) => void;

/** Connects a UA for `user`; every message goes to the handler `on` returns once set. */
async function userAgent(port: number, user: string): Promise<{ ua: UserAgent; on(handler: Handler): void }> {
  const ws = await connect(`ws://127.0.0.1:${port}/`, [SIP_SUBPROTOCOL]);
  const ua = new UserAgent(ws, user);
  let handler: Handler = () => {};
  ws.on('message', (data: Buffer) => {
    const text = data.toString();
    // RFC 5626 §4.4.1 keep-alive pong (a bare CRLF): not a SIP message.
    if (text === '\r\n') return;
    handler(text, statusOf(text));
  });
  return { ua, on: (h) => (handler = h) };
}

/** REGISTERs `ua` once, answering a 401 with digest; rejects on anything but a final 200. */
function registerOnce(agent: { ua: UserAgent; on(handler: Handler): void }, algorithm: string): Promise<void> {
  const { ua } = agent;
  return new Promise((resolve, reject) => {
    let challenged = false;
    agent.on((text, status) => {
      if (status >= 100 && status < 200) return;
      if (cseqMethod(header(text, 'cseq')) !== 'REGISTER') return reject(new Error(`REGISTER of ${ua.user} answered with ${text.slice(0, 200)}`));
      if (status === 401 && !challenged) {
        challenged = true;
        try {
          ua.ws.send(ua.register(authorize(headers(text, 'www-authenticate'), algorithm, ua.user, sipPassword(ua.user), `sip:${SIP_DOMAIN}`)));
        } catch (error) {
          reject(error as Error);
        }
        return;
      }
      if (status === 200) return resolve();
      reject(new Error(`REGISTER of ${ua.user} answered with ${text.slice(0, 200)}`));
    });
    ua.ws.send(ua.register());
  });
}

export const sipRegisterLoad: LoadGenerator = async ({ port, options }) => {
  const count = numberOption(options, 'connections', 32);
  const algorithm = typeof options.algorithm === 'string' ? options.algorithm : 'MD5';
  const loop = new Loop();
  const { window } = loop;
  const uri = `sip:${SIP_DOMAIN}`;
  const agents = [];
  // One at a time, in user order, like the message load (the servers keep no order here).
  for (let i = 0; i < count; i++) agents.push(await userAgent(port, sipUser(i)));
  const kicks = agents.map((agent) => {
    const { ua } = agent;
    const password = sipPassword(ua.user);
    let startedAt = 0;
    /** Whether the REGISTER in flight carries credentials. */
    let answered = false;
    const start = (): void => {
      startedAt = performance.now();
      answered = false;
      loop.outstanding++;
      ua.ws.send(ua.register());
    };
    agent.on((text, status) => {
      if (status >= 100 && status < 200) return;
      // The CSeq method tells a REGISTER's answer from anything else (RFC 3261 §17.1.3; one
      // transaction is in flight per UA here).
      if (status === 0 || cseqMethod(header(text, 'cseq')) !== 'REGISTER') return void window.error(`${ua.user} got ${text.slice(0, 160)}`);
      if (status === 401 && !answered) {
        answered = true;
        try {
          ua.ws.send(ua.register(authorize(headers(text, 'www-authenticate'), algorithm, ua.user, password, uri)));
        } catch (error) {
          loop.outstanding--;
          window.error(error);
        }
        return;
      }
      loop.outstanding--;
      // A 200 to a REGISTER without credentials means the registrar did not authenticate.
      if (status === 200 && answered) window.record(startedAt);
      else window.error(`${ua.user}: REGISTER${answered ? ' with credentials' : ''} answered ${text.slice(0, 160)}`);
      if (loop.running) start();
    });
    loop.watch(ua.ws, 'user agent');
    return start;
  });
  return trafficSession(
    options,
    loop.traffic(
      agents.map((a) => a.ua.ws),
      () => {
        for (const kick of kicks) kick();
      },
    ),
  );
};

/**
 * The receiver's 200 OK to a MESSAGE (RFC 3261 §8.2.6.2): the Via lines in order, From, Call-ID
 * and CSeq copied, To with the receiver's tag; JsSIP adds `Supported: outbound`.
 */
function ok(request: string, toTag: string): string | undefined {
  let vias = '';
  let from: string | undefined;
  let to: string | undefined;
  let callId: string | undefined;
  let cseq: string | undefined;
  let start = request.indexOf('\r\n') + 2;
  while (start > 1 && start < request.length) {
    const end = request.indexOf('\r\n', start);
    if (end === start || end < 0) break;
    const colon = request.indexOf(':', start);
    if (colon > start && colon < end) {
      const value = request.slice(colon + 1, end).trim();
      switch (request.slice(start, colon).trimEnd().toLowerCase()) {
        case 'via':
        case 'v':
          vias += `Via: ${value}\r\n`;
          break;
        case 'from':
        case 'f':
          from = value;
          break;
        case 'to':
        case 't':
          to = value;
          break;
        case 'call-id':
        case 'i':
          callId = value;
          break;
        case 'cseq':
          cseq = value;
          break;
      }
    }
    start = end + 2;
  }
  if (!vias || !from || !to || !callId || !cseq) return undefined;
  return `SIP/2.0 200 OK\r\n${vias}From: ${from}\r\nTo: ${/;\s*tag=/i.test(to) ? to : `${to};tag=${toTag}`}\r\nCall-ID: ${callId}\r\nCSeq: ${cseq}\r\nSupported: outbound\r\nContent-Length: 0\r\n\r\n`;
}

export const sipMessageLoad: LoadGenerator = async ({ port, options }) => {
  const pairs = numberOption(options, 'pairs', 10);
  const inflight = numberOption(options, 'inflight', 8);
  const size = numberOption(options, 'size', 64);
  const algorithm = typeof options.algorithm === 'string' ? options.algorithm : 'MD5';
  const body = 'x'.repeat(size);
  const loop = new Loop();
  const { window } = loop;
  const sockets: WebSocket[] = [];
  /** Per sender: MESSAGE Call-ID -> send time. */
  const pending: Map<string, number>[] = [];
  const sends: (() => void)[] = [];
  for (let pair = 0; pair < pairs; pair++) {
    // A sender, then its receiver, each registered before the next connects: the raw relay
    // pairs connections by this order.
    const sender = await userAgent(port, sipUser(2 * pair));
    await registerOnce(sender, algorithm);
    const receiver = await userAgent(port, sipUser(2 * pair + 1));
    await registerOnce(receiver, algorithm);
    const toTag = token(10);
    receiver.on((text, status) => {
      if (status !== 0 || !text.startsWith('MESSAGE ')) return void window.error(`receiver got ${text.slice(0, 160)}`);
      const answer = ok(text, toTag);
      if (answer) receiver.ua.ws.send(answer);
      else window.error(`MESSAGE without the headers of a response: ${text.slice(0, 200)}`);
    });
    const { ua } = sender;
    const to = receiver.ua.aor;
    const callIdPrefix = token(16);
    const inFlight = new Map<string, number>();
    let seq = 0;
    const send = (): void => {
      const callId = `${callIdPrefix}${seq++}`;
      inFlight.set(callId, performance.now());
      loop.outstanding++;
      ua.ws.send(ua.message(to, callId, body));
    };
    sender.on((text, status) => {
      // 100 Trying is for INVITE only (RFC 3261 §16.7); a proxy may still send one for MESSAGE.
      if (status >= 100 && status < 200) return;
      const callId = header(text, 'call-id', 'i');
      const sentAt = callId === undefined ? undefined : inFlight.get(callId);
      if (status === 0 || sentAt === undefined || cseqMethod(header(text, 'cseq')) !== 'MESSAGE') return void window.error(`sender got ${text.slice(0, 160)}`);
      inFlight.delete(callId!);
      loop.outstanding--;
      if (status === 200) window.record(sentAt);
      else window.error(`MESSAGE answered ${text.slice(0, 160)}`);
      if (loop.running) send();
    });
    loop.watch(ua.ws, 'sender');
    loop.watch(receiver.ua.ws, 'receiver');
    sockets.push(ua.ws, receiver.ua.ws);
    pending.push(inFlight);
    sends.push(send);
  }
  const traffic = loop.traffic(sockets, () => {
    for (const send of sends) for (let i = 0; i < inflight; i++) send();
  });
  return trafficSession(options, {
    ...traffic,
    stop: async () => {
      await traffic.stop();
      // What did not come back within the drain must not be matched in the next round.
      for (const inFlight of pending) inFlight.clear();
    },
  });
};
