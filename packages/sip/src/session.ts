/**
 * One WebSocket connection speaking SIP (RFC 7118): one SIP message per WebSocket message,
 * CRLF keep-alives (RFC 5626 §4.4.1), malformed input answered where an answer can be formed,
 * and one exit path, `fail()`, for what ends the connection.
 */
import { CloseCode, ProtocolError, ProtocolErrorCode, limitCloseReason, toProtocolError, type AdapterContext, type Connection, type Session } from '@protoplex/core';
import type { Flow } from './flow.js';
import { getHeader, type SipRequest } from './message.js';
import { parseNameAddr } from './headers.js';
import { parseMessage, type ParseResult } from './parser.js';
import { createResponse } from './serializer.js';
import type { SipService } from './service.js';
import type { SipFault } from './types.js';

/** RFC 5626 §4.4.1: a double CRLF is a ping, a single CRLF its pong. */
const PING = '\r\n\r\n';
const PONG = '\r\n';

const isCrlfBytes = (data: Uint8Array, length: number): boolean => {
  if (data.length !== length) return false;
  for (let i = 0; i < length; i += 2) if (data[i] !== 0x0d || data[i + 1] !== 0x0a) return false;
  return true;
};

export class SipSession implements Session {
  private readonly flow: Flow;
  /** Unparsable messages in a row. */
  private bad = 0;
  private closed = false;

  constructor(
    private readonly connection: Connection,
    private readonly context: AdapterContext,
    private readonly service: SipService,
  ) {
    this.flow = service.flowOpened(connection);
    this.flow.fail = (error, request) => this.fail(withRequest(toProtocolError<SipFault>(error, this.context.log), request));
  }

  onMessage(data: Uint8Array | string, isBinary: boolean): void {
    if (this.closed) return;
    try {
      if (typeof data === 'string') {
        if (data === PING) return void this.connection.send(PONG);
        if (data === PONG) return;
      } else if (isCrlfBytes(data, 4)) return void this.connection.send(PONG);
      else if (isCrlfBytes(data, 2)) return;
      const result = parseMessage(data, this.service.limits);
      if (!result.ok) return this.refuse(result, isBinary);
      this.bad = 0;
      const message = result.message;
      if (message.kind === 'request') this.service.request(this.flow, message);
      else this.service.response(this.flow, message);
    } catch (error) {
      this.fail(toProtocolError<SipFault>(error, this.context.log));
    }
  }

  /**
   * A message that did not parse: RFC 3261 §16.3 step 1 / §8.2 answers a request 400 (505,
   * 513) when enough of it was read to form a response (Via, From, To, Call-ID, CSeq); anything
   * else is dropped (§18.3: a malformed response is discarded). A peer that sends nothing else
   * is closed.
   */
  private refuse(result: Extract<ParseResult, { ok: false }>, isBinary: boolean): void {
    if (result.partial && result.partial.method !== 'ACK') {
      // The To is copied as it came; a tag is added only to one that parses, not to a broken one.
      const to = getHeader(result.partial, 'to');
      const toTag = to !== undefined && parseNameAddr(to) ? tag() : undefined;
      this.flow.send(createResponse(result.partial, result.status, { reason: result.reason, toTag }));
    } else this.context.log.debug({ reason: result.reason, isBinary }, 'sip message refused and dropped');
    this.bad++;
    if (this.bad >= this.service.options.maxBadMessages) {
      // RFC 6455 §7.4.1: 1007 for data that is not what its type says (text that is not UTF-8), 1002 for a protocol error.
      throw new ProtocolError<SipFault>(result.invalidUtf8 ? CloseCode.InvalidFramePayloadData : CloseCode.ProtocolError, `too many malformed SIP messages: ${result.reason}`);
    }
  }

  /** The one exit path: answers the request the failure is about, when there is one, then closes. */
  private fail(error: ProtocolError<SipFault>): void {
    if (this.closed) return;
    this.closed = true;
    const request = error.detail?.request;
    if (request && request.method !== 'ACK') {
      const status = error.detail?.status ?? (error.code === ProtocolErrorCode.Internal ? 500 : 400);
      this.flow.send(createResponse(request, status, { toTag: tag() }));
    }
    this.connection.close(error.closeCode, limitCloseReason(error.message));
  }

  onClose(): void {
    this.closed = true;
    this.service.flowClosed(this.flow);
  }
}

const tag = (): string => Math.random().toString(36).slice(2, 12);

function withRequest(error: ProtocolError<SipFault>, request: SipRequest | undefined): ProtocolError<SipFault> {
  if (!request || error.detail?.request) return error;
  return new ProtocolError<SipFault>(error.closeCode, error.message, { code: error.code, cause: error.cause, detail: { ...error.detail, request } });
}
