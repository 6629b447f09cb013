/**
 * Applies the PII policy to one payload going towards an agent: walks it once, deep (every string value
 * and object key, each scanned with its key as context; numbers only when they are card numbers,
 * replaced by a string), so the JSON-RPC shape never changes and string fields stay strings. URIs,
 * names, titles, `_meta` and fields no schema knows are scanned like any text. Left alone: base64
 * (`blob`, image and audio `data`), the agent's own `progressToken`, and the fields a route names as
 * identifiers (tool and prompt names in lists).
 *
 * Before the detectors, the request's taint (values de-tokenized for it, see request-taint.ts) is put
 * back as tokens wherever it appears. Classes whose action is `block` are collected in the report; the
 * caller refuses (or drops) the whole message. Used through the boundary (pii-boundary.ts).
 *
 * @example
 * const redactor = new PiiRedactor({ scanner: new PiiScanner(), vault, policy: compilePiiPolicy() });
 * const pass = { report: new RedactionReport(), target: 'erp.get_customer' };
 * const safe = await redactor.redactPayload(result, pass);
 * pass.report.blocked.size === 0 // else refuse with blockedResultError([...pass.report.blocked])
 */
import { WireError } from '../errors/wire-error.js';
import { isCardNumber } from './detectors/card.js';
import { MessageTaint } from './message-taint.js';
import type { CompiledPiiPolicy, PiiAction } from './pii-policy.js';
import type { PiiScanner } from './pii-scanner.js';
import type { PiiClass, PiiSpan } from './pii-types.js';
import type { PiiVault } from './pii-vault.js';
import type { RequestTaint } from './request-taint.js';

/** Classes whose masks keep the last four characters (PCI DSS allows showing a PAN's last four). */
const KEEP_LAST_FOUR = new Set<PiiClass>(['CARD', 'IBAN', 'PHONE']);

/** Counts of what was found and done, per class and action. Holds no values. */
export class RedactionReport {
  readonly counts = new Map<string, Map<PiiAction, number>>();
  readonly blocked = new Set<string>();

  add(cls: string, action: PiiAction): void {
    let perAction = this.counts.get(cls);
    if (!perAction) {
      perAction = new Map();
      this.counts.set(cls, perAction);
    }
    perAction.set(action, (perAction.get(action) ?? 0) + 1);
    if (action === 'block') this.blocked.add(cls);
  }

  /** Whether anything other than `allow` happened. */
  get modified(): boolean {
    for (const perAction of this.counts.values()) {
      for (const [action, n] of perAction) if (action !== 'allow' && n > 0) return true;
    }
    return false;
  }

  /** `{ EMAIL: { tokenize: 2 }, CARD: { mask: 1 } }` for decisions and audit. */
  toJSON(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    for (const [cls, perAction] of this.counts) out[cls] = Object.fromEntries(perAction);
    return out;
  }
}

/** One redaction of one message: where results are counted, and what the policy and taint need. */
export interface RedactionPass {
  report: RedactionReport;
  /** Tool/prompt name or resource URI the policy's per-tool overrides match. */
  target?: string | undefined;
  /** Values de-tokenized for the request this message belongs to. */
  taint?: RequestTaint | undefined;
  /** Token scope (session scope), undefined for tenant-wide tokens. */
  scope?: string | undefined;
  /** Keys whose string values are identifiers at depth 2 (e.g. `name` of `tools[i]`): left alone. */
  identifiers?: ReadonlySet<string> | undefined;
  /** Values detected so far in this message (set by `redactPayload`; see message-taint.ts). */
  message?: MessageTaint | undefined;
}

export interface PiiRedactorOptions {
  scanner: PiiScanner;
  vault: PiiVault;
  policy: CompiledPiiPolicy;
}

type Json = unknown;

/** Keys whose values are base64 or the agent's own opaque values: never scanned. */
const OPAQUE_KEYS = new Set(['blob', 'progressToken']);
/** Content block types whose `data` is base64. */
const BINARY_TYPES = new Set(['image', 'audio']);

export class PiiRedactor {
  readonly scanner: PiiScanner;
  readonly vault: PiiVault;
  readonly policy: CompiledPiiPolicy;

  constructor(options: PiiRedactorOptions) {
    this.scanner = options.scanner;
    this.vault = options.vault;
    this.policy = options.policy;
  }

  /** Redacts one string (taint first, then detectors). `key`: the JSON field it came from (a hint). */
  async redactText(text: string, pass: RedactionPass, key?: string): Promise<string> {
    let input = text;
    const tainted = pass.taint?.apply(text);
    if (tainted) {
      input = tainted.text;
      for (const [cls, n] of tainted.hits) for (let i = 0; i < n; i++) pass.report.add(cls, 'tokenize');
    }
    const spans = this.scanner.scan(input, key === undefined ? undefined : { key });
    if (spans.length === 0) return input;
    let out = '';
    let at = 0;
    for (const span of spans) {
      const action = this.policy.actionFor(span.class, pass.target);
      pass.report.add(span.class, action);
      const replacement = await this.#replacement(span, action, pass.scope);
      pass.message?.record(span.class, span.value, replacement);
      out += input.slice(at, span.start) + replacement;
      at = span.end;
    }
    return out + input.slice(at);
  }

