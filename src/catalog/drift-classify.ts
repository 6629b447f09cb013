/**
 * What kind of change a tool definition went through since it was approved:
 *
 * - `cosmetic`: only `title`, `description`, `annotations` (or descriptive schema keywords such as a
 *   property's `description`, `title`, `examples`, `default`) changed;
 * - `compatible`: the input schema accepts everything it accepted before (an added optional property, a
 *   widened `type`, an `enum` with more values, a relaxed bound, a dropped `pattern`/`required`), and the
 *   output schema promises nothing less than before;
 * - `breaking`: anything else — a removed or newly required property, a narrowed type or enum, a
 *   tightened bound, a new pattern or format, or a schema change this comparison cannot judge
 *   (`$ref`, `anyOf`, `if`…: judged breaking, conservatively).
 *
 * The class informs the reviewer; it never releases a quarantine (every class waits for an admin).
 *
 * @example
 * classifyDrift(
 *   { name: 'erp.search', inputSchema: { type: 'object', properties: { q: { type: 'string' } } } },
 *   { name: 'erp.search', inputSchema: { type: 'object', properties: { q: { type: 'string' }, limit: { type: 'integer' } } } },
 * ); // { drift: 'compatible', changes: [{ path: 'inputSchema.properties.limit', drift: 'compatible', message: 'added optional property' }] }
 */
import { canonicalJson } from '../json/canonical-json.js';

export const DRIFT_CLASSES = ['cosmetic', 'compatible', 'breaking'] as const;
export type DriftClass = (typeof DRIFT_CLASSES)[number];

export interface DriftChange {
  /** e.g. `inputSchema.properties.amount.maximum`. */
  path: string;
  drift: DriftClass;
  message: string;
}

export interface DriftReport {
  /** The most severe class among `changes` (`cosmetic` when only presentation changed). */
  drift: DriftClass;
  changes: DriftChange[];
}

type Json = Record<string, unknown>;
type Mode = 'input' | 'output';

const DESCRIPTIVE = new Set([
  'title',
  'description',
  'examples',
  'default',
  '$comment',
  'deprecated',
  '$schema',
]);
const LOWER_BOUNDS = ['minimum', 'exclusiveMinimum', 'minLength', 'minItems', 'minProperties'];
const UPPER_BOUNDS = ['maximum', 'exclusiveMaximum', 'maxLength', 'maxItems', 'maxProperties'];
const RESTRICTIONS = ['pattern', 'format', 'multipleOf', 'uniqueItems'];
const HANDLED = new Set([
  'type',
  'enum',
  'const',
  'required',
  'properties',
  'additionalProperties',
  'items',
  'prefixItems',
  ...LOWER_BOUNDS,
  ...UPPER_BOUNDS,
  ...RESTRICTIONS,
  ...DESCRIPTIVE,
]);
const MAX_DEPTH = 32;

/** Classifies the change from the `approved` pinned fields to the `served` ones. */
export function classifyDrift(approved: unknown, served: unknown): DriftReport {
  const a = asObject(approved);
  const b = asObject(served);
  const changes: DriftChange[] = [];
  for (const field of ['title', 'description', 'annotations']) {
    if (!same(a[field], b[field]))
      changes.push({ path: field, drift: 'cosmetic', message: `${field} changed` });
  }
  compare(a.inputSchema ?? {}, b.inputSchema ?? {}, 'inputSchema', 'input', changes, 0);
  if (!same(a.outputSchema, b.outputSchema)) {
    if (a.outputSchema === undefined)
      changes.push(change('outputSchema', 'compatible', 'output schema added'));
    else if (b.outputSchema === undefined)
      changes.push(change('outputSchema', 'breaking', 'output schema removed'));
    else compare(a.outputSchema, b.outputSchema, 'outputSchema', 'output', changes, 0);
  }
  const worst = changes.reduce<DriftClass>((w, c) => (rank(c.drift) > rank(w) ? c.drift : w), 'cosmetic');
  return { drift: worst, changes };
}

function compare(
  old: unknown,
  neu: unknown,
  path: string,
  mode: Mode,
  out: DriftChange[],
  depth: number,
): void {
  if (same(old, neu)) return;
  if (
    depth > MAX_DEPTH ||
    typeof old === 'boolean' ||
    typeof neu === 'boolean' ||
    !isObject(old) ||
    !isObject(neu)
  ) {
    out.push(change(path, 'breaking', 'schema replaced'));
    return;
  }
  for (const key of new Set([...Object.keys(old), ...Object.keys(neu)])) {
    if (same(old[key], neu[key])) continue;
    const at = `${path}.${key}`;
    if (DESCRIPTIVE.has(key)) out.push(change(at, 'cosmetic', `${key} changed`));
    else if (!HANDLED.has(key))
      out.push(change(at, 'breaking', `"${key}" changed (not judged: treated as breaking)`));
  }
  compareTypes(old.type, neu.type, `${path}.type`, mode, out);
  compareValues(old, neu, path, mode, out);
  compareBounds(old, neu, path, mode, out);
  for (const key of RESTRICTIONS) {
    if (same(old[key], neu[key])) continue;
    const tighter = neu[key] !== undefined && neu[key] !== false;
    out.push(judge(`${path}.${key}`, mode, !tighter, tighter ? `${key} added or changed` : `${key} removed`));
  }
  compareObject(old, neu, path, mode, out, depth);
  if (!same(old.items, neu.items))
    compare(old.items ?? {}, neu.items ?? {}, `${path}.items`, mode, out, depth + 1);
  if (!same(old.prefixItems, neu.prefixItems))
    out.push(change(`${path}.prefixItems`, 'breaking', 'prefixItems changed'));
}

