/**
 * Dates of birth: a date right after a birth cue ("born", "DOB", "geboren am", "né le", "nacida el",
 * "nato il", "geboren op", "nascido em", "date of birth:", `"birthDate":`), in numeric or spelled-out
 * form in the seven supported languages. Other dates (invoice, delivery, log timestamps) are left alone.
 *
 * @example
 * dateOfBirthDetector().detect('Kunde, geboren am 12.03.1985, …')[0]?.value // '12.03.1985'
 * dateOfBirthDetector().detect('Rechnung vom 12.03.2025') // []
 */
import type { PiiDetector, PiiSpan } from '../pii-types.js';

/** Overlap priority: above phones (50) so "born 12 03 1985" is not a phone number, below e-mails (70). */
export const DOB_PRIORITY = 60;

const MONTHS = [
  // en, de, fr, es, it, nl, pt (full names and the usual abbreviations)
  'jan(?:uary|uari|uar|vier|eiro)?\\.?',
  'gen(?:naio)?\\.?',
  'ene(?:ro)?\\.?',
  'j[äa]n(?:ner)?\\.?',
  'feb(?:ruary|ruar|braio|rero|ruari)?\\.?',
  'f[ée]v(?:rier|ereiro)?\\.?',
  'mar(?:ch|s|zo|ço|co|t)?\\.?',
  'm[äa]r(?:z)?\\.?',
  'maart',
  'apr(?:il|ile|il)?\\.?',
  'avr(?:il)?\\.?',
  'abr(?:il)?\\.?',
  'ma(?:y|i|io|yo|io|ai|j)\\.?',
  'mei',
  'mag(?:gio)?\\.?',
  'jun(?:e|i|io|ho)?\\.?',
  'juin',
  'giu(?:gno)?\\.?',
  'jul(?:y|i|io|ho)?\\.?',
  'juil(?:let)?\\.?',
  'lug(?:lio)?\\.?',
  'aug(?:ust|ustus)?\\.?',
  'ao[ûu]t',
  'ago(?:sto)?\\.?',
  'sep(?:t(?:ember|embre|iembre)?)?\\.?',
  'set(?:embro|tembre)?\\.?',
  'oct(?:ober|obre|ubre)?\\.?',
  'okt(?:ober)?\\.?',
  'ott(?:obre)?\\.?',
  'out(?:ubro)?\\.?',
  'nov(?:ember|embre|iembre|embro)?\\.?',
  'd[eé]c(?:ember|embre)?\\.?',
  'dez(?:ember|embro)?\\.?',
  'dic(?:iembre|embre)?\\.?',
].join('|');

const NUMERIC = String.raw`(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[./-]\d{1,2}[./-](?:\d{4}|\d{2})|\d{4}/\d{1,2}/\d{1,2})`;
const SPELLED = String.raw`(?:\d{1,2}(?:st|nd|rd|th|er|º)?\.?[ \t]+(?:de[ \t]+)?(?:${MONTHS})[ \t]+(?:de[ \t]+)?\d{4}|(?:${MONTHS})[ \t]+\d{1,2}(?:st|nd|rd|th)?,?[ \t]+\d{4})`;
const DATE = `(?:${NUMERIC}|${SPELLED})`;

const CUE = String.raw`(?:born(?:[ \t]+(?:on|in))?|b\.|d\.?o\.?b\.?|date[ \t]+of[ \t]+birth|birth[ \t]*date|birthday|geb(?:\.|oren)(?:[ \t]+(?:am|den|op))?|geburtsdatum|geburtstag|n[ée]e?[ \t]+le|date[ \t]+de[ \t]+naissance|naissance|nacid[oa](?:[ \t]+(?:el|en))?|fecha[ \t]+de[ \t]+nacimiento|f\.[ \t]*nac\.?|nat[oa](?:[ \t]+(?:il|a[ \t]+\p{L}+[ \t]+il))?|data[ \t]+di[ \t]+nascita|geboortedatum|geb\.[ \t]*datum|nascid[oa](?:[ \t]+(?:em|a))?|data[ \t]+de[ \t]+nascimento|dt\.?[ \t]+nasc\.?)`;
const KEY_CUE = `["']?(?:dob|date_?of_?birth|dateofbirth|birth_?date|birthdate|birthday|geburtsdatum|date_?naissance|fecha_?nacimiento|data_?nascita|geboortedatum|data_?nascimento)["']?`;

const CUED_DATE = new RegExp(
  String.raw`(?<![\p{L}])(?:${CUE}|${KEY_CUE})[ \t]*[:=]?[ \t]*["']?[ \t]*(?:(?:on|am|le|el|il|op|em|the)[ \t]+)?(${DATE})(?![\p{L}\p{N}])`,
  'giu',
);
const WHOLE_DATE = new RegExp(`^${DATE}$`, 'iu');
const DOB_KEY =
  /^(?:dob|dateofbirth|birthdate|birthday|geburtsdatum|datenaissance|fechanacimiento|fechadenacimiento|datanascita|datadinascita|geboortedatum|datanascimento|datadenascimento)$/i;

function span(start: number, value: string, detector: string): PiiSpan {
  return {
    start,
    end: start + value.length,
    class: 'DOB',
    value,
    confidence: 0.85,
    priority: DOB_PRIORITY,
    detector,
    normalized: value.toLowerCase(),
  };
}

export function dateOfBirthDetector(): PiiDetector {
  return {
    name: 'dob',
    classes: ['DOB'],
    detect(text, context) {
      if (!/\d/.test(text)) return [];
      if (context?.key !== undefined && DOB_KEY.test(context.key.replace(/[\s_-]/g, ''))) {
        const trimmed = text.trim();
        if (WHOLE_DATE.test(trimmed) || /^\d{4}-\d{2}-\d{2}T/.test(trimmed)) {
          return [span(text.indexOf(trimmed), trimmed, 'dob:field')];
        }
      }
      const spans: PiiSpan[] = [];
      for (const m of text.matchAll(CUED_DATE)) {
        const date = m[1] ?? '';
        const start = m.index + m[0].length - date.length;
        spans.push(span(start, date, 'dob'));
      }
      return spans;
    },
  };
}
