/**
 * International Bank Account Numbers (ISO 13616): a country code, two check digits and the BBAN, at
 * exactly the length the SWIFT IBAN registry gives for that country, written compact or in groups of
 * four, passing the mod-97 check; not glued to a longer identifier or base64 run (`/`, `-`, `_` joiners)
 * and not mixing capitals and small letters. Normalised to the compact upper-case form.
 *
 * @example
 * ibanDetector().detect('IBAN: DE89 3704 0044 0532 0130 00')[0]?.normalized // 'DE89370400440532013000'
 * ibanDetector().detect('DE88 3704 0044 0532 0130 00') // [] (check digits wrong)
 */
import { PII_PRIORITY, type PiiDetector, type PiiSpan } from '../pii-types.js';
import { isGlued, isWordChar } from './word-boundary.js';

/** IBAN length per country (SWIFT IBAN registry, including its partner countries). */
export const IBAN_LENGTHS: Readonly<Record<string, number>> = {
  AD: 24,
  AE: 23,
  AL: 28,
  AT: 20,
  AZ: 28,
  BA: 20,
  BE: 16,
  BG: 22,
  BH: 22,
  BI: 27,
  BR: 29,
  BY: 28,
  CH: 21,
  CR: 22,
  CY: 28,
  CZ: 24,
  DE: 22,
  DJ: 27,
  DK: 18,
  DO: 28,
  EE: 20,
  EG: 29,
  ES: 24,
  FI: 18,
  FK: 18,
  FO: 18,
  FR: 27,
  GB: 22,
  GE: 22,
  GI: 23,
  GL: 18,
  GR: 27,
  GT: 28,
  HN: 28,
  HR: 21,
  HU: 28,
  IE: 22,
  IL: 23,
  IQ: 23,
  IS: 26,
  IT: 27,
  JO: 30,
  KW: 30,
  KZ: 20,
  LB: 28,
  LC: 32,
  LI: 21,
  LT: 20,
  LU: 20,
  LV: 21,
  LY: 25,
  MC: 27,
  MD: 24,
  ME: 22,
  MK: 19,
  MN: 20,
  MR: 27,
  MT: 31,
  MU: 30,
  NI: 28,
  NL: 18,
  NO: 15,
  OM: 23,
  PK: 24,
  PL: 28,
  PS: 29,
  PT: 25,
  QA: 29,
  RO: 24,
  RS: 22,
  RU: 33,
  SA: 24,
  SC: 31,
  SD: 18,
  SE: 24,
  SI: 19,
  SK: 24,
  SM: 27,
  SO: 23,
  ST: 25,
  SV: 28,
  TL: 23,
  TN: 24,
  TR: 26,
  UA: 29,
  VA: 22,
  VG: 24,
  XK: 20,
  YE: 30,
};

/** Country code + check digits at a word start; the rest is consumed up to the country's length. */
const IBAN_START = /(?<![\p{L}\p{N}])([A-Z]{2})(\d{2})/gu;

/** ISO 7064 mod 97-10 over the IBAN rearranged (BBAN first, letters as 10..35). */
export function ibanChecksumValid(compact: string): boolean {
  const rearranged = compact.slice(4) + compact.slice(0, 4);
  let remainder = 0;
  for (const ch of rearranged) {
    const code = ch.charCodeAt(0);
    const value = code >= 65 ? code - 55 : code - 48;
    remainder = value >= 10 ? (remainder * 100 + value) % 97 : (remainder * 10 + value) % 97;
  }
  return remainder === 1;
}

/** Whether `value` (spaces allowed, any case) is a valid IBAN: known country, its length, mod-97. */
export function isValidIban(value: string): boolean {
  const compact = value.replace(/ /g, '').toUpperCase();
  const length = IBAN_LENGTHS[compact.slice(0, 2)];
  return length === compact.length && /^[A-Z]{2}\d{2}[A-Z0-9]+$/.test(compact) && ibanChecksumValid(compact);
}

export function ibanDetector(): PiiDetector {
  return {
    name: 'iban',
    classes: ['IBAN'],
    detect(text) {
      const spans: PiiSpan[] = [];
      for (const m of text.matchAll(IBAN_START)) {
        const country = m[1] ?? '';
        const length = IBAN_LENGTHS[country];
        if (length === undefined) continue;
        const taken = take(text, m.index, length);
        if (!taken) continue;
        const { end, compact } = taken;
        if (isWordChar(text[end]) || isGlued(text, m.index, end) || mixesCase(compact)) continue;
        if (!ibanChecksumValid(compact.toUpperCase())) continue;
        spans.push({
          start: m.index,
          end,
          class: 'IBAN',
          value: text.slice(m.index, end),
          confidence: 0.98,
          priority: PII_PRIORITY.checksummed,
          detector: 'iban',
          normalized: compact.toUpperCase(),
        });
      }
      return spans;
    },
  };
}

/**
 * An IBAN is written in capitals or, typed, in small letters: never both. A run that mixes them is a
 * piece of base64 or an identifier (1 in 97 such runs passes the mod-97 check by chance).
 */
function mixesCase(compact: string): boolean {
  return /[a-z]/.test(compact) && /[A-Z]/.test(compact.slice(2));
}

/** Reads `length` alphanumerics from `start`, allowing single spaces between them (grouped form). */
function take(text: string, start: number, length: number): { end: number; compact: string } | undefined {
  let compact = '';
  let i = start;
  while (compact.length < length && i < text.length) {
    const ch = text[i] ?? '';
    if (/[A-Za-z0-9]/.test(ch)) {
      compact += ch;
      i++;
    } else if (ch === ' ' && /[A-Za-z0-9]/.test(text[i + 1] ?? '') && compact.length % 4 === 0) {
      i++;
    } else {
      break;
    }
  }
  return compact.length === length ? { end: i, compact } : undefined;
}
