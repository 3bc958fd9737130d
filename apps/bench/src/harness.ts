/**
 * Round orchestration: each scenario runs its subject and reference back to back, alternating
 * over several rounds (S R, R S, S R ...: the order flips each round), each side in its own
 * server child with the load in another process; the summary is the median of the rounds.
 */
import { startLoad, startServer, type LoadChild, type LoadSessionHandle, type ServerChild } from './children.js';
import type { AloneComparison, Comparison, Goal, LoadResult, Mode, Scenario, ServerSnapshot, Side, SideRun, SideSummary } from './types.js';

export interface HarnessOptions {
  readonly mode: Mode;
  readonly rounds: number;
  /**
   * Rounds the all-mounted variants (`Scenario.allMounted`) take part in: the first n, at most
   * `rounds`. Default `rounds`.
   */
  readonly variantRounds?: number;
  /** Directory for server CPU profiles (`--cpu-prof`); off when undefined. */
  readonly cpuProfDir?: string;
  /** Progress lines. */
  readonly log?: (line: string) => void;
}

/** Median of the finite numbers in `values` (mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Subject over reference when higher is better, reference over subject otherwise: above 1
 * always means Protoplex is better.
 */
export function ratio(subject: number, reference: number, higherIsBetter: boolean): number {
  return higherIsBetter ? subject / reference : reference / subject;
}

function medianOrNull(values: readonly (number | null)[]): number | null {
  const numbers = values.filter((v): v is number => v !== null);
  return numbers.length === 0 ? null : median(numbers);
}

function summarize(side: Side, runs: readonly SideRun[]): SideSummary {
  return {
    label: side.label,
    server: side.server,
    value: median(runs.map((r) => r.value)),
    p50: medianOrNull(runs.map((r) => r.p50)),
    p99: medianOrNull(runs.map((r) => r.p99)),
    cpuPerOpMicros: medianOrNull(runs.map((r) => r.cpuPerOpMicros)),
    rss: median(runs.map((r) => r.rss)),
    loadCpu: median(runs.map((r) => r.loadCpu)),
    runs,
  };
}

/** The all-mounted variants must stay within 5 % of the adapter alone (issue 10). */
export const ALONE_GOAL: Goal = { ratio: 0.95, text: 'all mounted within 5 % of alone (throughput and server CPU/op ratios >= 0.95)' };

/** Turns one load result and the server snapshots at its marks into the numbers of one run. */
export function evaluate(scenario: Scenario, result: LoadResult, marks: ReadonlyMap<string, ServerSnapshot>): Omit<SideRun, 'round'> {
  if (scenario.metric === 'rss-per-connection') {
    const before = marks.get('before');
    const after = marks.get('after');
    if (!before || !after) throw new Error('idle load did not mark before and after');
    const connections = result.connections ?? result.count;
    if (after.connections !== connections) {
      throw new Error(`server holds ${after.connections} connections, load opened ${connections}`);
    }
    return {
      value: (after.rss - before.rss) / connections,
      p50: null,
      p99: null,
      cpuPerOpMicros: null,
      rss: after.rss,
      serverCpu: null,
      loadCpu: result.loadCpu,
      count: connections,
      errors: result.errors,
      heapPerConnection: (after.heapUsed - before.heapUsed) / connections,
    };
  }
  const start = marks.get('start');
  const end = marks.get('end');
  if (!start || !end) throw new Error('load did not mark start and end');
  const rate = result.windowMs > 0 ? (result.count * 1000) / result.windowMs : 0;
  return {
    value: scenario.metric === 'rss' ? end.rss : rate,
    ...(scenario.metric === 'rss' ? { rssAtStart: start.rss, heapAtStart: start.heapUsed, heapAtEnd: end.heapUsed, rate } : {}),
    p50: result.p50 ?? null,
    p99: result.p99 ?? null,
    cpuPerOpMicros: result.count > 0 ? (end.cpuMicros - start.cpuMicros) / result.count : null,
    rss: end.rss,
    serverCpu: end.time > start.time ? (end.cpuMicros - start.cpuMicros) / 1000 / (end.time - start.time) : null,
    loadCpu: result.loadCpu,
    count: result.count,
    errors: result.errors,
  };
}

/**
 * Sides in the order they run each round: subjects first, then references. The all-mounted
 * variant runs right after the subject alone (right before it when the order flips), so the two
 * runs of one round that "all mounted / alone" compares are back to back.
 */
