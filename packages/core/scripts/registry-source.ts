// Turns IANA's websocket.xml into the TypeScript source of src/registry/websocket.generated.ts.
// Pure (string in, string out) so generated.test.ts can check that the committed file is current.
//
// The parser is strict on purpose: anything it does not recognise (a new xref type, an unnamed
// close code, a gap in the close-code rows) throws, so `pnpm registry:update` stops before it
// writes half-understood data instead of silently dropping a column.

import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type {
  CloseCodeRange,
  CloseCodeRegistrationRange,
  ExtensionRecord,
  HeaderBitRecord,
  OpcodeRecord,
  Reference,
  ReferenceType,
  SubprotocolRecord,
  VersionNumberRecord,
  VersionStatus,
} from '../src/registry/types.js';
import { isToken } from '../src/registry/token.js';

/** Everything the generated file contains, as plain data. */
export interface RegistryData {
  readonly updated: string;
  readonly subprotocols: readonly SubprotocolRecord[];
  readonly extensions: readonly ExtensionRecord[];
  readonly versionNumbers: readonly VersionNumberRecord[];
  readonly closeCodeRegistrationRanges: readonly CloseCodeRegistrationRange[];
  readonly closeCodeRanges: readonly CloseCodeRange[];
  readonly closeCodeNames: readonly (readonly [name: string, code: number, description: string])[];
  readonly opcodes: readonly OpcodeRecord[];
  readonly opcodeNames: readonly (readonly [name: string, value: number, description: string])[];
  readonly framingHeaderBits: readonly HeaderBitRecord[];
}

/**
 * Names for the close codes whose registry text does not make a good identifier. Each entry
 * records the description it was written for: if IANA rewords the row, generation fails and the
 * maintainer looks at the name again instead of shipping a stale one.
 */
const CLOSE_CODE_NAME_OVERRIDES: ReadonlyMap<number, readonly [description: string, name: string]> =
  new Map([
    // RFC 6455 §7.4.1: "Reserved. The specific meaning might be defined in the future." Pinned so
    // that a meaning assigned later gets a name chosen by a person, not derived from new prose.
    [1004, ['Reserved', 'Reserved']],
    // Abbreviations carried over from the RFC 6455 §11.7 table; spelled out here.
    [1005, ['No Status Rcvd', 'NoStatusReceived']],
    [1010, ['Mandatory Ext.', 'MandatoryExtension']],
    // The row is a sentence; its own analogy (HTTP 502 Bad Gateway) gives the name.
    [
      1014,
      [
        'The server was acting as a gateway or proxy and received an invalid response from the upstream server. This is similar to 502 HTTP Status Code.',
        'BadGateway',
      ],
    ],
  ]);

/** Names for opcodes that the rule (drop " Frame", PascalCase) would make awkward. */
const OPCODE_NAME_OVERRIDES: ReadonlyMap<number, readonly [description: string, name: string]> =
  new Map([[8, ['Connection Close Frame', 'Close']]]);

/** A derived name longer than this many words is a sentence, not a name: add an override. */
const MAX_NAME_WORDS = 4;

const REFERENCE_TYPES: ReadonlySet<string> = new Set<ReferenceType>([
  'rfc',
  'rfc-errata',
  'draft',
  'uri',
  'person',
  'text',
]);

const VERSION_STATUSES: ReadonlySet<string> = new Set<VersionStatus>([
  'Standard',
  'Interim',
  'Reserved',
]);

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** Parses the XML and renders the generated module. Deterministic: same XML, same bytes. */
export function generateRegistrySource(xml: string): string {
  return renderRegistrySource(parseRegistry(xml));
}

// ---------------------------------------------------------------------------------------------
// XML -> tree

interface XmlElement {
  readonly name: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly children: readonly XmlNode[];
}
type XmlNode = XmlElement | string;

