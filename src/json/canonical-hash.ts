/**
 * SHA-256 over RFC 8785 canonical JSON (./canonical-json.ts), lowercase hex: tool definition pins,
 * approval bindings (`argsHash`), audit entry hashes and redaction digests.
 *
 * @example
 * sha256Canonical({ b: 1, a: 2 }) // hex SHA-256 of '{"a":2,"b":1}'
 */
import { hash } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';

/** Lowercase hex SHA-256 of a string's UTF-8 bytes. */
export function sha256Hex(text: string): string {
  return hash('sha256', text, 'hex'); // one-shot: UTF-8 of the string, as `createHash().update(text, 'utf8')`
}

/** Lowercase hex SHA-256 of the canonical JSON of `value`. */
export function sha256Canonical(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}
