/**
 * The budget stage's upstream timeout: the next stages get a view of the request's context whose
 * `signal` also aborts after `upstreamTimeoutMs` (the upstream request is cancelled), and the caller
 * gets the refusal it names even if the upstream ignores the cancellation. The countdown pauses while a
 * person decides (`whileClockPaused`, an approval hold) and resumes with the time left.
 *
 * The view inherits from the context it wraps (its prototype), so everything reads through — `params`
 * writes through too, so rewrites reach outer stages — and so does what an outer stage attached to the
 * context (the audit stage's write-ahead intent). Only `signal` is its own: created when first read (a
 * request refused before the upstream pays nothing), linked to the agent's signal with one listener.
 *
 * @example
 * const result = await withUpstreamTimeout(ctx, next, 60_000, (ms) => new Error(`over ${ms} ms`));
 */
import { type GatewayContext, type Handler, UPSTREAM_CLOCK } from '../gateway-context.js';

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

/** The abort side of a timeout view's signal. */
class TimeoutSignal {
  readonly #agent: AbortSignal;
  #controller: AbortController | undefined;
  #onAgentAbort: (() => void) | undefined;
  #abortedWith: unknown;

  constructor(agent: AbortSignal) {
    this.#agent = agent;
  }

  get signal(): AbortSignal {
    if (!this.#controller) {
      const controller = new AbortController();
      this.#controller = controller;
      const agent = this.#agent;
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
    if (this.#onAgentAbort) this.#agent.removeEventListener('abort', this.#onAgentAbort);
    this.#onAgentAbort = undefined;
  }
}

/** `inner` as the next stages see it under the timeout (see the module comment). */
function timeoutView(inner: GatewayContext, clock: PausableCountdown, abort: TimeoutSignal): GatewayContext {
  return Object.create(inner, {
    params: {
      get: () => inner.params,
      set: (value: Record<string, unknown>) => {
        inner.params = value;
      },
      enumerable: true,
    },
    signal: { get: () => abort.signal, enumerable: true },
    [UPSTREAM_CLOCK]: { value: clock },
  }) as GatewayContext;
}

/**
 * Runs `next` with a view of `ctx` whose signal aborts after `timeoutMs`; rejects with `refusal(timeoutMs)`
 * when the time is up first.
 */
export async function withUpstreamTimeout(
  ctx: GatewayContext,
  next: Handler,
  timeoutMs: number,
  refusal: (timeoutMs: number) => Error,
): Promise<unknown> {
  const clock = new PausableCountdown();
  const abort = new TimeoutSignal(ctx.signal);
  const timedOut = new Promise<never>((_, reject) => {
    clock.start(timeoutMs, () => {
      abort.abort(new Error('upstream timeout'));
      reject(refusal(timeoutMs));
    });
  });
  const call = next(timeoutView(ctx, clock, abort));
  try {
    return await Promise.race([call, timedOut]);
  } finally {
    clock.stop();
    abort.release();
    call.catch(() => {}); // a late failure after the timeout answer is not unhandled
  }
}
