/**
 * Postal addresses: a street with its house number in English, German, French, Spanish, Italian, Dutch
 * and Portuguese shapes, extended by a unit ("Apt. 605", "3º B") and by the postcode and town that
 * follow it; and postcodes on their own only after a postcode cue (`PLZ`, `zip`, `"postalCode":`), so
 * that order numbers and amounts survive.
 *
 * | shape | examples |
 * |---|---|
 * | type first, then number | `Calle Mayor 5`, `Via Roma 10`, `Rua Augusta, 100` |
 * | number first | `12 rue de la Paix`, `221B Baker Street`, `82946 Alameda Barros` |
 * | compound ending, then number | `Hauptstraße 12`, `Kerkstraat 3`, `Clemens-Winkler-Str. 29c`, `Kleinheider Weg 32a` |
 * | labelled value | `"street": "Colegio Patricio s/n"`, `Address: 4 Privet Drive` (needs a digit) |
 *
 * @example
 * addressDetector().detect('Ship to Hauptstraße 12, 10115 Berlin.')[0]?.value // 'Hauptstraße 12, 10115 Berlin'
 * addressDetector().detect('PLZ 10115')[0]?.class // 'POSTCODE'
 * addressDetector().detect('Invoice 10115 Berlin') // []
 */
import type { PiiDetector, PiiSpan } from '../pii-types.js';
import {
  DATE_NOUNS,
  POSTCODE,
  STREET_ENDINGS,
  STREET_PREPOSITIONS,
  STREET_TYPES_AFTER,
  STREET_TYPES_FIRST,
  UNIT_SUFFIX,
} from './address-words.js';

/** Overlap priority: above names (30) and phones (50), so "Via Lucia Rossi 9, 08186-928 Pará" is one address. */
export const ADDRESS_PRIORITY = 52;
/** Characters before a lone postcode searched for a postcode cue. */
export const POSTCODE_CUE_WINDOW = 32;

/** `calle|via` → `[Cc]alle|[Vv]ia`: street types are written either way. */
function eitherCase(alternatives: string): string {
  return alternatives
    .split('|')
    .map((a) => {
      const first = a[0] ?? '';
      return /\p{L}/u.test(first) ? `[${first.toUpperCase()}${first}]${a.slice(1)}` : a;
    })
    .join('|');
}
function capitalised(alternatives: string): string {
  return alternatives
    .split('|')
    .map((a) => `${(a[0] ?? '').toUpperCase()}${a.slice(1)}`)
    .join('|');
}

/** Unit words end a street name ("Marginal Pereira Lote 56"). */
const NOT_CAP = String.raw`(?!(?:Apt|Apartment|Suite|Unit|Flat|Zimmer|Piano|Interno|Apto|Piso|Lote|Andar|Bus|Etage)(?![\p{L}]))`;
const CAP = String.raw`${NOT_CAP}(?:[dDlL]['’])?(?:\p{Lu}[\p{L}\p{M}'’-]*|\d{1,3}(?:st|nd|rd|th|º|ª))`;
const LINK = `(?:de|del|de la|des|du|la|le|les|di|da|dal|della|delle|dei|degli|dos|das|do|van|von|der|den|het|ter|ten|y|e|et|of|the|san|santa|são|sant['’]|l['’]|d['’])`;
const WORDS = String.raw`(?:(?:${CAP}|${LINK})[ \t]+){0,5}${CAP}`;
const NUM = String.raw`\d{1,5}(?:[ \t]?[A-Za-z](?![\p{L}]))?(?:[-/](?:\d{1,4}[A-Za-z]{0,3}|[A-Za-z]{1,4})\.?)?`;
const NUM_SHORT = String.raw`\d{1,3}(?:[ \t]?[a-zA-Z](?![\p{L}]))?(?:[-/]\d{1,3}[a-zA-Z]?)?`;
const FIRST = eitherCase(STREET_TYPES_FIRST);
const END = `(?![\\p{L}\\p{N}])`;

