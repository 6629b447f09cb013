/**
 * Replaces this tenant's tokens in request arguments by the real values before the upstream sees them.
 * Every string value and object key is searched; a token the tenant's vault did not issue (another
 * tenant's, or made up) refuses the whole request with -32602 `AIRLOCK_PII_UNKNOWN_TOKEN`; with a session
 * `scope`, a token of another session is refused with -32602 `AIRLOCK_PII_TOKEN_SCOPE`. Every replaced
 * value is recorded in `taint` when given (see request-taint.ts).
 *
 * @example
 * const args = await detokenizeArguments(vault, { email: '[[EMAIL:7f3a9c21]]' }, counts);
 * // { email: 'anna@example.com' }
 */
import { unknownTokenError } from './pii-errors.js';
import type { DetokenizeOptions, PiiVault } from './pii-vault.js';
import type { RequestTaint } from './request-taint.js';
import { tokenScopeError } from './token-scope.js';

export interface DetokenizeArgumentsOptions {
  /** Session scope (`pii.tokenScope: session`); undefined: tenant-wide tokens. */
  scope?: string | undefined;
  /** Records every de-tokenized value for the request. */
  taint?: RequestTaint | undefined;
}

/**
 * Returns a copy of `value` with tokens replaced; `counts` collects tokens per class. Throws the
 * `unknownTokenError` (or `tokenScopeError`) WireError for the first token it cannot accept.
 */
export async function detokenizeArguments(
  vault: PiiVault,
  value: unknown,
  counts: Map<string, number>,
  options: DetokenizeArgumentsOptions = {},
): Promise<unknown> {
  const unknown: string[] = [];
  const foreign: string[] = [];
  const taint = options.taint;
  const opts: DetokenizeOptions = {
    foreign,
    ...(options.scope !== undefined ? { scope: options.scope } : {}),
    ...(taint ? { onValue: (token, cls, raw) => taint.record(token, cls, raw) } : {}),
  };
  const out = await walk(vault, value, counts, unknown, opts);
  const first = unknown[0];
  if (first !== undefined) throw unknownTokenError(first);
  const other = foreign[0];
  if (other !== undefined) throw tokenScopeError(other);
  return out;
}

async function walk(
  vault: PiiVault,
  value: unknown,
  counts: Map<string, number>,
  unknown: string[],
  opts: DetokenizeOptions,
): Promise<unknown> {
  if (typeof value === 'string') return vault.detokenizeText(value, counts, unknown, opts);
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (const item of value) out.push(await walk(vault, item, counts, unknown, opts));
    return out;
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[await vault.detokenizeText(k, counts, unknown, opts)] = await walk(vault, v, counts, unknown, opts);
    }
    return out;
  }
  return value;
}
