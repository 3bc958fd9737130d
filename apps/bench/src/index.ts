/**
 * @protoplex/bench: side-by-side benchmarks. The CLI is `src/main.ts` (`pnpm bench`); these
 * exports let other tools run scenarios and read results programmatically.
 */

// Harness
export { runBench, runScenario, evaluate, median, ratio, formatValue } from './harness.js';
export type { HarnessOptions } from './harness.js';

// Scenarios
export { scenarios } from './scenarios/index.js';

// Report
export { html, ratioLine, table, toJson, writeReport } from './report.js';
export type { BenchReport } from './report.js';

// Types
export type { Comparison, Goal, LoadResult, LoadSpec, Mode, Scenario, ScenarioContext, ServerSnapshot, Side, SideRun, SideSummary } from './types.js';
