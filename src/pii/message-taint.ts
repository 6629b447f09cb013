/**
 * Message taint: a value a detector found in one part of a message is known PII in every other part of
 * that message. A result whose `structuredContent.name` the name detector recognised (a key cue) but
 * whose text repeats the same first name on its own ("Ada, 36": no cue, too short for the lexicon to
 * decide) would otherwise go out with the token in one place and the raw value in the other, linking
 * the two for the agent. After the first walk of a message, every recorded value is replaced wherever
 * it stands as a whole word (letters and digits on both sides are not part of it: "Ada" in "Adam" or
 * "Canada" stays), by the replacement the detector's span got.
 *
 * Values shorter than {@link MIN_MESSAGE_TAINT_LENGTH} characters are not tracked; at most
 * {@link MAX_MESSAGE_TAINT_VALUES} per message (the first ones win).
 *
 * @example
 * const taint = new MessageTaint();
 * taint.record('NAME', 'Ada', '[[NAME:9f2c…]]');
 * taint.apply('Ada, 36') // { text: '[[NAME:9f2c…]], 36', hits: [['NAME', 1]] }
 */
import { isWordChar } from './detectors/word-boundary.js';

/** Shortest value tracked within a message (characters): two-letter names are too common in text. */
export const MIN_MESSAGE_TAINT_LENGTH = 3;
/** Most distinct values tracked within one message. */
export const MAX_MESSAGE_TAINT_VALUES = 1000;

interface Replacement {
  cls: string;
  replacement: string;
}

export class MessageTaint {
  readonly #values = new Map<string, Replacement>();
  #ordered: [string, Replacement][] | undefined;

  /** How many values are tracked. */
  get size(): number {
    return this.#values.size;
  }

  /** Records a detected value and what it was replaced by (token, hash or mask). */
  record(cls: string, value: string, replacement: string): void {
    if (value === replacement || value.length < MIN_MESSAGE_TAINT_LENGTH) return;
    if (this.#values.has(value) || this.#values.size >= MAX_MESSAGE_TAINT_VALUES) return;
    this.#values.set(value, { cls, replacement });
    this.#ordered = undefined;
  }

  /** Replaces every tracked value standing as a whole word in `text`; undefined when nothing matched. */
  apply(text: string): { text: string; hits: Map<string, number> } | undefined {
    if (this.#values.size === 0 || text.length < MIN_MESSAGE_TAINT_LENGTH) return undefined;
    let out = text;
    let hits: Map<string, number> | undefined;
    for (const [value, r] of this.#order()) {
      if (!out.includes(value)) continue;
      const replaced = replaceWholeWords(out, value, r.replacement);
      if (replaced.count === 0) continue;
      out = replaced.text;
      hits ??= new Map();
      hits.set(r.cls, (hits.get(r.cls) ?? 0) + replaced.count);
    }
    return hits ? { text: out, hits } : undefined;
  }

  #order(): [string, Replacement][] {
    this.#ordered ??= [...this.#values].sort((a, b) => b[0].length - a[0].length);
    return this.#ordered;
  }
}

function replaceWholeWords(
  text: string,
  value: string,
  replacement: string,
): { text: string; count: number } {
  let out = '';
  let at = 0;
  let count = 0;
  for (let i = text.indexOf(value); i >= 0; i = text.indexOf(value, i + 1)) {
    if (i < at) continue;
    const end = i + value.length;
    if (isWordChar(text[i - 1]) || isWordChar(text[end])) continue;
    out += text.slice(at, i) + replacement;
    at = end;
    count++;
  }
  return { text: count === 0 ? text : out + text.slice(at), count };
}
