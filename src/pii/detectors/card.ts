/**
 * Payment card numbers (PANs): 13-19 digits, optionally grouped with spaces or dashes, that pass the
 * Luhn check and start with a known issuer identification number (IIN) range at a length that issuer
 * uses. Digit runs glued to letters (`INV-4111…`) are ignored. Normalised to digits only.
 *
 * @example
 * cardDetector().detect('card 4111 1111 1111 1111 exp 12/27')[0]?.normalized // '4111111111111111'
 * cardDetector().detect('4111 1111 1111 1112') // [] (Luhn fails)
 */
import { PII_PRIORITY, type PiiDetector, type PiiSpan } from '../pii-types.js';
import { isGlued } from './word-boundary.js';

/** A run of digit groups separated by single spaces or dashes. */
const DIGIT_GROUPS = /\d+(?:[ -]\d+)*/g;

/** True when `digits` passes the Luhn (mod 10) check. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

interface IinRange {
  brand: string;
  from: number;
  to: number;
  /** Number of leading digits `from`/`to` are compared with. */
  digits: number;
  lengths: readonly number[];
}

const SIXTEEN_TO_NINETEEN = [16, 17, 18, 19] as const;

/** Known IIN ranges (ISO/IEC 7812), by brand, with the PAN lengths each issues. */
export const IIN_RANGES: readonly IinRange[] = [
  { brand: 'visa', from: 4, to: 4, digits: 1, lengths: [13, 16, 19] },
  { brand: 'mastercard', from: 51, to: 55, digits: 2, lengths: [16] },
  { brand: 'mastercard', from: 2221, to: 2720, digits: 4, lengths: [16] },
  { brand: 'amex', from: 34, to: 34, digits: 2, lengths: [15] },
  { brand: 'amex', from: 37, to: 37, digits: 2, lengths: [15] },
  { brand: 'diners', from: 300, to: 305, digits: 3, lengths: [14, 15, 16, 17, 18, 19] },
  { brand: 'diners', from: 3095, to: 3095, digits: 4, lengths: [14, 15, 16, 17, 18, 19] },
  { brand: 'diners', from: 36, to: 36, digits: 2, lengths: [14, 15, 16, 17, 18, 19] },
  { brand: 'diners', from: 38, to: 39, digits: 2, lengths: [14, 15, 16, 17, 18, 19] },
  { brand: 'jcb', from: 3528, to: 3589, digits: 4, lengths: SIXTEEN_TO_NINETEEN },
  { brand: 'discover', from: 6011, to: 6011, digits: 4, lengths: SIXTEEN_TO_NINETEEN },
  { brand: 'discover', from: 644, to: 649, digits: 3, lengths: SIXTEEN_TO_NINETEEN },
  { brand: 'discover', from: 65, to: 65, digits: 2, lengths: SIXTEEN_TO_NINETEEN },
  { brand: 'unionpay', from: 62, to: 62, digits: 2, lengths: SIXTEEN_TO_NINETEEN },
  { brand: 'unionpay', from: 81, to: 81, digits: 2, lengths: SIXTEEN_TO_NINETEEN },
  { brand: 'mir', from: 2200, to: 2204, digits: 4, lengths: SIXTEEN_TO_NINETEEN },
  { brand: 'maestro', from: 50, to: 50, digits: 2, lengths: [13, 14, 15, 16, 17, 18, 19] },
  { brand: 'maestro', from: 56, to: 69, digits: 2, lengths: [13, 14, 15, 16, 17, 18, 19] },
];

/** The brand whose IIN range and length fit `digits`, or undefined. */
export function cardBrand(digits: string): string | undefined {
  for (const r of IIN_RANGES) {
    const prefix = Number(digits.slice(0, r.digits));
    if (prefix >= r.from && prefix <= r.to && r.lengths.includes(digits.length)) return r.brand;
  }
  return undefined;
}

/** Whether `value` (spaces and dashes allowed) is a plausible card number: length, IIN range and Luhn. */
export function isCardNumber(value: string): boolean {
  const digits = value.replace(/[ -]/g, '');
  return /^\d{13,19}$/.test(digits) && luhnValid(digits) && cardBrand(digits) !== undefined;
}

export function cardDetector(): PiiDetector {
  return {
    name: 'card',
    classes: ['CARD'],
    detect(text) {
      const spans: PiiSpan[] = [];
      for (const m of text.matchAll(DIGIT_GROUPS)) {
        const run = m[0];
        if (run.length < 13) continue;
        const groups = [...run.matchAll(/\d+/g)].map((g) => ({ start: m.index + g.index, text: g[0] }));
        // Every contiguous window of groups, leftmost-longest, so "4111 1111 1111 1111 2027" finds the PAN.
        for (const { start, end, digits } of cardWindows(groups)) {
          // "+49 90 2812…": an international phone number, however Luhn-like its digits are.
          if (isGlued(text, start, end) || text[start - 1] === '+' || text[start - 1] === '(') continue;
          // Separators must be consistent: "4111 1111-1111 1111" is not how anyone writes a PAN.
          const value = text.slice(start, end);
          if (value.includes(' ') && value.includes('-')) continue;
          spans.push({
            start,
            end,
            class: 'CARD',
            value,
            confidence: 0.97,
            priority: PII_PRIORITY.checksummed,
            detector: 'card',
            normalized: digits,
          });
        }
      }
      return spans;
    },
  };
}

function cardWindows(
  groups: { start: number; text: string }[],
): { start: number; end: number; digits: string }[] {
  const out: { start: number; end: number; digits: string }[] = [];
  let i = 0;
  while (i < groups.length) {
    let found: { start: number; end: number; digits: string; last: number } | undefined;
    let digits = '';
    for (let j = i; j < groups.length; j++) {
      const g = groups[j];
      const first = groups[i];
      if (!g || !first) break;
      digits += g.text;
      if (digits.length > 19) break;
      if (digits.length >= 13 && luhnValid(digits) && cardBrand(digits) !== undefined) {
        found = { start: first.start, end: g.start + g.text.length, digits, last: j };
      }
    }
    if (found) {
      out.push({ start: found.start, end: found.end, digits: found.digits });
      i = found.last + 1;
    } else {
      i++;
    }
  }
  return out;
}
