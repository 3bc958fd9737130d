/**
 * An in-memory transport for adapters: the adapter's side is a real `Connection`, the test's
 * side is a peer that sends messages in and reads what came out. No sockets, no real timers.
 */
import type { AdapterContext, Connection, Logger, Metrics, ProtocolAdapter, Session, UpgradeRequest } from '../contract.js';
import type { Bus } from '../bus/types.js';
import { createMemoryBus } from '../bus/memory.js';
import { createConnectionScope, type ConnectionScope, type ScopeHoldings } from '../scope.js';
import { silentLogger, noopMetrics } from '../logging.js';
import { validateClose, isRegisteredSubprotocol } from '../registry/index.js';
import { createFakeClock, type FakeClock } from './fake-clock.js';

/** One WebSocket message the adapter sent to the peer. */
export interface SentMessage {
  readonly data: Uint8Array | string;
  readonly isBinary: boolean;
}

export interface CloseRecord {
  readonly code: number;
  readonly reason: string;
  /** Who started the close. */
  readonly by: 'server' | 'peer';
}

export interface TestPeer {
  readonly connection: Connection;
  readonly session: Session;
  /** The connection-scoped context the adapter received. */
  readonly context: AdapterContext;
  readonly scope: ConnectionScope;
  /** Every message the adapter sent, oldest first. */
  readonly received: readonly SentMessage[];
  /** Returns and forgets what the adapter sent since the last call. */
  take(): SentMessage[];
  /** Text messages the adapter sent since the last `take`, decoded; binary ones as UTF-8. */
  takeText(): string[];
  /** The peer sends one WebSocket message. A string is a text message unless `isBinary` says otherwise. */
  send(data: Uint8Array | string, isBinary?: boolean): void;
  /** The peer starts a clean close; the session sees `onClose(code, reason)`. */
  close(code?: number, reason?: string): void;
  /** The socket dies without a closing handshake; the session sees `onClose(1006, '')`. */
  drop(): void;
  /** Set once the connection is closed, by either side. */
  readonly closed: CloseRecord | undefined;
  /** Pretends the transport buffer holds `bytes`; `send` returns false above `highWaterMark`. */
  setBufferedAmount(bytes: number): void;
  /** Empties the buffer and fires the drain listeners. */
  drain(): void;
  /** Close codes and reasons the adapter tried to use that RFC 6455 forbids (empty when correct). */
  readonly closeViolations: readonly string[];
  /** After close: what the session still held once its own `onClose` returned (zeros when it cleaned up). */
  readonly leaked: ScopeHoldings | undefined;
}

export interface ConnectOptions {
  /** The negotiated id; default: the adapter's first protocol. */
  protocol?: string;
  request?: Partial<UpgradeRequest>;
  auth?: unknown;
  /** Bytes above which `send` reports backpressure. @default 1048576 */
  highWaterMark?: number;
}

export interface TestHarness {
  readonly bus: Bus;
  readonly clock: FakeClock;
  /** The server-wide context passed to `setup`. */
  readonly context: AdapterContext;
  /** Runs `adapter.setup` once (per adapter object) and opens a session on a fresh in-memory connection. */
  connect(adapter: ProtocolAdapter, options?: ConnectOptions): Promise<TestPeer>;
  /** Runs `adapter.setup` once (per adapter object) without opening a session. */
  setup(adapter: ProtocolAdapter): Promise<void>;
  /** Every peer opened so far. */
  readonly peers: readonly TestPeer[];
}

