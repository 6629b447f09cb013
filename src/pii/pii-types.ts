/**
 * What every PII detector produces: spans of a string with a data class, the matched value and a
 * confidence. Classes are uppercase names (`EMAIL`, `CARD`, ...) because they appear in tokens that a
 * model reads, e.g. `[[EMAIL:7f3a9c21]]`. Tenants may add their own classes with custom patterns.
 *
 * @example
 * const spans: PiiSpan[] = emailDetector().detect('write to anna@example.com');
 * // [{ start: 9, end: 25, class: 'EMAIL', value: 'anna@example.com', confidence: 0.95, ... }]
 */

/** Classes Airlock detects out of the box. */
export const BUILTIN_PII_CLASSES = [
  'EMAIL',
  'PHONE',
  'CARD',
  'IBAN',
  'SSN',
  'NINO',
  'IP',
  'NAME',
  'SECRET',
  'DNI',
  'NIE',
  'CODICE_FISCALE',
  'NIR',
  'BSN',
  'STEUER_ID',
  'ADDRESS',
  'POSTCODE',
  'DOB',
] as const;
export type BuiltinPiiClass = (typeof BUILTIN_PII_CLASSES)[number];
/** A built-in class or a tenant-defined one (uppercase, `[A-Z][A-Z0-9_]{1,31}`). */
export type PiiClass = BuiltinPiiClass | (string & {});

/** Shape of a class name, built-in or custom. */
export const PII_CLASS_PATTERN = /^[A-Z][A-Z0-9_]{1,31}$/;

/**
 * How specific a match is; overlap resolution keeps the higher one. Checksummed and fixed-format
 * matches beat looser ones, e.g. an IBAN beats the phone number its digits also look like.
 */
export const PII_PRIORITY = {
  /** PEM blocks, JWTs, vendor token formats: unmistakable. */
  secretFormat: 100,
  /** Luhn / mod-97 validated. */
  checksummed: 90,
  /** SSN / NINO with their exclusion rules. */
  nationalId: 80,
  email: 70,
  ip: 60,
  /** Default for tenant patterns. */
  custom: 55,
  phone: 50,
  name: 30,
  /** High-entropy strings without a known format. */
  entropy: 20,
} as const;

/** One detected piece of personal data or secret in a string (`start` inclusive, `end` exclusive, UTF-16). */
export interface PiiSpan {
  start: number;
  end: number;
  class: PiiClass;
  /** `text.slice(start, end)`. */
  value: string;
  /** 0..1; validated matches are near 1, context-only ones lower. */
  confidence: number;
  /** Overlap resolution keeps the higher priority (see `PII_PRIORITY`). */
  priority: number;
  /** Which detector matched, e.g. `card` or `secret:jwt`. Never contains the value. */
  detector: string;
  /**
   * Canonical form used for tokens and hashes, so `DE89 3704…` and `DE893704…` get the same token
   * (digits only for cards, upper-case compact IBANs, lower-case e-mails, E.164 phones).
   */
  normalized?: string;
}

/** Where the text came from: the JSON field name, when it is a field of a structured result. */
export interface DetectContext {
  /** Name of the JSON object key whose value is being scanned, e.g. `email` or `customerName`. */
  key?: string;
}

/** A detector for one family of data. Detectors are pure and synchronous. */
export interface PiiDetector {
  /** Stable name, e.g. `phone`. */
  readonly name: string;
  /** Classes it can produce. */
  readonly classes: readonly PiiClass[];
  detect(text: string, context?: DetectContext): PiiSpan[];
}
