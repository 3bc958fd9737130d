/**
 * The STOMP session: one state machine per WebSocket connection, behind `open(conn, ctx)`. One
 * dispatch `switch` on the frame command; one exit path, `fail()`, which sends ERROR and closes.
 *
 * @see https://stomp.github.io/stomp-specification-1.2.html
 */
import { Buffer, isUtf8 } from 'node:buffer';
import { CloseCode, closeReasonByteLength, type AdapterContext, type BusMessage, type BusSubscription, type Connection, type Session, type Timer } from '@protoplex/core';
import { createParser, encodeHead, escapeHeader, joinFrame, type ParseLimits, type StompFrame, type StompParser } from './codec.js';
import {
  AckMode,
  BODY_COMMANDS,
  ClientCommand,
  DestinationPrefix,
  REQUIRED_HEADERS,
  RESERVED_SEND_HEADERS,
  ServerCommand,
  SessionLimit,
  StompVersion,
  VERSION_OF_SUBPROTOCOL,
  type StompSubprotocol,
} from './constants.js';
import { Queue, type Consumer, type ConsumerOwner, type QueuedMessage, type QueueRegistry, type ReplyTarget } from './queues.js';
import { fromBusTopic, parseDestination, toBusFilter, toBusTopic } from './topics.js';

/** What `authenticate` receives: the CONNECT credentials and where they came from. */
export interface StompCredentials {
  readonly login?: string;
  readonly passcode?: string;
  /** The CONNECT `host` header (virtual host), when sent. */
  readonly host?: string;
  /** Every CONNECT header, first occurrence of each. */
  readonly headers: Readonly<Record<string, string>>;
  readonly connection: Connection;
}

/** The resolved options a session runs with (see `StompOptions` for the documentation). */
export interface SessionOptions {
  readonly heartBeat: { readonly outgoing: number; readonly incoming: number };
  readonly heartBeatTolerance: number;
  readonly binaryFrames: boolean;
  readonly virtualHosts: readonly string[] | undefined;
  readonly authenticate: ((credentials: StompCredentials) => boolean | Promise<boolean>) | undefined;
  readonly limits: ParseLimits;
  readonly maxUnackedTopicMessages: number;
  readonly maxTopicBacklog: number;
  readonly requireHost: boolean;
  readonly serverName: string;
}

/** Broker-wide state a session works on; the adapter object owns it. */
export interface Broker {
  readonly options: SessionOptions;
  readonly queues: QueueRegistry;
  /** `/reply-queue/` names to the session that owns the temporary queue. */
  readonly replies: Map<string, ReplyTarget>;
  readonly sessions: Set<StompSession>;
}

/** A JSON-serialisable view of one session, for `stats()`. */
export interface SessionStats {
  readonly id: string;
  readonly version: StompVersion;
  readonly connectedAt: number;
  readonly subscriptions: Array<{ id: string; destination: string; ack: AckMode }>;
}

interface Subscription {
  readonly id: string;
  /** `id` escaped for this version, ready to write into MESSAGE. */
  readonly wireId: string;
  readonly destination: string;
  readonly kind: 'topic' | 'queue' | 'temp-queue';
  readonly ackMode: AckMode;
  readonly prefetch: number;
  /** Deliveries waiting for ACK/NACK, in delivery order (`client` mode acks cumulatively). */
  readonly unacked: Map<string, Delivery>;
  bus?: BusSubscription;
  consumer?: Consumer;
  /**
   * The shared queue of a `/queue/` subscription, or the subscription's own queue for a topic
   * subscription with `client` or `client-individual` acks (RabbitMQ gives each topic
   * subscription a queue of its own, so such messages wait for acks and NACK redelivers them).
   */
  queue?: Queue;
}

interface Delivery {
  readonly subscription: Subscription;
  /** Set for queue deliveries, which go back to the queue on NACK or when the consumer leaves. */
  readonly message?: QueuedMessage;
}

type State = 'awaiting-connect' | 'authenticating' | 'connected' | 'closed';

/** Cached encodings of a message's shared part (everything after the per-subscriber headers). */
interface Tail {
  /** From `destination:` to the blank line. */
  readonly head: string;
  readonly body: Uint8Array;
  /** `head + body + NUL` as text, when the body is valid UTF-8. */
  readonly text: string | undefined;
}

// Keyed by the bus or queued message object: every subscriber of one message shares one encoding.
const tails = new WeakMap<object, Array<Tail | undefined>>();
const VERSION_SLOT: Readonly<Record<StompVersion, number>> = { '1.0': 0, '1.1': 1, '1.2': 2 };
const HEART_BEAT = /^\s*(\d{1,9})\s*,\s*(\d{1,9})\s*$/;
const PREFETCH = /^\d{1,9}$/;
const LF_BYTES = Buffer.from('\n');
/** Frames held while an asynchronous `authenticate` runs; more is a misbehaving client. */
const MAX_BACKLOG = 64;
const CLIENT_COMMANDS: ReadonlySet<string> = new Set(Object.values(ClientCommand));

let sessionCounter = 0;

export class StompSession implements Session, ConsumerOwner {
  readonly version: StompVersion;
  readonly id: string;
  connectedAt = 0;

