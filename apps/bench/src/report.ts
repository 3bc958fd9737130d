/**
 * Output: the console table and ratio lines, `latest.json` (read by other tools) and a
 * self-contained HTML report with inline SVG charts (no CDN, no network).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { formatValue, median } from './harness.js';
import type { Comparison, Mode, SideSummary } from './types.js';

export interface BenchReport {
  readonly node: string;
  readonly cpus: number;
  readonly cpuModel: string;
  readonly date: string;
  readonly mode: Mode;
  /** Rounds of every side; the all-mounted variants ran the first `variantRounds` of them. */
  readonly rounds: number;
  readonly variantRounds: number;
  /** 1-minute load average at the start and at the end: other work on the machine skews results. */
  readonly loadAverage: readonly [number, number];
  readonly scenarios: readonly Comparison[];
}

/** The `latest.json` document: the fields the issue fixes first, then extras. */
export function toJson(report: BenchReport): unknown {
  return {
    node: report.node,
    cpus: report.cpus,
    date: report.date,
    mode: report.mode,
    rounds: report.rounds,
    variantRounds: report.variantRounds,
    cpuModel: report.cpuModel,
    loadAverage: report.loadAverage,
    scenarios: report.scenarios.map((c) => ({
      name: c.name,
      subject: c.subject.label,
      reference: c.reference.label,
      metric: c.metric,
      unit: c.unit,
      higherIsBetter: c.higherIsBetter,
      subjectValue: finite(c.subject.value),
      referenceValue: finite(c.reference.value),
      ratio: finite(c.ratio),
      p50: c.subject.p50,
      p99: c.subject.p99,
      referenceP50: c.reference.p50,
      referenceP99: c.reference.p99,
      rounds: c.rounds,
      // Extras.
      scenario: c.scenario,
      pairedRatio: finite(c.pairedRatio),
      cpuRatio: c.cpuRatio,
      description: c.description,
      latencyUnit: 'ms',
      subjectCpuPerOpMicros: c.subject.cpuPerOpMicros,
      referenceCpuPerOpMicros: c.reference.cpuPerOpMicros,
      ...(c.metric === 'rss-per-connection'
        ? { subjectHeapPerConnection: heapPerConnection(c.subject), referenceHeapPerConnection: heapPerConnection(c.reference) }
        : {}),
      subjectRss: finite(c.subject.rss),
      referenceRss: finite(c.reference.rss),
      subjectLoadCpu: finite(c.subject.loadCpu),
      referenceLoadCpu: finite(c.reference.loadCpu),
      ...(c.goal ? { goal: c.goal } : {}),
      ...(c.alone ? { alone: { ...c.alone, aloneValue: finite(c.alone.aloneValue), ratio: finite(c.alone.ratio), pairedRatio: finite(c.alone.pairedRatio) } } : {}),
      ...(c.skipped ? { skipped: c.skipped } : {}),
      subjectRuns: c.subject.runs,
      referenceRuns: c.reference.runs,
    })),
  };
}

const finite = (n: number): number | null => (Number.isFinite(n) ? n : null);

/** Median JS heap growth per connection over the rounds of a memory scenario, bytes. */
function heapPerConnection(side: SideSummary): number | null {
  const values = side.runs.map((r) => r.heapPerConnection).filter((v): v is number => v !== undefined);
  return values.length === 0 ? null : median(values);
}
const kib = (n: number | null): string => (n === null ? '-' : (n / 1024).toFixed(2));
const ms = (n: number | null): string => (n === null ? '-' : n < 10 ? n.toFixed(2) : n.toFixed(1));
const micros = (n: number | null): string => (n === null ? '-' : n < 10 ? n.toFixed(2) : n.toFixed(1));
const mib = (n: number): string => (Number.isFinite(n) ? (n / 1048576).toFixed(0) : '-');

/** `handshake: protoplex/ws = 0.93x  (goal ratio >= 0.95: missed)` */
export function ratioLine(c: Comparison): string {
  const head = `${c.name}: ${c.subject.label}/${c.reference.label}`;
  if (c.skipped) return `${head} = skipped (${c.skipped})`;
  const goal = c.goal ? `  (goal ${c.goal.text}: ${c.goal.met ? 'met' : 'MISSED'})` : '';
  const loadBound = Math.max(c.subject.loadCpu, c.reference.loadCpu) > 0.9 ? '  [load process near 100 % CPU: client-bound]' : '';
  const cpu =
    c.cpuRatio !== null
      ? `, server CPU/op ${c.cpuRatio.toFixed(2)}x`
      : c.metric === 'rss-per-connection'
        ? `, JS heap ${kib(heapPerConnection(c.subject))} / ${kib(heapPerConnection(c.reference))} KiB/conn`
        : '';
  return `${head} = ${c.ratio.toFixed(2)}x  (per-round median ${c.pairedRatio.toFixed(2)}x${cpu})${goal}${loadBound}`;
}

