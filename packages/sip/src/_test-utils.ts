// ---- end-to-end (real clients)
//
// The server the JsSIP and SIP.js suites talk to, a WebSocket class that records every frame
// both ways, and small waiting helpers. The server package is imported lazily so unit tests that
// share this file do not load it.

import { expect } from 'vitest';
import WebSocket from 'ws';
import type { SipAdapter } from './adapter.js';
import type { SipBindingInfo, SipOptions } from './types.js';

/** A registrar/proxy served by `@protoplex/server` on 127.0.0.1 (port 0). */
export interface E2EServer {
  /** `ws://127.0.0.1:PORT/`; with `label`, a `?ua=label` query that names the socket in the wire log. */
  url(label?: string): string;
  readonly adapter: SipAdapter;
  /** The bindings of `aor` (`sip:alice@example.com`), or of everyone. */
  bindings(aor?: string): SipBindingInfo[];
  /** Open WebSocket connections. */
  connections(): number;
  close(): Promise<void>;
}

/** Starts `createServer({ adapters: [sip(options)] })` on 127.0.0.1:0. */
export async function startSipServer(options: SipOptions): Promise<E2EServer> {
  const [{ createServer }, { silentLogger }, { sip }] = await Promise.all([import('@protoplex/server'), import('@protoplex/core'), import('./adapter.js')]);
  const adapter = sip(options);
  const server = createServer({ adapters: [adapter], logger: silentLogger, keepAlive: false });
  const address = await server.listen(0, '127.0.0.1');
  const base = `ws://127.0.0.1:${address.port}/`;
  return {
    url: (label) => (label ? `${base}?ua=${encodeURIComponent(label)}` : base),
    adapter,
    bindings: (aor) => adapter.stats().registrations.filter((b) => aor === undefined || b.aor === aor),
    connections: () => server.connections.size,
    close: () => server.close({ timeout: 2000 }),
  };
}

/** One WebSocket frame a client sent (`out`) or received (`in`). */
export interface WireFrame {
  /** The `ua` query of the socket's URL, or `#n`. */
  readonly label: string;
  readonly dir: 'out' | 'in';
  readonly text: string;
  /** The start line: `INVITE sip:bob@example.com SIP/2.0`, `SIP/2.0 180 Ringing`. */
  readonly start: string;
  readonly callId: string | undefined;
  /** `CSeq` as `1 INVITE`. */
  readonly cseq: string | undefined;
}

/** The value of the first header `name` (long or compact form) in a SIP message's text. */
export function wireHeader(text: string, name: string, compact?: string): string | undefined {
  const head = text.split('\r\n\r\n', 1)[0]!;
  for (const line of head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const field = line.slice(0, colon).trim().toLowerCase();
    if (field === name.toLowerCase() || (compact !== undefined && field === compact)) return line.slice(colon + 1).trim();
  }
  return undefined;
}

/** What {@link createWireTap} returns. */
export interface WireTap {
  /** The class to install as `globalThis.WebSocket`. */
  readonly WebSocket: new (address: string | URL, protocols?: string | string[]) => WebSocket;
  readonly frames: WireFrame[];
  /** The sockets opened with `?ua=label`, oldest first. */
  sockets(label: string): WebSocket[];
  /** Frames that match every given field (`start` as a prefix or a RegExp). */
  find(match: { label?: string; dir?: 'out' | 'in'; start?: string | RegExp; callId?: string; cseq?: RegExp }): WireFrame[];
  /** Every frame as text, for a failed test's output. */
  dump(): string;
  /** Forgets the frames and sockets seen so far (between tests). */
  clear(): void;
}

/**
 * A `ws` WebSocket subclass, for `globalThis.WebSocket`, that records each SIP frame before the
 * client sees it. Keep-alive CRLFs are recorded too (start line empty).
 */
