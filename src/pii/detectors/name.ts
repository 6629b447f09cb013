/**
 * Person names. A name is a run of 1-4 capitalised words (with particles such as `van`, `de`, `von`
 * and suffixes such as `Jr.`), kept when the evidence adds up:
 *
 * | evidence | weight |
 * |---|---|
 * | an honorific before it (`Mr`, `Frau`, `Mme`, `Sra.`, `Dhr.`...) | 3 |
 * | a greeting or sign-off (`Dear`, `Hallo`, `Bonjour`, `Regards,`) or a person label/JSON key (`Contact:`, `"customerName":`) | 3 |
 * | the first word is a known given name (compromise + gender-detection-from-name lexicons) | 2 |
 * | a later word is a surname compromise knows | 1 |
 * | a preposition or verb that often precedes people (`by`, `with`, `von`, `avec`...) | 1 |
 * | compromise's `people()` tags it in its sentence (run only for undecided candidates) | 2 |
 *
 * A run of two or more words is a name at 2 points, a single word at 3. Runs that end in an
 * organisation or place word (`GmbH`, `Street`, `Bank`...) are not names.
 *
 * @example
 * nameDetector().detect('Please call Anna Schmidt tomorrow.')[0]?.value // 'Anna Schmidt'
 * nameDetector().detect('Shipped to Nordwind Logistik GmbH.') // []
 */
import nlp from 'compromise';
import { PII_PRIORITY, type PiiDetector, type PiiSpan } from '../pii-types.js';
import {
  foldWord,
  GREETINGS,
  HONORIFICS,
  isFirstName,
  isFunctionWord,
  isKnownLastName,
  NOT_NAME_WORDS,
  PERSON_KEYS,
  STRONG_PERSON_KEYS,
} from './name-lexicon.js';

export interface NameDetectorOptions {
  /** Ask compromise about candidates the cheaper evidence leaves undecided (default true). */
  useCompromise?: boolean;
  /** At most this many compromise runs per scanned string (default `DEFAULT_MAX_NLP_RUNS`). */
  maxNlpRuns?: number;
}

/** compromise is thorough but slow (~0.06 MB/s): it only sees undecided candidates, this many per string. */
export const DEFAULT_MAX_NLP_RUNS = 8;

const WORD = String.raw`(?:\p{Lu}['’])?\p{Lu}[\p{Ll}\p{M}][\p{L}\p{M}]*(?:-\p{Lu}[\p{L}\p{M}]+)*`;
const PARTICLE = String.raw`(?:van|von|der|den|de|del|della|dei|di|da|du|des|la|le|ten|ter|zu|y|dos|das|do|bin|ibn|al|el|mac)`;
const SUFFIX = String.raw`(?:,?\s+(?:Jr\.?|Sr\.?|II|III|IV|PhD|MD))`;
const RUN = new RegExp(
  String.raw`(?<![\p{L}\p{M}\p{N}@._-])${WORD}(?:[ \t]+(?:${PARTICLE}[ \t]+){0,2}${WORD})*${SUFFIX}?`,
  'gu',
);
const WORD_ONLY = new RegExp(String.raw`^${WORD}$`, 'u');
const WEAK_CUE =
  /\b(?:by|with|from|to|for|and|cc|ask|asked|told|called|emailed|met|contact|contacted|spoke|von|mit|für|an|und|par|avec|pour|et|con|por|para|y|met|voor|en|di|da|per|con)\s+$/iu;
const LABEL_BEFORE = /["']?([\p{L}_ -]{2,40}?)["']?\s*[:=]\s*["']?\s*$/u;

interface Candidate {
  start: number;
  end: number;
  words: string[];
  score: number;
}

