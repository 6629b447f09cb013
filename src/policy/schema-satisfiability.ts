/**
 * Finds JSON Schema fragments no value can satisfy, where that is detectable without solving the
 * general problem: `false`, `not: {}`, an empty `enum` or `type` list, a lower bound above its upper
 * bound (`minimum`/`maximum`, `exclusiveMinimum`/`exclusiveMaximum`, `minLength`/`maxLength`,
 * `minItems`/`maxItems`, `minProperties`/`maxProperties`), an `enum`/`const` none of whose values passes
 * the other keywords of the same schema (checked with Ajv), and such a schema under `properties`,
 * `allOf`, or every branch of `anyOf`/`oneOf`. A property schema that can never hold is reported even
 * when the property is optional: the author meant something else.
 *
 * @example
 * unsatisfiable({ properties: { amount: { minimum: 10, maximum: 5 } } })
 * // [{ path: 'properties.amount', message: 'minimum 10 is above maximum 5' }]
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

export interface SchemaProblem {
  /** Dotted path inside the fragment, e.g. `properties.amount`. */
  path: string;
  message: string;
}

type Json = Record<string, unknown>;

const BOUNDS = [
  ['minimum', 'maximum'],
  ['minLength', 'maxLength'],
  ['minItems', 'maxItems'],
  ['minProperties', 'maxProperties'],
  ['minContains', 'maxContains'],
] as const;

const MAX_DEPTH = 32;

let ajv: Ajv2020 | undefined;
function checker(): Ajv2020 {
  if (!ajv) {
    ajv = new Ajv2020({ strict: false, addUsedSchema: false, logger: false });
    addFormats.default(ajv);
  }
  return ajv;
}

/** Every detectable reason `schema` (a JSON Schema 2020-12 fragment) can never hold. */
export function unsatisfiable(schema: unknown, path = ''): SchemaProblem[] {
  const problems: SchemaProblem[] = [];
  walk(schema, path, problems, 0);
  return problems;
}

function walk(schema: unknown, path: string, problems: SchemaProblem[], depth: number): boolean {
  if (depth > MAX_DEPTH) return true;
  if (schema === false) return fail(problems, path, 'the schema `false` never holds');
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) return true;
  const s = schema as Json;
  const before = problems.length;
  if (s.not === true || (isObject(s.not) && Object.keys(s.not).length === 0)) {
    fail(problems, join(path, 'not'), '"not" of a schema that accepts everything never holds');
  }
  if (Array.isArray(s.enum) && s.enum.length === 0) fail(problems, join(path, 'enum'), 'an empty enum');
  if (Array.isArray(s.type) && s.type.length === 0) fail(problems, join(path, 'type'), 'an empty type list');
  checkBounds(s, path, problems);
  if (problems.length === before) checkValues(s, path, problems);
  if (isObject(s.properties)) {
    for (const [name, child] of Object.entries(s.properties)) {
      walk(child, join(path, `properties.${name}`), problems, depth + 1);
    }
  }
  if (Array.isArray(s.allOf)) {
    s.allOf.forEach((branch, i) => {
      walk(branch, join(path, `allOf[${i}]`), problems, depth + 1);
    });
  }
  for (const key of ['anyOf', 'oneOf'] as const) {
    const branches = s[key];
    if (!Array.isArray(branches)) continue;
    const scratch: SchemaProblem[] = [];
    const anyOk = branches.some((b, i) => walk(b, join(path, `${key}[${i}]`), scratch, depth + 1));
    if (!anyOk || branches.length === 0) fail(problems, join(path, key), `no branch of "${key}" can hold`);
  }
  return problems.length === before;
}

function checkBounds(s: Json, path: string, problems: SchemaProblem[]): void {
  for (const [low, high] of BOUNDS) {
    const a = s[low];
    const b = s[high];
    if (typeof a === 'number' && typeof b === 'number' && a > b) {
      fail(problems, join(path, low), `${low} ${a} is above ${high} ${b}`);
    }
  }
  const lo = typeof s.exclusiveMinimum === 'number' ? s.exclusiveMinimum : undefined;
  const hi = typeof s.exclusiveMaximum === 'number' ? s.exclusiveMaximum : undefined;
  const min = typeof s.minimum === 'number' ? s.minimum : undefined;
  const max = typeof s.maximum === 'number' ? s.maximum : undefined;
  if (lo !== undefined && hi !== undefined && lo >= hi) {
    fail(
      problems,
      join(path, 'exclusiveMinimum'),
      `exclusiveMinimum ${lo} leaves no value below exclusiveMaximum ${hi}`,
    );
  }
  if (lo !== undefined && max !== undefined && lo >= max) {
    fail(
      problems,
      join(path, 'exclusiveMinimum'),
      `exclusiveMinimum ${lo} leaves no value up to maximum ${max}`,
    );
  }
  if (min !== undefined && hi !== undefined && min >= hi) {
    fail(problems, join(path, 'minimum'), `minimum ${min} leaves no value below exclusiveMaximum ${hi}`);
  }
}

/** `enum` / `const`: at least one listed value must pass the rest of the same schema. */
function checkValues(s: Json, path: string, problems: SchemaProblem[]): void {
  const values: unknown[] = 'const' in s ? [s.const] : Array.isArray(s.enum) ? s.enum : [];
  if (values.length === 0) return;
  let validate: ((value: unknown) => boolean) | undefined;
  try {
    validate = checker().compile(s);
  } catch {
    return; // the loader reports schemas that do not compile
  }
  if (!values.some((v) => validate?.(v))) {
    fail(
      problems,
      join(path, 'const' in s ? 'const' : 'enum'),
      'no listed value satisfies the other keywords of this schema',
    );
  }
}

function fail(problems: SchemaProblem[], path: string, message: string): false {
  problems.push({ path, message });
  return false;
}

function isObject(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}
