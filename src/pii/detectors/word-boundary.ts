/**
 * Whether a match stands on its own or is a piece of a longer identifier (`INV-2025-0042`,
 * `SKU-10001`, a UUID): detectors of numbers refuse matches glued to letters or digits.
 *
 * @example
 * isGlued('INV-2025-0042', 4, 13) // true: "2025-0042" continues "INV-"
 * isGlued('call 555-0199 now', 5, 13) // false
 */

const WORD = /[\p{L}\p{N}_]/u;

/** A letter, digit or underscore (any script). */
export function isWordChar(ch: string | undefined): boolean {
  return ch !== undefined && WORD.test(ch);
}

/**
 * True when the text right before `start` or right after `end` continues the match: a word character,
 * or a joiner (`-`, `.`, `/`, `_`) followed by a word character.
 */
export function isGlued(text: string, start: number, end: number): boolean {
  const before = text[start - 1];
  const after = text[end];
  if (isWordChar(before) || isWordChar(after)) return true;
  if (before !== undefined && '-_/'.includes(before) && isWordChar(text[start - 2])) return true;
  if (after !== undefined && '-_/'.includes(after) && isWordChar(text[end + 1])) return true;
  if (before === '.' && /\d/.test(text[start - 2] ?? '')) return true;
  if (after === '.' && /\d/.test(text[end + 1] ?? '')) return true;
  return false;
}
