/**
 * The tenant's token vault. `tokenize` turns a value into a deterministic token (HMAC-SHA256 under the
 * tenant's token key, cut to 8 hex characters, lengthened by 4 on a collision) and stores the value
 * sealed with AES-256-GCM; `resolve` finds a token's value again, and only for tokens this tenant's
 * vault issued. Values are normalised per class before hashing (`Anna@Example.com` and
 * `anna@example.com` share a token); the vault keeps the first spelling it saw.
 *
 * @example
 * const vault = new PiiVault({ tenant: 'acme', keys, repository: store.vault });
 * const token = await vault.tokenize('EMAIL', 'anna@example.com'); // '[[EMAIL:7f3a9c21]]'
 * await vault.resolve(token); // { class: 'EMAIL', value: 'anna@example.com' }
 *
 * Session-scoped tokens (`pii.tokenScope: session`): pass a `scope` (see `tokenScopeOf`). The scope is
 * mixed into the HMAC (the same value gets another token in another scope) and sealed with the value
 * (as a keyed digest, never the session id itself); `resolve` reports the token's scope so the caller
 * can refuse a token of another session.
 */
import { createHmac } from 'node:crypto';
import type { PiiVaultRepository } from '../store/store.js';
import { PII_ERROR_CODES, PiiError } from './pii-errors.js';
import type { TenantPiiKeys } from './tenant-pii-keys.js';
import { DEFAULT_TOKEN_HEX_LENGTH, findTokens, formatToken, MAX_TOKEN_HEX_LENGTH } from './token-format.js';
import { openValue, sealValue } from './vault-cipher.js';

/** Decrypted entries kept in memory (per vault) to spare the store and the cipher on repeated values. */
export const DEFAULT_VAULT_CACHE_SIZE = 10_000;

export interface PiiVaultOptions {
  tenant: string;
  keys: TenantPiiKeys;
  repository: PiiVaultRepository;
  /** Entries cached in memory (default `DEFAULT_VAULT_CACHE_SIZE`; 0 disables the cache). */
  cacheSize?: number;
  /** Hex characters of a new token (default `DEFAULT_TOKEN_HEX_LENGTH`, 8). */
  tokenHexLength?: number;
  now?: () => number;
}

export interface ResolvedToken {
  class: string;
  value: string;
  /** Keyed digest of the scope the token was issued in; absent for tenant-wide tokens. */
  scope?: string;
}

/** Marks a sealed value that carries its scope digest (never present in tenant-wide values). */
const SCOPED_PREFIX = '\u0000airlock-scope:';

export class PiiVault {
  readonly tenant: string;
  readonly #keys: TenantPiiKeys;
  readonly #repo: PiiVaultRepository;
  readonly #now: () => number;
  readonly #hexLength: number;
  readonly #byDigest: BoundedCache<string>;
  readonly #byToken: BoundedCache<ResolvedToken>;

