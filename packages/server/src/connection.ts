/**
 * One accepted `ws` socket as core's `Connection`, wired to the adapter's `Session`.
 *
 * Hot path: ws 'message' -> `ServerWebSocket.emit` -> {@link WsConnection} `receive` -> `session.onMessage`,
 * with two counter additions and no allocation beyond the string a text message must become.
 *
 * Memory per idle connection matters as much (a bench compares us with bare ws): ws events
 * reach the connection through {@link ServerWebSocket}'s `emit`, with no listener or closure per
 * connection, and core's connection scope (an AbortController, two Sets and a child logger,
 * about 3.5 KiB) is created the first time the adapter touches its context, so an adapter that
 * never uses bus, clock, signal or log does not pay for it.
 *
 * Drain detection: while a connection is above its high-water mark, every `ws.send` gets the
 * connection's one pre-bound write callback; when a callback fires and `bufferedAmount` is at or
 * below the low-water mark (half the high-water mark), the drain listeners run. This polls only
 * while backpressured (no cost otherwise), uses ws's public API instead of the private
 * `ws._socket`, and also sees bytes held in ws's permessage-deflate queue, which the socket's
 * own 'drain' event cannot: that queue can hold megabytes while the socket buffer is empty, and
 * a 'drain' that never comes would stall the producer for good. The last callback to fire
 * always sees an empty buffer, so a waiting producer is always woken.
 */
import { WebSocket } from 'ws';
import {
  ProtocolError,
  createConnectionScope,
  isSendableCloseCode,
  validateClose,
  type AdapterContext,
  type Bus,
  type Clock,
  type Connection,
  type ConnectionScope,
  type Logger,
  type Metrics,
  type ProtocolAdapter,
  type ScopeHoldings,
  type SendOptions,
  type Session,
  type UpgradeRequest,
} from '@protoplex/core';
import type { KeepAlive, KeepAliveTarget } from './keep-alive.js';
import type { ProtocolStats } from './metrics.js';

/** A live connection as the server exposes it: core's `Connection` plus the adapter's name. */
export interface ServerConnection extends Connection {
  /** `ProtocolAdapter.name` of the adapter serving this connection. */
  readonly adapter: string;
}

/** What a connection needs from its server. */
export interface ConnectionHost {
  /** Bytes above which `send` returns false. */
  readonly highWaterMark: number;
  /** Bytes above which the connection is closed with `overflowCloseCode`. */
  readonly maxBufferedAmount: number;
  readonly overflowCloseCode: number;
  /** The server's keep-alive sweep; undefined with `keepAlive: false`. */
  readonly keepAlive?: KeepAlive | undefined;
  /** Called once, after `session.onClose` and the scope release. */
  connectionClosed(connection: WsConnection, code: number, reason: string): void;
}

export interface ConnectionInit {
  readonly protocol: string;
  readonly registered: boolean;
  readonly request: UpgradeRequest;
  readonly auth: unknown;
  /** Adapter name, for logs, metrics and `ServerConnection.adapter`. */
  readonly adapter: string;
}

// One options object per frame type for the whole process: ws copies them, so sharing is safe.
interface CorkableSocket {
  readonly destroyed: boolean;
  cork(): void;
  uncork(): void;
}

function uncork(connection: WsConnection, socket: CorkableSocket): void {
  connection.uncorked();
  socket.uncork();
}

const TEXT = { binary: false };
const BINARY = { binary: true };
const INTERNAL_ERROR_REASON = 'Internal server error';
/** `WebSocket.OPEN`, without importing ws's value at run time here. */
const OPEN = 1;

let lastId = 0;

/** Short, process-unique connection id (base 36 counter). */
export function nextConnectionId(): string {
  return (++lastId).toString(36);
}

/**
 * The connection-scoped `AdapterContext` handed to `open`: core's `createConnectionScope`, made
 * on first use of `bus`, `clock` or `signal`. `log` alone only makes the child logger.
 */
