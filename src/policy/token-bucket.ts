/**
 * Per-key token buckets (one per identity): each key may spend up to `burst` tokens at once, refilled
 * at `perSecond`. The clock is injected (monotonic milliseconds) so tests step time instead of
 * sleeping. Rates can differ per call, so a policy reload that changes an identity's rate takes effect
 * on its next request (its current balance is capped at the new burst).
 *
 * Memory is bounded: a bucket that has refilled completely holds no information and is dropped when
 * the map grows past `maxKeys`; when every bucket is still draining, the least recently used one is
 * dropped (that key then starts again with a full bucket).
 *
 * @example
 * const buckets = new KeyedTokenBucket({ perSecond: 10, burst: 20 });
 * const r = buckets.take('claims-bot');
 * if (!r.allowed) refuse(`rate limited, retry in ${r.retryAfterMs} ms`);
 */

/** Keys tracked before idle buckets are evicted. */
export const DEFAULT_TOKEN_BUCKET_MAX_KEYS = 100_000;

export interface TokenBucketRate {
  /** Tokens added per second. */
  perSecond: number;
  /** Capacity: the most tokens a key can hold (and spend at once). */
  burst: number;
}

export interface KeyedTokenBucketOptions extends TokenBucketRate {
  /** Default `DEFAULT_TOKEN_BUCKET_MAX_KEYS` (100 000). */
  maxKeys?: number;
  /** Monotonic clock in milliseconds. Default `performance.now`. */
  now?: () => number;
}

export interface TakeResult {
  allowed: boolean;
  /** Whole tokens left after this take. */
  remaining: number;
  /** When refused: milliseconds until `cost` tokens are available (0 when allowed). */
  retryAfterMs: number;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
  /** The rate of the last take, used to judge whether an idle bucket has refilled. */
  rate: TokenBucketRate;
}

export class KeyedTokenBucket {
  readonly #rate: TokenBucketRate;
  readonly #maxKeys: number;
  readonly #now: () => number;
  /** Map order = least recently used first. */
  readonly #buckets = new Map<string, Bucket>();

  constructor(options: KeyedTokenBucketOptions) {
    checkRate(options);
    this.#rate = { perSecond: options.perSecond, burst: options.burst };
    this.#maxKeys = Math.max(1, Math.trunc(options.maxKeys ?? DEFAULT_TOKEN_BUCKET_MAX_KEYS));
    this.#now = options.now ?? (() => performance.now());
  }

  /** Keys currently tracked. */
  get size(): number {
    return this.#buckets.size;
  }

  /**
   * Takes `cost` tokens (default 1) from `key`'s bucket if it holds that many. `rate` overrides the
   * default rate for this key (e.g. `engine.limitsFor(identity).rate`).
   *
   * @example
   * buckets.take(identity.name, { rate: limits.rate })
   */
  take(key: string, opts: { cost?: number; rate?: TokenBucketRate } = {}): TakeResult {
    const rate = opts.rate ?? this.#rate;
    if (opts.rate) checkRate(rate);
    const cost = opts.cost ?? 1;
    if (!(cost > 0)) throw new RangeError('cost must be positive');
    const now = this.#now();
    const bucket = this.#buckets.get(key);
    let tokens: number;
    if (bucket) {
      const elapsedSec = Math.max(0, now - bucket.updatedAt) / 1000;
      tokens = Math.min(rate.burst, bucket.tokens + elapsedSec * rate.perSecond);
      this.#buckets.delete(key); // re-inserted below: most recently used
    } else {
      tokens = rate.burst;
    }
    const allowed = tokens >= cost;
    if (allowed) tokens -= cost;
    this.#buckets.set(key, { tokens, updatedAt: now, rate });
    if (this.#buckets.size > this.#maxKeys) this.#evict(now);
    return {
      allowed,
      remaining: Math.floor(tokens),
      retryAfterMs: allowed ? 0 : Math.ceil(((cost - tokens) / rate.perSecond) * 1000),
    };
  }

  /** Forgets `key` (its next take starts with a full bucket), or every key. */
  reset(key?: string): void {
    if (key === undefined) this.#buckets.clear();
    else this.#buckets.delete(key);
  }

  #evict(now: number): void {
    for (const [key, bucket] of this.#buckets) {
      if (this.#buckets.size <= this.#maxKeys) return;
      const refilled = bucket.tokens + (Math.max(0, now - bucket.updatedAt) / 1000) * bucket.rate.perSecond;
      if (refilled >= bucket.rate.burst) this.#buckets.delete(key);
    }
    while (this.#buckets.size > this.#maxKeys) {
      const oldest = this.#buckets.keys().next();
      if (oldest.done) return;
      this.#buckets.delete(oldest.value);
    }
  }
}

function checkRate(rate: TokenBucketRate): void {
  if (!(rate.perSecond > 0) || !Number.isFinite(rate.perSecond))
    throw new RangeError('perSecond must be > 0');
  if (!(rate.burst >= 1) || !Number.isFinite(rate.burst)) throw new RangeError('burst must be >= 1');
}
