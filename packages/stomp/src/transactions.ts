/**
 * The transactions of one session. STOMP 1.2 "BEGIN": "BEGIN is used to start a transaction.
 * Transactions in this case apply to sending and acknowledging - any messages sent or
 * acknowledged during a transaction will be processed atomically based on the transaction."
 * SEND, ACK and NACK frames naming a transaction are held until COMMIT hands them back in order;
 * ABORT drops them.
 */
import { CloseCode } from '@protoplex/core';
import type { StompFrame } from './codec.js';
import { SessionLimit } from './constants.js';
import { printable, stompError } from './errors.js';

export class Transactions {
  private readonly open = new Map<string, StompFrame[]>();

  /**
   * Holds a SEND/ACK/NACK that names a transaction.
   * @returns false when the frame names none (the session handles it now)
   * @throws ProtocolError for an unknown transaction or one holding too many frames
   */
  hold(frame: StompFrame): boolean {
    const tx = frame.headers.transaction;
    if (tx === undefined) return false;
    const held = this.open.get(tx);
    if (!held) throw stompError(CloseCode.ProtocolError, `Unknown transaction ${printable(tx)}`, frame.headers.receipt);
    if (held.length >= SessionLimit.TransactionFrames) throw stompError(CloseCode.PolicyViolation, 'Too many frames in transaction', frame.headers.receipt);
    held.push(frame);
    return true;
  }

  begin(frame: StompFrame): void {
    const tx = name(frame);
    if (this.open.has(tx)) throw stompError(CloseCode.ProtocolError, `Transaction ${printable(tx)} already started`, frame.headers.receipt);
    if (this.open.size >= SessionLimit.Transactions) throw stompError(CloseCode.PolicyViolation, 'Too many open transactions', frame.headers.receipt);
    this.open.set(tx, []);
  }

  /** Ends the transaction. @returns its frames in the order they came, for the session to handle */
  commit(frame: StompFrame): StompFrame[] {
    const tx = name(frame);
    const held = this.open.get(tx);
    if (!held) throw stompError(CloseCode.ProtocolError, `Unknown transaction ${printable(tx)}`, frame.headers.receipt);
    this.open.delete(tx);
    return held;
  }

  abort(frame: StompFrame): void {
    const tx = name(frame);
    // STOMP 1.2 "ABORT": "ABORT is used to roll back a transaction in progress".
    if (!this.open.delete(tx)) throw stompError(CloseCode.ProtocolError, `Unknown transaction ${printable(tx)}`, frame.headers.receipt);
  }

  /** STOMP 1.2 "BEGIN": "any started transactions which have not been committed will be implicitly aborted". */
  clear(): void {
    this.open.clear();
  }
}

/** STOMP 1.2 "BEGIN"/"COMMIT"/"ABORT": "The transaction header is REQUIRED". */
function name(frame: StompFrame): string {
  const tx = frame.headers.transaction;
  if (tx === undefined) throw stompError(CloseCode.ProtocolError, 'Missing transaction header', frame.headers.receipt);
  return tx;
}
