/**
 * Exponential backoff with jitter (AWS architecture blog, "Exponential Backoff And Jitter"): the n-th
 * retry waits a uniformly random time in [0, d) with d = min(maxMs, initialMs * factor^n) ("full"
 * jitter, tunnels, ACME, change feed), or in [d/2, d] ("equal" jitter, upstream restarts: never
 * hammers a crashing child). A connection that stayed up for `resetAfterMs` starts again from the
 * smallest delay.
 *
 * Clock and randomness are injectable so tests are exact and instant.
 */

/** First retry waits up to 250 ms. */
export const DEFAULT_BACKOFF_INITIAL_MS = 250;
/** No retry waits more than 10 s. */
export const DEFAULT_BACKOFF_MAX_MS = 10_000;
/** Each failure doubles the ceiling. */
export const DEFAULT_BACKOFF_FACTOR = 2;
/** A connection that lasted 10 s counts as healthy: the next failure starts from the beginning. */
export const DEFAULT_BACKOFF_RESET_AFTER_MS = 10_000;

import { type Clock, systemClock } from './clock.js';

export { type Clock, systemClock } from './clock.js';

export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  factor?: number;
  resetAfterMs?: number;
  /** `full` (default): a delay in [0, d). `equal`: half fixed, half random, a delay in [d/2, d]. */
  jitter?: 'full' | 'equal';
  /** Uniform random in [0, 1); default Math.random. */
  random?: () => number;
  clock?: Pick<Clock, 'now'>;
}

/**
 * @example
 * const backoff = new Backoff({ initialMs: 250, maxMs: 10_000 });
 * for (;;) {
 *   try { await connect(); backoff.connected(); await closed; } catch {}
 *   await sleep(backoff.nextDelay());
 * }
 */
export class Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly factor: number;
  readonly resetAfterMs: number;
  readonly jitter: 'full' | 'equal';
  private readonly random: () => number;
  private readonly clock: Pick<Clock, 'now'>;
  private attempt = 0;
  private connectedAt: number | undefined;

  constructor(options: BackoffOptions = {}) {
    this.initialMs = options.initialMs ?? DEFAULT_BACKOFF_INITIAL_MS;
    this.maxMs = options.maxMs ?? DEFAULT_BACKOFF_MAX_MS;
    this.factor = options.factor ?? DEFAULT_BACKOFF_FACTOR;
    this.resetAfterMs = options.resetAfterMs ?? DEFAULT_BACKOFF_RESET_AFTER_MS;
    this.jitter = options.jitter ?? 'full';
    this.random = options.random ?? Math.random;
    this.clock = options.clock ?? systemClock;
    if (!(this.initialMs > 0) || !(this.maxMs >= this.initialMs) || !(this.factor >= 1)) {
      throw new RangeError('backoff needs initialMs > 0, maxMs >= initialMs and factor >= 1');
    }
  }

  /** Number of consecutive failures so far. */
  get attempts(): number {
    return this.attempt;
  }

  /** The current ceiling: min(maxMs, initialMs * factor^attempts). */
  get ceilingMs(): number {
    return Math.min(this.maxMs, this.initialMs * this.factor ** this.attempt);
  }

  /** Records that a connection came up now (see `resetAfterMs`). */
  connected(): void {
    this.connectedAt = this.clock.now();
  }

  /** The delay before the next attempt; counts one more failure. */
  nextDelay(): number {
    if (this.connectedAt !== undefined && this.clock.now() - this.connectedAt >= this.resetAfterMs)
      this.reset();
    this.connectedAt = undefined;
    const ceiling = this.ceilingMs;
    this.attempt = Math.min(this.attempt + 1, 64);
    if (this.jitter === 'equal') return Math.round(ceiling / 2 + this.random() * (ceiling / 2));
    return Math.floor(this.random() * ceiling);
  }

  /** Starts over from the smallest delay. */
  reset(): void {
    this.attempt = 0;
    this.connectedAt = undefined;
  }
}
