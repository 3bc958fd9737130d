/**
 * The STOMP session: one state machine per WebSocket connection, behind `open(conn, ctx)`. One
 * dispatch `switch` on the frame command. Handlers throw `ProtocolError`; one catch per entry
 * point hands it to `fail()`, the one exit path, which sends ERROR and closes.
 *
 * @see https://stomp.github.io/stomp-specification-1.2.html
 */
import { Buffer } from 'node:buffer';
import { CloseCode, limitCloseReason, toProtocolError, type AdapterContext, type Connection, type MessageOrigin, type ProtocolError, type Session, type Watched } from '@protoplex/core';
import type { Broker, TopicEntry } from './broker.js';
import { createParser, encodeHead, escapeHeader, joinFrame, type StompFrame, type StompParser } from './codec.js';
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
import { printable, stompError, type StompFault } from './errors.js';
import { Queue, type Consumer, type ConsumerOwner, type QueuedMessage } from './queues.js';
import { acceptedVersions } from './recognize.js';
import { parseDestination, toBusFilter, toBusTopic } from './topics.js';
import { Transactions } from './transactions.js';
import { encodeTail, heartBeatFrame, messageFrame, messageHead, tailOf, type MessageContent, type Tail } from './wire.js';

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
  /** Set for a `/topic/` subscription: its place in the adapter's topic index. */
  topic?: TopicEntry;
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

const HEART_BEAT = /^\s*(\d{1,9})\s*,\s*(\d{1,9})\s*$/;
const PREFETCH = /^\d{1,9}$/;
/** Frames held while an asynchronous `authenticate` runs; more is a misbehaving client. */
const MAX_BACKLOG = 64;
const CLIENT_COMMANDS: ReadonlySet<string> = new Set(Object.values(ClientCommand));

let sessionCounter = 0;

export class StompSession implements Session, ConsumerOwner, Watched {
  readonly version: StompVersion;
  readonly id: string;
  connectedAt = 0;

  private state: State = 'awaiting-connect';
  private sendable = true;
  private readonly parser: StompParser;
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly deliveries = new Map<string, Delivery>();
  private readonly transactions = new Transactions();
  /** Local temp-queue name to its `/reply-queue/` name. */
  private readonly tempQueues = new Map<string, string>();
  private readonly origin: MessageOrigin;
  private vhost = '/';
  private messageCounter = 0;
  private readonly idPrefix: string;
  /** How often the server sends a heart-beat when idle, MAX(sx, cy); 0 when it sends none. */
  private sendEvery = 0;
  /** Clock time of the last message sent, kept while `sendEvery` is set. */
  private lastSent = 0;
  /** How long the client may stay silent, MAX(cx, sy) times the tolerance; 0 when unwatched. */
  private silenceAllowed = 0;
  /** Clock time of the last message from the client, kept while `silenceAllowed` is set. */
  private lastReceived = 0;
  private backlog: Array<StompFrame | Uint8Array | string> = [];

