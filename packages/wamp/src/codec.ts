/**
 * WAMP messages: one WebSocket message is one WAMP message, a list whose first element is the
 * message type (Basic Profile "Messages"). A serializer turns the wire form into a list; `parse`
 * checks that list against the message's layout ("No Polymorphism": the type and the element
 * count fix every element's type) and `generate` builds the list back. Pure, never throws on
 * input: refusals are values with a reason and the close code that fits.
 */
import { Packr, Unpackr } from 'msgpackr';
import { Encoder as CborEncoder } from 'cbor-x';
import { MAX_ID, MessageType, MESSAGE_NAMES, type SerializerId } from './constants.js';

export type Dict = Record<string, unknown>;
export type Args = readonly unknown[];

/** Arguments|list and ArgumentsKw|dict, the payload every payload-carrying message ends with. */
export interface Payload {
  readonly args?: Args;
  readonly kwargs?: Dict;
}

export type HelloMessage = { readonly type: typeof MessageType.HELLO; readonly realm: string; readonly details: Dict };
export type WelcomeMessage = { readonly type: typeof MessageType.WELCOME; readonly session: number; readonly details: Dict };
export type AbortMessage = { readonly type: typeof MessageType.ABORT; readonly details: Dict; readonly reason: string } & Payload;
export type ChallengeMessage = { readonly type: typeof MessageType.CHALLENGE; readonly method: string; readonly extra: Dict };
export type AuthenticateMessage = { readonly type: typeof MessageType.AUTHENTICATE; readonly signature: string; readonly extra: Dict };
export type GoodbyeMessage = { readonly type: typeof MessageType.GOODBYE; readonly details: Dict; readonly reason: string };
export type ErrorMessage = { readonly type: typeof MessageType.ERROR; readonly requestType: number; readonly request: number; readonly details: Dict; readonly error: string } & Payload;
export type PublishMessage = { readonly type: typeof MessageType.PUBLISH; readonly request: number; readonly options: Dict; readonly topic: string } & Payload;
export type PublishedMessage = { readonly type: typeof MessageType.PUBLISHED; readonly request: number; readonly publication: number };
export type SubscribeMessage = { readonly type: typeof MessageType.SUBSCRIBE; readonly request: number; readonly options: Dict; readonly topic: string };
export type SubscribedMessage = { readonly type: typeof MessageType.SUBSCRIBED; readonly request: number; readonly subscription: number };
export type UnsubscribeMessage = { readonly type: typeof MessageType.UNSUBSCRIBE; readonly request: number; readonly subscription: number };
/** `request` 0 with `details` is the revocation form (Advanced Profile "Subscription Revocation"). */
export type UnsubscribedMessage = { readonly type: typeof MessageType.UNSUBSCRIBED; readonly request: number; readonly details?: Dict };
export type EventMessage = { readonly type: typeof MessageType.EVENT; readonly subscription: number; readonly publication: number; readonly details: Dict } & Payload;
export type CallMessage = { readonly type: typeof MessageType.CALL; readonly request: number; readonly options: Dict; readonly procedure: string } & Payload;
export type CancelMessage = { readonly type: typeof MessageType.CANCEL; readonly request: number; readonly options: Dict };
export type ResultMessage = { readonly type: typeof MessageType.RESULT; readonly request: number; readonly details: Dict } & Payload;
export type RegisterMessage = { readonly type: typeof MessageType.REGISTER; readonly request: number; readonly options: Dict; readonly procedure: string };
export type RegisteredMessage = { readonly type: typeof MessageType.REGISTERED; readonly request: number; readonly registration: number };
export type UnregisterMessage = { readonly type: typeof MessageType.UNREGISTER; readonly request: number; readonly registration: number };
export type UnregisteredMessage = { readonly type: typeof MessageType.UNREGISTERED; readonly request: number; readonly details?: Dict };
export type InvocationMessage = { readonly type: typeof MessageType.INVOCATION; readonly request: number; readonly registration: number; readonly details: Dict } & Payload;
export type InterruptMessage = { readonly type: typeof MessageType.INTERRUPT; readonly request: number; readonly options: Dict };
export type YieldMessage = { readonly type: typeof MessageType.YIELD; readonly request: number; readonly options: Dict } & Payload;

