/**
 * JSON Schema (2020-12) validation of tool arguments and results with Ajv (`ajv/dist/2020` +
 * `ajv-formats`), compiled ONCE per (pinned definition hash, policy overlay) and kept in a bounded LRU
 * cache, plus the two things Ajv does not do the way the gateway needs:
 *
 * - `stripUndeclared`: removes properties the schema does not declare (recursively through `properties`,
 *   `patternProperties`, `items` / `prefixItems` and plain `allOf` / `anyOf` / `oneOf` branches), unless
 *   the schema explicitly admits extra properties (`additionalProperties` / `unevaluatedProperties` true
 *   or a schema). The root `{ type: 'object' }` declares no arguments (all are stripped); a nested object
 *   schema without `properties` is a free-form map and is kept. A level the walk cannot judge (a `$ref`)
 *   is left alone; validation still applies to it.
 * - `describeProblems`: turns Ajv errors into one line per problem that tells a model exactly what to
 *   fix, e.g. `arguments.limit must be <= 50`, `arguments.query is required`,
 *   `arguments.sort must be one of: "asc", "desc"`.
 *
 * Upstream schemas are compiled non-strict (unknown keywords ignored), their `$schema` is dropped (they
 * are read as 2020-12, MCP's default dialect), and schemas with an `$id` are not registered, so two
 * tools cannot clash.
 *
 * @example
 * const validators = new SchemaValidatorCache();
 * const check = validators.get(`${hash}|${overlayKey}`, () => combinedSchema(tool.inputSchema, overlay));
 * const { value, stripped } = stripUndeclared(tool.inputSchema, args);
 * if (!check(value)) describeProblems(check.errors, 'arguments');
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

/** Compiled validators kept (least recently used evicted beyond this). */
export const DEFAULT_VALIDATOR_CACHE_SIZE = 1000;
/** At most this many problems are named in one error message. */
export const MAX_REPORTED_PROBLEMS = 10;

export interface ArgumentProblem {
  /** e.g. `arguments.items[0].name`. */
  path: string;
  /** e.g. `arguments.limit must be <= 50`. */
  message: string;
  /** The JSON Schema keyword that failed, e.g. `maximum`. */
  keyword: string;
}

type Json = Record<string, unknown>;

/** A compiled validator, or the reason the schema cannot be compiled (cached too: fail closed, fast). */
export type CompiledSchema = { ok: true; validate: ValidateFunction } | { ok: false; reason: string };

export class SchemaValidatorCache {
  readonly #ajv: Ajv2020;
  readonly #max: number;
  /** Map order = least recently used first. */
  readonly #cache = new Map<string, { compiled: CompiledSchema; schema: Json }>();

  constructor(options: { maxEntries?: number } = {}) {
    this.#max = Math.max(1, Math.trunc(options.maxEntries ?? DEFAULT_VALIDATOR_CACHE_SIZE));
    this.#ajv = new Ajv2020({
      strict: false,
      allErrors: true,
      addUsedSchema: false,
      validateFormats: true,
      logger: false,
    });
    addFormats.default(this.#ajv);
  }

  /** Validators compiled so far and still cached. */
  get size(): number {
    return this.#cache.size;
  }

  /** The validator for `key`, compiling `build()` the first time. */
  get(key: string, build: () => Json): CompiledSchema {
    const hit = this.#cache.get(key);
    if (hit) {
      this.#cache.delete(key);
      this.#cache.set(key, hit);
      return hit.compiled;
    }
    const schema = build();
    let compiled: CompiledSchema;
    try {
      compiled = { ok: true, validate: this.#ajv.compile(schema) };
    } catch (cause) {
      compiled = { ok: false, reason: cause instanceof Error ? cause.message : String(cause) };
    }
    this.#cache.set(key, { compiled, schema });
    while (this.#cache.size > this.#max) {
      const oldest = this.#cache.entries().next();
      if (oldest.done) break;
      this.#cache.delete(oldest.value[0]);
      this.#ajv.removeSchema(oldest.value[1].schema);
    }
    return compiled;
  }
}

