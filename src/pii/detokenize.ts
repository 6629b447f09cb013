/**
 * Replaces this tenant's tokens in request arguments by the real values before the upstream sees them.
 * Every string value and object key is searched; a token the tenant's vault did not issue (another
 * tenant's, or made up) refuses the whole request with -32602.
 *
 * @example
 * const args = await detokenizeArguments(vault, { email: '[[EMAIL:7f3a9c21]]' }, counts);
 * // { email: 'anna@example.com' }
 */
import { unknownTokenError } from './pii-errors.js';
import type { PiiVault } from './pii-vault.js';

/**
 * Returns a copy of `value` with tokens replaced; `counts` collects tokens per class. Throws the
 * `unknownTokenError` WireError for the first token the vault does not know.
 */
export async function detokenizeArguments(
  vault: PiiVault,
  value: unknown,
  counts: Map<string, number>,
): Promise<unknown> {
  const unknown: string[] = [];
  const out = await walk(vault, value, counts, unknown);
  const first = unknown[0];
  if (first !== undefined) throw unknownTokenError(first);
  return out;
}

async function walk(
  vault: PiiVault,
  value: unknown,
  counts: Map<string, number>,
  unknown: string[],
): Promise<unknown> {
  if (typeof value === 'string') return vault.detokenizeText(value, counts, unknown);
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (const item of value) out.push(await walk(vault, item, counts, unknown));
    return out;
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[await vault.detokenizeText(k, counts, unknown)] = await walk(vault, v, counts, unknown);
    }
    return out;
  }
  return value;
}
