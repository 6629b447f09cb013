/**
 * Applies the PII policy to what flows back to an agent: finds spans with the scanner and replaces each
 * by its action's output (token, mask, hash), walking MCP results field by field so the JSON-RPC shape
 * never changes and string fields stay strings:
 *
 * - tool results: every `content` block's text (text blocks, embedded resource text, resource-link
 *   title/description) and `structuredContent` deep (string values and object keys, each scanned
 *   with its key as context; numbers only when they are card numbers, replaced by a string);
 * - `resources/read`: every `contents[].text`; `prompts/get`: `description` and each message's content;
 * - error messages.
 *
 * Binary content (`blob`, image and audio `data`), URIs, `_meta` and protocol fields are left alone.
 * Classes whose action is `block` are collected in the report; the caller refuses the whole result.
 *
 * @example
 * const redactor = new PiiRedactor({ scanner: new PiiScanner(), vault, policy: compilePiiPolicy() });
 * const report = new RedactionReport();
 * const safe = await redactor.redactResult('tools/call', result, 'erp.get_customer', report);
 * report.blocked.size === 0 // else refuse with blockedResultError([...report.blocked])
 */
import { WireError } from '../errors/wire-error.js';
import { isCardNumber } from './detectors/card.js';
import type { CompiledPiiPolicy, PiiAction } from './pii-policy.js';
import type { PiiScanner } from './pii-scanner.js';
import type { PiiClass, PiiSpan } from './pii-types.js';
import type { PiiVault } from './pii-vault.js';

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

export interface PiiRedactorOptions {
  scanner: PiiScanner;
  vault: PiiVault;
  policy: CompiledPiiPolicy;
}

type Json = unknown;

export class PiiRedactor {
  readonly scanner: PiiScanner;
  readonly vault: PiiVault;
  readonly policy: CompiledPiiPolicy;

  constructor(options: PiiRedactorOptions) {
    this.scanner = options.scanner;
    this.vault = options.vault;
    this.policy = options.policy;
  }

  /**
   * Redacts one string. `target` is the tool/prompt name or resource URI the policy's overrides match;
   * `key` the JSON field name the string came from (a detection hint).
   */
  async redactText(text: string, report: RedactionReport, target?: string, key?: string): Promise<string> {
    const spans = this.scanner.scan(text, key === undefined ? undefined : { key });
    if (spans.length === 0) return text;
    let out = '';
    let at = 0;
    for (const span of spans) {
      const action = this.policy.actionFor(span.class, target);
      report.add(span.class, action);
      out += text.slice(at, span.start) + (await this.#replacement(span, action));
      at = span.end;
    }
    return out + text.slice(at);
  }

  /** Redacts any JSON value deep: strings, object keys, and numbers that are card numbers. */
  async redactJson(value: Json, report: RedactionReport, target?: string, key?: string): Promise<Json> {
    if (typeof value === 'string') return this.redactText(value, report, target, key);
    if (typeof value === 'number') {
      if (!Number.isInteger(value) || value < 1e12) return value;
      const digits = String(value);
      if (!isCardNumber(digits)) return value;
      return this.redactText(digits, report, target, key);
    }
    if (Array.isArray(value)) {
      const out: Json[] = [];
      for (const item of value) out.push(await this.redactJson(item, report, target, key));
      return out;
    }
    if (value !== null && typeof value === 'object') {
      const out: Record<string, Json> = {};
      for (const [k, v] of Object.entries(value)) {
        const safeKey = await this.redactText(k, report, target);
        out[safeKey] = await this.redactJson(v, report, target, k);
      }
      return out;
    }
    return value;
  }

  /** Redacts the result of `method` (`tools/call`, `resources/read`, `prompts/get`); others pass through. */
  async redactResult(
    method: string,
    result: Json,
    target: string | undefined,
    report: RedactionReport,
  ): Promise<Json> {
    if (!isRecord(result)) return result;
    switch (method) {
      case 'tools/call':
        return this.#redactToolResult(result, target, report);
      case 'resources/read':
        return this.#redactResourceResult(result, target, report);
      case 'prompts/get':
        return this.#redactPromptResult(result, target, report);
      default:
        return result;
    }
  }

  /**
   * Redacts an error's message (and a `WireError`'s data) before it reaches the agent. A `WireError` is
   * rebuilt; other errors keep their type and get the redacted message. A blocked class in an error
   * replaces the whole message.
   */
  async redactError(err: unknown, target: string | undefined, report: RedactionReport): Promise<unknown> {
    if (!(err instanceof Error)) return err;
    const local = new RedactionReport();
    let message = await this.redactText(err.message, local, target);
    let data: Record<string, unknown> | undefined;
    if (err instanceof WireError && err.data)
      data = (await this.redactJson(err.data, local, target)) as Record<string, unknown>;
    for (const [cls, perAction] of local.counts)
      for (const [action, n] of perAction)
        for (let i = 0; i < n; i++) report.add(cls, action === 'block' ? 'mask' : action);
    if (local.blocked.size > 0) {
      message = `The error message was withheld: it contains data of class ${[...local.blocked].join(', ')}.`;
      data = undefined;
    }
    if (err instanceof WireError) return new WireError(err.rpcCode, err.airlockCode, message, data);
    err.message = message;
    return err;
  }

  async #redactToolResult(
    result: Record<string, Json>,
    target: string | undefined,
    report: RedactionReport,
  ): Promise<Json> {
    const out: Record<string, Json> = { ...result };
    if (Array.isArray(result.content)) out.content = await this.#redactBlocks(result.content, target, report);
    if (result.structuredContent !== undefined) {
      out.structuredContent = await this.redactJson(result.structuredContent, report, target);
    }
    return out;
  }