function toTree(raw: unknown): XmlNode[] {
  if (!Array.isArray(raw)) throw new Error('unexpected fast-xml-parser output (not an array)');
  const nodes: XmlNode[] = [];
  for (const item of raw as unknown[]) {
    if (typeof item !== 'object' || item === null) continue;
    const entry = item as Record<string, unknown>;
    if ('#text' in entry) {
      nodes.push(String(entry['#text']));
      continue;
    }
    const name = Object.keys(entry).find((key) => key !== ':@');
    if (name === undefined) continue;
    const attrs: Record<string, string> = {};
    const rawAttrs = entry[':@'];
    if (typeof rawAttrs === 'object' && rawAttrs !== null) {
      for (const [key, value] of Object.entries(rawAttrs)) attrs[key] = String(value);
    }
    nodes.push({ name, attrs, children: toTree(entry[name]) });
  }
  return nodes;
}

function elements(parent: XmlElement, name: string): XmlElement[] {
  return parent.children.filter(
    (node): node is XmlElement => typeof node !== 'string' && node.name === name,
  );
}

function optionalChild(parent: XmlElement, name: string): XmlElement | undefined {
  return elements(parent, name)[0];
}

function child(parent: XmlElement, name: string, where: string): XmlElement {
  const found = optionalChild(parent, name);
  if (found === undefined) throw new Error(`${where}: missing <${name}>`);
  return found;
}

/** Collapses runs of whitespace (the XML wraps long cells over several indented lines). */
function clean(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** All text inside an element, xrefs included. */
function textOf(node: XmlNode): string {
  return typeof node === 'string' ? node : node.children.map(textOf).join('');
}

/** Text directly inside an element, without the text of nested elements such as `<xref>`. */
function ownText(element: XmlElement): string {
  return clean(element.children.filter((node) => typeof node === 'string').join(' '));
}

function cellText(parent: XmlElement, name: string, where: string): string {
  return clean(textOf(child(parent, name, where)));
}

function date(value: string | undefined, where: string): string | undefined {
  if (value === undefined) return undefined;
  if (!DATE.test(value)) throw new Error(`${where}: unexpected date "${value}"`);
  return value;
}

/** `1000` or `1016-2999`. */
function numberRange(value: string, where: string): { from: number; to: number } {
  const match = /^(\d+)(?:-(\d+))?$/.exec(value);
  if (match === null) throw new Error(`${where}: unexpected value "${value}"`);
  const from = Number(match[1]);
  const to = match[2] === undefined ? from : Number(match[2]);
  if (to < from) throw new Error(`${where}: empty range "${value}"`);
  return { from, to };
}

// ---------------------------------------------------------------------------------------------
// tree -> data

/** Parses and checks the registry. Throws with the offending row on anything unexpected. */
export function parseRegistry(xml: string): RegistryData {
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    throw new Error(`not well-formed XML: ${valid.err.msg} (line ${valid.err.line})`);
  }
  const parser = new XMLParser({
    preserveOrder: true,
    ignoreAttributes: false,
    attributeNamePrefix: '',
    // Keep every value a string: "1000-2999" and "13" are parsed here, on purpose.
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: false,
    ignoreDeclaration: true,
    ignorePiTags: true,
  });
  const root = toTree(parser.parse(xml)).find(
    (node): node is XmlElement =>
      typeof node !== 'string' && node.name === 'registry' && node.attrs.id === 'websocket',
  );
  if (root === undefined) throw new Error('no <registry id="websocket"> root element');

  const updated = date(cellText(root, 'updated', 'registry'), 'registry <updated>');
  if (updated === undefined) throw new Error('registry: missing <updated>');

  const people = new Map<string, string>();
  for (const person of elements(child(root, 'people', 'registry'), 'person')) {
    const id = person.attrs.id;
    if (id === undefined) throw new Error('<person> without id');
    people.set(id, cellText(person, 'name', `person ${id}`));
  }

  const registry = (id: string): XmlElement => {
    const found = elements(root, 'registry').find((element) => element.attrs.id === id);
    if (found === undefined) throw new Error(`no <registry id="${id}">`);
    return found;
  };

  const references = (parent: XmlElement | undefined, where: string): Reference[] =>
    parent === undefined
      ? []
      : elements(parent, 'xref').map((xref) => parseReference(xref, people, where));

  const closeCodeRanges = parseCloseCodes(registry('close-code-number'), references);
  const opcodes = parseOpcodes(registry('opcode'), references);
  return {
    updated,
    subprotocols: parseSubprotocols(registry('subprotocol-name'), references),
    extensions: parseExtensions(registry('extension-name'), references),
    versionNumbers: parseVersionNumbers(registry('version-number'), references),
    closeCodeRegistrationRanges: parseRegistrationRanges(registry('close-code-number')),
    closeCodeRanges,
    closeCodeNames: nameRows(closeCodeRanges, CLOSE_CODE_NAME_OVERRIDES, 'close code'),
    opcodes,
    opcodeNames: nameRows(opcodes, OPCODE_NAME_OVERRIDES, 'opcode', /\s+Frame$/),
    framingHeaderBits: parseHeaderBits(registry('framing-header-bits'), references),
  };
}

