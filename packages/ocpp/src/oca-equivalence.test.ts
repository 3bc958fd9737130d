/**
 * Walks every OCA schema in `../shared/ocpp-schemas` (next to the repository, never inside it:
 * CC BY-ND, see its NOTICE.md) and proves that the schema we validate with (typed-ocpp's, plus
 * the corrections in schemas.ts) accepts and refuses exactly what the OCA file accepts and
 * refuses, over payloads generated from the OCA schema: a full and a minimal valid payload, then
 * targeted mutations per keyword (missing fields, wrong types, lengths at and past maxLength,
 * every enum member and a bad one, bad formats, out-of-range numbers, array sizes, unknown
 * properties).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { OcppVersion } from './constants.js';
import { actionsOf, validatePayload, type Direction } from './schemas.js';

// The repository root is three levels up from packages/ocpp/src; the schemas sit beside it.
const here = fileURLToPath(new URL('.', import.meta.url));
const OCA_DIR = resolve(here, '../../../../shared/ocpp-schemas');
const present = existsSync(OCA_DIR);
if (!present) console.warn(`OCA schema equivalence test skipped: ${OCA_DIR} not found (it lives outside the repository, in ../shared)`);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Schema = Record<string, unknown>;
type Path = ReadonlyArray<string | number>;

const DIRS: ReadonlyArray<[OcppVersion, string]> = [
  [OcppVersion.V16, 'v16'],
  [OcppVersion.V201, 'v201'],
  [OcppVersion.V21, 'v21'],
];

/** Action and direction of an OCA file name. */
function messageOf(version: OcppVersion, file: string): { action: string; direction: Direction } {
  const base = file.replace(/\.json$/, '');
  if (base.endsWith('Response')) return { action: base.slice(0, -'Response'.length), direction: 'response' };
  if (base.endsWith('Request')) return { action: base.slice(0, -'Request'.length), direction: 'request' };
  // 1.6 names requests without a suffix; 2.1 NotifyPeriodicEventStream is a SEND-only payload.
  void version;
  return { action: base, direction: 'request' };
}

/** An independent Ajv (not the package's) that compiles the OCA file as it is, minus `$id`/`$schema`. */
function groundTruthCompiler(): (schema: Schema) => ValidateFunction {
  const ajv = new Ajv({ strict: false, allErrors: false, validateSchema: false });
  (addFormatsModule as unknown as (a: Ajv) => Ajv)(ajv);
  return (schema) => {
    const { $schema: _s, $id: _i, ...rest } = schema;
    return ajv.compile(rest);
  };
}

function deref(node: Schema, root: Schema): Schema {
  const ref = node['$ref'];
  if (typeof ref !== 'string') return node;
  const name = ref.split('/').pop()!;
  return deref((root['definitions'] as Record<string, Schema>)[name]!, root);
}

/** A valid value for `node`: every property when `full`, only required ones otherwise. */
function sample(node: Schema, root: Schema, full: boolean): Json {
  const s = deref(node, root);
  if (Array.isArray(s['enum'])) return s['enum'][0] as Json;
  switch (s['type']) {
    case 'string':
      if (s['format'] === 'date-time') return '2026-11-25T12:00:00Z';
      if (s['format'] === 'uri') return 'https://example.com/x';
      return 'a';
    case 'integer':
    case 'number': {
      const min = typeof s['minimum'] === 'number' ? s['minimum'] : 0;
      return min;
    }
    case 'boolean':
      return true;
    case 'array': {
      const count = Math.max(1, typeof s['minItems'] === 'number' ? s['minItems'] : 1);
      return Array.from({ length: count }, () => sample(s['items'] as Schema, root, full));
    }
    default: {
      const properties = (s['properties'] ?? {}) as Record<string, Schema>;
      const required = new Set((s['required'] ?? []) as string[]);
      const out: Record<string, Json> = {};
      for (const [name, child] of Object.entries(properties)) if (full || required.has(name)) out[name] = sample(child, root, full);
      return out;
    }
  }
}

function setAt(value: Json, path: Path, replacement: Json | undefined): Json {
  const copy = structuredClone(value);
  if (path.length === 0) return replacement as Json;
  let node = copy as Record<string | number, Json>;
  for (let i = 0; i < path.length - 1; i++) node = node[path[i]!] as Record<string | number, Json>;
  const last = path[path.length - 1]!;
  if (replacement === undefined) delete node[last];
  else node[last] = replacement;
  return copy;
}

