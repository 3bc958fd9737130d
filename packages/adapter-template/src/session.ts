/**
 * One connection of the `lines` protocol: one dispatch switch, one exit path. Handlers throw a
 * `ProtocolError<LinesFault>` for whatever ends the connection; the one catch in `onMessage`
 * hands it to `fail`, which answers `ERR` and closes. Refusals that keep the connection open
 * (a bad topic, one subscription too many) are ordinary replies.
 */
import {
  CloseCode,
  ProtocolError,
  isValidTopicFilter,
  isValidTopicName,
  limitCloseReason,
  toProtocolError,
  type AdapterContext,
  type Connection,
  type Session,
} from '@protoplex/core';
import { formatReply, parseCommand, type Reply } from './codec.js';
import { ErrorCode, MetricName, Verb, type LinesFault } from './constants.js';
import type { LinesHub, Subscriber, Subscription } from './hub.js';

export interface LinesSessionOptions {
  readonly maxSubscriptions: number;
  /** 0: never. */
  readonly idleTimeoutMs: number;
  readonly maxQueuedMessages: number;
}

export class LinesSession implements Session, Subscriber {
  /** Client filter as written (`room.*`) -> its subscription in the hub. */
  private readonly subscriptions = new Map<string, Subscription>();
  private lastCommandAt: number;

  constructor(
    private readonly connection: Connection,
    private readonly context: AdapterContext,
    private readonly hub: LinesHub,
    private readonly options: LinesSessionOptions,
  ) {
    this.lastCommandAt = context.clock.now();
    connection.onDrain(() => this.flush());
    hub.opened(this);
  }

  get id(): string {
    return this.connection.id;
  }

  onMessage(data: Uint8Array | string, isBinary: boolean): void {
    try {
      this.handle(data, isBinary);
    } catch (error) {
      // Nothing may escape onMessage (Session contract). A ProtocolError ends the connection as
      // it says; anything else is a bug, logged, and closes this connection only, with 1011.
      this.fail(toProtocolError<LinesFault>(error, this.context.log));
    }
  }

  onClose(): void {
    this.hub.closed(this);
    for (const subscription of this.subscriptions.values()) this.hub.unsubscribe(subscription);
    this.subscriptions.clear();
    this.backlog.length = 0;
  }

  /** Called by the hub's sweep, about once a second: the idle timeout, without a timer of our own. */
  checkDeadlines(now: number): void {
    // [LINES-5] no command for idleTimeoutMs: ERR idle, then close. RFC 6455 §7.4.1: 1008
    // "indicates that an endpoint is terminating the connection because it has received a
    // message that violates its policy" (here: silence longer than the server allows).
    if (now - this.lastCommandAt < this.options.idleTimeoutMs) return;
    this.fail(
      new ProtocolError<LinesFault>(CloseCode.PolicyViolation, `no command for ${this.options.idleTimeoutMs} ms`, {
        detail: { code: ErrorCode.Idle },
      }),
    );
  }

  private handle(data: Uint8Array | string, isBinary: boolean): void {
    // `data` is a string exactly when `isBinary` is false (Session contract), so testing the type
    // tests both and lets TypeScript narrow `data`.
    if (isBinary || typeof data !== 'string') {
      // [LINES-1] text messages only. RFC 6455 §7.4.1: 1003 "indicates that an endpoint is
      // terminating the connection because it has received a type of data it cannot accept
      // (e.g., an endpoint that understands only text data MAY send this if it receives a
      // binary message)".
      throw new ProtocolError<LinesFault>(CloseCode.UnsupportedData, 'text messages only', {
        detail: { code: ErrorCode.BinaryNotSupported },
      });
    }
    this.lastCommandAt = this.context.clock.now();
    const parsed = parseCommand(data);
    if (!parsed.ok) {
      // [LINES-2] a message that is not a command: ERR bad-command, then close. RFC 6455 §7.4.1:
      // 1002 "indicates that an endpoint is terminating the connection due to a protocol error".
      throw new ProtocolError<LinesFault>(CloseCode.ProtocolError, parsed.error, { detail: { code: ErrorCode.BadCommand } });
    }
    const command = parsed.command;
    switch (command.verb) {
      case Verb.Ping:
        return this.reply({ type: 'PONG' });
      case Verb.Echo:
        return this.reply({ type: 'ECHO', text: command.text });
      case Verb.Sub:
        return this.subscribe(command.filter);
      case Verb.Unsub:
        return this.unsubscribe(command.filter);
      case Verb.Pub:
        return this.publish(command.topic, command.payload);
    }
  }