function sidesOf(scenario: Scenario): Side[] {
  return [
    scenario.subject,
    ...(scenario.allMounted ? [scenario.allMounted] : []),
    ...(scenario.extraSubjects ?? []),
    scenario.reference,
    ...(scenario.extraReferences ?? []),
  ];
}

/** Rounds `side` takes part in: the first n of the scenario's. */
function roundsOf(scenario: Scenario, side: Side, options: HarnessOptions): number {
  return side === scenario.allMounted ? Math.min(options.rounds, options.variantRounds ?? options.rounds) : options.rounds;
}

const fileSafe = (s: string): string => s.replace(/[^A-Za-z0-9._-]+/g, '_');

/** Runs a whole bench: one load child, every scenario in turn. */
export async function runBench(scenarios: readonly Scenario[], options: HarnessOptions): Promise<Comparison[]> {
  let load = await startLoad();
  const comparisons: Comparison[] = [];
  try {
    for (const scenario of scenarios) {
      const started = Date.now();
      options.log?.(`${scenario.name}: ${scenario.subject.label} vs ${[scenario.reference, ...(scenario.extraReferences ?? [])].map((s) => s.label).join(' and ')}`);
      const outcome = await runScenario(scenario, load, options).catch(async (error: Error) => {
        // The load child may still be busy with the failed run: replace it.
        await load.stop();
        load = await startLoad();
        return { skipped: `failed: ${error.message.split('\n')[0]}` };
      });
      comparisons.push(...compare(scenario, outcome));
      options.log?.(`  (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    }
  } finally {
    await load.stop();
  }
  return comparisons;
}

/**
 * What a scenario's rounds gave: every side's runs, and why a side did not run (its package not
 * ready). Only comparisons with such a side are skipped: an all-mounted variant whose other
 * adapters do not load leaves the adapter alone measured. `skipped` when nothing could run.
 */
export type Outcome =
  | { readonly runs: ReadonlyMap<Side, SideRun[]>; readonly unavailable?: ReadonlyMap<Side, string> }
  | { readonly skipped: string };

/** Runs every round of one scenario. */
export async function runScenario(scenario: Scenario, load: LoadChild, options: HarnessOptions): Promise<Outcome> {
  const log = options.log ?? (() => {});
  const sides = sidesOf(scenario);
  const runs = new Map<Side, SideRun[]>(sides.map((s) => [s, []]));
  const unavailable = new Map<Side, string>();
  /** Records an unavailable side; returns why the whole scenario cannot run, if it cannot. */
  const without = (side: Side, reason: string): string | undefined => {
    const problem = `${side.label} unavailable: ${reason}`;
    unavailable.set(side, problem);
    log(`  ${scenario.name}: ${problem}`);
    // Every comparison has the subject or the reference on one side.
    return side === scenario.subject || side === scenario.reference ? problem : undefined;
  };
  const spec = scenario.load({ mode: options.mode });
  const timeoutMs = options.mode === 'full' ? 180_000 : 60_000;
  const fresh = scenario.freshServerPerRound === true;
  const profile = (side: Side, round?: number) =>
    options.cpuProfDir
      ? { cpuProfDir: options.cpuProfDir, cpuProfName: `${fileSafe(scenario.name)}-${fileSafe(side.label)}${round ? `-r${round}` : ''}.cpuprofile` }
      : {};
  /** Per side: its server and the load session connected to it. */
  const live = new Map<Side, { server: ServerChild; session?: LoadSessionHandle }>();
  const open = async (side: Side, server: ServerChild): Promise<LoadSessionHandle> => {
    const entry = { server } as { server: ServerChild; session?: LoadSessionHandle };
    live.set(side, entry);
    entry.session = await load.open(spec.name, server.port, spec.options, timeoutMs);
    return entry.session;
  };
  const close = async (side: Side): Promise<void> => {
    const entry = live.get(side);
    live.delete(side);
    if (!entry) return;
    await entry.session?.close().catch(() => {});
    await entry.server.stop();
  };
  try {
    if (!fresh) {
      // Start every side's server at once; each side then connects its load session once and
      // keeps it for every round (the other sides' connections stay idle meanwhile).
      const started = await Promise.allSettled(sides.map((side) => startServer(side, profile(side))));
      let problem: string | undefined;
      let failure: unknown;
      started.forEach((s, i) => {
        if (s.status === 'fulfilled' && s.value.type === 'ready') live.set(sides[i]!, { server: s.value.server });
        else if (s.status === 'fulfilled' && s.value.type === 'unavailable') problem ??= without(sides[i]!, s.value.reason);
        else if (s.status === 'rejected') failure ??= s.reason;
      });
      if (failure) throw failure;
      if (problem) return { skipped: problem };
      for (const side of sides) if (!unavailable.has(side)) await open(side, live.get(side)!.server);
    }
    for (let round = 1; round <= options.rounds; round++) {
      // The order flips every round (S R, R S, ...) so that neither side always runs first.
      const order = (round % 2 === 1 ? sides : [...sides].reverse()).filter(
        (side) => !unavailable.has(side) && round <= roundsOf(scenario, side, options),
      );
      // Fresh servers for this round start together (an idle server costs the others nothing).
      const freshServers = fresh ? await Promise.all(order.map((side) => startServer(side, profile(side, round)))) : [];
      // Tracked at once so that a failure later in the round still stops every one of them.
      freshServers.forEach((s, i) => s.type === 'ready' && live.set(order[i]!, { server: s.server }));
      let problem: string | undefined;
      for (const [i, s] of freshServers.entries()) if (s.type === 'unavailable') problem ??= without(order[i]!, s.reason);
      if (problem) return { skipped: problem };
      for (const [index, side] of order.entries()) {
        if (fresh) {
          const started = freshServers[index]!;
          if (started.type !== 'ready') continue;
          await open(side, started.server);
        }
        const { server, session } = live.get(side)!;
        try {
          const marks = new Map<string, ServerSnapshot>();
          const result = await session!.measure(async (label) => {
            marks.set(label, await server.snapshot(scenario.gcAtMarks === true, label));
          }, timeoutMs);
          const run: SideRun = { round, ...evaluate(scenario, result, marks) };
          runs.get(side)!.push(run);
          const latency = run.p99 === null ? '' : `  p50 ${run.p50!.toFixed(2)} ms  p99 ${run.p99.toFixed(2)} ms`;
          const loadCpu =
            run.serverCpu === null ? '' : `  CPU server ${Math.round(run.serverCpu * 100)} % load ${Math.round(run.loadCpu * 100)} %`;
          const heap =
            run.heapPerConnection !== undefined
              ? `  (JS heap ${(run.heapPerConnection / 1024).toFixed(2)} KiB/conn)`
              : run.rssAtStart !== undefined
                ? `  (RSS ${formatValue(run.rssAtStart, 'B')} at start; JS heap ${formatValue(run.heapAtStart ?? Number.NaN, 'B')} -> ${formatValue(run.heapAtEnd ?? Number.NaN, 'B')}; ${formatValue(run.rate ?? Number.NaN, 'ops/s')})`
                : '';
          const errors = run.errors > 0 ? `  ${run.errors} errors (${result.errorSample})` : '';
          log(`  ${scenario.name} ${round}/${options.rounds} ${side.label.padEnd(13)} ${formatValue(run.value, scenario.unit).padStart(22)}${latency}${loadCpu}${heap}${errors}`);
        } finally {
          if (fresh) await close(side);
        }
      }
    }
  } finally {
    for (const side of [...live.keys()]) await close(side);
  }
  return { runs, unavailable };
}

function goalMet(goal: Goal, r: number, subject: SideSummary, reference: SideSummary): boolean {
  if (!(r >= goal.ratio)) return false;
  if (goal.p99Within === undefined) return true;
  return subject.p99 !== null && reference.p99 !== null && subject.p99 <= goal.p99Within * reference.p99;
}

/** The runs of `a` and `b` in the rounds both ran, in round order. */
function sharedRounds(a: readonly SideRun[], b: readonly SideRun[]): [SideRun[], SideRun[]] {
  const inB = new Set(b.map((r) => r.round));
  const left = a.filter((r) => inB.has(r.round));
  const inLeft = new Set(left.map((r) => r.round));
  return [left, b.filter((r) => inLeft.has(r.round))];
}

/** Median of the per-round ratios (`a` and `b` hold the same rounds, in the same order). */
function pairedRatio(a: readonly SideRun[], b: readonly SideRun[], higherIsBetter: boolean): number {
  return median(a.map((run, i) => ratio(run.value, b[i]?.value ?? Number.NaN, higherIsBetter)));
}

function cpuRatio(subject: number | null, reference: number | null): number | null {
  return subject !== null && reference !== null && subject > 0 ? reference / subject : null;
}

/** The all-mounted variant against the subject alone, over the rounds both ran. */
export function aloneComparison(scenario: Scenario, alone: readonly SideRun[], all: readonly SideRun[]): AloneComparison {
  const [aloneRuns, allRuns] = sharedRounds(alone, all);
  const aloneSummary = summarize(scenario.subject, aloneRuns);
  const allSummary = summarize(scenario.allMounted ?? scenario.subject, allRuns);
  const r = ratio(allSummary.value, aloneSummary.value, scenario.higherIsBetter);
  const cpu = cpuRatio(allSummary.cpuPerOpMicros, aloneSummary.cpuPerOpMicros);
  return {
    name: scenario.name,
    aloneValue: aloneSummary.value,
    ratio: r,
    pairedRatio: pairedRatio(allRuns, aloneRuns, scenario.higherIsBetter),
    cpuRatio: cpu,
    aloneCpuPerOpMicros: aloneSummary.cpuPerOpMicros,
    rounds: allRuns.length,
    goal: { ...ALONE_GOAL, met: r >= ALONE_GOAL.ratio && (cpu === null || cpu >= ALONE_GOAL.ratio) },
  };
}

/** One comparison per subject/reference pair of the scenario, each over the rounds both ran. */
export function compare(scenario: Scenario, outcome: Outcome): Comparison[] {
  const base = {
    scenario: scenario.name,
    description: scenario.description,
    metric: scenario.metric,
    unit: scenario.unit,
    higherIsBetter: scenario.higherIsBetter,
  };
  const pairs: [Side, Side, string][] = [[scenario.subject, scenario.reference, scenario.name]];
  if (scenario.allMounted) pairs.push([scenario.allMounted, scenario.reference, `${scenario.name}@all`]);
  for (const subject of scenario.extraSubjects ?? []) pairs.push([subject, scenario.reference, `${scenario.name}/${subject.label}`]);
  for (const reference of scenario.extraReferences ?? []) pairs.push([scenario.subject, reference, `${scenario.name}/vs-${reference.label}`]);
  return pairs.map(([subjectSide, referenceSide, name]) => {
    const skipped = 'skipped' in outcome ? outcome.skipped : (outcome.unavailable?.get(subjectSide) ?? outcome.unavailable?.get(referenceSide));
    if ('skipped' in outcome || skipped !== undefined) {
      const empty = summarize(subjectSide, []);
      return { ...base, name, subject: empty, reference: summarize(referenceSide, []), ratio: Number.NaN, pairedRatio: Number.NaN, cpuRatio: null, rounds: 0, skipped: String(skipped) };
    }
    const [subjectRuns, referenceRuns] = sharedRounds(outcome.runs.get(subjectSide) ?? [], outcome.runs.get(referenceSide) ?? []);
    const subject = summarize(subjectSide, subjectRuns);
    const reference = summarize(referenceSide, referenceRuns);
    const r = ratio(subject.value, reference.value, scenario.higherIsBetter);
    const isAll = subjectSide === scenario.allMounted;
    return {
      ...base,
      name,
      subject,
      reference,
      ratio: r,
      pairedRatio: pairedRatio(subjectRuns, referenceRuns, scenario.higherIsBetter),
      cpuRatio: cpuRatio(subject.cpuPerOpMicros, reference.cpuPerOpMicros),
      rounds: subjectRuns.length,
      ...(scenario.goal && referenceSide === scenario.reference ? { goal: { ...scenario.goal, met: goalMet(scenario.goal, r, subject, reference) } } : {}),
      ...(isAll ? { alone: aloneComparison(scenario, outcome.runs.get(scenario.subject) ?? [], subjectRuns) } : {}),
    };
  });
}

/** `123,456 msg/s`, `1.23 KiB/conn`, `84.2 MiB`. */
export function formatValue(value: number, unit: string): string {
  if (!Number.isFinite(value)) return 'n/a';
  if (unit === 'B/conn') return `${(value / 1024).toFixed(2)} KiB/conn`;
  if (unit === 'B') return `${(value / 1048576).toFixed(1)} MiB`;
  return `${Math.round(value).toLocaleString('en-US')} ${unit}`;
}