export function createWireTap(): WireTap {
  const frames: WireFrame[] = [];
  const opened: { label: string; socket: WebSocket }[] = [];
  const record = (label: string, dir: 'out' | 'in', data: unknown): void => {
    const text = typeof data === 'string' ? data : Buffer.isBuffer(data) ? data.toString('utf8') : data instanceof ArrayBuffer ? Buffer.from(data).toString('utf8') : String(data);
    frames.push({
      label,
      dir,
      text,
      start: text.split('\r\n', 1)[0]!,
      callId: wireHeader(text, 'call-id', 'i'),
      cseq: wireHeader(text, 'cseq'),
    });
  };
  class TappedWebSocket extends WebSocket {
    constructor(address: string | URL, protocols?: string | string[]) {
      super(address, protocols);
      const label = new URL(String(address)).searchParams.get('ua') ?? `#${opened.length + 1}`;
      opened.push({ label, socket: this });
      this.addEventListener('message', (event) => record(label, 'in', event.data));
      const send = this.send.bind(this);
      this.send = ((data: unknown, ...rest: unknown[]) => {
        record(label, 'out', data);
        return (send as (...args: unknown[]) => void)(data, ...rest);
      }) as WebSocket['send'];
    }
  }
  return {
    WebSocket: TappedWebSocket,
    frames,
    sockets: (label) => opened.filter((o) => o.label === label).map((o) => o.socket),
    find(match) {
      return frames.filter(
        (f) =>
          (match.label === undefined || f.label === match.label) &&
          (match.dir === undefined || f.dir === match.dir) &&
          (match.start === undefined || (typeof match.start === 'string' ? f.start.startsWith(match.start) : match.start.test(f.start))) &&
          (match.callId === undefined || f.callId === match.callId) &&
          (match.cseq === undefined || (f.cseq !== undefined && match.cseq.test(f.cseq))),
      );
    },
    dump() {
      return frames.map((f) => `---- ${f.label} ${f.dir === 'out' ? '->' : '<-'} server\n${f.text}`).join('\n');
    },
    clear() {
      frames.length = 0;
      opened.length = 0;
    },
  };
}

/** Sets `globalThis.WebSocket` (the clients construct it by that name); returns the restorer. */
export function installWebSocket(ctor: new (address: string, protocols?: string | string[]) => WebSocket): () => void {
  const g = globalThis as Record<string, unknown>;
  const descriptor = Object.getOwnPropertyDescriptor(g, 'WebSocket');
  Object.defineProperty(g, 'WebSocket', { value: ctor, configurable: true, writable: true, enumerable: false });
  return () => {
    if (descriptor) Object.defineProperty(g, 'WebSocket', descriptor);
    else delete g['WebSocket'];
  };
}

/** Polls `check` every few milliseconds until it returns a truthy value (throws after `timeout`). */
export async function waitFor<T>(check: () => T | undefined | false | null | 0 | '', what = 'condition', timeout = 3000): Promise<T> {
  const until = Date.now() + timeout;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Races `promise` against a timer, naming what was awaited when it loses. */
export function within<T>(promise: Promise<T>, what: string, timeout = 3000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeout);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Kills the socket of `label` without an un-REGISTER and checks, for either client library, that
 * the binding went with it (RFC 5626 §5.5, RFC 7118 §5: a binding lives only as long as its
 * flow, the one way to reach the UA) and that the client sent no `expires=0` first.
 */
export async function expectBindingGoesWithItsSocket(server: E2EServer, tap: WireTap, label: string, aor: string): Promise<void> {
  const [binding] = server.bindings(aor);
  const changes: string[] = [];
  const unsubscribe = server.adapter.onRegistration((change) => changes.push(`${change.type}:${change.reason ?? ''}:${change.binding.contact}`));
  try {
    tap.sockets(label)[0]!.terminate();
    await waitFor(() => server.bindings(aor).length === 0, 'the binding dropped');
  } finally {
    unsubscribe();
  }
  expect(changes).toEqual([`removed:closed:${binding!.contact}`]);
  expect(tap.find({ label, dir: 'out', start: 'REGISTER ' }).filter((f) => /expires=0/i.test(f.text))).toEqual([]);
}

/**
 * The wire of a first registration, for either client library: a 401 with one WWW-Authenticate
 * line per algorithm, SHA-256 first and MD5 last (RFC 8760 §2.3), a first REGISTER without
 * credentials, and a second one answering the MD5 challenge (the only one both libraries know).
 */
export function expectMd5AnswerToTwoChallenges(tap: WireTap, label: string, username: string): void {
  const challenge = tap.find({ label, dir: 'in', start: 'SIP/2.0 401', cseq: /REGISTER$/ })[0];
  expect(challenge, 'a 401 to the first REGISTER').toBeDefined();
  const lines = challenge!.text.split('\r\n').filter((l) => /^www-authenticate\s*:/i.test(l));
  expect(lines).toHaveLength(2);
  expect(lines[0]).toMatch(/algorithm=SHA-256/i);
  expect(lines[1]).toMatch(/algorithm=MD5/i);
  const registers = tap.find({ label, dir: 'out', start: 'REGISTER ' });
  expect(registers).toHaveLength(2);
  expect(wireHeader(registers[0]!.text, 'authorization')).toBeUndefined();
  const authorization = wireHeader(registers[1]!.text, 'authorization');
  expect(authorization).toMatch(/^Digest /);
  expect(authorization).toMatch(/algorithm=MD5/);
  expect(authorization).toMatch(new RegExp(`username="${username}"`));
}