  private state: State = 'awaiting-connect';
  private sendable = true;
  private readonly parser: StompParser;
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly deliveries = new Map<string, Delivery>();
  private readonly transactions = new Map<string, StompFrame[]>();
  /** Local temp-queue name to its `/reply-queue/` name. */
  private readonly tempQueues = new Map<string, string>();
  private vhost = '/';
  private messageCounter = 0;
  private readonly idPrefix: string;
  private sentSinceTick = false;
  /** Clock time of the last byte from the client, kept only while a watchdog runs. */
  private lastReceived = 0;
  private silenceAllowed = 0;
  private pinger: Timer | undefined;
  private watchdog: Timer | undefined;
  private backlog: Array<StompFrame | Uint8Array | string> = [];

  constructor(
    private readonly connection: Connection,
    private readonly context: AdapterContext,
    private readonly broker: Broker,
  ) {
    this.version = VERSION_OF_SUBPROTOCOL[connection.protocol as StompSubprotocol] ?? StompVersion.V1_2;
    this.id = connection.id;
    this.idPrefix = (++sessionCounter).toString(36) + '-';
    this.parser = createParser(this.version, broker.options.limits);
    connection.onDrain(() => this.onDrain());
  }

  /** Queues skip this session's consumers while its send buffer is full or it is not connected. */
  get writable(): boolean {
    return this.sendable && this.state === 'connected';
  }

  // ---------------------------------------------------------------- transport events

  onMessage(data: Uint8Array | string, _isBinary: boolean): void {
    if (this.state === 'closed') return;
    if (this.watchdog) this.lastReceived = this.context.clock.now();
    try {
      if (this.state === 'authenticating') {
        this.hold(data);
        return;
      }
      const result = this.parser.push(data);
      const frames = result.frames;
      for (let i = 0; i < frames.length; i++) {
        // `handle` may change the state (CONNECT, DISCONNECT, fail); re-read it each time.
        const state = this.state as State;
        if (state === 'closed') return;
        if (state === 'authenticating') {
          this.hold(frames[i]!);
          continue;
        }
        this.handle(frames[i]!);
      }
      if (result.fault && (this.state as State) !== 'closed') {
        // STOMP 1.2 "ERROR": "If the error is related to a specific frame sent from the client, the
        // server SHOULD add additional headers to help identify the original frame that caused the
        // error. For example, if the frame included a receipt header, the ERROR frame SHOULD set
        // the receipt-id header to match the value of the receipt header".
        const code = result.fault.kind === 'too-large' ? CloseCode.MessageTooBig : CloseCode.ProtocolError;
        this.fail(result.fault.message, code, result.fault.receipt);
      }
    } catch (error) {
      this.crashed(error);
    }
  }

  /** A bug, not bad input: log it and close with 1011; never let it reach the transport. */
  private crashed(error: unknown): void {
    try {
      this.context.log.error({ err: error }, 'stomp session failed');
      this.fail('Internal error', CloseCode.InternalError);
    } catch {
      // Nothing more can be done for this connection.
    }
  }

  onClose(_code: number, _reason: string): void {
    this.teardown();
  }

  // ---------------------------------------------------------------- dispatch

  private handle(frame: StompFrame): void {
    const command = frame.command;
    if (this.state === 'awaiting-connect') {
      // STOMP 1.2 "Connecting": "A STOMP client initiates the stream or TCP connection to the
      // server by sending the CONNECT frame"; anything else first is refused.
      if (command === ClientCommand.Connect || (command === ClientCommand.Stomp && this.version !== '1.0')) {
        const fault = this.invalid(frame);
        if (fault !== undefined) this.fail(fault, CloseCode.ProtocolError);
        else this.connect(frame);
      } else this.fail(`Expected CONNECT, got ${printable(command)}`, CloseCode.ProtocolError, frame.headers.receipt);
      return;
    }
    const fault = this.invalid(frame);
    if (fault !== undefined) {
      this.fail(fault, CloseCode.ProtocolError, frame.headers.receipt);
      return;
    }
    switch (command) {
      case ClientCommand.Send:
        if (this.inTransaction(frame)) break;
        this.send(frame);
        break;
      case ClientCommand.Subscribe:
        this.subscribe(frame);
        break;
      case ClientCommand.Unsubscribe:
        this.unsubscribe(frame);
        break;
      case ClientCommand.Ack:
        if (this.inTransaction(frame)) break;
        this.acknowledge(frame, true);
        break;
      case ClientCommand.Nack:
        // NACK exists from STOMP 1.1 on; a 1.0 session treats it as an unknown command.
        if (this.version === '1.0') {
          this.fail('Unknown command NACK', CloseCode.ProtocolError, frame.headers.receipt);
          break;
        }
        if (this.inTransaction(frame)) break;
        this.acknowledge(frame, false);
        break;
      case ClientCommand.Begin:
        this.begin(frame);
        break;
      case ClientCommand.Commit:
        this.commit(frame);
        break;
      case ClientCommand.Abort:
        this.abort(frame);
        break;
      case ClientCommand.Disconnect:
        this.disconnect(frame);
        return;
      case ClientCommand.Connect:
      case ClientCommand.Stomp:
        this.fail('Already connected', CloseCode.ProtocolError, frame.headers.receipt);
        return;
      default:
        this.fail(`Unknown command ${printable(command)}`, CloseCode.ProtocolError, frame.headers.receipt);
        return;
    }
    // STOMP 1.2 "Header receipt": "Any client frame other than CONNECT MAY specify a receipt
    // header with an arbitrary value. This will cause the server to acknowledge receipt of the
    // frame with a RECEIPT frame".
    const receipt = frame.headers.receipt;
    if (receipt !== undefined && this.state === 'connected') this.sendControl(ServerCommand.Receipt, { 'receipt-id': receipt });
  }

