/**
 * The redaction boundary: every message the connector sends towards an agent passes
 * {@link PiiBoundary.toAgent} — results of every method, JSON-RPC errors (`message` and `data`),
 * notifications (logging, progress, resource updates, list changes, listen-stream events) and
 * server→client requests (sampling, elicitation, roots; on 2026-07-28 they ride inside `input_required`
 * results, which are results like any other). The MCP endpoint installs it on the transport of every
 * agent-facing SDK server and on the listen streams (src/mcp/agent-outbound-guard.ts), so a new
 * message kind cannot go around it.
 *
 * One walk per message (pii-redactor.ts): the request's taint first, then the detectors; every string
 * and key is scanned, whatever the field. The PII stage redacts a request's result with
 * {@link PiiBoundary.redactResult} inside the pipeline (so the audit entry and a `block` refusal see it)
 * and marks it (on the result, and on the request's taint: the SDK may copy a result before it is
 * sent); the transport then lets that result through without a second scan.
 *
 * Routes: {@link OUTBOUND_ROUTES} names every method of the MCP schema the boundary knows; a method it
 * does not know is redacted the same way (deep), so unknown means scanned, never skipped.
 *
 * @example
 * const boundary = new PiiBoundary({ vault, policy: () => compilePiiPolicy(current().pii) });
 * const safe = await boundary.toAgent(message, { answers: 'tools/call', taint, sessionId });
 */
import type { CountryCode } from 'libphonenumber-js/max';
import { JSONRPC_INTERNAL_ERROR } from '../errors/wire-error.js';
import { blockedResultError } from './pii-errors.js';
import { CompiledPiiPolicy, compilePiiPolicy, type PiiPolicy } from './pii-policy.js';
import { PiiRedactor, type RedactionPass, RedactionReport } from './pii-redactor.js';
import { PiiScanner } from './pii-scanner.js';
import type { PiiVault } from './pii-vault.js';
import type { RequestTaint } from './request-taint.js';
import { tokenScopeOf } from './token-scope.js';

/** How one method's payload is redacted: deep, except `identifiers` (fields of list items kept as is). */
export interface OutboundRoute {
  /** Keys of list items (`result.<list>[i].<key>`) that are protocol identifiers, e.g. tool names. */
  identifiers?: readonly string[];
}

/**
 * Every MCP method whose messages go towards an agent, by kind. Results are keyed by the request
 * method they answer. Tool and prompt names in lists stay as they are: agents call them by name, tool
 * definitions are pinned and reviewed (catalog stage), and a token there would make them uncallable.
 */
export const OUTBOUND_ROUTES = {
  result: {
    initialize: {},
    ping: {},
    'server/discover': {},
    'completion/complete': {},
    'logging/setLevel': {},
    'prompts/get': {},
    'prompts/list': { identifiers: ['name'] },
    'resources/list': {},
    'resources/templates/list': {},
    'resources/read': {},
    'resources/subscribe': {},
    'resources/unsubscribe': {},
    'subscriptions/listen': {},
    'tools/call': {},
    'tools/list': { identifiers: ['name'] },
    // The 2025-11-25 tasks utility (src/mcp/task-routes.ts): a task's payload is the tool's result.
    'tasks/get': {},
    'tasks/result': {},
    'tasks/list': {},
    'tasks/cancel': {},
  },
  request: {
    ping: {},
    'sampling/createMessage': {},
    'elicitation/create': {},
    'roots/list': {},
  },
  notification: {
    'notifications/cancelled': {},
    'notifications/progress': {},
    'notifications/message': {},
    'notifications/resources/updated': {},
    'notifications/resources/list_changed': {},
    'notifications/tools/list_changed': {},
    'notifications/prompts/list_changed': {},
    'notifications/subscriptions/acknowledged': {},
    'notifications/elicitation/complete': {},
  },
} as const satisfies Record<'result' | 'request' | 'notification', Record<string, OutboundRoute>>;

export type OutboundKind = keyof typeof OUTBOUND_ROUTES;

