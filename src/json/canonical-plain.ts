/**
 * RFC 8785 canonical JSON of plain JSON data in one pass, without the intermediate copy of the
 * reference path (`JSON.stringify` → `JSON.parse` → `canonicalize`, ./canonical-json.ts): the text it
 * returns is byte for byte what the reference path returns for the same value (property-tested against
 * the `canonicalize` package: test/json/canonical-plain.test.ts).
 *
 * Plain JSON data: strings without lone surrogates, finite numbers, booleans, null, arrays (prototype
 * `Array.prototype`) and objects (prototype `Object.prototype` or null), neither with a callable `toJSON`,
 * nested at most `PLAIN_CANONICAL_MAX_DEPTH` deep. Object members whose value is `undefined` are left
 * out and `undefined` array items become `null`, as JSON does. For anything else (a lone surrogate,
 * `NaN`, a function, a symbol, a bigint, a `Date`, a class instance, a cycle, a throwing getter) the
 * functions return `undefined` and the caller takes the reference path, which answers (or throws)
 * exactly as it always did.
 *
 * Why it is identical: member names are sorted with `Array.prototype.sort` (UTF-16 code units) as
 * `canonicalize` does; strings and numbers are written by `JSON.stringify` / `String`, which is what
 * `canonicalize` calls for them (a string needing no escape is written between quotes as is); the
 * member set is `Object.keys` minus `undefined` values, which is what survives `JSON.stringify`.
 *
 * Two writers share these rules: `plainCanonicalJson` first lets the native `JSON.stringify` write a
 * copy whose members are inserted in canonical order (fastest on large values), and uses the
 * string writer where that copy cannot keep the order (integer-like member names) or the text shows
 * an escaped surrogate; `plainCanonicalSplit` uses the writer (fastest on small objects).
 *
 * @example
 * plainCanonicalJson({ b: 1, a: [true, null] }) // '{"a":[true,null],"b":1}'
 * plainCanonicalJson({ d: new Date(0) })       // undefined: take the reference path
 */

/** Deeper nesting takes the reference path. */
export const PLAIN_CANONICAL_MAX_DEPTH = 256;

/** Thrown (never escapes this module) when the value is not plain JSON data. */
const NOT_PLAIN: unique symbol = Symbol('not plain JSON data');

/** Characters JSON escapes, and surrogates (which may be lone): such strings go through the checks. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are exactly the characters JSON escapes
const SPECIAL = /[\u0000-\u001f"\\\ud800-\udfff]/;

interface WellFormed {
  isWellFormed(): boolean;
}

function writeString(s: string): string {
  if (!SPECIAL.test(s)) return `"${s}"`;
  // canonicalize refuses lone surrogates: let the reference path refuse them.
  if (!(s as unknown as WellFormed).isWellFormed()) throw NOT_PLAIN;
  return JSON.stringify(s);
}

function writeValue(value: unknown, depth: number): string {
  switch (typeof value) {
    case 'string':
      return writeString(value);
    case 'number':
      if (!Number.isFinite(value)) throw NOT_PLAIN;
      return String(value); // = JSON.stringify for finite numbers (-0 → "0")
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      if (value === null) return 'null';
      if (depth >= PLAIN_CANONICAL_MAX_DEPTH) throw NOT_PLAIN;
      return Array.isArray(value) ? writeArray(value, depth + 1) : writeObject(value, depth + 1);
    default:
      throw NOT_PLAIN;
  }
}

/** Throws NOT_PLAIN for an array JSON would not write as its items (a subclass, a `toJSON`). */
function checkArray(items: unknown[]): void {
  if (Object.getPrototypeOf(items) !== Array.prototype) throw NOT_PLAIN;
  if (typeof (items as { toJSON?: unknown }).toJSON === 'function') throw NOT_PLAIN;
}

function writeArray(items: unknown[], depth: number): string {
  checkArray(items);
  let out = '[';
  for (let i = 0; i < items.length; i++) {
    if (i > 0) out += ',';
    const item = items[i];
    out += item === undefined ? 'null' : writeValue(item, depth);
  }
  return `${out}]`;
}

