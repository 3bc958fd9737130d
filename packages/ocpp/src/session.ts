/**
 * One charging station connection: the OCPP-J RPC state machine behind `open(connection, ctx)`.
 *
 * Inbound: CALLs are checked (action, schema), published on the bus when someone subscribes and
 * answered by the registered handler; CALLRESULT/CALLERROR settle the one outstanding server
 * CALL. Outbound: server CALLs queue and go out one at a time. Every error that ends the
 * connection is a `ProtocolError<OcppFault>` and goes through `fail()`.
 */
import {
  CloseCode,
  ProtocolError,
  limitCloseReason,
  publishToBus,
  toProtocolError,
  type AdapterContext,
  type BusMessage,
  type Connection,
  type Session,
  type Timer,
} from '@protoplex/core';
import { encodeCall, encodeCallError, parseMessage, type CallErrorFrame, type CallFrame, type CallResultFrame, type SendFrame } from './codec.js';
import { ErrorClass, MessageType, OcppVersion, UNKNOWN_MESSAGE_ID, errorCodeFor, normalizeErrorCode } from './constants.js';
import { OcppCallError, OcppNotConnectedError, OcppTimeoutError } from './errors.js';
import { isActionOf, isSendOnly, validatePayload } from './schemas.js';
import { toBusTopic } from './topics.js';
import type { CallContext, StationInfo } from './types.js';

/** A handler as the session stores it: payload and response are checked at run time. */
export type AnyCallHandler = (payload: Record<string, unknown>, context: CallContext) => unknown;

/**
 * The CALLERROR `fail()` sends before it closes, when the spec names one for the failure: the
 * `detail` of the session's `ProtocolError`. Without it, `fail()` only closes.
 */
export interface OcppFault {
  /** The offending message's id, or "-1" when it could not be read (2.0.1 Part 4 §4.2.3). */
  readonly messageId: string;
  readonly errorClass: ErrorClass;
  /** `errorDescription` of the CALLERROR; the close reason is the error's own message. */
  readonly description: string;
}

/** What a session needs from the adapter object that owns the station table. */
export interface SessionHost {
  readonly validate: boolean;
  readonly callTimeout: number;
  readonly maxMessageLength: number;
  readonly publish: boolean;
  handlerFor(version: OcppVersion, action: string): AnyCallHandler | undefined;
  /** The session is open and identified; the host registers it (and replaces an older one). */
  attach(session: OcppSession): void;
  /** The session closed; called once. */
  detach(session: OcppSession, code: number, reason: string): void;
}

interface PendingCall {
  readonly action: string;
  readonly payload: unknown;
  readonly timeout: number;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
  id: string;
  timer: Timer | undefined;
}

const encoder = new TextEncoder();
const JSON_TYPE = 'application/json';

/** Counter shared by all sessions; with the per-process prefix it keeps message ids unique. */
let idCounter = 0;
const idPrefix = Math.floor(Math.random() * 0xffffffff).toString(36);

export class OcppSession implements Session {
  readonly identity: string;
  readonly version: OcppVersion;
  readonly connectedAt: number;
  lastMessageAt: number;
  lastAction: string | undefined;

  private readonly connection: Connection;
  private readonly context: AdapterContext;
  private readonly host: SessionHost;
  private closed = false;
  /** Message id of the station CALL being handled, if any (OCPP-J §4.1.1: one at a time). */
  private inboundId: string | undefined;
  private inFlight: PendingCall | undefined;
  private readonly queue: PendingCall[] = [];
  /** Guards an asynchronous handler that never settles, so the station is not blocked forever. */
  private handlerTimer: Timer | undefined;
  /** Bus topics by action and direction, built once per action: `ocpp/cp/{identity}/{Action}[/result]`. */
  private readonly upTopics = new Map<string, readonly [string, string]>();

  constructor(connection: Connection, context: AdapterContext, host: SessionHost, identity: string, version: OcppVersion) {
    this.connection = connection;
    this.context = context;
    this.host = host;
    this.identity = identity;
    this.version = version;
    this.connectedAt = context.clock.now();
    this.lastMessageAt = this.connectedAt;
  }

  get connectionId(): string {
    return this.connection.id;
  }

  /** False once the session closed or started closing. */
  get isOpen(): boolean {
    return !this.closed && this.connection.isOpen;
  }

  /** Set by the host while this session is the one listed under its identity. */
  registered = false;

  info(): StationInfo {
    return {
      identity: this.identity,
      protocol: this.version,
      connectedAt: this.connectedAt,
      lastMessageAt: this.lastMessageAt,
      lastAction: this.lastAction,
    };
  }