/** The route for `method` of `kind`; undefined when the boundary does not name it (then: redacted deep). */
export function outboundRoute(kind: OutboundKind, method: string | undefined): OutboundRoute | undefined {
  if (method === undefined) return undefined;
  const routes: Record<string, OutboundRoute> = OUTBOUND_ROUTES[kind];
  return Object.hasOwn(routes, method) ? routes[method] : undefined;
}

/** What the boundary needs to know about a message besides the message itself. */
export interface OutboundContext {
  /** For a response: the method of the request it answers. */
  answers?: string | undefined;
  /** Tool/prompt name or resource URI of the request the message belongs to (policy overrides). */
  target?: string | undefined;
  /** Values de-tokenized for that request. */
  taint?: RequestTaint | undefined;
  /** 2025-11-25 session of the agent (session token scope). */
  sessionId?: string | undefined;
  /** Agent identity name (session token scope of stateless requests). */
  identity?: string | undefined;
}

/** A JSON-RPC message as the SDK transports carry it. */
export type OutboundMessage = Record<string, unknown>;

const REDACTED = Symbol.for('airlock.pii.redacted');

/** Marks a result the PII stage redacted already (survives the SDK's `{ ...result }` copies). */
export function markRedacted<T>(result: T): T {
  if (result !== null && typeof result === 'object') {
    Object.defineProperty(result, REDACTED, { value: true, enumerable: true });
  }
  return result;
}

function isMarked(result: unknown): boolean {
  return result !== null && typeof result === 'object' && REDACTED in result;
}

/** Redacted catalog lists (tools, prompts, resources, templates) kept per policy, by scope and content. */
export const DEFAULT_LIST_CACHE_ENTRIES = 32;
type ListCache = Map<string, { value: unknown; report: RedactionReport }>;

/** The catalog's list keys, by the method that returns them. */
const LIST_KEYS: Readonly<Record<string, string>> = {
  'tools/list': 'tools',
  'prompts/list': 'prompts',
  'resources/list': 'resources',
  'resources/templates/list': 'resourceTemplates',
};

/** The list of a `{ <key>: [...] }` list result that carries nothing else and no taint applies to. */
function catalogList(
  method: string,
  result: unknown,
  pass: RedactionPass,
): { key: string; items: unknown[] } | undefined {
  const key = LIST_KEYS[method];
  if (!key || (pass.taint?.size ?? 0) > 0 || result === null || typeof result !== 'object') return undefined;
  const record = result as Record<string, unknown>;
  const items = record[key];
  if (!Array.isArray(items) || Object.keys(record).length !== 1) return undefined;
  return { key, items };
}

export interface PiiBoundaryOptions {
  vault: PiiVault;
  /** The `pii:` policy, compiled or not, or a function returning the one in force (hot reload). */
  policy?: PiiPolicy | CompiledPiiPolicy | (() => PiiPolicy | CompiledPiiPolicy | undefined);
  /** Scanner to use (default: built from the policy's patterns, phone regions and disabled detectors). */
  scanner?: PiiScanner;
}

export class PiiBoundary {
  readonly vault: PiiVault;
  readonly #policy: () => PiiPolicy | CompiledPiiPolicy | undefined;
  readonly #scanner: PiiScanner | undefined;
  #cached: { source: unknown; redactor: PiiRedactor; lists: ListCache } | undefined;

  constructor(options: PiiBoundaryOptions) {
    this.vault = options.vault;
    const policy = options.policy;
    this.#policy = typeof policy === 'function' ? policy : () => policy;
    this.#scanner = options.scanner;
  }

  /** The redactor of the policy in force (rebuilt, scanner included, only when the policy changes). */
  get redactor(): PiiRedactor {
    const source = this.#policy();
    if (this.#cached?.source !== source || !this.#cached) {
      const policy = source instanceof CompiledPiiPolicy ? source : compilePiiPolicy(source ?? {});
      const scanner =
        this.#scanner ??
        new PiiScanner({
          patterns: policy.patterns,
          phoneRegions: policy.source.phoneRegions as CountryCode[] | undefined,
          disable: policy.source.disable,
        });
      const redactor = new PiiRedactor({ scanner, vault: this.vault, policy });
      this.#cached = { source, redactor, lists: new Map() };
    }
    return this.#cached.redactor;
  }

