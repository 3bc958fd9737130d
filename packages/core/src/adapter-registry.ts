/**
 * The set of adapters served on one route, and the one place where an offer becomes a decision.
 */
import type { ProtocolAdapter } from './contract.js';
import { HandshakeError, HandshakeErrorCode, RegistryError, RegistryErrorCode } from './errors.js';
import { chooseProtocol, parseProtocolOffer, type ProtocolPreference } from './negotiation.js';
import { isRegisteredSubprotocol, subprotocolCaseConflict, validateClose } from './registry/index.js';
import { isToken } from './registry/token.js';

/** One id an adapter serves, as the registry knows it. */
export interface ServedProtocol {
  readonly id: string;
  readonly adapter: ProtocolAdapter;
  /** IANA lists the id. */
  readonly registered: boolean;
  /** The id came from `ProtocolAdapter.aliases`. */
  readonly alias: boolean;
}

export interface AdapterRegistryOptions {
  /**
   * Whose order decides between several served ids.
   * @default 'server'
   */
  preference?: ProtocolPreference;
  /**
   * Serves connections that offer no served id (or no header) without a Sec-WebSocket-Protocol
   * response header. Without it such requests get HTTP 400 listing the supported ids.
   */
  fallback?: ProtocolAdapter;
  /**
   * What to do when nothing matches and there is no fallback. `'refuse'` answers HTTP 400.
   * `'close'` completes the handshake without a Sec-WebSocket-Protocol header and closes at once,
   * as OCPP-J requires of a central system ("it MUST complete the WebSocket handshake with a
   * response without a Sec-WebSocket-Protocol header and then immediately close").
   * @default 'refuse'
   */
  onNoMatch?: 'refuse' | 'close';
  /**
   * Close code used by `onNoMatch: 'close'`.
   * @default 1002
   */
  noMatchCloseCode?: number;
}

/** The outcome of negotiation for one upgrade request. */
export type Negotiation =
  /** Answer 101 with `Sec-WebSocket-Protocol: protocol` and open `adapter`. */
  | { readonly type: 'accept'; readonly protocol: string; readonly served: ServedProtocol }
  /** Answer 101 without the header and open the fallback adapter. */
  | { readonly type: 'fallback'; readonly adapter: ProtocolAdapter }
  /** Answer 101 without the header, then close with `code` at once. */
  | { readonly type: 'close'; readonly code: number; readonly reason: string }
  /** Do not upgrade: answer `error.status`. */
  | { readonly type: 'refuse'; readonly error: HandshakeError };

export interface AdapterRegistry {
  readonly adapters: readonly ProtocolAdapter[];
  /** Every served id in preference order: each adapter's `protocols` in order, then all aliases. */
  readonly served: readonly ServedProtocol[];
  readonly fallback: ProtocolAdapter | undefined;
  lookup(id: string): ServedProtocol | undefined;
  /** Decides the answer to a Sec-WebSocket-Protocol header value (or its absence). Never throws. */
  negotiate(header: string | readonly string[] | undefined): Negotiation;
}

/**
 * Builds a registry and refuses, at registration, what could never be negotiated correctly:
 * an id that is not a token, one id claimed twice, two ids that differ only by case
 * (RFC 7936 §2), or an id that differs only by case from an IANA-registered one.
 */
export function createAdapterRegistry(
  adapters: readonly ProtocolAdapter[],
  options: AdapterRegistryOptions = {},
): AdapterRegistry {
  const preference = options.preference ?? 'server';
  const served: ServedProtocol[] = [];
  const byId = new Map<string, ServedProtocol>();
  const byFoldedId = new Map<string, ServedProtocol>();

  const add = (adapter: ProtocolAdapter, id: string, alias: boolean): void => {
    if (typeof id !== 'string' || !isToken(id)) {
      throw new RegistryError(RegistryErrorCode.NotAToken, `adapter ${adapter.name}: ${JSON.stringify(id)} is not an RFC 7230 token`);
    }
    const existing = byId.get(id);
    if (existing) {
      throw new RegistryError(
        RegistryErrorCode.DuplicateId,
        `adapter ${adapter.name}: ${id} is already served by adapter ${existing.adapter.name}`,
      );
    }
    const folded = foldCase(id);
    const lookalike = byFoldedId.get(folded);
    if (lookalike) {
      throw new RegistryError(
        RegistryErrorCode.CaseConflict,
        `adapter ${adapter.name}: ${id} differs only by case from ${lookalike.id} (adapter ${lookalike.adapter.name}); RFC 7936 §2`,
      );
    }
    const registered = isRegisteredSubprotocol(id);
    if (!registered) {
      const ianaLookalike = subprotocolCaseConflict(id);
      if (ianaLookalike) {
        throw new RegistryError(
          RegistryErrorCode.CaseConflict,
          `adapter ${adapter.name}: ${id} differs only by case from the IANA-registered ${ianaLookalike.id}; RFC 7936 §2`,
        );
      }
    }
    const entry: ServedProtocol = { id, adapter, registered, alias };
    served.push(entry);
    byId.set(id, entry);
    byFoldedId.set(folded, entry);
  };

  for (const adapter of adapters) {
    if (adapter.protocols.length === 0) {
      throw new RegistryError(RegistryErrorCode.NoProtocols, `adapter ${adapter.name} serves no subprotocol id`);
    }
    for (const id of adapter.protocols) add(adapter, id, false);
  }
  // Aliases rank after every real id so that a client offering both gets the registered one.
  for (const adapter of adapters) for (const id of adapter.aliases ?? []) add(adapter, id, true);

  const ids = served.map((entry) => entry.id);
  const idSet = new Set(ids);
  const supportedList = ids.join(', ');
  const noMatchCode = options.noMatchCloseCode ?? 1002;
  // Refuse at registration what would throw on the first unmatched request.
  validateClose(noMatchCode, 'no supported subprotocol offered');

  const noMatch = (offered: readonly string[]): Negotiation => {
    if (options.fallback) return { type: 'fallback', adapter: options.fallback };
    if (options.onNoMatch === 'close') {
      return { type: 'close', code: noMatchCode, reason: 'no supported subprotocol offered' };
    }
    const what = offered.length === 0 ? 'No Sec-WebSocket-Protocol offered' : `None of the offered subprotocols (${offered.join(', ')}) is supported`;
    return {
      type: 'refuse',
      error: new HandshakeError(400, `${what}. Supported: ${supportedList}`, { code: HandshakeErrorCode.NoMatchingProtocol }),
    };
  };

  return {
    adapters,
    served,
    fallback: options.fallback,
    lookup: (id) => byId.get(id),
    negotiate(header) {
      const offer = parseProtocolOffer(header);
      if (!offer.ok) {
        return {
          type: 'refuse',
          error: new HandshakeError(400, `Malformed Sec-WebSocket-Protocol: ${offer.detail}`, { code: HandshakeErrorCode.MalformedOffer }),
        };
      }
      const protocol = chooseProtocol(offer.protocols, preference === 'client' ? idSet : ids, preference);
      if (protocol === undefined) return noMatch(offer.protocols);
      return { type: 'accept', protocol, served: byId.get(protocol)! };
    },
  };
}

/** ASCII-only case folding: tokens are ASCII, and locale-aware folding would be wrong here. */
function foldCase(id: string): string {
  return id.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}
