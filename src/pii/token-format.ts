/**
 * The token a model sees in place of a value: `[[CLASS:hex]]`, e.g. `[[EMAIL:7f3a9c21]]`. The hex is
 * the start of a keyed HMAC of the value (8 characters, longer only after a collision), so it is
 * readable, stable for joins and reveals nothing without the tenant's key.
 *
 * @example
 * formatToken('EMAIL', '7f3a9c21') // '[[EMAIL:7f3a9c21]]'
 * findTokens('see [[EMAIL:7f3a9c21]]')[0]?.token // '[[EMAIL:7f3a9c21]]'
 */

/** Hex characters in a new token. 8 hex = 32 bits: collisions are handled by lengthening. */
export const DEFAULT_TOKEN_HEX_LENGTH = 8;
/** Longest hex part a token may have (the full HMAC-SHA256). */
export const MAX_TOKEN_HEX_LENGTH = 64;

const TOKEN = /\[\[([A-Z][A-Z0-9_]{1,31}):([0-9a-f]{8,64})\]\]/g;

export interface FoundToken {
  start: number;
  end: number;
  /** The whole token, e.g. `[[EMAIL:7f3a9c21]]`. */
  token: string;
  class: string;
}

export function formatToken(cls: string, hex: string): string {
  return `[[${cls}:${hex}]]`;
}

/** Every token in `text`, in order. */
export function findTokens(text: string): FoundToken[] {
  if (!text.includes('[[')) return [];
  const out: FoundToken[] = [];
  for (const m of text.matchAll(TOKEN)) {
    out.push({ start: m.index, end: m.index + m[0].length, token: m[0], class: m[1] ?? '' });
  }
  return out;
}