function compareTypes(old: unknown, neu: unknown, path: string, mode: Mode, out: DriftChange[]): void {
  if (same(old, neu)) return;
  const before = typesOf(old);
  const after = typesOf(neu);
  const covers = (set: Set<string> | undefined, t: string) =>
    set === undefined || set.has(t) || (t === 'integer' && set.has('number'));
  const widened = before === undefined ? after === undefined : [...before].every((t) => covers(after, t));
  out.push(judge(path, mode, widened, widened ? 'type widened' : 'type narrowed'));
}

function compareValues(old: Json, neu: Json, path: string, mode: Mode, out: DriftChange[]): void {
  for (const key of ['enum', 'const'] as const) {
    if (same(old[key], neu[key])) continue;
    const before = valuesOf(old, key);
    const after = valuesOf(neu, key);
    const widened = after === undefined || before?.every((v) => after.includes(v)) === true;
    out.push(
      judge(
        `${path}.${key}`,
        mode,
        widened,
        widened ? `${key} allows more values` : `${key} allows fewer values`,
      ),
    );
  }
}

function compareBounds(old: Json, neu: Json, path: string, mode: Mode, out: DriftChange[]): void {
  for (const [keys, lower] of [
    [LOWER_BOUNDS, true],
    [UPPER_BOUNDS, false],
  ] as const) {
    for (const key of keys) {
      const a = old[key];
      const b = neu[key];
      if (same(a, b)) continue;
      const looser =
        b === undefined || (typeof a === 'number' && typeof b === 'number' && (lower ? b < a : b > a));
      out.push(judge(`${path}.${key}`, mode, looser, looser ? `${key} relaxed` : `${key} tightened`));
    }
  }
}

function compareObject(
  old: Json,
  neu: Json,
  path: string,
  mode: Mode,
  out: DriftChange[],
  depth: number,
): void {
  const oldProps = isObject(old.properties) ? old.properties : {};
  const newProps = isObject(neu.properties) ? neu.properties : {};
  const oldRequired = new Set(stringsOf(old.required));
  const newRequired = new Set(stringsOf(neu.required));
  for (const name of Object.keys(oldProps)) {
    const at = `${path}.properties.${name}`;
    if (!(name in newProps)) {
      // Inputs: callers sending it lose it. Outputs: only a required one was promised (checked below).
      out.push(change(at, mode === 'input' ? 'breaking' : 'compatible', 'property removed'));
    } else {
      compare(oldProps[name], newProps[name], at, mode, out, depth + 1);
    }
  }
  for (const name of Object.keys(newProps)) {
    if (name in oldProps) continue;
    const at = `${path}.properties.${name}`;
    if (mode === 'output' || !newRequired.has(name))
      out.push(change(at, 'compatible', 'property added (optional)'));
  }
  for (const name of newRequired) {
    if (!oldRequired.has(name)) out.push(judge(`${path}.required`, mode, false, `"${name}" newly required`));
  }
  for (const name of oldRequired) {
    if (!newRequired.has(name))
      out.push(judge(`${path}.required`, mode, true, `"${name}" no longer required`));
  }
  if (!same(old.additionalProperties, neu.additionalProperties)) {
    const closed = neu.additionalProperties === false;
    const opened = old.additionalProperties === false;
    if (closed || opened) {
      out.push(
        judge(
          `${path}.additionalProperties`,
          mode,
          opened,
          closed ? 'extra properties now refused' : 'extra properties now allowed',
        ),
      );
    } else {
      compare(
        old.additionalProperties ?? {},
        neu.additionalProperties ?? {},
        `${path}.additionalProperties`,
        mode,
        out,
        depth + 1,
      );
    }
  }
}

/** Inputs: accepting more is compatible. Outputs: promising less is breaking (the reverse). */
function judge(path: string, mode: Mode, widens: boolean, message: string): DriftChange {
  const compatible = mode === 'input' ? widens : !widens;
  return change(path, compatible ? 'compatible' : 'breaking', message);
}

function change(path: string, drift: DriftClass, message: string): DriftChange {
  return { path, drift, message };
}

function typesOf(type: unknown): Set<string> | undefined {
  if (typeof type === 'string') return new Set([type]);
  if (Array.isArray(type)) return new Set(type.filter((t): t is string => typeof t === 'string'));
  return undefined;
}

function valuesOf(schema: Json, key: 'enum' | 'const'): string[] | undefined {
  if (!(key in schema)) return undefined;
  const values = key === 'const' ? [schema.const] : Array.isArray(schema.enum) ? schema.enum : [];
  return values.map((v) => canonicalJson(v));
}

function stringsOf(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function rank(c: DriftClass): number {
  return DRIFT_CLASSES.indexOf(c);
}

function same(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

function isObject(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function asObject(v: unknown): Json {
  return isObject(v) ? v : {};
}