  /**
   * Redacts any JSON value deep (see the module comment for what is left alone). A value a detector
   * found anywhere in the message is then replaced wherever else it stands as a whole word in it
   * (message-taint.ts), so one part never gives away what another part tokenized.
   */
  async redactPayload(value: Json, pass: RedactionPass): Promise<Json> {
    const message = new MessageTaint();
    const redacted = await this.#walk(value, { ...pass, message }, undefined, 0);
    if (message.size === 0) return redacted;
    return this.#walkStrings(redacted, pass, undefined, 0, (text) => {
      const tainted = message.apply(text);
      if (!tainted) return text;
      for (const [cls, n] of tainted.hits) {
        const action = this.policy.actionFor(cls as PiiClass, pass.target);
        for (let i = 0; i < n; i++) pass.report.add(cls, action);
      }
      return tainted.text;
    });
  }

  /** Rewrites every scanned string of `value` with `rewrite` (keys included), leaving opaque fields alone. */
  #walkStrings(
    value: Json,
    pass: RedactionPass,
    key: string | undefined,
    depth: number,
    rewrite: (text: string) => string,
  ): Json {
    if (typeof value === 'string') return rewrite(value);
    if (Array.isArray(value))
      return value.map((item) => this.#walkStrings(item, pass, key, depth + 1, rewrite));
    if (value === null || typeof value !== 'object') return value;
    const record = value as Record<string, Json>;
    const out: Record<string, Json> = {};
    for (const [k, v] of Object.entries(record)) {
      out[rewrite(k)] = isOpaqueField(record, k, v, depth, pass)
        ? v
        : this.#walkStrings(v, pass, k, depth + 1, rewrite);
    }
    return out;
  }

  async #walk(value: Json, pass: RedactionPass, key: string | undefined, depth: number): Promise<Json> {
    if (typeof value === 'string') return this.redactText(value, pass, key);
    if (typeof value === 'number') {
      if (!Number.isInteger(value) || value < 1e12) return value;
      const digits = String(value);
      if (!isCardNumber(digits) && !pass.taint?.apply(digits)) return value;
      const redacted = await this.redactText(digits, pass, key);
      return redacted === digits ? value : redacted;
    }
    if (Array.isArray(value)) {
      const out: Json[] = [];
      for (const item of value) out.push(await this.#walk(item, pass, key, depth + 1));
      return out;
    }
    if (value !== null && typeof value === 'object') {
      const record = value as Record<string, Json>;
      const out: Record<string, Json> = {};
      for (const [k, v] of Object.entries(record)) {
        const keep = isOpaqueField(record, k, v, depth, pass);
        const safeKey = await this.redactText(k, pass);
        out[safeKey] = keep ? v : await this.#walk(v, pass, k, depth + 1);
      }
      return out;
    }
    return value;
  }

  /**
   * Redacts an error's message (and a `WireError`'s data) before it reaches the agent. A `WireError` is
   * rebuilt; other errors keep their type and get the redacted message. A blocked class in an error
   * replaces the whole message (errors are never refused, so `block` counts as `mask`).
   */
  async redactError(err: unknown, pass: RedactionPass): Promise<unknown> {
    if (!(err instanceof Error)) return err;
    const local: RedactionPass = { ...pass, report: new RedactionReport() };
    let message = await this.redactText(err.message, local);
    let data: Record<string, unknown> | undefined;
    const rawData = err instanceof WireError ? err.data : (err as { data?: unknown }).data;
    if (rawData !== undefined) data = (await this.redactPayload(rawData, local)) as Record<string, unknown>;
    for (const [cls, perAction] of local.report.counts)
      for (const [action, n] of perAction)
        for (let i = 0; i < n; i++) pass.report.add(cls, action === 'block' ? 'mask' : action);
    if (local.report.blocked.size > 0) {
      message = `The error message was withheld: it contains data of class ${[...local.report.blocked].join(', ')}.`;
      data = undefined;
    }
    if (err instanceof WireError) return new WireError(err.rpcCode, err.airlockCode, message, data);
    err.message = message;
    if (rawData !== undefined) (err as { data?: unknown }).data = data;
    return err;
  }

  async #replacement(span: PiiSpan, action: PiiAction, scope: string | undefined): Promise<string> {
    const normalized = span.normalized ?? span.value;
    switch (action) {
      case 'allow':
        return span.value;
      case 'tokenize':
        return this.vault.tokenize(span.class, span.value, normalized, scope);
      case 'hash':
        return this.vault.hash(span.class, normalized);
      case 'mask':
      case 'block':
        return maskValue(span.class, normalized);
    }
  }
}

/** Whether field `k` of `record` is never scanned: base64, the agent's opaque values, route identifiers. */
function isOpaqueField(
  record: Record<string, Json>,
  k: string,
  v: Json,
  depth: number,
  pass: RedactionPass,
): boolean {
  const binary = typeof record.type === 'string' && BINARY_TYPES.has(record.type);
  return (
    OPAQUE_KEYS.has(k) ||
    (binary && k === 'data') ||
    (depth === 2 && typeof v === 'string' && pass.identifiers?.has(k) === true)
  );
}

/**
 * The `mask` output: `[MASKED:CARD:…1111]` for cards, IBANs and phones (last four kept), else `[MASKED:EMAIL]`.
 *
 * @example
 * maskValue('CARD', '4111111111111111') // '[MASKED:CARD:…1111]'
 */
export function maskValue(cls: PiiClass, normalized: string): string {
  if (KEEP_LAST_FOUR.has(cls)) {
    const tail = normalized.replace(/[^A-Za-z0-9]/g, '').slice(-4);
    if (tail.length === 4) return `[MASKED:${cls}:…${tail}]`;
  }
  return `[MASKED:${cls}]`;
}
