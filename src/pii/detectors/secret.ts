/**
 * Secrets: vendor token formats (AWS access key ids and secret keys, GitHub, Slack, Stripe, Google API
 * keys), JWTs, PEM private key blocks, `password=`-style assignments, values of JSON fields named like
 * secrets, and otherwise unexplained high-entropy strings (Shannon entropy over the characters of a
 * long mixed-case alphanumeric run).
 *
 * @example
 * secretDetector().detect('key AKIAIOSFODNN7EXAMPLE')[0]?.detector // 'secret:aws-access-key-id'
 * shannonEntropy('aaaa') // 0
 */
import { PII_PRIORITY, type PiiDetector, type PiiSpan } from '../pii-types.js';

/** Bits per character a string must reach to count as random. Base64 of random bytes is ~5.5-6. */
export const DEFAULT_ENTROPY_THRESHOLD = 4.2;
/** Shortest string the entropy rule considers. */
export const DEFAULT_ENTROPY_MIN_LENGTH = 24;

export interface SecretDetectorOptions {
  /** Bits per character (default `DEFAULT_ENTROPY_THRESHOLD`); `Infinity` turns the entropy rule off. */
  entropyThreshold?: number;
  /** Minimum length for the entropy rule (default `DEFAULT_ENTROPY_MIN_LENGTH`). */
  entropyMinLength?: number;
}

interface SecretFormat {
  name: string;
  pattern: RegExp;
  /** Capture group holding the secret (default: the whole match). */
  group?: number;
}

/** Known formats, most specific first. */
export const SECRET_FORMATS: readonly SecretFormat[] = [
  {
    name: 'private-key',
    pattern:
      /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/g,
  },
  { name: 'jwt', pattern: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g },
  {
    name: 'aws-access-key-id',
    pattern: /\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA|ASCA)[A-Z0-9]{16}\b/g,
  },
  {
    name: 'aws-secret-access-key',
    pattern: /\baws.{0,24}?(?:secret|key).{0,24}?[=:"'\s]\s*["']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])/gi,
    group: 1,
  },
  { name: 'github-token', pattern: /\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,255}\b/g },
  { name: 'github-pat', pattern: /\bgithub_pat_[A-Za-z0-9_]{22,255}\b/g },
  { name: 'slack-token', pattern: /\bxox[abposre]-[A-Za-z0-9-]{10,250}/g },
  { name: 'slack-webhook', pattern: /https:\/\/hooks\.slack\.com\/services\/[A-Za-z0-9/_-]{20,}/g },
  { name: 'stripe-key', pattern: /\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,247}\b/g },
  { name: 'stripe-webhook-secret', pattern: /\bwhsec_[A-Za-z0-9]{24,}\b/g },
  { name: 'google-api-key', pattern: /\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])/g },
  {
    name: 'assignment',
    pattern:
      /\b(?:password|passwd|pwd|passphrase|secret|client[_-]?secret|api[_-]?key|apikey|access[_-]?token|auth[_-]?token|token)["']?\s*[:=]\s*["']?([^\s"',;]{8,200})/gi,
    group: 1,
  },
];

const SECRET_KEY = /passw|passphrase|secret|token|api.?key|private.?key|credential|auth/i;
/**
 * A run of characters that random keys are made of. Bounded: a multi-megabyte run (a base64 blob)
 * is examined in consecutive 4 KiB pieces instead of one match, which would exhaust the regex
 * engine's stack.
 */
/** Shortest and longest run of base64 / base64url characters the entropy rule looks at, in one piece. */
const CANDIDATE_MIN = 16;
const CANDIDATE_MAX = 4096;
const EQUALS = 0x3d;

/** `[A-Za-z0-9+/_-]`: the characters of a base64 or base64url run. */
function isRunChar(code: number): boolean {
  return (
    (code >= 0x30 && code <= 0x39) ||
    (code >= 0x41 && code <= 0x5a) ||
    (code >= 0x61 && code <= 0x7a) ||
    code === 0x2b ||
    code === 0x2f ||
    code === 0x5f ||
    code === 0x2d
  );
}

