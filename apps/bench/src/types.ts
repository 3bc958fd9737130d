/**
 * Shapes shared by the orchestrator, the server child and the load child. Everything that
 * crosses a process boundary is plain JSON.
 */

/** One side of a comparison: a named server (see `servers/index.ts`) and its options. */
export interface Side {
  /** Shown in tables and charts, e.g. `protoplex` or `ws`. */
  readonly label: string;
  /** Server factory name, resolved inside the server child process. */
  readonly server: string;
  readonly serverOptions?: Readonly<Record<string, unknown>>;
}

export interface LoadSpec {
  /** Load generator name, resolved inside the load child process (see `load/index.ts`). */
  readonly name: string;
  readonly options: Readonly<Record<string, unknown>>;
}

export type Mode = 'quick' | 'full';

export interface ScenarioContext {
  readonly mode: Mode;
}

/** A goal from the issue: met when `ratio >= ratio` (and the p99 condition, when given, holds). */
export interface Goal {
  readonly ratio: number;
  /** Subject p99 at most this multiple of the reference p99. */
  readonly p99Within?: number;
  readonly text: string;
}

/** One benchmark: a workload run against a subject and its reference in the same run. */
export interface Scenario {
  readonly name: string;
  /** One line for the README and the HTML report. */
  readonly description: string;
  /**
   * What `value` measures: `throughput` (per second), `rss-per-connection` (bytes per idle
   * connection) or `rss` (the server's RSS at the end of the window, bytes: a load that tests
   * whether memory stays bounded; CPU and latency are per operation of the load, as for
   * throughput).
   */
  readonly metric: 'throughput' | 'rss-per-connection' | 'rss';
  readonly unit: string;
  readonly higherIsBetter: boolean;
  /**
   * The goal from the issue, as a ratio the result must reach (ratio >= goal means met). It
   * applies to the comparisons with `reference` (the subject's and the all-mounted variant's),
   * not to those with `extraReferences`.
   */
  readonly goal?: Goal;
  readonly subject: Side;
  readonly reference: Side;
  /** Further references measured in the same rounds (e.g. Aedes and raw `ws` for MQTT). */
  readonly extraReferences?: readonly Side[];
  /** Further subjects measured in the same rounds (e.g. OCPP with validation off). */
  readonly extraSubjects?: readonly Side[];
  /**
   * The subject again, on a server with every demo adapter mounted on one bus (server
   * `protoplex-all` in `servers/adapters.ts`), label `protoplex@all`. Reported as `<name>@all`
   * against the reference, and against the subject alone ("all mounted / alone").
   */
  readonly allMounted?: Side;
  /** Runs only with `--full` when true. */
  readonly fullOnly?: boolean;
  /** Returns the load for this mode. */
  load(context: ScenarioContext): LoadSpec;
  /** Marks at which the server takes a snapshot after `global.gc()`. */
  readonly gcAtMarks?: boolean;
  /**
   * Start a fresh server child for every run (memory scenarios). Otherwise each side's server
   * starts once per scenario and serves every round (cheaper: a child takes ~1 s to start).
   */
  readonly freshServerPerRound?: boolean;
}

/** A server snapshot taken over IPC at a load mark. */
export interface ServerSnapshot {
  /** `process.cpuUsage()` user + system, microseconds. */
  readonly cpuMicros: number;
  readonly rss: number;
  readonly heapUsed: number;
  readonly connections: number;
  /** `performance.now()` in the server, ms. */
  readonly time: number;
}

/** What a load generator reports at the end of one run. */
export interface LoadResult {
  /** Operations completed inside the measuring window (messages, deliveries or handshakes). */
  readonly count: number;
  /** Length of the measuring window, ms. */
  readonly windowMs: number;
  /** Latency percentiles in ms, when the load measures latency. */
  readonly p50?: number;
  readonly p99?: number;
  /** Connections the load holds open (idle-memory). */
  readonly connections?: number;
  /** Load-process CPU used in the window divided by its length (1 = one core saturated). */
  readonly loadCpu: number;
  /** Errors seen (refused handshakes, unexpected closes); a non-zero count invalidates the run. */
  readonly errors: number;
  readonly errorSample?: string;
}