  /**
   * Checks the rules every client frame of a known command follows, before it is handled.
   * @returns the ERROR message when the frame breaks one, else undefined
   */
  private invalid(frame: StompFrame): string | undefined {
    const command = frame.command;
    if (!CLIENT_COMMANDS.has(command)) return undefined;
    // STOMP 1.2 "Body": "Only the SEND, MESSAGE, and ERROR frames MAY have a body. All other
    // frames MUST NOT have a body." (1.1 alike; 1.0 has no such rule, so a 1.0 body is ignored.)
    if (frame.body.length > 0 && this.version !== '1.0' && !BODY_COMMANDS.has(command)) return `${command} frame must not have a body`;
    // STOMP 1.2 "Frames and Headers": each client frame lists its REQUIRED headers (see REQUIRED_HEADERS).
    const required = REQUIRED_HEADERS[this.version][command];
    if (required) {
      for (const name of required) if (frame.headers[name] === undefined) return `Missing ${name} header`;
    }
    return undefined;
  }

  // ---------------------------------------------------------------- CONNECT

  private connect(frame: StompFrame): void {
    const h = frame.headers;
    // STOMP 1.2 "Protocol Negotiation": "If the accept-version header is missing, it means that
    // the client only supports version 1.0 of the protocol." The negotiated subprotocol fixes the
    // version; "If the client and server do not share any common protocol versions, then the
    // server MUST respond with an ERROR frame similar to: version:1.2,2.1 ... Supported protocol
    // versions are 1.2 2.1", then close.
    const accepted = h['accept-version'] === undefined ? ['1.0'] : h['accept-version'].split(',').map((v) => v.trim());
    if (!accepted.includes(this.version)) {
      this.fail(`Supported protocol versions are ${this.version}`, CloseCode.ProtocolError, undefined, { version: this.version });
      return;
    }
    // STOMP 1.2 "CONNECT or STOMP Frame": "STOMP 1.2 clients MUST set the following headers:
    // accept-version ... host". RabbitMQ and stompjs do without it, so only `requireHost` enforces it.
    if (this.broker.options.requireHost && this.version !== '1.0' && h.host === undefined) {
      this.fail('Missing host header', CloseCode.ProtocolError);
      return;
    }
    const hosts = this.broker.options.virtualHosts;
    if (hosts !== undefined) {
      const host = h.host ?? hosts[0];
      if (host === undefined || !hosts.includes(host)) {
        this.fail('Unknown virtual host', CloseCode.PolicyViolation);
        return;
      }
      this.vhost = host;
    }
    let clientSend = 0;
    let clientReceive = 0;
    // STOMP 1.2 "Heart-beating": heart-beat is "two positive integers separated by a comma";
    // 1.0 has no heart-beating.
    if (this.version !== '1.0' && h['heart-beat'] !== undefined) {
      const match = HEART_BEAT.exec(h['heart-beat']);
      if (!match) {
        this.fail('Invalid heart-beat header', CloseCode.ProtocolError);
        return;
      }
      clientSend = Number(match[1]);
      clientReceive = Number(match[2]);
    }
    const proceed = (allowed: boolean): void => {
      if (this.state === 'closed') return;
      if (!allowed) {
        this.fail('Access refused', CloseCode.PolicyViolation);
        return;
      }
      this.connected(clientSend, clientReceive);
    };
    const authenticate = this.broker.options.authenticate;
    if (!authenticate) {
      proceed(true);
      return;
    }
    const credentials: StompCredentials = { login: h.login, passcode: h.passcode, host: h.host, headers: h, connection: this.connection };
    let verdict: boolean | Promise<boolean>;
    try {
      verdict = authenticate(credentials);
    } catch {
      proceed(false);
      return;
    }
    if (typeof verdict === 'boolean') {
      proceed(verdict);
      return;
    }
    this.state = 'authenticating';
    Promise.resolve(verdict).then(
      (allowed) => {
        if (this.state !== 'authenticating') return;
        this.state = 'awaiting-connect';
        try {
          proceed(allowed === true);
          this.replay();
        } catch (error) {
          this.crashed(error);
        }
      },
      () => {
        if (this.state !== 'authenticating') return;
        this.state = 'awaiting-connect';
        try {
          proceed(false);
        } catch (error) {
          this.crashed(error);
        }
      },
    );
  }