  async #redactResourceResult(
    result: Record<string, Json>,
    target: string | undefined,
    report: RedactionReport,
  ): Promise<Json> {
    if (!Array.isArray(result.contents)) return result;
    const contents: Json[] = [];
    for (const c of result.contents) contents.push(await this.#redactResourceContents(c, target, report));
    return { ...result, contents };
  }

  async #redactPromptResult(
    result: Record<string, Json>,
    target: string | undefined,
    report: RedactionReport,
  ): Promise<Json> {
    const out: Record<string, Json> = { ...result };
    if (typeof result.description === 'string')
      out.description = await this.redactText(result.description, report, target);
    if (Array.isArray(result.messages)) {
      const messages: Json[] = [];
      for (const m of result.messages) {
        if (isRecord(m) && m.content !== undefined) {
          const content = Array.isArray(m.content)
            ? await this.#redactBlocks(m.content, target, report)
            : (await this.#redactBlocks([m.content], target, report))[0];
          messages.push({ ...m, content });
        } else {
          messages.push(m);
        }
      }
      out.messages = messages;
    }
    return out;
  }

  async #redactBlocks(
    blocks: readonly Json[],
    target: string | undefined,
    report: RedactionReport,
  ): Promise<Json[]> {
    const out: Json[] = [];
    for (const block of blocks) {
      if (!isRecord(block)) {
        out.push(block);
        continue;
      }
      const copy: Record<string, Json> = { ...block };
      if (block.type === 'text' && typeof block.text === 'string') {
        copy.text = await this.redactText(block.text, report, target);
      } else if (block.type === 'resource' && block.resource !== undefined) {
        copy.resource = await this.#redactResourceContents(block.resource, target, report);
      } else if (block.type === 'resource_link') {
        for (const field of ['title', 'description'] as const) {
          const v = block[field];
          if (typeof v === 'string') copy[field] = await this.redactText(v, report, target);
        }
      }
      out.push(copy);
    }
    return out;
  }

  async #redactResourceContents(
    contents: Json,
    target: string | undefined,
    report: RedactionReport,
  ): Promise<Json> {
    if (!isRecord(contents) || typeof contents.text !== 'string') return contents;
    return { ...contents, text: await this.redactText(contents.text, report, target) };
  }

  async #replacement(span: PiiSpan, action: PiiAction): Promise<string> {
    const normalized = span.normalized ?? span.value;
    switch (action) {
      case 'allow':
        return span.value;
      case 'tokenize':
        return this.vault.tokenize(span.class, span.value, normalized);
      case 'hash':
        return this.vault.hash(span.class, normalized);
      case 'mask':
      case 'block':
        return maskValue(span.class, normalized);
    }
  }
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

function isRecord(value: unknown): value is Record<string, Json> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