  constructor(options: PiiVaultOptions) {
    if (options.keys.tenant !== options.tenant) {
      throw new PiiError(
        PII_ERROR_CODES.keyTenant,
        `PII keys of tenant ${options.keys.tenant} used for ${options.tenant}`,
      );
    }
    this.tenant = options.tenant;
    this.#keys = options.keys;
    this.#repo = options.repository;
    this.#now = options.now ?? Date.now;
    this.#hexLength = Math.min(
      MAX_TOKEN_HEX_LENGTH,
      Math.max(8, options.tokenHexLength ?? DEFAULT_TOKEN_HEX_LENGTH),
    );
    const size = options.cacheSize ?? DEFAULT_VAULT_CACHE_SIZE;
    this.#byDigest = new BoundedCache(size);
    this.#byToken = new BoundedCache(size);
  }

  /** The full keyed HMAC of a class and normalised value (hex), in `scope` when given. */
  digest(cls: string, normalized: string, scope?: string): string {
    const mac = createHmac('sha256', this.#keys.tokenKey);
    if (scope !== undefined) mac.update(`scope\u0000${this.scopeDigest(scope)}\u0000`);
    return mac.update(`${cls}\u0000${normalized}`).digest('hex');
  }

  /** Keyed digest naming a token scope (a session): stored with scoped values instead of the session id. */
  scopeDigest(scope: string): string {
    return createHmac('sha256', this.#keys.tokenKey)
      .update(`token-scope\u0000${scope}`)
      .digest('hex')
      .slice(0, 32);
  }

  /** Irreversible keyed hash for the `hash` action: `[HASH:EMAIL:<16 hex>]`. */
  hash(cls: string, normalized: string): string {
    const mac = createHmac('sha256', this.#keys.hashKey).update(`${cls}\u0000${normalized}`).digest('hex');
    return `[HASH:${cls}:${mac.slice(0, 16)}]`;
  }

  /**
   * The token for `value` (stored in the vault on first use). `normalized` defaults to `value`; pass the
   * detector's canonical form so spellings of one value share a token.
   */
  async tokenize(cls: string, value: string, normalized: string = value, scope?: string): Promise<string> {
    const digest = this.digest(cls, normalized, scope);
    const scopeDigest = scope === undefined ? undefined : this.scopeDigest(scope);
    const sealed = scopeDigest === undefined ? value : `${SCOPED_PREFIX}${scopeDigest}\u0000${value}`;
    const cached = this.#byDigest.get(digest);
    if (cached) return cached;
    const existing = await this.#repo.getVaultEntryByDigest(this.tenant, digest);
    if (existing) return this.#remember(digest, existing.token);
    for (let length = this.#hexLength; length <= MAX_TOKEN_HEX_LENGTH; length += 4) {
      const token = formatToken(cls, digest.slice(0, length));
      const inserted = await this.#repo.putVaultEntry({
        tenant: this.tenant,
        token,
        digest,
        dataClass: cls,
        sealedValue: sealValue(this.#keys.vaultKey, sealed, this.#aad(token)),
        createdAt: this.#now(),
      });
      if (inserted) {
        this.#byToken.set(token, { class: cls, value, ...(scopeDigest ? { scope: scopeDigest } : {}) });
        return this.#remember(digest, token);
      }
      // Either another writer stored this very value meanwhile, or the short token is taken by another value.
      const raced = await this.#repo.getVaultEntryByDigest(this.tenant, digest);
      if (raced) return this.#remember(digest, raced.token);
    }
    throw new PiiError(PII_ERROR_CODES.vaultCollision, `no free token for a ${cls} value`);
  }

  /** The class and value behind `token`, or undefined when this tenant's vault never issued it. */
  async resolve(token: string): Promise<ResolvedToken | undefined> {
    const cached = this.#byToken.get(token);
    if (cached) return cached;
    const row = await this.#repo.getVaultEntryByToken(this.tenant, token);
    if (!row) return undefined;
    const opened = openValue(this.#keys.vaultKey, row.sealedValue, this.#aad(token));
    let resolved: ResolvedToken = { class: row.dataClass, value: opened };
    if (opened.startsWith(SCOPED_PREFIX)) {
      const end = opened.indexOf('\u0000', SCOPED_PREFIX.length);
      resolved = {
        class: row.dataClass,
        value: opened.slice(end + 1),
        scope: opened.slice(SCOPED_PREFIX.length, end),
      };
    }
    this.#byToken.set(token, resolved);
    return resolved;
  }

  /**
   * Replaces every token in `text` by its value. Unknown tokens are returned in `unknown` (the caller
   * refuses the request); known ones are counted per class in `counts`. With `options.scope` (session
   * scope), tokens issued in another scope (or tenant-wide) are left in place and returned in
   * `options.foreign`; `options.onValue` sees every replaced token with its value (request taint).
   */
  async detokenizeText(
    text: string,
    counts: Map<string, number>,
    unknown: string[],
    options: DetokenizeOptions = {},
  ): Promise<string> {
    const tokens = findTokens(text);
    if (tokens.length === 0) return text;
    const wantScope = options.scope === undefined ? undefined : this.scopeDigest(options.scope);
    let out = '';
    let at = 0;
    for (const t of tokens) {
      const resolved = await this.resolve(t.token);
      out += text.slice(at, t.start);
      if (resolved && (wantScope === undefined || resolved.scope === wantScope)) {
        out += resolved.value;
        counts.set(resolved.class, (counts.get(resolved.class) ?? 0) + 1);
        options.onValue?.(t.token, resolved.class, resolved.value);
      } else {
        (resolved ? (options.foreign ?? unknown) : unknown).push(t.token);
        out += t.token;
      }
      at = t.end;
    }
    return out + text.slice(at);
  }

  #aad(token: string): string {
    return `${this.tenant}\u0000${token}`;
  }

  #remember(digest: string, token: string): string {
    this.#byDigest.set(digest, token);
    return token;
  }
}

export interface DetokenizeOptions {
  /** Session scope (`pii.tokenScope: session`): only tokens issued in it are replaced. */
  scope?: string;
  /** Receives tokens of this tenant issued in another scope (default: they count as unknown). */
  foreign?: string[];
  /** Called for every replaced token (e.g. to record the value as request taint). */
  onValue?: (token: string, cls: string, value: string) => void;
}

/** Insertion-ordered map that forgets its oldest entry beyond `limit` (least recently used first). */
class BoundedCache<V> {
  readonly #map = new Map<string, V>();
  constructor(readonly limit: number) {}
  get(key: string): V | undefined {
    const v = this.#map.get(key);
    if (v !== undefined) {
      this.#map.delete(key);
      this.#map.set(key, v);
    }
    return v;
  }
  set(key: string, value: V): void {
    if (this.limit <= 0) return;
    this.#map.delete(key);
    this.#map.set(key, value);
    if (this.#map.size > this.limit) {
      const oldest = this.#map.keys().next().value;
      if (oldest !== undefined) this.#map.delete(oldest);
    }
  }
}