type ReferencesOf = (parent: XmlElement | undefined, where: string) => Reference[];

function parseReference(
  xref: XmlElement,
  people: ReadonlyMap<string, string>,
  where: string,
): Reference {
  const { type, data } = xref.attrs;
  const text = clean(textOf(xref));
  if (type === undefined || !REFERENCE_TYPES.has(type)) {
    throw new Error(`${where}: unknown xref type "${type}"; add it to ReferenceType`);
  }
  const referenceType = type as ReferenceType;
  if (referenceType === 'text') {
    if (text === '') throw new Error(`${where}: empty text xref`);
    return { type: referenceType, data: text };
  }
  if (data === undefined || data === '') throw new Error(`${where}: ${type} xref without data`);
  if (referenceType === 'person') {
    const name = people.get(data);
    if (name === undefined) throw new Error(`${where}: person "${data}" is not in <people>`);
    return { type: referenceType, data, title: name };
  }
  return text === '' ? { type: referenceType, data } : { type: referenceType, data, title: text };
}

/** Same reference twice in one row (sip: definition and reference column both cite RFC 7118). */
function unique(references: readonly Reference[]): Reference[] {
  const seen = new Set<string>();
  return references.filter((reference) => {
    const key = `${reference.type}\u0000${reference.data}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function optionalList<T>(list: readonly T[]): readonly T[] | undefined {
  return list.length === 0 ? undefined : list;
}

function atMostOne(list: readonly Reference[], where: string): Reference | undefined {
  if (list.length > 1) throw new Error(`${where}: expected at most one reference`);
  return list[0];
}

function parseSubprotocols(registry: XmlElement, references: ReferencesOf): SubprotocolRecord[] {
  const records = elements(registry, 'record').map((record, index): SubprotocolRecord => {
    const id = cellText(record, 'id', `subprotocol #${index + 1}`);
    const where = `subprotocol ${id}`;
    // RFC 6455 §4.1: the |Sec-WebSocket-Protocol| elements "MUST be non-empty strings with
    // characters in the range U+0021 to U+007E not including separator characters", i.e. tokens.
    if (!isToken(id)) throw new Error(`${where}: the id is not an RFC 7230 token`);
    const definition = optionalChild(record, 'definition');
    const description = definition === undefined ? '' : ownText(definition);
    return withoutUndefined({
      id,
      commonName: cellText(record, 'common', where),
      description: description === '' ? undefined : description,
      references: unique([...references(definition, where), ...references(record, where)]),
      controllers: optionalList(references(optionalChild(record, 'controller'), where)),
      registered: date(record.attrs.date, where),
      updated: date(record.attrs.updated, where),
    });
  });
  // RFC 7936 §2: registrations that differ from an existing one only by case are refused, which
  // is what lets subprotocolCaseConflict() map a case-folded id back to a single record.
  const folded = new Map<string, string>();
  for (const { id } of records) {
    const key = id.replace(/[A-Z]/g, (letter) => letter.toLowerCase());
    const other = folded.get(key);
    if (other !== undefined) throw new Error(`subprotocols "${other}" and "${id}" differ only by case`);
    folded.set(key, id);
  }
  return records;
}

