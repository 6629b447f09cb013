/**
 * Masks argument values that look like personal data before a supervisor sees them, with the same
 * detectors the PII stage uses (`PiiScanner`): each detected span becomes `[EMAIL]`, `[NAME]`, ...
 * Viewers whose account may reveal PII get the raw value on request.
 *
 * @example
 * maskText('write to anna@example.com', scanner) // { text: 'write to [EMAIL]', masked: 1 }
 */
import type { PiiScanner } from '../pii/pii-scanner.js';

export interface MaskedText {
  text: string;
  /** Spans replaced. */
  masked: number;
}

/** Replaces every detected span of `text`. `key` is the JSON property the text came from (helps detectors). */
export function maskText(text: string, scanner: PiiScanner, key?: string): MaskedText {
  const spans = scanner.scan(text, key === undefined ? undefined : { key });
  if (spans.length === 0) return { text, masked: 0 };
  let out = '';
  let at = 0;
  for (const span of spans) {
    out += `${text.slice(at, span.start)}[${span.class}]`;
    at = span.end;
  }
  return { text: out + text.slice(at), masked: spans.length };
}

/**
 * A display string for one argument leaf (its JSON text), masked unless `reveal`. Non-string leaves
 * are scanned too (a phone number can arrive as a number).
 */
export function displayLeaf(
  leafJson: string | undefined,
  opts: { scanner: PiiScanner | undefined; reveal: boolean; key?: string },
): MaskedText {
  if (leafJson === undefined) return { text: '', masked: 0 };
  if (opts.reveal || !opts.scanner) return { text: leafJson, masked: 0 };
  return maskText(leafJson, opts.scanner, opts.key);
}
