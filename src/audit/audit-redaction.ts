/**
 * What of a request's arguments and result goes into the audit trail. The trail keeps a redacted
 * form (by default: the structure with every value replaced by its type and size) and the SHA-256 of
 * the raw form's canonical JSON, so an auditor holding the raw data can prove it is what was sent,
 * while the trail itself carries no payload. Note that a hash of a short, guessable value (a yes/no
 * flag, a small number) can be confirmed by guessing.
 *
 * @example
 * redactLeaves({ customer: 'Ada Lovelace', amount: 12.5, tags: ['vip'] })
 * // { customer: '[string:12]', amount: '[number]', tags: ['[string:3]'] }
 * auditPayload({ amount: 12.5 }, 'arguments') // { redacted: { amount: '[number]' }, sha256: '…' }
 */

import { sha256Canonical } from '../json/canonical-hash.js';
import { type JsonValue, toJsonValue } from '../json/canonical-json.js';
import type { AuditPayload } from './audit-entry.js';

/** Nesting kept by `redactLeaves`; deeper values become `[object]` / `[array:n]`. */
export const DEFAULT_REDACT_MAX_DEPTH = 6;
/** Keys kept per object by `redactLeaves`. */
export const DEFAULT_REDACT_MAX_KEYS = 50;
/** Items kept per array by `redactLeaves`. */
export const DEFAULT_REDACT_MAX_ITEMS = 20;

/** Turns a raw value into what the trail may keep. Must return JSON. */
export type AuditRedactor = (value: unknown, where: 'arguments' | 'result') => JsonValue;

export interface RedactLeavesOptions {
  maxDepth?: number;
  maxKeys?: number;
  maxItems?: number;
}

/**
 * The default redactor: keeps object keys and array lengths, replaces every value by a marker
 * (`[string:<length>]`, `[number]`, `[boolean]`; null stays null).
 */
export function redactLeaves(value: unknown, opts: RedactLeavesOptions = {}): JsonValue {
  const maxDepth = opts.maxDepth ?? DEFAULT_REDACT_MAX_DEPTH;
  const maxKeys = opts.maxKeys ?? DEFAULT_REDACT_MAX_KEYS;
  const maxItems = opts.maxItems ?? DEFAULT_REDACT_MAX_ITEMS;
  const walk = (v: unknown, depth: number): JsonValue => {
    if (v === null || v === undefined) return null;
    if (typeof v === 'string') return `[string:${v.length}]`;
    if (typeof v === 'number' || typeof v === 'bigint') return '[number]';
    if (typeof v === 'boolean') return '[boolean]';
    if (Array.isArray(v)) {
      if (depth >= maxDepth) return `[array:${v.length}]`;
      const out = v.slice(0, maxItems).map((item) => walk(item, depth + 1));
      if (v.length > maxItems) out.push(`[+${v.length - maxItems} more]`);
      return out;
    }
    if (typeof v === 'object') {
      if (depth >= maxDepth) return '[object]';
      const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
      const out: { [key: string]: JsonValue } = {};
      for (const [k, x] of entries.slice(0, maxKeys)) out[k] = walk(x, depth + 1);
      if (entries.length > maxKeys) out['[more]'] = `[+${entries.length - maxKeys} keys]`;
      return out;
    }
    return `[${typeof v}]`;
  };
  return walk(value, 0);
}

/**
 * The audit form of a payload: redacted with `redactor` (default `redactLeaves`) plus the SHA-256 of
 * the raw value's RFC 8785 canonical JSON.
 */
export function auditPayload(
  raw: unknown,
  where: 'arguments' | 'result',
  redactor: AuditRedactor = (v) => redactLeaves(v),
): AuditPayload {
  return { redacted: toJsonValue(redactor(raw, where)) ?? null, sha256: sha256Canonical(raw) };
}
