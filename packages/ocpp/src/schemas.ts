/**
 * The JSON schemas of every action of every version, as shipped by `typed-ocpp` (MIT), with the
 * differences we found against the Open Charge Alliance files corrected here in code. Nothing is
 * compiled at start-up: a validator is compiled the first time a (version, action, direction) is
 * seen, then cached.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import * as schemas16 from 'typed-ocpp/dist/ocpp16/schemas.js';
import * as schemas201 from 'typed-ocpp/dist/ocpp20/schemas.js';
import * as schemas21 from 'typed-ocpp/dist/ocpp21/schemas.js';
import { ErrorClass, OcppVersion } from './constants.js';

/** A JSON schema object as the OCPP files use them. */
export type JsonSchema = Record<string, unknown>;

export type Direction = 'request' | 'response';

const sources: Readonly<Record<OcppVersion, Readonly<Record<string, unknown>>>> = {
  [OcppVersion.V16]: schemas16,
  [OcppVersion.V201]: schemas201,
  [OcppVersion.V21]: schemas21,
};

/** One correction of a `typed-ocpp` schema so that it says what the OCA file says. */
export interface SchemaCorrection {
  readonly version: OcppVersion;
  /** Export name in typed-ocpp: `<Action>Request` or `<Action>Response`. */
  readonly schema: string;
  /** Property path from the schema root, e.g. `['properties', 'value', 'maxLength']`. */
  readonly path: readonly string[];
  /** The value the OCA file has. */
  readonly value: unknown;
  /** What typed-ocpp has and why it matters. */
  readonly note: string;
}

/**
 * Known differences between typed-ocpp 1.6.2 and the OCA schemas. Each is applied to a copy of the
 * schema when it is first used; a path that no longer exists throws, so an upgrade of typed-ocpp
 * that changes these schemas is noticed (the equivalence test walks every OCA file).
 */
export const SCHEMA_CORRECTIONS: readonly SchemaCorrection[] = [
  {
    version: OcppVersion.V16,
    schema: 'ChangeConfigurationRequest',
    path: ['properties', 'value', 'maxLength'],
    value: 500,
    note: 'typed-ocpp relaxes value to maxLength 2048; OCA ChangeConfiguration.json says 500',
  },
  {
    version: OcppVersion.V16,
    schema: 'GetConfigurationResponse',
    path: ['properties', 'configurationKey', 'items', 'properties', 'value', 'maxLength'],
    value: 500,
    note: 'typed-ocpp relaxes configurationKey[].value to maxLength 2048; OCA says 500',
  },
  {
    version: OcppVersion.V16,
    schema: 'StatusNotificationRequest',
    path: ['properties', 'info', 'maxLength'],
    value: 50,
    note: 'typed-ocpp relaxes info to maxLength 100; OCA StatusNotification.json says 50',
  },
  {
    version: OcppVersion.V16,
    schema: 'MeterValuesRequest',
    path: ['properties', 'meterValue', 'items', 'properties', 'sampledValue', 'items', 'properties', 'unit', 'enum'],
    value: ['Wh', 'kWh', 'varh', 'kvarh', 'W', 'kW', 'VA', 'kVA', 'var', 'kvar', 'A', 'V', 'K', 'Celcius', 'Celsius', 'Fahrenheit', 'Percent', 'Hertz'],
    note: 'typed-ocpp lacks the Hertz unit that OCA MeterValues.json lists',
  },
  {
    version: OcppVersion.V16,
    schema: 'MeterValuesRequest',
    path: ['properties', 'meterValue', 'minItems'],
    value: 1,
    note: 'typed-ocpp lacks minItems 1 on meterValue; OCA MeterValues.json has it',
  },
  {
    version: OcppVersion.V16,
    schema: 'MeterValuesRequest',
    path: ['properties', 'meterValue', 'items', 'properties', 'sampledValue', 'minItems'],
    value: 1,
    note: 'typed-ocpp lacks minItems 1 on meterValue[].sampledValue; OCA MeterValues.json has it',
  },
  {
    version: OcppVersion.V201,
    schema: 'Get15118EVCertificateResponse',
    path: ['properties', 'exiResponse', 'maxLength'],
    value: 7500,
    note: 'typed-ocpp has exiResponse maxLength 5600 (refusing valid responses); OCA 2.0.1 Get15118EVCertificateResponse.json says 7500',
  },
];