function parseExtensions(registry: XmlElement, references: ReferencesOf): ExtensionRecord[] {
  const seen = new Set<string>();
  return elements(registry, 'record').map((record, index): ExtensionRecord => {
    const id = cellText(record, 'id', `extension #${index + 1}`);
    const where = `extension ${id}`;
    // RFC 6455 §9.1: extension-token = registered-token = token.
    if (!isToken(id)) throw new Error(`${where}: the id is not an RFC 7230 token`);
    if (seen.has(id)) throw new Error(`${where}: listed twice`);
    seen.add(id);
    return withoutUndefined({
      id,
      commonName: cellText(record, 'common', where),
      references: unique([
        ...references(optionalChild(record, 'definition'), where),
        ...references(record, where),
      ]),
      incompatible: cellText(record, 'incompatible', where),
      controllers: optionalList(references(optionalChild(record, 'controller'), where)),
      registered: date(record.attrs.date, where),
      updated: date(record.attrs.updated, where),
    });
  });
}

function parseVersionNumbers(
  registry: XmlElement,
  references: ReferencesOf,
): VersionNumberRecord[] {
  return elements(registry, 'record').map((record): VersionNumberRecord => {
    const raw = cellText(record, 'value', 'version number');
    const where = `version ${raw}`;
    if (!/^\d+$/.test(raw)) throw new Error(`${where}: not a number`);
    const [reference, ...rest] = references(record, where);
    if (reference === undefined || rest.length > 0) {
      throw new Error(`${where}: expected exactly one reference`);
    }
    let status = cellText(record, 'status', where);
    // 9-12 have an empty status and the reference text "Reserved".
    if (status === '' && reference.type === 'text' && reference.data === 'Reserved') {
      status = 'Reserved';
    }
    if (!VERSION_STATUSES.has(status)) throw new Error(`${where}: unknown status "${status}"`);
    return { value: Number(raw), status: status as VersionStatus, reference };
  });
}

function parseRegistrationRanges(registry: XmlElement): CloseCodeRegistrationRange[] {
  return elements(registry, 'range').map((range): CloseCodeRegistrationRange => {
    const value = cellText(range, 'value', 'close code range');
    return {
      ...numberRange(value, `close code range ${value}`),
      registrationRule: cellText(range, 'registration_rule', `close code range ${value}`),
    };
  });
}

function parseCloseCodes(registry: XmlElement, references: ReferencesOf): CloseCodeRange[] {
  const rows = elements(registry, 'record').map((record): CloseCodeRange => {
    const value = cellText(record, 'value', 'close code');
    const where = `close code ${value}`;
    return withoutUndefined({
      ...numberRange(value, where),
      description: cellText(record, 'description', where),
      references: references(record, where),
      contacts: optionalList(references(optionalChild(record, 'contact'), where)),
      registered: date(record.attrs.date, where),
      updated: date(record.attrs.updated, where),
    });
  });
  // closeCode() binary-searches these rows, and RFC 6455 §7.4.2 makes 1000-4999 the whole
  // registrable space (0-999 "are not used"), so the rows must tile 1000-4999 exactly.
  contiguous(rows, 1000, 4999, 'close code');
  for (const row of rows) {
    if (row.from === row.to && row.description === 'Unassigned') {
      throw new Error(`close code ${row.from}: single unassigned row; closeCode() treats single rows as assigned`);
    }
  }
  return rows;
}

function parseOpcodes(registry: XmlElement, references: ReferencesOf): OpcodeRecord[] {
  const rows = elements(registry, 'record').map((record): OpcodeRecord => {
    const value = cellText(record, 'value', 'opcode');
    const where = `opcode ${value}`;
    return withoutUndefined({
      ...numberRange(value, where),
      description: cellText(record, 'description', where),
      reference: atMostOne(references(record, where), where),
    });
  });
  // RFC 6455 §5.2: "Opcode: 4 bits", so 0-15.
  contiguous(rows, 0, 15, 'opcode');
  return rows;
}

function parseHeaderBits(registry: XmlElement, references: ReferencesOf): HeaderBitRecord[] {
  return elements(registry, 'record').map((record): HeaderBitRecord => {
    const name = cellText(record, 'value', 'header bit');
    const where = `header bit ${name}`;
    return withoutUndefined({
      name,
      description: cellText(record, 'description', where),
      reference: atMostOne(references(record, where), where),
      registered: date(record.attrs.date, where),
    });
  });
}

