/**
 * Runs every detector over a string and resolves overlaps: when two spans overlap, the more specific
 * one wins (higher `priority`: a validated IBAN over the phone number its digits resemble), then the
 * more confident, then the longer. Tokens Airlock already issued (`[[EMAIL:…]]`) are never re-detected.
 * A long string is scanned in bounded windows (`chunkChars`, each seen with `chunkOverlap` characters of
 * context on both sides), so memory and the cost of overlap resolution stay proportional to its length.
 *
 * @example
 * const scanner = new PiiScanner({ patterns: [{ name: 'acme-id', pattern: 'ACME-\\d{6}', class: 'CUSTOMER_NO' }] });
 * scanner.scan('Anna Schmidt <anna@example.com>, IBAN DE89 3704 0044 0532 0130 00')
 * // NAME, EMAIL and IBAN spans, in text order
 */
import type { CountryCode } from 'libphonenumber-js/max';
import { addressDetector } from './detectors/address.js';
import { cardDetector } from './detectors/card.js';
import { type CustomPattern, customPatternDetector } from './detectors/custom-pattern.js';
import { dateOfBirthDetector } from './detectors/date-of-birth.js';
import { emailDetector } from './detectors/email.js';
import { ibanDetector } from './detectors/iban.js';
import { ipDetector } from './detectors/ip.js';
import { type NameDetectorOptions, nameDetector } from './detectors/name.js';
import { nationalIdDetector } from './detectors/national-id.js';
import { ninoDetector } from './detectors/nino.js';
import { phoneDetector } from './detectors/phone.js';
import { type SecretDetectorOptions, secretDetector } from './detectors/secret.js';
import { ssnDetector } from './detectors/ssn.js';
import type { DetectContext, PiiDetector, PiiSpan } from './pii-types.js';
import { findTokens } from './token-format.js';

/** Names of the built-in detectors, for `PiiScannerOptions.disable`. */
export const BUILTIN_DETECTORS = [
  'email',
  'phone',
  'card',
  'iban',
  'ssn',
  'nino',
  'national-id',
  'ip',
  'name',
  'address',
  'dob',
  'secret',
] as const;
export type BuiltinDetectorName = (typeof BUILTIN_DETECTORS)[number];

export interface PiiScannerOptions {
  /** Default regions for national phone numbers (default `DEFAULT_PHONE_REGIONS`). */
  phoneRegions?: readonly CountryCode[];
  /** Tenant-defined patterns, run after the built-in detectors. */
  patterns?: readonly CustomPattern[];
  /** Built-in detectors to leave out, e.g. `['name']`. */
  disable?: readonly BuiltinDetectorName[];
  names?: NameDetectorOptions;
  secrets?: SecretDetectorOptions;
  /** Strings longer than this are scanned window by window (default `DEFAULT_SCAN_CHUNK_CHARS`). */
  chunkChars?: number;
  /** Context each window sees on both sides; longest value found across a cut (default `DEFAULT_SCAN_CHUNK_OVERLAP`). */
  chunkOverlap?: number;
}

/** Window of a chunked scan: 64 Ki characters. */
export const DEFAULT_SCAN_CHUNK_CHARS = 64 * 1024;
/** Context around each window: 4 Ki characters, longer than a PEM-encoded 4096-bit RSA key. */
export const DEFAULT_SCAN_CHUNK_OVERLAP = 4 * 1024;

export class PiiScanner {
  readonly detectors: readonly PiiDetector[];
  readonly #chunkChars: number;
  readonly #chunkOverlap: number;

  constructor(options: PiiScannerOptions = {}) {
    this.#chunkChars = Math.max(1024, options.chunkChars ?? DEFAULT_SCAN_CHUNK_CHARS);
    this.#chunkOverlap = Math.max(0, options.chunkOverlap ?? DEFAULT_SCAN_CHUNK_OVERLAP);
    const off = new Set<string>(options.disable ?? []);
    const builtins: Record<BuiltinDetectorName, () => PiiDetector> = {
      secret: () => secretDetector(options.secrets),
      card: () => cardDetector(),
      iban: () => ibanDetector(),
      ssn: () => ssnDetector(),
      nino: () => ninoDetector(),
      'national-id': () => nationalIdDetector(),
      address: () => addressDetector(),
      dob: () => dateOfBirthDetector(),
      email: () => emailDetector(),
      ip: () => ipDetector(),
      phone: () => phoneDetector({ regions: options.phoneRegions }),
      name: () => nameDetector(options.names),
    };
    const detectors: PiiDetector[] = [];
    for (const name of BUILTIN_DETECTORS) if (!off.has(name)) detectors.push(builtins[name]());
    for (const p of options.patterns ?? []) detectors.push(customPatternDetector(p));
    this.detectors = detectors;
  }

  /** Non-overlapping spans in text order. `context.key` is the JSON field the text came from, if any. */
  scan(text: string, context?: DetectContext): PiiSpan[] {
    if (text.length === 0) return [];
    const all =
      text.length <= this.#chunkChars + this.#chunkOverlap
        ? this.#detect(text, context)
        : this.#detectChunked(text, context);
    if (all.length === 0) return all;
    const candidates = outsideTokens(text, all);
    return withRemainders(text, candidates, resolveOverlaps(candidates));
  }

