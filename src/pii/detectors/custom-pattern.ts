/**
 * Tenant-defined patterns: a name, a regular expression and the class its matches belong to, e.g. an
 * internal customer number or a national identifier Airlock does not know. Patterns come from the
 * tenant's own policy file; each is compiled once (Unicode mode, global) and must not match the empty
 * string.
 *
 * @example
 * const d = customPatternDetector({ name: 'acme-customer-no', pattern: 'ACME-\\d{6}', class: 'CUSTOMER_NO' });
 * d.detect('ref ACME-123456')[0]?.class // 'CUSTOMER_NO'
 */
import { AirlockError } from '../../errors/airlock-error.js';
import {
  PII_CLASS_PATTERN,
  PII_PRIORITY,
  type PiiClass,
  type PiiDetector,
  type PiiSpan,
} from '../pii-types.js';

export interface CustomPattern {
  /** Shown in decisions, e.g. `acme-customer-no`. */
  name: string;
  /** JavaScript regular expression source (no slashes). */
  pattern: string;
  /** Class of the matches: a built-in class or a new upper-case one such as `CUSTOMER_NO`. */
  class: PiiClass;
  /** Extra flags besides `g` and `u`, e.g. `i`. */
  flags?: string;
  /** Only this capture group is the value (default: the whole match). */
  group?: number;
  /** Overlap priority (default `PII_PRIORITY.custom`, between IP and phone). */
  priority?: number;
  /** 0..1 (default 0.8). */
  confidence?: number;
}

/** A custom pattern that does not compile or would match everything. */
export class PiiPatternError extends AirlockError {
  constructor(message: string, cause?: unknown) {
    super('AIRLOCK_PII_PATTERN_INVALID', message, { cause });
  }
}

export function customPatternDetector(spec: CustomPattern): PiiDetector {
  if (!PII_CLASS_PATTERN.test(spec.class)) {
    throw new PiiPatternError(
      `pattern ${spec.name}: class ${JSON.stringify(spec.class)} must match ${PII_CLASS_PATTERN}`,
    );
  }
  const flags = `gu${(spec.flags ?? '').replace(/[gu]/g, '')}`;
  let regex: RegExp;
  try {
    regex = new RegExp(spec.pattern, flags);
  } catch (cause) {
    throw new PiiPatternError(`pattern ${spec.name}: ${(cause as Error).message}`, cause);
  }
  if (regex.test('')) throw new PiiPatternError(`pattern ${spec.name} matches the empty string`);
  const priority = spec.priority ?? PII_PRIORITY.custom;
  const confidence = spec.confidence ?? 0.8;
  return {
    name: `custom:${spec.name}`,
    classes: [spec.class],
    detect(text) {
      const spans: PiiSpan[] = [];
      regex.lastIndex = 0;
      for (const m of text.matchAll(regex)) {
        const value = spec.group === undefined ? m[0] : m[spec.group];
        if (!value) continue;
        const start = m.index + m[0].indexOf(value);
        spans.push({
          start,
          end: start + value.length,
          class: spec.class,
          value,
          confidence,
          priority,
          detector: `custom:${spec.name}`,
        });
      }
      return spans;
    },
  };
}
