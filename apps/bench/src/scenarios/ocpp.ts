import { windows } from './windows.js';
import type { Scenario } from '../types.js';

export const ocppCalls: Scenario = {
  name: 'ocpp-calls',
  description:
    'OCPP 1.6J: 50 stations, each with one StatusNotification CALL outstanding, answered by the CSMS; calls per second. Subject @protoplex/ocpp with schema validation on (and again with validate: false); reference ocpp-rpc RPCServer with strictMode: true. Client: raw ws speaking OCPP-J arrays.',
  metric: 'throughput',
  unit: 'calls/s',
  higherIsBetter: true,
  subject: { label: 'protoplex', server: 'protoplex-ocpp', serverOptions: { validate: true } },
  extraSubjects: [{ label: 'protoplex-novalidate', server: 'protoplex-ocpp', serverOptions: { validate: false } }],
  reference: { label: 'ocpp-rpc', server: 'ocpp-rpc' },
  load: ({ mode }) => ({
    name: 'ocpp-calls',
    options: { stations: 50, ...windows(mode) },
  }),
};
