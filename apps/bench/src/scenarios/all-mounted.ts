import type { Side } from '../types.js';

/**
 * The all-mounted variant of an adapter scenario: the same load against a server with every
 * demo adapter (MQTT, STOMP, OCPP and the template's lines adapter) on one bus, mounted as
 * apps/demo mounts them. Issue 10: with the others mounted an adapter must stay within 5 % of
 * itself alone, which only holds when no adapter pulls the others' traffic off the bus.
 */
export function allMounted(serverOptions?: Readonly<Record<string, unknown>>): Side {
  return { label: 'protoplex@all', server: 'protoplex-all', ...(serverOptions ? { serverOptions } : {}) };
}