export class ConnectionContext implements AdapterContext {
  private scope: ConnectionScope | undefined;
  private logger: Logger | undefined;
  private released = false;

  constructor(
    private readonly parent: AdapterContext,
    private readonly connection: string,
    private readonly protocol: string,
  ) {}

  get bus(): Bus {
    return this.ensureScope().context.bus;
  }

  get clock(): Clock {
    return this.ensureScope().context.clock;
  }

  get signal(): AbortSignal {
    return this.ensureScope().context.signal;
  }

  get metrics(): Metrics {
    return this.parent.metrics;
  }

  get log(): Logger {
    if (this.scope) return this.scope.context.log;
    return (this.logger ??= this.parent.log.child({ connection: this.connection, protocol: this.protocol }));
  }

  /** The scope, if the adapter used one (for tests and leak checks). */
  get current(): ConnectionScope | undefined {
    return this.scope;
  }

  /** Releases the scope, if one was made; later uses get an already released one. */
  release(): ScopeHoldings | undefined {
    this.released = true;
    return this.scope?.release();
  }

  private ensureScope(): ConnectionScope {
    if (this.scope) return this.scope;
    const scope = createConnectionScope(this.parent, { connection: this.connection, protocol: this.protocol });
    this.scope = scope;
    // Touched after close: behave like the released scope it would have been (aborted signal).
    if (this.released) scope.release();
    return scope;
  }
}

/**
 * Whatever owns a socket's events: a {@link WsConnection}, or, on a `recognize` route, the
 * pending connection that waits for the first message and then hands the socket over.
 */
export interface WsEventTarget {
  awaitingPong: boolean;
  receive(data: Buffer, isBinary: boolean): void;
  closedBy(code: number, reason: Buffer): void;
  socketError(error: unknown): void;
}

/**
 * Delivers one ws event to its owner; false for events an owner does not take.
 * ws reports everything through `emit`, so {@link ServerWebSocket} routes here directly.
 */
export function dispatchWsEvent(connection: WsEventTarget, event: string | symbol, a: unknown, b: unknown): boolean {
  switch (event) {
    case 'message':
      connection.receive(a as Buffer, b as boolean);
      return true;
    case 'pong':
      connection.awaitingPong = false;
      return true;
    case 'close':
      connection.closedBy(a as number, b as Buffer);
      return true;
    case 'error':
      // ws closes by itself after framing errors (1002, 1007, 1009); the close event follows.
      connection.socketError(a);
      return true;
    default:
      return false;
  }
}

/**
 * ws's WebSocket as the server creates it (ws's `WebSocket` option), with a declared slot for
 * its connection. Its events go straight to the connection instead of through listeners: an
 * EventEmitter holding four event types keeps a 256-byte dictionary per socket, and the message
 * path skips the EventEmitter dispatch. Sockets without a connection (the `onNoMatch: 'close'`
 * ones) and other events ('open', 'ping') behave as plain ws.
 */
export class ServerWebSocket extends WebSocket {
  connection: WsEventTarget | undefined = undefined;

  override emit(event: string | symbol, a?: unknown, b?: unknown): boolean {
    const connection = this.connection;
    if (connection !== undefined && dispatchWsEvent(connection, event, a, b)) return true;
    // Keep the argument count exact for listeners of other events.
    switch (arguments.length) {
      case 1:
        return super.emit(event);
      case 2:
        return super.emit(event, a);
      default:
        return super.emit(event, a, b);
    }
  }
}

export class WsConnection implements ServerConnection, KeepAliveTarget, WsEventTarget {
  readonly id = nextConnectionId();
  readonly protocol: string;
  readonly registered: boolean;
  readonly request: UpgradeRequest;
  readonly auth: unknown;
  readonly adapter: string;
  /** The adapter's connection-scoped context. */
  readonly context: ConnectionContext;
  /** Keep-alive: set by each ping, cleared by a pong or a message. */
  awaitingPong = false;
  /** Keep-alive: clock time of the last ping. */
  pingedAt = 0;