  constructor(
    private readonly connection: Connection,
    private readonly context: AdapterContext,
    private readonly broker: Broker,
  ) {
    this.version = VERSION_OF_SUBPROTOCOL[connection.protocol as StompSubprotocol] ?? StompVersion.V1_2;
    this.id = connection.id;
    this.origin = { protocol: 'stomp', connectionId: connection.id };
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
    if (this.silenceAllowed > 0) this.lastReceived = this.context.clock.now();
    try {
      if (this.state === 'authenticating') {
        this.hold(data);
        return;
      }
      const result = this.parser.push(data);
      const frames = result.frames;
      for (let i = 0; i < frames.length; i++) {
        // `handle` may change the state (CONNECT, DISCONNECT); re-read it each time.
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
        throw stompError(code, result.fault.message, result.fault.receipt);
      }
    } catch (error) {
      this.fail(toProtocolError(error, this.context.log));
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
        this.check(frame, undefined);
        this.connect(frame);
      } else throw stompError(CloseCode.ProtocolError, `Expected CONNECT, got ${printable(command)}`, frame.headers.receipt);
      return;
    }
    this.check(frame, frame.headers.receipt);
    switch (command) {
      case ClientCommand.Send:
        if (!this.transactions.hold(frame)) this.send(frame);
        break;
      case ClientCommand.Subscribe:
        this.subscribe(frame);
        break;
      case ClientCommand.Unsubscribe:
        this.unsubscribe(frame);
        break;
      case ClientCommand.Ack:
        if (!this.transactions.hold(frame)) this.acknowledge(frame, true);
        break;
      case ClientCommand.Nack:
        // NACK exists from STOMP 1.1 on; a 1.0 session treats it as an unknown command.
        if (this.version === '1.0') throw stompError(CloseCode.ProtocolError, 'Unknown command NACK', frame.headers.receipt);
        if (!this.transactions.hold(frame)) this.acknowledge(frame, false);
        break;
      case ClientCommand.Begin:
        this.transactions.begin(frame);
        break;
      case ClientCommand.Commit:
        for (const held of this.transactions.commit(frame)) {
          if (this.state !== 'connected') return;
          if (held.command === ClientCommand.Send) this.send(held);
          else this.acknowledge(held, held.command === ClientCommand.Ack);
        }
        break;
      case ClientCommand.Abort:
        this.transactions.abort(frame);
        break;
      case ClientCommand.Disconnect:
        this.disconnect(frame);
        return;
      case ClientCommand.Connect:
      case ClientCommand.Stomp:
        throw stompError(CloseCode.ProtocolError, 'Already connected', frame.headers.receipt);
      default:
        throw stompError(CloseCode.ProtocolError, `Unknown command ${printable(command)}`, frame.headers.receipt);
    }
    // STOMP 1.2 "Header receipt": "Any client frame other than CONNECT MAY specify a receipt
    // header with an arbitrary value. This will cause the server to acknowledge receipt of the
    // frame with a RECEIPT frame".
    const receipt = frame.headers.receipt;
    if (receipt !== undefined && this.state === 'connected') this.sendControl(ServerCommand.Receipt, { 'receipt-id': receipt });
  }

  /**
   * Checks the rules every client frame of a known command follows, before it is handled.
   * @throws ProtocolError (1002) when the frame breaks one
   */
  private check(frame: StompFrame, receipt: string | undefined): void {
    const command = frame.command;
    if (!CLIENT_COMMANDS.has(command)) return;
    // STOMP 1.2 "Body": "Only the SEND, MESSAGE, and ERROR frames MAY have a body. All other
    // frames MUST NOT have a body." (1.1 alike; 1.0 has no such rule, so a 1.0 body is ignored.)
    if (frame.body.length > 0 && this.version !== '1.0' && !BODY_COMMANDS.has(command)) {
      throw stompError(CloseCode.ProtocolError, `${command} frame must not have a body`, receipt);
    }
    // STOMP 1.2 "Frames and Headers": each client frame lists its REQUIRED headers (see REQUIRED_HEADERS).
    const required = REQUIRED_HEADERS[this.version][command];
    if (required) {
      for (const name of required) if (frame.headers[name] === undefined) throw stompError(CloseCode.ProtocolError, `Missing ${name} header`, receipt);
    }
  }

  // ---------------------------------------------------------------- CONNECT

  private connect(frame: StompFrame): void {
    const h = frame.headers;
    // STOMP 1.2 "Protocol Negotiation": "If the accept-version header is missing, it means that
    // the client only supports version 1.0 of the protocol." The negotiated subprotocol fixes the
    // version; "If the client and server do not share any common protocol versions, then the
    // server MUST respond with an ERROR frame similar to: version:1.2,2.1 ... Supported protocol
    // versions are 1.2 2.1", then close.
    if (!acceptedVersions(h['accept-version']).includes(this.version)) {
      throw stompError(CloseCode.ProtocolError, `Supported protocol versions are ${this.version}`, undefined, { version: this.version });
    }
    // STOMP 1.2 "CONNECT or STOMP Frame": "STOMP 1.2 clients MUST set the following headers:
    // accept-version ... host". RabbitMQ and stompjs do without it, so only `requireHost` enforces it.
    if (this.broker.options.requireHost && this.version !== '1.0' && h.host === undefined) {
      throw stompError(CloseCode.ProtocolError, 'Missing host header');
    }
    const hosts = this.broker.options.virtualHosts;
    if (hosts !== undefined) {
      const host = h.host ?? hosts[0];
      if (host === undefined || !hosts.includes(host)) throw stompError(CloseCode.PolicyViolation, 'Unknown virtual host');
      this.vhost = host;
    }
    let clientSend = 0;
    let clientReceive = 0;
    // STOMP 1.2 "Heart-beating": heart-beat is "two positive integers separated by a comma";
    // 1.0 has no heart-beating.
    if (this.version !== '1.0' && h['heart-beat'] !== undefined) {
      const match = HEART_BEAT.exec(h['heart-beat']);
      if (!match) throw stompError(CloseCode.ProtocolError, 'Invalid heart-beat header');
      clientSend = Number(match[1]);
      clientReceive = Number(match[2]);
    }
    const refused = (): ProtocolError<StompFault> => stompError(CloseCode.PolicyViolation, 'Access refused');
    const authenticate = this.broker.options.authenticate;
    if (!authenticate) {
      this.connected(clientSend, clientReceive);
      return;
    }
    const credentials: StompCredentials = { login: h.login, passcode: h.passcode, host: h.host, headers: h, connection: this.connection };
    let verdict: boolean | Promise<boolean>;
    try {
      verdict = authenticate(credentials);
    } catch {
      throw refused();
    }
    if (typeof verdict === 'boolean') {
      if (!verdict) throw refused();
      this.connected(clientSend, clientReceive);
      return;
    }
    this.state = 'authenticating';
    Promise.resolve(verdict)
      .then(
        (allowed) => {
          if (this.state !== 'authenticating') return;
          this.state = 'awaiting-connect';
          if (allowed !== true) throw refused();
          this.connected(clientSend, clientReceive);
          this.replay();
        },
        () => {
          if (this.state !== 'authenticating') return;
          this.state = 'awaiting-connect';
          throw refused();
        },
      )
      .then(undefined, (error: unknown) => this.fail(toProtocolError(error, this.context.log)));
  }

  private connected(clientSend: number, clientReceive: number): void {
    this.state = 'connected';
    const now = this.context.clock.now();
    this.connectedAt = now;
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
      this.sendEvery = Math.max(outgoing, clientReceive);
      this.lastSent = now;
    }
    if (incoming > 0 && clientSend > 0) {
      this.silenceAllowed = Math.ceil(Math.max(incoming, clientSend) * this.broker.options.heartBeatTolerance);
      this.lastReceived = now;
    }
    if (this.sendEvery > 0 || this.silenceAllowed > 0) this.broker.watch(this);
  }

  /**
   * Heart-beats, visited by the adapter's sweep every `broker.tick` ms: an EOL goes out at the
   * last visit before the gap since the last message sent would exceed `sendEvery`, and a client
   * silent for more than `silenceAllowed` is closed, seen within one tick after that.
   */
  checkDeadlines(now: number): void {
    if (this.state !== 'connected') return;
    try {
      if (this.silenceAllowed > 0 && now - this.lastReceived > this.silenceAllowed) throw stompError(CloseCode.ProtocolError, 'Heart-beat timeout');
      if (this.sendEvery > 0 && now - this.lastSent + this.broker.tick > this.sendEvery) {
        this.lastSent = now;
        this.connection.send(heartBeatFrame(this.broker.options.binaryFrames));
      }
    } catch (error) {
      this.fail(toProtocolError(error, this.context.log));
    }
  }

  // ---------------------------------------------------------------- SEND

  private send(frame: StompFrame): void {
    const h = frame.headers;
    const destination = h.destination;
    // STOMP 1.2 "SEND": "The SEND frame MUST include a destination header".
    if (destination === undefined) throw stompError(CloseCode.ProtocolError, 'Missing destination header', h.receipt);
    const target = parseDestination(destination);
    if (!target) throw stompError(CloseCode.ProtocolError, `Unknown destination ${printable(destination)}`, h.receipt);
    const headers = this.userHeaders(h);
    const contentType = h['content-type'];
    switch (target.kind) {
      case 'topic': {
        const topic = toBusTopic(destination);
        if (topic === undefined) throw stompError(CloseCode.ProtocolError, `Invalid topic destination ${printable(destination)}`, h.receipt);
        // Every STOMP subscriber gets it once through the adapter's index; other protocols get it
        // through the bus, which is asked only when somebody there wants the topic.
        this.broker.publish(topic, { destination, payload: frame.body, contentType, headers }, this.origin);
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
    if (destination === undefined) throw stompError(CloseCode.ProtocolError, 'Missing destination header', h.receipt);
    const id = h.id ?? (this.version === '1.0' ? destination : undefined);
    if (id === undefined) throw stompError(CloseCode.ProtocolError, 'Missing id header', h.receipt);
    if (this.subscriptions.has(id)) throw stompError(CloseCode.ProtocolError, 'Duplicated subscription identifier', h.receipt);
    if (this.subscriptions.size + this.tempQueues.size >= SessionLimit.Subscriptions) throw stompError(CloseCode.PolicyViolation, 'Too many subscriptions', h.receipt);
    const ack = (h.ack ?? AckMode.Auto) as AckMode;
    // STOMP 1.2 "SUBSCRIBE ack Header": "The valid values for the ack header are auto, client, or client-individual".
    if (ack !== AckMode.Auto && ack !== AckMode.Client && ack !== AckMode.ClientIndividual) throw stompError(CloseCode.ProtocolError, 'Invalid ack header', h.receipt);
    const prefetchHeader = h['prefetch-count'];
    if (prefetchHeader !== undefined && !PREFETCH.test(prefetchHeader)) throw stompError(CloseCode.ProtocolError, 'Invalid prefetch-count header', h.receipt);
    const prefetch = prefetchHeader === undefined ? 0 : Number(prefetchHeader);
    const target = parseDestination(destination);
    if (!target || target.kind === 'reply-queue') throw stompError(CloseCode.ProtocolError, `Unknown destination ${printable(destination)}`, h.receipt);
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
        if (filter === undefined) throw stompError(CloseCode.ProtocolError, `Invalid topic destination ${printable(destination)}`, h.receipt);
        if (ack !== AckMode.Auto) {
          // A private queue, as RabbitMQ's per-subscription queue: messages beyond the unacked
          // limit wait in it (up to maxTopicBacklog, then the oldest is dropped), and NACK puts
          // them back for redelivery with redelivered:true.
          const queue = new Queue(this.id + '\n' + id, destination, this.broker.options.maxTopicBacklog);
          sub.queue = queue;
          sub.consumer = { owner: this, subscriptionId: id, ackMode: ack, prefetch: prefetch || this.broker.options.maxUnackedTopicMessages, unacked: 0 };
          queue.addConsumer(sub.consumer);
        }
        sub.topic = this.broker.subscribe(filter, (message) => this.deliverTopic(sub, message));
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
    if (id === undefined) throw stompError(CloseCode.ProtocolError, 'Missing id header', h.receipt);
    const sub = this.subscriptions.get(id);
    // STOMP 1.2 "UNSUBSCRIBE": the id header "MUST match the subscription identifier of an
    // existing subscription". RabbitMQ answers ERROR "No subscription found" too.
    if (!sub) throw stompError(CloseCode.ProtocolError, 'No subscription found', h.receipt);
    this.dropSubscription(sub);
  }

  private dropSubscription(sub: Subscription): void {
    this.subscriptions.delete(sub.id);
    if (sub.topic) this.broker.unsubscribe(sub.topic);
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

  /** A topic message (a STOMP SEND or a bus message) for one of this session's topic subscriptions. */
  private deliverTopic(sub: Subscription, message: MessageContent): void {
    if (this.state !== 'connected') return;
    try {
      if (sub.queue) {
        // Client acks: through the subscription's own queue. `shared` lets every subscription of
        // this message reuse one encoding.
        sub.queue.enqueue({ destination: message.destination, payload: message.payload, contentType: message.contentType, headers: message.headers, redelivered: false, shared: message.shared ?? message });
        return;
      }
      this.emit(sub, tailOf(message, this.version), false, undefined);
    } catch (error) {
      // Another session is delivering: a bug here ends this session, not the publisher's.
      this.fail(toProtocolError(error, this.context.log));
    }
  }

  /** A queue message for one of this session's queue consumers. */
  deliver(consumer: Consumer, message: QueuedMessage): void {
    const sub = this.subscriptions.get(consumer.subscriptionId);
    if (!sub || this.state !== 'connected') return;
    // A queue message goes to one consumer: encoding it once, here, costs less than keeping its
    // encoding in the shared cache (a WeakMap entry per message, which the collector must trace).
    // Messages shared by several subscriptions (a topic with client acks) still use the cache.
    this.emit(sub, message.shared === undefined ? encodeTail(message, this.version) : tailOf(message, this.version), message.redelivered, message);
  }

  /** A message for this session's temporary queue `local`. */
  deliverReply(local: string, message: QueuedMessage): void {
    if (this.state !== 'connected') return;
    const destination = DestinationPrefix.TempQueue + local;
    let sub: Subscription | undefined;
    for (const candidate of this.subscriptions.values()) {
      if (candidate.kind === 'temp-queue' && candidate.destination === destination) sub = candidate;
    }
    // One receiver: nothing to share, so no cached encoding.
    const tail = encodeTail({ ...message, destination }, this.version);
    if (sub) {
      this.emit(sub, tail, false, undefined);
      return;
    }
    // No explicit subscription: the temp-queue destination stands in as the subscription id;
    // stompjs hands such messages to `onUnhandledMessage`, where RabbitMQ users expect replies.
    const head = messageHead(escapeHeader(destination, this.version), this.nextMessageId(), undefined, false);
    this.out(messageFrame(head, tail, this.broker.options.binaryFrames));
  }

  private emit(sub: Subscription, tail: Tail, redelivered: boolean, message: QueuedMessage | undefined): void {
    const messageId = this.nextMessageId();
    // STOMP 1.2 "MESSAGE": "The MESSAGE frame MUST include a destination header", "MUST also
    // contain a message-id header", "MUST also contain a subscription header matching the
    // identifier of the subscription that is receiving the message", and "If the message is
    // received from a subscription that requires explicit acknowledgment (either client or
    // client-individual mode) then the MESSAGE frame MUST also contain an ack header".
    let ack: string | undefined;
    if (sub.ackMode !== AckMode.Auto) {
      if (this.version === '1.2') ack = messageId;
      const delivery: Delivery = message ? { subscription: sub, message } : { subscription: sub };
      sub.unacked.set(messageId, delivery);
      this.deliveries.set(messageId, delivery);
    }
    this.out(messageFrame(messageHead(sub.wireId, messageId, ack, redelivered), tail, this.broker.options.binaryFrames));
  }

  private nextMessageId(): string {
    return this.idPrefix + (++this.messageCounter).toString(36);
  }

  // ---------------------------------------------------------------- ACK / NACK

  private acknowledge(frame: StompFrame, positive: boolean): void {
    const h = frame.headers;
    // STOMP 1.2 "ACK": "The ACK frame MUST include an id header matching the ack header of the
    // MESSAGE being acknowledged"; STOMP 1.1 "ACK": "MUST include a message-id header" (and a
    // subscription header); STOMP 1.0 "ACK": "the message-id header is required".
    const key = this.version === '1.2' ? 'id' : 'message-id';
    const messageId = h[key];
    if (messageId === undefined) throw stompError(CloseCode.ProtocolError, `Missing ${key} header`, h.receipt);
    const delivery = this.deliveries.get(messageId);
    // RabbitMQ answers an unknown delivery tag with an error, too.
    if (!delivery) throw stompError(CloseCode.ProtocolError, `Unknown message id ${printable(messageId)}`, h.receipt);
    const sub = delivery.subscription;
    // STOMP 1.1 "ACK": subscription "MUST be set to match the value of the subscription's id header".
    if (this.version === '1.1' && h.subscription !== sub.id) {
      throw stompError(CloseCode.ProtocolError, `Message ${printable(messageId)} is not from subscription ${printable(h.subscription ?? '')}`, h.receipt);
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
  private fail(error: ProtocolError<StompFault>): void {
    if (this.state === 'closed') return;
    const message = error.message;
    const headers: Record<string, string> = { message: this.version === '1.0' ? message.replace(/\n/g, ' ') : message };
    if (error.detail?.receipt !== undefined) headers['receipt-id'] = error.detail.receipt;
    if (error.detail?.headers) Object.assign(headers, error.detail.headers);
    headers['content-type'] = 'text/plain';
    const body = Buffer.from(message, 'utf8');
    headers['content-length'] = String(body.length);
    const head = encodeHead(ServerCommand.Error, headers, this.version);
    this.out(this.broker.options.binaryFrames ? joinFrame(head, body) : head + message + '\0');
    this.context.metrics.increment('stomp_errors_total', { close_code: String(error.closeCode) });
    this.context.log.debug({ code: error.closeCode, message }, 'stomp ERROR sent; closing');
    this.teardown();
    this.connection.close(error.closeCode, limitCloseReason(message));
  }

  /** Releases subscriptions, heart-beats, transactions and temporary queues. Idempotent. */
  private teardown(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.broker.sessions.delete(this);
    this.broker.unwatch(this);
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
    if (this.sendEvery > 0) this.lastSent = this.context.clock.now();
    if (!this.connection.send(data)) this.sendable = false;
  }

  private onDrain(): void {
    if (this.state === 'closed') return;
    this.sendable = true;
    for (const sub of this.subscriptions.values()) sub.queue?.dispatch();
  }

  // ---------------------------------------------------------------- asynchronous authenticate

  private hold(item: StompFrame | Uint8Array | string): void {
    if (this.backlog.length >= MAX_BACKLOG) throw stompError(CloseCode.PolicyViolation, 'Too many frames before CONNECTED');
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