  /**
   * Registers with the host, which lists it under its identity (and routes bus commands to it).
   * Called once by the adapter's `open`.
   */
  start(): void {
    this.host.attach(this);
  }

  // ------------------------------------------------------------------------------------------
  // Inbound

  onMessage(data: Uint8Array | string, isBinary: boolean): void {
    if (this.closed) return;
    try {
      this.lastMessageAt = this.context.clock.now();
      if (isBinary || typeof data !== 'string') {
        // OCPP-J messages are JSON text; RFC 6455 §7.4.1: 1003 "indicates that an endpoint is
        // terminating the connection because it has received a type of data it cannot accept
        // (e.g., an endpoint that understands only text data MAY send this if it receives a
        // binary message)". The CALLERROR carries "-1": a binary frame's id is not read.
        throw new ProtocolError<OcppFault>(CloseCode.UnsupportedData, 'binary frames are not OCPP-J messages', {
          detail: { messageId: UNKNOWN_MESSAGE_ID, errorClass: ErrorClass.RpcFrameworkError, description: 'OCPP-J messages must be text frames' },
        });
      }
      if (data.length > this.host.maxMessageLength) {
        // RFC 6455 §7.4.1: 1009 "indicates that an endpoint is terminating the connection
        // because it has received a message that is too big for it to process". Not parsed, so
        // its id is unknown: "-1" (2.0.1 Part 4 §4.2.3).
        throw new ProtocolError<OcppFault>(CloseCode.MessageTooBig, 'message too big', {
          detail: { messageId: UNKNOWN_MESSAGE_ID, errorClass: ErrorClass.RpcFrameworkError, description: `Message longer than ${this.host.maxMessageLength} characters` },
        });
      }
      const parsed = parseMessage(data, this.version);
      if (!parsed.ok) {
        const { error } = parsed;
        if (error.messageType !== undefined && this.version === OcppVersion.V16) {
          // OCPP-J 1.6 §4.1.3: "When a server receives a message with a Message Type Number not
          // in this list, it SHALL ignore the message payload."
          return;
        }
        if (error.frameType === MessageType.Send && error.messageType === undefined) {
          // OCPP 2.1 Part 4 §4.2.5 (SEND): a SEND gets no response at all, a CALLERROR included,
          // so a malformed one is dropped like an invalid one. (Section number as read from the
          // 2.1 text by the first pass; not re-verified.)
          return;
        }
        if (error.frameType === MessageType.CallResultError && error.messageType === undefined) {
          // A malformed CALLRESULTERROR reports on one of our CALLRESULTs, not on a pending CALL,
          // and nothing answers an error frame (2.1 Part 4 §4.2.4): note it and go on.
          this.context.log.warn({ identity: this.identity, id: error.id }, 'malformed CALLRESULTERROR from station');
          return;
        }
        if (error.messageType === undefined && (error.frameType === MessageType.CallResult || error.frameType === MessageType.CallError)) {
          this.onBrokenAnswer(error.id, error.frameType, errorCodeFor(this.version, error.errorClass), error.description);
          return;
        }
        // 2.0.1 and 2.1 Part 4 §4.2.3: "When also the MessageId cannot be read, the CALLERROR SHALL
        // contain "-1"" (wording as quoted by a second implementation; not re-read from the PDF).
        // The connection stays up: no part of OCPP-J names a close for a bad message. OCPP-J 1.6
        // has no such rule; we apply the 2.x one with 1.6's FormationViolation.
        this.sendError(error.id, error.errorClass, error.description);
        return;
      }
      const frame = parsed.frame;
      switch (frame.type) {
        case MessageType.Call:
          this.onCall(frame, data);
          break;
        case MessageType.Send:
          this.onSend(frame, data);
          break;
        case MessageType.CallResult:
          this.onCallResult(frame);
          break;
        case MessageType.CallError:
          this.onCallError(frame);
          break;
        case MessageType.CallResultError:
          // 2.1: the station could not use one of our CALLRESULTs. Nothing to retry; note it.
          this.context.log.warn({ identity: this.identity, code: frame.code, description: frame.description }, 'station refused a CALLRESULT');
          break;
      }
    } catch (error) {
      // Nothing may escape onMessage (contract). A ProtocolError ends the connection as it says;
      // anything else is a bug, logged, and ends this connection only, with 1011.
      this.fail(toProtocolError<OcppFault>(error, this.context.log));
    }
  }

