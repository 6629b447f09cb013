/**
 * Stage 2 of the gateway: budgets and limits, from the policy's `limits` (policy-wide, overridden per
 * identity entry; see src/policy/policy-schema.ts for the defaults). Every refusal is -32004 with
 * `data.airlock` naming the limit, `data.limit` its policy name and `data.value` its value:
 *
 * | check | applies to | `data.airlock` | `data.limit` | secure default |
 * |---|---|---|---|---|
 * | request size (JSON bytes of `params`) | every request | `AIRLOCK_LIMIT_REQUEST_SIZE` | `maxRequestBytes` | 1 MiB |
 * | token bucket per identity | every request | `AIRLOCK_LIMIT_RATE` (+ `data.retryAfterMs`) | `rate` | 10/s, burst 20 |
 * | turn budget | `tools/call` | `AIRLOCK_LIMIT_TURNS` | `turnBudget` | 200 |
 * | concurrency per tool per identity | `tools/call` | `AIRLOCK_LIMIT_CONCURRENCY` | `concurrencyPerTool` | 4 |
 * | upstream timeout | calls forwarded upstream | `AIRLOCK_LIMIT_TIMEOUT` | `upstreamTimeoutMs` | 60 s |
 * | response size (JSON bytes of the result) | every request | `AIRLOCK_LIMIT_RESPONSE_SIZE` | `maxResponseBytes` | 4 MiB |
 *
 * Turn budget scope: a legacy (2025-11-25) session's calls are counted per `Mcp-Session-Id` for the
 * session's life; modern (2026-07-28) requests are stateless, so they are counted per identity in a
 * fixed window of `turnWindowMs` (default {@link DEFAULT_TURN_WINDOW_MS}, one hour). Every `tools/call`
 * that reaches this stage counts, including ones later refused by another stage.
 *
 * The upstream timeout is applied by handing the next stages a context whose `signal` also aborts after
 * `upstreamTimeoutMs` (the upstream request is cancelled), and the agent gets the named refusal even if
 * the upstream ignores the cancellation.
 *
 * Memory is bounded: turn counters beyond `maxTrackedKeys` (default {@link DEFAULT_BUDGET_MAX_KEYS}) are
 * evicted least recently used first.
 *
 * @example
 * const stage = budget({ policy: () => watcher.engine });
 */

import type { WireError } from '../../errors/wire-error.js';
import { jsonBytes } from '../../json/json-bytes.js';
import type { ResolvedLimits } from '../../policy/policy-schema.js';
import { KeyedTokenBucket } from '../../policy/token-bucket.js';
import type { GatewayContext, GatewayIdentity, Handler, Stage } from '../gateway-context.js';
import { measureResult } from '../json-measure.js';
import { type PolicySource, requestedName, requireIdentity } from '../policy-source.js';
import { identityKey, policySubject } from '../policy-subject.js';
import { JSONRPC_LIMIT_EXCEEDED } from '../refusal-codes.js';
import { refuseAt } from '../stage-refusal.js';
import { withUpstreamTimeout } from './upstream-timeout.js';

/** Stage name in decisions. */
export const BUDGET_STAGE = 'budget';
/** Window of the per-identity turn budget for modern (stateless) requests: one hour. */
export const DEFAULT_TURN_WINDOW_MS = 60 * 60 * 1000;
/** Turn counters (sessions / identities) tracked before the least recently used are evicted. */
export const DEFAULT_BUDGET_MAX_KEYS = 100_000;

/** Methods that are forwarded to an upstream (and so get the upstream timeout). */
const FORWARDED = new Set(['tools/call', 'prompts/get', 'resources/read', 'completion/complete']);

export interface BudgetOptions {
  /** The policy in force (limits), read per request. Usually `() => watcher.engine`. */
  policy: PolicySource;
  /** Default {@link DEFAULT_TURN_WINDOW_MS}. */
  turnWindowMs?: number;
  /** Default {@link DEFAULT_BUDGET_MAX_KEYS}. */
  maxTrackedKeys?: number;
  /** Monotonic clock in ms (token buckets, turn windows). Default `performance.now`. */
  now?: () => number;
}