const TYPE_FIRST = new RegExp(
  String.raw`(?<![\p{L}\p{N}])(?:${FIRST})[ \t]+${WORDS}(?:,?[ \t]+(?:n[º°o.][ \t]*)?${NUM}${END}|[ \t]+s\/n\.?)`,
  'gu',
);
const NUMBER_FIRST = new RegExp(
  String.raw`(?<![\p{L}\p{N}.,:/#-])${NUM}(?:[ \t]+(?:bis|ter))?,?[ \t]+(?:(?:${FIRST})[ \t]+${WORDS}|(?:[NSEW]\.?[ \t]+)?(?:${CAP}[ \t]+){1,4}(?:${capitalised(STREET_TYPES_AFTER)}))(?![\p{L}])`,
  'gu',
);
const COMPOUND = new RegExp(
  String.raw`(?<![\p{L}\p{N}])(?:(?:${CAP}|van|de|der|den|het|von|ter|ten|op|aan)[ \t-]+){0,3}(?:\p{Lu}[\p{L}\p{M}-]*?)?(?:${eitherCase(STREET_ENDINGS)})\.?[ \t]+${NUM_SHORT}${END}`,
  'gu',
);
/** "Auf dem End 62a", "Am Markt 5"; "10 The Beeches": streets without a type word. */
const PREPOSITION_OR_THE = new RegExp(
  String.raw`(?<![\p{L}\p{N}])(?:(?:${STREET_PREPOSITIONS})[ \t]+(?!(?:${DATE_NOUNS})(?![\p{L}]))${CAP}[ \t]+${NUM_SHORT}(?![\p{L}\p{N}]|[ \t]*(?:Uhr|h\b|:))|${NUM}[ \t]+The[ \t]+${CAP}(?:[ \t]+${CAP})?(?![\p{L}]))`,
  'gu',
);
const BARE_ENDING = new RegExp(String.raw`^(?:${eitherCase(STREET_ENDINGS)})\.?\s`, 'u');
const UNIT = new RegExp(String.raw`(?:[ \t]+(?:I|II|III|IV)(?![\p{L}]))?(?:${UNIT_SUFFIX})?`, 'iuy');
const CITY = String.raw`\p{Lu}[\p{L}\p{M}'’-]*(?:[ \t]+(?:(?:${LINK})[ \t]+)?\p{Lu}[\p{L}\p{M}'’-]*){0,3}(?:(?:[ \t]+\p{Ll}+){1,2}(?=[.,;"\n]|$))?`;
const POSTCODE_AFTER = new RegExp(
  String.raw`(?:,[ \t]*|[ \t]*\r?\n[ \t]*|[ \t]+)(?:${POSTCODE})(?![ \t]*\d)(?:[ \t]+${CITY})?`,
  'uy',
);
/** "…, Springfield, IL 62704" and "…, London NW1 6XE": the town before the postcode. */
const CITY_THEN_POSTCODE = new RegExp(
  String.raw`,[ \t]*${CITY},?[ \t]+(?:[A-Z]{2}[ \t]+\d{5}(?:-\d{4})?(?!\d)|[A-Z]{1,2}\d[A-Z\d]{0,2}[ \t]\d[A-Z\d]{2}(?![\p{L}\p{N}]))`,
  'uy',
);
const POSTCODE_CUE =
  /(?:post(?:al)?[\s_-]*code|postleitzahl|\bplz|zip(?:[\s_-]*code)?|code[\s_-]*postal|codice[\s_-]*postale|\bcap\b|c[oó]digo[\s_-]*postal|\bc\.?p\.?|\bcep\b|postcode)["'\s]*(?:[:=/]|ort)?[\s"']*$/i;
const LONE_POSTCODE = new RegExp(`(?<![\\p{L}\\p{N}])${POSTCODE}`, 'gu');
const LABELLED_STREET =
  /["']?\b(?:street(?:[\s_-]?address)?|address(?:[\s_-]?line)?[\s_-]?1?|addr|line1|stra(?:ss|ß)e|anschrift|adresse?|calle|direcci[oó]n|domicilio|indirizzo|via|rua|morada|endere[cç]o|straat)["']?\s*[:=]\s*["']?([^"\n,;{}]{3,80}(?:,[^"\n;{}]{1,40})?)/giu;
