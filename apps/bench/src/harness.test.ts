/**
 * Keeps the harness honest: a real scenario, run for about a second through the same child
 * processes as `pnpm bench`, must give non-zero numbers for both sides and a finite ratio.
 */
import { describe, expect, it } from 'vitest';
import { compare, evaluate, median, ratio, runBench } from './harness.js';
import { aloneLine, aloneSummary, ratioLine, table, toJson } from './report.js';
import { echo64 } from './scenarios/echo.js';
import { idleMemory } from './scenarios/idle-memory.js';
import { wampCalls, wampFanout10, wampFlood } from './scenarios/wamp.js';
import type { Scenario, ServerSnapshot, Side, SideRun } from './types.js';

const run = (round: number, value: number, cpuPerOpMicros: number): SideRun => ({
  round,
  value,
  p50: 1,
  p99: 2,
  cpuPerOpMicros,
  rss: 1,
  serverCpu: 0.5,
  loadCpu: 0.5,
  count: 1,
  errors: 0,
});

const snap = (cpuMicros: number, rss: number, connections = 0, time = 0): ServerSnapshot => ({ cpuMicros, rss, heapUsed: rss / 2, connections, time });

describe('harness', () => {
  it('median and ratio put "above 1" on the side of Protoplex', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(ratio(90, 100, true)).toBeCloseTo(0.9);
    expect(ratio(120, 100, false)).toBeCloseTo(100 / 120);
  });

  it('turns marks into throughput, CPU per operation and RSS per connection', () => {
    const throughput = evaluate(echo64, { count: 500, windowMs: 250, loadCpu: 0.5, errors: 0, p50: 1, p99: 2 }, new Map([['start', snap(1_000, 10, 0, 0)], ['end', snap(11_000, 20, 0, 250)]]));
    expect(throughput).toMatchObject({ value: 2000, cpuPerOpMicros: 20, rss: 20, serverCpu: 0.04, p50: 1, p99: 2 });
    const memory = evaluate(idleMemory, { count: 100, connections: 100, windowMs: 0, loadCpu: 0, errors: 0 }, new Map([['before', snap(0, 1000)], ['after', snap(0, 501_000, 100)]]));
    expect(memory.value).toBe(5000);
    expect(() => evaluate(idleMemory, { count: 100, connections: 100, windowMs: 0, loadCpu: 0, errors: 0 }, new Map([['before', snap(0, 0)], ['after', snap(0, 1, 99)]]))).toThrow(/99 connections/);
  });

  it('reports the RSS at the end of the window for an rss scenario, lower is better', () => {
    const flood = evaluate(wampFlood, { count: 300, windowMs: 3000, loadCpu: 1, errors: 0, p50: 400, p99: 600 }, new Map([['start', snap(0, 100 * 2 ** 20, 0, 0)], ['end', snap(3_000, 250 * 2 ** 20, 0, 3000)]]));
    expect(flood).toMatchObject({ value: 250 * 2 ** 20, rssAtStart: 100 * 2 ** 20, heapAtStart: 50 * 2 ** 20, heapAtEnd: 125 * 2 ** 20, rate: 100, cpuPerOpMicros: 10 });
    expect(ratio(100, 250, wampFlood.higherIsBetter)).toBeCloseTo(2.5);
  });

  it('applies the goal to the comparisons with the main reference only', () => {
    const [subject, all, fox] = [wampFanout10.subject, wampFanout10.allMounted!, wampFanout10.extraReferences![0]!];
    const runs = new Map<Side, SideRun[]>([
      [subject, [run(1, 90, 10)]],
      [all, [run(1, 90, 10)]],
      [wampFanout10.reference, [run(1, 100, 10)]],
      [fox, [run(1, 60, 10)]],
    ]);
    const comparisons = compare(wampFanout10, { runs });
    expect(comparisons.map((c) => [c.name, c.goal?.met])).toEqual([
      ['wamp-fanout-10', true],
      ['wamp-fanout-10@all', true],
      ['wamp-fanout-10/vs-fox-wamp', undefined],
    ]);
  });

  it('compares the all-mounted variant with the adapter alone over the rounds both ran', () => {
    const all: Side = { label: 'protoplex@all', server: 'protoplex-all' };
    const scenario: Scenario = { ...echo64, name: 'x', allMounted: all };
    const outcome = (allCpu: number) => ({
      runs: new Map<Side, SideRun[]>([
        // Round 3 ran alone only: the comparison with the variant must leave it out.
        [scenario.subject, [run(1, 100, 10), run(2, 80, 10), run(3, 200, 10)]],
        [all, [run(1, 96, allCpu), run(2, 78, allCpu)]],
        [scenario.reference, [run(1, 100, 10), run(2, 100, 10), run(3, 100, 10)]],
      ]),
    });
    const [alone, mounted] = compare(scenario, outcome(10.4));
    expect(alone).toMatchObject({ name: 'x', rounds: 3, ratio: 1 });
    expect(mounted).toMatchObject({ name: 'x@all', rounds: 2, subject: { label: 'protoplex@all', value: 87 }, reference: { value: 100 } });
    expect(mounted!.alone).toMatchObject({ name: 'x', aloneValue: 90, rounds: 2, goal: { ratio: 0.95, met: true } });
    expect(mounted!.alone!.ratio).toBeCloseTo(87 / 90);
    expect(mounted!.alone!.pairedRatio).toBeCloseTo((0.96 + 0.975) / 2);
    expect(mounted!.alone!.cpuRatio).toBeCloseTo(10 / 10.4);
    expect(aloneLine(mounted!)).toMatch(/^x@all: all mounted\/alone = 0\.97x .*within 5 % of alone$/);
    expect(aloneLine(alone!)).toBeUndefined();
    // Same throughput, but 10 % more server CPU per message: flagged.
    const [, costly] = compare(scenario, outcome(11));
    expect(costly!.alone!.goal.met).toBe(false);
    expect(aloneLine(costly!)).toMatch(/MORE THAN 5 % WORSE than x alone \(CPU\/op 0\.91x below 0\.95\)/);
    expect(aloneSummary([alone!, costly!])).toBe('all mounted vs alone: 0 of 1 within 5 %; MORE THAN 5 % WORSE: x@all');
    // The other adapters do not load: the adapter alone is still compared.
    const partial = compare(scenario, { ...outcome(10.4), unavailable: new Map([[all, 'protoplex@all unavailable: no lines()']]) });
    expect(partial.map((c) => c.skipped)).toEqual([undefined, 'protoplex@all unavailable: no lines()']);
    expect(table([alone!, costly!])).toMatch(/\| x@all .*\| 0\.97x \(0\.91x\) WORSE +\|/);
  });

  it('speaks WAMP to the raw ws relay and to fox-wamp (fan-out and calls)', { timeout: 60_000 }, async () => {
    const references = (scenario: Scenario): Scenario => {
      const { allMounted: _all, extraReferences: _extra, ...rest } = scenario;
      return { ...rest, subject: { label: 'ws-raw', server: 'ws-wamp' }, reference: { label: 'fox-wamp', server: 'fox-wamp' } };
    };
    const tiny = (scenario: Scenario): Scenario => ({
      ...references(scenario),
      load: (context) => {
        const spec = scenario.load(context);
        return { ...spec, options: { ...spec.options, warmupMs: 100, windowMs: 300 } };
      },
    });
    const comparisons = await runBench([tiny(wampFanout10), tiny(wampCalls)], { mode: 'quick', rounds: 1 });
    for (const comparison of comparisons) {
      expect(comparison.skipped).toBeUndefined();
      for (const side of [comparison.subject, comparison.reference]) {
        expect(side.runs[0]!.count).toBeGreaterThan(0);
        expect(side.runs[0]!.errors).toBe(0);
        expect(side.p99).toBeGreaterThan(0);
      }
    }
  });

  it('runs echo for about a second and measures both sides', { timeout: 60_000 }, async () => {
    const tiny: Scenario = {
      ...echo64,
      load: () => ({ name: 'echo', options: { connections: 10, size: 64, warmupMs: 100, windowMs: 400 } }),
    };
    const [comparison] = await runBench([tiny], { mode: 'quick', rounds: 1 });
    expect(comparison?.skipped).toBeUndefined();
    for (const side of [comparison!.subject, comparison!.reference]) {
      expect(side.value).toBeGreaterThan(0);
      expect(side.runs[0]!.count).toBeGreaterThan(0);
      expect(side.p50).toBeGreaterThan(0);
      expect(side.p99).toBeGreaterThanOrEqual(side.p50!);
      expect(side.cpuPerOpMicros).toBeGreaterThan(0);
      expect(side.rss).toBeGreaterThan(0);
      expect(side.runs[0]!.errors).toBe(0);
    }
    expect(Number.isFinite(comparison!.ratio)).toBe(true);
    expect(comparison!.ratio).toBeGreaterThan(0);
    expect(ratioLine(comparison!)).toMatch(/^echo-64b: protoplex\/ws = \d+\.\d\dx/);
    const json = toJson({ node: 'v', cpus: 1, cpuModel: 'c', date: 'd', mode: 'quick', rounds: 1, variantRounds: 1, loadAverage: [0, 0], scenarios: [comparison!] }) as { scenarios: Record<string, unknown>[] };
    expect(Object.keys(json.scenarios[0]!)).toEqual(
      expect.arrayContaining(['name', 'subject', 'reference', 'metric', 'unit', 'higherIsBetter', 'subjectValue', 'referenceValue', 'ratio', 'p50', 'p99', 'referenceP50', 'referenceP99', 'rounds']),
    );
  });
});
