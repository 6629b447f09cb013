/**
 * Person names. A name is a run of 1-5 capitalised words (with particles such as `van`, `de`, `von`
 * and suffixes such as `Jr.`), kept when the evidence adds up:
 *
 * | evidence | points |
 * |---|---|
 * | an honorific before it (`Mr`, `Frau`, `Mme`, `Sra.`, `Dhr.`...) | 3 |
 * | a greeting or sign-off (`Dear`, `Hallo`, `Bonjour`, `Regards,`), a person label or JSON key (`Contact:`, `"customerName":`), or a chat speaker (`[10:02] Anna Schmidt: …`) | 3 |
 * | the first word is a known given name (compromise + gender-detection-from-name lexicons) | 2 |
 * | a role noun or verb right before it (`colleague`, `call`, `spoke with`, `Kundin`, `avec`...) | 2 |
 * | listed next to another name (`A, B and C`) | 2 |
 * | a later word is a surname compromise knows | 1 |
 * | compromise's `people()` tags it in its sentence (optional, for undecided candidates) | 2 |
 *
 * A run of two or more words is a name at 2 points, a single word at 3. Runs that contain an
 * organisation or street word (`GmbH`, `Street`, `Asociados`...), start like a place (`San`, `West`),
 * follow a house number, or sit under a non-person label (`company:`, `"city":`) are not names.
 *
 * @example
 * nameDetector().detect('Please call Anna Schmidt tomorrow.')[0]?.value // 'Anna Schmidt'
 * nameDetector().detect('Shipped to Nordwind Logistik GmbH.') // []
 */
import nlp from 'compromise';
import { PII_PRIORITY, type PiiDetector, type PiiSpan } from '../pii-types.js';
import {
  CUE_PREPOSITIONS,
  HONORIFIC_BEFORE,
  isAdjective,
  isThingWord,
  PARTICLE_TAIL,
  ROLE_NOUNS,
  THING_KEYS,
} from './name-cues.js';
import {
  DATE_WORDS,
  foldWord,
  GREETINGS,
  HONORIFICS,
  isDeterminer,
  isFirstName,
  isFunctionWord,
  isKnownLastName,
  NON_PERSON_KEYS,
  NOT_NAME_WORDS,
  PARTICLES,
  PERSON_CUES,
  PERSON_KEYS,
  PLACE_PREFIXES,
  POLITENESS,
  STRONG_PERSON_KEYS,
} from './name-lexicon.js';

export interface NameDetectorOptions {
  /**
   * Ask compromise about candidates the cheaper evidence leaves one step short (default false: on the
   * benchmark it adds about two points of recall for four points of precision and most of the CPU time).
   */
  useCompromise?: boolean;
  /** At most this many compromise runs per scanned string (default `DEFAULT_MAX_NLP_RUNS`). */
  maxNlpRuns?: number;
}

/** compromise is thorough but slow (~0.06 MB/s): it only sees undecided candidates, this many per string. */
export const DEFAULT_MAX_NLP_RUNS = 8;
/** Longest run of capitalised words taken as one name ("María Teresa Merino Oquendo Jr."). */
const MAX_NAME_WORDS = 5;

const WORD = String.raw`(?:\p{Lu}['’])?\p{Lu}[\p{Ll}\p{M}][\p{L}\p{M}]*(?:-(?:\p{Lu}['’])?\p{Lu}[\p{L}\p{M}]+)*`;
const PARTICLE =
  '(?:van|von|der|den|de|del|della|dei|di|da|du|des|la|las|le|los|ten|ter|zu|y|e|dos|das|do|bin|ibn|al|el|mac)';