/**
 * The schema arguments are validated against: the tool's own input schema, ANDed with the policy's
 * overlay when there is one (`{ allOf: [inputSchema, overlay] }`).
 */
export function combinedSchema(inputSchema: unknown, overlay: Json | undefined): Json {
  const own = withoutDialect(inputSchema);
  return overlay === undefined ? own : { allOf: [own, overlay] };
}

/** A schema object without its `$schema` (read as 2020-12); `{}` for a missing schema. */
export function withoutDialect(schema: unknown): Json {
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) return {};
  const { $schema: _dialect, ...rest } = schema as Json;
  return rest;
}

/**
 * `value` without the properties `schema` does not declare, and the paths of what was removed.
 *
 * @example
 * stripUndeclared({ type: 'object', properties: { q: { type: 'string' } } }, { q: 'x', debug: true })
 * // { value: { q: 'x' }, stripped: ['arguments.debug'] }
 */
export function stripUndeclared(
  schema: unknown,
  value: unknown,
  root = 'arguments',
): { value: unknown; stripped: string[] } {
  const stripped: string[] = [];
  const result = strip(schema, value, root, stripped, 0);
  return { value: result, stripped };
}

/**
 * One problem per failed check, most specific first, duplicates removed.
 *
 * @example
 * describeProblems(validate.errors, 'arguments') // [{ path: 'arguments.limit', message: 'arguments.limit must be <= 50', keyword: 'maximum' }]
 */
export function describeProblems(
  errors: readonly ErrorObject[] | null | undefined,
  root = 'arguments',
): ArgumentProblem[] {
  const problems: ArgumentProblem[] = [];
  const seen = new Set<string>();
  for (const e of errors ?? []) {
    if (e.keyword === 'if') continue;
    const path = pointerToPath(e.instancePath, root);
    const params = e.params as Record<string, unknown>;
    let target = path;
    let message: string;
    switch (e.keyword) {
      case 'required':
        target = joinPath(path, String(params.missingProperty));
        message = `${target} is required`;
        break;
      case 'additionalProperties':
      case 'unevaluatedProperties': {
        const extra = String(params.additionalProperty ?? params.unevaluatedProperty ?? '');
        target = joinPath(path, extra);
        message = `${target} is not allowed (unknown property)`;
        break;
      }
      case 'enum':
        message = `${path} must be one of: ${((params.allowedValues as unknown[]) ?? []).map((v) => JSON.stringify(v)).join(', ')}`;
        break;
      case 'const':
        message = `${path} must be ${JSON.stringify(params.allowedValue)}`;
        break;
      case 'anyOf':
      case 'oneOf':
        message = `${path} must match exactly the allowed forms (${e.keyword})`;
        break;
      default:
        message = `${path} ${e.message ?? `fails ${e.keyword}`}`;
    }
    if (seen.has(message)) continue;
    seen.add(message);
    problems.push({ path: target, message, keyword: e.keyword });
  }
  // Specific problems first; the generic combinator lines last.
  return problems.sort((a, b) => Number(isGeneric(a)) - Number(isGeneric(b)));
}

// ---------------------------------------------------------------------------------------------

const MAX_DEPTH = 64;

function strip(schema: unknown, value: unknown, path: string, stripped: string[], depth: number): unknown {
  if (depth > MAX_DEPTH || schema === null || typeof schema !== 'object' || Array.isArray(schema))
    return value;
  const s = schema as Json;
  if (Array.isArray(value)) return stripArray(s, value, path, stripped, depth);
  if (value === null || typeof value !== 'object') return value;
  if (typeof s.$ref === 'string' || typeof s.$dynamicRef === 'string') return value;
  if (admitsExtra(s.additionalProperties) || admitsExtra(s.unevaluatedProperties)) return value;
  const declared = declaredProperties(s, depth === 0);
  if (declared === undefined) return value;
  const input = value as Json;
  const out: Json = {};
  let changed = false;
  for (const [key, child] of Object.entries(input)) {
    const childPath = joinPath(path, key);
    const childSchemas = declared.schemasFor(key);
    if (childSchemas.length === 0) {
      stripped.push(childPath);
      changed = true;
      continue;
    }
    let next = child;
    for (const cs of childSchemas) next = strip(cs, next, childPath, stripped, depth + 1);
    if (next !== child) changed = true;
    out[key] = next;
  }
  return changed ? out : value;
}