  private session: Session | undefined;
  /** close() was called or the socket is gone: sends are dropped, messages ignored. */
  private closing = false;
  private closed = false;
  private waitingDrain = false;
  /** This tick's writes are held (see `cork`). */
  private corked = false;
  private drainListeners: Array<() => void> | undefined;
  /** Made on the first backpressured send, then reused for every write callback. */
  private written: ((error?: Error | null) => void) | undefined;

  constructor(
    private readonly ws: ServerWebSocket,
    init: ConnectionInit,
    parent: AdapterContext,
    private readonly host: ConnectionHost,
    private readonly stats: ProtocolStats,
  ) {
    this.protocol = init.protocol;
    this.registered = init.registered;
    this.request = init.request;
    this.auth = init.auth;
    this.adapter = init.adapter;
    this.context = new ConnectionContext(parent, this.id, init.protocol);
    stats.open++;
    ws.connection = this;
  }

  get isOpen(): boolean {
    return !this.closing && this.ws.readyState === OPEN;
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  /** Opens the adapter's session on this connection; called once, right after construction. */
  start(adapter: ProtocolAdapter): void {
    try {
      this.session = adapter.open(this, this.context);
    } catch (error) {
      // ProtocolAdapter.open "MUST NOT throw for any request".
      this.context.log.error({ err: error }, 'adapter open() threw; closing with 1011');
      this.fail(error);
    }
  }

  send(data: Uint8Array | string, sendOptions?: SendOptions): boolean {
    // Also while the peer's close is in progress: ws would count the dropped bytes into
    // bufferedAmount (as browsers do), which would look like an overflow here.
    if (this.closing || this.ws.readyState !== OPEN) return false;
    let bytes: number;
    let options: typeof TEXT;
    if (typeof data === 'string') {
      bytes = Buffer.byteLength(data);
      options = TEXT;
    } else if (data instanceof Uint8Array) {
      bytes = data.byteLength;
      // Pre-encoded text (fan-out): ws frames the bytes as text without encoding them again.
      options = sendOptions?.text === true ? TEXT : BINARY;
    } else {
      throw new TypeError('Connection.send takes a string or a Uint8Array');
    }
    const host = this.host;
    const buffered = this.ws.bufferedAmount + bytes;
    if (buffered > host.maxBufferedAmount) {
      this.overflow(buffered);
      return false;
    }
    const stats = this.stats;
    stats.messagesSent++;
    stats.bytesSent += bytes;
    if (!this.corked) this.cork();
    if (buffered > host.highWaterMark || this.waitingDrain) {
      this.waitingDrain = true;
      this.ws.send(data, options, (this.written ??= (error) => this.onWritten(error)));
      return buffered <= host.highWaterMark;
    }
    this.ws.send(data, options);
    return true;
  }

  /**
   * Holds this tick's writes and lets them go together on the next tick. Without it every
   * message is a write syscall of its own (ws writes each frame as it is sent), and those were
   * most of a broker's CPU: an RPC callee with 100 calls in flight, or a subscriber of a busy
   * fan-out, gets many messages from one read of its peers' sockets. One `writev` per tick
   * carries them all; a lone message waits only until the current tick ends.
   */
  private cork(): void {
    const socket = (this.ws as unknown as { _socket?: CorkableSocket })._socket;
    if (socket === undefined || socket.destroyed) return;
    socket.cork();
    this.corked = true;
    process.nextTick(uncork, this, socket);
  }

  /** @internal called by the tick that `cork` scheduled. */
  uncorked(): void {
    this.corked = false;
  }

  onDrain(listener: () => void): void {
    (this.drainListeners ??= []).push(listener);
  }

  close(code = 1000, reason = ''): void {
    // Connection contract: refuse codes RFC 6455 §7.4 keeps off the wire and reasons over 123
    // bytes of UTF-8 (§5.5), whether or not the connection is still open.
    validateClose(code, reason);
    this.closeWith(code, reason);
  }

  /** Keep-alive ping. */
  ping(): void {
    if (!this.closed) this.ws.ping();
  }

  /** The keep-alive sweep's visit. */
  checkDeadlines(now: number): void {
    this.host.keepAlive?.check(this, now);
  }

  socketError(error: unknown): void {
    this.context.log.debug({ err: error }, 'websocket error');
  }

  /** Drops the TCP connection without a closing handshake; the session sees 1006. */
  terminate(): void {
    this.closing = true;
    this.ws.terminate();
  }

  /** Graceful shutdown: RFC 6455 §7.4.1 1001 "an endpoint is "going away", such as a server going down". */
  goAway(): void {
    this.closeWith(1001, 'Going Away');
  }

  /** One message from ws (the hot path). */
  receive(data: Buffer, isBinary: boolean): void {
    this.awaitingPong = false;
    if (this.closing) return;
    const stats = this.stats;
    stats.messagesReceived++;
    stats.bytesReceived += data.length;
    try {
      // ws has already validated UTF-8 (skipUTF8Validation: false) and closes with 1007 otherwise.
      this.session!.onMessage(isBinary ? data : data.toString('utf8'), isBinary);
    } catch (error) {
      // Session.onMessage "MUST NOT throw"; the transport still never lets it crash the process.
      this.context.log.error({ err: error }, 'session.onMessage threw; closing');
      this.fail(error);
    }
  }

  /** ws 'close': the session hears about it exactly once, then the scope is released. */
  closedBy(code: number, reason: Buffer): void {
    if (this.closed) return;
    this.closed = true;
    this.closing = true;
    this.waitingDrain = false;
    this.drainListeners = undefined;
    this.stats.open--;
    const text = reason.length === 0 ? '' : reason.toString('utf8');
    if (this.session) {
      try {
        this.session.onClose(code, text);
      } catch (error) {
        this.context.log.error({ err: error }, 'session.onClose threw');
      }
    }
    const held = this.context.release();
    if (held && (held.subscriptions > 0 || held.timers > 0)) {
      this.context.log.warn(
        { subscriptions: held.subscriptions, timers: held.timers },
        `adapter ${this.adapter} leaked ${held.subscriptions} bus subscription(s) and ${held.timers} timer(s) after onClose; released them`,
      );
    }
    this.host.connectionClosed(this, code, text);
  }

  private closeWith(code: number, reason: string): void {
    if (this.closing) return;
    this.closing = true;
    this.ws.close(code, reason);
  }

  private fail(error: unknown): void {
    // A ProtocolError that escaped the session still names the right close code; anything else
    // is a bug in the adapter and closes with 1011 without showing internals to the peer.
    if (error instanceof ProtocolError && isSendableCloseCode(error.closeCode)) this.closeWith(error.closeCode, '');
    else this.closeWith(1011, INTERNAL_ERROR_REASON);
  }

  private overflow(buffered: number): void {
    this.stats.overflows++;
    this.context.log.warn({ bufferedAmount: buffered, limit: this.host.maxBufferedAmount }, 'send buffer overflow; closing');
    this.closeWith(this.host.overflowCloseCode, 'Send buffer overflow');
  }

  private onWritten(error: Error | null | undefined): void {
    if (error || !this.waitingDrain || this.closing) return;
    // Low-water mark: half the high-water mark.
    if (this.ws.bufferedAmount > this.host.highWaterMark / 2) return;
    this.waitingDrain = false;
    const listeners = this.drainListeners;
    if (!listeners) return;
    for (const listener of listeners) {
      try {
        listener();
      } catch (err) {
        this.context.log.error({ err }, 'onDrain listener threw');
      }
    }
  }
}
