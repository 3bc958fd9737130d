/**
 * First-message recognition (`RouteOptions.recognize`): a client that offered no subprotocol is
 * upgraded without a `Sec-WebSocket-Protocol` answer, and its first message picks the adapter.
 *
 * Until then the socket belongs to a {@link PendingConnection}: it is pinged by the server's
 * keep-alive, closed after `recognizeTimeout` of silence (on one sweep for every pending
 * connection), and holds no adapter state, so a peer that leaves early leaves nothing behind.
 * Once an adapter recognises the first message and its `authorize` agrees, the server opens a
 * normal connection on the same socket and replays the first message and whatever arrived
 * while `authorize` ran, in order.
 */
import {
  HandshakeError,
  limitCloseReason,
  type Clock,
  type DeadlineSweep,
  type Logger,
  type ProtocolAdapter,
  type UpgradeRequest,
  type Watched,
} from '@protoplex/core';
import type { ServerWebSocket, WsEventTarget } from './connection.js';
import { isPromiseLike, type RefusalReason } from './handshake.js';
import type { KeepAlive, KeepAliveTarget } from './keep-alive.js';
import type { CompiledRoute } from './routes.js';

/** The adapter that claimed a first message, and the id it speaks. */
export interface Recognition {
  readonly adapter: ProtocolAdapter;
  /** One of the adapter's `protocols` or `aliases`: becomes `Connection.protocol`. */
  readonly protocol: string;
  /** As for a negotiated id: IANA lists it and it is not an alias. */
  readonly registered: boolean;
}

/** A message read before the session existed, replayed to it in order. */
export interface QueuedMessage {
  readonly data: Buffer;
  readonly isBinary: boolean;
}

/**
 * Asks each adapter of `route`, in route order, whether `data` is its protocol. An answer that
 * is not one of that adapter's ids, and a `recognize` that throws (the contract forbids it, but
 * it sees whatever a stranger sends), count as "not mine" and are logged.
 */
export function recognise(route: CompiledRoute, data: Uint8Array | string, isBinary: boolean, log: Logger): Recognition | undefined {
  for (const adapter of route.registry.adapters) {
    if (typeof adapter.recognize !== 'function') continue;
    let id: unknown;
    try {
      id = adapter.recognize(data, isBinary);
    } catch (error) {
      log.error({ err: error, adapter: adapter.name }, `adapter ${adapter.name} recognize() threw; taken as not recognised`);
      continue;
    }
    if (id === undefined) continue;
    const served = typeof id === 'string' ? route.registry.lookup(id) : undefined;
    if (served === undefined || served.adapter !== adapter) {
      log.error(
        { adapter: adapter.name, id: String(id) },
        `adapter ${adapter.name} recognize() returned ${JSON.stringify(id)}, which is none of its protocols or aliases; taken as not recognised`,
      );
      continue;
    }
    return { adapter, protocol: served.id, registered: served.registered && !served.alias };
  }
  return undefined;
}

/** What a pending connection needs from its server. */
export interface PendingHost {
  readonly log: Logger;
  readonly clock: Clock;
  /** The server's keep-alive; undefined with `keepAlive: false`. */
  readonly keepAlive: KeepAlive | undefined;
  /** The one sweep that closes pending connections whose first message is late. */
  readonly firstMessageSweep: DeadlineSweep;
  isShuttingDown(): boolean;
  /** Counts a connection given up before a session opened (`protoplex_handshakes_total`). */
  refused(adapterName: string, reason: RefusalReason): void;
  /** Opens the session on `ws` and replays `queued` to it, in order. */
  admit(ws: ServerWebSocket, request: UpgradeRequest, recognition: Recognition, auth: unknown, queued: readonly QueuedMessage[]): void;
  /** Called once, when the socket is handed over or closed. */
  settled(pending: PendingConnection): void;
}

type State =
  /** Upgraded, no message yet. */
  | 'waiting'
  /** An adapter claimed the first message; its `authorize` runs. */
  | 'authorizing'
  /** We closed it; waiting for ws's close event. */
  | 'closing'
  | 'handed-over'
  | 'closed';

const INTERNAL_ERROR_REASON = 'Internal server error';
/** `WebSocket.OPEN`, without importing ws's value at run time here. */
const OPEN = 1;
const GOING_AWAY = 'Going Away';

export class PendingConnection implements WsEventTarget, KeepAliveTarget {
  awaitingPong = false;
  pingedAt = 0;
  private state: State = 'waiting';
  private queue: QueuedMessage[] | undefined;
  private readonly deadline: number;
  /** Watched by the first-message sweep (keep-alive watches the connection itself). */
  private readonly firstMessage: Watched;

  constructor(
    private readonly ws: ServerWebSocket,
    readonly request: UpgradeRequest,
    private readonly route: CompiledRoute,
    private readonly host: PendingHost,
  ) {
    this.deadline = host.clock.now() + route.recognition!.timeout;
    this.firstMessage = {
      checkDeadlines: (now) => {
        // RFC 6455 §7.4.1: 1002 "terminating the connection due to a protocol error"; a client
        // that offered no subprotocol owes us a first message that names one.
        if (this.state === 'waiting' && now >= this.deadline) {
          this.refuse('', 'unrecognized', 1002, 'no first message', `no first message within ${route.recognition!.timeout} ms`);
        }
      },
    };
    ws.connection = this;
    host.keepAlive?.watch(this);
    host.firstMessageSweep.watch(this.firstMessage);
  }

  /** Still waiting for its first message or for `authorize`. */
  get isPending(): boolean {
    return this.state === 'waiting' || this.state === 'authorizing';
  }