export type WampMessage =
  | HelloMessage
  | WelcomeMessage
  | AbortMessage
  | ChallengeMessage
  | AuthenticateMessage
  | GoodbyeMessage
  | ErrorMessage
  | PublishMessage
  | PublishedMessage
  | SubscribeMessage
  | SubscribedMessage
  | UnsubscribeMessage
  | UnsubscribedMessage
  | EventMessage
  | CallMessage
  | CancelMessage
  | ResultMessage
  | RegisterMessage
  | RegisteredMessage
  | UnregisterMessage
  | UnregisteredMessage
  | InvocationMessage
  | InterruptMessage
  | YieldMessage;

/** Why a message was refused, with the WebSocket close code that fits. */
export interface CodecFault {
  readonly message: string;
  /** 1002 a WAMP layout error, 1003 the wrong kind of WebSocket message, 1007 undecodable bytes. */
  readonly closeCode: 1002 | 1003 | 1007;
}

export type ParseResult = { readonly ok: true; readonly message: WampMessage } | { readonly ok: false; readonly fault: CodecFault };

// ------------------------------------------------------------------------------------- serializers

/** A WAMP serializer: the negotiated subprotocol id picks one (Basic Profile "Serializers"). */
export interface Serializer {
  readonly id: SerializerId;
  /** "With JSON serialization, ... WebSocket text messages"; MessagePack and CBOR use binary messages. */
  readonly binary: boolean;
  encode(message: readonly unknown[]): string | Uint8Array;
  /** The decoded list, or a fault. Never throws. */
  decode(data: string | Uint8Array, isBinary: boolean): { ok: true; value: unknown } | { ok: false; fault: CodecFault };
}

const textDecoder = new TextDecoder();

/**
 * Advanced Profile "Binary support in JSON": bytes travel as a string of NUL then base64. The
 * replacer reads the holder (`this[key]`): a Buffer's `toJSON` has already run on `value`.
 */
function jsonReplacer(this: unknown, key: string, value: unknown): unknown {
  const raw = (this as Record<string, unknown>)[key];
  if (raw instanceof Uint8Array) return '\u0000' + Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64');
  if (typeof raw === 'bigint') return Number(raw);
  return value;
}

/**
 * CBOR bignums (tags 2 and 3) decode as BigInt, which no other serializer can write (JSON has
 * none, MessagePack stops at 64 bits): they become the nearest number on the way in, so every
 * message the router holds can be encoded for any peer.
 */
function withoutBigInts(value: unknown, depth = 0): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (depth > 64 || value === null || typeof value !== 'object' || value instanceof Uint8Array) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = withoutBigInts(value[i], depth + 1);
    return value;
  }
  const dict = value as Dict;
  for (const key of Object.keys(dict)) dict[key] = withoutBigInts(dict[key], depth + 1);
  return value;
}

function jsonReviver(_key: string, value: unknown): unknown {
  if (typeof value === 'string' && value.charCodeAt(0) === 0) return Buffer.from(value.slice(1), 'base64');
  return value;
}

/** Whether a payload holds bytes anywhere (so JSON must use the binary convention). */
export function containsBytes(value: unknown, depth = 0): boolean {
  if (value instanceof Uint8Array) return true;
  if (depth > 32 || value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) {
    for (const item of value) if (containsBytes(item, depth + 1)) return true;
    return false;
  }
  for (const key in value) if (containsBytes((value as Dict)[key], depth + 1)) return true;
  return false;
}

