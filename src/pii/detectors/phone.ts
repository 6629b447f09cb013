/**
 * Phone numbers, found with `libphonenumber-js` (full metadata) in several default regions at once:
 * international numbers (`+44 20 7946 0958`, `0044…`) parse in any region, national ones
 * (`030 1234 5678`, `(415) 555-0132`) in the regions listed. Because a bare digit run is far more often
 * an order number or an amount than a phone number, a candidate is kept only when its shape says
 * "phone": an international prefix, an area code in parentheses, grouping with separators (not a date
 * or a thousands-grouped amount), a national trunk prefix `0`, or a phone cue nearby ("tel", "phone",
 * "mobile", "Telefon", "tél."…, or a JSON key such as `phone`). Normalised to E.164 when it parses.
 *
 * @example
 * phoneDetector().detect('Call +49 30 1234 5678 today')[0]?.normalized // '+493012345678'
 * phoneDetector().detect('Order 20240512 shipped') // []
 */
import { type CountryCode, findNumbers, type NumberFound } from 'libphonenumber-js/max';
import { PII_PRIORITY, type PiiDetector, type PiiSpan } from '../pii-types.js';
import { isCardNumber } from './card.js';
import { isGlued, isWordChar } from './word-boundary.js';

/** Regions whose national formats are recognised without a `+` prefix. */
export const DEFAULT_PHONE_REGIONS: readonly CountryCode[] = ['US', 'GB', 'DE', 'FR', 'ES', 'IT', 'NL', 'BE'];
/** Fewest digits a phone number may have (national significant number plus trunk prefix). */
export const DEFAULT_MIN_PHONE_DIGITS = 7;
/** Most digits (E.164 allows 15, plus a trunk or international prefix). */
const MAX_PHONE_DIGITS = 17;
/** Characters before a match searched for a phone cue. */
const CUE_WINDOW = 40;

export interface PhoneDetectorOptions {
  /** Default regions for national numbers (default `DEFAULT_PHONE_REGIONS`). Each costs one pass. */
  regions?: readonly CountryCode[];
}

const CUE =
  /(?:phone|tel\b|tel\.|telephone|mobile|mob\b|cell|fax|whatsapp|sms|call|text|ring|dial|reach|hotline|contact|telefon|handy|rufnummer|anruf|tél|téléphone|portable|appel|teléfono|telefono|móvil|movil|llam|cellulare|chiama|bellen|telefoonnummer|mobiel|☎|📞)/iu;
const KEY_CUE = /phone|tel|mobile|cell|fax|contact|number/i;
const DATE = /^(?:\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4})$/;
/** "2 500 000", "1.234.567": a thousands-grouped amount, not a phone. */
const THOUSANDS = /^\d{1,3}(?:([ .,])\d{3})(?:\1\d{3})*$/;
const CURRENCY_AFTER = /^(?:[.,]\d{1,2})?\s?(?:€|\$|£|EUR\b|USD\b|GBP\b|CHF\b)/;
const CURRENCY_BEFORE = /(?:€|\$|£|EUR|USD|GBP|CHF)\s?$/;
/** "978-1-85387-019-4": an ISBN-13 (book or article number) with its check digit. */
const ISBN_SHAPE = /^97[89][- ]?\d{1,5}[- ]?\d{1,7}[- ]?\d{1,7}[- ]?\d$/;

/** Whether `value` is an ISBN-13 whose check digit holds. */
export function isIsbn13(value: string): boolean {
  if (!ISBN_SHAPE.test(value)) return false;
  const digits = value.replace(/\D/g, '');
  if (digits.length !== 13) return false;
  let sum = 0;
  for (let i = 0; i < 13; i++) sum += Number(digits[i]) * (i % 2 === 0 ? 1 : 3);
  return sum % 10 === 0;
}

const ISBN_INSIDE = /97[89][- ]?\d{1,5}[- ]?\d{1,7}[- ]?\d{1,7}[- ]?\d(?!\d)/g;

/** Whether `value` contains an ISBN-13 with a valid check digit ("(978-1-288-45154-8) 29"). */
function containsIsbn13(value: string): boolean {
  for (const m of value.matchAll(ISBN_INSIDE)) if (isIsbn13(m[0])) return true;
  return false;
}

