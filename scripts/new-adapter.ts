/**
 * `pnpm new-adapter <name> [--id <subprotocol-id>] [--dest <dir>]`: copies packages/adapter-template
 * to packages/<name> and renames everything in it, so the copy is a package of its own at once:
 * package name, vitest project name, adapter name, identifiers (`lines` -> `<name>`,
 * `LinesAdapter` -> `<Name>Adapter`, `LINES_PROTOCOL` -> `<NAME>_PROTOCOL`), the subprotocol id,
 * metric names, bus prefix, README title. A copy made by hand keeps the vitest project name
 * `adapter-template`, and the whole repository's test run then fails ("Project name ... is not
 * unique").
 *
 * Run with tsx (the root `new-adapter` script does). Exits 1 with a reason for a name that is not
 * a lower-case package name, a name already used in the workspace, an id that is not an RFC 7230
 * token, and a destination that exists.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isToken, subprotocol, subprotocolCaseConflict } from '../packages/core/src/index.js';

const WORKSPACE = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TEMPLATE = join(WORKSPACE, 'packages', 'adapter-template');

/** What the template calls itself, in each spelling the renames look for. */
const TEMPLATE_ID = 'lines.protoplex.dev';

/** Not copied: build output, caches, installed links, the changelog (the copy starts its own). */
const SKIPPED = new Set(['node_modules', 'dist', '.turbo', 'coverage', 'CHANGELOG.md']);

/** Words a name may not be, because `<name>(options)` has to be a function name. */
const RESERVED = new Set(
  (
    'break case catch class const continue debugger default delete do else enum export extends false finally for ' +
    'function if import in instanceof new null return super switch this throw true try typeof var void while with ' +
    'yield let static implements interface package private protected public await arguments eval undefined'
  ).split(' '),
);

export interface NewAdapterOptions {
  /** Lower-case package name: `chat`, `json-rpc`. */
  readonly name: string;
  /** The subprotocol id. @default `<name>.protoplex.dev` */
  readonly id?: string | undefined;
  /** Where to write the copy. @default packages/<name> in this workspace */
  readonly dest?: string | undefined;
}

export interface NewAdapterResult {
  readonly dest: string;
  readonly packageName: string;
  readonly id: string;
  /** The id is in the IANA WebSocket Subprotocol Name Registry. */
  readonly registered: boolean;
  readonly files: readonly string[];
  /** Remnants of the template's names the renames did not reach (empty when the copy is clean). */
  readonly leftovers: readonly string[];
}

/** The spellings of one name: `json-rpc` is `jsonRpc`, `JsonRpc`, `json_rpc`, `JSON_RPC`. */
export function spellings(name: string): { kebab: string; camel: string; pascal: string; snake: string; upper: string } {
  const words = name.split('-');
  const camel = words.map((word, i) => (i === 0 ? word : word[0]!.toUpperCase() + word.slice(1))).join('');
  return { kebab: name, camel, pascal: camel[0]!.toUpperCase() + camel.slice(1), snake: words.join('_'), upper: words.join('_').toUpperCase() };
}

/** Why `name` cannot be a new adapter's name, or undefined when it can. */
export function refuseName(name: string): string | undefined {
  if (!/^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/.test(name)) {
    return `${JSON.stringify(name)} is not a lower-case package name: letters, digits and single hyphens, starting with a letter (e.g. chat, json-rpc)`;
  }
  if (name.length > 40) return `${JSON.stringify(name)} is longer than 40 characters`;
  if (RESERVED.has(spellings(name).camel)) return `${JSON.stringify(name)} is a JavaScript reserved word; the factory ${name}() could not be declared`;
  if (name === 'adapter-template') return 'adapter-template is the template itself';
  return undefined;
}