  private connected(clientSend: number, clientReceive: number): void {
    this.state = 'connected';
    this.connectedAt = this.context.clock.now();
    this.broker.sessions.add(this);
    const { outgoing, incoming } = this.broker.options.heartBeat;
    const headers: Record<string, string> = { version: this.version, session: this.id, server: this.broker.options.serverName };
    if (this.version !== '1.0') headers['heart-beat'] = `${outgoing},${incoming}`;
    this.sendControl(ServerCommand.Connected, headers);
    if (this.version === '1.0') return;
    // STOMP 1.2 "Heart-beating": "heart-beats will be sent every MAX(sx,cy) milliseconds" by the
    // server when neither is 0; "if the receiver does not receive any new data within the
    // expected time frame, it SHOULD consider the connection as dead" (every MAX(cx,sy)).
    if (outgoing > 0 && clientReceive > 0) {
      const every = Math.max(outgoing, clientReceive);
      // Ticking at half the period keeps every gap below `every` without a timestamp per send.
      this.pinger = this.context.clock.setInterval(() => this.ping(), Math.max(1, Math.floor(every / 2)));
    }
    if (incoming > 0 && clientSend > 0) {
      const every = Math.max(incoming, clientSend);
      this.silenceAllowed = Math.ceil(every * this.broker.options.heartBeatTolerance);
      this.lastReceived = this.context.clock.now();
      this.watchdog = this.context.clock.setInterval(() => this.watch(), every);
    }
  }

  private ping(): void {
    if (!this.sentSinceTick) {
      this.sentSinceTick = true;
      this.connection.send(this.broker.options.binaryFrames ? LF_BYTES : '\n');
    }
    this.sentSinceTick = false;
  }

  /** Closes after more than `tolerance` periods without a byte: detected within one period after that. */
  private watch(): void {
    if (this.context.clock.now() - this.lastReceived <= this.silenceAllowed) return;
    this.fail('Heart-beat timeout', CloseCode.ProtocolError);
  }

  // ---------------------------------------------------------------- SEND

  private send(frame: StompFrame): void {
    const h = frame.headers;
    const destination = h.destination;
    // STOMP 1.2 "SEND": "The SEND frame MUST include a destination header".
    if (destination === undefined) {
      this.fail('Missing destination header', CloseCode.ProtocolError, h.receipt);
      return;
    }
    const target = parseDestination(destination);
    if (!target) {
      this.fail(`Unknown destination ${printable(destination)}`, CloseCode.ProtocolError, h.receipt);
      return;
    }
    const headers = this.userHeaders(h);
    const contentType = h['content-type'];
    switch (target.kind) {
      case 'topic': {
        const topic = toBusTopic(destination);
        if (topic === undefined) {
          this.fail(`Invalid topic destination ${printable(destination)}`, CloseCode.ProtocolError, h.receipt);
          return;
        }
        // Topics go through the bus only, so every subscriber (STOMP or not) gets each message once.
        const message: BusMessage = { topic, payload: frame.body, contentType, headers, origin: { protocol: 'stomp', connectionId: this.id }, qos: 0 };
        void this.context.bus.publish(message);
        return;
      }
      case 'queue': {
        const queue = this.broker.queues.get(this.vhost, destination);
        queue.enqueue({ destination, payload: frame.body, contentType, headers, redelivered: false });
        this.broker.queues.release(queue);
        return;
      }
      case 'temp-queue':
        this.deliverReply(target.name, { destination, payload: frame.body, contentType, headers, redelivered: false });
        return;
      case 'reply-queue': {
        // A reply to a temporary queue whose owner left is dropped, as RabbitMQ drops it.
        const owner = this.broker.replies.get(target.name);
        owner?.deliverReply(owner.localName, { destination, payload: frame.body, contentType, headers, redelivered: false });
        return;
      }
    }
  }

  /** SEND headers that travel to subscribers; `reply-to: /temp-queue/x` becomes this session's reply queue. */
  private userHeaders(h: Readonly<Record<string, string>>): Record<string, string> | undefined {
    let out: Record<string, string> | undefined;
    for (const name in h) {
      if (RESERVED_SEND_HEADERS.has(name)) continue;
      let value = h[name]!;
      if (name === 'reply-to' && value.startsWith(DestinationPrefix.TempQueue) && value.length > DestinationPrefix.TempQueue.length) {
        value = DestinationPrefix.ReplyQueue + this.tempQueue(value.slice(DestinationPrefix.TempQueue.length));
      }
      (out ??= {})[name] = value;
    }
    return out;
  }

  /** The `/reply-queue/` name of this session's temporary queue `local`, created on first use. */
  private tempQueue(local: string): string {
    let name = this.tempQueues.get(local);
    if (name === undefined) {
      // Beyond the cap the oldest temporary queue is forgotten rather than failing the SEND.
      if (this.subscriptions.size + this.tempQueues.size >= SessionLimit.Subscriptions) {
        const [oldestLocal, oldestName] = this.tempQueues.entries().next().value as [string, string];
        this.tempQueues.delete(oldestLocal);
        this.broker.replies.delete(oldestName);
      }
      // Unguessable, as RabbitMQ's `amq.gen-...` names are: only the requester's peers learn it.
      name = 'tmp-' + globalThis.crypto.randomUUID();
      this.tempQueues.set(local, name);
      this.broker.replies.set(name, { localName: local, deliverReply: (l, m) => this.deliverReply(l, m) });
    }
    return name;
  }

  // ---------------------------------------------------------------- SUBSCRIBE / UNSUBSCRIBE

