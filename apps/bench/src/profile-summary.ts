/**
 * `pnpm --filter @protoplex/bench profile <file.cpuprofile>... [--top n]`: self time per function
 * and per file (package), summed over the V8 CPU profiles written by `pnpm bench --cpu-prof`
 * (one per measuring window), to see where a server's time goes without opening DevTools.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Shortens a file URL to `package/path` (or `node:internal/...`). */
function where(url: string): string {
  if (!url) return '(native)';
  const pnpm = url.match(/node_modules\/\.pnpm\/[^/]+\/node_modules\/((?:@[^/]+\/)?[^/]+)\/(.*)$/);
  if (pnpm) return `${pnpm[1]}/${pnpm[2]}`;
  const nm = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\/(.*)$/);
  if (nm) return `${nm[1]}/${nm[2]}`;
  const ws = url.match(/\/(packages|apps)\/(.*)$/);
  if (ws) return `${ws[1]}/${ws[2]}`;
  return url.replace(/^file:\/\//, '');
}

export async function summarize(files: readonly string[], top = 25): Promise<string> {
  let total = 0;
  const fn = new Map<string, number>();
  const pkg = new Map<string, number>();
  for (const file of files) {
  const profile = JSON.parse(await readFile(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  for (const [id, micros] of self) {
    const node = byId.get(id)!;
    const { functionName, url, lineNumber } = node.callFrame;
    total += micros;
    if (functionName === '(idle)' || functionName === '(program)' || functionName === '(garbage collector)') {
      fn.set(functionName, (fn.get(functionName) ?? 0) + micros);
      pkg.set(functionName, (pkg.get(functionName) ?? 0) + micros);
      continue;
    }
    const loc = where(url);
    const key = `${functionName || '(anonymous)'}  ${loc}:${lineNumber + 1}`;
    fn.set(key, (fn.get(key) ?? 0) + micros);
    const group = loc.startsWith('node:') ? 'node:' + loc.slice(5).split('/')[0] : loc.split('/').slice(0, loc.startsWith('@') || loc.startsWith('packages') || loc.startsWith('apps') ? 3 : 1).join('/');
    pkg.set(group, (pkg.get(group) ?? 0) + micros);
  }
  }
  const busy = total - (fn.get('(idle)') ?? 0);
  const pct = (n: number): string => `${((n / busy) * 100).toFixed(1).padStart(5)} %`;
  const lines = [`${files.length} profile(s): ${(total / 1000).toFixed(0)} ms sampled, ${(busy / 1000).toFixed(0)} ms busy (percentages of busy time)`, '', 'by file or package:'];
  for (const [k, v] of [...pkg].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, 15)) lines.push(`  ${pct(v)}  ${k}`);
  lines.push('', 'by function (self time):');
  for (const [k, v] of [...fn].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${pct(v)}  ${k}`);
  return lines.join('\n');
}

/**
 * Files as given, or a name such as `fanout-protoplex` standing for every window profile
 * `results/profiles/fanout-protoplex-w<n>.cpuprofile` (no shell glob needed, from any directory).
 */
async function expand(args: readonly string[]): Promise<string[]> {
  const dir = fileURLToPath(new URL('../results/profiles/', import.meta.url));
  const files: string[] = [];
  for (const arg of args) {
    if (existsSync(arg)) {
      files.push(arg);
      continue;
    }
    const matches = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.startsWith(`${arg}-w`) && f.endsWith('.cpuprofile'));
    if (matches.length === 0) throw new Error(`no profile ${arg} and no ${dir}${arg}-w<n>.cpuprofile`);
    files.push(...matches.sort().map((f) => join(dir, f)));
  }
  return files;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const topAt = args.indexOf('--top');
  const top = topAt >= 0 ? Number(args.splice(topAt, 2)[1]) : 25;
  if (args.length === 0) {
    console.error('usage: pnpm --filter @protoplex/bench profile <file.cpuprofile | <scenario>-<side>>... [--top n]');
    process.exit(2);
  }
  console.log(await summarize(await expand(args), top));
}
