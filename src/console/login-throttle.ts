/**
 * Console sign-in throttling with exponential delays, per source and per account, that an attacker
 * cannot turn into a lock-out of the real admin.
 *
 * Two gates apply to an attempt on account A from source S (an IPv4 address or IPv6 /64):
 *
 * - **source**: after `freeFailures` failed sign-ins from S (to any account), S waits
 *   `baseDelayMs · 2^(n − freeFailures − 1)` (at most `maxDelayMs`) after its last failure;
 * - **account**: after `freeFailures` failed sign-ins to A (from anywhere), each source waits the same
 *   kind of delay after *its own* last attempt on A. The first attempt of a source on A is never held
 *   by the account gate, and an attacker's attempts from elsewhere never push back the moment the admin
 *   may try again: they only raise the delay, which is capped by `maxDelayMs`.
 *
 * So guessing is slowed everywhere, yet the admin always gets in with the right password at most
 * `maxDelayMs` after their own last attempt, however hard someone else hammers the account. There is
 * no hard lock. Refused (throttled) attempts do not count as failures; a success clears the source's
 * and the account's failures. Entries are forgotten `forgetAfterMs` after their last failure, and at
 * most `maxEntries` are kept (oldest dropped first), so memory stays bounded under a flood.
 *
 * Caveat: behind a reverse proxy every request has the proxy's address; then all clients share one
 * source.
 *
 * @example
 * const throttle = new LoginThrottle({ now: () => clock });
 * const gate = throttle.check('alice', '203.0.113.7');
 * if (!gate.allowed) return tooMany(gate.retryAfterMs);
 * if (await verifyPassword(...)) throttle.success('alice', '203.0.113.7');
 * else throttle.failure('alice', '203.0.113.7');
 */

/** Failures (per source, per account) before any delay. */
export const DEFAULT_LOGIN_FREE_FAILURES = 5;
/** First delay after the free failures; it doubles with every further failure. */
export const DEFAULT_LOGIN_BASE_DELAY_MS = 1_000;
/** Longest delay: the most the real admin ever waits after their own last attempt. */
export const DEFAULT_LOGIN_MAX_DELAY_MS = 5 * 60_000;
/** Failures are forgotten this long after the last one. */
export const DEFAULT_LOGIN_FORGET_AFTER_MS = 60 * 60_000;
/** Most sources, accounts and (account, source) pairs remembered. */
export const DEFAULT_LOGIN_MAX_ENTRIES = 10_000;

export interface LoginThrottleOptions {
  /** Default {@link DEFAULT_LOGIN_FREE_FAILURES}. */
  freeFailures?: number;
  /** Default {@link DEFAULT_LOGIN_BASE_DELAY_MS}. */
  baseDelayMs?: number;
  /** Default {@link DEFAULT_LOGIN_MAX_DELAY_MS}. */
  maxDelayMs?: number;
  /** Default {@link DEFAULT_LOGIN_FORGET_AFTER_MS}. */
  forgetAfterMs?: number;
  /** Default {@link DEFAULT_LOGIN_MAX_ENTRIES}. */
  maxEntries?: number;
  /** Clock (epoch ms). Default `Date.now`. */
  now?: () => number;
}

export type LoginGate = { allowed: true } | { allowed: false; retryAfterMs: number };

interface Failures {
  count: number;
  last: number;
}

export class LoginThrottle {
  readonly #free: number;
  readonly #base: number;
  readonly #max: number;
  readonly #forget: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  readonly #sources = new Map<string, Failures>();
  readonly #accounts = new Map<string, Failures>();
  /** Last attempt of a source on an account: when the account gate opens again for that source. */
  readonly #attempts = new Map<string, number>();

  constructor(options: LoginThrottleOptions = {}) {
    this.#free = Math.max(0, options.freeFailures ?? DEFAULT_LOGIN_FREE_FAILURES);
    this.#base = Math.max(1, options.baseDelayMs ?? DEFAULT_LOGIN_BASE_DELAY_MS);
    this.#max = Math.max(this.#base, options.maxDelayMs ?? DEFAULT_LOGIN_MAX_DELAY_MS);
    this.#forget = Math.max(this.#max, options.forgetAfterMs ?? DEFAULT_LOGIN_FORGET_AFTER_MS);
    this.#maxEntries = Math.max(16, options.maxEntries ?? DEFAULT_LOGIN_MAX_ENTRIES);
    this.#now = options.now ?? Date.now;
  }

  /**
   * May `source` try to sign in to `account` now? Account names are compared case-insensitively.
   *
   * @example
   * const gate = throttle.check('alice', '198.51.100.4'); // { allowed: false, retryAfterMs: 4000 }
   */
  check(account: string, source: string): LoginGate {
    const now = this.#now();
    const src = this.#live(this.#sources, source, now);
    const acct = this.#live(this.#accounts, key(account), now);
    let readyAt = src ? src.last + this.#delay(src.count) : 0;
    const lastAttempt = this.#attempts.get(pair(account, source));
    if (acct && lastAttempt !== undefined && now - lastAttempt < this.#forget) {
      readyAt = Math.max(readyAt, lastAttempt + this.#delay(acct.count));
    }
    return now >= readyAt ? { allowed: true } : { allowed: false, retryAfterMs: readyAt - now };
  }

  /** Records a wrong password (or unknown account) for `account` from `source`. */
  failure(account: string, source: string): void {
    const now = this.#now();
    bump(this.#sources, source, now, this.#maxEntries);
    bump(this.#accounts, key(account), now, this.#maxEntries);
    setBounded(this.#attempts, pair(account, source), now, this.#maxEntries);
  }

  /** A successful sign-in clears the source's and the account's failures. */
  success(account: string, source: string): void {
    this.#sources.delete(source);
    this.#accounts.delete(key(account));
    this.#attempts.delete(pair(account, source));
  }

  /** The delay after `count` failures. */
  #delay(count: number): number {
    if (count <= this.#free) return 0;
    return Math.min(this.#max, this.#base * 2 ** Math.min(40, count - this.#free - 1));
  }

  #live(map: Map<string, Failures>, k: string, now: number): Failures | undefined {
    const f = map.get(k);
    if (f && now - f.last >= this.#forget) {
      map.delete(k);
      return undefined;
    }
    return f;
  }
}

function key(account: string): string {
  return account.trim().toLowerCase();
}

function pair(account: string, source: string): string {
  return `${key(account)}\u0000${source}`;
}

function bump(map: Map<string, Failures>, k: string, now: number, max: number): void {
  const f = map.get(k);
  setBounded(map, k, { count: (f?.count ?? 0) + 1, last: now }, max);
}

/** Sets `k` as the newest entry, dropping the oldest entries beyond `max`. */
function setBounded<V>(map: Map<string, V>, k: string, value: V, max: number): void {
  map.delete(k);
  map.set(k, value);
  while (map.size > max) {
    const oldest = map.keys().next().value;
    if (oldest === undefined) break;
    map.delete(oldest);
  }
}