const correctionsBySchema = new Map<string, SchemaCorrection[]>();
for (const correction of SCHEMA_CORRECTIONS) {
  const key = `${correction.version}:${correction.schema}`;
  const list = correctionsBySchema.get(key) ?? [];
  list.push(correction);
  correctionsBySchema.set(key, list);
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

function applyCorrection(schema: JsonSchema, correction: SchemaCorrection): void {
  let node: Record<string, unknown> = schema;
  const last = correction.path.length - 1;
  for (let i = 0; i < last; i++) {
    const next = node[correction.path[i]!];
    if (typeof next !== 'object' || next === null) {
      throw new Error(`schema correction for ${correction.version} ${correction.schema}: path ${correction.path.join('/')} does not exist`);
    }
    node = next as Record<string, unknown>;
  }
  node[correction.path[last]!] = clone(correction.value);
}

const actionsByVersion = new Map<OcppVersion, ReadonlySet<string>>();

/** Every action `version` defines (CALL actions and 2.1 SEND-only messages), sorted. */
export function actionsOf(version: OcppVersion): ReadonlySet<string> {
  let actions = actionsByVersion.get(version);
  if (!actions) {
    // `<Action>Request` names a CALL; a name without the suffix is a 2.1 SEND-only message
    // (NotifyPeriodicEventStream), which has a payload schema and no response.
    actions = new Set(
      Object.keys(sources[version])
        .filter((name) => !name.endsWith('Response'))
        .map((name) => (name.endsWith('Request') ? name.slice(0, -'Request'.length) : name))
        .sort(),
    );
    actionsByVersion.set(version, actions);
  }
  return actions;
}

/** Whether `version` defines `action`. */
export function isActionOf(version: OcppVersion, action: string): boolean {
  return actionsOf(version).has(action);
}

const schemaCache = new Map<string, JsonSchema | null>();

/**
 * The corrected schema of one message, its `definitions` cut down to those it references
 * (typed-ocpp gives every schema of a version all ~300 definitions, which makes Ajv walk them all
 * at each compile); undefined for an unknown action. Cached: do not modify the result.
 */
export function schemaOf(version: OcppVersion, action: string, direction: Direction): JsonSchema | undefined {
  if (!isActionOf(version, action)) return undefined;
  const table = sources[version];
  let name = `${action}${direction === 'request' ? 'Request' : 'Response'}`;
  if (direction === 'request' && !(name in table) && action in table) name = action;
  const key = `${version}:${name}`;
  const cached = schemaCache.get(key);
  if (cached !== undefined) return cached ?? undefined;
  const source = table[name];
  if (typeof source !== 'object' || source === null) {
    schemaCache.set(key, null);
    return undefined;
  }
  const { definitions, ...rest } = source as JsonSchema;
  const root = clone(rest);
  const corrections = correctionsBySchema.get(key);
  if (corrections) for (const correction of corrections) applyCorrection(root, correction);
  const used = referencedDefinitions(root, (definitions ?? {}) as Record<string, JsonSchema>);
  const schema: JsonSchema = used.size > 0 ? { ...root, definitions: Object.fromEntries(used) } : root;
  schemaCache.set(key, schema);
  return schema;
}

/** Definitions reachable through `$ref` from `root`, in first-reference order. */
function referencedDefinitions(root: JsonSchema, definitions: Record<string, JsonSchema>): Map<string, JsonSchema> {
  const used = new Map<string, JsonSchema>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const item of node) visit(item);
      return;
    }
    if (typeof node !== 'object' || node === null) return;
    const ref = (node as JsonSchema)['$ref'];
    if (typeof ref === 'string' && ref.startsWith('#/definitions/')) {
      const name = ref.slice('#/definitions/'.length);
      const target = definitions[name];
      if (target === undefined) throw new Error(`unresolved $ref ${ref}`);
      if (!used.has(name)) {
        used.set(name, target);
        visit(target);
      }
    }
    for (const value of Object.values(node)) visit(value);
  };
  visit(root);
  return used;
}

// --------------------------------------------------------------------------------------------
// Validation

/** Why a payload does not match its schema, with the error class the spec names. */
export interface PayloadViolation {
  readonly errorClass: ErrorClass;
  readonly description: string;
  /** JSON pointer of the offending value, and the schema keyword it broke. */
  readonly details: { readonly path: string; readonly keyword: string };
}

let ajv: Ajv | undefined;
function getAjv(): Ajv {
  if (!ajv) {
    // strict: false because the OCPP schemas carry javaType, comment and additionalProperties on
    // strings; allErrors: false because the first violation decides the error code.
    ajv = new Ajv({ strict: false, allErrors: false, validateSchema: false });
    const addFormats = addFormatsModule as unknown as (instance: Ajv) => Ajv;
    addFormats(ajv);
  }
  return ajv;
}

