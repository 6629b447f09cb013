/**
 * What the gateway needs to know about a result's JSON, computed once per result and shared between the
 * stages that ask: its size in UTF-8 bytes (budget stage: `maxResponseBytes`; audit: `responseBytes`) and
 * the SHA-256 of its RFC 8785 canonical JSON (audit entry's `result.sha256`, the same value as
 * `sha256Canonical` in src/json/canonical-hash.ts).
 *
 * One serialisation serves both: for plain JSON data (see src/json/canonical-plain.ts: plain objects
 * and arrays, strings without lone surrogates, finite numbers, booleans, null; no `toJSON`) the
 * canonical text comes from `plainCanonicalJson`, and it has the same length as the value's own
 * `JSON.stringify` (same members, same escapes, only the member order differs). A value outside that
 * set (or a lone surrogate, which `canonicalize` refuses) takes the reference path: `JSON.stringify`
 * for the size, `sha256Canonical` for the hash, exactly as before. `measureResult` keeps the measure of a request's result for that request
 * (a `WeakMap` keyed by its context): the stages outside the budget stage pass the result on as is.
 *
 * @example
 * measureJson({ b: 1, a: 'x' }).bytes  // 15
 * measureJson({ b: 1, a: 'x' }).sha256 // = sha256Canonical({ b: 1, a: 'x' })
 */
import { createHash } from 'node:crypto';
import { sha256Canonical } from '../json/canonical-hash.js';
import { plainCanonicalJson } from '../json/canonical-plain.js';
import { jsonBytes } from '../json/json-bytes.js';

export interface JsonMeasure {
  /** UTF-8 bytes of `JSON.stringify(value)` (0 when JSON cannot carry the value). */
  readonly bytes: number;
  /** Lowercase hex SHA-256 of the value's canonical JSON; throws where `sha256Canonical` throws. */
  readonly sha256: string;
}

/** The last result measured per request context. */
const perRequest = new WeakMap<object, { value: unknown; measure: JsonMeasure }>();

function referenceMeasure(value: unknown): JsonMeasure {
  let sha256: string | undefined;
  return {
    bytes: jsonBytes(value),
    get sha256(): string {
      sha256 ??= sha256Canonical(value);
      return sha256;
    },
  };
}

function compute(value: unknown): JsonMeasure {
  const text = plainCanonicalJson(value);
  if (text === undefined) return referenceMeasure(value);
  return {
    bytes: Buffer.byteLength(text, 'utf8'),
    sha256: createHash('sha256').update(text, 'utf8').digest('hex'),
  };
}

/** Size and canonical hash of `value`'s JSON (see the module comment). */
export function measureJson(value: unknown): JsonMeasure {
  return compute(value);
}

/**
 * {@link measureJson} of a request's result, computed once per request: the budget stage measures it,
 * the audit stage (outer, same request context) gets the same figures as long as it holds the same
 * result object.
 *
 * @example
 * const bytes = measureResult(ctx, result).bytes; // budget; audit: measureResult(ctx, result).sha256
 */
export function measureResult(ctx: object, value: unknown): JsonMeasure {
  const hit = perRequest.get(ctx);
  if (hit && hit.value === value) return hit.measure;
  const measure = compute(value);
  perRequest.set(ctx, { value, measure });
  return measure;
}