function contiguous(
  rows: readonly { from: number; to: number }[],
  first: number,
  last: number,
  what: string,
): void {
  let next = first;
  for (const row of rows) {
    if (row.from !== next) {
      throw new Error(`${what} rows must cover ${first}-${last} in order; row ${row.from} follows ${next - 1}`);
    }
    next = row.to + 1;
  }
  if (next !== last + 1) throw new Error(`${what} rows end at ${next - 1}, not ${last}`);
}

/**
 * `Policy Violation` -> `PolicyViolation`, `TLS handshake` -> `TLSHandshake`: split on anything
 * that is not a letter or digit and upper-case the first letter of each word, keeping the rest
 * (so acronyms survive). Unassigned and multi-value rows get no name.
 */
function nameRows(
  rows: readonly { from: number; to: number; description: string }[],
  overrides: ReadonlyMap<number, readonly [description: string, name: string]>,
  what: string,
  strip?: RegExp,
): [name: string, value: number, description: string][] {
  const names: [string, number, string][] = [];
  const used = new Map<string, number>();
  for (const [value, [description]] of overrides) {
    const row = rows.find((candidate) => candidate.from === value && candidate.to === value);
    if (row?.description !== description) {
      throw new Error(
        `${what} ${value}: the name override was written for "${description}" but the registry now says "${row?.description}"; review the override in scripts/registry-source.ts`,
      );
    }
  }
  for (const row of rows) {
    if (row.from !== row.to || row.description === 'Unassigned') continue;
    const override = overrides.get(row.from);
    let name: string;
    if (override !== undefined) {
      name = override[1];
    } else {
      const words = (strip === undefined ? row.description : row.description.replace(strip, ''))
        .split(/[^A-Za-z0-9]+/)
        .filter((word) => word !== '');
      if (words.length === 0 || words.length > MAX_NAME_WORDS) {
        throw new Error(
          `${what} ${row.from}: cannot derive a name from "${row.description}"; add an override in scripts/registry-source.ts`,
        );
      }
      name = words.map((word) => word.charAt(0).toUpperCase() + word.slice(1)).join('');
    }
    if (!/^[A-Z][A-Za-z0-9]*$/.test(name)) throw new Error(`${what} ${row.from}: bad name "${name}"`);
    const clash = used.get(name);
    if (clash !== undefined) {
      throw new Error(`${what} ${clash} and ${row.from} both map to "${name}"; add an override`);
    }
    used.set(name, row.from);
    names.push([name, row.from, row.description]);
  }
  return names;
}

/** Drops `undefined` properties so optional fields are absent, not `key: undefined`. */
function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(
    Object.entries(value).filter(([, field]) => field !== undefined),
  ) as T;
}

// ---------------------------------------------------------------------------------------------
// data -> TypeScript source

const LINE_WIDTH = 100;
const INDENT = '  ';

/** Serialises plain data as a TypeScript literal: single quotes, trailing commas, 100 columns. */
function literal(value: unknown, indent: string): string {
  if (typeof value === 'string') return quote(value);
  if (typeof value === 'number') return String(value);
  if (typeof value === 'boolean') return String(value);
  const inner = indent + INDENT;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    const items = value.map((item) => literal(item, inner));
    const flat = `[${items.join(', ')}]`;
    if (!flat.includes('\n') && indent.length + flat.length <= LINE_WIDTH) return flat;
    return `[\n${items.map((item) => `${inner}${item},\n`).join('')}${indent}]`;
  }
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).map(
      ([key, field]) => `${propertyKey(key)}: ${literal(field, inner)}`,
    );
    if (entries.length === 0) return '{}';
    const flat = `{ ${entries.join(', ')} }`;
    if (!flat.includes('\n') && indent.length + flat.length <= LINE_WIDTH) return flat;
    return `{\n${entries.map((entry) => `${inner}${entry},\n`).join('')}${indent}}`;
  }
  throw new Error(`cannot serialise ${String(value)}`);
}

