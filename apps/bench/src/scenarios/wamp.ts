/**
 * WAMP v2 (JSON) scenarios: `@protoplex/wamp` against a raw `ws` relay of the same frames (the
 * goal's reference) and fox-wamp, a Node WAMP router, in the same rounds. The load speaks WAMP
 * over raw `ws` (`src/load/wamp.ts`), the same for every router.
 */
import { allMounted } from './all-mounted.js';
import { windows } from './windows.js';
import type { Goal, Scenario } from '../types.js';

/** Issue 11: at least 0.85x the raw `ws` relay, p99 within 1.2x. */
const GOAL: Goal = { ratio: 0.85, p99Within: 1.2, text: 'throughput ratio >= 0.85 and p99 within 1.2x of raw ws' };

/** Fresh side objects per scenario (the harness tells sides apart by identity). */
const sides = (withAll: boolean): Pick<Scenario, 'subject' | 'reference' | 'extraReferences' | 'allMounted'> => ({
  subject: { label: 'protoplex', server: 'protoplex-wamp' },
  ...(withAll ? { allMounted: allMounted() } : {}),
  reference: { label: 'ws-raw', server: 'ws-wamp' },
  extraReferences: [{ label: 'fox-wamp', server: 'fox-wamp' }],
});

function fanout(name: string, subscribers: number, inflight: number, withAll: boolean): Scenario {
  return {
    name,
    description: `WAMP v2 over WebSocket (wamp.2.json, realm1): 1 publisher, ${subscribers} subscribers of one topic, PUBLISH without acknowledge, ${inflight} publications in flight (not yet delivered to every subscriber), arguments [seq, sentAt, pad] of about 64 bytes of JSON; EVENTs delivered per second. References: a raw ws relay of the same frames (the goal's) and fox-wamp 0.7.${withAll ? ' Also run on a server with every demo adapter mounted (@all).' : ''}`,
    metric: 'throughput',
    unit: 'events/s',
    higherIsBetter: true,
    goal: GOAL,
    ...sides(withAll),
    load: ({ mode }) => ({ name: 'wamp-fanout', options: { subscribers, inflight, size: 64, ...windows(mode) } }),
  };
}

/** 10 subscribers: 40 publications in flight keep about as many EVENTs queued as 4 to 100. */
export const wampFanout10: Scenario = fanout('wamp-fanout-10', 10, 40, true);

export const wampFanout100: Scenario = fanout('wamp-fanout-100', 100, 4, false);

export const wampCalls: Scenario = {
  name: 'wamp-calls',
  description:
    'WAMP v2 over WebSocket (wamp.2.json, realm1): 1 callee registered on one procedure, answering each INVOCATION with a YIELD of its arguments; 1 caller with 100 CALLs in flight, arguments of about 64 bytes of JSON; calls (CALL to RESULT) per second. References: a raw ws relay with id mapping (the goal\'s) and fox-wamp 0.7. Also run on a server with every demo adapter mounted (@all).',
  metric: 'throughput',
  unit: 'calls/s',
  higherIsBetter: true,
  goal: GOAL,
  ...sides(true),
  load: ({ mode }) => ({ name: 'wamp-calls', options: { inflight: 100, size: 64, ...windows(mode) } }),
};

/**
 * A saturating publisher and a subscriber that stops reading: the server's RSS at the end of a
 * 3 s flood (fox-wamp has no backpressure; the issue saw it grow to 600 MB). Lower is better;
 * the ratio is reference over subject. A fresh server per round, so no backlog carries over.
 */
export const wampFlood: Scenario = {
  name: 'wamp-flood',
  description:
    'WAMP v2 (wamp.2.json): 1 publisher PUBLISHing as fast as the router reads, 1 subscriber that stops reading (socket paused) and 1 that reads everything; server RSS at the end of a 3 s flood, after global.gc() (--full only). Lower is better; ratio is reference over subject. CPU and latency are per EVENT delivered to the reading subscriber. References: the raw ws relay and fox-wamp, neither with backpressure.',
  metric: 'rss',
  unit: 'B',
  higherIsBetter: false,
  fullOnly: true,
  gcAtMarks: true,
  freshServerPerRound: true,
  ...sides(false),
  load: () => ({ name: 'wamp-flood', options: { size: 64, warmupMs: 500, windowMs: 3000 } }),
};