/** Compiled validators by version, then action, then direction; `null` marks an unknown action. */
const validators = new Map<OcppVersion, Map<string, { request?: ValidateFunction | null; response?: ValidateFunction | null }>>();

/** The compiled validator for one message; compiled on first use. Undefined for an unknown action. */
export function validatorOf(version: OcppVersion, action: string, direction: Direction): ValidateFunction | undefined {
  let byAction = validators.get(version);
  if (!byAction) {
    byAction = new Map();
    validators.set(version, byAction);
  }
  let entry = byAction.get(action);
  if (!entry) {
    entry = {};
    byAction.set(action, entry);
  }
  let validate = entry[direction];
  if (validate === undefined) {
    const schema = schemaOf(version, action, direction);
    validate = schema === undefined ? null : getAjv().compile(schema);
    entry[direction] = validate;
  }
  return validate ?? undefined;
}

/**
 * Checks `payload` against the schema of `action` in `version`.
 * @returns undefined when it is valid (or the action is unknown: callers check that first)
 */
export function validatePayload(version: OcppVersion, action: string, direction: Direction, payload: unknown): PayloadViolation | undefined {
  const validate = validatorOf(version, action, direction);
  if (!validate || validate(payload)) return undefined;
  const error = validate.errors?.[0];
  if (!error) return { errorClass: ErrorClass.FormatViolation, description: `${action} ${direction} is invalid`, details: { path: '', keyword: '' } };
  return describeViolation(version, action, direction, error);
}

/**
 * Maps a schema failure to the error class of the RPC framework table (OCPP-J 1.6 §4.2.3 Table 7,
 * 2.0.1 and 2.1 Part 4 §4.3):
 * - a missing required field, too few or too many array items: "violates occurrence constraints";
 * - a value of the wrong JSON type: "violates data type constraints (e.g. "somestring": 12)",
 *   except the payload itself not being an object, which is "syntactically incorrect";
 * - a bad enum member, a string too long, a number out of range or not a multiple, a malformed
 *   date-time or URI: "at least one field contains an invalid value" (PropertyConstraintViolation);
 * - a field the action does not define: 1.6 FormationViolation, "not conform the PDU structure
 *   for Action"; in 2.x that phrase moved to ProtocolError, "Payload for Action is not conform
 *   the PDU structure".
 */
export function classifyError(version: OcppVersion, error: Pick<ErrorObject, 'keyword' | 'instancePath'>): ErrorClass {
  switch (error.keyword) {
    case 'required':
    case 'minItems':
    case 'maxItems':
    case 'additionalItems':
      return ErrorClass.OccurrenceConstraintViolation;
    case 'type':
      return error.instancePath === '' ? ErrorClass.FormatViolation : ErrorClass.TypeConstraintViolation;
    case 'additionalProperties':
      return version === OcppVersion.V16 ? ErrorClass.FormatViolation : ErrorClass.ProtocolError;
    default:
      return ErrorClass.PropertyConstraintViolation;
  }
}

function describeViolation(version: OcppVersion, action: string, direction: Direction, error: ErrorObject): PayloadViolation {
  const path = error.instancePath;
  let what = error.message ?? error.keyword;
  if (error.keyword === 'additionalProperties') what = `has unknown property ${JSON.stringify((error.params as { additionalProperty?: string }).additionalProperty)}`;
  if (error.keyword === 'required') what = `misses required property ${JSON.stringify((error.params as { missingProperty?: string }).missingProperty)}`;
  return {
    errorClass: classifyError(version, error),
    description: `${action} ${direction}${path === '' ? '' : ` ${path}`} ${what}`,
    details: { path, keyword: error.keyword },
  };
}

/** Whether `action` is a message that only travels as a 2.1 SEND (it has no response schema). */
export function isSendOnly(version: OcppVersion, action: string): boolean {
  return isActionOf(version, action) && !(`${action}Response` in sources[version]);
}

/** How many validators have been compiled so far (for the test that proves compilation is lazy). */
export function compiledValidatorCount(): number {
  let count = 0;
  for (const byAction of validators.values()) {
    for (const entry of byAction.values()) count += (entry.request ? 1 : 0) + (entry.response ? 1 : 0);
  }
  return count;
}

/** Whether the validator of one message has been compiled (for the `precompile` tests). */
export function isValidatorCompiled(version: OcppVersion, action: string, direction: Direction): boolean {
  return Boolean(validators.get(version)?.get(action)?.[direction]);
}