/** Mutations of `value` (valid for `node`) at `path`, recursing into objects and arrays. */
function mutations(node: Schema, root: Schema, value: Json, path: Path, out: Json[], whole: Json): void {
  const s = deref(node, root);
  const put = (replacement: Json | undefined): void => {
    out.push(setAt(whole, path, replacement));
  };
  if (Array.isArray(s['enum'])) {
    for (const member of s['enum'] as Json[]) put(member);
    put('NotAMember');
    put(7);
    return;
  }
  switch (s['type']) {
    case 'string': {
      put(12);
      put(null);
      if (typeof s['maxLength'] === 'number') {
        if (s['format'] === undefined) {
          put('a'.repeat(s['maxLength']));
          put('a'.repeat(s['maxLength'] + 1));
        } else {
          put('2026-11-25T12:00:00.' + '1'.repeat(Math.max(1, s['maxLength'] - 20)) + 'Z');
        }
      } else {
        put('a'.repeat(600));
        put('a'.repeat(8000));
      }
      if (s['format'] === 'date-time') {
        put('yesterday');
        put('2026-11-25T12:00:00');
        put('2026-11-25T12:00:00+01:00');
      }
      if (s['format'] === 'uri') put('not a uri');
      return;
    }
    case 'integer':
    case 'number': {
      put('12');
      put(1.5);
      put(0.15);
      put(-1);
      put(0.3);
      if (typeof s['minimum'] === 'number') put(s['minimum'] - 1);
      if (typeof s['maximum'] === 'number') {
        put(s['maximum']);
        put(s['maximum'] + 1);
      }
      return;
    }
    case 'boolean':
      put('true');
      return;
    case 'array': {
      put({});
      put([]);
      const items = value as Json[];
      if (typeof s['maxItems'] === 'number') {
        put(Array.from({ length: s['maxItems'] }, () => items[0]!));
        put(Array.from({ length: s['maxItems'] + 1 }, () => items[0]!));
      } else {
        put([items[0]!, items[0]!, items[0]!]);
      }
      if (items.length > 0) mutations(s['items'] as Schema, root, items[0]!, [...path, 0], out, whole);
      return;
    }
    default: {
      put('object');
      put([]);
      put(setAt(value, ['zzUnknown'], 1));
      const properties = (s['properties'] ?? {}) as Record<string, Schema>;
      const record = value as Record<string, Json>;
      for (const [name, child] of Object.entries(properties)) {
        if (!(name in record)) {
          out.push(setAt(whole, [...path, name], sample(child, root, false)));
          continue;
        }
        out.push(setAt(whole, [...path, name], undefined));
        mutations(child, root, record[name]!, [...path, name], out, whole);
      }
    }
  }
}

describe.skipIf(!present)(`OCA schema equivalence (${OCA_DIR})`, () => {
  for (const [version, dir] of DIRS) {
    describe(version, () => {
      const files = present ? readdirSync(join(OCA_DIR, dir)).filter((f) => f.endsWith('.json')).sort() : [];

      it('defines exactly the actions the OCA files define', () => {
        const actions = new Set(files.map((file) => messageOf(version, file).action));
        expect([...actionsOf(version)].sort()).toEqual([...actions].sort());
      });

      it(`accepts and refuses what each of the ${files.length} OCA schemas accepts and refuses`, () => {
        const groundTruth = groundTruthCompiler();
        let checked = 0;
        let refused = 0;
        const differences: string[] = [];
        for (const file of files) {
          const { action, direction } = messageOf(version, file);
          const oca = JSON.parse(readFileSync(join(OCA_DIR, dir, file), 'utf8')) as Schema;
          const truth = groundTruth(oca);
          const payloads: Json[] = [sample(oca, oca, true), sample(oca, oca, false)];
          mutations(oca, oca, payloads[0]!, [], payloads, payloads[0]!);
          mutations(oca, oca, payloads[1]!, [], payloads, payloads[1]!);
          expect(truth(payloads[0]), `${file}: the generated full payload must be valid`).toBe(true);
          for (const payload of payloads) {
            const expected = truth(payload);
            const actual = validatePayload(version, action, direction, payload) === undefined;
            checked++;
            if (!expected) refused++;
            if (expected !== actual && differences.length < 20) {
              differences.push(`${file}: OCA ${expected ? 'accepts' : 'refuses'} but we ${actual ? 'accept' : 'refuse'} ${JSON.stringify(payload).slice(0, 300)}`);
            }
          }
        }
        expect(differences).toEqual([]);
        // The generator must exercise both sides, or the comparison proves little.
        expect(refused).toBeGreaterThan(checked / 4);
        expect(checked - refused).toBeGreaterThan(files.length * 2);
      }, 60_000);
    });
  }
});
