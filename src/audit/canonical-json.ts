/**
 * RFC 8785 (JSON Canonicalization Scheme) encoding and SHA-256 over it, with the `canonicalize`
 * package. Values are first passed through JSON (undefined properties dropped, `toJSON` applied)
 * so that what is hashed is exactly what a JSON reader of the stored text sees.
 *
 * @example
 * canonicalJson({ b: 1, a: [true, null] }) // '{"a":[true,null],"b":1}'
 * sha256Canonical({ b: 1, a: 2 })          // hex SHA-256 of '{"a":2,"b":1}'
 */
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

/** Any JSON value. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** `value` as it reads back from JSON (`undefined` for values JSON cannot carry). */
export function toJsonValue(value: unknown): JsonValue | undefined {
  const text = JSON.stringify(value);
  return text === undefined ? undefined : (JSON.parse(text) as JsonValue);
}

/** RFC 8785 canonical JSON of `value`; `'null'` for values JSON cannot carry. */
export function canonicalJson(value: unknown): string {
  return canonicalize(toJsonValue(value) ?? null) ?? 'null';
}

/** Lowercase hex SHA-256 of a string's UTF-8 bytes. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Lowercase hex SHA-256 of the canonical JSON of `value`. */
export function sha256Canonical(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}
