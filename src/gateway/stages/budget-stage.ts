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

import { WireError } from '../../errors/wire-error.js';
import { KeyedTokenBucket } from '../../policy/token-bucket.js';
import { recordDecision } from '../decision-channel.js';
import { type GatewayContext, type Stage, UPSTREAM_CLOCK } from '../gateway-context.js';
import { type PolicySource, requestedName, requireIdentity } from '../policy-source.js';
import { identityKey, policySubject } from '../policy-subject.js';
import { JSONRPC_LIMIT_EXCEEDED } from '../refusal-codes.js';

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

/**
 * See the module comment.
 *
 * @example
 * compose([authenticate({ identities }), budget({ policy: () => engine }), ...], terminal);
 */
export function budget(options: BudgetOptions): Stage {
  const now = options.now ?? (() => performance.now());
  const windowMs = options.turnWindowMs ?? DEFAULT_TURN_WINDOW_MS;
  const maxKeys = Math.max(1, Math.trunc(options.maxTrackedKeys ?? DEFAULT_BUDGET_MAX_KEYS));
  const buckets = new KeyedTokenBucket({ perSecond: 10, burst: 20, now, maxKeys });
  const turns = new Map<string, TurnCounter>();
  const running = new Map<string, number>();

  return (next) => async (ctx) => {
    const identity = requireIdentity(ctx, BUDGET_STAGE);
    const limits = options.policy().limitsFor(policySubject(identity));
    const who = identityKey(identity);

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

    let release: (() => void) | undefined;
    if (ctx.method === 'tools/call') {
      const turnKey =
        ctx.era === 'legacy' && ctx.sessionId !== undefined ? `session:${ctx.sessionId}` : `identity:${who}`;
      const t = now();
      let counter = turns.get(turnKey);
      if (counter) turns.delete(turnKey);
      if (!counter || (!turnKey.startsWith('session:') && t - counter.windowStart >= windowMs)) {
        counter = { used: 0, windowStart: t };
      }
      turns.set(turnKey, counter);
      while (turns.size > maxKeys) {
        const oldest = turns.keys().next();
        if (oldest.done) break;
        turns.delete(oldest.value);
      }
      if (counter.used >= limits.turnBudget) {
        const scope = turnKey.startsWith('session:')
          ? 'this session'
          : `identity '${identity.name}' in the current ${Math.round(windowMs / 60_000)}-minute window`;
        throw refuse(
          ctx,
          'AIRLOCK_LIMIT_TURNS',
          'turnBudget',
          limits.turnBudget,
          `Turn budget exhausted: ${scope} already made ${counter.used} tool calls (turnBudget = ${limits.turnBudget})`,
          { scope: turnKey.startsWith('session:') ? 'session' : 'identity-window' },
        );
      }
      counter.used++;

      const tool = requestedName(ctx);
      const runKey = `${who}\0${tool}`;
      const inFlight = running.get(runKey) ?? 0;
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
      running.set(runKey, inFlight + 1);
      release = () => {
        const left = (running.get(runKey) ?? 1) - 1;
        if (left <= 0) running.delete(runKey);
        else running.set(runKey, left);
      };
    }

    try {
      const result = FORWARDED.has(ctx.method)
        ? await withTimeout(ctx, next, limits.upstreamTimeoutMs)
        : await next(ctx);
      const responseBytes = jsonBytes(result);
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
    } finally {
      release?.();
    }
  };
}

async function withTimeout(
  ctx: GatewayContext,
  next: (ctx: GatewayContext) => Promise<unknown>,
  timeoutMs: number,
): Promise<unknown> {
  const derived = new TimeoutContext(ctx);
  const timedOut = new Promise<never>((_, reject) => {
    derived.clock.start(timeoutMs, () => {
      derived.abort(new Error('upstream timeout'));
      reject(
        refuse(
          ctx,
          'AIRLOCK_LIMIT_TIMEOUT',
          'upstreamTimeoutMs',
          timeoutMs,
          `Upstream timeout: ${describe(ctx)} took longer than upstreamTimeoutMs = ${timeoutMs} ms and was cancelled`,
        ),
      );
    });
  });
  const call = next(derived);
  try {
    return await Promise.race([call, timedOut]);
  } finally {
    derived.clock.stop();
    derived.release();
    call.catch(() => {}); // a late failure after the timeout answer is not unhandled
  }
}

