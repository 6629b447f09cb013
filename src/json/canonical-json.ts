/**
 * RFC 8785 (JSON Canonicalization Scheme) with the `canonicalize` package: the one encoding behind audit
 * entry hashes, tool definition pins, approval bindings (`argsHash`) and signed reports. Values pass
 * through JSON first (`undefined` properties dropped, `toJSON` applied), so what is encoded is exactly
 * what a JSON reader of the stored text sees. SHA-256 over it: ./canonical-hash.ts.
 *
 * Plain JSON data (the usual case) is written in one pass by ./canonical-plain.ts, byte-identical to
 * the reference path (`referenceCanonicalJson`), which everything else takes.
 *
 * @example
 * canonicalJson({ b: 1, a: [true, null] }) // '{"a":[true,null],"b":1}'
 */
import canonicalize from 'canonicalize';
import { plainCanonicalJson } from './canonical-plain.js';

/** Any JSON value. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** `value` as it reads back from JSON (`undefined` for values JSON cannot carry). */
export function toJsonValue(value: unknown): JsonValue | undefined {
  const text = JSON.stringify(value);
  return text === undefined ? undefined : (JSON.parse(text) as JsonValue);
}

/** RFC 8785 canonical JSON of `value`; `'null'` for values JSON cannot carry. */
export function canonicalJson(value: unknown): string {
  return plainCanonicalJson(value) ?? referenceCanonicalJson(value);
}

/**
 * The reference path of `canonicalJson`: through JSON, then `canonicalize`. Throws for lone surrogates
 * (`canonicalize`), cycles and bigints (`JSON.stringify`).
 *
 * @example
 * referenceCanonicalJson({ d: new Date(0) }) // '{"d":"1970-01-01T00:00:00.000Z"}'
 */
export function referenceCanonicalJson(value: unknown): string {
  return canonicalize(toJsonValue(value) ?? null) ?? 'null';
}

/**
 * Canonical JSON laid out one member per line (keys in RFC 8785 order, two-space indent), so a text diff
 * of two definitions shows exactly which field changed.
 *
 * @example
 * prettyCanonical({ b: 1, a: { d: 2, c: 3 } }) // '{\n  "a": {\n    "c": 3,\n    "d": 2\n  },\n  "b": 1\n}'
 */
export function prettyCanonical(value: unknown, indent = ''): string {
  if (value === null || typeof value !== 'object') return canonicalJson(value);
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((v) => inner + prettyCanonical(v, inner)).join(',\n')}\n${indent}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined && typeof v !== 'function')
    .sort(([a], [b]) => compareUtf16(a, b));
  if (entries.length === 0) return '{}';
  return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${prettyCanonical(v, inner)}`).join(',\n')}\n${indent}}`;
}

/** RFC 8785 sorts member names by their UTF-16 code units. */
function compareUtf16(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
