/**
 * OCPP-J numbers and names: subprotocol ids, message type numbers, error codes with each
 * version's spelling, and limits.
 */

/** The IANA subprotocol ids this package serves, best first. */
export const OcppVersion = {
  V21: 'ocpp2.1',
  V201: 'ocpp2.0.1',
  V16: 'ocpp1.6',
} as const;
export type OcppVersion = (typeof OcppVersion)[keyof typeof OcppVersion];

export const OCPP_VERSIONS: readonly OcppVersion[] = [OcppVersion.V21, OcppVersion.V201, OcppVersion.V16];

export function isOcppVersion(value: string): value is OcppVersion {
  return value === OcppVersion.V21 || value === OcppVersion.V201 || value === OcppVersion.V16;
}

/**
 * Message type numbers. OCPP-J 1.6 §4.1.3 and 2.0.1 Part 4 §4.1.3 define 2, 3 and 4; OCPP 2.1
 * Part 4 §4.2 adds CALLRESULTERROR (5) and SEND (6).
 */
export const MessageType = {
  Call: 2,
  CallResult: 3,
  CallError: 4,
  CallResultError: 5,
  Send: 6,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/**
 * The error classes of the RPC framework, named once; {@link errorCodeFor} gives each version's
 * own spelling.
 */
export const ErrorClass = {
  /** 1.6 "Requested Action is not known by receiver"; same in 2.x. */
  NotImplemented: 'NotImplemented',
  /** "Requested Action is recognized but not supported by the receiver". */
  NotSupported: 'NotSupported',
  /** "An internal error occurred and the receiver was not able to process the requested Action successfully". */
  InternalError: 'InternalError',
  /** 1.6 "Payload for Action is incomplete"; 2.x "Payload for Action is not conform the PDU structure". */
  ProtocolError: 'ProtocolError',
  /** "During the processing of Action a security issue occurred preventing receiver from completing the Action successfully". */
  SecurityError: 'SecurityError',
  /** 1.6 FormationViolation "Payload for Action is syntactically incorrect or not conform the PDU structure for Action"; 2.x FormatViolation "Payload for Action is syntactically incorrect". */
  FormatViolation: 'FormatViolation',
  /** "Payload is syntactically correct but at least one field contains an invalid value". */
  PropertyConstraintViolation: 'PropertyConstraintViolation',
  /** "Payload for Action is syntactically correct but at least one of the fields violates occurrence constraints" (1.6 spells it OccurenceConstraintViolation). */
  OccurrenceConstraintViolation: 'OccurrenceConstraintViolation',
  /** "Payload for Action is syntactically correct but at least one of the fields violates data type constraints (e.g. "somestring": 12)". */
  TypeConstraintViolation: 'TypeConstraintViolation',
  /** "Any other error not covered by the previous ones". */
  GenericError: 'GenericError',
  /** 2.x only: "Content of the call is not a valid RPC Request, for example: MessageId could not be read." */
  RpcFrameworkError: 'RpcFrameworkError',
  /** 2.x only: "A message with an Message Type Number received that is not supported by this implementation." */
  MessageTypeNotSupported: 'MessageTypeNotSupported',
} as const;
export type ErrorClass = (typeof ErrorClass)[keyof typeof ErrorClass];

/** Every error code OCPP-J 1.6 Table 7 lists, spelled as printed. */
export const ERROR_CODES_16 = [
  'NotImplemented',
  'NotSupported',
  'InternalError',
  'ProtocolError',
  'SecurityError',
  'FormationViolation',
  'PropertyConstraintViolation',
  'OccurenceConstraintViolation',
  'TypeConstraintViolation',
  'GenericError',
] as const;
/** Every error code of OCPP 2.0.1 Part 4 §4.3 (and 2.1 Part 4 §4.3, the same table). */
export const ERROR_CODES_2X = [
  'FormatViolation',
  'GenericError',
  'InternalError',
  'MessageTypeNotSupported',
  'NotImplemented',
  'NotSupported',
  'OccurrenceConstraintViolation',
  'PropertyConstraintViolation',
  'ProtocolError',
  'RpcFrameworkError',
  'SecurityError',
  'TypeConstraintViolation',
] as const;
export type ErrorCode16 = (typeof ERROR_CODES_16)[number];
export type ErrorCode2x = (typeof ERROR_CODES_2X)[number];
export type OcppErrorCode = ErrorCode16 | ErrorCode2x;

const codes16: ReadonlySet<string> = new Set(ERROR_CODES_16);
const codes2x: ReadonlySet<string> = new Set(ERROR_CODES_2X);

/** Whether `code` is in the error table of `version` (spelling included). */
export function isErrorCodeOf(version: OcppVersion, code: string): boolean {
  return version === OcppVersion.V16 ? codes16.has(code) : codes2x.has(code);
}

/**
 * The wire spelling of an error class in `version`. 1.6 keeps its two misspellings
 * (FormationViolation, OccurenceConstraintViolation) and has no RpcFrameworkError or
 * MessageTypeNotSupported: they become FormationViolation ("syntactically incorrect or not
 * conform the PDU structure") and GenericError.
 */
export function errorCodeFor(version: OcppVersion, errorClass: ErrorClass): OcppErrorCode {
  if (version !== OcppVersion.V16) return errorClass;
  switch (errorClass) {
    case ErrorClass.FormatViolation:
    case ErrorClass.RpcFrameworkError:
      return 'FormationViolation';
    case ErrorClass.OccurrenceConstraintViolation:
      return 'OccurenceConstraintViolation';
    case ErrorClass.MessageTypeNotSupported:
      return 'GenericError';
    default:
      return errorClass;
  }
}

const classBySpelling: ReadonlyMap<string, ErrorClass> = new Map<string, ErrorClass>([
  ...Object.values(ErrorClass).map((value) => [value, value] as [string, ErrorClass]),
  ['FormationViolation', ErrorClass.FormatViolation],
  ['OccurenceConstraintViolation', ErrorClass.OccurrenceConstraintViolation],
]);

/**
 * `code` spelled as `version` spells it: `'OccurrenceConstraintViolation'` becomes
 * `'OccurenceConstraintViolation'` for 1.6 and back for 2.x. Undefined for a code neither table has.
 */
export function normalizeErrorCode(version: OcppVersion, code: string): OcppErrorCode | undefined {
  if (isErrorCodeOf(version, code)) return code as OcppErrorCode;
  const errorClass = classBySpelling.get(code);
  return errorClass === undefined ? undefined : errorCodeFor(version, errorClass);
}

/**
 * OCPP-J 1.6 §4.1.4 and 2.0.1 Part 4 §4.1.4: "The message ID ... Maximum of 36 characters, to
 * allow for GUIDs".
 */
export const MAX_MESSAGE_ID_LENGTH = 36;

/**
 * 2.0.1 Part 4 §4.2.3: when the message id of a message cannot be read, the CALLERROR carries
 * message id "-1".
 */
export const UNKNOWN_MESSAGE_ID = '-1';

/** 2.0.1 Part 4 §4.2.3: errorDescription is a string of at most 255 characters. */
export const MAX_ERROR_DESCRIPTION_LENGTH = 255;

/**
 * 2.0.1 Part 4 §3.1.1 (connection URL: the maximum length of the identity is 48), 2.0.1 Part 2
 * (security) and the OCPP 1.6 security whitepaper: the charging station identity is at most 48
 * characters (the Basic user-id and the certificate CN carry it). Counted on the percent-decoded
 * identity.
 */
export const MAX_IDENTITY_LENGTH = 48;