export function nameDetector(options: NameDetectorOptions = {}): PiiDetector {
  const useCompromise = options.useCompromise ?? true;
  const maxNlpRuns = options.maxNlpRuns ?? DEFAULT_MAX_NLP_RUNS;
  return {
    name: 'name',
    classes: ['NAME'],
    detect(text, context) {
      if (!/\p{Lu}\p{Ll}/u.test(text)) return [];
      const keyName = context?.key === undefined ? undefined : normalizeKey(context.key);
      const whole = keyName === undefined ? undefined : wholeValueName(text, keyName);
      if (whole) return [whole];
      const spans: PiiSpan[] = [];
      let nlpRuns = 0;
      for (const c of candidates(text)) {
        let score = c.score;
        const twoOrMore = c.words.length >= 2;
        const needed = twoOrMore ? 2 : 3;
        if (score < needed && useCompromise && nlpRuns < maxNlpRuns && score >= needed - 2 && twoOrMore) {
          nlpRuns++;
          if (compromiseSaysPerson(text, c)) score += 2;
        }
        if (score < needed) continue;
        spans.push({
          start: c.start,
          end: c.end,
          class: 'NAME',
          value: text.slice(c.start, c.end),
          confidence: Math.min(0.95, 0.5 + score * 0.1),
          priority: PII_PRIORITY.name,
          detector: 'name',
          normalized: foldWord(text.slice(c.start, c.end)).replace(/\s+/g, ' '),
        });
      }
      return spans;
    },
  };
}

function normalizeKey(key: string): string {
  return key.toLowerCase().replace(/[\s_-]/g, '');
}

/** A JSON field such as `"customerName": "Anna Schmidt"`: the whole value is the name. */
function wholeValueName(text: string, key: string): PiiSpan | undefined {
  if (!PERSON_KEYS.has(key)) return undefined;
  const trimmed = text.trim();
  const words = splitWords(trimmed);
  if (!words || words.length > 5) return undefined;
  if (words.some((w) => NOT_NAME_WORDS.has(w.replace(/\.$/, '')) || isFunctionWord(w))) return undefined;
  const looksNamed = words.some((w) => isFirstName(w) || isKnownLastName(w)) || words.length >= 2;
  if (!STRONG_PERSON_KEYS.has(key) && !looksNamed) return undefined;
  if (key === 'name' && !words.some((w) => isFirstName(w) || isKnownLastName(w))) return undefined;
  const start = text.indexOf(trimmed);
  return {
    start,
    end: start + trimmed.length,
    class: 'NAME',
    value: trimmed,
    confidence: 0.9,
    priority: PII_PRIORITY.name,
    detector: 'name:field',
    normalized: foldWord(trimmed).replace(/\s+/g, ' '),
  };
}

/** Words of a value that consists only of name words and particles, else undefined. */
function splitWords(value: string): string[] | undefined {
  const parts = value.split(/\s+/).filter((p) => p.length > 0);
  if (parts.length === 0) return undefined;
  const words: string[] = [];
  for (const p of parts) {
    if (new RegExp(`^${PARTICLE}$`, 'u').test(p) || /^(?:Jr|Sr)\.?$|^(?:II|III|IV),?$/.test(p)) continue;
    if (!WORD_ONLY.test(p.replace(/[.,]$/, ''))) return undefined;
    words.push(p.replace(/[.,]$/, ''));
  }
  return words.length > 0 ? words : undefined;
}