  receive(data: Buffer, isBinary: boolean): void {
    this.awaitingPong = false;
    if (this.state === 'authorizing') {
      // ws may still emit what it had read before pause() took effect.
      this.queue!.push({ data, isBinary });
      return;
    }
    if (this.state !== 'waiting') return;
    this.host.firstMessageSweep.unwatch(this.firstMessage);
    if (this.host.isShuttingDown()) {
      this.refuse('', 'shutting_down', 1001, GOING_AWAY, 'first message during shutdown');
      return;
    }
    // ws has validated UTF-8 already (skipUTF8Validation: false): text is a string, as for onMessage.
    const found = recognise(this.route, isBinary ? data : data.toString('utf8'), isBinary, this.host.log);
    if (!found) {
      // RFC 6455 §7.4.1 1002, naming what this path serves so the client can offer one of them.
      this.refuse('', 'unrecognized', 1002, this.route.recognition!.unrecognisedReason, 'first message recognised by no adapter');
      return;
    }
    this.state = 'authorizing';
    this.queue = [{ data, isBinary }];
    this.authorize(found);
  }

  closedBy(code: number, _reason: Buffer): void {
    if (this.state === 'closed' || this.state === 'handed-over') return;
    const before = this.state;
    this.state = 'closed';
    this.queue = undefined;
    this.leave();
    this.host.log.debug({ code, url: this.request.url, state: before }, 'connection closed before a session opened');
  }

  socketError(error: unknown): void {
    this.host.log.debug({ err: error }, 'websocket error');
  }

  checkDeadlines(now: number): void {
    this.host.keepAlive?.check(this, now);
  }

  ping(): void {
    if (this.state !== 'closed') this.ws.ping();
  }

  terminate(): void {
    this.ws.terminate();
  }

  /** Graceful shutdown: RFC 6455 §7.4.1 1001, as for open connections. */
  goAway(): void {
    if (!this.isPending) return;
    this.state = 'closing';
    this.queue = undefined;
    this.closeWith(1001, GOING_AWAY);
  }

  private authorize(found: Recognition): void {
    const { adapter, protocol } = found;
    if (typeof adapter.authorize !== 'function') {
      this.admit(found, undefined);
      return;
    }
    let result: unknown;
    try {
      result = adapter.authorize(this.request, protocol);
    } catch (error) {
      this.authorizeFailed(adapter, error);
      return;
    }
    if (!isPromiseLike(result)) {
      this.admit(found, result);
      return;
    }
    // Reading stops until authorize settles, so a peer cannot pile up messages meanwhile.
    this.ws.pause();
    Promise.resolve(result)
      .then(
        (auth) => this.admit(found, auth),
        (error: unknown) => this.authorizeFailed(adapter, error),
      )
      .then(undefined, (error: unknown) => {
        /* c8 ignore next 2: admit and authorizeFailed catch what they call */
        this.host.log.error({ err: error }, 'recognised connection failed to open');
        this.ws.terminate();
      });
  }

  private admit(found: Recognition, auth: unknown): void {
    // The peer left, or shutdown closed it, while authorize ran.
    if (this.state !== 'authorizing') return;
    if (this.ws.readyState !== OPEN) {
      // Closing already (ws read the peer's Close before pause took effect): no session to open;
      // ws's close event comes next and settles this connection.
      this.state = 'closing';
      this.queue = undefined;
      if (this.ws.isPaused) this.ws.resume();
      return;
    }
    if (this.host.isShuttingDown()) {
      this.refuse(found.adapter.name, 'shutting_down', 1001, GOING_AWAY, 'recognised during shutdown');
      return;
    }
    const queued = this.queue!;
    this.queue = undefined;
    this.state = 'handed-over';
    this.leave();
    this.host.admit(this.ws, this.request, found, auth, queued);
    // After the hand-over, so what ws reads next goes to the session, after the replay.
    if (this.ws.isPaused) this.ws.resume();
  }

  private authorizeFailed(adapter: ProtocolAdapter, error: unknown): void {
    if (this.state !== 'authorizing') return;
    if (error instanceof HandshakeError) {
      // After the 101 there is no HTTP status to send: 1008 Policy Violation (RFC 6455 §7.4.1)
      // carries the refusal, with its message as the reason.
      this.refuse(adapter.name, 'unauthorized', 1008, limitCloseReason(error.message), `authorize refused: ${error.message}`);
      return;
    }
    this.host.log.error({ err: error, adapter: adapter.name, url: this.request.url }, `adapter ${adapter.name} authorize threw`);
    this.refuse(adapter.name, 'error', 1011, INTERNAL_ERROR_REASON, 'authorize failed');
  }

  private refuse(adapterName: string, reason: RefusalReason, code: number, closeReason: string, message: string): void {
    this.state = 'closing';
    this.queue = undefined;
    this.host.firstMessageSweep.unwatch(this.firstMessage);
    this.host.refused(adapterName, reason);
    this.host.log.info({ reason, code, url: this.request.url, adapter: adapterName || undefined }, `connection refused: ${message}`);
    this.closeWith(code, closeReason);
  }

  private closeWith(code: number, reason: string): void {
    // A paused socket would not read the peer's Close frame, and the closing handshake would
    // wait for ws's own timeout.
    if (this.ws.isPaused) this.ws.resume();
    this.ws.close(code, reason);
  }

  private leave(): void {
    this.host.keepAlive?.unwatch(this);
    this.host.firstMessageSweep.unwatch(this.firstMessage);
    this.host.settled(this);
  }
}