  #detect(text: string, context: DetectContext | undefined): PiiSpan[] {
    const all: PiiSpan[] = [];
    for (const d of this.detectors) for (const s of d.detect(text, context)) all.push(s);
    return all;
  }

  /** Each window [start, end) is scanned with `chunkOverlap` characters around it; a span belongs to the window it starts in. */
  #detectChunked(text: string, context: DetectContext | undefined): PiiSpan[] {
    const all: PiiSpan[] = [];
    for (let start = 0; start < text.length; start += this.#chunkChars) {
      const end = Math.min(text.length, start + this.#chunkChars);
      const from = Math.max(0, start - this.#chunkOverlap);
      const window = text.slice(from, Math.min(text.length, end + this.#chunkOverlap));
      for (const s of this.#detect(window, context)) {
        const at = s.start + from;
        if (at < start || at >= end) continue;
        all.push({ ...s, start: at, end: s.end + from });
      }
    }
    return all;
  }
}

/** Shortest remainder of a partly overlapped span that is still reported (letters and digits). */
const MIN_REMAINDER = 2;

/**
 * A span that lost to an overlapping one but reaches beyond it keeps the part that reaches beyond
 * (an address whose postcode was read as a phone number): otherwise that part would pass raw.
 *
 * @example
 * // ADDRESS "94754 Avenida Suélen, 08186-928 Alícia" lost to PHONE "08186-928":
 * // ADDRESS "94754 Avenida Suélen", PHONE "08186-928", ADDRESS "Alícia"
 */
export function withRemainders(text: string, candidates: readonly PiiSpan[], kept: PiiSpan[]): PiiSpan[] {
  if (candidates.length === kept.length) return kept;
  const keptSet = new Set(kept);
  const extra: PiiSpan[] = [];
  for (const s of candidates) {
    if (keptSet.has(s)) continue;
    let at = s.start;
    for (const k of overlapping(kept, s)) {
      if (k.start > at) extra.push(...trimmed(text, s, at, k.start));
      at = Math.max(at, k.end);
    }
    if (at < s.end && at !== s.start) extra.push(...trimmed(text, s, at, s.end));
  }
  if (extra.length === 0) return kept;
  return resolveOverlaps([...kept, ...resolveOverlaps(extra)]);
}

/** Kept spans (sorted, disjoint) that overlap `s`, in order. */
function overlapping(kept: readonly PiiSpan[], s: PiiSpan): PiiSpan[] {
  let lo = 0;
  let hi = kept.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((kept[mid]?.end ?? 0) <= s.start) lo = mid + 1;
    else hi = mid;
  }
  const out: PiiSpan[] = [];
  for (let i = lo; i < kept.length; i++) {
    const k = kept[i];
    if (!k || k.start >= s.end) break;
    out.push(k);
  }
  return out;
}

/** The piece [from, to) of `s` without the separators at its edges, if it holds enough letters or digits. */
function trimmed(text: string, s: PiiSpan, from: number, to: number): PiiSpan[] {
  let a = from;
  let b = to;
  while (a < b && !/[\p{L}\p{N}]/u.test(text[a] ?? '')) a++;
  while (b > a && !/[\p{L}\p{N}]/u.test(text[b - 1] ?? '')) b--;
  if (b - a < MIN_REMAINDER) return [];
  const value = text.slice(a, b);
  return [{ ...s, start: a, end: b, value, normalized: value, detector: `${s.detector}:remainder` }];
}

/** Drops spans that touch a token Airlock issued (tokens are sorted and disjoint: binary search). */
function outsideTokens(text: string, spans: PiiSpan[]): PiiSpan[] {
  const tokens = findTokens(text);
  if (tokens.length === 0) return spans;
  return spans.filter((s) => {
    let lo = 0;
    let hi = tokens.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((tokens[mid]?.end ?? 0) <= s.start) lo = mid + 1;
      else hi = mid;
    }
    const t = tokens[lo];
    return t === undefined || t.start >= s.end;
  });
}

/**
 * Keeps a non-overlapping subset: higher priority first, then higher confidence, then longer.
 *
 * @example
 * resolveOverlaps([phoneSpan, ibanSpanCoveringIt]) // [ibanSpanCoveringIt]
 */
export function resolveOverlaps(spans: readonly PiiSpan[]): PiiSpan[] {
  const ranked = [...spans].sort(
    (a, b) =>
      b.priority - a.priority ||
      b.confidence - a.confidence ||
      b.end - b.start - (a.end - a.start) ||
      a.start - b.start,
  );
  // `kept` stays sorted by start and disjoint, so one binary search tells whether a span fits.
  const kept: PiiSpan[] = [];
  for (const s of ranked) {
    if (s.end <= s.start) continue;
    let lo = 0;
    let hi = kept.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((kept[mid]?.start ?? 0) < s.start) lo = mid + 1;
      else hi = mid;
    }
    const before = kept[lo - 1];
    const after = kept[lo];
    if ((before && before.end > s.start) || (after && after.start < s.end)) continue;
    kept.splice(lo, 0, s);
  }
  return kept;
}
