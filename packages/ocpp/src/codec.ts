/**
 * OCPP-J RPC framing: text to typed frames and back. Pure, no session state, never throws on
 * input: a message that cannot be read comes back as a {@link ParseFailure} saying which
 * CALLERROR answers it.
 */
import {
  ErrorClass,
  MAX_ERROR_DESCRIPTION_LENGTH,
  MAX_MESSAGE_ID_LENGTH,
  MessageType,
  OcppVersion,
  UNKNOWN_MESSAGE_ID,
} from './constants.js';

/** `[2, id, action, payload]` */
export interface CallFrame {
  readonly type: typeof MessageType.Call;
  readonly id: string;
  readonly action: string;
  readonly payload: Record<string, unknown>;
}
/** `[3, id, payload]` */
export interface CallResultFrame {
  readonly type: typeof MessageType.CallResult;
  readonly id: string;
  readonly payload: Record<string, unknown>;
}
/** `[4, id, code, description, details]`, and in 2.1 `[5, ...]` (CALLRESULTERROR). */
export interface CallErrorFrame {
  readonly type: typeof MessageType.CallError | typeof MessageType.CallResultError;
  readonly id: string;
  readonly code: string;
  readonly description: string;
  readonly details: Record<string, unknown>;
}
/** 2.1 `[6, id, action, payload]`: never answered. */
export interface SendFrame {
  readonly type: typeof MessageType.Send;
  readonly id: string;
  readonly action: string;
  readonly payload: Record<string, unknown>;
}
export type OcppFrame = CallFrame | CallResultFrame | CallErrorFrame | SendFrame;

/** Why a message is not an OCPP frame, and how to answer it. */
export interface ParseFailure {
  /** The message id to answer with: the frame's own when it could be read, else "-1". */
  readonly id: string;
  readonly errorClass: ErrorClass;
  readonly description: string;
  /** Set for a well-formed frame whose message type number this version does not define. */
  readonly messageType?: number;
  /** The frame's message type number when it could be read (2 for a broken CALL...). */
  readonly frameType?: number;
}

export type ParseResult = { readonly ok: true; readonly frame: OcppFrame } | { readonly ok: false; readonly error: ParseFailure };

const fail = (id: string, errorClass: ErrorClass, description: string, frameType?: number, unsupported = false): ParseResult => ({
  ok: false,
  error:
    frameType === undefined
      ? { id, errorClass, description }
      : unsupported
        ? { id, errorClass, description, frameType, messageType: frameType }
        : { id, errorClass, description, frameType },
});

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Reads one text message as an OCPP-J frame of `version`.
 *
 * OCPP-J 1.6 §4.1.3 and 2.0.1 Part 4 §4.1.3: a message is a JSON array whose first element is the
 * message type number and whose second is the message id; §4.1.4: the id is a string of
 * "Maximum of 36 characters". 2.0.1 Part 4 §4.2.3: when "the messageId cannot be read", the
 * CALLERROR carries messageId "-1" (RpcFrameworkError). OCPP 2.1 Part 4 §4.2 adds types 5 and 6.
 */
