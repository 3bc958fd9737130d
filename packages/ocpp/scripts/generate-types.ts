/**
 * Writes src/generated/ocpp16.ts, ocpp201.ts and ocpp21.ts: one request and one response type per
 * action and an `ActionMap` per version, from the schemas `src/schemas.ts` validates with (the
 * typed-ocpp schemas plus their corrections). Run `pnpm --filter @protoplex/ocpp types:generate`;
 * `src/generated.test.ts` fails when the committed files are stale.
 *
 * A small emitter for the JSON-schema subset OCPP uses: object, properties, required, enum,
 * string/integer/number/boolean, arrays, `$ref` to definitions, additionalProperties.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { OcppVersion } from '../src/constants.js';
import { actionsOf, isSendOnly, schemaOf, type JsonSchema } from '../src/schemas.js';

export const GENERATED_FILES: Readonly<Record<OcppVersion, { file: string; map: string }>> = {
  [OcppVersion.V16]: { file: 'ocpp16.ts', map: 'ActionMap16' },
  [OcppVersion.V201]: { file: 'ocpp201.ts', map: 'ActionMap201' },
  [OcppVersion.V21]: { file: 'ocpp21.ts', map: 'ActionMap21' },
};

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function propertyKey(name: string): string {
  return IDENTIFIER.test(name) ? name : JSON.stringify(name);
}

function indent(depth: number): string {
  return '  '.repeat(depth);
}

function emit(schema: JsonSchema, depth: number): string {
  const ref = schema['$ref'];
  if (typeof ref === 'string') {
    const name = ref.split('/').pop()!;
    if (!IDENTIFIER.test(name)) throw new Error(`unsupported $ref ${ref}`);
    return name;
  }
  const values = schema['enum'];
  if (Array.isArray(values)) return values.map((value) => JSON.stringify(value)).join(' | ');
  switch (schema['type']) {
    case 'string':
      return 'string';
    case 'integer':
    case 'number':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'array': {
      const items = schema['items'];
      if (typeof items !== 'object' || items === null || Array.isArray(items)) throw new Error('unsupported array items');
      const inner = emit(items as JsonSchema, depth);
      return inner.includes(' | ') ? `Array<${inner}>` : `${inner}[]`;
    }
    case 'object':
    case undefined:
      return emitObject(schema, depth);
    default:
      throw new Error(`unsupported type ${JSON.stringify(schema['type'])}`);
  }
}

function emitObject(schema: JsonSchema, depth: number): string {
  const properties = (schema['properties'] ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema['required'] ?? []) as string[]);
  const open = schema['additionalProperties'] !== false;
  const names = Object.keys(properties);
  if (names.length === 0) return open ? 'Record<string, unknown>' : 'Record<string, never>';
  const lines = names.map((name) => `${indent(depth + 1)}${propertyKey(name)}${required.has(name) ? '' : '?'}: ${emit(properties[name]!, depth + 1)};`);
  // CustomDataType has no additionalProperties: false ("so it can be extended with arbitrary
  // JSON properties"), so its type takes any extra key.
  if (open) lines.push(`${indent(depth + 1)}[key: string]: unknown;`);
  return `{\n${lines.join('\n')}\n${indent(depth)}}`;
}

function declare(name: string, schema: JsonSchema): string {
  const body = emit(schema, 0);
  return body.startsWith('{') ? `export interface ${name} ${body}\n` : `export type ${name} = ${body};\n`;
}

/** The text of one generated file. Pure: the staleness test compares it with the committed file. */
export function renderTypes(version: OcppVersion): string {
  const { map } = GENERATED_FILES[version];
  const actions = [...actionsOf(version)];
  const definitions = new Map<string, JsonSchema>();
  const messages: string[] = [];
  const entries: string[] = [];
  const declared = new Set<string>();
  const claim = (name: string): void => {
    if (declared.has(name)) throw new Error(`${version}: type name ${name} is declared twice`);
    declared.add(name);
  };
  for (const action of actions) {
    const request = schemaOf(version, action, 'request')!;
    for (const [name, definition] of Object.entries((request['definitions'] ?? {}) as Record<string, JsonSchema>)) {
      if (!definitions.has(name)) definitions.set(name, definition);
    }
    claim(`${action}Request`);
    messages.push(declare(`${action}Request`, request));
    if (isSendOnly(version, action)) {
      entries.push(`  ${action}: { request: ${action}Request; response: void };`);
      continue;
    }
    const response = schemaOf(version, action, 'response')!;
    for (const [name, definition] of Object.entries((response['definitions'] ?? {}) as Record<string, JsonSchema>)) {
      if (!definitions.has(name)) definitions.set(name, definition);
    }
    claim(`${action}Response`);
    messages.push(declare(`${action}Response`, response));
    entries.push(`  ${action}: { request: ${action}Request; response: ${action}Response };`);
  }
  const shared: string[] = [];
  for (const name of [...definitions.keys()].sort()) {
    claim(name);
    shared.push(declare(name, definitions.get(name)!));
  }
  return [
    `// Generated by scripts/generate-types.ts from the ${version} schemas of typed-ocpp, with the`,
    '// corrections listed in src/schemas.ts. Do not edit: run `pnpm run types:generate`.',
    '/* eslint-disable */',
    '',
    '// Shared definitions',
    '',
    shared.join('\n'),
    '// Messages',
    '',
    messages.join('\n'),
    `/** Request and response payload of every ${version} action. SEND-only messages have a void response. */`,
    `export interface ${map} {`,
    ...entries,
    '}',
    '',
  ].join('\n');
}

/** Absolute path of a generated file. */
export function generatedPath(version: OcppVersion): string {
  return fileURLToPath(new URL(`../src/generated/${GENERATED_FILES[version].file}`, import.meta.url));
}

function main(): void {
  for (const version of Object.values(OcppVersion)) {
    writeFileSync(generatedPath(version), renderTypes(version));
    console.log(`wrote ${generatedPath(version)}`);
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main();
