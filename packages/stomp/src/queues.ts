/**
 * Queues with RabbitMQ semantics, shared by every session of one adapter: `/queue/{name}` holds
 * messages until a consumer comes, delivers each to one consumer (round robin among those with
 * room under their `prefetch-count`), and takes back what a consumer NACKs or leaves unacked,
 * marking it `redelivered`. Temporary reply queues (`/temp-queue/x` in `reply-to`) live here too.
 *
 * @see https://www.rabbitmq.com/docs/stomp#d.qd
 */
import type { AckMode } from './constants.js';
import type { MessageContent } from './wire.js';

/** A message held by a queue. */
export interface QueuedMessage extends MessageContent {
  /** Set once the message went back to the queue after a NACK or a departed consumer. */
  redelivered: boolean;
  /** The consumer that last had it; redelivery prefers another one when there is one. */
  lastConsumer?: Consumer;
}

/** What a queue needs from the session that owns a consumer. */
export interface ConsumerOwner {
  /** False while the connection's send buffer is above its high-water mark. */
  readonly writable: boolean;
  /** Sends `message` as a MESSAGE frame on `consumer`'s subscription. */
  deliver(consumer: Consumer, message: QueuedMessage): void;
}

/** One subscription on a queue. */
export interface Consumer {
  readonly owner: ConsumerOwner;
  readonly subscriptionId: string;
  readonly ackMode: AckMode;
  /** Most unacknowledged messages at once; 0 is unlimited. */
  readonly prefetch: number;
  /** Delivered, not yet acknowledged (always 0 in `auto` mode). */
  unacked: number;
}

export class Queue {
  readonly consumers: Consumer[] = [];
  private messages: Array<QueuedMessage | undefined> = [];
  private head = 0;
  private next = 0;
  private dispatching = false;
  private again = false;

  constructor(
    readonly key: string,
    readonly destination: string,
    private readonly maxLength: number,
  ) {}

  /** Messages waiting for a consumer. */
  get ready(): number {
    return this.messages.length - this.head;
  }

  get idle(): boolean {
    return this.consumers.length === 0 && this.ready === 0;
  }

  enqueue(message: QueuedMessage): void {
    this.messages.push(message);
    // Overflow drops the oldest ready message (RabbitMQ's default `drop-head`).
    if (this.maxLength > 0 && this.ready > this.maxLength) this.messages[this.head++] = undefined;
    this.dispatch();
  }

  /** Puts messages back at the head, in the given order, for another consumer. */
  requeue(messages: readonly QueuedMessage[], from: Consumer | undefined): void {
    for (let i = messages.length - 1; i >= 0; i--) {
      const message = messages[i]!;
      message.redelivered = true;
      message.lastConsumer = from;
      if (this.head > 0) this.messages[--this.head] = message;
      else this.messages.unshift(message);
    }
  }

  addConsumer(consumer: Consumer): void {
    this.consumers.push(consumer);
    this.dispatch();
  }

  removeConsumer(consumer: Consumer): void {
    const index = this.consumers.indexOf(consumer);
    if (index === -1) return;
    this.consumers.splice(index, 1);
    if (this.next > index) this.next--;
  }

  /** Hands ready messages to consumers with room. Re-entrant calls fold into the running one. */
  dispatch(): void {
    if (this.dispatching) {
      this.again = true;
      return;
    }
    this.dispatching = true;
    try {
      do {
        this.again = false;
        while (this.head < this.messages.length) {
          const message = this.messages[this.head];
          if (message === undefined) {
            this.head++;
            continue;
          }
          const consumer = this.pick(message.lastConsumer);
          if (!consumer) break;
          this.messages[this.head++] = undefined;
          if (consumer.ackMode !== 'auto') consumer.unacked++;
          consumer.owner.deliver(consumer, message);
        }
        this.compact();
      } while (this.again);
    } finally {
      this.dispatching = false;
    }
  }

  private pick(avoid: Consumer | undefined): Consumer | undefined {
    const n = this.consumers.length;
    let fallback = -1;
    for (let i = 0; i < n; i++) {
      const index = (this.next + i) % n;
      const consumer = this.consumers[index]!;
      if (!consumer.owner.writable || (consumer.prefetch > 0 && consumer.unacked >= consumer.prefetch)) continue;
      // Redelivery goes to another consumer when one has room (issue 5: "redelivered to another consumer").
      if (consumer === avoid && n > 1) {
        if (fallback === -1) fallback = index;
        continue;
      }
      this.next = (index + 1) % n;
      return consumer;
    }
    if (fallback === -1) return undefined;
    this.next = (fallback + 1) % n;
    return this.consumers[fallback];
  }

  private compact(): void {
    if (this.head === this.messages.length) {
      this.messages = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.messages.length) {
      this.messages = this.messages.slice(this.head);
      this.head = 0;
    }
  }
}

/** The named queues of one adapter, per virtual host. A queue with no consumer and no message is forgotten. */
export class QueueRegistry {
  private readonly queues = new Map<string, Queue>();

  constructor(private readonly maxLength: number) {}

  get(vhost: string, destination: string): Queue {
    const key = vhost + '\n' + destination;
    let queue = this.queues.get(key);
    if (!queue) {
      queue = new Queue(key, destination, this.maxLength);
      this.queues.set(key, queue);
    }
    return queue;
  }

  /** Forgets `queue` when it holds nothing. */
  release(queue: Queue): void {
    if (queue.idle) this.queues.delete(queue.key);
  }

  values(): IterableIterator<Queue> {
    return this.queues.values();
  }
}

/** Where a `/reply-queue/...` name leads: the session that owns the temporary queue. */
export interface ReplyTarget {
  /** The session's own name for it: `x` of `/temp-queue/x`. */
  readonly localName: string;
  deliverReply(localName: string, message: QueuedMessage): void;
}
