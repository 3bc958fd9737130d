import { allMounted } from './all-mounted.js';
import { windows } from './windows.js';
import type { Scenario } from '../types.js';

export const ocppCalls: Scenario = {
  name: 'ocpp-calls',
  description:
    'OCPP 1.6J: 50 stations, each with one StatusNotification CALL outstanding, answered by the CSMS; calls per second. Subject @protoplex/ocpp with schema validation on (and again with validate: false); reference ocpp-rpc RPCServer with strictMode: true. Client: raw ws speaking OCPP-J arrays. Also run on a server with every demo adapter mounted (@all).',
  metric: 'throughput',
  unit: 'calls/s',
  higherIsBetter: true,
  subject: { label: 'protoplex', server: 'protoplex-ocpp', serverOptions: { validate: true } },
  allMounted: allMounted({ validate: true }),
  extraSubjects: [{ label: 'protoplex-novalidate', server: 'protoplex-ocpp', serverOptions: { validate: false } }],
  reference: { label: 'ocpp-rpc', server: 'ocpp-rpc' },
  load: ({ mode }) => ({
    name: 'ocpp-calls',
    options: { stations: 50, ...windows(mode) },
  }),
};

/** The same flow in OCPP 2.0.1 (its StatusNotification, its schemas on both sides). */
export const ocppCalls201: Scenario = {
  name: 'ocpp-calls-2.0.1',
  description:
    'OCPP 2.0.1: 50 stations, each with one StatusNotification CALL outstanding; calls per second (--full only). Subject @protoplex/ocpp with schema validation on; reference ocpp-rpc RPCServer with strictMode: true on ocpp2.0.1. Also run on a server with every demo adapter mounted (@all).',
  metric: 'throughput',
  unit: 'calls/s',
  higherIsBetter: true,
  fullOnly: true,
  subject: { label: 'protoplex', server: 'protoplex-ocpp', serverOptions: { validate: true } },
  allMounted: allMounted({ validate: true }),
  reference: { label: 'ocpp-rpc', server: 'ocpp-rpc', serverOptions: { version: '2.0.1' } },
  load: ({ mode }) => ({
    name: 'ocpp-calls',
    options: { stations: 50, version: '2.0.1', ...windows(mode) },
  }),
};
