/**
 * How MESSAGE frames are written. A MESSAGE is a per-subscriber head (`subscription`,
 * `message-id`, `ack`, `redelivered`) followed by a tail every subscriber of that message shares
 * (`destination`, `content-type`, user headers, `content-length`, body). The tail is encoded once
 * per STOMP version and message, however many sessions receive it: that is what makes topic
 * fan-out cheap.
 *
 * @see https://stomp.github.io/stomp-specification-1.2.html#MESSAGE
 */
import { Buffer, isUtf8 } from 'node:buffer';
import { escapeHeader, joinFrame } from './codec.js';
import { RESERVED_SEND_HEADERS, type StompVersion } from './constants.js';

/** What every MESSAGE frame of one message carries, whoever receives it. */
export interface MessageContent {
  /** The destination subscribers see, e.g. `/topic/a.b` or `/queue/jobs`. */
  readonly destination: string;
  readonly payload: Uint8Array;
  readonly contentType?: string | undefined;
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /**
   * Messages with the same `shared` object have the same destination, headers and body (one topic
   * message queued for several client-ack subscriptions), so they share one encoding.
   */
  readonly shared?: object | undefined;
}

/** The shared part of a MESSAGE frame, encoded for one version. */
export interface Tail {
  /** From `destination:` to the blank line. */
  readonly head: string;
  readonly body: Uint8Array;
  /** `head + body + NUL` as text, when the body is valid UTF-8. */
  readonly text: string | undefined;
}

// Keyed by the message (or its `shared` object): the WeakMap forgets an encoding with the message.
const tails = new WeakMap<object, Array<Tail | undefined>>();
const VERSION_SLOT: Readonly<Record<StompVersion, number>> = { '1.0': 0, '1.1': 1, '1.2': 2 };
const LF_BYTES = Buffer.from('\n');

/** The tail of `message` for `version`, encoded on first use and shared from then on. */
export function tailOf(message: MessageContent, version: StompVersion): Tail {
  const key = message.shared ?? message;
  let slots = tails.get(key);
  if (!slots) tails.set(key, (slots = [undefined, undefined, undefined]));
  return (slots[VERSION_SLOT[version]] ??= encodeTail(message, version));
}

/** Encodes the shared part of a MESSAGE frame. */
export function encodeTail(message: MessageContent, version: StompVersion): Tail {
  const { destination, contentType, headers, payload: body } = message;
  let head = 'destination:' + escapeHeader(destination, version) + '\n';
  if (contentType !== undefined && (version !== '1.0' || !contentType.includes('\n'))) head += 'content-type:' + escapeHeader(contentType, version) + '\n';
  if (headers) {
    for (const name in headers) {
      // STOMP 1.2 "Augmented BNF": header-name = 1*<any OCTET ...>, so an empty name (possible
      // from other protocols on the bus) cannot be written.
      if (name.length === 0 || RESERVED_SEND_HEADERS.has(name) || name === 'redelivered') continue;
      const value = headers[name]!;
      // STOMP 1.0 has no escaping: a header that cannot be written is left out.
      if (version === '1.0' && (name.includes('\n') || name.includes(':') || value.includes('\n'))) continue;
      head += escapeHeader(name, version) + ':' + escapeHeader(value, version) + '\n';
    }
  }
  head += 'content-length:' + body.length + '\n\n';
  const buffer = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  // A frame whose body is not UTF-8 must travel as a binary WebSocket message: clients close
  // on a text message that is not UTF-8 (RFC 6455 §8.1).
  const text = isUtf8(buffer) ? head + buffer.toString('utf8') + '\0' : undefined;
  return { head, body, text };
}

/**
 * The per-subscriber head of a MESSAGE frame, up to where the tail starts. STOMP 1.2 "MESSAGE":
 * it "MUST also contain a subscription header matching the identifier of the subscription that
 * is receiving the message" and "a message-id header with a unique identifier for that message".
 * @param subscription the subscription id, already escaped for the version
 * @param ack the `ack` header (1.2, client-ack subscriptions only)
 */
export function messageHead(subscription: string, messageId: string, ack: string | undefined, redelivered: boolean): string {
  let head = 'MESSAGE\nsubscription:' + subscription + '\nmessage-id:' + messageId + '\n';
  if (ack !== undefined) head += 'ack:' + ack + '\n';
  if (redelivered) head += 'redelivered:true\n';
  return head;
}

/**
 * One MESSAGE frame as a WebSocket message: text when the body is UTF-8 and `binary` is off,
 * else bytes.
 */
export function messageFrame(head: string, tail: Tail, binary: boolean): string | Uint8Array {
  return tail.text !== undefined && !binary ? head + tail.text : joinFrame(head + tail.head, tail.body);
}

/** A heart-beat: STOMP 1.2 "Heart-beating": "a single end-of-line (EOL)". */
export function heartBeatFrame(binary: boolean): string | Uint8Array {
  return binary ? LF_BYTES : '\n';
}