function quote(text: string): string {
  const escaped = text.replace(/[\\'\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (char) => {
    if (char === '\\') return '\\\\';
    if (char === "'") return "\\'";
    return `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
  return `'${escaped}'`;
}

function propertyKey(key: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? key : quote(key);
}

/** A `/** ... *\/` line that cannot be closed early by the registry text. */
function docComment(text: string, indent: string): string {
  return `${indent}/** ${text.replace(/\*\//g, '*\\/')} */\n`;
}

function union(ids: readonly string[]): string {
  return ids.map((id) => `\n  | ${quote(id)}`).join('');
}

function namedConst(
  name: string,
  rows: readonly (readonly [name: string, value: number, description: string])[],
  doc: string,
): string {
  const body = rows
    .map(([key, value, description]) => `${docComment(`${value}: ${description}`, INDENT)}${INDENT}${key}: ${value},\n`)
    .join('');
  return (
    `/** ${doc} */\n` +
    `export const ${name} = {\n${body}} as const;\n` +
    `export type ${name} = (typeof ${name})[keyof typeof ${name}];\n`
  );
}

export function renderRegistrySource(data: RegistryData): string {
  const parts = [
    `// Generated by scripts/generate-registry.ts from iana/websocket-registries.xml (updated ${data.updated}). Do not edit.\n` +
      '// Source: IANA "WebSocket Protocol Registries", https://www.iana.org/assignments/websocket/\n' +
      '// Regenerate with `pnpm registry:generate`; fetch a newer registry with `pnpm registry:update`.\n',

    'import type {\n' +
      [
        'CloseCodeRange',
        'CloseCodeRegistrationRange',
        'ExtensionRecord',
        'HeaderBitRecord',
        'OpcodeRecord',
        'SubprotocolRecord',
        'VersionNumberRecord',
      ]
        .map((name) => `  ${name},\n`)
        .join('') +
      "} from './types.js';\n",

    '/** The `<updated>` date of the registry this file was generated from. */\n' +
      `export const REGISTRY_UPDATED = ${quote(data.updated)};\n`,

    '/** Every id in the WebSocket Subprotocol Name Registry (RFC 6455 §11.5), in registry order. */\n' +
      `export type SubprotocolId =${union(data.subprotocols.map((record) => record.id))};\n`,

    '/** The WebSocket Subprotocol Name Registry, in registry order. */\n' +
      `export const SUBPROTOCOLS: readonly SubprotocolRecord<SubprotocolId>[] = ${literal(data.subprotocols, '')};\n`,

    '/** Every id in the WebSocket Extension Name Registry (RFC 6455 §11.4). */\n' +
      `export type ExtensionId =${union(data.extensions.map((record) => record.id))};\n`,

    '/** The WebSocket Extension Name Registry, in registry order. */\n' +
      `export const EXTENSIONS: readonly ExtensionRecord<ExtensionId>[] = ${literal(data.extensions, '')};\n`,

    '/** The WebSocket Version Number Registry (`Sec-WebSocket-Version`, RFC 6455 §11.6). */\n' +
      `export const VERSION_NUMBERS: readonly VersionNumberRecord[] = ${literal(data.versionNumbers, '')};\n`,

    '/** Registration procedure per block of close codes (the registry\'s range rows, RFC 6455 §11.7). */\n' +
      `export const CLOSE_CODE_REGISTRATION_RANGES: readonly CloseCodeRegistrationRange[] = ${literal(data.closeCodeRegistrationRanges, '')};\n`,

    '/** Every row of the WebSocket Close Code Number Registry, sorted, covering 1000-4999. */\n' +
      `export const CLOSE_CODE_RANGES: readonly CloseCodeRange[] = ${literal(data.closeCodeRanges, '')};\n`,

    namedConst(
      'CloseCode',
      data.closeCodeNames,
      'Every close code the registry assigns on its own row. Use these names, never bare numbers.',
    ),

    '/** The WebSocket Opcode Registry (RFC 6455 §11.8), including the unassigned ranges. */\n' +
      `export const OPCODES: readonly OpcodeRecord[] = ${literal(data.opcodes, '')};\n`,

    namedConst('Opcode', data.opcodeNames, 'Every assigned frame opcode (RFC 6455 §5.2).'),

    '/** The WebSocket Framing Header Bits Registry (RFC 6455 §11.9). */\n' +
      `export const FRAMING_HEADER_BITS: readonly HeaderBitRecord[] = ${literal(data.framingHeaderBits, '')};\n`,
  ];
  return parts.join('\n');
}