/**
 * For a `<name>@all` comparison: `ocpp-calls@all: all mounted/alone = 0.97x  (...): within 5 %`,
 * or `MORE THAN 5 % WORSE` when the throughput or the server CPU per operation is.
 */
export function aloneLine(c: Comparison): string | undefined {
  const a = c.alone;
  if (!a || c.skipped) return undefined;
  const cpu = a.cpuRatio === null ? '' : `, server CPU/op ${a.cpuRatio.toFixed(2)}x`;
  const head = `${c.name}: all mounted/alone = ${a.ratio.toFixed(2)}x  (per-round median ${a.pairedRatio.toFixed(2)}x${cpu}, ${a.rounds} round${a.rounds === 1 ? '' : 's'})`;
  if (a.goal.met) return `${head}: within 5 % of alone`;
  const worse = [
    ...(a.ratio < a.goal.ratio ? [`${c.unit} ${a.ratio.toFixed(2)}x`] : []),
    ...(a.cpuRatio !== null && a.cpuRatio < a.goal.ratio ? [`CPU/op ${a.cpuRatio.toFixed(2)}x`] : []),
  ];
  return `${head}: MORE THAN 5 % WORSE than ${a.name} alone (${worse.join(', ')} below ${a.goal.ratio})`;
}

/** `all mounted vs alone: 4 of 5 within 5 %; MORE THAN 5 % WORSE: ocpp-calls@all` */
export function aloneSummary(comparisons: readonly Comparison[]): string | undefined {
  const measured = comparisons.filter((c) => c.alone && !c.skipped);
  if (measured.length === 0) return undefined;
  const worse = measured.filter((c) => !c.alone!.goal.met).map((c) => c.name);
  const within = measured.length - worse.length;
  return `all mounted vs alone: ${within} of ${measured.length} within 5 %${worse.length > 0 ? `; MORE THAN 5 % WORSE: ${worse.join(', ')}` : ''}`;
}

