/**
 * Request taint: every value the connector de-tokenized for an agent request is known raw data. Wherever
 * it reappears in anything sent back for that request (result, error, notifications, server→client
 * requests relayed during it), it is replaced by its token again — glued to other characters or not,
 * whatever the detectors say (an upstream that echoes `X[[CARD:…]]Y` as `X4111…1111Y` gets its card
 * re-tokenized although no detector would match it there).
 *
 * The transport runs each agent request inside {@link withRequestTaint}; the PII stage records into
 * {@link currentRequestTaint} while it de-tokenizes; the boundary applies the taint to what goes out.
 *
 * Values shorter than {@link DEFAULT_MIN_TAINT_LENGTH} characters are not tracked (replacing every
 * "Li" in a result would destroy it); spelling variants tracked: the value as de-tokenized, its
 * lower-case form for e-mails, its compact form (no spaces, dashes or dots) for cards, IBANs and
 * phone numbers, and its percent-encoded form (reflected into URIs).
 *
 * @example
 * const taint = new RequestTaint();
 * taint.record('[[CARD:1f0c9a2b]]', 'CARD', '4111 1111 1111 1111');
 * taint.apply('X4111111111111111Y') // { text: 'X[[CARD:1f0c9a2b]]Y', hits: [['CARD', 1]] }
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** Shortest value tracked as taint (characters). */
export const DEFAULT_MIN_TAINT_LENGTH = 4;
/** Most distinct values tracked per request (beyond, the oldest are kept and new ones ignored). */
export const DEFAULT_MAX_TAINT_VALUES = 1000;

const COMPACT_CLASSES = new Set(['CARD', 'IBAN', 'PHONE']);

interface Tainted {
  token: string;
  cls: string;
}

export class RequestTaint {
  /**
   * Set by the PII stage once it redacted this request's result (with this taint): the transport lets
   * that result through without a second scan. Errors and every other message are still redacted.
   */
  resultRedacted = false;
  /** Spelling → token; longest spellings first when applied. */
  readonly #values = new Map<string, Tainted>();
  #ordered: [string, Tainted][] | undefined;
  #lowerEmails = false;

  /** How many spellings are tracked. */
  get size(): number {
    return this.#values.size;
  }

  /** Records a de-tokenized value (and its spelling variants) with the token it came from. */
  record(token: string, cls: string, value: string): void {
    const add = (spelling: string) => {
      if (spelling.length < DEFAULT_MIN_TAINT_LENGTH || this.#values.has(spelling)) return;
      if (this.#values.size >= DEFAULT_MAX_TAINT_VALUES) return;
      this.#values.set(spelling, { token, cls });
      this.#ordered = undefined;
    };
    add(value);
    if (cls === 'EMAIL') {
      add(value.toLowerCase());
      this.#lowerEmails = true;
    }
    if (COMPACT_CLASSES.has(cls)) add(value.replace(/[\s.\-/]/g, ''));
    add(encodeURIComponent(value)); // reflected into a URI or query string
  }

  /** Takes over every value another taint holds (a relayed call continuing in a new agent request). */
  absorb(other: RequestTaint | undefined): void {
    if (!other || other === this) return;
    for (const [spelling, t] of other.#values) {
      if (!this.#values.has(spelling) && this.#values.size < DEFAULT_MAX_TAINT_VALUES) {
        this.#values.set(spelling, t);
        this.#ordered = undefined;
      }
    }
    this.#lowerEmails ||= other.#lowerEmails;
  }

  /**
   * Replaces every tracked value in `text` by its token. Returns the text unchanged (same string) when
   * nothing matched; `hits` counts replacements per class.
   */
  apply(text: string): { text: string; hits: Map<string, number> } | undefined {
    if (this.#values.size === 0 || text.length < DEFAULT_MIN_TAINT_LENGTH) return undefined;
    const ordered = this.#order();
    let out = text;
    let lower: string | undefined; // lower-cased `out`, computed once and only for e-mail spellings
    let hits: Map<string, number> | undefined;
    for (const [spelling, t] of ordered) {
      if (out.includes(spelling)) {
        out = out.split(spelling).join(t.token);
      } else if (this.#lowerEmails && t.cls === 'EMAIL') {
        lower ??= out.toLowerCase();
        if (!lower.includes(spelling)) continue;
        out = replaceCaseInsensitive(out, lower, spelling, t.token);
      } else {
        continue;
      }
      lower = undefined;
      hits ??= new Map();
      hits.set(t.cls, (hits.get(t.cls) ?? 0) + 1);
    }
    return hits ? { text: out, hits } : undefined;
  }

  #order(): [string, Tainted][] {
    this.#ordered ??= [...this.#values].sort((a, b) => b[0].length - a[0].length);
    return this.#ordered;
  }
}

function replaceCaseInsensitive(
  text: string,
  lower: string,
  lowerNeedle: string,
  replacement: string,
): string {
  // Only when lower-casing keeps offsets (no length-changing case mappings in the text).
  if (lower.length !== text.length) return text;
  let out = '';
  let at = 0;
  for (let i = lower.indexOf(lowerNeedle); i >= 0; i = lower.indexOf(lowerNeedle, at)) {
    out += text.slice(at, i) + replacement;
    at = i + lowerNeedle.length;
  }
  return out + text.slice(at);
}

const storage = new AsyncLocalStorage<RequestTaint>();

/**
 * Runs `fn` (one agent request's pipeline) with `taint` as the request's taint.
 *
 * @example
 * await withRequestTaint(taint, () => pipeline(ctx));
 */
export function withRequestTaint<T>(taint: RequestTaint, fn: () => T): T {
  return storage.run(taint, fn);
}

/** The taint of the agent request being handled, if the transport set one. */
export function currentRequestTaint(): RequestTaint | undefined {
  return storage.getStore();
}
