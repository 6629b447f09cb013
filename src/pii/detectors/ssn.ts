/**
 * US Social Security numbers: `AAA-GG-SSSS` (dashes), or `AAA GG SSSS` / nine bare digits when an SSN
 * cue ("SSN", "social security") stands shortly before. Numbers the SSA never issues are refused:
 * area 000, 666 or 900-999, group 00, serial 0000, and the well-known advertising numbers.
 *
 * @example
 * ssnDetector().detect('SSN 123-45-6789')[0]?.normalized // '123456789'
 * ssnDetector().detect('SSN 666-45-6789') // [] (area 666 is never issued)
 */
import { PII_PRIORITY, type PiiDetector, type PiiSpan } from '../pii-types.js';
import { detectedSpan, type SpanKind } from './detected-span.js';
import { isGlued } from './word-boundary.js';

/** US Social Security numbers: digits only as the canonical form. */
const SSN_SPAN: SpanKind = {
  class: 'SSN',
  detector: 'ssn',
  priority: PII_PRIORITY.nationalId,
  normalize: (value) => value.replace(/\D/g, ''),
};

const DASHED = /(?<!\d)(\d{3})-(\d{2})-(\d{4})(?!\d)/g;
const LOOSE = /(?<!\d)(\d{3})[ ]?(\d{2})[ ]?(\d{4})(?!\d)/g;
const CUE = /\b(?:ssn|ss#|social[\s-]+security(?:\s+(?:number|no\.?|#))?|sozialversicherungs\w*)\W{0,5}$/i;
/** Characters before a match that are searched for a cue. */
const CUE_WINDOW = 32;
/** Published in advertising and never valid. */
const RETIRED = new Set(['078051120', '219099999', '457555462']);

/** Whether the nine digits are an SSN the SSA could have issued. */
export function isIssuableSsn(area: string, group: string, serial: string): boolean {
  const a = Number(area);
  if (a === 0 || a === 666 || a >= 900) return false;
  if (group === '00' || serial === '0000') return false;
  return !RETIRED.has(`${area}${group}${serial}`);
}

export function ssnDetector(): PiiDetector {
  return {
    name: 'ssn',
    classes: ['SSN'],
    detect(text, context) {
      const spans: PiiSpan[] = [];
      const seen = new Set<number>();
      const keyCue = context?.key !== undefined && /ssn|social.?security/i.test(context.key);
      for (const m of text.matchAll(DASHED)) {
        if (isGlued(text, m.index, m.index + m[0].length)) continue;
        if (!isIssuableSsn(m[1] ?? '', m[2] ?? '', m[3] ?? '')) continue;
        seen.add(m.index);
        spans.push(detectedSpan(SSN_SPAN, m.index, m[0], 0.9));
      }
      for (const m of text.matchAll(LOOSE)) {
        if (seen.has(m.index) || m[0].includes('-')) continue;
        const cued = keyCue || CUE.test(text.slice(Math.max(0, m.index - CUE_WINDOW), m.index));
        if (!cued || isGlued(text, m.index, m.index + m[0].length)) continue;
        if (!isIssuableSsn(m[1] ?? '', m[2] ?? '', m[3] ?? '')) continue;
        spans.push(detectedSpan(SSN_SPAN, m.index, m[0], 0.85));
      }
      return spans;
    },
  };
}
