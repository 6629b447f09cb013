/**
 * RFC 8785 canonical JSON (the `canonicalize` package) and SHA-256 over it: the basis of tool definition
 * pins and of approval bindings (`argsHash`). Values pass through JSON first, so what is hashed is
 * exactly what a JSON reader sees (`undefined` properties dropped).
 *
 * @example
 * canonicalJson({ b: 1, a: [true, null] }) // '{"a":[true,null],"b":1}'
 * sha256Canonical({ b: 1, a: 2 })          // hex SHA-256 of '{"a":2,"b":1}'
 */
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

/** RFC 8785 canonical JSON of `value`; `'null'` for values JSON cannot carry. */
export function canonicalJson(value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) return 'null';
  return canonicalize(JSON.parse(text)) ?? 'null';
}

/** Lowercase hex SHA-256 of a string's UTF-8 bytes. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Lowercase hex SHA-256 of the canonical JSON of `value`. */
export function sha256Canonical(value: unknown): string {
  return sha256Hex(canonicalJson(value));
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