  private subscribe(frame: StompFrame): void {
    const h = frame.headers;
    const destination = h.destination;
    // STOMP 1.2 "SUBSCRIBE": "The SUBSCRIBE frame MUST include a destination header" and "Since a
    // single connection can have multiple open subscriptions with a server, an id header MUST be
    // included in the frame to uniquely identify the subscription". STOMP 1.0 has no such MUST:
    // the destination stands in for a missing id (ActiveMQ's behaviour).
    if (destination === undefined) {
      this.fail('Missing destination header', CloseCode.ProtocolError, h.receipt);
      return;
    }
    const id = h.id ?? (this.version === '1.0' ? destination : undefined);
    if (id === undefined) {
      this.fail('Missing id header', CloseCode.ProtocolError, h.receipt);
      return;
    }
    if (this.subscriptions.has(id)) {
      this.fail('Duplicated subscription identifier', CloseCode.ProtocolError, h.receipt);
      return;
    }
    if (this.subscriptions.size + this.tempQueues.size >= SessionLimit.Subscriptions) {
      this.fail('Too many subscriptions', CloseCode.PolicyViolation, h.receipt);
      return;
    }
    const ack = (h.ack ?? AckMode.Auto) as AckMode;
    // STOMP 1.2 "SUBSCRIBE ack Header": "The valid values for the ack header are auto, client, or client-individual".
    if (ack !== AckMode.Auto && ack !== AckMode.Client && ack !== AckMode.ClientIndividual) {
      this.fail('Invalid ack header', CloseCode.ProtocolError, h.receipt);
      return;
    }
    const prefetchHeader = h['prefetch-count'];
    if (prefetchHeader !== undefined && !PREFETCH.test(prefetchHeader)) {
      this.fail('Invalid prefetch-count header', CloseCode.ProtocolError, h.receipt);
      return;
    }
    const prefetch = prefetchHeader === undefined ? 0 : Number(prefetchHeader);
    const target = parseDestination(destination);
    if (!target || target.kind === 'reply-queue') {
      this.fail(`Unknown destination ${printable(destination)}`, CloseCode.ProtocolError, h.receipt);
      return;
    }
    const sub: Subscription = {
      id,
      wireId: escapeHeader(id, this.version),
      destination,
      kind: target.kind,
      ackMode: ack,
      prefetch,
      unacked: new Map(),
    };
    switch (target.kind) {
      case 'topic': {
        const filter = toBusFilter(destination);
        if (filter === undefined) {
          this.fail(`Invalid topic destination ${printable(destination)}`, CloseCode.ProtocolError, h.receipt);
          return;
        }
        if (ack !== AckMode.Auto) {
          // A private queue, as RabbitMQ's per-subscription queue: messages beyond the unacked
          // limit wait in it (up to maxTopicBacklog, then the oldest is dropped), and NACK puts
          // them back for redelivery with redelivered:true.
          const queue = new Queue(this.id + '\n' + id, destination, this.broker.options.maxTopicBacklog);
          sub.queue = queue;
          sub.consumer = { owner: this, subscriptionId: id, ackMode: ack, prefetch: prefetch || this.broker.options.maxUnackedTopicMessages, unacked: 0 };
          queue.addConsumer(sub.consumer);
        }
        sub.bus = this.context.bus.subscribe(filter, (message) => this.deliverBus(sub, message));
        break;
      }
      case 'queue': {
        const queue = this.broker.queues.get(this.vhost, destination);
        sub.queue = queue;
        sub.consumer = { owner: this, subscriptionId: id, ackMode: ack, prefetch, unacked: 0 };
        this.subscriptions.set(id, sub);
        queue.addConsumer(sub.consumer);
        return;
      }
      case 'temp-queue':
        this.tempQueue(target.name);
        break;
    }
    this.subscriptions.set(id, sub);
  }

  private unsubscribe(frame: StompFrame): void {
    const h = frame.headers;
    let id = h.id;
    // STOMP 1.2 "UNSUBSCRIBE": "The UNSUBSCRIBE frame MUST include a id header"; STOMP 1.0 allows
    // the destination instead.
    if (id === undefined && this.version === '1.0' && h.destination !== undefined) {
      for (const sub of this.subscriptions.values()) if (sub.destination === h.destination) id = sub.id;
    }
    if (id === undefined) {
      this.fail('Missing id header', CloseCode.ProtocolError, h.receipt);
      return;
    }
    const sub = this.subscriptions.get(id);
    // STOMP 1.2 "UNSUBSCRIBE": the id header "MUST match the subscription identifier of an
    // existing subscription". RabbitMQ answers ERROR "No subscription found" too.
    if (!sub) {
      this.fail('No subscription found', CloseCode.ProtocolError, h.receipt);
      return;
    }
    this.dropSubscription(sub);
  }

  private dropSubscription(sub: Subscription): void {
    this.subscriptions.delete(sub.id);
    sub.bus?.unsubscribe();
    const requeue: QueuedMessage[] = [];
    for (const [messageId, delivery] of sub.unacked) {
      this.deliveries.delete(messageId);
      if (delivery.message) requeue.push(delivery.message);
    }
    sub.unacked.clear();
    const queue = sub.queue;
    // A topic subscription's own queue goes away with it; a shared queue takes back what was unacked.
    if (queue && sub.consumer && sub.kind === 'queue') {
      queue.removeConsumer(sub.consumer);
      // "a message unacked when its subscriber leaves ... is redelivered to another consumer with redelivered: true"
      if (requeue.length > 0) queue.requeue(requeue, sub.consumer);
      queue.dispatch();
      this.broker.queues.release(queue);
    }
  }

