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

/**
 * What permessage-deflate costs an idle station (issue 13: OCPP routes negotiate it by
 * default, with small windows, so that 10,000 stations do not each hold a default zlib
 * context of about 300 KiB). Subject: the OCPP route as it comes (deflate on); reference: the
 * same server with the route's `perMessageDeflate: false`. A ratio near 1 means deflate costs
 * an idle station almost nothing.
 */
export const ocppIdleDeflate: Scenario = {
  name: 'ocpp-idle-deflate',
  description:
    'Server RSS growth per idle OCPP 2.0.1 station (after global.gc()) that offered permessage-deflate and sent one 2 KiB DataTransfer (compressed), then went silent; 2,000 stations (10,000 with --full). Subject: deflate on (the OCPP route default: windows of 10 bits, memLevel 4), and again with the zlib defaults of ws; reference: the same server with deflate off. Lower is better; the ratio is reference over subject.',
  metric: 'rss-per-connection',
  unit: 'B/conn',
  higherIsBetter: false,
  subject: { label: 'deflate', server: 'protoplex-ocpp', serverOptions: { validate: true } },
  extraSubjects: [{ label: 'deflate-ws-defaults', server: 'protoplex-ocpp', serverOptions: { validate: true, perMessageDeflate: true } }],
  reference: { label: 'no-deflate', server: 'protoplex-ocpp', serverOptions: { validate: true, perMessageDeflate: false } },
  gcAtMarks: true,
  freshServerPerRound: true,
  load: ({ mode }) => ({
    name: 'ocpp-idle',
    options: { connections: mode === 'full' ? 10_000 : 2000, settleMs: mode === 'full' ? 1000 : 300 },
  }),
};