/** Capitalised runs, trimmed of cue words, scored by the evidence around them. */
function* candidates(text: string): Generator<Candidate> {
  for (const m of text.matchAll(RUN)) {
    const raw = m[0];
    const wordMatches = [...raw.matchAll(new RegExp(WORD, 'gu'))].map((w) => ({
      word: w[0],
      start: m.index + w.index,
      end: m.index + w.index + w[0].length,
    }));
    // Split the run at words that cannot be part of a name; each piece is its own candidate.
    let piece: typeof wordMatches = [];
    let cueScore = 0;
    const flush = function* (): Generator<Candidate> {
      if (piece.length > 0) {
        const c = scorePiece(text, piece, cueScore, m.index + raw.length);
        if (c) yield c;
      }
      piece = [];
      cueScore = 0;
    };
    for (const w of wordMatches) {
      const bare = w.word;
      const lower = bare.toLowerCase();
      if (HONORIFICS.has(bare) && piece.length === 0) {
        cueScore = Math.max(cueScore, 3);
        continue;
      }
      if (GREETINGS.has(lower)) {
        yield* flush();
        cueScore = 3;
        continue;
      }
      if (NOT_NAME_WORDS.has(bare)) {
        // "Schmidt GmbH", "Baker Street": the words before belong to an organisation or a place.
        piece = [];
        cueScore = 0;
        continue;
      }
      if (isFunctionWord(bare)) {
        yield* flush();
        continue;
      }
      piece.push(w);
      if (piece.length === 4) yield* flush();
    }
    yield* flush();
  }
}

function scorePiece(
  text: string,
  piece: { word: string; start: number; end: number }[],
  cueScore: number,
  runEnd: number,
): Candidate | undefined {
  const first = piece[0];
  const last = piece[piece.length - 1];
  if (!first || !last) return undefined;
  let end = last.end;
  // Keep a generational suffix ("Jr.", "III") that the run matched after the last word.
  const suffix = /^,?\s+(?:Jr\.?|Sr\.?|II|III|IV|PhD|MD)/.exec(text.slice(end, runEnd));
  if (suffix) end += suffix[0].length;
  // The word right after the run may name an organisation ("Schmidt & Partner", "Weber GmbH").
  const after = /^\s*(?:&|\+|und|and|et|y|en)?\s*([\p{Lu}][\p{L}.]*)/u.exec(text.slice(end, end + 40));
  if (after?.[1] && NOT_NAME_WORDS.has(after[1].replace(/\.$/, ''))) return undefined;
  let score = cueScore;
  const before = text.slice(Math.max(0, first.start - 60), first.start);
  const honorific = /(?:^|[\s(,;])([\p{Lu}][\p{L}.]*?)\.?\s+$/u.exec(before)?.[1];
  if (honorific && HONORIFICS.has(honorific.replace(/\.$/, ''))) score = Math.max(score, 3);
  const label = LABEL_BEFORE.exec(before)?.[1];
  const labelKey = label === undefined ? undefined : normalizeKey(label);
  // A bare "name" label is also used for products and files: it only adds a point.
  if (labelKey && PERSON_KEYS.has(labelKey)) score = Math.max(score, labelKey === 'name' ? 1 : 3);
  const greeting = /([\p{L}]+(?:\s[\p{L}]+)?)[,!]?\s*$/u.exec(before)?.[1]?.toLowerCase();
  if (greeting && (GREETINGS.has(greeting) || GREETINGS.has(greeting.split(' ').pop() ?? ''))) {
    score = Math.max(score, 3);
  }
  if (isFirstName(first.word)) score += 2;
  if (piece.slice(1).some((w) => isKnownLastName(w.word))) score += 1;
  if (score < 3 && WEAK_CUE.test(before)) score += 1;
  return { start: first.start, end, words: piece.map((w) => w.word), score };
}

/** Runs compromise on the sentence around the candidate and checks whether it tags a person there. */
function compromiseSaysPerson(text: string, c: Candidate): boolean {
  const from = Math.max(0, text.lastIndexOf('.', c.start - 2) + 1, c.start - 200);
  const toDot = text.indexOf('.', c.end);
  const to = Math.min(text.length, toDot === -1 ? text.length : toDot + 1, c.end + 200);
  const sentence = text.slice(from, to);
  const people = nlp(sentence).people().out('array') as string[];
  const target = text.slice(c.start, c.end);
  return people.some((p) => {
    const clean = p.replace(/[.,;:!?]+$/, '');
    return clean.length > 0 && (target.includes(clean) || clean.includes(target));
  });
}
