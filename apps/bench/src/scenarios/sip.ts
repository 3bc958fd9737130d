/**
 * SIP over WebSocket (RFC 7118) scenarios: `@protoplex/sip` against a raw `ws` server doing the
 * same message round trips with no SIP work (the ceiling) and Kamailio 5.6, the server users
 * pick instead, in the same rounds. The load speaks SIP over raw `ws` (`src/load/sip.ts`), the
 * same for every server; the users are `user0`, `user1`, ... at `example.com`.
 */
import { allMounted } from './all-mounted.js';
import { windows } from './windows.js';
import type { Goal, Scenario, Side } from '../types.js';

/** Issue 12: at least 0.85x the raw `ws` relay for MESSAGE relay. */
const RELAY_GOAL: Goal = { ratio: 0.85, text: 'throughput ratio >= 0.85 of the raw ws relay' };

/** Answer the MD5 challenge: the only algorithm JsSIP and SIP.js implement (Kamailio's default). */
const ALGORITHM = 'MD5';

const REGISTER_CONNECTIONS = 32;
const PAIRS = 10;

/** Fresh side objects per scenario (the harness tells sides apart by identity). */
function sides(serverOptions: Readonly<Record<string, unknown>>, reference: Side, kamailio: Readonly<Record<string, unknown>>): Pick<Scenario, 'subject' | 'reference' | 'extraReferences' | 'allMounted'> {
  return {
    subject: { label: 'protoplex', server: 'protoplex-sip', serverOptions },
    allMounted: allMounted(serverOptions),
    reference,
    extraReferences: [{ label: 'kamailio', server: 'kamailio', serverOptions: kamailio }],
  };
}

export const sipRegister: Scenario = {
  name: 'sip-register',
  description: `SIP over WebSocket (subprotocol sip, JsSIP-shaped messages): ${REGISTER_CONNECTIONS} user agents, each REGISTERing its own user in a loop: REGISTER -> 401 (the ${ALGORITHM} challenge answered, digest computed in the load with node:crypto, qop=auth) -> REGISTER with Authorization -> 200; registrations per second (latency: first REGISTER to the 200). References: a raw ws server answering each message with a canned 401 or 200 of the same size (no SIP work) and Kamailio 5.6 (one worker, digest from the password). Also run on a server with every demo adapter mounted (@all).`,
  metric: 'throughput',
  unit: 'registrations/s',
  higherIsBetter: true,
  ...sides({ sipUsers: REGISTER_CONNECTIONS, sipAuth: true }, { label: 'ws-raw', server: 'ws-sip-canned' }, { auth: true, algorithm: ALGORITHM }),
  load: ({ mode }) => ({ name: 'sip-register', options: { connections: REGISTER_CONNECTIONS, algorithm: ALGORITHM, ...windows(mode) } }),
};

export const sipMessage: Scenario = {
  name: 'sip-message',
  description: `SIP over WebSocket: ${PAIRS} sender/receiver pairs of registered users (open registrar), each sender keeping 8 MESSAGEs (64 bytes of text/plain, a new Call-ID each) to its receiver in flight; the receiver answers 200 OK, which the proxy routes back; MESSAGE transactions per second (latency: MESSAGE to its 200). References: a raw ws relay forwarding each message to the pair's peer unparsed (the goal's) and Kamailio 5.6 (one worker, lookup + t_relay). Also run on a server with every demo adapter mounted (@all).`,
  metric: 'throughput',
  unit: 'msg/s',
  higherIsBetter: true,
  goal: RELAY_GOAL,
  ...sides({ sipUsers: 2 * PAIRS, sipAuth: false }, { label: 'ws-raw', server: 'ws-sip-relay' }, { auth: false }),
  load: ({ mode }) => ({ name: 'sip-message', options: { pairs: PAIRS, inflight: 8, size: 64, algorithm: ALGORITHM, ...windows(mode) } }),
};
