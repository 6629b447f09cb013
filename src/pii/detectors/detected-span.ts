/**
 * Building a `PiiSpan` for a match: what a detector finds (its class, name, priority and canonical
 * form) fixed once, the match's place, value and confidence per call.
 *
 * @example
 * const IP = { class: 'IP', detector: 'ip', priority: PII_PRIORITY.ip, normalize: (v) => v.toLowerCase() } as const;
 * spans.push(detectedSpan(IP, m.index, m[0], 0.9));
 */
import type { PiiClass, PiiSpan } from '../pii-types.js';

/** What one detector's spans share. */
export interface SpanKind {
  class: PiiClass;
  detector: string;
  priority: number;
  /** Canonical form for tokens and hashes (see `PiiSpan.normalized`). */
  normalize: (value: string) => string;
}

/** The span of `value` found at `start`. */
export function detectedSpan(kind: SpanKind, start: number, value: string, confidence: number): PiiSpan {
  return {
    start,
    end: start + value.length,
    class: kind.class,
    value,
    confidence,
    priority: kind.priority,
    detector: kind.detector,
    normalized: kind.normalize(value),
  };
}