export function parseMessage(text: string, version: OcppVersion): ParseResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return fail(UNKNOWN_MESSAGE_ID, ErrorClass.RpcFrameworkError, 'Message is not valid JSON');
  }
  if (!Array.isArray(value)) return fail(UNKNOWN_MESSAGE_ID, ErrorClass.RpcFrameworkError, 'Message is not a JSON array');
  const type: unknown = value[0];
  const rawId: unknown = value[1];
  const v21 = version === OcppVersion.V21;
  // The frame type, when it is one this version defines, rides along with an unreadable id: the
  // session must still know a SEND (never answered) or a CALLRESULT/CALLERROR (never answered
  // with a CALLERROR) from a CALL.
  const knownType = isKnownType(type, v21) ? type : undefined;
  const readableId = typeof rawId === 'string' && rawId.length > 0 && rawId.length <= MAX_MESSAGE_ID_LENGTH ? rawId : undefined;
  if (knownType === undefined && typeof type === 'number' && Number.isInteger(type)) {
    // An integer type this version does not define is decided before the id: 1.6 §4.1.3 ignores
    // such a message whatever its id, 2.x answers MessageTypeNotSupported ("-1" when the id is
    // unreadable too).
    return fail(readableId ?? UNKNOWN_MESSAGE_ID, ErrorClass.MessageTypeNotSupported, `Message type ${type} is not supported`, type, true);
  }
  if (typeof rawId !== 'string') {
    return fail(UNKNOWN_MESSAGE_ID, ErrorClass.RpcFrameworkError, 'MessageId could not be read: it must be a string', knownType);
  }
  if (rawId.length === 0 || rawId.length > MAX_MESSAGE_ID_LENGTH) {
    return fail(UNKNOWN_MESSAGE_ID, ErrorClass.RpcFrameworkError, `MessageId must be 1 to ${MAX_MESSAGE_ID_LENGTH} characters`, knownType);
  }
  const id = rawId;
  if (typeof type !== 'number' || !Number.isInteger(type)) {
    return fail(id, ErrorClass.RpcFrameworkError, 'MessageTypeId must be an integer');
  }
  switch (type) {
    case MessageType.Call:
    case MessageType.Send: {
      if (type === MessageType.Send && !v21) break;
      if (value.length !== 4) return fail(id, ErrorClass.RpcFrameworkError, `${type === 2 ? 'CALL' : 'SEND'} must have 4 elements`, type);
      const action: unknown = value[2];
      if (typeof action !== 'string' || action.length === 0) return fail(id, ErrorClass.RpcFrameworkError, 'Action must be a non-empty string', type);
      const payload: unknown = value[3];
      if (!isObject(payload)) return fail(id, ErrorClass.FormatViolation, 'Payload must be a JSON object', type);
      return { ok: true, frame: { type, id, action, payload } };
    }
    case MessageType.CallResult: {
      if (value.length !== 3) return fail(id, ErrorClass.RpcFrameworkError, 'CALLRESULT must have 3 elements', type);
      const payload: unknown = value[2];
      if (!isObject(payload)) return fail(id, ErrorClass.FormatViolation, 'Payload must be a JSON object', type);
      return { ok: true, frame: { type, id, payload } };
    }
    case MessageType.CallError:
    case MessageType.CallResultError: {
      if (type === MessageType.CallResultError && !v21) break;
      if (value.length !== 5) return fail(id, ErrorClass.RpcFrameworkError, 'CALLERROR must have 5 elements', type);
      const [, , code, description, details] = value as unknown[];
      if (typeof code !== 'string' || typeof description !== 'string' || !isObject(details)) {
        return fail(id, ErrorClass.RpcFrameworkError, 'CALLERROR needs a string code, a string description and an object of details', type);
      }
      return { ok: true, frame: { type, id, code, description, details } };
    }
    default:
      break;
  }
  return fail(id, ErrorClass.MessageTypeNotSupported, `Message type ${type} is not supported`, type, true);
}

function isKnownType(type: unknown, v21: boolean): type is MessageType {
  return type === MessageType.Call || type === MessageType.CallResult || type === MessageType.CallError || (v21 && (type === MessageType.CallResultError || type === MessageType.Send));
}

/** `[2, id, action, payload]` */
export function encodeCall(id: string, action: string, payload: unknown): string {
  return `[2,${JSON.stringify(id)},${JSON.stringify(action)},${JSON.stringify(payload)}]`;
}

/** 2.1 `[6, id, action, payload]` */
export function encodeSend(id: string, action: string, payload: unknown): string {
  return `[6,${JSON.stringify(id)},${JSON.stringify(action)},${JSON.stringify(payload)}]`;
}

/** `[3, id, payload]` */
export function encodeCallResult(id: string, payload: unknown): string {
  return `[3,${JSON.stringify(id)},${JSON.stringify(payload)}]`;
}

/**
 * `[4, id, code, description, details]`, or with `resultError` the 2.1 CALLRESULTERROR `[5, ...]`.
 * The description is cut to 255 characters (2.0.1 Part 4 §4.2.3).
 */
export function encodeCallError(
  id: string,
  code: string,
  description: string,
  details: Record<string, unknown> = {},
  resultError = false,
): string {
  const text = description.length > MAX_ERROR_DESCRIPTION_LENGTH ? description.slice(0, MAX_ERROR_DESCRIPTION_LENGTH) : description;
  return `[${resultError ? 5 : 4},${JSON.stringify(id)},${JSON.stringify(code)},${JSON.stringify(text)},${JSON.stringify(details)}]`;
}

/** Encodes any frame; the inverse of {@link parseMessage} for valid frames. */
export function encodeFrame(frame: OcppFrame): string {
  switch (frame.type) {
    case MessageType.Call:
      return encodeCall(frame.id, frame.action, frame.payload);
    case MessageType.Send:
      return encodeSend(frame.id, frame.action, frame.payload);
    case MessageType.CallResult:
      return encodeCallResult(frame.id, frame.payload);
    default:
      return encodeCallError(frame.id, frame.code, frame.description, frame.details, frame.type === MessageType.CallResultError);
  }
}
