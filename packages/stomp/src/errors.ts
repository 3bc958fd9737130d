/**
 * What a STOMP session throws when a frame cannot be processed: core's `ProtocolError` with the
 * headers the ERROR frame needs besides `message`. The session's one `fail()` turns it into ERROR
 * and a close.
 */
import { ProtocolError } from '@protoplex/core';

/** The `detail` of a STOMP `ProtocolError`. */
export interface StompFault {
  /**
   * The `receipt` header of the frame that failed. STOMP 1.2 "ERROR": "if the frame included a
   * receipt header, the ERROR frame SHOULD set the receipt-id header to match".
   */
  readonly receipt?: string | undefined;
  /** More ERROR headers, e.g. `version` when no protocol version is shared. */
  readonly headers?: Readonly<Record<string, string>> | undefined;
}

/** A `ProtocolError` for a frame the session refuses, answered with ERROR and `closeCode`. */
export function stompError(closeCode: number, message: string, receipt?: string, headers?: Record<string, string>): ProtocolError<StompFault> {
  return new ProtocolError<StompFault>(closeCode, message, { detail: { receipt, headers } });
}

/** Commands and ids in error messages: printable ASCII, at most 40 characters. */
export function printable(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 40 ? clean.slice(0, 40) + '...' : clean;
}