/** Package and vitest project names the workspace already uses. */
function namesInUse(): Set<string> {
  const used = new Set<string>();
  for (const group of ['packages', 'apps']) {
    const base = join(WORKSPACE, group);
    if (!existsSync(base)) continue;
    for (const entry of readdirSync(base)) {
      const manifest = join(base, entry, 'package.json');
      if (existsSync(manifest)) used.add(String((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name));
      const config = join(base, entry, 'vitest.config.ts');
      if (existsSync(config)) {
        const project = /\bname:\s*['"]([^'"]+)['"]/.exec(readFileSync(config, 'utf8'));
        if (project) used.add(`project:${project[1]}`);
      }
    }
  }
  return used;
}

/**
 * The renames, most specific first. Lower-case `lines` is matched only at the start of a word
 * (after anything but a letter), so `checkDeadlines` and `guidelines` are left alone.
 */
function renames(name: string, id: string): Array<[RegExp, string | ((...groups: string[]) => string)]> {
  const s = spellings(name);
  return [
    [/@protoplex\/adapter-template/g, `@protoplex/${s.kebab}`],
    [/adapter-template/g, s.kebab],
    // A function, not a string: a token may hold `$`, which a replacement string would expand.
    [new RegExp(TEMPLATE_ID.replaceAll('.', '\\.'), 'g'), () => id],
    [/LINES/g, s.upper],
    [/(?<![A-Za-z])lines_/g, `${s.snake}_`],
    [/(?<![A-Za-z])lines\//g, `${s.kebab}/`],
    [/(['"`])lines\1/g, `$1${s.kebab}$1`],
    [/Lines/g, s.pascal],
    [/(?<![A-Za-z])lines/g, s.camel],
  ];
}

/** What is left of the template's names: what the copy must not contain. */
const LEFTOVER = /adapter-template|LINES|Lines|(?<![A-Za-z])lines/g;

function rename(text: string, rules: ReturnType<typeof renames>): string {
  return rules.reduce((out, [pattern, replacement]) => (typeof replacement === 'string' ? out.replace(pattern, replacement) : out.replace(pattern, replacement)), text);
}

function listFiles(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir).sort()) {
    if (SKIPPED.has(entry) || entry.endsWith('.log')) continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...listFiles(path, base));
    else out.push(relative(base, path));
  }
  return out;
}

/** The copy's package.json: published like the other adapters, not private. */
function publishable(manifest: Record<string, unknown>, packageName: string, id: string): Record<string, unknown> {
  const { private: _private, ...rest } = manifest;
  const scripts = { ...(rest.scripts as Record<string, string>), lint: 'bash ../../scripts/lint-package.sh' };
  const ordered: Record<string, unknown> = {};
  for (const [key, value] of Object.entries({ ...rest, scripts })) {
    ordered[key] = value;
    // publishConfig goes where packages/stomp/package.json has it: right after `exports`.
    if (key === 'exports') {
      ordered.publishConfig = {
        access: 'public',
        exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' } },
        types: './dist/index.d.ts',
      };
    }
  }
  ordered.name = packageName;
  ordered.description = `The ${id} subprotocol over WebSocket for Protoplex.`;
  return ordered;
}

/** Copies and renames; throws an Error whose message says why it refused. */
export function newAdapter(options: NewAdapterOptions): NewAdapterResult {
  const { name } = options;
  const refusal = refuseName(name);
  if (refusal) throw new Error(refusal);
  const s = spellings(name);
  const packageName = `@protoplex/${s.kebab}`;
  const used = namesInUse();
  if (used.has(packageName)) throw new Error(`${packageName} already exists in this workspace`);
  if (used.has(`project:${s.kebab}`)) throw new Error(`a vitest project named ${s.kebab} already exists in this workspace`);

  const id = options.id ?? `${s.kebab}.protoplex.dev`;
  // RFC 6455 §4.1: each subprotocol value "MUST be a non-empty string ... that conforms to the
  // requirements for elements that comprise the value of token as defined by RFC 2616".
  if (!isToken(id)) throw new Error(`${JSON.stringify(id)} is not a subprotocol id: it must be an RFC 7230 token (letters, digits and !#$%&'*+-.^_\`|~)`);
  // RFC 7936 §2: ids that differ only by case from a registered one are refused.
  const conflict = subprotocolCaseConflict(id);
  if (conflict) throw new Error(`${JSON.stringify(id)} differs only by case from the registered id ${JSON.stringify(conflict.id)}`);

  const dest = resolve(options.dest ?? join(WORKSPACE, 'packages', s.kebab));
  if (existsSync(dest)) throw new Error(`${dest} already exists; choose another name or remove it first`);

  const rules = renames(name, id);
  const files = listFiles(TEMPLATE);
  const written: string[] = [];
  const leftovers: string[] = [];
  for (const file of files) {
    const target = rename(file, rules);
    let text = rename(readFileSync(join(TEMPLATE, file), 'utf8'), rules);
    if (file === 'package.json') text = JSON.stringify(publishable(JSON.parse(text) as Record<string, unknown>, packageName, id), null, 2) + '\n';
    // The template's README introduces the template; the copy is not one.
    if (file === 'README.md') text = text.replace(/<!-- template-only -->[\s\S]*?<!-- \/template-only -->\n*/g, '');
    mkdirSync(dirname(join(dest, target)), { recursive: true });
    writeFileSync(join(dest, target), text);
    written.push(target);
    for (const [index, line] of text.split('\n').entries()) {
      for (const match of line.matchAll(LEFTOVER)) leftovers.push(`${target}:${index + 1}: ${match[0]} in ${line.trim()}`);
    }
  }
  return { dest, packageName, id, registered: subprotocol(id) !== undefined, files: written, leftovers };
}

function usage(): string {
  return [
    'usage: pnpm new-adapter <name> [--id <subprotocol-id>] [--dest <dir>]',
    '',
    '  <name>   lower-case package name: chat, json-rpc (becomes @protoplex/<name>)',
    '  --id     the subprotocol id to serve, as listed by IANA if it is registered (default <name>.protoplex.dev)',
    '  --dest   where to write the copy (default packages/<name>); tests use it to copy outside the workspace',
  ].join('\n');
}

type Parsed = { readonly kind: 'run'; readonly options: NewAdapterOptions } | { readonly kind: 'help' } | { readonly kind: 'error'; readonly message: string };

function parseArgs(argv: readonly string[]): Parsed {
  const positional: string[] = [];
  let id: string | undefined;
  let dest: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') return { kind: 'help' };
    if (arg === '--id' || arg === '--dest') {
      const value = argv[++i];
      if (value === undefined || value.startsWith('--')) return { kind: 'error', message: `${arg} needs a value` };
      if (arg === '--id') id = value;
      else dest = value;
    } else if (arg.startsWith('--id=')) id = arg.slice('--id='.length);
    else if (arg.startsWith('--dest=')) dest = arg.slice('--dest='.length);
    else if (arg.startsWith('-')) return { kind: 'error', message: `unknown option ${arg}` };
    else positional.push(arg);
  }
  if (positional.length !== 1) return { kind: 'error', message: positional.length === 0 ? 'no name given' : `one name, not ${positional.length}` };
  return { kind: 'run', options: { name: positional[0]!, id, dest } };
}

function main(argv: readonly string[]): number {
  // `pnpm new-adapter -- chat` passes the `--` through.
  const parsed = parseArgs(argv.filter((arg) => arg !== '--'));
  if (parsed.kind === 'help') {
    console.log(usage());
    return 0;
  }
  if (parsed.kind === 'error') {
    console.error(`new-adapter: ${parsed.message}\n\n${usage()}`);
    return 1;
  }
  let result: NewAdapterResult;
  try {
    result = newAdapter(parsed.options);
  } catch (error) {
    console.error(`new-adapter: ${(error as Error).message}`);
    return 1;
  }
  const s = spellings(parsed.options.name);
  const where = relative(process.cwd(), result.dest) || '.';
  console.log(`Created ${result.packageName} in ${where} (${result.files.length} files), serving ${result.id}`);
  console.log(result.registered ? `  ${result.id} is in the IANA WebSocket Subprotocol Name Registry.` : `  ${result.id} is not IANA-registered: connections on it report registered: false.`);
  for (const leftover of result.leftovers) console.warn(`  warning: not renamed: ${leftover}`);
  console.log(
    [
      '',
      'Next steps:',
      '  1. pnpm install                      (links @protoplex/core into the new package)',
      `  2. pnpm --filter ${result.packageName} test   (the copy passes as it is: start from green)`,
      `  3. edit ${where}/src/constants.ts and src/codec.ts: your frames, verbs, error codes; then src/session.ts`,
      `  4. choose your topics' bus prefix in src/topics.ts and ${s.camel}Defaults (CONTRIBUTING.md, "Map topics onto the bus")`,
      `  5. rewrite ${where}/README.md for your protocol, cite its spec at every check (STYLE.md §6)`,
      `  6. pnpm changeset                    (a first changeset for ${result.packageName})`,
    ].join('\n'),
  );
  return result.leftovers.length === 0 ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = main(process.argv.slice(2));
}