/** A countdown that can be paused (while a person decides) and resumed with the time left. */
class PausableCountdown {
  #handle: NodeJS.Timeout | undefined;
  #leftMs = 0;
  #startedAt = 0;
  #onExpiry: (() => void) | undefined;
  #paused = 0;

  start(ms: number, onExpiry: () => void): void {
    this.#leftMs = ms;
    this.#onExpiry = onExpiry;
    this.#arm();
  }

  pause(): void {
    if (this.#paused++ > 0 || !this.#handle) return;
    clearTimeout(this.#handle);
    this.#handle = undefined;
    this.#leftMs -= performance.now() - this.#startedAt;
  }

  resume(): void {
    if (this.#paused === 0 || --this.#paused > 0 || !this.#onExpiry) return;
    this.#arm();
  }

  stop(): void {
    clearTimeout(this.#handle);
    this.#handle = undefined;
    this.#onExpiry = undefined;
  }

  #arm(): void {
    const onExpiry = this.#onExpiry;
    if (!onExpiry) return;
    this.#startedAt = performance.now();
    this.#handle = setTimeout(onExpiry, Math.max(0, this.#leftMs));
    this.#handle.unref();
  }
}

/**
 * `ctx` as the next stages see it under an upstream timeout: everything is the original context's
 * (`params` included, so rewrites reach outer stages), except `signal`, which also aborts on timeout.
 * The signal is created when first read (a request refused before the upstream pays nothing) and is
 * linked to the agent's signal with one listener (cheaper than `AbortSignal.any` on every call).
 */
class TimeoutContext implements GatewayContext {
  readonly #inner: GatewayContext;
  /** The upstream-timeout countdown; `whileClockPaused` stops it during an approval hold. */
  readonly clock = new PausableCountdown();
  readonly [UPSTREAM_CLOCK] = this.clock;
  #controller: AbortController | undefined;
  #onAgentAbort: (() => void) | undefined;
  #abortedWith: unknown;

  constructor(inner: GatewayContext) {
    this.#inner = inner;
  }

  get identity() {
    return this.#inner.identity;
  }
  get endUser() {
    return this.#inner.endUser;
  }
  get era() {
    return this.#inner.era;
  }
  get sessionId() {
    return this.#inner.sessionId;
  }
  get method() {
    return this.#inner.method;
  }
  get params() {
    return this.#inner.params;
  }
  set params(value: Record<string, unknown>) {
    this.#inner.params = value;
  }
  get requestId() {
    return this.#inner.requestId;
  }
  get progressToken() {
    return this.#inner.progressToken;
  }
  get sendProgress() {
    return this.#inner.sendProgress;
  }
  get decisions() {
    return this.#inner.decisions;
  }
  get startedAt() {
    return this.#inner.startedAt;
  }

  get signal(): AbortSignal {
    if (!this.#controller) {
      const controller = new AbortController();
      this.#controller = controller;
      const agent = this.#inner.signal;
      if (this.#abortedWith !== undefined) controller.abort(this.#abortedWith);
      else if (agent.aborted) controller.abort(agent.reason);
      else {
        this.#onAgentAbort = () => controller.abort(agent.reason);
        agent.addEventListener('abort', this.#onAgentAbort, { once: true });
      }
    }
    return this.#controller.signal;
  }

  /** Aborts the signal (now, or as soon as it is created). */
  abort(reason: unknown): void {
    this.#abortedWith = reason;
    this.#controller?.abort(reason);
  }

  /** Unlinks from the agent's signal. */
  release(): void {
    if (this.#onAgentAbort) this.#inner.signal.removeEventListener('abort', this.#onAgentAbort);
    this.#onAgentAbort = undefined;
  }
}

function refuse(
  ctx: GatewayContext,
  code: string,
  limit: string,
  value: number,
  message: string,
  extra: Record<string, unknown> = {},
): WireError {
  recordDecision(ctx, {
    stage: BUDGET_STAGE,
    outcome: 'deny',
    code,
    reason: message,
    detail: { limit, value },
  });
  return new WireError(JSONRPC_LIMIT_EXCEEDED, code, message, { limit, value, ...extra });
}

function describe(ctx: GatewayContext): string {
  const name = requestedName(ctx);
  return ctx.method === 'tools/call' && name ? `tool '${name}'` : ctx.method;
}

function jsonBytes(value: unknown): number {
  const text = JSON.stringify(value);
  return text === undefined ? 0 : Buffer.byteLength(text, 'utf8');
}