const STREET_KEY =
  /^(?:street(?:address)?|address(?:line)?1?|addr|line1|stra(?:ss|ß)e|anschrift|adresse?|calle|direcci[oó]n|domicilio|indirizzo|rua|morada|endere[cç]o|straat|homeaddress|shippingaddress|billingaddress)$/i;
const POSTCODE_KEY =
  /^(?:post(?:al)?code|zip(?:code)?|plz|postleitzahl|codepostal|cap|cp|codigopostal|cep)$/i;

function span(text: string, start: number, end: number, cls: string, detector: string): PiiSpan {
  const value = text.slice(start, end);
  return {
    start,
    end,
    class: cls,
    value,
    confidence: 0.8,
    priority: ADDRESS_PRIORITY,
    detector,
    normalized: value.replace(/\s+/g, ' ').toLowerCase(),
  };
}

/** End of a street match extended by a unit, then by a postcode and town (or a US "City, ST 12345"). */
function extend(text: string, end: number): number {
  UNIT.lastIndex = end;
  let at = UNIT.exec(text) ? UNIT.lastIndex : end;
  for (const after of [POSTCODE_AFTER, CITY_THEN_POSTCODE]) {
    after.lastIndex = at;
    if (after.exec(text)) {
      at = after.lastIndex;
      break;
    }
  }
  return at;
}

function streets(text: string, out: PiiSpan[]): void {
  for (const [regex, name] of [
    [TYPE_FIRST, 'address:type-first'],
    [NUMBER_FIRST, 'address:number-first'],
    [COMPOUND, 'address:compound'],
    [PREPOSITION_OR_THE, 'address:preposition'],
  ] as const) {
    regex.lastIndex = 0;
    for (const m of text.matchAll(regex)) {
      if (regex === COMPOUND && BARE_ENDING.test(m[0])) continue; // "Weg 3", "Platz 1": no street name
      out.push(span(text, m.index, extend(text, m.index + m[0].length), 'ADDRESS', name));
    }
  }
}

function labelled(text: string, out: PiiSpan[]): void {
  for (const m of text.matchAll(LABELLED_STREET)) {
    const value = (m[1] ?? '').trimEnd();
    if (!/\d|s\/n/.test(value)) continue;
    const start = m.index + m[0].length - (m[1] ?? '').length;
    out.push(span(text, start, start + value.length, 'ADDRESS', 'address:label'));
  }
}

function postcodes(text: string, out: PiiSpan[]): void {
  for (const m of text.matchAll(LONE_POSTCODE)) {
    if (!POSTCODE_CUE.test(text.slice(Math.max(0, m.index - POSTCODE_CUE_WINDOW), m.index))) continue;
    out.push(span(text, m.index, m.index + m[0].length, 'POSTCODE', 'address:postcode'));
  }
}

function fromKey(text: string, key: string): PiiSpan | undefined {
  const k = key.replace(/[\s_-]/g, '');
  const trimmed = text.trim();
  const start = text.indexOf(trimmed);
  if (STREET_KEY.test(k) && /\p{L}/u.test(trimmed) && /\d|s\/n/.test(trimmed) && trimmed.length <= 160) {
    return span(text, start, start + trimmed.length, 'ADDRESS', 'address:field');
  }
  if (POSTCODE_KEY.test(k) && new RegExp(`^${POSTCODE}$`, 'u').test(trimmed)) {
    return span(text, start, start + trimmed.length, 'POSTCODE', 'address:field');
  }
  return undefined;
}

export function addressDetector(): PiiDetector {
  return {
    name: 'address',
    classes: ['ADDRESS', 'POSTCODE'],
    detect(text, context) {
      if (!/\d|s\/n/.test(text)) return [];
      if (context?.key !== undefined) {
        const whole = fromKey(text, context.key);
        if (whole) return [whole];
      }
      const out: PiiSpan[] = [];
      streets(text, out);
      labelled(text, out);
      postcodes(text, out);
      // The same stretch may be found as a street and as a labelled value: report it once.
      return out.filter((s, i) => out.findIndex((o) => o.start === s.start && o.end === s.end) === i);
    },
  };
}