/**
 * The matches of `/[A-Za-z0-9+/_-]{16,4096}={0,2}/g`, found in one pass over the text. The regular
 * expression retries at every position of every shorter run (each word of a prose text, up to 15
 * characters each time), which made it the largest single cost of scanning a large result. Same
 * matches: each run of at least 16 characters in pieces of at most 4096, with up to two `=` after the
 * piece that ends the run.
 */
export function entropyCandidates(text: string): { index: number; value: string }[] {
  const found: { index: number; value: string }[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    if (!isRunChar(text.charCodeAt(i))) {
      i++;
      continue;
    }
    let end = i + 1;
    while (end < n && isRunChar(text.charCodeAt(end))) end++;
    let next = end;
    for (let pos = i; end - pos >= CANDIDATE_MIN; ) {
      let stop = Math.min(end, pos + CANDIDATE_MAX);
      if (stop === end) {
        for (let eq = 0; eq < 2 && text.charCodeAt(stop) === EQUALS; eq++) stop++;
        next = stop;
      }
      found.push({ index: pos, value: text.slice(pos, stop) });
      pos = stop;
    }
    i = next;
  }
  return found;
}

/** Shannon entropy of `text` in bits per character. */
export function shannonEntropy(text: string): number {
  if (text.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const ch of text) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) {
    const p = n / text.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

export function secretDetector(options: SecretDetectorOptions = {}): PiiDetector {
  const threshold = options.entropyThreshold ?? DEFAULT_ENTROPY_THRESHOLD;
  const minLength = options.entropyMinLength ?? DEFAULT_ENTROPY_MIN_LENGTH;
  return {
    name: 'secret',
    classes: ['SECRET'],
    detect(text, context) {
      const spans: PiiSpan[] = [];
      if (context?.key !== undefined && SECRET_KEY.test(context.key) && text.trim().length >= 6) {
        spans.push(span(0, text, 'secret:field', 0.9, PII_PRIORITY.secretFormat));
        return spans;
      }
      for (const format of SECRET_FORMATS) {
        for (const m of text.matchAll(format.pattern)) {
          const value = format.group === undefined ? m[0] : m[format.group];
          if (value === undefined) continue;
          const start = m.index + m[0].indexOf(value);
          if (format.name === 'assignment' && !looksRandom(value)) continue;
          spans.push(span(start, value, `secret:${format.name}`, 0.95, PII_PRIORITY.secretFormat));
        }
      }
      if (Number.isFinite(threshold)) {
        for (const m of entropyCandidates(text)) {
          const value = m.value.replace(/^[-_=/+]+|[-_/+]+$/g, '');
          if (value.length < minLength) continue;
          if (!(/[a-z]/.test(value) && /[A-Z]/.test(value) && /\d/.test(value))) continue;
          if (shannonEntropy(value) < threshold) continue;
          const start = m.index + m.value.indexOf(value);
          spans.push(span(start, value, 'secret:entropy', 0.7, PII_PRIORITY.entropy));
        }
      }
      return spans;
    },
  };
}

/** A password-like value: not a plain word or a placeholder. */
function looksRandom(value: string): boolean {
  if (
    /^(?:\*+|x+|\.+|<[^>]*>|\$\{[^}]*\}|\{\{[^}]*\}\}|redacted|changeme|none|null|true|false)$/i.test(value)
  )
    return false;
  const classes = [/[a-z]/, /[A-Z]/, /\d/, /[^A-Za-z0-9]/].filter((r) => r.test(value)).length;
  return classes >= 2 && shannonEntropy(value) >= 2.5;
}

function span(start: number, value: string, detector: string, confidence: number, priority: number): PiiSpan {
  return { start, end: start + value.length, class: 'SECRET', value, confidence, priority, detector };
}