const SUFFIX = String.raw`(?:,?\s+(?:Jr\.?|Sr\.?|II|III|IV|PhD|MD)(?![\p{L}]))`;
const RUN = new RegExp(
  String.raw`(?<![\p{L}\p{M}\p{N}@._\-/])${WORD}(?:[ \t]+(?:${PARTICLE}[ \t]+){0,4}${WORD})*${SUFFIX}?(?![\p{L}\p{N}]|[._@+-][\p{L}\p{N}])`,
  'gu',
);
const WORD_G = new RegExp(WORD, 'gu');
/** Keys of a person's record next to a `"name":` field. */
const PERSON_RECORD =
  /["'](?:e-?mail\w*|\w*phone\w*|mobile|tel|birth\w*|dob|date_?of_?birth|gender|address|street\w*|iban|ssn|salutation|title|first_?name|last_?name)["']\s*:/i;
const WORD_ONLY = new RegExp(`^${WORD}$`, 'u');
const PARTICLE_ONLY = new RegExp(`^${PARTICLE}$`, 'u');
const SUFFIX_START = new RegExp(`^${SUFFIX}`, 'u');
const LEADING_PARTICLES = new RegExp(String.raw`(?:^|[^\p{L}\s][ \t]*)((?:${PARTICLE}[ \t]+){1,3})$`, 'u');
const WEAK_CUE = /\b(?:from|to|for|and|told|asked|von|für|an|und|pour|et|por|para|y|voor|en|di|da|per)\s+$/iu;
const LABEL_BEFORE = /["']?([\p{L}_ -]{2,40}?)["']?\s*[:=]\s*["']?\s*$/u;
/** Role nouns that may start a capitalised run before the name itself. */
const ROLE_WORDS = new Set([
  'sender',
  'recipient',
  'contact',
  'customer',
  'client',
  'tenant',
  'driver',
  'colleague',
  'attn',
]);
const ORG_ABBREVIATION =
  /^,?\s+(?:s\.?r\.?l|s\.?p\.?a|s\.?a\.?s?|s\.?l|gmbh|ltd|inc|llc|b\.?v|n\.?v|sarl|plc|ag|kg)\b/i;
const LIST_JOIN = /^\s*(?:,|&|\+|\/|;|,?\s+(?:and|und|et|e|y|en|og|och|ou|or|oder|o))\s*$/u;

interface Word {
  word: string;
  start: number;
  end: number;
}

interface Candidate {
  start: number;
  end: number;
  words: string[];
  score: number;
}

export function nameDetector(options: NameDetectorOptions = {}): PiiDetector {
  const useCompromise = options.useCompromise ?? false;
  const maxNlpRuns = options.maxNlpRuns ?? DEFAULT_MAX_NLP_RUNS;
  return {
    name: 'name',
    classes: ['NAME'],
    detect(text, context) {
      if (!/\p{Lu}\p{Ll}/u.test(text)) return [];
      const keyName = context?.key === undefined ? undefined : normalizeKey(context.key);
      if (keyName !== undefined && (NON_PERSON_KEYS.has(keyName) || THING_KEYS.has(keyName))) return [];
      const whole = keyName === undefined ? undefined : wholeValueName(text, keyName);
      if (whole) return [whole];
      const all = [...candidates(text)];
      const accepted = new Set<Candidate>();
      let nlpRuns = 0;
      for (const c of all) {
        const needed = c.words.length >= 2 ? 2 : 3;
        if (c.score >= needed) accepted.add(c);
        else if (useCompromise && nlpRuns < maxNlpRuns && c.score === needed - 1 && c.words.length >= 2) {
          nlpRuns++;
          if (compromiseSaysPerson(text, c)) {
            c.score += 2;
            accepted.add(c);
          }
        }
      }
      // Coordination: "Anna Schmidt, Tom Weber and Lisa Kurz" — neighbours of a name in a list are names.
      for (let changed = true; changed; ) {
        changed = false;
        all.forEach((c, i) => {
          if (accepted.has(c) || c.words.length < 2 || c.score < 0) return;
          const prev = all[i - 1];
          const next = all[i + 1];
          const joined = (a: Candidate | undefined, b: Candidate | undefined) =>
            a !== undefined &&
            b !== undefined &&
            accepted.has(a) &&
            LIST_JOIN.test(text.slice(a.end, b.start));
          if (
            joined(prev, c) ||
            (next && accepted.has(next) && LIST_JOIN.test(text.slice(c.end, next.start)))
          ) {
            c.score += 2;
            accepted.add(c);
            changed = true;
          }
        });
      }
      return all.filter((c) => accepted.has(c)).map((c) => toSpan(text, c));
    },
  };
}

function toSpan(text: string, c: Candidate): PiiSpan {
  const value = text.slice(c.start, c.end);
  return {
    start: c.start,
    end: c.end,
    class: 'NAME',
    value,
    confidence: Math.min(0.95, 0.5 + c.score * 0.1),
    priority: PII_PRIORITY.name,
    detector: 'name',
    normalized: foldWord(value).replace(/\s+/g, ' '),
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
  if (!words || words.length > MAX_NAME_WORDS) return undefined;
  if (words.some((w) => NOT_NAME_WORDS.has(w) || isFunctionWord(w))) return undefined;
  const known = words.some((w) => isFirstName(w) || isKnownLastName(w));
  if (!STRONG_PERSON_KEYS.has(key) && !known && words.length < 2) return undefined;
  if (key === 'name' && !known) return undefined;
  const start = text.indexOf(trimmed);
  return { ...toSpan(text, { start, end: start + trimmed.length, words, score: 4 }), detector: 'name:field' };
}

/** Words of a value that consists only of name words and particles, else undefined. */
function splitWords(value: string): string[] | undefined {
  const parts = value.split(/\s+/).filter((p) => p.length > 0);
  if (parts.length === 0) return undefined;
  const words: string[] = [];
  for (const p of parts) {
    const bare = p.replace(/[.,]$/, '');
    if (PARTICLE_ONLY.test(p) || /^(?:Jr|Sr|II|III|IV)$/.test(bare)) continue;
    if (!WORD_ONLY.test(bare)) return undefined;
    words.push(bare);
  }
  return words.length > 0 ? words : undefined;
}

/** Capitalised runs, split at cue and function words, scored by the evidence around them. */
function* candidates(text: string): Generator<Candidate> {
  for (const m of text.matchAll(RUN)) {
    const runEnd = m.index + m[0].length;
    const words: Word[] = [...m[0].matchAll(WORD_G)].map((w) => ({
      word: w[0],
      start: m.index + w.index,
      end: m.index + w.index + w[0].length,
    }));
    let piece: Word[] = [];
    let cue = 0;
    let spoiled = false;
    const flush = (): Candidate | undefined => {
      const c = spoiled || piece.length === 0 ? undefined : scorePiece(text, piece, cue, runEnd);
      piece = [];
      cue = 0;
      spoiled = false;
      return c;
    };
    for (const w of words) {
      const lower = w.word.toLowerCase();
      if (piece.length === 0 && (HONORIFICS.has(w.word) || HONORIFIC_BEFORE.test(` ${w.word} `))) {
        cue = 3;
        continue;
      }
      const more = w !== words[words.length - 1];
      if (GREETINGS.has(lower) && (piece.length === 0 || more)) {
        // "Dear Anna", "Viele Grüße Karina Sattelmaier"; a greeting word ending a run is a surname ("Ylvi Best").
        const c = flush();
        if (c) yield c;
        cue = 3;
        continue;
      }
      if (piece.length > 0 && PARTICLES.has(lower)) {
        // A capitalised particle inside a name: "Geminiano De Martino".
        piece.push(w);
        continue;
      }
      if (piece.length === 0 && more && (ROLE_WORDS.has(lower) || ROLE_NOUNS.has(lower))) {
        // "Sender Anna Schmidt", "Kunde Max Weber": a capitalised role word introduces the name.
        cue = Math.max(cue, 2);
        continue;
      }
      // Street words that are also given names ("Trace McDermott") only spoil a run after its first word,
      // and after a particle they are surnames ("van Dijk", "van der Laan").
      const prev = piece[piece.length - 1];
      const afterParticle = prev !== undefined && /\s\p{Ll}+\s/u.test(text.slice(prev.end, w.start));
      if (NOT_NAME_WORDS.has(w.word) && !afterParticle && !(piece.length === 0 && isFirstName(w.word))) {
        // "Schmidt Logistik GmbH", "Baker Street": the words before belong to an organisation or place.
        piece = [];
        cue = 0;
        spoiled = true;
        continue;
      }
      if (isFunctionWord(w.word)) {
        const c = flush();
        if (c) yield c;
        continue;
      }
      if (piece.length === 0 && DATE_WORDS.has(w.word) && !isFirstName(w.word)) continue;
      if (piece.length === 0 && PLACE_PREFIXES.has(w.word)) spoiled = true;
      piece.push(w);
    }
    const c = flush();
    if (c) yield c;
  }
}

function scorePiece(text: string, piece: Word[], cueScore: number, runEnd: number): Candidate | undefined {
  const first = piece[0];
  const last = piece[piece.length - 1];
  if (!first || !last || piece.length > MAX_NAME_WORDS) return undefined;
  let end = last.end;
  const suffix = SUFFIX_START.exec(text.slice(end, runEnd));
  if (suffix) end += suffix[0].length;
  // The word right after may name an organisation ("Weber & Partner", "Leroy S.A.").
  const after = /^\s*(?:&|\+|und|and|et|y|e|en)?\s*([\p{Lu}][\p{L}.]*)/u.exec(text.slice(end, end + 40));
  if (after?.[1] && NOT_NAME_WORDS.has(after[1].replace(/\.$/, ''))) return undefined;
  if (ORG_ABBREVIATION.test(text.slice(end, end + 12))) return undefined;
  const before = text.slice(Math.max(0, first.start - 60), first.start);
  // "45849 Kenneth Haven" / "Strada Lucia 9,": next to a house number this is a street.
  if (/(?:^|[^\p{N}\p{L}])\d{1,6}[\p{L}]?,?[ \t]+$/u.test(before)) return undefined;
  if (/^[ \t]+\d{1,4}[\p{L}]?(?:,|\r?\n|$)/u.test(text.slice(end, end + 8))) return undefined;
  // "Corwin - Cremin", "Jacquet et Remy", "Gerritsen, Mol and Corsten": firms named after people.
  if (
    piece.length === 1 &&
    /^(?:[ \t]+(?:[-–&+]|et|und|and|y|e|en)[ \t]+\p{Lu}|,[ \t]+\p{Lu}[\p{L}-]+[ \t]+(?:and|und|et|y|e|en|&)[ \t])/u.test(
      text.slice(end, end + 40),
    )
  ) {
    return undefined;
  }
  const label = LABEL_BEFORE.exec(before.replace(PARTICLE_TAIL, ''))?.[1];
  const labelKey = normalizeLabel(label);
  if (labelKey !== undefined && (NON_PERSON_KEYS.has(labelKey) || THING_KEYS.has(labelKey))) return undefined;
  // "The Selene Gloves", "der Kunde": a determiner right before is a thing, not a person.
  const previous = /(?:([\p{L}]+)\s+)?([\p{L}]+)\s+$/u.exec(before);
  const verbThenPreposition =
    CUE_PREPOSITIONS.has(previous?.[2] ?? '') && PERSON_CUES.has(previous?.[1]?.toLowerCase() ?? '');
  if (previous?.[2] && isDeterminer(previous[2]) && !label && !verbThenPreposition) return undefined;
  let score = cueScore;
  const honorific = /(?:^|[\s(,;])([\p{Lu}][\p{L}.]*?)\.?\s+$/u.exec(before)?.[1];
  if ((honorific && HONORIFICS.has(honorific.replace(/\.$/, ''))) || HONORIFIC_BEFORE.test(before))
    score = Math.max(score, 3);
  if (label !== undefined && isPersonLabel(label)) {
    // `"name":` also names products and firms: it takes a person's field in the same record.
    const person =
      labelKey !== 'name' || PERSON_RECORD.test(text.slice(Math.max(0, first.start - 300), end + 300));
    score = Math.max(score, person ? 3 : 1);
  }
  const prevWords = /([\p{L}]+)[,!]?\s*([\p{L}]+)?[,!]?\s*$/u.exec(before);
  const lastWord = (prevWords?.[2] ?? prevWords?.[1])?.toLowerCase();
  const twoWords = prevWords?.[2] ? `${prevWords[1]} ${prevWords[2]}`.toLowerCase() : undefined;
  if ((lastWord && GREETINGS.has(lastWord)) || (twoWords && GREETINGS.has(twoWords)))
    score = Math.max(score, 3);
  const firstName = isFirstName(first.word);
  // A chat speaker: "[10:02] Anna Schmidt: …" or "Anna Schmidt: …" at the start of a line.
  // Without a timestamp, "Words:" at a line start is more often a form label ("National Insurance:").
  if (/^:\s/.test(text.slice(end, end + 2))) {
    if (/(?:^|\n)[ \t]*\[[^\]\n]{1,30}\][ \t]*$/.test(before)) score = Math.max(score, 3);
    else if (firstName && /(?:^|\n)[ \t]*$/.test(before)) score = Math.max(score, 1);
  }
  if (firstName) score += 2;
  const skip = lastWord !== undefined && (POLITENESS.has(lastWord) || CUE_PREPOSITIONS.has(lastWord));
  const cueWords = [lastWord, skip && prevWords?.[2] ? prevWords[1]?.toLowerCase() : undefined];
  if (cueWords.some((w) => w && (PERSON_CUES.has(w) || ROLE_NOUNS.has(w))) && /\s$/.test(before)) score += 2;
  if (piece.slice(1).some((w) => isKnownLastName(w.word))) score += 1;
  if (score < 2 && WEAK_CUE.test(before)) score += 1;
  // "Gorgeous Plastic Chips": without a strong cue, a plural or mass noun after the first word is a product.
  if (score - (firstName ? 2 : 0) < 2 && piece.slice(1).some((w) => isThingWord(w.word))) return undefined;
  // "Gorgeous Bamboo Shirt": a "given name" the tagger reads as an adjective, and nothing else says person.
  if (score === 2 && firstName && piece.length > 1 && isAdjective(first.word)) return undefined;
  // A surname value that starts with its particle: `"lastName": "van de Pol"`.
  const particles = LEADING_PARTICLES.exec(before);
  const start = particles?.[1] ? first.start - particles[1].length : first.start;
  return { start, end, words: piece.map((w) => w.word), score };
}

function normalizeLabel(label: string | undefined): string | undefined {
  return label === undefined ? undefined : normalizeKey(label.trim());
}

/** `Contact`, `Employee file`, `"customerName"`: a label naming a person (any of its words will do). */
function isPersonLabel(label: string): boolean {
  if (PERSON_KEYS.has(normalizeKey(label.trim()))) return true;
  return label
    .trim()
    .split(/\s+/)
    .some((w) => PERSON_KEYS.has(normalizeKey(w)) && !['to', 'from', 'cc', 'name'].includes(w.toLowerCase()));
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
