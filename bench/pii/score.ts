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
  /** Values every letter and digit of which is covered by a span of any class (not leaked). */
  foundAnyClass: number;
  detected: number;
  truePositives: number;
  precision: number;
  recall: number;
  /** `foundAnyClass / gold`: what matters for leaks, whatever the class name in the token. */
  recallAnyClass: number;
}

/** Labelled decoys (`DECOY_<KIND>`): business values that must come back untouched. */
export interface DecoyScore {
  total: number;
  kept: number;
  keptRate: number;
}

/** Gold classes with this prefix are decoys, not personal data. */
export const DECOY_PREFIX = 'DECOY_';

export interface DetectedSpan {
  start: number;
  end: number;
  class: string;
  value?: string;
}

interface Tally {
  gold: number;
  found: number;
  foundAnyClass: number;
  detected: number;
  truePositives: number;
}

export class Scoreboard {
  readonly #tallies = new Map<string, Tally>();
  /** Up to a few examples of misses and false positives per class, for the developer. */
  readonly misses = new Map<string, string[]>();
  readonly falsePositives = new Map<string, string[]>();
  readonly #decoys = new Map<string, { total: number; kept: number }>();
  /** Examples of decoys that a span touched, per decoy kind. */
  readonly lostDecoys = new Map<string, string[]>();

  #tally(cls: string): Tally {
    let t = this.#tallies.get(cls);
    if (!t) {
      t = { gold: 0, found: 0, foundAnyClass: 0, detected: 0, truePositives: 0 };
      this.#tallies.set(cls, t);
    }
    return t;
  }

  add(text: string, gold: readonly GoldSpan[], detected: readonly DetectedSpan[]): void {
    for (const g of gold) {
      if (g.class.startsWith(DECOY_PREFIX)) {
        this.#addDecoy(text, g, detected);
        continue;
      }
      const t = this.#tally(g.class);
      t.gold++;
      const covered = coveredBy(
        text,
        g,
        detected.filter((d) => d.class === g.class),
      );
      if (covered) t.found++;
      else note(this.misses, g.class, `${text.slice(g.start, g.end)}  «${context(text, g.start, g.end)}»`);
      if (covered || coveredBy(text, g, detected)) t.foundAnyClass++;
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

  #addDecoy(text: string, g: GoldSpan, detected: readonly DetectedSpan[]): void {
    const kind = g.class.slice(DECOY_PREFIX.length);
    const tally = this.#decoys.get(kind) ?? { total: 0, kept: 0 };
    tally.total++;
    const hit = detected.find((d) => d.start < g.end && g.start < d.end);
    if (!hit) tally.kept++;
    else
      note(
        this.lostDecoys,
        kind,
        `${text.slice(g.start, g.end)} as ${hit.class}  «${context(text, g.start, g.end)}»`,
      );
    this.#decoys.set(kind, tally);
  }

  decoys(): Record<string, DecoyScore> {
    const out: Record<string, DecoyScore> = {};
    for (const [kind, t] of [...this.#decoys].sort(([a], [b]) => a.localeCompare(b))) {
      out[kind] = { ...t, keptRate: t.total === 0 ? 1 : t.kept / t.total };
    }
    return out;
  }

  results(): Record<string, ClassScore> {
    const out: Record<string, ClassScore> = {};
    for (const [cls, t] of [...this.#tallies].sort(([a], [b]) => a.localeCompare(b))) {
      out[cls] = {
        ...t,
        precision: t.detected === 0 ? 1 : t.truePositives / t.detected,
        recall: t.gold === 0 ? 1 : t.found / t.gold,
        recallAnyClass: t.gold === 0 ? 1 : t.foundAnyClass / t.gold,
      };
    }
    return out;
  }
}

/** Whether `spans` cover every letter and digit of `g` (a partly covered value still leaks the rest). */
function coveredBy(text: string, g: GoldSpan, spans: readonly DetectedSpan[]): boolean {
  for (let i = g.start; i < g.end; i++) {
    if (!/[\p{L}\p{N}]/u.test(text[i] ?? '')) continue;
    if (!spans.some((d) => d.start <= i && i < d.end)) return false;
  }
  return true;
}

function context(text: string, start: number, end: number): string {
  return text.slice(Math.max(0, start - 30), Math.min(text.length, end + 20)).replace(/\s+/g, ' ');
}

function note(map: Map<string, string[]>, cls: string, example: string): void {
  const list = map.get(cls) ?? [];
  if (list.length < 40) list.push(example);
  map.set(cls, list);
}