  private onCall(frame: CallFrame, text: string): void {
    const { id, action, payload } = frame;
    if (this.inboundId !== undefined) {
      // OCPP-J 1.6 §4.1.1 / 2.0.1 Part 4 §4.1.1: a party "SHOULD NOT send a CALL message to the
      // other party unless all the CALL messages it sent before have been responded to or have
      // timed out".
      this.sendErrorCode(id, this.version === OcppVersion.V16 ? 'GenericError' : 'RpcFrameworkError', `CALL ${this.inboundId} is still being processed; send one CALL at a time`);
      return;
    }
    if (!isActionOf(this.version, action)) {
      this.sendError(id, ErrorClass.NotImplemented, `Action ${action} is not known in ${this.version}`);
      return;
    }
    if (isSendOnly(this.version, action)) {
      this.sendError(id, ErrorClass.NotSupported, `${action} is only sent as a SEND message`);
      return;
    }
    if (this.host.validate) {
      const violation = validatePayload(this.version, action, 'request', payload);
      if (violation) {
        this.sendErrorCode(id, errorCodeFor(this.version, violation.errorClass), violation.description, violation.details);
        return;
      }
    }
    this.lastAction = action;
    this.publishInbound(frame, text);
    const handler = this.host.handlerFor(this.version, action);
    if (!handler) {
      this.sendError(id, ErrorClass.NotSupported, `No handler for ${action}`);
      return;
    }
    this.inboundId = id;
    let result: unknown;
    try {
      result = handler(payload, { identity: this.identity, protocol: this.version, messageId: id, kind: 'call' });
    } catch (error) {
      this.answerFailure(id, action, error);
      return;
    }
    if (isThenable(result)) {
      this.handlerTimer = this.context.clock.setTimeout(() => this.answerFailure(id, action, new Error(`${action} handler did not settle within ${this.host.callTimeout} ms`)), this.host.callTimeout);
      result
        .then(
          (value) => this.answer(id, action, value),
          (error: unknown) => this.answerFailure(id, action, error),
        )
        // A bug while answering (a response JSON cannot encode, say) ends the connection as it
        // would have inside onMessage.
        .then(undefined, (error: unknown) => this.fail(toProtocolError<OcppFault>(error, this.context.log)));
    } else {
      this.answer(id, action, result);
    }
  }

  private answer(id: string, action: string, response: unknown): void {
    if (this.closed || this.inboundId !== id) return;
    this.inboundDone();
    if (this.host.validate) {
      const violation = validatePayload(this.version, action, 'response', response);
      if (violation) {
        // Our handler's bug, not the station's: answer InternalError and say why in the log.
        this.context.log.error({ identity: this.identity, action, violation: violation.description }, 'handler returned an invalid response');
        this.sendError(id, ErrorClass.InternalError, `The ${action} response failed validation`);
        return;
      }
    }
    // Encode once: the same JSON goes to the station and onto the bus.
    const json = JSON.stringify(response);
    this.connection.send(`[3,${JSON.stringify(id)},${json}]`);
    const topic = this.wanted(action, true);
    if (topic !== undefined) this.publishUp(topic, id, 'CALLRESULT', json);
  }

  private answerFailure(id: string, action: string, error: unknown): void {
    if (this.closed || this.inboundId !== id) return;
    this.inboundDone();
    const code = error instanceof OcppCallError ? normalizeErrorCode(this.version, error.code) : undefined;
    if (code !== undefined && error instanceof OcppCallError) {
      this.sendErrorCode(id, code, error.description, error.details);
      const topic = this.wanted(action, true);
      if (topic !== undefined) {
        this.publishUp(topic, id, 'CALLERROR', JSON.stringify({ errorCode: code, errorDescription: error.description, errorDetails: error.details }));
      }
      return;
    }
    this.context.log.error({ identity: this.identity, action, err: error }, 'handler threw');
    this.sendError(id, ErrorClass.InternalError, 'Internal error');
  }

  private inboundDone(): void {
    this.inboundId = undefined;
    if (this.handlerTimer) {
      this.handlerTimer.cancel();
      this.handlerTimer = undefined;
    }
  }

  private onSend(frame: SendFrame, text: string): void {
    const { id, action, payload } = frame;
    // OCPP 2.1 Part 4 §4.2.5: a SEND is never answered, not even with a CALLERROR, so a bad one
    // is dropped.
    if (!isActionOf(this.version, action)) return;
    if (this.host.validate && validatePayload(this.version, action, 'request', payload)) return;
    this.lastAction = action;
    this.publishInbound(frame, text);
    const handler = this.host.handlerFor(this.version, action);
    if (!handler) return;
    try {
      const result = handler(payload, { identity: this.identity, protocol: this.version, messageId: id, kind: 'send' });
      if (isThenable(result)) result.then(undefined, (error: unknown) => this.context.log.error({ err: error }, 'SEND handler failed'));
    } catch (error) {
      this.context.log.error({ err: error }, 'SEND handler threw');
    }
  }

