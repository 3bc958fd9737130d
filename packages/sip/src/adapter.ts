/**
 * The `sip(options)` factory: the IANA id `sip` (RFC 7118 §4.1), first-message recognition of a
 * SIP request line, and wiring of the shared service (service.ts) to per-connection sessions
 * (session.ts). No protocol rules live here.
 */
import { resolveOptions, type AdapterContext, type Connection, type ProtocolAdapter, type Session } from '@protoplex/core';
import { SIP_PROTOCOL } from './constants.js';
import type { DigestAlgorithm } from './digest.js';
import { SipService } from './service.js';
import { SipSession } from './session.js';
import type { SendMessageRequest, SipOptions, SipRegistrationChange, SipReply, SipStats } from './types.js';

/** Every option's default (hooks and the user table default to absent). */
export const sipDefaults = Object.freeze({
  domain: 'localhost',
  algorithms: ['SHA-256', 'MD5'] as readonly DigestAlgorithm[],
  nonceLifetime: 300_000,
  minExpires: 60,
  maxExpires: 3600,
  defaultExpires: 3600,
  maxBindings: 10,
  maxMessageSize: 65_535,
  maxBadMessages: 5,
  transactionTimeout: 32_000,
  inviteTimeout: 181_000,
  flowTimer: 120,
  services: [] as readonly string[],
  bus: false,
  bridge: [] as readonly string[],
  busPrefix: 'sip',
  agent: 'protoplex-sip',
});

/** The SIP adapter: a `ProtocolAdapter` plus the registrar's state and the application API. */
export interface SipAdapter extends ProtocolAdapter {
  readonly name: 'sip';
  /** Registrations, recent calls and open transactions, JSON-serialisable. */
  stats(): SipStats;
  /** Sends a MESSAGE (RFC 3428) from the server to every binding of a registered user; resolves with the best final answer (480 when the user has none). */
  sendMessage(message: SendMessageRequest): Promise<SipReply & { reason: string }>;
  /** Calls `listener` on every registration change (presence); returns the function that stops it. */
  onRegistration(listener: (change: SipRegistrationChange) => void): () => void;
}

/**
 * Creates a SIP registrar and stateful proxy for browser softphones (JsSIP, SIP.js) over
 * WebSocket, served under the IANA id `sip`.
 */
export function sip(options: SipOptions = {}): SipAdapter {
  const resolved = resolveOptions(sipDefaults, options);
  for (const [name, value] of [['minExpires', resolved.minExpires], ['maxExpires', resolved.maxExpires], ['defaultExpires', resolved.defaultExpires]] as const) {
    if (!Number.isInteger(value) || value < 0) throw new RangeError(`${name} must be a whole number of seconds, got ${value}`);
  }
  if (resolved.algorithms.length === 0) throw new RangeError('algorithms must name at least one digest algorithm');
  const service = new SipService({
    ...resolved,
    host: options.host ?? resolved.domain,
    users: options.users,
    authenticate: options.authenticate,
    onMessage: options.onMessage,
    onRegistration: options.onRegistration,
  });
  return {
    name: 'sip',
    protocols: [SIP_PROTOCOL],
    setup(context: AdapterContext) {
      service.setup(context);
    },
    open(connection: Connection, context: AdapterContext): Session {
      return new SipSession(connection, context, service);
    },
    recognize(data, isBinary) {
      return recognizeSip(data, isBinary);
    },
    async shutdown() {
      service.shutdown();
    },
    stats: () => service.stats(),
    sendMessage: (message) => service.sendMessage(message),
    onRegistration: (listener) => service.onRegistration(listener),
  };
}

/**
 * A first message whose first line is a SIP request line (`METHOD sip:... SIP/2.0`) or status
 * line (`SIP/2.0 200 ...`), as text or bytes. Reads the first line only.
 */
export function recognizeSip(data: Uint8Array | string, _isBinary: boolean): string | undefined {
  const head = typeof data === 'string' ? data.slice(0, 512) : Buffer.from(data.buffer, data.byteOffset, Math.min(data.length, 512)).toString('latin1');
  const end = head.indexOf('\r\n');
  if (end < 0) return undefined;
  const line = head.slice(0, end);
  if (line.startsWith('SIP/2.0 ')) return /^SIP\/2\.0 [1-6]\d\d /.test(line + ' ') ? SIP_PROTOCOL : undefined;
  // RFC 3261 §25.1: Request-Line = Method SP Request-URI SP SIP-Version.
  return /^[A-Za-z0-9.!%*_+`'~-]+ (?:sips?|tel):[^ ]+ SIP\/2\.0$/.test(line) ? SIP_PROTOCOL : undefined;
}
