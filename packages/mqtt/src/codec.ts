/**
 * The codec: bytes to typed packets and back, over `mqtt-packet`, with no session state.
 *
 * One {@link PacketReader} per connection keeps `mqtt-packet`'s streaming parser, because
 * [MQTT-6.0.0-2] "A single WebSocket data frame can contain multiple or partial MQTT Control
 * Packets. The receiver MUST NOT assume that MQTT Control Packets are aligned on WebSocket frame
 * boundaries". The reader adds what the parser leaves out: well-formed UTF-8 in every string
 * and the receiver's Maximum Packet Size, checked as soon as the fixed header is read so an
 * oversized packet is never buffered.
 */
import { isUtf8 } from 'node:buffer';
import mqttPacket from 'mqtt-packet';
import type { IPublishPacket as PublishPacket, Packet } from 'mqtt-packet';
import type { MqttVersion } from './constants.js';

export type {
  IAuthPacket as AuthPacket,
  IConnackPacket as ConnackPacket,
  IConnectPacket as ConnectPacket,
  IDisconnectPacket as DisconnectPacket,
  IPingreqPacket as PingreqPacket,
  IPingrespPacket as PingrespPacket,
  IPubackPacket as PubackPacket,
  IPubcompPacket as PubcompPacket,
  IPublishPacket as PublishPacket,
  IPubrecPacket as PubrecPacket,
  IPubrelPacket as PubrelPacket,
  ISubackPacket as SubackPacket,
  ISubscribePacket as SubscribePacket,
  ISubscription as Subscription,
  IUnsubackPacket as UnsubackPacket,
  IUnsubscribePacket as UnsubscribePacket,
  Packet,
  UserProperties,
} from 'mqtt-packet';

/** Why a byte stream could not be read. */
export type ReadErrorKind =
  /** Not a packet per the spec: bad flags, truncated fields, ill-formed UTF-8 (§1.5.4, §2). */
  | 'malformed'
  /** Larger than the receiver's Maximum Packet Size (MQTT 5.0 §3.1.2.11.4). */
  | 'too-large'
  /** A CONNECT whose protocol level the parser does not know. */
  | 'protocol-version';

export interface ReadError {
  readonly kind: ReadErrorKind;
  readonly message: string;
}

export interface PacketReaderOptions {
  /** Largest whole packet accepted, in bytes (fixed header included). */
  maxPacketSize: number;
  /** Version to parse with before a CONNECT sets it (tools reading server output). @default 4 */
  protocolVersion?: MqttVersion;
  /** Called for each whole packet, in order. What it throws stops the reader and leaves `push`. */
  onPacket(packet: Packet): void;
  /** Called at most once; the reader ignores input after it. What it throws leaves `push`. */
  onError(error: ReadError): void;
}

/** A streaming reader: feed it WebSocket messages in order, get whole packets out. */
export interface PacketReader {
  /**
   * Parses what it can; keeps a partial packet for the next call. Never throws for any input;
   * only what `onPacket` or `onError` throw comes out (the session's one catch is its caller's).
   */
  push(bytes: Uint8Array): void;
  /** Bytes of an incomplete packet still held. */
  readonly buffered: number;
  /** True once an error was reported. */
  readonly failed: boolean;
}

/** The parser's internals the reader hooks into (`mqtt-packet` 9 `parser.js`). */
interface ParserInternals {
  settings: { protocolVersion?: number };
  /** Index into the parser's states: 0 means it waits for the first byte of a packet. */
  _stateCounter: number;
  _events: unknown;
  emit(event: string, value: unknown): boolean;
  parse(buffer: Buffer): number;
  packet: { length: number };
  error: Error | null;
  _list: ByteList;
  _pos: number;
  _parseNum(): number;
  _parseLength(): boolean;
  _parseString(): string | null;
  _emitError(error: Error): void;
}

/** Bytes a remaining length of `length` takes in the fixed header (§1.5.5 Variable Byte Integer). */
export function varIntSize(length: number): number {
  return length < 128 ? 1 : length < 16_384 ? 2 : length < 2_097_152 ? 3 : 4;
}

/** Whole size of a packet from its remaining length: one type byte, the length, the rest. */
export function packetSize(remainingLength: number): number {
  return 1 + varIntSize(remainingLength) + remainingLength;
}

/**
 * The byte list mqtt-packet's parser reads from, in place of its default `bl()`: that one is a
 * Duplex stream (a few KiB of stream state per connection, and a new one after every error); the
 * parser only needs these eight members. Chunks are kept as a list and joined only when a read
 * reaches past the first one, which happens at most for the fixed header (5 bytes) and once per
 * whole packet, so a packet sent in many tiny WebSocket messages costs linear time.
 */
export class ByteList {
  private chunks: Buffer[] = [];
  length = 0;