function stripArray(s: Json, value: unknown[], path: string, stripped: string[], depth: number): unknown[] {
  const prefix = Array.isArray(s.prefixItems) ? (s.prefixItems as unknown[]) : [];
  const items = s.items;
  let changed = false;
  const out = value.map((item, i) => {
    const itemSchema = i < prefix.length ? prefix[i] : items;
    const next = strip(itemSchema, item, `${path}[${i}]`, stripped, depth + 1);
    if (next !== item) changed = true;
    return next;
  });
  return changed ? out : value;
}

interface Declared {
  schemasFor(key: string): unknown[];
}

/**
 * The properties a schema level declares: its own `properties` / `patternProperties` and those of
 * plain `allOf` / `anyOf` / `oneOf` branches. Undefined when the level declares no properties (a
 * free-form map; except at the root, where `{ type: 'object' }` means "no arguments"), or when a branch
 * cannot be judged (a `$ref`, or admits extras).
 */
function declaredProperties(s: Json, isRoot: boolean): Declared | undefined {
  const named = new Map<string, unknown[]>();
  const patterns: { re: RegExp; schema: unknown }[] = [];
  // The root `{ type: 'object' }` declares no arguments; a nested one without `properties` is a free-form map.
  let describesObject =
    isRoot && (s.type === 'object' || (Array.isArray(s.type) && s.type.includes('object')));
  const collect = (level: Json, depth: number): boolean => {
    if (depth > 8) return false;
    if (level.properties !== null && typeof level.properties === 'object') {
      describesObject = true;
      for (const [k, v] of Object.entries(level.properties as Json)) {
        const list = named.get(k);
        if (list) list.push(v);
        else named.set(k, [v]);
      }
    }
    if (level.patternProperties !== null && typeof level.patternProperties === 'object') {
      describesObject = true;
      for (const [p, v] of Object.entries(level.patternProperties as Json)) {
        try {
          patterns.push({ re: new RegExp(p, 'u'), schema: v });
        } catch {
          return false;
        }
      }
    }
    for (const key of ['allOf', 'anyOf', 'oneOf'] as const) {
      const branches = level[key];
      if (!Array.isArray(branches)) continue;
      for (const b of branches) {
        if (b === null || typeof b !== 'object') continue;
        const branch = b as Json;
        if (typeof branch.$ref === 'string' || typeof branch.$dynamicRef === 'string') return false;
        if (admitsExtra(branch.additionalProperties) || admitsExtra(branch.unevaluatedProperties))
          return false;
        if (!collect(branch, depth + 1)) return false;
      }
    }
    return true;
  };
  if (!collect(s, 0) || !describesObject) return undefined;
  return {
    schemasFor(key) {
      const found = [...(named.get(key) ?? [])];
      for (const p of patterns) if (p.re.test(key)) found.push(p.schema);
      return found;
    },
  };
}

function admitsExtra(keyword: unknown): boolean {
  return keyword === true || (keyword !== null && typeof keyword === 'object');
}

function pointerToPath(pointer: string, root: string): string {
  if (pointer === '') return root;
  let path = root;
  for (const raw of pointer.slice(1).split('/')) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    path = /^\d+$/.test(segment) ? `${path}[${segment}]` : joinPath(path, segment);
  }
  return path;
}

function joinPath(path: string, key: string): string {
  return /^[A-Za-z_$][\w$-]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function isGeneric(p: ArgumentProblem): boolean {
  return p.keyword === 'anyOf' || p.keyword === 'oneOf' || p.keyword === 'allOf' || p.keyword === 'not';
}