  /** The policy in force. */
  get policy(): CompiledPiiPolicy {
    return this.redactor.policy;
  }

  /** The vault scope for a message of this session / identity (undefined: tenant-wide tokens). */
  scopeFor(source: { sessionId?: string | undefined; identity?: string | undefined }): string | undefined {
    return tokenScopeOf(this.policy.tokenScope, source);
  }

  /**
   * Redacts the result of `method` (any method) and marks it redacted. `pass.report.blocked` tells the
   * caller to refuse it.
   */
  async redactResult(method: string, result: unknown, pass: RedactionPass): Promise<unknown> {
    const route = outboundRoute('result', method);
    const identifiers = route?.identifiers ? new Set(route.identifiers) : undefined;
    const redactor = this.redactor;
    const list = catalogList(method, result, pass);
    const lists = this.#cached?.lists;
    if (list && lists) {
      // Lists change rarely and are asked for often: redact each distinct list once per scope and target.
      const key = `${pass.scope ?? ''}\u0000${pass.target ?? ''}\u0000${JSON.stringify(list.items)}`;
      let done = lists.get(key);
      if (!done) {
        const report = new RedactionReport();
        const wrapped = { [list.key]: list.items };
        const safe = await redactor.redactPayload(wrapped, { ...pass, report, identifiers });
        done = { value: (safe as Record<string, unknown>)[list.key], report };
        lists.set(key, done);
        const oldest = lists.size > DEFAULT_LIST_CACHE_ENTRIES ? lists.keys().next().value : undefined;
        if (oldest !== undefined) lists.delete(oldest);
      }
      for (const [cls, perAction] of done.report.counts)
        for (const [action, n] of perAction) for (let i = 0; i < n; i++) pass.report.add(cls, action);
      return markRedacted({ [list.key]: done.value });
    }
    const safe = await redactor.redactPayload(result, { ...pass, identifiers });
    return markRedacted(safe);
  }

  /** Redacts an error (message and data) for the agent. */
  redactError(err: unknown, pass: RedactionPass): Promise<unknown> {
    return this.redactor.redactError(err, pass);
  }

  /**
   * THE boundary: the redacted form of one JSON-RPC message towards an agent, or undefined when it must
   * be dropped (a notification carrying a class whose action is `block`). A result carrying such a class
   * becomes the `AIRLOCK_PII_BLOCKED` error; a server→client request gets masks instead.
   */
  async toAgent(
    message: OutboundMessage,
    context: OutboundContext = {},
  ): Promise<OutboundMessage | undefined> {
    const pass: RedactionPass = {
      report: new RedactionReport(),
      target: context.target,
      taint: context.taint,
      scope: this.scopeFor(context),
    };
    if ('result' in message) {
      if (isMarked(message.result) || context.taint?.resultRedacted) return message;
      const result = await this.redactResult(context.answers ?? '', message.result, pass);
      if (pass.report.blocked.size === 0) return { ...message, result };
      const refusal = blockedResultError([...pass.report.blocked].sort());
      return { jsonrpc: message.jsonrpc, id: message.id, error: refusal.toJSON() };
    }
    if ('error' in message) {
      const error = message.error as { code?: unknown; message?: unknown; data?: unknown } | undefined;
      if (!error || typeof error !== 'object') return message;
      const local = Object.assign(new Error(String(error.message ?? '')), { data: error.data });
      const safe = (await this.redactor.redactError(local, pass)) as Error & { data?: unknown };
      const out: Record<string, unknown> = {
        code: error.code ?? JSONRPC_INTERNAL_ERROR,
        message: safe.message,
      };
      if (safe.data !== undefined) out.data = safe.data;
      return { ...message, error: out };
    }
    if (typeof message.method !== 'string' || message.params === undefined) return message;
    const isRequest = 'id' in message;
    const params = await this.redactor.redactPayload(message.params, pass);
    if (!isRequest && pass.report.blocked.size > 0) return undefined;
    return { ...message, params };
  }
}