const json: Serializer = {
  id: 'json',
  binary: false,
  encode(message) {
    let text: string;
    try {
      text = JSON.stringify(message);
    } catch {
      // A BigInt (a CBOR bignum from another session) has no JSON form: send its nearest number.
      return JSON.stringify(message, jsonReplacer);
    }
    // Bytes are rare and a replacer slows every stringify down, so look for their trace first:
    // every byte value inside the router is a Buffer (the binary serializers and the bus
    // conversion make them so), and a Buffer stringifies as {"type":"Buffer",...}.
    return text.includes('"type":"Buffer"') ? JSON.stringify(message, jsonReplacer) : text;
  },
  decode(data, isBinary) {
    if (isBinary || typeof data !== 'string') return { ok: false, fault: { message: 'wamp.2.json carries text messages only', closeCode: 1003 } };
    try {
      // A NUL inside a JSON string is always escaped, so only texts with `\u0000` can hold bytes.
      return { ok: true, value: data.includes('\\u0000') ? JSON.parse(data, jsonReviver) : JSON.parse(data) };
    } catch (error) {
      return { ok: false, fault: { message: `not JSON: ${(error as Error).message}`, closeCode: 1007 } };
    }
  },
};

// msgpackr and cbor-x defaults do not fit WAMP peers: records are msgpackr's own extension, and
// 64-bit integers would decode as BigInt (autobahn sends ids above 2^32 as uint64). Undefined is
// sent as nil because autobahn's msgpack5 rejects msgpackr's undefined extension.
const packr = new Packr({ useRecords: false, mapsAsObjects: true, encodeUndefinedAsNil: true, variableMapSize: true });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

const msgpack: Serializer = {
  id: 'msgpack',
  binary: true,
  encode: (message) => packr.pack(message),
  decode(data, isBinary) {
    if (!isBinary || typeof data === 'string') return { ok: false, fault: { message: 'wamp.2.msgpack carries binary messages only', closeCode: 1003 } };
    try {
      return { ok: true, value: unpackr.unpack(data) };
    } catch (error) {
      return { ok: false, fault: { message: `not MessagePack: ${(error as Error).message}`, closeCode: 1007 } };
    }
  },
};

// `int64AsNumber` is read by cbor-x's decoder but missing from its typings.
const cborEncoder = new CborEncoder({ useRecords: false, mapsAsObjects: true, largeBigIntToFloat: true, tagUint8Array: false, int64AsNumber: true } as ConstructorParameters<typeof CborEncoder>[0]);

const cbor: Serializer = {
  id: 'cbor',
  binary: true,
  encode: (message) => cborEncoder.encode(message),
  decode(data, isBinary) {
    if (!isBinary || typeof data === 'string') return { ok: false, fault: { message: 'wamp.2.cbor carries binary messages only', closeCode: 1003 } };
    try {
      return { ok: true, value: withoutBigInts(cborEncoder.decode(data)) };
    } catch (error) {
      return { ok: false, fault: { message: `not CBOR: ${(error as Error).message}`, closeCode: 1007 } };
    }
  },
};

export const SERIALIZERS: Readonly<Record<SerializerId, Serializer>> = { json, msgpack, cbor };

// ----------------------------------------------------------------------------------------- parse

const isDict = (value: unknown): value is Dict => typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
/** Basic Profile "IDs": integers in [1, 2^53]. Not `isSafeInteger`: 2^53 itself is legal. */
export const isId = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_ID;
const isUriLike = (value: unknown): value is string => typeof value === 'string';

const violation = (text: string): ParseResult => ({ ok: false, fault: { message: text, closeCode: 1002 } });

/** Request types an ERROR may answer (Basic Profile "Protocol Errors"). */
const ERROR_REQUEST_TYPES: ReadonlySet<number> = new Set([
  MessageType.SUBSCRIBE,
  MessageType.UNSUBSCRIBE,
  MessageType.PUBLISH,
  MessageType.REGISTER,
  MessageType.UNREGISTER,
  MessageType.CALL,
  MessageType.INVOCATION,
]);

/**
 * Element layouts: for each message type, its fields in wire order as [property, spec name,
 * check], and whether Arguments|list and ArgumentsKw|dict may follow. Parsing and generating
 * both read this one table.
 */
