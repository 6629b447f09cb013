/**
 * Runs every detector over a string and resolves overlaps: when two spans overlap, the more specific
 * one wins (higher `priority`: a validated IBAN over the phone number its digits resemble), then the
 * more confident, then the longer. Tokens Airlock already issued (`[[EMAIL:…]]`) are never re-detected.
 *
 * @example
 * const scanner = new PiiScanner({ patterns: [{ name: 'acme-id', pattern: 'ACME-\\d{6}', class: 'CUSTOMER_NO' }] });
 * scanner.scan('Anna Schmidt <anna@example.com>, IBAN DE89 3704 0044 0532 0130 00')
 * // NAME, EMAIL and IBAN spans, in text order
 */
import type { CountryCode } from 'libphonenumber-js/max';
import { cardDetector } from './detectors/card.js';
import { type CustomPattern, customPatternDetector } from './detectors/custom-pattern.js';
import { emailDetector } from './detectors/email.js';
import { ibanDetector } from './detectors/iban.js';
import { ipDetector } from './detectors/ip.js';
import { type NameDetectorOptions, nameDetector } from './detectors/name.js';
import { ninoDetector } from './detectors/nino.js';
import { phoneDetector } from './detectors/phone.js';
import { type SecretDetectorOptions, secretDetector } from './detectors/secret.js';
import { ssnDetector } from './detectors/ssn.js';
import type { DetectContext, PiiDetector, PiiSpan } from './pii-types.js';
import { findTokens } from './token-format.js';

/** Names of the built-in detectors, for `PiiScannerOptions.disable`. */
export const BUILTIN_DETECTORS = [
  'email',
  'phone',
  'card',
  'iban',
  'ssn',
  'nino',
  'ip',
  'name',
  'secret',
] as const;
export type BuiltinDetectorName = (typeof BUILTIN_DETECTORS)[number];

export interface PiiScannerOptions {
  /** Default regions for national phone numbers (default `DEFAULT_PHONE_REGIONS`). */
  phoneRegions?: readonly CountryCode[];
  /** Tenant-defined patterns, run after the built-in detectors. */
  patterns?: readonly CustomPattern[];
  /** Built-in detectors to leave out, e.g. `['name']`. */
  disable?: readonly BuiltinDetectorName[];
  names?: NameDetectorOptions;
  secrets?: SecretDetectorOptions;
}

export class PiiScanner {
  readonly detectors: readonly PiiDetector[];

  constructor(options: PiiScannerOptions = {}) {
    const off = new Set<string>(options.disable ?? []);
    const builtins: Record<BuiltinDetectorName, () => PiiDetector> = {
      secret: () => secretDetector(options.secrets),
      card: () => cardDetector(),
      iban: () => ibanDetector(),
      ssn: () => ssnDetector(),
      nino: () => ninoDetector(),
      email: () => emailDetector(),
      ip: () => ipDetector(),
      phone: () => phoneDetector({ regions: options.phoneRegions }),
      name: () => nameDetector(options.names),
    };
    const detectors: PiiDetector[] = [];
    for (const name of BUILTIN_DETECTORS) if (!off.has(name)) detectors.push(builtins[name]());
    for (const p of options.patterns ?? []) detectors.push(customPatternDetector(p));
    this.detectors = detectors;
  }

  /** Non-overlapping spans in text order. `context.key` is the JSON field the text came from, if any. */
  scan(text: string, context?: DetectContext): PiiSpan[] {
    if (text.length === 0) return [];
    const all: PiiSpan[] = [];
    for (const d of this.detectors) all.push(...d.detect(text, context));
    if (all.length === 0) return all;
    const tokens = findTokens(text);
    const outsideTokens =
      tokens.length === 0 ? all : all.filter((s) => !tokens.some((t) => s.start < t.end && t.start < s.end));
    return resolveOverlaps(outsideTokens);
  }
}

/**
 * Keeps a non-overlapping subset: higher priority first, then higher confidence, then longer.
 *
 * @example
 * resolveOverlaps([phoneSpan, ibanSpanCoveringIt]) // [ibanSpanCoveringIt]
 */
export function resolveOverlaps(spans: readonly PiiSpan[]): PiiSpan[] {
  const ranked = [...spans].sort(
    (a, b) =>
      b.priority - a.priority ||
      b.confidence - a.confidence ||
      b.end - b.start - (a.end - a.start) ||
      a.start - b.start,
  );
  const kept: PiiSpan[] = [];
  for (const s of ranked) {
    if (s.end <= s.start) continue;
    if (kept.some((k) => s.start < k.end && k.start < s.end)) continue;
    kept.push(s);
  }
  return kept.sort((a, b) => a.start - b.start);
}
