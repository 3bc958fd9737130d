/**
 * `pnpm new-adapter` end to end: a copy of the template, made the documented way into a folder
 * outside the workspace, type-checks and passes its own tests untouched, and keeps none of the
 * template's names.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refuseName, spellings } from './new-adapter.js';

const WORKSPACE = join(dirname(fileURLToPath(import.meta.url)), '..');
const TEMPLATE = join(WORKSPACE, 'packages', 'adapter-template');
const SCRIPT = join(WORKSPACE, 'scripts', 'new-adapter.ts');
const TSX = join(WORKSPACE, 'node_modules', 'tsx', 'dist', 'cli.mjs');
const TSC = join(WORKSPACE, 'node_modules', 'typescript', 'bin', 'tsc');
const VITEST = join(WORKSPACE, 'node_modules', 'vitest', 'vitest.mjs');

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs node with `args`; never rejects, so a failure shows its output in the assertion. */
function node(args: readonly string[], cwd: string): Promise<Run> {
  // This test runs inside vitest: the copy's own vitest must not think it is a worker of ours.
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('VITEST') && key !== 'NODE_OPTIONS'));
  return new Promise((resolve) => {
    execFile(process.execPath, [...args], { cwd, env: { ...env, NO_COLOR: '1', FORCE_COLOR: '0' }, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const newAdapter = (args: readonly string[]): Promise<Run> => node([TSX, SCRIPT, ...args], WORKSPACE);

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    if (entry === 'node_modules') continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...filesUnder(path));
    else out.push(path);
  }
  return out;
}

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'protoplex-new-adapter-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('pnpm new-adapter', () => {
  it(
    'copies the template into a package that type-checks and passes its own tests, with every name changed',
    async () => {
      // The workspace around the copy, as packages/<name> sees it: ../../tsconfig.base.json and
      // the root's node_modules (vitest, typescript, fast-check), plus the template's own links
      // (@protoplex/core, @protoplex/server, ws, pino) standing in for `pnpm install`.
      const root = join(scratch, 'workspace');
      mkdirSync(join(root, 'packages'), { recursive: true });
      copyFileSync(join(WORKSPACE, 'tsconfig.base.json'), join(root, 'tsconfig.base.json'));
      symlinkSync(join(WORKSPACE, 'node_modules'), join(root, 'node_modules'), 'dir');
      const dest = join(root, 'packages', 'json-rpc');

      const made = await newAdapter(['json-rpc', '--id', 'jsonrpc.protoplex.test', '--dest', dest]);
      expect(made, made.stderr).toMatchObject({ code: 0 });
      expect(made.stdout).toContain('Created @protoplex/json-rpc');
      expect(made.stdout).toContain('pnpm install');
      expect(made.stdout).not.toContain('warning');

      mkdirSync(join(dest, 'node_modules'));
      for (const entry of readdirSync(join(TEMPLATE, 'node_modules'))) {
        if (entry.startsWith('.')) continue;
        symlinkSync(join(TEMPLATE, 'node_modules', entry), join(dest, 'node_modules', entry), 'dir');
      }

      // Nothing of the template's names is left, in any file, in any spelling.
      const leftovers = filesUnder(dest).flatMap((file) =>
        readFileSync(file, 'utf8')
          .split('\n')
          .filter((line) => /adapter-template|LINES|Lines|(?<![A-Za-z])lines/.test(line))
          .map((line) => `${relative(dest, file)}: ${line.trim()}`),
      );
      expect(leftovers).toEqual([]);

      const manifest = JSON.parse(readFileSync(join(dest, 'package.json'), 'utf8')) as Record<string, unknown>;
      expect(manifest.name).toBe('@protoplex/json-rpc');
      expect(manifest).not.toHaveProperty('private');
      const stomp = JSON.parse(readFileSync(join(WORKSPACE, 'packages', 'stomp', 'package.json'), 'utf8')) as Record<string, unknown>;
      expect(manifest.publishConfig).toEqual(stomp.publishConfig);
      expect(readFileSync(join(dest, 'vitest.config.ts'), 'utf8')).toContain("name: 'json-rpc'");
      const source = (file: string): string => readFileSync(join(dest, 'src', file), 'utf8');
      expect(source('adapter.ts')).toContain('export function jsonRpc(options: JsonRpcOptions = {}): JsonRpcAdapter');
      expect(source('adapter.ts')).toContain("const name = 'json-rpc';");
      expect(source('adapter.ts')).toContain('export const jsonRpcDefaults');
      expect(source('topics.ts')).toContain('export const jsonRpcTopics');
      expect(source('constants.ts')).toContain("export const JSON_RPC_PROTOCOL = 'jsonrpc.protoplex.test';");
      expect(source('constants.ts')).toContain("MessagesPublished: 'json_rpc_messages_published_total'");
      expect(source('constants.ts')).toContain("JSON_RPC_BUS_PREFIX = 'json-rpc'");
      const readme = readFileSync(join(dest, 'README.md'), 'utf8');
      expect(readme.startsWith('# @protoplex/json-rpc\n')).toBe(true);
      expect(readme).not.toContain('template-only');

      const typecheck = await node([TSC, '-p', join(dest, 'tsconfig.json'), '--noEmit'], dest);
      expect(typecheck, typecheck.stdout + typecheck.stderr).toMatchObject({ code: 0 });

      const report = join(scratch, 'vitest.json');
      const tests = await node([VITEST, 'run', '--reporter=json', `--outputFile=${report}`], dest);
      expect(tests, tests.stdout.slice(-4000) + tests.stderr.slice(-4000)).toMatchObject({ code: 0 });
      const result = JSON.parse(readFileSync(report, 'utf8')) as {
        numFailedTests: number;
        numPassedTests: number;
        testResults: Array<{ name: string; status: string; assertionResults: Array<{ fullName: string }> }>;
      };
      const templateTests = readdirSync(join(TEMPLATE, 'src')).filter((file) => file.endsWith('.test.ts'));
      expect(result.testResults.map((file) => relative(join(dest, 'src'), file.name)).sort()).toEqual(templateTests.sort());
      expect(result.testResults.every((file) => file.status === 'passed')).toBe(true);
      expect(result.numFailedTests).toBe(0);
      expect(result.numPassedTests).toBeGreaterThan(50);
      const names = result.testResults.flatMap((file) => file.assertionResults.map((test) => test.fullName));
      expect(names.some((name) => name.startsWith('conformance: json-rpc'))).toBe(true);
    },
    120_000,
  );

  it('refuses a folder that exists, and leaves it alone', async () => {
    const dest = join(scratch, 'taken');
    mkdirSync(dest);
    const run = await newAdapter(['chat', '--dest', dest]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('already exists');
    expect(readdirSync(dest)).toEqual([]);
  });

  it('refuses a name the workspace already uses', async () => {
    const run = await newAdapter(['stomp', '--dest', join(scratch, 'stomp')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('@protoplex/stomp already exists in this workspace');
    expect(existsSync(join(scratch, 'stomp'))).toBe(false);
  });

  it('refuses an id that is not a token, or differs only by case from a registered one', async () => {
    const spaced = await newAdapter(['chat', '--id', 'chat v1', '--dest', join(scratch, 'chat')]);
    expect(spaced.code).toBe(1);
    expect(spaced.stderr).toContain('is not a subprotocol id');
    const cased = await newAdapter(['chat', '--id', 'MQTT', '--dest', join(scratch, 'chat')]);
    expect(cased.code).toBe(1);
    expect(cased.stderr).toContain('differs only by case from the registered id "mqtt"');
    expect(existsSync(join(scratch, 'chat'))).toBe(false);
  });

  it('refuses a bad name on the command line with exit code 1 and prints usage without one', async () => {
    const run = await newAdapter(['Chat', '--dest', join(scratch, 'Chat')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('is not a lower-case package name');
    const bare = await newAdapter([]);
    expect(bare.code).toBe(1);
    expect(bare.stderr).toContain('usage: pnpm new-adapter <name>');
  });

  it.each(['Chat', '1chat', 'json_rpc', 'json--rpc', '-chat', 'chat-', '@protoplex/chat', 'chat.v2', '', 'new', 'delete', 'adapter-template'])(
    'refuses the name %j',
    (name) => {
      expect(refuseName(name)).toBeTypeOf('string');
    },
  );

  it.each(['chat', 'json-rpc', 'sip2', 'wamp'])('accepts the name %j', (name) => {
    expect(refuseName(name)).toBeUndefined();
  });

  it('spells a name the ways the template does', () => {
    expect(spellings('json-rpc')).toEqual({ kebab: 'json-rpc', camel: 'jsonRpc', pascal: 'JsonRpc', snake: 'json_rpc', upper: 'JSON_RPC' });
    expect(spellings('chat')).toEqual({ kebab: 'chat', camel: 'chat', pascal: 'Chat', snake: 'chat', upper: 'CHAT' });
  });
});
