/**
 * UK National Insurance numbers: two prefix letters, six digits and a suffix A-D, compact or spaced
 * (`QQ 12 34 56 C`). HMRC's rules are applied: D, F, I, Q, U, V never appear in the prefix, O not as
 * its second letter, and BG, GB, KN, NK, NT, TN, ZZ are never allocated. Normalised compact and
 * upper case.
 *
 * @example
 * ninoDetector().detect('NI number: AB 12 34 56 C')[0]?.normalized // 'AB123456C'
 */
import { PII_PRIORITY, type PiiDetector, type PiiSpan } from '../pii-types.js';

const NINO =
  /(?<![\p{L}\p{N}])([A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]) ?(\d{2}) ?(\d{2}) ?(\d{2}) ?([A-D])(?![\p{L}\p{N}])/gu;
const NINO_COMPACT = /^[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\d{6}[A-D]$/;
const NEVER_ALLOCATED = new Set(['BG', 'GB', 'KN', 'NK', 'NT', 'TN', 'ZZ']);

/** Whether `value` (spaces allowed) is a NINO HMRC could allocate. */
export function isValidNino(value: string): boolean {
  const compact = value.replace(/ /g, '').toUpperCase();
  return NINO_COMPACT.test(compact) && !NEVER_ALLOCATED.has(compact.slice(0, 2));
}

export function ninoDetector(): PiiDetector {
  return {
    name: 'nino',
    classes: ['NINO'],
    detect(text) {
      const spans: PiiSpan[] = [];
      for (const m of text.matchAll(NINO)) {
        const prefix = m[1] ?? '';
        if (NEVER_ALLOCATED.has(prefix)) continue;
        const value = m[0];
        // Spaced forms must be spaced consistently ("AB 12 34 56 C" or "AB123456C").
        const spaces = (value.match(/ /g) ?? []).length;
        if (spaces !== 0 && spaces !== 4) continue;
        spans.push({
          start: m.index,
          end: m.index + value.length,
          class: 'NINO',
          value,
          confidence: 0.9,
          priority: PII_PRIORITY.nationalId,
          detector: 'nino',
          normalized: value.replace(/ /g, ''),
        });
      }
      return spans;
    },
  };
}
