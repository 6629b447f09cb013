/**
 * European national identifiers validated by their check characters (see `national-id-checksums.ts`):
 *
 * | class | identifier | shape | needs a cue |
 * |---|---|---|---|
 * | `DNI` | Spanish DNI | `12345678Z`, `12.345.678-Z` | no (mod-23 letter) |
 * | `NIE` | Spanish NIE | `X1234567L`, `Y-1234567-X` | no (mod-23 letter) |
 * | `CODICE_FISCALE` | Italian tax code | `RSSMRA85T10A562S` | no (check letter, fixed shape) |
 * | `NIR` | French social security number | `1 85 05 78 006 084 36` | no (key 97) |
 * | `BSN` | Dutch citizen service number | `111222333`, `1112.22.333` | yes: 9 digits are common |
 * | `STEUER_ID` | German tax ID | `12 345 678 903` (spaced) or 11 digits after a cue | unless spaced |
 *
 * A cue is a word such as `BSN`, `Steuer-ID`, `tax id` or `national id` in the 48 characters before the
 * number, or a JSON key naming the identifier (`bsn`, `taxId`, `steuerId`, `nationalId`).
 *
 * @example
 * nationalIdDetector().detect('DNI 12345678Z')[0]?.class // 'DNI'
 * nationalIdDetector().detect('order 111222333') // [] (a valid BSN, but no cue)
 * nationalIdDetector().detect('BSN: 111222333')[0]?.class // 'BSN'
 */
import { PII_PRIORITY, type PiiDetector, type PiiSpan } from '../pii-types.js';
import {
  isValidBsn,
  isValidCodiceFiscale,
  isValidDni,
  isValidNir,
  isValidSteuerId,
} from './national-id-checksums.js';
import { isGlued } from './word-boundary.js';

/** Characters before a number searched for its cue word. */
export const NATIONAL_ID_CUE_WINDOW = 48;

/** Classes the detector produces. */
export const NATIONAL_ID_CLASSES = ['DNI', 'NIE', 'CODICE_FISCALE', 'NIR', 'BSN', 'STEUER_ID'] as const;

const GENERIC_CUE =
  /(?:national[\s_-]*(?:id|identi\w*|insurance)|id[\s_-]*(?:number|nr|no)|identity|identit[àaé]|personal[\s_-]*id|tax[\s_-]*(?:id|number|code|no)|\btin\b|documento|ausweis)/i;

interface Kind {
  cls: (typeof NATIONAL_ID_CLASSES)[number];
  regex: RegExp;
  valid: (compact: string) => boolean;
  /** When set, a number needs this cue (or a generic one) unless `cueFree` accepts its shape. */
  cue?: RegExp;
  cueFree?: (value: string) => boolean;
}

const KINDS: readonly Kind[] = [
  {
    cls: 'DNI',
    regex: /(?<![\p{L}\p{N}.,-])\d{2}\.?\d{3}\.?\d{3}[ -]?[A-Za-z](?![\p{L}\p{N}])/gu,
    valid: isValidDni,
  },
  {
    cls: 'NIE',
    regex: /(?<![\p{L}\p{N}.,-])[XYZxyz][ -]?\d{7}[ -]?[A-Za-z](?![\p{L}\p{N}])/gu,
    valid: isValidDni,
  },
  {
    cls: 'CODICE_FISCALE',
    regex:
      /(?<![\p{L}\p{N}])[A-Za-z]{6}[\dA-Za-z]{2}[A-Za-z][\dA-Za-z]{2}[A-Za-z][\dA-Za-z]{3}[A-Za-z](?![\p{L}\p{N}])/gu,
    valid: (c) => /\d.*\d/.test(c) && isValidCodiceFiscale(c),
  },
  {
    cls: 'NIR',
    regex:
      /(?<![\p{L}\p{N}.,-])[1278][ .]?\d{2}[ .]?\d{2}[ .]?(?:\d{2}|2[ABab])[ .]?\d{3}[ .]?\d{3}[ .]?\d{2}(?![\p{L}\p{N}])/gu,
    valid: isValidNir,
  },
  {
    cls: 'BSN',
    regex: /(?<![\p{L}\p{N}.,-])(?:\d{9}|\d{4}\.\d{2}\.\d{3}|\d{3}[ .]\d{3}[ .]\d{3})(?![\p{L}\p{N}])/gu,
    valid: isValidBsn,
    cue: /(?:bsn|burger[\s_-]*service[\s_-]*nummer|sofi[\s_-]*nummer|citizen[\s_-]*service[\s_-]*(?:number|no)|persoonsnummer)/i,
  },
  {
    cls: 'STEUER_ID',
    regex: /(?<![\p{L}\p{N}.,-])[1-9]\d ?\d{3} ?\d{3} ?\d{3}(?![\p{L}\p{N}])/gu,
    valid: isValidSteuerId,
    cue: /(?:steuer[\s_-]*(?:id|ident\w*|nr|nummer)|identifikationsnummer|\bid[\s_-]?nr\b|\bidnr\b)/i,
    cueFree: (value) => /^\d{2} \d{3} \d{3} \d{3}$/.test(value),
  },
];

function compactOf(value: string): string {
  return value.replace(/[\s.-]/g, '').toUpperCase();
}

/** Between a cue and its number only punctuation and filler words ("BSN-nummer: ", "Steuer-ID ist "). */
const CUE_TAIL =
  /(?:[^\p{L}\p{N}]{0,6}(?:nr|no|nummer|number|num|n[º°]|is|ist|est|es|è|é|:)\.?){0,2}[^\p{L}\p{N}]{0,6}$/u;

function cued(kind: Kind, text: string, start: number, key: string | undefined): boolean {
  const cue = kind.cue;
  if (!cue) return true;
  if (key !== undefined && (cue.test(key) || GENERIC_CUE.test(key))) return true;
  const before = text.slice(Math.max(0, start - NATIONAL_ID_CUE_WINDOW), start);
  const tail = CUE_TAIL.exec(before);
  const head = tail ? before.slice(0, tail.index) : before;
  const bare = before.replace(/[^\p{L}\p{N}]+$/u, '');
  return [head, bare].some((h) => endsWith(cue, h) || endsWith(GENERIC_CUE, h));
}

function endsWith(cue: RegExp, text: string): boolean {
  const m = new RegExp(`(?:${cue.source})$`, 'i').exec(text);
  return m !== null;
}

export function nationalIdDetector(): PiiDetector {
  return {
    name: 'national-id',
    classes: NATIONAL_ID_CLASSES,
    detect(text, context) {
      if (!/\d/.test(text)) return [];
      const spans: PiiSpan[] = [];
      for (const kind of KINDS) {
        kind.regex.lastIndex = 0;
        for (const m of text.matchAll(kind.regex)) {
          const value = m[0];
          const end = m.index + value.length;
          if (isGlued(text, m.index, end)) continue;
          const compact = compactOf(value);
          if (!kind.valid(compact)) continue;
          const free = kind.cue === undefined || (kind.cueFree?.(value) ?? false);
          if (!free && !cued(kind, text, m.index, context?.key)) continue;
          spans.push({
            start: m.index,
            end,
            class: kind.cls,
            value,
            confidence: kind.cue === undefined ? 0.9 : 0.95,
            priority: PII_PRIORITY.nationalId,
            detector: `national-id:${kind.cls.toLowerCase()}`,
            normalized: compact,
          });
        }
      }
      return spans;
    },
  };
}