/** The numbers of one side in one round. */
export interface SideRun {
  /** 1-based round this run belongs to: comparisons pair runs of the same round. */
  readonly round: number;
  readonly value: number;
  readonly p50: number | null;
  readonly p99: number | null;
  /** Server CPU per operation, microseconds. */
  readonly cpuPerOpMicros: number | null;
  /** Server RSS at the end of the window, bytes. */
  readonly rss: number;
  /** Server CPU time over the window's wall time (1 = one core saturated); null for memory runs. */
  readonly serverCpu: number | null;
  readonly loadCpu: number;
  readonly count: number;
  readonly errors: number;
  /** Memory scenarios: JS heap growth per connection (part of the RSS growth), bytes. */
  readonly heapPerConnection?: number;
  /** `rss` scenarios: the server's RSS at the start of the window, bytes (`value` is at its end). */
  readonly rssAtStart?: number;
  /** `rss` scenarios: the server's JS heap in use at the start and at the end of the window, bytes. */
  readonly heapAtStart?: number;
  readonly heapAtEnd?: number;
  /** `rss` scenarios: the load's operations per second in the window (`value` is the RSS). */
  readonly rate?: number;
}

export interface SideSummary {
  readonly label: string;
  readonly server: string;
  /** Medians over rounds. */
  readonly value: number;
  readonly p50: number | null;
  readonly p99: number | null;
  readonly cpuPerOpMicros: number | null;
  readonly rss: number;
  readonly loadCpu: number;
  readonly runs: readonly SideRun[];
}

export interface Comparison {
  readonly name: string;
  readonly scenario: string;
  readonly description: string;
  readonly metric: string;
  readonly unit: string;
  readonly higherIsBetter: boolean;
  readonly subject: SideSummary;
  readonly reference: SideSummary;
  /** Above 1 always means Protoplex is better. */
  readonly ratio: number;
  /**
   * Reference server CPU per operation over the subject's (above 1: Protoplex needs less CPU per
   * message). Steadier than throughput on a busy machine, and not capped by the load generator.
   */
  readonly cpuRatio: number | null;
  /** Median of the per-round ratios (subject and reference of one round ran back to back). */
  readonly pairedRatio: number;
  readonly goal?: Goal & { readonly met: boolean };
  /** Rounds both sides ran (the medians above are over these). */
  readonly rounds: number;
  /** On a `<name>@all` comparison: the all-mounted subject against the subject alone. */
  readonly alone?: AloneComparison;
  /** Set when the scenario could not run (a package not ready, a failure). */
  readonly skipped?: string;
}

/**
 * Protoplex with every demo adapter mounted against Protoplex with the scenario's adapter alone,
 * over the rounds both ran. Above 1 means mounting the others costs nothing.
 */
export interface AloneComparison {
  /** The comparison of the adapter alone, e.g. `ocpp-calls`. */
  readonly name: string;
  /** Median of the alone runs in the shared rounds (the all-mounted median is `subject.value`). */
  readonly aloneValue: number;
  /** all-mounted / alone for higher-is-better metrics (alone / all-mounted otherwise). */
  readonly ratio: number;
  /** Median of the per-round ratios. */
  readonly pairedRatio: number;
  /** Alone server CPU per operation over all-mounted's (above 1: mounting the others costs no CPU). */
  readonly cpuRatio: number | null;
  readonly aloneCpuPerOpMicros: number | null;
  readonly rounds: number;
  /** `met` when neither the throughput nor the CPU-per-operation ratio is below `ratio`. */
  readonly goal: Goal & { readonly met: boolean };
}
