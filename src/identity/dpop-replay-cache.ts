/**
 * Remembers DPoP proof ids (`jti`) until the proof could no longer be accepted anyway, so each proof
 * is usable exactly once (RFC 9449 §11.1). `ReplayCache` is the seam: `MemoryReplayCache` serves one
 * connector process; a shared implementation (Redis `SET key NX PX ttl`) can serve several nodes.
 *
 * @example
 * const cache = new MemoryReplayCache({ maxEntries: 50_000 });
 * await cache.checkAndRecord('jkt:jti', Date.now() + 65_000); // true: first use
 * await cache.checkAndRecord('jkt:jti', Date.now() + 65_000); // false: a replay
 */
import { TOKEN_ERROR_CODES, TokenError } from './jwt-token-error.js';

export interface ReplayCache {
  /**
   * Records `key` until `expiresAt` (epoch ms). Resolves `true` when the key was not recorded yet
   * (first use) and `false` when it was (a replay). Atomic: of two concurrent calls with the same key,
   * at most one gets `true`. May throw `TokenError` `AIRLOCK_DPOP_CACHE_FULL` rather than forget.
   */
  checkAndRecord(key: string, expiresAt: number): Promise<boolean> | boolean;
}

/** Most proof ids kept in memory (about 160 B each). */
export const DEFAULT_REPLAY_CACHE_MAX_ENTRIES = 100_000;

export interface MemoryReplayCacheOptions {
  /** Default `DEFAULT_REPLAY_CACHE_MAX_ENTRIES` (100 000). */
  maxEntries?: number;
  /**
   * What to do when every slot holds an unexpired id: `refuse` (default) fails the new proof with a
   * retryable 503, `evict-oldest` forgets the id closest to expiry (which could then be replayed
   * until it expires). Secure default: `refuse`.
   */
  whenFull?: 'refuse' | 'evict-oldest';
  /** Clock (epoch ms). Default `Date.now`. */
  now?: () => number;
}

/** In-process replay cache: a Map in insertion order, expired entries swept as new ones arrive. */
export class MemoryReplayCache implements ReplayCache {
  readonly #entries = new Map<string, number>();
  readonly #maxEntries: number;
  readonly #whenFull: 'refuse' | 'evict-oldest';
  readonly #now: () => number;

  constructor(options: MemoryReplayCacheOptions = {}) {
    this.#maxEntries = Math.max(1, Math.trunc(options.maxEntries ?? DEFAULT_REPLAY_CACHE_MAX_ENTRIES));
    this.#whenFull = options.whenFull ?? 'refuse';
    this.#now = options.now ?? Date.now;
  }

  /** Entries currently held (expired ones may linger until the next call). */
  get size(): number {
    return this.#entries.size;
  }

  checkAndRecord(key: string, expiresAt: number): boolean {
    const now = this.#now();
    this.#sweepHead(now);
    const seen = this.#entries.get(key);
    if (seen !== undefined && seen > now) return false;
    if (seen !== undefined) this.#entries.delete(key);
    if (this.#entries.size >= this.#maxEntries) {
      this.#sweepAll(now);
      if (this.#entries.size >= this.#maxEntries) {
        if (this.#whenFull === 'refuse') {
          throw new TokenError(
            TOKEN_ERROR_CODES.dpopCacheFull,
            'too many DPoP proofs in flight; retry shortly with a new proof',
          );
        }
        const oldest = this.#entries.keys().next();
        if (!oldest.done) this.#entries.delete(oldest.value);
      }
    }
    this.#entries.set(key, expiresAt);
    return true;
  }

  /** Drops expired entries at the head (entries arrive roughly in expiry order): amortized O(1). */
  #sweepHead(now: number): void {
    for (const [key, expiresAt] of this.#entries) {
      if (expiresAt > now) return;
      this.#entries.delete(key);
    }
  }

  #sweepAll(now: number): void {
    for (const [key, expiresAt] of this.#entries) {
      if (expiresAt <= now) this.#entries.delete(key);
    }
  }
}