  private onCallResult(frame: CallResultFrame): void {
    const pending = this.inFlight;
    if (!pending || pending.id !== frame.id) {
      // A result for no outstanding CALL (late after a timeout, or invented). Neither 1.6 nor
      // 2.0.1 Part 4 §4.2.2 names an answer for it, and a CALLERROR only answers a CALL
      // (2.0.1 Part 4 §4.2.3): drop it, with a debug line for whoever chases a slow station.
      this.context.log.debug({ identity: this.identity, id: frame.id }, 'CALLRESULT for no pending CALL dropped');
      return;
    }
    this.settle();
    if (this.host.validate) {
      const violation = validatePayload(this.version, pending.action, 'response', frame.payload);
      if (violation) {
        const code = errorCodeFor(this.version, violation.errorClass);
        // OCPP 2.1 Part 4 §4.2.4: CALLRESULTERROR reports a CALLRESULT the receiver could not
        // process; 1.6 and 2.0.1 have no way to tell the station.
        if (this.version === OcppVersion.V21) this.sendResultError(frame.id, code, violation.description, { ...violation.details });
        pending.reject(new OcppCallError(code, violation.description, { ...violation.details }));
        this.pump();
        return;
      }
    }
    pending.resolve(frame.payload);
    this.pump();
  }

  /**
   * A CALLRESULT or CALLERROR that is not a well-formed frame. A CALLERROR answers only a CALL
   * (1.6 §4.2.3, 2.0.1 Part 4 §4.2.3), so none goes back; 2.1 reports a bad CALLRESULT with
   * CALLRESULTERROR (Part 4 §4.2.4). The call it answers, if we can tell, fails now rather than
   * at its timeout.
   */
  private onBrokenAnswer(id: string, frameType: number, code: string, description: string): void {
    if (this.version === OcppVersion.V21 && frameType === MessageType.CallResult) this.sendResultError(id, code, description);
    const pending = this.inFlight;
    if (!pending || pending.id !== id) return;
    this.settle();
    pending.reject(new OcppCallError(code, description));
    this.pump();
  }

  private sendResultError(id: string, code: string, description: string, details: Record<string, unknown> = {}): void {
    this.context.metrics.increment('ocpp_call_errors_sent_total', { code });
    this.connection.send(encodeCallError(id, code, description, details, true));
  }

  private onCallError(frame: CallErrorFrame): void {
    const pending = this.inFlight;
    if (!pending || pending.id !== frame.id) {
      this.context.log.debug({ identity: this.identity, id: frame.id, code: frame.code }, 'CALLERROR for no pending CALL dropped');
      return;
    }
    this.settle();
    pending.reject(new OcppCallError(frame.code, frame.description, frame.details));
    this.pump();
  }

  // ------------------------------------------------------------------------------------------
  // Outbound