function writeObject(value: object, depth: number): string {
  const record = value as Record<string, unknown>;
  let out = '{';
  for (const key of sortedNames(record)) {
    const item = record[key];
    if (item === undefined) continue;
    if (out.length > 1) out += ',';
    out += `${writeString(key)}:${writeValue(item, depth)}`;
  }
  return `${out}}`;
}

/** The member names of a plain object in RFC 8785 order; throws NOT_PLAIN for any other object. */
function sortedNames(record: Record<string, unknown>): string[] {
  const proto = Object.getPrototypeOf(record);
  if (proto !== Object.prototype && proto !== null) throw NOT_PLAIN;
  if (typeof record.toJSON === 'function') throw NOT_PLAIN;
  const keys = Object.keys(record);
  if (keys.length > 1) keys.sort();
  return keys;
}

/**
 * The RFC 8785 text of plain JSON data, or `undefined` when `value` is anything else (see the module
 * comment): then the reference path decides.
 *
 * @example
 * plainCanonicalJson({ é: -0, a: '\n' }) // '{"a":"\\n","é":0}'
 */
export function plainCanonicalJson(value: unknown): string | undefined {
  try {
    let text: string | undefined;
    try {
      text = JSON.stringify(sortedCopy(value, 0));
    } catch (err) {
      if (err !== NEEDS_WRITER) throw err;
    }
    // JSON.stringify escapes a lone surrogate (as \udXXX) where canonicalize refuses it: the writer decides.
    if (text !== undefined && !text.includes('\\ud')) return text;
    return writeValue(value, 0);
  } catch {
    return undefined; // not plain, too deep, a throwing getter: the reference path answers
  }
}

/** Thrown by `sortedCopy` where a copy's property order would not be the canonical order. */
const NEEDS_WRITER: unique symbol = Symbol('member order needs the writer');

/**
 * A copy of plain JSON data with every object's members inserted in canonical order, so that the
 * native `JSON.stringify` writes the canonical text (faster than the writer on large values). Member
 * names starting with a digit (objects list integer-like names first, whatever the insertion order)
 * and `__proto__` throw NEEDS_WRITER; anything not plain throws NOT_PLAIN.
 */
function sortedCopy(value: unknown, depth: number): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value)) throw NOT_PLAIN;
      return value;
    case 'object':
      break;
    default:
      throw NOT_PLAIN;
  }
  if (value === null) return null;
  if (depth >= PLAIN_CANONICAL_MAX_DEPTH) throw NOT_PLAIN;
  if (Array.isArray(value)) {
    checkArray(value);
    const out: unknown[] = new Array(value.length);
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      out[i] = item === undefined ? null : sortedCopy(item, depth + 1);
    }
    return out;
  }
  const record = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of sortedNames(record)) {
    const item = record[key];
    if (item === undefined) continue;
    const first = key.charCodeAt(0);
    if ((first >= 48 && first <= 57) || key === '__proto__') throw NEEDS_WRITER;
    out[key] = sortedCopy(item, depth + 1);
  }
  return out;
}

/**
 * A plain object's RFC 8785 members split around the place where a member `name` (which the object
 * must not have) sorts: its canonical text is `{before,after}` (without the comma when one side is
 * empty), and with a member `"name":value` added it is `{before,"name":value,after}`. Lets a caller
 * add one member without serializing the rest again. `undefined` when `record` is not plain JSON data
 * or has a member `name`.
 *
 * @example
 * plainCanonicalSplit({ c: 1, a: 'x' }, 'b') // { before: '"a":"x"', after: '"c":1' }
 */
export function plainCanonicalSplit(
  record: object,
  name: string,
): { before: string; after: string } | undefined {
  if (record === null || typeof record !== 'object' || Array.isArray(record)) return undefined;
  const object = record as Record<string, unknown>;
  const before: string[] = [];
  const after: string[] = [];
  try {
    for (const key of sortedNames(object)) {
      const item = object[key];
      if (item === undefined) continue;
      if (key === name) return undefined;
      (key < name ? before : after).push(`${writeString(key)}:${writeValue(item, 1)}`);
    }
  } catch {
    return undefined;
  }
  // join() gives flat strings: the two texts built from them copy them instead of walking each rope again.
  return { before: before.join(','), after: after.join(',') };
}
