/**
 * WAMP payloads <-> bus payloads. A WAMP publication carries `Arguments|list` and
 * `ArgumentsKw|dict` (Basic Profile "PUBLISH"); the bus carries bytes with a content type, so
 * MQTT, STOMP and OCPP peers see the plain value where there is one, and JSON otherwise.
 *
 * - exactly one argument and no keyword arguments: a string travels as UTF-8 text, bytes as
 *   themselves, any other value as its JSON;
 * - anything else (keyword arguments, or several arguments): the JSON envelope `{ args, kwargs }`,
 *   marked with the header `wamp-payload: args-kwargs` so that the way back restores both lists;
 * - no arguments at all: an empty payload.
 *
 * Pure: no I/O, no throw on any input a WAMP serializer can decode or the bus can carry.
 */
import { isUtf8 } from 'node:buffer';
import { containsBytes, type Args, type Dict } from './codec.js';

/** The header that marks a JSON `{ args, kwargs }` envelope. */
export const WAMP_PAYLOAD_HEADER = 'wamp-payload';
export const ARGS_KWARGS = 'args-kwargs';

export const TEXT_PLAIN = 'text/plain; charset=utf-8';
export const OCTET_STREAM = 'application/octet-stream';
export const APPLICATION_JSON = 'application/json';

/** What a bus message carries besides topic, origin and QoS. */
export interface BusPayload {
  readonly payload: Uint8Array;
  readonly contentType?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** A WAMP payload as EVENT carries it: `args` absent or non-empty, `kwargs` only with `args`. */
export interface WampPayload {
  readonly args?: unknown[];
  readonly kwargs?: Dict;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const EMPTY = new Uint8Array(0);
const ENVELOPE_HEADERS: Readonly<Record<string, string>> = Object.freeze({ [WAMP_PAYLOAD_HEADER]: ARGS_KWARGS });

/** Whether a dict has at least one key ("SHOULD NOT send ... an empty ArgumentsKw dict"). */
function hasKeys(value: Dict | undefined): value is Dict {
  if (value === undefined) return false;
  for (const _ in value) return true;
  return false;
}

/**
 * JSON for the bus. Bytes nested in a value follow the Advanced Profile "Binary support in JSON"
 * convention (a string of NUL then base64), the one the JSON serializer uses, so they come back
 * as bytes; JSON has no integers beyond 2^53, so a BigInt becomes the nearest number. The
 * replacer reads the holder (`this[key]`) because a Buffer's `toJSON` has already run on `value`.
 */
function replacer(this: unknown, key: string, value: unknown): unknown {
  const raw = (this as Record<string, unknown>)[key];
  if (raw instanceof Uint8Array) return '\u0000' + Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64');
  if (typeof raw === 'bigint') return Number(raw);
  return value;
}

function reviver(_key: string, value: unknown): unknown {
  if (typeof value === 'string' && value.charCodeAt(0) === 0) {
    // A Buffer, as every byte value inside the router: the JSON serializer looks for Buffers.
    return Buffer.from(value.slice(1), 'base64');
  }
  return value;
}

function toJson(value: unknown): string {
  // `undefined` (msgpackr and cbor-x decode it) has no JSON text of its own: it is null there.
  const text = JSON.stringify(value, containsBytes(value) ? replacer : bigintSafe);
  return text ?? 'null';
}

/** The cheap replacer: only BigInts (from CBOR bignums) would make JSON.stringify throw. */
function bigintSafe(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? Number(value) : value;
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: text.includes('\\u0000') ? JSON.parse(text, reviver) : JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

/** The bus form of a WAMP publication's payload. */
export function toBusPayload(args: Args | undefined, kwargs: Dict | undefined): BusPayload {
  const withKwargs = hasKeys(kwargs);
  if (!withKwargs) {
    if (args === undefined || args.length === 0) return { payload: EMPTY };
    if (args.length === 1) {
      const value = args[0];
      if (typeof value === 'string') return { payload: encoder.encode(value), contentType: TEXT_PLAIN };
      if (value instanceof Uint8Array) return { payload: value, contentType: OCTET_STREAM };
      return { payload: encoder.encode(toJson(value)), contentType: APPLICATION_JSON };
    }
  }
  const envelope: { args: Args; kwargs?: Dict } = { args: args ?? [] };
  if (withKwargs) envelope.kwargs = kwargs;
  return { payload: encoder.encode(toJson(envelope)), contentType: APPLICATION_JSON, headers: ENVELOPE_HEADERS };
}

function isDict(value: unknown): value is Dict {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

/** The envelope's lists, or undefined when the text is not one. */
function envelopeOf(payload: Uint8Array): WampPayload | undefined {
  if (!isUtf8(payload)) return undefined;
  const parsed = parseJson(decoder.decode(payload));
  if (!parsed.ok || !isDict(parsed.value)) return undefined;
  const { args, kwargs } = parsed.value;
  if (args !== undefined && !Array.isArray(args)) return undefined;
  if (kwargs !== undefined && !isDict(kwargs)) return undefined;
  return normalize(args as unknown[] | undefined, kwargs as Dict | undefined);
}

/** The EVENT form: "ArgumentsKw can only be present if Arguments is present", empty ones omitted. */
function normalize(args: unknown[] | undefined, kwargs: Dict | undefined): WampPayload {
  if (hasKeys(kwargs)) return { args: args ?? [], kwargs };
  if (args !== undefined && args.length > 0) return { args };
  return {};
}

function lowerMediaType(contentType: string | undefined): string {
  return contentType === undefined ? '' : contentType.trimStart().toLowerCase();
}

/**
 * The WAMP payload of a bus message:
 * - the `args-kwargs` envelope gives back both lists;
 * - an empty payload carries no arguments, unless its content type says it is an empty text or
 *   empty bytes (a STOMP frame with an empty body, say);
 * - `application/json` is parsed into one argument (text that does not parse stays text);
 * - `application/octet-stream` stays bytes;
 * - otherwise valid UTF-8 becomes one string argument and anything else one bytes argument.
 */
export function fromBusPayload(message: BusPayload): WampPayload {
  // Bytes handed to WAMP are Buffers: the JSON serializer recognises bytes by Buffer's JSON form.
  const payload = Buffer.isBuffer(message.payload) ? message.payload : Buffer.from(message.payload.buffer, message.payload.byteOffset, message.payload.byteLength);
  const type = lowerMediaType(message.contentType);
  if (message.headers?.[WAMP_PAYLOAD_HEADER] === ARGS_KWARGS) {
    const envelope = envelopeOf(payload);
    if (envelope) return envelope;
  }
  if (payload.length === 0) {
    if (type.startsWith('text/')) return { args: [''] };
    if (type.startsWith(OCTET_STREAM)) return { args: [payload] };
    return {};
  }
  if (type.startsWith(OCTET_STREAM)) return { args: [payload] };
  if (!isUtf8(payload)) return { args: [payload] };
  const text = decoder.decode(payload);
  if (type.startsWith(APPLICATION_JSON)) {
    const parsed = parseJson(text);
    if (parsed.ok) return { args: [parsed.value] };
  }
  return { args: [text] };
}