interface TurnCounter {
  used: number;
  windowStart: number;
}

type Limits = ResolvedLimits;

/**
 * Turn budgets: a legacy session's `tools/call`s for the session's life, an identity's stateless calls
 * per window; least recently used counters evicted beyond `maxKeys`.
 */
class TurnBudgets {
  readonly #turns = new Map<string, TurnCounter>();
  readonly #now: () => number;
  readonly #windowMs: number;
  readonly #maxKeys: number;

  constructor(now: () => number, windowMs: number, maxKeys: number) {
    this.#now = now;
    this.#windowMs = windowMs;
    this.#maxKeys = maxKeys;
  }

  /** Counts one turn, or throws `AIRLOCK_LIMIT_TURNS` when the budget is spent. */
  count(ctx: GatewayContext, who: string, identity: GatewayIdentity, limits: Limits): void {
    const session = ctx.era === 'legacy' && ctx.sessionId !== undefined;
    const turnKey = session ? `session:${ctx.sessionId}` : `identity:${who}`;
    const t = this.#now();
    let counter = this.#turns.get(turnKey);
    if (counter) this.#turns.delete(turnKey);
    if (!counter || (!session && t - counter.windowStart >= this.#windowMs)) {
      counter = { used: 0, windowStart: t };
    }
    this.#turns.set(turnKey, counter);
    while (this.#turns.size > this.#maxKeys) {
      const oldest = this.#turns.keys().next();
      if (oldest.done) break;
      this.#turns.delete(oldest.value);
    }
    if (counter.used >= limits.turnBudget) {
      const scope = session
        ? 'this session'
        : `identity '${identity.name}' in the current ${Math.round(this.#windowMs / 60_000)}-minute window`;
      throw refuse(
        ctx,
        'AIRLOCK_LIMIT_TURNS',
        'turnBudget',
        limits.turnBudget,
        `Turn budget exhausted: ${scope} already made ${counter.used} tool calls (turnBudget = ${limits.turnBudget})`,
        { scope: session ? 'session' : 'identity-window' },
      );
    }
    counter.used++;
  }
}

/** Calls running per identity and tool; `admit` refuses beyond `concurrencyPerTool`. */
class ToolConcurrency {
  readonly #running = new Map<string, number>();