type Check = (value: unknown) => boolean;
interface Layout {
  readonly name: string;
  readonly fields: ReadonlyArray<readonly [property: string, field: string, check: Check]>;
  readonly payload: boolean;
  /** UNSUBSCRIBED and UNREGISTERED may end with Details (the revocation form). */
  readonly revocable: boolean;
}
const ID: Check = isId;
const DICT: Check = isDict;
const URI: Check = isUriLike;
const STRING: Check = (value) => typeof value === 'string';
const REQUEST_TYPE: Check = (value) => typeof value === 'number' && ERROR_REQUEST_TYPES.has(value);
/** UNSUBSCRIBED/UNREGISTERED: a request id, or 0 in the revocation form. */
const ID_OR_ZERO: Check = (value) => value === 0 || isId(value);

const layout = (type: number, fields: Layout['fields'], payload = false, revocable = false): [number, Layout] => [type, { name: MESSAGE_NAMES[type]!, fields, payload, revocable }];

const LAYOUTS: ReadonlyMap<number, Layout> = new Map([
  layout(MessageType.HELLO, [['realm', 'Realm', URI], ['details', 'Details', DICT]]),
  layout(MessageType.WELCOME, [['session', 'Session', ID], ['details', 'Details', DICT]]),
  layout(MessageType.ABORT, [['details', 'Details', DICT], ['reason', 'Reason', URI]], true),
  layout(MessageType.CHALLENGE, [['method', 'AuthMethod', STRING], ['extra', 'Extra', DICT]]),
  layout(MessageType.AUTHENTICATE, [['signature', 'Signature', STRING], ['extra', 'Extra', DICT]]),
  layout(MessageType.GOODBYE, [['details', 'Details', DICT], ['reason', 'Reason', URI]]),
  layout(MessageType.ERROR, [['requestType', 'REQUEST.Type', REQUEST_TYPE], ['request', 'REQUEST.Request', ID], ['details', 'Details', DICT], ['error', 'Error', URI]], true),
  layout(MessageType.PUBLISH, [['request', 'Request', ID], ['options', 'Options', DICT], ['topic', 'Topic', URI]], true),
  layout(MessageType.PUBLISHED, [['request', 'PUBLISH.Request', ID], ['publication', 'Publication', ID]]),
  layout(MessageType.SUBSCRIBE, [['request', 'Request', ID], ['options', 'Options', DICT], ['topic', 'Topic', URI]]),
  layout(MessageType.SUBSCRIBED, [['request', 'SUBSCRIBE.Request', ID], ['subscription', 'Subscription', ID]]),
  layout(MessageType.UNSUBSCRIBE, [['request', 'Request', ID], ['subscription', 'SUBSCRIBED.Subscription', ID]]),
  layout(MessageType.UNSUBSCRIBED, [['request', 'UNSUBSCRIBE.Request', ID_OR_ZERO]], false, true),
  layout(MessageType.EVENT, [['subscription', 'SUBSCRIBED.Subscription', ID], ['publication', 'PUBLISHED.Publication', ID], ['details', 'Details', DICT]], true),
  layout(MessageType.CALL, [['request', 'Request', ID], ['options', 'Options', DICT], ['procedure', 'Procedure', URI]], true),
  layout(MessageType.CANCEL, [['request', 'CALL.Request', ID], ['options', 'Options', DICT]]),
  layout(MessageType.RESULT, [['request', 'CALL.Request', ID], ['details', 'Details', DICT]], true),
  layout(MessageType.REGISTER, [['request', 'Request', ID], ['options', 'Options', DICT], ['procedure', 'Procedure', URI]]),
  layout(MessageType.REGISTERED, [['request', 'REGISTER.Request', ID], ['registration', 'Registration', ID]]),
  layout(MessageType.UNREGISTER, [['request', 'Request', ID], ['registration', 'REGISTERED.Registration', ID]]),
  layout(MessageType.UNREGISTERED, [['request', 'UNREGISTER.Request', ID_OR_ZERO]], false, true),
  layout(MessageType.INVOCATION, [['request', 'Request', ID], ['registration', 'REGISTERED.Registration', ID], ['details', 'Details', DICT]], true),
  layout(MessageType.INTERRUPT, [['request', 'INVOCATION.Request', ID], ['options', 'Options', DICT]]),
  layout(MessageType.YIELD, [['request', 'INVOCATION.Request', ID], ['options', 'Options', DICT]], true),
]);