  // ---------------------------------------------------------------- delivery

  /** A bus message for a topic subscription. */
  private deliverBus(sub: Subscription, message: BusMessage): void {
    if (this.state !== 'connected') return;
    if (sub.queue) {
      // Client acks: through the subscription's own queue. `shared` lets every subscription of
      // this bus message reuse one encoding.
      sub.queue.enqueue({ destination: fromBusTopic(message.topic), payload: message.payload, contentType: message.contentType, headers: message.headers, redelivered: false, shared: message });
      return;
    }
    let slots = tails.get(message);
    if (!slots) tails.set(message, (slots = [undefined, undefined, undefined]));
    const slot = VERSION_SLOT[this.version];
    const tail = (slots[slot] ??= this.encodeTail(fromBusTopic(message.topic), message.contentType, message.headers, message.payload));
    this.emit(sub, tail, false, undefined);
  }

  /** A queue message for one of this session's queue consumers. */
  deliver(consumer: Consumer, message: QueuedMessage): void {
    const sub = this.subscriptions.get(consumer.subscriptionId);
    if (!sub || this.state !== 'connected') return;
    this.emit(sub, this.tailOf(message), message.redelivered, message);
  }

  /** A message for this session's temporary queue `local`. */
  deliverReply(local: string, message: QueuedMessage): void {
    if (this.state !== 'connected') return;
    let sub: Subscription | undefined;
    for (const candidate of this.subscriptions.values()) {
      if (candidate.kind === 'temp-queue' && candidate.destination === DestinationPrefix.TempQueue + local) sub = candidate;
    }
    const tail = this.tailOf({ ...message, destination: DestinationPrefix.TempQueue + local });
    if (sub) {
      this.emit(sub, tail, false, undefined);
      return;
    }
    // No explicit subscription: the temp-queue destination stands in as the subscription id;
    // stompjs hands such messages to `onUnhandledMessage`, where RabbitMQ users expect replies.
    const messageId = this.idPrefix + (++this.messageCounter).toString(36);
    const wire = escapeHeader(DestinationPrefix.TempQueue + local, this.version);
    this.emitRaw('MESSAGE\nsubscription:' + wire + '\nmessage-id:' + messageId + '\n', tail);
  }

  private tailOf(message: QueuedMessage): Tail {
    const key = message.shared ?? message;
    let slots = tails.get(key);
    if (!slots) tails.set(key, (slots = [undefined, undefined, undefined]));
    const slot = VERSION_SLOT[this.version];
    return (slots[slot] ??= this.encodeTail(message.destination, message.contentType, message.headers, message.payload));
  }

  private emit(sub: Subscription, tail: Tail, redelivered: boolean, message: QueuedMessage | undefined): void {
    const messageId = this.idPrefix + (++this.messageCounter).toString(36);
    // STOMP 1.2 "MESSAGE": "The MESSAGE frame MUST include a destination header", "MUST also
    // contain a message-id header", "MUST also contain a subscription header matching the
    // identifier of the subscription that is receiving the message", and "If the message is
    // received from a subscription that requires explicit acknowledgment (either client or
    // client-individual mode) then the MESSAGE frame MUST also contain an ack header".
    let prefix = 'MESSAGE\nsubscription:' + sub.wireId + '\nmessage-id:' + messageId + '\n';
    if (sub.ackMode !== AckMode.Auto) {
      if (this.version === '1.2') prefix += 'ack:' + messageId + '\n';
      const delivery: Delivery = message ? { subscription: sub, message } : { subscription: sub };
      sub.unacked.set(messageId, delivery);
      this.deliveries.set(messageId, delivery);
    }
    if (redelivered) prefix += 'redelivered:true\n';
    this.emitRaw(prefix, tail);
  }

  private emitRaw(prefix: string, tail: Tail): void {
    if (tail.text !== undefined && !this.broker.options.binaryFrames) this.out(prefix + tail.text);
    else this.out(joinFrame(prefix + tail.head, tail.body));
  }

  private encodeTail(destination: string, contentType: string | undefined, headers: Readonly<Record<string, string>> | undefined, body: Uint8Array): Tail {
    const v = this.version;
    let head = 'destination:' + escapeHeader(destination, v) + '\n';
    if (contentType !== undefined && (v !== '1.0' || !contentType.includes('\n'))) head += 'content-type:' + escapeHeader(contentType, v) + '\n';
    if (headers) {
      for (const name in headers) {
        // STOMP 1.2 "Augmented BNF": header-name = 1*<any OCTET ...>, so an empty name (possible
        // from other protocols on the bus) cannot be written.
        if (name.length === 0 || RESERVED_SEND_HEADERS.has(name) || name === 'redelivered') continue;
        const value = headers[name]!;
        // STOMP 1.0 has no escaping: a header that cannot be written is left out.
        if (v === '1.0' && (name.includes('\n') || name.includes(':') || value.includes('\n'))) continue;
        head += escapeHeader(name, v) + ':' + escapeHeader(value, v) + '\n';
      }
    }
    head += 'content-length:' + body.length + '\n\n';
    const buffer = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    // A frame whose body is not UTF-8 must travel as a binary WebSocket message: clients close
    // on a text message that is not UTF-8 (RFC 6455 §8.1).
    const text = isUtf8(buffer) ? head + buffer.toString('utf8') + '\0' : undefined;
    return { head, body, text };
  }