/** A Markdown table (renders in the README and reads fine in a terminal). */
export function table(comparisons: readonly Comparison[]): string {
  const rows = [
    ['scenario', 'subject', 'reference', 'ratio', 'p50 ms (S / R)', 'p99 ms (S / R)', 'server CPU µs/op (S / R)', 'CPU ratio', 'server RSS MiB (S / R)', 'goal'],
  ];
  const withAlone = comparisons.some((c) => c.alone);
  if (withAlone) rows[0]!.push('all/alone (CPU)');
  for (const c of comparisons) {
    if (c.skipped) {
      rows.push([c.name, c.subject.label, c.reference.label, 'skipped', '', '', '', '', '', c.skipped.slice(0, 60), ...(withAlone ? [''] : [])]);
      continue;
    }
    rows.push([
      c.name,
      `${c.subject.label} ${formatValue(c.subject.value, c.unit)}`,
      `${c.reference.label} ${formatValue(c.reference.value, c.unit)}`,
      `${c.ratio.toFixed(2)}x`,
      c.subject.p50 === null ? '-' : `${ms(c.subject.p50)} / ${ms(c.reference.p50)}`,
      c.subject.p99 === null ? '-' : `${ms(c.subject.p99)} / ${ms(c.reference.p99)}`,
      c.subject.cpuPerOpMicros === null ? '-' : `${micros(c.subject.cpuPerOpMicros)} / ${micros(c.reference.cpuPerOpMicros)}`,
      c.cpuRatio === null ? '-' : `${c.cpuRatio.toFixed(2)}x`,
      `${mib(c.subject.rss)} / ${mib(c.reference.rss)}`,
      c.goal ? (c.goal.met ? 'met' : 'missed') : '',
      ...(withAlone ? [c.alone ? `${c.alone.ratio.toFixed(2)}x (${c.alone.cpuRatio === null ? '-' : `${c.alone.cpuRatio.toFixed(2)}x`}) ${c.alone.goal.met ? 'within 5 %' : 'WORSE'}` : ''] : []),
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string => `| ${r.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(rows[0]!), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}

const escape = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** Two horizontal bars, subject and reference, scaled to the larger. */
function barChart(title: string, unit: string, bars: readonly { label: string; value: number | null; color: string }[]): string {
  const values = bars.map((b) => b.value ?? 0);
  const max = Math.max(...values, Number.MIN_VALUE);
  const width = 360;
  const rowHeight = 26;
  const labelWidth = 90;
  const height = bars.length * rowHeight + 28;
  const rows = bars
    .map((b, i) => {
      const y = 24 + i * rowHeight;
      const w = b.value === null ? 0 : Math.max(1, ((b.value ?? 0) / max) * (width - labelWidth - 110));
      const text = b.value === null ? 'n/a' : unit === 'B/conn' ? `${(b.value / 1024).toFixed(2)} KiB` : unit === 'B' ? `${(b.value / 1048576).toFixed(1)} MiB` : b.value >= 100 ? Math.round(b.value).toLocaleString('en-US') : b.value.toFixed(2);
      return `<text x="0" y="${y + 14}" font-size="12">${escape(b.label)}</text><rect x="${labelWidth}" y="${y}" width="${w.toFixed(1)}" height="18" fill="${b.color}"/><text x="${labelWidth + w + 6}" y="${y + 14}" font-size="12">${escape(text)}</text>`;
    })
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" aria-label="${escape(title)}"><text x="0" y="14" font-size="13" font-weight="bold">${escape(title)}</text>${rows}</svg>`;
}

const SUBJECT_COLOR = '#2f6fdb';
const REFERENCE_COLOR = '#9aa3ad';
const ALONE_COLOR = '#7fa7ea';

export function html(report: BenchReport): string {
  const sections = report.scenarios
    .map((c) => {
      if (c.skipped) return `<section><h2>${escape(c.name)}</h2><p>${escape(c.description)}</p><p><strong>Skipped:</strong> ${escape(c.skipped)}</p></section>`;
      // An all-mounted comparison also shows the adapter alone, over the same rounds.
      const alone = c.alone ? [{ label: 'alone', value: c.alone.aloneValue, color: ALONE_COLOR }] : [];
      const value = barChart(c.higherIsBetter ? `${c.unit} (higher is better)` : `${c.unit} (lower is better)`, c.unit, [
        ...alone,
        { label: c.subject.label, value: c.subject.value, color: SUBJECT_COLOR },
        { label: c.reference.label, value: c.reference.value, color: REFERENCE_COLOR },
      ]);
      const p99 =
        c.subject.p99 === null
          ? ''
          : barChart('p99 latency, ms (lower is better)', 'ms', [
              { label: c.subject.label, value: c.subject.p99, color: SUBJECT_COLOR },
              { label: c.reference.label, value: c.reference.p99, color: REFERENCE_COLOR },
            ]);
      const goal = c.goal ? ` &middot; goal: ${escape(c.goal.text)} &mdash; <strong>${c.goal.met ? 'met' : 'missed'}</strong>` : '';
      const aloneText = aloneLine(c);
      const allMounted = aloneText ? `<p>${c.alone!.goal.met ? '' : '<strong>'}${escape(aloneText)}${c.alone!.goal.met ? '' : '</strong>'}</p>` : '';
      return `<section><h2>${escape(c.name)}: ${escape(c.subject.label)}/${escape(c.reference.label)} = ${c.ratio.toFixed(2)}x</h2><p>${escape(c.description)}${goal}</p>${allMounted}<div class="charts">${value}${p99}</div></section>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Protoplex benchmarks ${escape(report.date)}</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:1100px;color:#222}pre{background:#f4f5f7;padding:1rem;overflow:auto;font-size:12px}.charts{display:flex;gap:2rem;flex-wrap:wrap}section{border-top:1px solid #ddd;padding-top:.5rem}h2{font-size:1.05rem}</style>
</head><body>
<h1>Protoplex benchmarks</h1>
<p>${escape(report.date)} &middot; ${report.mode} mode &middot; Node ${escape(report.node)} &middot; ${report.cpus} CPUs (${escape(report.cpuModel)}).
1-minute load average ${report.loadAverage.map((l) => l.toFixed(1)).join(' at start, ')} at end${report.loadAverage[0] > report.cpus || report.loadAverage[1] > report.cpus ? ' (<strong>busy machine: other work competed with the bench</strong>)' : ''}.
Ratio above 1 means Protoplex is better (subject/reference for throughput, reference/subject for memory). Medians of ${report.rounds} alternating rounds${report.variantRounds < report.rounds ? ` (the all-mounted <code>@all</code> variants: the first ${report.variantRounds}, and each comparison over the rounds both of its sides ran)` : ''}.
<span style="color:${SUBJECT_COLOR}">&#9632;</span> subject <span style="color:${REFERENCE_COLOR}">&#9632;</span> reference${report.scenarios.some((c) => c.alone) ? ` <span style="color:${ALONE_COLOR}">&#9632;</span> the adapter alone, beside its <code>@all</code> variant` : ''}</p>
<pre>${escape(table(report.scenarios))}</pre>
${sections}
</body></html>
`;
}

export async function writeReport(report: BenchReport, jsonPath: string, htmlPath: string): Promise<void> {
  await mkdir(dirname(jsonPath), { recursive: true });
  await writeFile(jsonPath, JSON.stringify(toJson(report), null, 2) + '\n');
  await mkdir(dirname(htmlPath), { recursive: true });
  await writeFile(htmlPath, html(report));
}