  /** Admits one call (returns its release) or throws `AIRLOCK_LIMIT_CONCURRENCY`. */
  admit(ctx: GatewayContext, who: string, identity: GatewayIdentity, limits: Limits): () => void {
    const tool = requestedName(ctx);
    const runKey = `${who}\0${tool}`;
    const inFlight = this.#running.get(runKey) ?? 0;
    if (inFlight >= limits.concurrencyPerTool) {
      throw refuse(
        ctx,
        'AIRLOCK_LIMIT_CONCURRENCY',
        'concurrencyPerTool',
        limits.concurrencyPerTool,
        `Too many concurrent calls of tool '${tool}': ${inFlight} already running for identity '${identity.name}' (concurrencyPerTool = ${limits.concurrencyPerTool}); wait for one to finish`,
        { tool },
      );
    }
    this.#running.set(runKey, inFlight + 1);
    return () => {
      const left = (this.#running.get(runKey) ?? 1) - 1;
      if (left <= 0) this.#running.delete(runKey);
      else this.#running.set(runKey, left);
    };
  }
}

/** Refuses a request whose params are over `maxRequestBytes`, or one over the identity's rate. */
function admitRequest(
  ctx: GatewayContext,
  buckets: KeyedTokenBucket,
  who: string,
  identity: GatewayIdentity,
  limits: Limits,
): void {
  const requestBytes = jsonBytes(ctx.params);
  if (requestBytes > limits.maxRequestBytes) {
    throw refuse(
      ctx,
      'AIRLOCK_LIMIT_REQUEST_SIZE',
      'maxRequestBytes',
      limits.maxRequestBytes,
      `Request too large: ${requestBytes} bytes of parameters exceed the limit maxRequestBytes = ${limits.maxRequestBytes}`,
    );
  }
  const take = buckets.take(who, { rate: limits.rate });
  if (!take.allowed) {
    throw refuse(
      ctx,
      'AIRLOCK_LIMIT_RATE',
      'rate',
      limits.rate.perSecond,
      `Rate limit exceeded for identity '${identity.name}': at most ${limits.rate.perSecond} requests per second (burst ${limits.rate.burst}); retry in ${take.retryAfterMs} ms`,
      { burst: limits.rate.burst, retryAfterMs: take.retryAfterMs },
    );
  }
}

/** Runs `next` (under the upstream timeout when forwarded) and refuses a result over `maxResponseBytes`. */
async function answer(ctx: GatewayContext, next: Handler, limits: Limits): Promise<unknown> {
  const result = FORWARDED.has(ctx.method)
    ? await withUpstreamTimeout(ctx, next, limits.upstreamTimeoutMs, (timeoutMs) =>
        refuse(
          ctx,
          'AIRLOCK_LIMIT_TIMEOUT',
          'upstreamTimeoutMs',
          timeoutMs,
          `Upstream timeout: ${describe(ctx)} took longer than upstreamTimeoutMs = ${timeoutMs} ms and was cancelled`,
        ),
      )
    : await next(ctx);
  // Measured once: the audit stage reads the same measure (size and canonical hash).
  const responseBytes = measureResult(ctx, result).bytes;
  if (responseBytes > limits.maxResponseBytes) {
    throw refuse(
      ctx,
      'AIRLOCK_LIMIT_RESPONSE_SIZE',
      'maxResponseBytes',
      limits.maxResponseBytes,
      `Response too large: the result of ${describe(ctx)} is ${responseBytes} bytes, over the limit maxResponseBytes = ${limits.maxResponseBytes}`,
    );
  }
  return result;
}

/**
 * See the module comment.
 *
 * @example
 * compose([authenticate({ identities }), budget({ policy: () => engine }), ...], terminal);
 */
export function budget(options: BudgetOptions): Stage {
  const now = options.now ?? (() => performance.now());
  const maxKeys = Math.max(1, Math.trunc(options.maxTrackedKeys ?? DEFAULT_BUDGET_MAX_KEYS));
  const buckets = new KeyedTokenBucket({ perSecond: 10, burst: 20, now, maxKeys });
  const turns = new TurnBudgets(now, options.turnWindowMs ?? DEFAULT_TURN_WINDOW_MS, maxKeys);
  const concurrency = new ToolConcurrency();

  return (next) => async (ctx) => {
    const identity = requireIdentity(ctx, BUDGET_STAGE);
    const limits = options.policy().limitsFor(policySubject(identity));
    const who = identityKey(identity);
    admitRequest(ctx, buckets, who, identity, limits);
    let release: (() => void) | undefined;
    if (ctx.method === 'tools/call') {
      turns.count(ctx, who, identity, limits);
      release = concurrency.admit(ctx, who, identity, limits);
    }
    try {
      return await answer(ctx, next, limits);
    } finally {
      release?.();
    }
  };
}

function refuse(
  ctx: GatewayContext,
  code: string,
  limit: string,
  value: number,
  message: string,
  extra: Record<string, unknown> = {},
): WireError {
  return refuseAt(ctx, BUDGET_STAGE, {
    rpcCode: JSONRPC_LIMIT_EXCEEDED,
    code,
    message,
    data: { limit, value, ...extra },
    detail: { limit, value },
  });
}

function describe(ctx: GatewayContext): string {
  const name = requestedName(ctx);
  return ctx.method === 'tools/call' && name ? `tool '${name}'` : ctx.method;
}