  // ---------------------------------------------------------------- ACK / NACK

  private acknowledge(frame: StompFrame, positive: boolean): void {
    const h = frame.headers;
    // STOMP 1.2 "ACK": "The ACK frame MUST include an id header matching the ack header of the
    // MESSAGE being acknowledged"; STOMP 1.1 "ACK": "MUST include a message-id header" (and a
    // subscription header); STOMP 1.0 "ACK": "the message-id header is required".
    const key = this.version === '1.2' ? 'id' : 'message-id';
    const messageId = h[key];
    if (messageId === undefined) {
      this.fail(`Missing ${key} header`, CloseCode.ProtocolError, h.receipt);
      return;
    }
    const delivery = this.deliveries.get(messageId);
    if (!delivery) {
      // RabbitMQ answers an unknown delivery tag with an error, too.
      this.fail(`Unknown message id ${printable(messageId)}`, CloseCode.ProtocolError, h.receipt);
      return;
    }
    const sub = delivery.subscription;
    // STOMP 1.1 "ACK": subscription "MUST be set to match the value of the subscription's id header".
    if (this.version === '1.1' && h.subscription !== sub.id) {
      this.fail(`Message ${printable(messageId)} is not from subscription ${printable(h.subscription ?? '')}`, CloseCode.ProtocolError, h.receipt);
      return;
    }
    const settled: Delivery[] = [];
    if (sub.ackMode === AckMode.Client) {
      // STOMP 1.2 "SUBSCRIBE ack Header": in client mode "the ACK operates cumulatively, the
      // client is acknowledging the specified message and all messages sent to the subscription
      // before the ACK'ed message"; NACK "takes the same headers and has the same semantics".
      for (const [id, d] of sub.unacked) {
        settled.push(d);
        this.deliveries.delete(id);
        sub.unacked.delete(id);
        if (id === messageId) break;
      }
    } else {
      settled.push(delivery);
      this.deliveries.delete(messageId);
      sub.unacked.delete(messageId);
    }
    const queue = sub.queue;
    const consumer = sub.consumer;
    if (!queue || !consumer) return;
    consumer.unacked -= settled.length;
    // RabbitMQ STOMP: a NACK with `requeue:false` discards the message instead of redelivering it.
    if (!positive && h.requeue !== 'false') {
      const requeue: QueuedMessage[] = [];
      for (const d of settled) if (d.message) requeue.push(d.message);
      queue.requeue(requeue, consumer);
    }
    queue.dispatch();
  }

  // ---------------------------------------------------------------- transactions

  /** Holds a SEND/ACK/NACK that names a transaction until COMMIT. @returns true when it was held (or failed). */
  private inTransaction(frame: StompFrame): boolean {
    const tx = frame.headers.transaction;
    if (tx === undefined) return false;
    const held = this.transactions.get(tx);
    if (!held) {
      this.fail(`Unknown transaction ${printable(tx)}`, CloseCode.ProtocolError, frame.headers.receipt);
      return true;
    }
    if (held.length >= SessionLimit.TransactionFrames) {
      this.fail('Too many frames in transaction', CloseCode.PolicyViolation, frame.headers.receipt);
      return true;
    }
    held.push(frame);
    return true;
  }

  private begin(frame: StompFrame): void {
    const tx = frame.headers.transaction;
    // STOMP 1.2 "BEGIN": "The transaction header is REQUIRED".
    if (tx === undefined) {
      this.fail('Missing transaction header', CloseCode.ProtocolError, frame.headers.receipt);
      return;
    }
    if (this.transactions.has(tx)) {
      this.fail(`Transaction ${printable(tx)} already started`, CloseCode.ProtocolError, frame.headers.receipt);
      return;
    }
    if (this.transactions.size >= SessionLimit.Transactions) {
      this.fail('Too many open transactions', CloseCode.PolicyViolation, frame.headers.receipt);
      return;
    }
    this.transactions.set(tx, []);
  }

  private commit(frame: StompFrame): void {
    const tx = frame.headers.transaction;
    if (tx === undefined) {
      this.fail('Missing transaction header', CloseCode.ProtocolError, frame.headers.receipt);
      return;
    }
    const held = this.transactions.get(tx);
    if (!held) {
      this.fail(`Unknown transaction ${printable(tx)}`, CloseCode.ProtocolError, frame.headers.receipt);
      return;
    }
    this.transactions.delete(tx);
    for (const f of held) {
      if (this.state !== 'connected') return;
      if (f.command === ClientCommand.Send) this.send(f);
      else this.acknowledge(f, f.command === ClientCommand.Ack);
    }
  }