  append(chunk: Buffer): this {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.length += chunk.length;
    }
    return this;
  }

  consume(bytes: number): this {
    let rest = Math.trunc(bytes);
    if (!(rest > 0)) return this;
    while (this.chunks.length > 0) {
      const head = this.chunks[0]!;
      if (rest >= head.length) {
        rest -= head.length;
        this.length -= head.length;
        this.chunks.shift();
      } else {
        this.chunks[0] = head.subarray(rest);
        this.length -= rest;
        break;
      }
    }
    return this;
  }

  readUInt8(offset: number): number {
    return this.head(offset + 1)[offset]!;
  }

  readUInt16BE(offset: number): number {
    return this.head(offset + 2).readUInt16BE(offset);
  }

  readUInt32BE(offset: number): number {
    return this.head(offset + 4).readUInt32BE(offset);
  }

  slice(start = 0, end = this.length): Buffer {
    return this.head(end).subarray(start, end);
  }

  toString(encoding: BufferEncoding = 'utf8', start = 0, end = this.length): string {
    return this.head(end).toString(encoding, start, end);
  }

  /** The first chunk, joined with the following ones when it is shorter than `end`. */
  private head(end: number): Buffer {
    const first = this.chunks[0];
    if (first !== undefined && first.length >= end) return first;
    if (this.chunks.length <= 1) return first ?? EMPTY;
    const joined = Buffer.concat(this.chunks, this.length);
    this.chunks = [joined];
    return joined;
  }
}

const EMPTY = Buffer.alloc(0);

export function createPacketReader(options: PacketReaderOptions): PacketReader {
  const parser = mqttPacket.parser(options.protocolVersion ? { protocolVersion: options.protocolVersion } : undefined) as unknown as ParserInternals;
  parser._list = new ByteList();
  // mqtt-packet makes a new `bl()` when it resets after an error; the reader stops at the first
  // error, so that never runs for a live connection. The light list stays in place otherwise.
  let failed = false;
  let pendingError: ReadError | undefined;
  // Set while a callback runs: a throw caught below with it set is the caller's, not the parser's.
  let inCallback = false;

  const fail = (error: ReadError): void => {
    if (failed) return;
    failed = true;
    inCallback = true;
    options.onError(error);
    inCallback = false;
  };

  const deliver = (packet: Packet): void => {
    if (failed) return;
    inCallback = true;
    options.onPacket(packet);
    inCallback = false;
  };

  // [MQTT-1.5.4-1] "The character data in a UTF-8 Encoded String MUST be well-formed UTF-8 as
  // defined by the Unicode specification and restated in RFC 3629. In particular, the character
  // data MUST NOT include encodings of code points between U+D800 and U+DFFF." The parser decodes
  // with replacement characters, so every string is checked here first.
  // [MQTT-1.5.4-2] "A UTF-8 Encoded String MUST NOT include an encoding of the null character U+0000."
  parser._parseString = function parseString(this: ParserInternals): string | null {
    const length = this._parseNum();
    const end = length + this._pos;
    if (length === -1 || end > this._list.length || end > this.packet.length) return null;
    const bytes = this._list.slice(this._pos, end);
    if (!isUtf8(bytes) || bytes.includes(0)) {
      pendingError = { kind: 'malformed', message: 'ill-formed UTF-8 string' };
      return null;
    }
    this._pos = end;
    return bytes.toString('utf8');
  };

  const parseLength = parser._parseLength;
  parser._parseLength = function checkedLength(this: ParserInternals): boolean {
    const ok = parseLength.call(this);
    if (ok && packetSize(this.packet.length) > options.maxPacketSize) {
      pendingError = { kind: 'too-large', message: `packet of ${packetSize(this.packet.length)} bytes is above the maximum of ${options.maxPacketSize}` };
      this._emitError(new Error('packet too large'));
      return false;
    }
    return ok;
  };

  const emitFast = (packet: Packet | ReadError): void => {
    if ('kind' in packet) fail(packet);
    else deliver(packet);
  };
  // The parser only ever emits 'packet' and 'error'. Taking `emit` over instead of adding listeners
  // spares each connection the emitter's listener table (a dictionary-mode object, ~0.5 KiB).
  parser._events = undefined;
  parser.emit = (event: string, value: unknown): boolean => {
    if (event === 'packet') {
      deliver(value as Packet);
      return true;
    }
    if (event !== 'error') return false;
    const error = value as Error;
    const specific = pendingError;
    pendingError = undefined;
    if (specific) fail(specific);
    else if (error.message === 'Invalid protocol version') fail({ kind: 'protocol-version', message: error.message });
    else fail({ kind: 'malformed', message: error.message });
    return true;
  };

  const parseSlow = (buffer: Buffer): void => {
    parser.parse(buffer);
  };

  return {
    push(bytes) {
      if (failed) return;
      const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      try {
        const version = parser.settings.protocolVersion;
        // The fast path reads whole PUBLISH, acknowledgement and PINGREQ packets straight from the
        // message; anything else, and any packet split across messages, goes to mqtt-packet.
        // Only at a packet boundary: the parser may hold nothing, and may not be part-way through a
        // packet whose first bytes it already consumed (clients such as MQTT.js send the fixed
        // header of a PUBLISH as its own WebSocket message).
        if (parser._stateCounter !== 0 || parser._list.length > 0 || (version !== 4 && version !== 5)) {
          parseSlow(buffer);
          return;
        }
        let offset = 0;
        while (offset < buffer.length && !failed) {
          const end = readFast(buffer, offset, version, options.maxPacketSize, emitFast);
          if (end === FAST_ERROR) return;
          if (end === FAST_NO) {
            // Hand mqtt-packet one whole packet when its length is readable, so the fast path
            // resumes after it; otherwise the rest of the message.
            const whole = wholePacketEnd(buffer, offset);
            if (whole === -1) {
              parseSlow(offset === 0 ? buffer : buffer.subarray(offset));
              return;
            }
            parseSlow(buffer.subarray(offset, whole));
            offset = whole;
          } else offset = end;
        }
      } catch (error) {
        if (inCallback) {
          // The caller's callback threw: stop reading (its session is ending) and let it through.
          inCallback = false;
          failed = true;
          throw error;
        }
        // The parser reports through events; a throw is a parser bug on hostile input.
        fail({ kind: 'malformed', message: error instanceof Error ? error.message : 'unparseable packet' });
      }
    },
    get buffered() {
      return parser._list.length;
    },
    get failed() {
      return failed;
    },
  };
}

