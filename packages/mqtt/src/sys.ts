/**
 * `$SYS/broker/...` statistics, as Mosquitto names them. The broker publishes them retained every
 * `sysInterval` seconds; filters starting with a wildcard never match them ([MQTT-4.7.2-1]).
 */
import type { AppMessage } from './sessions.js';

export interface SysCounters {
  readonly connected: number;
  /** Sessions held, online and offline. */
  readonly sessions: number;
  readonly messagesIn: number;
  readonly messagesOut: number;
  readonly retained: number;
  /** Clock ms when the broker started. */
  readonly startedAt: number;
}

/** The `$SYS` messages for `counters` at `now` (clock ms): QoS 0, retained. */
export function sysMessages(counters: SysCounters, now: number): AppMessage[] {
  const values: Array<[string, string]> = [
    ['$SYS/broker/clients/connected', String(counters.connected)],
    ['$SYS/broker/clients/total', String(counters.sessions)],
    ['$SYS/broker/messages/received', String(counters.messagesIn)],
    ['$SYS/broker/messages/sent', String(counters.messagesOut)],
    ['$SYS/broker/retained messages/count', String(counters.retained)],
    ['$SYS/broker/uptime', `${Math.floor((now - counters.startedAt) / 1000)} seconds`],
  ];
  return values.map(([topic, value]) => ({ topic, payload: Buffer.from(value), qos: 0, retain: true, receivedAt: now }));
}
