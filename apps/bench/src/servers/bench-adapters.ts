/**
 * The trivial adapters the core/server scenarios put under @protoplex/server. They do as little
 * as the raw `ws` reference servers do, so any difference is the cost of Protoplex itself.
 */
import type { AdapterContext, BusMessage, Connection, ProtocolAdapter, Session } from '@protoplex/core';

/** Subprotocol ids the bench speaks. Unregistered on purpose: IANA lists no benchmark protocol. */
export const ECHO_PROTOCOL = 'bench.echo';
export const FANOUT_PROTOCOL = 'bench.fanout';
export const FANOUT_TOPIC = 'bench/fanout';

/** Sessions open right now in this process (the server child reports it in snapshots). */
export const openSessions = { count: 0 };

const closed = (): void => {
  openSessions.count--;
};

/** Sends every message straight back, text as text and binary as binary. */
export function echoAdapter(): ProtocolAdapter {
  return {
    name: 'bench-echo',
    protocols: [ECHO_PROTOCOL],
    open(connection: Connection): Session {
      openSessions.count++;
      return {
        onMessage(data) {
          connection.send(data);
        },
        onClose: closed,
      };
    },
  };
}

/**
 * `?role=sub` connections subscribe to one bus topic and forward what arrives; every other
 * connection publishes each message it sends to that topic.
 */
export function fanoutAdapter(): ProtocolAdapter {
  return {
    name: 'bench-fanout',
    protocols: [FANOUT_PROTOCOL],
    open(connection: Connection, context: AdapterContext): Session {
      openSessions.count++;
      if (connection.request.query.get('role') === 'sub') {
        const subscription = context.bus.subscribe(FANOUT_TOPIC, (message) => {
          connection.send(message.payload);
        });
        return {
          onMessage() {},
          onClose() {
            // Session contract: release what the session holds.
            subscription.unsubscribe();
            closed();
          },
        };
      }
      const origin = { protocol: 'bench-fanout', connectionId: connection.id };
      return {
        onMessage(data) {
          const payload = typeof data === 'string' ? Buffer.from(data) : data;
          const message: BusMessage = { topic: FANOUT_TOPIC, payload, origin, qos: 0 };
          void context.bus.publish(message);
        },
        onClose: closed,
      };
    },
  };
}
