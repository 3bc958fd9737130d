/**
 * @protoplex/ocpp: an OCPP-J 1.6, 2.0.1 and 2.1 central system (CSMS) over WebSocket.
 */

// Adapter and CSMS API
export { ocpp, ocppDefaults } from './adapter.js';
export { DEFAULT_HANDLED_ACTIONS } from './defaults.js';
export type { AuthenticateHook, AuthenticateInfo, OcppAdapter, OcppOptions, OcppStats, PrecompileTarget } from './adapter.js';
export type { SecurityProfile } from './security.js';
export type {
  ActionMaps,
  ActionOf,
  CallActionOf,
  CallContext,
  CallHandler,
  CallOptions,
  CsmsEvents,
  RequestOf,
  ResponseOf,
  StationHandle,
  StationInfo,
} from './types.js';

// Errors
export { OcppCallError, OcppNotConnectedError, OcppTimeoutError } from './errors.js';

// Constants
export {
  ERROR_CODES_16,
  ERROR_CODES_2X,
  ErrorClass,
  MAX_IDENTITY_LENGTH,
  MAX_MESSAGE_ID_LENGTH,
  MessageType,
  OCPP_VERSIONS,
  OcppVersion,
  UNKNOWN_MESSAGE_ID,
  errorCodeFor,
  isErrorCodeOf,
  isOcppVersion,
  normalizeErrorCode,
} from './constants.js';
export type { ErrorCode16, ErrorCode2x, OcppErrorCode } from './constants.js';

// Codec
export { encodeCall, encodeCallError, encodeCallResult, encodeFrame, encodeSend, parseMessage } from './codec.js';
export type { CallErrorFrame, CallFrame, CallResultFrame, OcppFrame, ParseFailure, ParseResult, SendFrame } from './codec.js';

// Schemas and validation
export { SCHEMA_CORRECTIONS, actionsOf, classifyError, isActionOf, isSendOnly, schemaOf, validatePayload } from './schemas.js';
export type { Direction, JsonSchema, PayloadViolation, SchemaCorrection } from './schemas.js';

// Identity and topics
export { identityProblem, parseBasicAuth } from './identity.js';
export type { BasicCredentials } from './identity.js';
export { COMMAND_FILTER, commandFilter, fromBusTopic, toBusTopic } from './topics.js';
export { CommandErrorCode } from './commands.js';
export type { CommandErrorResult } from './commands.js';
export type { OcppTopic } from './topics.js';

// Generated message types, one namespace per version
import type * as Ocpp16 from './generated/ocpp16.js';
import type * as Ocpp201 from './generated/ocpp201.js';
import type * as Ocpp21 from './generated/ocpp21.js';
export type { Ocpp16, Ocpp201, Ocpp21 };
export type { ActionMap16 } from './generated/ocpp16.js';
export type { ActionMap201 } from './generated/ocpp201.js';
export type { ActionMap21 } from './generated/ocpp21.js';