  /** Queues a CALL to the station; see `StationHandle.call`. */
  call(action: string, payload: unknown, timeout = this.host.callTimeout): Promise<unknown> {
    if (!this.isOpen) return Promise.reject(new OcppNotConnectedError(`station ${JSON.stringify(this.identity)} is not connected`));
    if (!isActionOf(this.version, action) || isSendOnly(this.version, action)) {
      return Promise.reject(new OcppCallError(errorCodeFor(this.version, ErrorClass.NotImplemented), `Action ${action} is not a CALL in ${this.version}`));
    }
    if (this.host.validate) {
      const violation = validatePayload(this.version, action, 'request', payload);
      if (violation) {
        return Promise.reject(new OcppCallError(errorCodeFor(this.version, violation.errorClass), violation.description, { ...violation.details }));
      }
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ action, payload, timeout, resolve, reject, id: '', timer: undefined });
      this.pump();
    });
  }

  private pump(): void {
    while (!this.inFlight && !this.closed) {
      const next = this.queue.shift();
      if (!next) return;
      // OCPP-J 1.6 and 2.0.1 Part 4 §4.1.4: a CALL's message id differs from every id the same
      // sender used before on the connection, and is at most 36 characters; a process-wide counter
      // behind a random prefix gives at most 7 + 1 + 11 characters and never repeats in a run.
      next.id = `${idPrefix}-${(++idCounter).toString(36)}`;
      let text: string;
      try {
        text = encodeCall(next.id, next.action, next.payload);
      } catch (error) {
        // A payload JSON cannot encode (a BigInt, a cycle; possible with `validate: false`) is
        // the caller's mistake: it rejects that call, not the station's connection.
        next.reject(error instanceof Error ? error : new TypeError(String(error)));
        continue;
      }
      this.inFlight = next;
      next.timer = this.context.clock.setTimeout(() => this.onTimeout(next), next.timeout);
      this.connection.send(text);
    }
  }

  private settle(): void {
    const pending = this.inFlight;
    if (!pending) return;
    pending.timer?.cancel();
    this.inFlight = undefined;
  }

  private onTimeout(pending: PendingCall): void {
    if (this.inFlight !== pending) return;
    this.inFlight = undefined;
    pending.timer = undefined;
    pending.reject(new OcppTimeoutError(this.identity, pending.action, pending.timeout));
    this.pump();
  }

  // ------------------------------------------------------------------------------------------
  // Bus

  /**
   * The topic of a station message or of its answer when it is to be published, or undefined:
   * with `publish` off, or when the bus says nobody subscribes. Asked before anything of the
   * message (payload, headers) is built.
   */
  private wanted(action: string, result: boolean): string | undefined {
    if (!this.host.publish) return undefined;
    let topics = this.upTopics.get(action);
    if (!topics) {
      const base = toBusTopic({ direction: 'cp', identity: this.identity, action, result: false });
      topics = [base, `${base}/result`];
      this.upTopics.set(action, topics);
    }
    const topic = topics[result ? 1 : 0];
    // Station traffic nobody watches is the common case: build no message no one gets.
    return this.context.bus.hasSubscribers?.(topic) === false ? undefined : topic;
  }

  /** Publishes a station CALL or SEND, its payload taken from the text as sent when it can be. */
  private publishInbound(frame: CallFrame | SendFrame, text: string): void {
    const topic = this.wanted(frame.action, false);
    if (topic === undefined) return;
    this.publishUp(topic, frame.id, 'CALL', rawPayload(text, frame) ?? JSON.stringify(frame.payload));
  }

  private publishUp(topic: string, messageId: string, type: 'CALL' | 'CALLRESULT' | 'CALLERROR', json: string): void {
    const message: BusMessage = {
      topic,
      payload: encoder.encode(json),
      contentType: JSON_TYPE,
      headers: { 'ocpp-message-id': messageId, 'ocpp-protocol': this.version, 'ocpp-message-type': type },
      origin: { protocol: 'ocpp', connectionId: this.connection.id },
      qos: 0,
    };
    publishToBus(this.context.bus, message, this.context.log);
  }

  // ------------------------------------------------------------------------------------------
  // Errors and exit

  private sendError(id: string, errorClass: ErrorClass, description: string, details: Record<string, unknown> = {}): void {
    this.sendErrorCode(id, errorCodeFor(this.version, errorClass), description, details);
  }

  private sendErrorCode(id: string, code: string, description: string, details: Record<string, unknown> = {}): void {
    this.context.metrics.increment('ocpp_call_errors_sent_total', { code });
    this.connection.send(encodeCallError(id, code, description, details));
  }

  /**
   * The one way a session ends with an error (and the adapter's way to end a replaced or refused
   * duplicate): the CALLERROR the error's `detail` names, if any, then the close with the
   * error's code and its message, cut to fit a close frame. `onClose` releases the rest.
   */
  fail(error: ProtocolError<OcppFault>): void {
    if (this.closed || !this.connection.isOpen) return;
    const fault = error.detail;
    if (fault) this.sendError(fault.messageId, fault.errorClass, fault.description);
    this.connection.close(error.closeCode, limitCloseReason(error.message));
  }

  onClose(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.inboundDone();
    const gone = new OcppNotConnectedError(`station ${JSON.stringify(this.identity)} disconnected (${code})`);
    const pending = this.inFlight;
    this.settle();
    pending?.reject(gone);
    for (const queued of this.queue.splice(0)) queued.reject(gone);
    this.host.detach(this, code, reason);
  }
}

/**
 * The payload's JSON exactly as the station sent it, when the message is written compactly
 * (`[2,"id","Action",{...}]`, what every client library sends), so it is not serialised again
 * for the bus; undefined otherwise.
 */
function rawPayload(text: string, frame: CallFrame | SendFrame): string | undefined {
  const prefix = `[${frame.type},${JSON.stringify(frame.id)},${JSON.stringify(frame.action)},`;
  if (!text.startsWith(prefix) || text.charCodeAt(text.length - 1) !== 0x5d /* ] */) return undefined;
  return text.slice(prefix.length, -1);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