/** `123-45-6789` is how SSNs are written, never phone numbers. */
const SSN_SHAPE = /^\d{3}-\d{2}-\d{4}$/;
/** Words that make the number after them an identifier: "order 0457876863", "#0583336", "id". */
const ID_CONTEXT =
  /(?:#|\b(?:order|invoice|inv|ref|reference|id|ticket|incident|case|po|transaction|txn|tracking|parcel|sku|account|acct|customer|client|purchase|booking|reservation|file|bestellung|rechnung|auftrag|vorgang|kundennummer|commande|facture|dossier|pedido|factura|expediente|ordine|fattura|pratica|bestelling|factuur|encomenda|fatura|processo|protocolo)\b[\s:#.-]*(?:no\.?|nr\.?|number|nummer)?[\s:#.-]*)$/i;
/** Words of `ID_CONTEXT` that may also introduce a person's phone number. */
const WEAK_ID_WORDS = /\b(?:id|customer|client|account|acct|no|nr|number|nummer)\b/gi;
/** A national number with a trunk `0` and area code: "(0160) 826802", "030 12345678", "00296 6893632". */
const NATIONAL = /(?<![\p{L}\p{N}+])\(?0\d{1,5}\)?[ /-]\d{2,9}(?:[ -]\d{2,4}){0,3}(?![\p{L}\p{N}]|[.,]\d)/gu;
const IPV4_SHAPE = /^\d{1,3}(?:\.\d{1,3}){3}$/;
/** International numbers libphonenumber cannot place (unknown calling code) still look like phones. */
const INTERNATIONAL = /(?<![\p{L}\p{N}+])\+\d{1,3}(?:[ .-]?\(?\d{1,5}\)?){2,6}(?![\p{L}\p{N}])/gu;

/** A phone-shaped stretch: digits with separators, an optional `+`/parenthesis and extension. */
const WINDOW = /[+(]?\d[\d \t().\-/]{4,28}\d(?:\s*(?:ext\.?|x|#)\s*\d{1,6})?/gi;

interface Candidate {
  start: number;
  end: number;
  valid: boolean;
  e164: string | undefined;
}

export function phoneDetector(options: PhoneDetectorOptions = {}): PiiDetector {
  const regions = options.regions ?? DEFAULT_PHONE_REGIONS;
  return {
    name: 'phone',
    classes: ['PHONE'],
    detect(text, context) {
      if (!hasDigits(text, DEFAULT_MIN_PHONE_DIGITS)) return [];
      const keyCue = context?.key !== undefined && KEY_CUE.test(context.key);
      const candidates = new Map<string, Candidate>();
      const add = (c: Candidate) => {
        const id = `${c.start}:${c.end}`;
        const had = candidates.get(id);
        if (!had || (c.valid && !had.valid)) candidates.set(id, c);
      };
      // libphonenumber is thorough but slow on long texts: hand it only the phone-shaped windows.
      for (const w of text.matchAll(WINDOW)) {
        const windowText = w[0].trim();
        if (!hasDigits(windowText, DEFAULT_MIN_PHONE_DIGITS) || DATE.test(windowText)) continue;
        const at = w.index + w[0].indexOf(windowText);
        // Cheap refusals first: glued to letters (IBANs, SKUs), or a bare digit run with no trunk
        // prefix and no cue (order numbers, amounts), or a card number.
        if (isWordChar(text[at - 1]) || isWordChar(text[at + windowText.length])) continue;
        const bare = /^\d+$/.test(windowText);
        if (bare && !windowText.startsWith('0') && !keyCue && !cueBefore(text, at)) continue;
        if (!windowText.startsWith('+') && isCardNumber(windowText)) continue;
        if (IPV4_SHAPE.test(windowText) || (THOUSANDS.test(windowText) && !cueBefore(text, at))) continue;
        if (SSN_SHAPE.test(windowText) || /^\d+[.,]\d{1,2}$/.test(windowText)) continue; // SSNs and amounts: never phones
        // An international number parses the same in every region; a national one is tried region by
        // region until one says it is valid, keeping the merely possible readings of the first region.
        const international = /^(?:\+|00[1-9])/.test(windowText);
        let fallback: Candidate[] | undefined;
        let settled = false;
        for (const region of international ? regions.slice(0, 1) : regions) {
          const found: NumberFound[] = findNumbers(w[0], possibleIn(region));
          const readings = found.map((f) => ({
            start: w.index + f.startsAt,
            end: w.index + f.endsAt,
            valid: f.number.isValid(),
            e164: f.number.number,
          }));
          if (readings.some((r) => r.valid)) {
            for (const r of readings) add(r);
            settled = true;
            break;
          }
          if (!fallback && readings.length > 0) fallback = readings;
        }
        if (!settled) for (const r of fallback ?? []) add(r);
      }
      for (const pattern of [INTERNATIONAL, NATIONAL]) {
        for (const m of text.matchAll(pattern)) {
          add({ start: m.index, end: m.index + m[0].length, valid: false, e164: undefined });
        }
      }
      const spans: PiiSpan[] = [];
      for (const c of candidates.values()) {
        const confidence = judge(text, c, keyCue);
        if (confidence === undefined) continue;
        const value = text.slice(c.start, c.end);
        spans.push({
          start: c.start,
          end: c.end,
          class: 'PHONE',
          value,
          confidence,
          priority: PII_PRIORITY.phone,
          detector: 'phone',
          normalized: c.e164 ?? `+${value.replace(/\D/g, '')}`,
        });
      }
      return longestFirst(spans);
    },
  };
}

/** `findNumbers` options for one region at POSSIBLE leniency (the typings omit `leniency`). */
function possibleIn(region: CountryCode): { defaultCountry: CountryCode; v2: true } {
  const options = { defaultCountry: region, v2: true as const, leniency: 'POSSIBLE' };
  return options;
}

/** Confidence for a candidate, or undefined to drop it. */
function judge(text: string, c: Candidate, keyCue: boolean): number | undefined {
  const value = text.slice(c.start, c.end);
  const main = value.replace(/\s*(?:ext\.?|x|#|extension|durchwahl|poste)\s*\d+$/i, '');
  const digits = countDigits(main);
  if (digits < DEFAULT_MIN_PHONE_DIGITS || digits > MAX_PHONE_DIGITS) return undefined;
  if (isGlued(text, c.start, c.end)) return undefined;
  if (DATE.test(main) || /[,:]/.test(main) || SSN_SHAPE.test(main) || /^\d+\.\d{2}$/.test(main))
    return undefined;
  // "1.532.052,69": the integer part of an amount; "29 525,16 €", "€ 1 234": an amount with its currency.
  if (/^[.,]\d/.test(text.slice(c.end, c.end + 2))) return undefined;
  if (
    CURRENCY_AFTER.test(text.slice(c.end, c.end + 6)) ||
    CURRENCY_BEFORE.test(text.slice(Math.max(0, c.start - 5), c.start))
  )
    return undefined;
  if (containsIsbn13(main)) return undefined;
  // "29 525,16 €" written with no-break spaces: a grouped amount continues after the candidate.
  if (/^[\u00a0\u202f]\d{3}(?!\d)/.test(text.slice(c.end, c.end + 5))) return undefined;
  // "(purchase 724205445)", "Auftrag #4017800": a reference noun wins over a phone cue further back; a
  // bare "#" or a person/account word gives way to one ("phone #: 555 0100 123", "call customer 0171 …").
  const idContext = ID_CONTEXT.exec(text.slice(Math.max(0, c.start - 24), c.start));
  const weakId = idContext !== null && !/[\p{L}]/u.test(idContext[0].replace(WEAK_ID_WORDS, ''));
  if (idContext && (!weakId || !cueBefore(text, c.start))) return undefined;
  const international = main.startsWith('+') || /^00[1-9]/.test(main);
  const parens = /\(\d{1,5}\)/.test(main);
  const groups = main.split(/[ .\-/()]+/).filter((g) => g.length > 0);
  const separated = groups.length >= 2;
  const trunk = /^\(?0[1-9]/.test(main);
  const cue =
    keyCue ||
    cueBefore(text, c.start) ||
    /^\s*\((?:tel|mobile|cell|fax|phone)/i.test(text.slice(c.end, c.end + 12));
  if (international) return c.valid ? 0.95 : 0.75;
  if (parens) return c.valid ? 0.9 : 0.7;
  if (separated) {
    if (THOUSANDS.test(main.replace(/^\(/, '')) && !cue) return undefined;
    if (c.valid && (cue || trunk || groups.length >= 3)) return 0.85;
    if (cue || trunk) return 0.7;
    if (groups.length >= 3) return 0.6;
    return undefined;
  }
  // A bare digit run is usually an identifier: only with a cue, at a national length.
  if (digits > 12 || !cue) return undefined;
  return c.valid ? 0.8 : trunk ? 0.6 : undefined;
}

/** Whether a phone cue word stands in the `CUE_WINDOW` characters before `at`. */
function cueBefore(text: string, at: number): boolean {
  return CUE.test(text.slice(Math.max(0, at - CUE_WINDOW), at));
}

const DIGIT = /\d/g;

/**
 * Whether `text` holds at least `min` ASCII digits. It stops at the `min`-th, and the regular expression
 * engine skips digit-free text several times faster than a loop over character codes (a large result
 * of prose has none, and was counted whole before).
 */
function hasDigits(text: string, min: number): boolean {
  DIGIT.lastIndex = 0;
  let found = 0;
  while (found < min && DIGIT.exec(text) !== null) found++;
  return found >= min;
}

function countDigits(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) n++;
  }
  return n;
}

/** Drops candidates inside a longer one (regions disagree about where a number starts). */
function longestFirst(spans: PiiSpan[]): PiiSpan[] {
  const sorted = [...spans].sort(
    (a, b) => b.end - b.start - (a.end - a.start) || b.confidence - a.confidence,
  );
  const kept: PiiSpan[] = [];
  for (const s of sorted) {
    if (kept.some((k) => s.start < k.end && k.start < s.end)) continue;
    kept.push(s);
  }
  return kept.sort((a, b) => a.start - b.start);
}