const FAST_NO = -1;
const FAST_ERROR = -2;

/** End offset of the packet at `offset` when all of it is in `buffer`, else -1. */
function wholePacketEnd(buffer: Buffer, offset: number): number {
  let length = 0;
  let multiplier = 1;
  let pos = offset + 1;
  for (let i = 0; i < 4; i++, pos++) {
    if (pos >= buffer.length) return -1;
    const byte = buffer[pos]!;
    length += (byte & 0x7f) * multiplier;
    multiplier *= 128;
    if ((byte & 0x80) === 0) {
      const end = pos + 1 + length;
      return end <= buffer.length ? end : -1;
    }
  }
  return -1;
}

/**
 * Decodes the packet at `offset` when it is a whole PUBLISH without properties, a 2-byte
 * acknowledgement or a PINGREQ, with the same checks as the mqtt-packet path.
 * @returns the offset after it, FAST_NO to leave it to mqtt-packet, FAST_ERROR once reported
 */
function readFast(buffer: Buffer, offset: number, version: 4 | 5, maxPacketSize: number, emit: (packet: Packet | ReadError) => void): number {
  const first = buffer[offset]!;
  const type = first >> 4;
  if (type === 4 || type === 5 || type === 6 || type === 7) {
    // [MQTT-2.1.3-1] reserved flag bits: 0 for PUBACK, PUBREC, PUBCOMP; 0010 for PUBREL.
    if (offset + 4 > buffer.length || buffer[offset + 1] !== 2 || (first & 0x0f) !== (type === 6 ? 2 : 0)) return FAST_NO;
    const cmd = type === 4 ? 'puback' : type === 5 ? 'pubrec' : type === 6 ? 'pubrel' : 'pubcomp';
    emit({ cmd, messageId: (buffer[offset + 2]! << 8) | buffer[offset + 3]!, length: 2 } as Packet);
    return offset + 4;
  }
  if (first === 0xc0) {
    if (offset + 2 > buffer.length || buffer[offset + 1] !== 0) return FAST_NO;
    emit({ cmd: 'pingreq', length: 0 } as Packet);
    return offset + 2;
  }
  if (type !== 3) return FAST_NO;
  const qos = (first >> 1) & 3;
  // [MQTT-3.3.1-4] "A PUBLISH Packet MUST NOT have both QoS bits set to 1."
  if (qos === 3) {
    emit({ kind: 'malformed', message: 'Packet must not have both QoS bits set to 1' });
    return FAST_ERROR;
  }
  const end = wholePacketEnd(buffer, offset);
  if (end === -1) return FAST_NO;
  let pos = offset + 1;
  while (buffer[pos]! & 0x80) pos++;
  pos++;
  const remaining = end - pos;
  if (packetSize(remaining) > maxPacketSize) {
    emit({ kind: 'too-large', message: `packet of ${packetSize(remaining)} bytes is above the maximum of ${maxPacketSize}` });
    return FAST_ERROR;
  }
  if (pos + 2 > end) return FAST_NO;
  const topicLength = (buffer[pos]! << 8) | buffer[pos + 1]!;
  const topicStart = pos + 2;
  const topicEnd = topicStart + topicLength;
  if (topicEnd + (qos > 0 ? 2 : 0) + (version === 5 ? 1 : 0) > end) return FAST_NO;
  const topicBytes = buffer.subarray(topicStart, topicEnd);
  // [MQTT-1.5.4-1] well-formed UTF-8 and [MQTT-1.5.4-2] no U+0000, as on the slow path.
  if (!isUtf8(topicBytes) || topicBytes.includes(0)) {
    emit({ kind: 'malformed', message: 'ill-formed UTF-8 string' });
    return FAST_ERROR;
  }
  pos = topicEnd;
  let messageId: number | undefined;
  if (qos > 0) {
    messageId = (buffer[pos]! << 8) | buffer[pos + 1]!;
    pos += 2;
  }
  if (version === 5) {
    // Property Length 0 only; packets with properties take the mqtt-packet path.
    if (buffer[pos] !== 0) return FAST_NO;
    pos++;
  }
  const packet = {
    cmd: 'publish',
    retain: (first & 1) === 1,
    qos,
    dup: (first & 8) === 8,
    length: remaining,
    topic: topicBytes.toString('utf8'),
    payload: buffer.subarray(pos, end),
  } as PublishPacket;
  if (messageId !== undefined) packet.messageId = messageId;
  emit(packet);
  return end;
}

