/**
 * E-mail addresses: a local part, `@`, and a dotted domain whose last label (the TLD) is 2-63 letters.
 * Unicode letters are accepted (internationalised addresses). Normalised to lower case.
 *
 * @example
 * emailDetector().detect('Contact: Anna.Schmidt@Example.de.')[0]?.value // 'Anna.Schmidt@Example.de'
 */
import { PII_PRIORITY, type PiiDetector, type PiiSpan } from '../pii-types.js';

const EMAIL =
  /[\p{L}\p{N}!#$%&'*+/=?^_`{|}~-]+(?:\.[\p{L}\p{N}!#$%&'*+/=?^_`{|}~-]+)*@(?:[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?\.)+\p{L}{2,63}(?![\p{L}\p{N}-])/gu;

export function emailDetector(): PiiDetector {
  return {
    name: 'email',
    classes: ['EMAIL'],
    detect(text) {
      if (!text.includes('@')) return [];
      const spans: PiiSpan[] = [];
      for (const m of text.matchAll(EMAIL)) {
        let start = m.index;
        let value = m[0];
        // Quotes and slashes are legal in a local part but in prose they are punctuation around it.
        const lead = /^[!#$%&'*+/=?^`{|}~-]+/u.exec(value);
        if (lead) {
          start += lead[0].length;
          value = value.slice(lead[0].length);
        }
        if (value.startsWith('@')) continue;
        spans.push({
          start,
          end: start + value.length,
          class: 'EMAIL',
          value,
          confidence: 0.95,
          priority: PII_PRIORITY.email,
          detector: 'email',
          normalized: value.toLowerCase(),
        });
      }
      return spans;
    },
  };
}
