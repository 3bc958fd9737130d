/**
 * `pnpm bench [--full] [--only <name>[,<name>]] [--rounds n] [--json path] [--cpu-prof]`
 *
 * Runs every scenario (quick mode by default), prints a table and one ratio line per scenario,
 * and writes results/latest.json and results/latest.html.
 */
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runBench } from './harness.js';
import { aloneLine, aloneSummary, ratioLine, table, writeReport, type BenchReport } from './report.js';
import { scenarios } from './scenarios/index.js';
import type { Mode } from './types.js';

const root = fileURLToPath(new URL('..', import.meta.url));

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: process.argv.slice(2).filter((a) => a !== '--'),
    options: {
      full: { type: 'boolean', default: false },
      only: { type: 'string', multiple: true },
      rounds: { type: 'string' },
      json: { type: 'string' },
      html: { type: 'string' },
      'cpu-prof': { type: 'boolean', default: false },
      list: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log('usage: pnpm bench [--full] [--only <scenario>[,<scenario>]] [--rounds n] [--json path] [--html path] [--cpu-prof] [--list]');
    return 0;
  }
  if (values.list) {
    for (const s of scenarios) console.log(`${s.name.padEnd(30)} ${s.fullOnly ? '(--full only) ' : ''}${s.description}`);
    return 0;
  }
  const mode: Mode = values.full ? 'full' : 'quick';
  const rounds = values.rounds ? Number.parseInt(values.rounds, 10) : mode === 'full' ? 5 : 3;
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 50) throw new Error(`--rounds must be an integer from 1 to 50`);
  // The all-mounted variants (`<scenario>@all`) add one side to each adapter scenario: in the
  // default quick run they take part in the first 2 rounds only, which keeps the run near its
  // old length; with --full or an explicit --rounds they run every round.
  const variantRounds = mode === 'quick' && values.rounds === undefined ? Math.min(2, rounds) : rounds;
  const only = values.only?.flatMap((o) => o.split(',')).filter(Boolean);
  let selected = scenarios.filter((s) => mode === 'full' || !s.fullOnly);
  if (only && only.length > 0) {
    const unknown = only.filter((name) => !scenarios.some((s) => s.name === name));
    if (unknown.length > 0) throw new Error(`unknown scenario ${unknown.join(', ')}; known: ${scenarios.map((s) => s.name).join(', ')}`);
    selected = scenarios.filter((s) => only.includes(s.name));
  }
  const jsonPath = resolve(values.json ?? resolve(root, 'results/latest.json'));
  const htmlPath = resolve(values.html ?? jsonPath.replace(/\.json$/, '') + '.html');
  const cpuProfDir = values['cpu-prof'] ? resolve(root, 'results/profiles') : undefined;

  const started = Date.now();
  const cpuInfo = cpus();
  const loadAtStart = loadavg()[0]!;
  const variants = variantRounds < rounds ? ` (all-mounted variants ${variantRounds})` : '';
  console.log(`protoplex bench: ${mode} mode, ${rounds} rounds${variants}, ${selected.length} scenarios, Node ${process.version}, ${cpuInfo.length} CPUs`);
  if (cpuProfDir) console.log(`server CPU profiles go to ${cpuProfDir}`);
  if (loadAtStart > cpuInfo.length) {
    console.log(`warning: load average ${loadAtStart.toFixed(1)} is above the CPU count: other work will skew throughput; the CPU/op ratio is steadier`);
  }
  const comparisons = await runBench(selected, { mode, rounds, variantRounds, ...(cpuProfDir ? { cpuProfDir } : {}), log: (line) => console.log(line) });

  const report: BenchReport = {
    node: process.version,
    cpus: cpuInfo.length,
    cpuModel: cpuInfo[0]?.model ?? 'unknown',
    date: new Date().toISOString(),
    mode,
    rounds,
    variantRounds,
    loadAverage: [loadAtStart, loadavg()[0]!],
    scenarios: comparisons,
  };
  await writeReport(report, jsonPath, htmlPath);
  console.log('');
  console.log(table(comparisons));
  console.log('');
  for (const c of comparisons) {
    console.log(ratioLine(c));
    const alone = aloneLine(c);
    if (alone) console.log(alone);
  }
  const summary = aloneSummary(comparisons);
  if (summary) console.log(`\n${summary}`);
  console.log('');
  const loadAtEnd = report.loadAverage[1];
  if (Math.max(loadAtStart, loadAtEnd) > cpuInfo.length) {
    console.log(`note: the machine was busy (load average ${loadAtStart.toFixed(1)} at start, ${loadAtEnd.toFixed(1)} at end, ${cpuInfo.length} CPUs)`);
  }
  console.log(`wrote ${jsonPath} and ${htmlPath} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return comparisons.some((c) => c.skipped?.startsWith('failed')) ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(2);
  },
);