/**
 * Encodes a PUBLISH. Without properties it is written directly into one buffer (the hot path);
 * with properties it goes through mqtt-packet's `generate`.
 */
export function encodePublish(packet: PublishPacket, version: MqttVersion): Buffer {
  if (packet.properties !== undefined) return encodePacket(packet, version);
  const topicLength = Buffer.byteLength(packet.topic);
  const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
  const qos = packet.qos;
  const remaining = 2 + topicLength + (qos > 0 ? 2 : 0) + (version === 5 ? 1 : 0) + payload.length;
  const bytes = Buffer.allocUnsafe(packetSize(remaining));
  bytes[0] = 0x30 | (packet.dup ? 8 : 0) | (qos << 1) | (packet.retain ? 1 : 0);
  let pos = 1;
  let rest = remaining;
  do {
    let byte = rest % 128;
    rest = Math.floor(rest / 128);
    if (rest > 0) byte |= 0x80;
    bytes[pos++] = byte;
  } while (rest > 0);
  bytes[pos++] = topicLength >> 8;
  bytes[pos++] = topicLength & 0xff;
  pos += bytes.write(packet.topic, pos, 'utf8');
  if (qos > 0) {
    const id = packet.messageId ?? 0;
    bytes[pos++] = id >> 8;
    bytes[pos++] = id & 0xff;
  }
  if (version === 5) bytes[pos++] = 0;
  payload.copy(bytes, pos);
  return bytes;
}

/**
 * Reads the protocol level of a CONNECT at the start of `bytes` without parsing the rest, so an
 * unknown level still gets a CONNACK. Undefined when `bytes` does not start with a CONNECT
 * whose level byte is present.
 */
export function sniffConnectLevel(bytes: Uint8Array): number | undefined {
  if (bytes.length < 2 || bytes[0] !== 0x10) return undefined;
  let pos = 1;
  for (let i = 0; i < 4; i++, pos++) {
    if (pos >= bytes.length) return undefined;
    if ((bytes[pos]! & 0x80) === 0) break;
  }
  pos++;
  if (pos + 2 > bytes.length) return undefined;
  const nameLength = (bytes[pos]! << 8) | bytes[pos + 1]!;
  pos += 2 + nameLength;
  return pos < bytes.length ? bytes[pos] : undefined;
}

/**
 * Encodes one packet into one buffer, to go out as one WebSocket message.
 * @throws Error when the packet is not valid for `version` (a bug in the caller)
 */
export function encodePacket(packet: Packet, version: MqttVersion | 3): Buffer {
  return mqttPacket.generate(packet, { protocolVersion: version });
}

/**
 * Parses every whole packet in `bytes` (a test and tooling helper; sessions use a reader).
 * @returns the packets, and the error that stopped parsing, if any
 */
export function decodePackets(bytes: Uint8Array, version: MqttVersion = 4): { packets: Packet[]; error?: ReadError; rest: number } {
  const packets: Packet[] = [];
  let error: ReadError | undefined;
  const reader = createPacketReader({
    maxPacketSize: 268_435_460,
    protocolVersion: version,
    onPacket: (packet) => packets.push(packet),
    onError: (e) => {
      error = e;
    },
  });
  reader.push(bytes);
  return error ? { packets, error, rest: reader.buffered } : { packets, rest: reader.buffered };
}