/**
 * Checks a decoded value against its message layout.
 * Basic Profile "Protocol Errors": "an invalid message (empty array, unknown type)" and elements of
 * the wrong type are protocol violations.
 */
export function parseMessage(value: unknown): ParseResult {
  if (!Array.isArray(value) || value.length === 0) return violation('a WAMP message is a non-empty list');
  const type = value[0];
  if (typeof type !== 'number') return violation('the message type must be an integer');
  const layout = LAYOUTS.get(type);
  if (!layout) return violation(`unknown message type ${String(type)}`);
  const { name, fields } = layout;
  const min = fields.length + 1;
  const max = min + (layout.payload ? 2 : layout.revocable ? 1 : 0);
  if (value.length < min || value.length > max) return violation(`${name} has ${value.length - 1} elements, expected ${min - 1}${max > min ? `-${max - 1}` : ''}`);
  const message: Record<string, unknown> = { type };
  for (let i = 0; i < fields.length; i++) {
    const [property, field, check] = fields[i]!;
    const element = value[i + 1];
    if (!check(element)) return violation(`${name}.${field} has the wrong type`);
    message[property] = element;
  }
  if (value.length > min) {
    const extra = value[min];
    if (layout.revocable) {
      if (!isDict(extra)) return violation(`${name}.Details must be a dict`);
      message.details = extra;
    } else {
      if (!Array.isArray(extra)) return violation(`${name}.Arguments must be a list`);
      message.args = extra;
      if (value.length > min + 1) {
        const kwargs = value[min + 1];
        if (!isDict(kwargs)) return violation(`${name}.ArgumentsKw must be a dict`);
        message.kwargs = kwargs;
      }
    }
  }
  return { ok: true, message: message as unknown as WampMessage };
}

/** Decodes and parses one WebSocket message in `serializer`. Never throws. */
export function decodeMessage(serializer: Serializer, data: string | Uint8Array, isBinary: boolean): ParseResult {
  const decoded = serializer.decode(data, isBinary);
  if (!decoded.ok) return decoded;
  return parseMessage(decoded.value);
}

// -------------------------------------------------------------------------------------- generate

/**
 * Appends the payload. "ArgumentsKw can only be present if Arguments is present" (as `[]`), and
 * peers "SHOULD NOT send an empty Arguments list or an empty ArgumentsKw dict" (Basic Profile
 * "Empty Arguments and Keyword Arguments").
 */
export function withPayload(list: unknown[], args: Args | undefined, kwargs: Dict | undefined): unknown[] {
  const hasKwargs = kwargs !== undefined && Object.keys(kwargs).length > 0;
  if (hasKwargs) list.push(args ?? [], kwargs);
  else if (args !== undefined && args.length > 0) list.push(args);
  return list;
}

/** The list form of a message, ready for a serializer. */
export function generateMessage(message: WampMessage): unknown[] {
  const layout = LAYOUTS.get(message.type)!;
  const fields = layout.fields;
  const source = message as unknown as Record<string, unknown>;
  const list: unknown[] = [message.type];
  for (let i = 0; i < fields.length; i++) list.push(source[fields[i]![0]]);
  if (layout.payload) return withPayload(list, source.args as Args | undefined, source.kwargs as Dict | undefined);
  if (layout.revocable && source.details !== undefined) list.push(source.details);
  return list;
}

/** Encodes a message in `serializer`. */
export function encodeMessage(serializer: Serializer, message: WampMessage): string | Uint8Array {
  return serializer.encode(generateMessage(message));
}

/** For errors and logs: text of a wire message, shortened. */
export function describeWire(data: string | Uint8Array): string {
  const text = typeof data === 'string' ? data : textDecoder.decode(data.subarray(0, 64));
  return text.length > 64 ? text.slice(0, 64) + '...' : text;
}
