/** The per-connection state machine: one dispatch switch, one exit path. */
import { CloseCode, isValidTopicFilter, isValidTopicName, type AdapterContext, type BusSubscription, type Connection, type Session, type Timer } from '@protoplex/core';
import { formatReply, parseCommand, type Reply } from './codec.js';
import { ErrorCode, Verb } from './constants.js';
import { topics } from './topics.js';

export interface LinesSessionOptions {
  readonly maxSubscriptions: number;
  readonly idleTimeoutMs: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function openLinesSession(connection: Connection, context: AdapterContext, options: LinesSessionOptions): Session {
  const subscriptions = new Map<string, BusSubscription>();
  let idle: Timer | undefined = context.clock.setTimeout(() => fail(CloseCode.PolicyViolation, ErrorCode.Idle, 'no command for too long'), options.idleTimeoutMs);

  const reply = (message: Reply): void => {
    connection.send(formatReply(message));
  };

  /** The single exit path: tell the peer why, then close with the fitting WebSocket code. */
  const fail = (closeCode: number, code: string, text: string): void => {
    if (!connection.isOpen) return;
    reply({ type: 'ERR', code, text });
    connection.close(closeCode, code);
  };

  const subscribe = (filter: string): void => {
    const canonical = topics.toBus(filter);
    if (canonical === undefined || !isValidTopicFilter(canonical)) return reply({ type: 'ERR', code: ErrorCode.BadTopic, text: filter });
    if (subscriptions.has(filter)) return reply({ type: 'OK', verb: Verb.Sub, topic: filter });
    if (subscriptions.size >= options.maxSubscriptions) return reply({ type: 'ERR', code: ErrorCode.TooManySubscriptions, text: String(options.maxSubscriptions) });
    subscriptions.set(
      filter,
      context.bus.subscribe(canonical, (message) => {
        reply({ type: 'MSG', topic: topics.fromBus(message.topic), payload: decoder.decode(message.payload) });
      }),
    );
    reply({ type: 'OK', verb: Verb.Sub, topic: filter });
  };

  return {
    onMessage(data, isBinary) {
      if (isBinary || typeof data !== 'string') return fail(CloseCode.UnsupportedData, ErrorCode.BinaryNotSupported, 'text messages only');
      idle?.refresh();
      const parsed = parseCommand(data);
      if (!parsed.ok) return fail(CloseCode.ProtocolError, ErrorCode.BadCommand, parsed.error);
      const command = parsed.command;
      switch (command.verb) {
        case Verb.Ping:
          return reply({ type: 'PONG' });
        case Verb.Echo:
          return reply({ type: 'ECHO', text: command.text });
        case Verb.Sub:
          return subscribe(command.filter);
        case Verb.Unsub:
          subscriptions.get(command.filter)?.unsubscribe();
          subscriptions.delete(command.filter);
          return reply({ type: 'OK', verb: Verb.Unsub, topic: command.filter });
        case Verb.Pub: {
          const canonical = topics.toBus(command.topic);
          if (canonical === undefined || !isValidTopicName(canonical)) return reply({ type: 'ERR', code: ErrorCode.BadTopic, text: command.topic });
          void context.bus.publish({
            topic: canonical,
            payload: encoder.encode(command.payload),
            contentType: 'text/plain',
            origin: { protocol: 'lines', connectionId: connection.id },
            qos: 0,
          });
          return;
        }
      }
    },
    onClose() {
      idle?.cancel();
      idle = undefined;
      for (const subscription of subscriptions.values()) subscription.unsubscribe();
      subscriptions.clear();
    },
  };
}
