/**
 * Commands from the bus: a message on `ocpp/cs/{identity}/{Action}` becomes a CALL to that
 * station, and exactly one result goes to `ocpp/cs/{identity}/{Action}/result`, whatever
 * happens: the CALLRESULT, the station's CALLERROR, or an error the CSMS made up itself (station
 * not connected, payload not JSON, request failing its schema, timeout). Every error result has
 * one shape, `{ errorCode, errorDescription, errorDetails }`, with header
 * `ocpp-message-type: CALLERROR`. A result is built only when the bus has a subscriber for its
 * topic: nobody else could receive it.
 */
import { publishToBus, type Bus, type BusMessage, type Logger } from '@protoplex/core';
import { ErrorClass, errorCodeFor, OcppVersion } from './constants.js';
import { OcppCallError, OcppNotConnectedError, OcppTimeoutError } from './errors.js';
import type { OcppSession } from './session.js';
import { fromBusTopic, toBusTopic } from './topics.js';

/** `errorCode` of the results the CSMS makes up when no station answered. */
export const CommandErrorCode = {
  /** No connection holds the identity on this node. */
  NotConnected: 'NotConnected',
  /** The station did not answer within the call timeout. */
  Timeout: 'Timeout',
} as const;

/** The shape of every error result on `ocpp/cs/{identity}/{Action}/result`. */
export interface CommandErrorResult {
  readonly errorCode: string;
  readonly errorDescription: string;
  readonly errorDetails: Record<string, unknown>;
}

/** What the command router needs from the adapter. */
export interface CommandHost {
  /** The open session holding `identity` on this node, if any. */
  sessionOf(identity: string): OcppSession | undefined;
  /** Publish a `NotConnected` result for stations this node does not hold. */
  readonly replyNotConnected: boolean;
  /** Where a failed result publish is reported. */
  readonly log: Logger;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });
const JSON_TYPE = 'application/json';

/**
 * Handles one bus message that matched `ocpp/cs/+/+`. Never throws: failures become result
 * messages, and a failing publish is logged.
 */
export function routeCommand(bus: Bus, host: CommandHost, message: BusMessage): void {
  const topic = fromBusTopic(message.topic);
  if (!topic || topic.result || topic.direction !== 'cs') return;
  const session = host.sessionOf(topic.identity);
  const resultTopic = toBusTopic({ ...topic, result: true });
  const correlation = message.headers?.['correlation-id'];
  // Spelling of the error codes: the station's version when it is connected, else 2.x's.
  const version = session?.version ?? OcppVersion.V201;

  const reply = (type: 'CALLRESULT' | 'CALLERROR', body: unknown): void => {
    // Asked when the answer is ready: a subscriber that exists then is the one that can get it.
    if (bus.hasSubscribers?.(resultTopic) === false) return;
    const headers: Record<string, string> = { 'ocpp-message-type': type };
    if (session) headers['ocpp-protocol'] = session.version;
    if (correlation !== undefined) headers['correlation-id'] = correlation;
    publishToBus(
      bus,
      {
        topic: resultTopic,
        payload: encoder.encode(JSON.stringify(body)),
        contentType: JSON_TYPE,
        headers,
        origin: session ? { protocol: 'ocpp', connectionId: session.connectionId } : { protocol: 'ocpp' },
        qos: 0,
      },
      host.log,
    );
  };
  const replyError = (errorCode: string, errorDescription: string, errorDetails: Record<string, unknown> = {}): void => {
    const body: CommandErrorResult = { errorCode, errorDescription, errorDetails };
    reply('CALLERROR', body);
  };

  let payload: unknown;
  try {
    payload = JSON.parse(decoder.decode(message.payload));
  } catch {
    replyError(errorCodeFor(version, ErrorClass.FormatViolation), 'Command payload is not JSON');
    return;
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    // A CALL payload is a JSON object (OCPP-J 1.6 §4.2.1, 2.0.1 Part 4 §4.2.1).
    replyError(errorCodeFor(version, ErrorClass.FormatViolation), 'Command payload must be a JSON object');
    return;
  }
  if (!session || !session.isOpen) {
    if (host.replyNotConnected) replyError(CommandErrorCode.NotConnected, `Station ${JSON.stringify(topic.identity)} is not connected`);
    return;
  }
  session.call(topic.action, payload).then(
    (response) => reply('CALLRESULT', response),
    (error: unknown) => {
      if (error instanceof OcppCallError) replyError(error.code, error.description, error.details);
      else if (error instanceof OcppNotConnectedError) replyError(CommandErrorCode.NotConnected, error.message);
      else if (error instanceof OcppTimeoutError) replyError(CommandErrorCode.Timeout, error.message);
      else replyError(errorCodeFor(version, ErrorClass.GenericError), error instanceof Error ? error.message : 'call failed');
    },
  );
}