  private subscribe(filter: string): void {
    const canonical = this.hub.topics.toBus(filter);
    // [LINES-3] `#` only as the last level; a filter that does not map is refused, the
    // connection stays open.
    if (canonical === undefined || !isValidTopicFilter(canonical)) return this.reply({ type: 'ERR', code: ErrorCode.BadTopic, text: filter });
    // [LINES-4] subscribing twice to one filter is subscribing once.
    if (this.subscriptions.has(filter)) return this.reply({ type: 'OK', verb: Verb.Sub, topic: filter });
    // [LINES-4] at most maxSubscriptions filters per connection; the connection stays open.
    if (this.subscriptions.size >= this.options.maxSubscriptions) {
      return this.reply({ type: 'ERR', code: ErrorCode.TooManySubscriptions, text: String(this.options.maxSubscriptions) });
    }
    this.subscriptions.set(filter, this.hub.subscribe(this, canonical));
    this.reply({ type: 'OK', verb: Verb.Sub, topic: filter });
  }

  private unsubscribe(filter: string): void {
    const subscription = this.subscriptions.get(filter);
    if (subscription) {
      this.subscriptions.delete(filter);
      this.hub.unsubscribe(subscription);
    }
    // [LINES-4] UNSUB of a filter not held is answered OK as well: the outcome is the same.
    this.reply({ type: 'OK', verb: Verb.Unsub, topic: filter });
  }

  private publish(topic: string, payload: string): void {
    const canonical = this.hub.topics.toBus(topic);
    // [LINES-3] a PUB topic has no wildcards; one that does not map is refused, the connection
    // stays open.
    if (canonical === undefined || !isValidTopicName(canonical)) return this.reply({ type: 'ERR', code: ErrorCode.BadTopic, text: topic });
    this.hub.publish(this, canonical, topic, payload);
  }

  /**
   * Answers to the client's own commands go straight out: a peer that sends without reading is
   * stopped by the transport's send-buffer limit, not by us.
   */
  private reply(message: Reply): void {
    this.connection.send(formatReply(message));
  }

  /**
   * The one way this session ends with an error: `ERR <code> <message>`, then the close with the
   * error's code and its message, cut to fit a close frame. `onClose` releases the rest, and it
   * may run before `close()` returns (the in-memory connection, outside `onMessage`) or later
   * (a real socket, once the closing handshake is done).
   */
  private fail(error: ProtocolError<LinesFault>): void {
    if (!this.connection.isOpen) return;
    this.reply({ type: 'ERR', code: error.detail?.code ?? ErrorCode.Internal, text: error.message });
    this.connection.close(error.closeCode, limitCloseReason(error.message));
  }

  // ---------------------------------------------------------------------------------------------
  // Backpressure. `send()` returning false means the transport buffer is above its high-water
  // mark: stop producing until `onDrain`. While paused, MSG messages wait in a backlog of at most
  // `maxQueuedMessages`; beyond it they are dropped and counted ([LINES-6]: delivery is at most
  // once). A protocol without flow control of its own can delete this block, the `flush` listener
  // in the constructor and the `backlog` line in `onClose`, and make `deliver` call
  // `this.connection.send(line)`.

  private paused = false;
  private readonly backlog: string[] = [];

  /** One MSG line from the hub. */
  deliver(line: string): void {
    if (!this.connection.isOpen) return;
    if (!this.paused) {
      // The message is queued by the transport even when send() says false: it is not lost.
      if (!this.connection.send(line)) this.paused = true;
      return;
    }
    if (this.backlog.length < this.options.maxQueuedMessages) this.backlog.push(line);
    else this.context.metrics.increment(MetricName.MessagesDropped);
  }

  private flush(): void {
    this.paused = false;
    while (this.backlog.length > 0 && !this.paused && this.connection.isOpen) {
      if (!this.connection.send(this.backlog.shift()!)) this.paused = true;
    }
  }
  // End of the backpressure block.
  // ---------------------------------------------------------------------------------------------
}