  private abort(frame: StompFrame): void {
    const tx = frame.headers.transaction;
    if (tx === undefined) {
      this.fail('Missing transaction header', CloseCode.ProtocolError, frame.headers.receipt);
      return;
    }
    // STOMP 1.2 "ABORT": "ABORT is used to roll back a transaction in progress".
    if (!this.transactions.delete(tx)) this.fail(`Unknown transaction ${printable(tx)}`, CloseCode.ProtocolError, frame.headers.receipt);
  }

  // ---------------------------------------------------------------- DISCONNECT and failure

  private disconnect(frame: StompFrame): void {
    // STOMP 1.2 "DISCONNECT": the client asks for a receipt, "the server ... will send a RECEIPT
    // frame", then the connection closes.
    const receipt = frame.headers.receipt;
    if (receipt !== undefined) this.sendControl(ServerCommand.Receipt, { 'receipt-id': receipt });
    this.teardown();
    this.connection.close(CloseCode.NormalClosure, 'DISCONNECT');
  }

  /**
   * The one exit path for errors. STOMP 1.2 "ERROR": "If the server cannot successfully process
   * the frame it MUST send an ERROR frame to the client, then close the connection" ; "The ERROR
   * frame SHOULD contain a message header with a short description of the error".
   */
  private fail(message: string, code: number, receipt?: string, extra?: Record<string, string>): void {
    if (this.state === 'closed') return;
    const headers: Record<string, string> = { message: this.version === '1.0' ? message.replace(/\n/g, ' ') : message };
    if (receipt !== undefined) headers['receipt-id'] = receipt;
    if (extra) Object.assign(headers, extra);
    headers['content-type'] = 'text/plain';
    const body = Buffer.from(message, 'utf8');
    headers['content-length'] = String(body.length);
    const head = encodeHead(ServerCommand.Error, headers, this.version);
    this.out(this.broker.options.binaryFrames ? joinFrame(head, body) : head + message + '\0');
    this.context.metrics.increment('stomp_errors_total', { close_code: String(code) });
    this.context.log.debug({ code, message }, 'stomp ERROR sent; closing');
    this.teardown();
    this.connection.close(code, limitReason(message));
  }

  /** Releases subscriptions, timers, transactions and temporary queues. Idempotent. */
  private teardown(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.broker.sessions.delete(this);
    this.pinger?.cancel();
    this.watchdog?.cancel();
    this.pinger = this.watchdog = undefined;
    // STOMP 1.2 "BEGIN": "any started transactions which have not been committed will be implicitly aborted".
    this.transactions.clear();
    for (const sub of [...this.subscriptions.values()]) this.dropSubscription(sub);
    for (const name of this.tempQueues.values()) this.broker.replies.delete(name);
    this.tempQueues.clear();
    this.backlog = [];
  }

  // ---------------------------------------------------------------- output

  private sendControl(command: string, headers: Record<string, string>): void {
    const head = encodeHead(command, headers, this.version);
    this.out(this.broker.options.binaryFrames ? Buffer.from(head + '\0', 'utf8') : head + '\0');
  }

  private out(data: string | Uint8Array): void {
    this.sentSinceTick = true;
    if (!this.connection.send(data)) this.sendable = false;
  }

  private onDrain(): void {
    if (this.state === 'closed') return;
    this.sendable = true;
    for (const sub of this.subscriptions.values()) sub.queue?.dispatch();
  }

  // ---------------------------------------------------------------- asynchronous authenticate

  private hold(item: StompFrame | Uint8Array | string): void {
    if (this.backlog.length >= MAX_BACKLOG) {
      this.fail('Too many frames before CONNECTED', CloseCode.PolicyViolation);
      return;
    }
    this.backlog.push(item);
  }

  private replay(): void {
    const backlog = this.backlog;
    this.backlog = [];
    for (const item of backlog) {
      if (this.state === 'closed') return;
      if (typeof item === 'string' || item instanceof Uint8Array) this.onMessage(item, typeof item !== 'string');
      else this.handle(item);
    }
  }

  // ---------------------------------------------------------------- stats

  stats(): SessionStats {
    const subscriptions: SessionStats['subscriptions'] = [];
    for (const sub of this.subscriptions.values()) subscriptions.push({ id: sub.id, destination: sub.destination, ack: sub.ackMode });
    return { id: this.id, version: this.version, connectedAt: this.connectedAt, subscriptions };
  }

  /** Subscriptions by destination, for the broker's destination list. */
  *subscriptionList(): Generator<{ destination: string; kind: 'topic' | 'queue' | 'temp-queue'; backlog: number }> {
    // A topic subscription's backlog is what waits in its own queue; shared queues count themselves.
    for (const sub of this.subscriptions.values()) yield { destination: sub.destination, kind: sub.kind, backlog: sub.kind === 'topic' ? (sub.queue?.ready ?? 0) : 0 };
  }

  /** This session's temporary queues by local name. */
  tempQueueNames(): IterableIterator<string> {
    return this.tempQueues.keys();
  }
}

/** Commands and ids in error messages: printable ASCII, at most 40 characters. */
function printable(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 40 ? clean.slice(0, 40) + '...' : clean;
}

/** RFC 6455 §5.5: a close reason fits in 123 bytes of UTF-8. */
function limitReason(reason: string): string {
  let out = reason;
  while (closeReasonByteLength(out) > 123) out = out.slice(0, -1);
  return out;
}
