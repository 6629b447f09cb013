/**
 * Console login sessions, held in the connector's memory (a restart logs everyone out). The browser
 * holds only a random 256-bit session id in the `__Host-airlock_session` cookie (Secure, HttpOnly,
 * SameSite=Strict, Path=/); the map is keyed by its SHA-256, so a memory dump does not reveal
 * usable cookies. Each session carries its own CSRF token (synchronizer pattern). Sessions end
 * after `idleMs` without a request or `maxAgeMs` after login, whichever comes first.
 *
 * @example
 * const sessions = new ConsoleSessions();
 * const { id, session } = sessions.create('alice');
 * sessions.get(id)?.csrfToken;
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A session ends after this long without a request. */
export const DEFAULT_SESSION_IDLE_MS = 30 * 60 * 1000;
/** A session ends this long after login, however active. */
export const DEFAULT_SESSION_MAX_AGE_MS = 12 * 60 * 60 * 1000;
/** Most concurrent sessions kept; the oldest is dropped beyond it. */
export const DEFAULT_MAX_SESSIONS = 1_000;
/** Name of the session cookie (the `__Host-` prefix pins it to this origin, Secure, Path=/). */
export const SESSION_COOKIE = '__Host-airlock_session';
/** Name of the cookie carrying the login form's CSRF token (double submit, before a session exists). */
export const LOGIN_CSRF_COOKIE = '__Host-airlock_login';

export interface ConsoleSession {
  account: string;
  csrfToken: string;
  createdAt: number;
  lastSeenAt: number;
}

export interface ConsoleSessionsOptions {
  /** Default {@link DEFAULT_SESSION_IDLE_MS} (30 min). */
  idleMs?: number;
  /** Default {@link DEFAULT_SESSION_MAX_AGE_MS} (12 h). */
  maxAgeMs?: number;
  /** Default {@link DEFAULT_MAX_SESSIONS}. */
  maxSessions?: number;
  /** Clock (epoch ms). Default `Date.now`. */
  now?: () => number;
}

export class ConsoleSessions {
  readonly idleMs: number;
  readonly maxAgeMs: number;
  readonly #max: number;
  readonly #now: () => number;
  readonly #byHash = new Map<string, ConsoleSession>();

  constructor(options: ConsoleSessionsOptions = {}) {
    this.idleMs = options.idleMs ?? DEFAULT_SESSION_IDLE_MS;
    this.maxAgeMs = options.maxAgeMs ?? DEFAULT_SESSION_MAX_AGE_MS;
    this.#max = Math.max(1, options.maxSessions ?? DEFAULT_MAX_SESSIONS);
    this.#now = options.now ?? Date.now;
  }

  /** Starts a session; `id` goes into the cookie and nowhere else. */
  create(account: string): { id: string; session: ConsoleSession } {
    const id = randomBytes(32).toString('base64url');
    const now = this.#now();
    const session: ConsoleSession = {
      account,
      csrfToken: randomBytes(32).toString('base64url'),
      createdAt: now,
      lastSeenAt: now,
    };
    this.#byHash.set(hashId(id), session);
    while (this.#byHash.size > this.#max) {
      const oldest = this.#byHash.keys().next().value;
      if (oldest === undefined) break;
      this.#byHash.delete(oldest);
    }
    return { id, session };
  }

  /** The live session for a cookie value (its idle clock restarts), or undefined. */
  get(id: string | undefined): ConsoleSession | undefined {
    if (!id || id.length > 200) return undefined;
    const key = hashId(id);
    const session = this.#byHash.get(key);
    if (!session) return undefined;
    const now = this.#now();
    if (now - session.lastSeenAt > this.idleMs || now - session.createdAt > this.maxAgeMs) {
      this.#byHash.delete(key);
      return undefined;
    }
    session.lastSeenAt = now;
    return session;
  }

  /** Ends one session. */
  destroy(id: string | undefined): void {
    if (id) this.#byHash.delete(hashId(id));
  }

  /** Ends every session of `account` (password change, account disabled). */
  destroyAccount(account: string): void {
    for (const [key, s] of this.#byHash) if (s.account === account) this.#byHash.delete(key);
  }

  get size(): number {
    return this.#byHash.size;
  }
}

/** Constant-time comparison of two tokens (false for missing or different-length values). */
export function sameToken(a: string | undefined, b: string | undefined): boolean {
  if (typeof a !== 'string' || typeof b !== 'string' || a.length === 0) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function hashId(id: string): string {
  return createHash('sha256').update(id).digest('hex');
}