export interface HarnessOptions {
  bus?: Bus;
  clock?: FakeClock;
  log?: Logger;
  metrics?: Metrics;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
let nextId = 0;

export function createTestRequest(partial: Partial<UpgradeRequest> = {}): UpgradeRequest {
  const url = partial.url ?? partial.path ?? '/';
  const parsed = new URL(url, 'http://localhost');
  return {
    url,
    path: partial.path ?? decodeURIComponent(parsed.pathname),
    query: partial.query ?? parsed.searchParams,
    params: partial.params ?? {},
    headers: partial.headers ?? {},
    remoteAddress: partial.remoteAddress ?? '127.0.0.1',
    remotePort: partial.remotePort ?? 50000,
    ...(partial.tls ? { tls: partial.tls } : {}),
  };
}

/** Creates a harness: a shared in-memory bus, a fake clock and a silent logger unless given. */
export function createTestHarness(options: HarnessOptions = {}): TestHarness {
  const bus = options.bus ?? createMemoryBus();
  const clock = options.clock ?? createFakeClock(1_700_000_000_000);
  const controller = new AbortController();
  const context: AdapterContext = {
    bus,
    clock,
    log: options.log ?? silentLogger,
    metrics: options.metrics ?? noopMetrics,
    signal: controller.signal,
  };
  const setUp = new WeakMap<ProtocolAdapter, Promise<void>>();
  const peers: TestPeer[] = [];
  const setup = (adapter: ProtocolAdapter): Promise<void> => {
    let ready = setUp.get(adapter);
    if (!ready) {
      ready = Promise.resolve(adapter.setup?.(context));
      setUp.set(adapter, ready);
    }
    return ready;
  };

  return {
    bus,
    clock,
    context,
    peers,
    setup,
    async connect(adapter, connectOptions = {}) {
      await setup(adapter);
      const peer = openPeer(adapter, context, connectOptions);
      peers.push(peer);
      return peer;
    },
  };
}

function openPeer(adapter: ProtocolAdapter, parent: AdapterContext, options: ConnectOptions): TestPeer {
  const protocol = options.protocol ?? adapter.protocols[0] ?? '';
  const id = `test-${++nextId}`;
  const scope = createConnectionScope(parent, { connection: id, protocol });
  const request = createTestRequest(options.request);
  const highWaterMark = options.highWaterMark ?? 1024 * 1024;
  const received: SentMessage[] = [];
  let cursor = 0;
  let closed: CloseRecord | undefined;
  let buffered = 0;
  let depth = 0;
  let pendingClose: (() => void) | undefined;
  const drainListeners: Array<() => void> = [];
  const closeViolations: string[] = [];
  let session: Session | undefined;
  let leaked: ScopeHoldings | undefined;

  // A close requested while the session is handling a message is delivered after that handler
  // returns, as a real socket would, so adapters never see onClose re-entering onMessage.
  const deliverClose = (code: number, reason: string): void => {
    const run = (): void => {
      session?.onClose(code, reason);
      // What the session still holds after its own onClose is a leak; the transport releases it.
      leaked = scope.release();
    };
    if (depth > 0) pendingClose = run;
    else run();
  };

  const connection: Connection = {
    id,
    protocol,
    registered: isRegisteredSubprotocol(protocol),
    request,
    auth: options.auth,
    get isOpen() {
      return closed === undefined;
    },
    get bufferedAmount() {
      return buffered;
    },
    send(data, sendOptions) {
      if (closed) return false;
      if (typeof data !== 'string' && !(data instanceof Uint8Array)) {
        throw new TypeError('Connection.send takes a string or a Uint8Array');
      }
      // Pre-encoded text is recorded as the text the peer would read.
      if (typeof data !== 'string' && sendOptions?.text === true) received.push({ data: decoder.decode(data), isBinary: false });
      else received.push({ data, isBinary: typeof data !== 'string' });
      return buffered <= highWaterMark;
    },
    onDrain(listener) {
      drainListeners.push(listener);
    },
    close(code = 1000, reason = '') {
      try {
        validateClose(code, reason);
      } catch (error) {
        closeViolations.push((error as Error).message);
        throw error;
      }
      if (closed) return;
      closed = { code, reason, by: 'server' };
      deliverClose(code, reason);
    },
  };

  session = adapter.open(connection, scope.context);

  const peer: TestPeer = {
    connection,
    session,
    context: scope.context,
    scope,
    get received() {
      return received;
    },
    take() {
      const out = received.slice(cursor);
      cursor = received.length;
      return out;
    },
    takeText() {
      return peer.take().map((m) => (typeof m.data === 'string' ? m.data : decoder.decode(m.data)));
    },
    send(data, isBinary) {
      if (closed) throw new Error(`peer ${id} is closed (${closed.code} ${closed.reason}); open a new one`);
      const binary = isBinary ?? typeof data !== 'string';
      const payload = binary && typeof data === 'string' ? encoder.encode(data) : data;
      depth++;
      try {
        session!.onMessage(payload, binary);
      } finally {
        depth--;
        if (depth === 0 && pendingClose) {
          const run = pendingClose;
          pendingClose = undefined;
          run();
        }
      }
    },
    close(code = 1000, reason = '') {
      if (closed) return;
      closed = { code, reason, by: 'peer' };
      deliverClose(code, reason);
    },
    drop() {
      if (closed) return;
      closed = { code: 1006, reason: '', by: 'peer' };
      deliverClose(1006, '');
    },
    get closed() {
      return closed;
    },
    setBufferedAmount(bytes) {
      buffered = bytes;
    },
    drain() {
      buffered = 0;
      for (const listener of drainListeners) listener();
    },
    closeViolations,
    get leaked() {
      return leaked;
    },
  };
  return peer;
}
