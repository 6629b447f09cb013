/**
 * Scores detected spans against the gold labels, per class.
 *
 * - A gold span counts as **found** when spans of its class cover every letter and digit of it
 *   (a partly covered value still leaks the rest, so it counts as missed).
 * - A detected span is a **true positive** when it overlaps a gold span of the same class; otherwise it
 *   is a false positive (this includes the right place with the wrong class).
 *
 * @example
 * const s = new Scoreboard();
 * s.add(doc.text, doc.spans, scanner.scan(doc.text));
 * s.results().EMAIL // { gold: 120, found: 120, detected: 121, truePositives: 120, precision: 0.99, recall: 1 }
 */
import type { GoldSpan } from './corpus-builder.js';

export interface ClassScore {
  gold: number;
  found: number;
  detected: number;
  truePositives: number;
  precision: number;
  recall: number;
}

export interface DetectedSpan {
  start: number;
  end: number;
  class: string;
  value?: string;
}

interface Tally {
  gold: number;
  found: number;
  detected: number;
  truePositives: number;
}

export class Scoreboard {
  readonly #tallies = new Map<string, Tally>();
  /** Up to a few examples of misses and false positives per class, for the developer. */
  readonly misses = new Map<string, string[]>();
  readonly falsePositives = new Map<string, string[]>();

  #tally(cls: string): Tally {
    let t = this.#tallies.get(cls);
    if (!t) {
      t = { gold: 0, found: 0, detected: 0, truePositives: 0 };
      this.#tallies.set(cls, t);
    }
    return t;
  }

  add(text: string, gold: readonly GoldSpan[], detected: readonly DetectedSpan[]): void {
    for (const g of gold) {
      const t = this.#tally(g.class);
      t.gold++;
      const same = detected.filter((d) => d.class === g.class);
      let covered = true;
      for (let i = g.start; i < g.end; i++) {
        if (!/[\p{L}\p{N}]/u.test(text[i] ?? '')) continue;
        if (!same.some((d) => d.start <= i && i < d.end)) {
          covered = false;
          break;
        }
      }
      if (covered) t.found++;
      else note(this.misses, g.class, `${text.slice(g.start, g.end)}  «${context(text, g.start, g.end)}»`);
    }
    for (const d of detected) {
      const t = this.#tally(d.class);
      t.detected++;
      if (gold.some((g) => g.class === d.class && d.start < g.end && g.start < d.end)) t.truePositives++;
      else
        note(
          this.falsePositives,
          d.class,
          `${text.slice(d.start, d.end)}  «${context(text, d.start, d.end)}»`,
        );
    }
  }

  results(): Record<string, ClassScore> {
    const out: Record<string, ClassScore> = {};
    for (const [cls, t] of [...this.#tallies].sort(([a], [b]) => a.localeCompare(b))) {
      out[cls] = {
        ...t,
        precision: t.detected === 0 ? 1 : t.truePositives / t.detected,
        recall: t.gold === 0 ? 1 : t.found / t.gold,
      };
    }
    return out;
  }
}

function context(text: string, start: number, end: number): string {
  return text.slice(Math.max(0, start - 30), Math.min(text.length, end + 20)).replace(/\s+/g, ' ');
}

function note(map: Map<string, string[]>, cls: string, example: string): void {
  const list = map.get(cls) ?? [];
  if (list.length < 40) list.push(example);
  map.set(cls, list);
}
