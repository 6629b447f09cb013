/**
 * Short-lived tokens the connector mints for its upstreams, so an upstream learns who the end user is
 * (and which agent acts for them) without ever seeing the agent's or the user's own IdP token. Each
 * token is a JWT signed with the connector's own key (Ed25519 by default, or ES256), kept in the
 * connector's data directory (mode 0600) and published as a JWKS the upstream can fetch from the
 * connector's admin port.
 *
 * Claims (RFC 8693 delegation semantics):
 *   iss     the connector (`issuer` option)
 *   aud     the upstream's name, e.g. `erp` (a token for one upstream is useless at another)
 *   sub     the end user's subject at their IdP
 *   sub_id  `{ format: 'iss_sub', iss, sub }` (RFC 9493): the end user's IdP and subject
 *   act     the agent acting for them (RFC 8693 §4.1): `{ sub: spiffeId }` for mTLS agents,
 *           `{ sub, iss }` for token-authenticated agents
 *   iat, exp (at most 5 minutes later, and never after the agent's or the end user's token expires), jti
 *
 * Tokens are reused while more than half their lifetime remains (one signature per user, agent and
 * upstream every `ttlSec / 2`, not one per request).
 *
 * @example
 * const minter = await UpstreamTokenMinter.open({ dataDir: ctx.dataDir, issuer: 'https://acme.relay.example' });
 * adminApp.get('/.well-known/jwks.json', (c) => c.json(minter.jwks()));
 * const headers = await minter.mintUpstreamHeaders(ctx, 'erp'); // { authorization: 'Bearer eyJ…' } or {}
 */
import { randomUUID } from 'node:crypto';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type CryptoKey,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
  SignJWT,
} from 'jose';
import { IdentityError } from '../errors/airlock-error.js';
import type { EndUser, GatewayIdentity } from '../gateway/gateway-context.js';

/** Default lifetime of a minted token. */
export const DEFAULT_UPSTREAM_TOKEN_TTL_SEC = 120;
/** Longest lifetime that can be configured. */
export const MAX_UPSTREAM_TOKEN_TTL_SEC = 300;
/** Default signing algorithm (Ed25519). */
export const DEFAULT_UPSTREAM_TOKEN_ALG: UpstreamTokenAlg = 'EdDSA';
/** File (in the data directory) holding the signing key as a private JWK. */
export const UPSTREAM_TOKEN_KEY_FILE = 'upstream-token-key.json';
/** Default request header carrying the minted token (as `Bearer <jwt>`). */
export const DEFAULT_UPSTREAM_TOKEN_HEADER = 'authorization';
/** Default most cached tokens (user × agent × upstream). */
export const DEFAULT_UPSTREAM_TOKEN_CACHE_ENTRIES = 10_000;
/** JWT `typ` of minted tokens (RFC 9068 access-token profile). */
export const UPSTREAM_TOKEN_TYP = 'at+jwt';

export type UpstreamTokenAlg = 'EdDSA' | 'ES256';

/** The connector's signing key for upstream tokens. */
export interface UpstreamSigningKey {
  alg: UpstreamTokenAlg;
  /** RFC 7638 thumbprint of the public key. */
  kid: string;
  privateKey: CryptoKey;
  /** Public JWK with `kid`, `alg`, `use: 'sig'`. */
  publicJwk: JWK;
}

/**
 * Loads the signing key from `dir/upstream-token-key.json`, creating it (and `dir`) on first use.
 * Throws `IdentityError` `AIRLOCK_UPSTREAM_TOKEN_KEY` for an unreadable or foreign key file.
 *
 * @example
 * const key = await loadOrCreateUpstreamTokenKey('/var/lib/airlock', 'ES256');
 */
export async function loadOrCreateUpstreamTokenKey(
  dir: string,
  alg: UpstreamTokenAlg = DEFAULT_UPSTREAM_TOKEN_ALG,
): Promise<UpstreamSigningKey> {
  const file = join(dir, UPSTREAM_TOKEN_KEY_FILE);
  let text: string | undefined;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw keyError(`cannot read ${file}`, err);
  }
  if (text === undefined) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const { privateKey } = await generateKeyPair(alg, { extractable: true });
    const jwk = { ...(await exportJWK(privateKey)), alg };
    // Written whole to a private temporary file, then hard-linked into place (atomic, and fails when the
    // file exists): when two processes race, one key wins and the other reads it, never half a file.
    const temporary = `${file}.${randomUUID()}.tmp`;
    try {
      await writeFile(temporary, `${JSON.stringify(jwk)}\n`, { mode: 0o600, flag: 'wx' });
      await link(temporary, file);
      text = JSON.stringify(jwk);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw keyError(`cannot write ${file}`, err);
      text = await readFile(file, 'utf8');
    } finally {
      await unlink(temporary).catch(() => {});
    }
  }
  let jwk: JWK;
  try {
    jwk = JSON.parse(text) as JWK;
  } catch (err) {
    throw keyError(`${file} is not a JSON Web Key`, err);
  }
  const keyAlg = jwk.alg;
  if (!isUpstreamTokenAlg(keyAlg)) {
    throw keyError(`${file} holds a key for ${JSON.stringify(keyAlg)}, expected EdDSA or ES256`);
  }
  if (typeof jwk.d !== 'string') throw keyError(`${file} does not hold a private key`);
  let privateKey: CryptoKey;
  try {
    privateKey = (await importJWK(jwk, keyAlg)) as CryptoKey;
  } catch (err) {
    throw keyError(`${file} holds an unusable key`, err);
  }
  const { d: _private, ...publicPart } = jwk;
  const kid = await calculateJwkThumbprint(publicPart, 'sha256');
  return { alg: keyAlg, kid, privateKey, publicJwk: { ...publicPart, kid, alg: keyAlg, use: 'sig' } };
}

export interface UpstreamTokenMinterOptions {
  /** `iss` of minted tokens: the connector, e.g. its tenant URL `https://acme.relay.example`. */
  issuer: string;
  key: UpstreamSigningKey;
  /** Default {@link DEFAULT_UPSTREAM_TOKEN_TTL_SEC} (120); at most {@link MAX_UPSTREAM_TOKEN_TTL_SEC} (300). */
  ttlSec?: number;
  /**
   * Header carrying the token. Default {@link DEFAULT_UPSTREAM_TOKEN_HEADER}: `Authorization: Bearer <jwt>`;
   * any other header gets the bare JWT. Pick another one when the upstream's static headers already
   * use `Authorization` for its own API key.
   */
  header?: string;
  /** Also mint (sub = the agent, no `act`) for requests without an end user. Default false: no header. */
  mintWithoutEndUser?: boolean;
  /** Default {@link DEFAULT_UPSTREAM_TOKEN_CACHE_ENTRIES}; `0` mints a new token for every request. */
  cacheEntries?: number;
  /** Clock (epoch ms). Default `Date.now`. */
  now?: () => number;
}

/** What a token is minted for. */
export interface UpstreamTokenRequest {
  /** The upstream's name (`aud`). */
  upstream: string;
  /** The agent (`act`). */
  agent: GatewayIdentity;
  /** The end user (`sub`); without one, the agent is the subject (only with `mintWithoutEndUser`). */
  endUser?: EndUser;
}

/** The part of the gateway context minting needs. */
export interface UpstreamTokenContext {
  readonly identity: GatewayIdentity | undefined;
  readonly endUser?: EndUser;
}

/** Mints upstream tokens and publishes the verification key. */
export class UpstreamTokenMinter {
  readonly issuer: string;
  readonly ttlSec: number;
  readonly header: string;
  readonly #key: UpstreamSigningKey;
  readonly #withoutEndUser: boolean;
  readonly #cacheEntries: number;
  readonly #now: () => number;
  readonly #cache = new Map<string, { token: string; expiresAt: number }>();

  /** Throws `IdentityError` `AIRLOCK_UPSTREAM_TOKEN_CONFIG` for a lifetime over 5 minutes or an empty issuer. */
  constructor(options: UpstreamTokenMinterOptions) {
    const ttl = options.ttlSec ?? DEFAULT_UPSTREAM_TOKEN_TTL_SEC;
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_UPSTREAM_TOKEN_TTL_SEC) {
      throw new IdentityError(
        'AIRLOCK_UPSTREAM_TOKEN_CONFIG',
        `upstream token ttlSec must be an integer from 1 to ${MAX_UPSTREAM_TOKEN_TTL_SEC}, got ${ttl}`,
      );
    }
    if (!options.issuer) {
      throw new IdentityError('AIRLOCK_UPSTREAM_TOKEN_CONFIG', 'upstream token issuer is required');
    }
    this.issuer = options.issuer;
    this.ttlSec = ttl;
    this.header = (options.header ?? DEFAULT_UPSTREAM_TOKEN_HEADER).toLowerCase();
    this.#key = options.key;
    this.#withoutEndUser = options.mintWithoutEndUser ?? false;
    this.#cacheEntries = Math.max(0, options.cacheEntries ?? DEFAULT_UPSTREAM_TOKEN_CACHE_ENTRIES);
    this.#now = options.now ?? Date.now;
  }

  /**
   * Loads (or creates) the key in `dataDir` and returns a minter.
   *
   * @example
   * const minter = await UpstreamTokenMinter.open({ dataDir: '/var/lib/airlock', issuer: 'https://acme.relay.example' });
   */
  static async open(
    options: Omit<UpstreamTokenMinterOptions, 'key'> & { dataDir: string; alg?: UpstreamTokenAlg },
  ): Promise<UpstreamTokenMinter> {
    const { dataDir, alg, ...rest } = options;
    return new UpstreamTokenMinter({ ...rest, key: await loadOrCreateUpstreamTokenKey(dataDir, alg) });
  }

  /** The JWKS document upstreams verify minted tokens with (serve it as JSON from the admin port). */
  jwks(): { keys: JWK[] } {
    return { keys: [{ ...this.#key.publicJwk }] };
  }

  /** Mints (or reuses, while more than half its lifetime remains) a token for one upstream request. */
  async mint(request: UpstreamTokenRequest): Promise<string> {
    const now = this.#now();
    const cacheKey = this.#cacheKey(request);
    const cached = this.#cache.get(cacheKey);
    if (cached && cached.expiresAt - now > (this.ttlSec * 1000) / 2) return cached.token;
    const iat = Math.floor(now / 1000);
    const agent = request.agent;
    // Never outlive the credentials it stands for.
    const credentialExpiries = [agent.expiresAt, request.endUser?.expiresAt]
      .filter((ms): ms is number => ms !== undefined)
      .map((ms) => Math.floor(ms / 1000));
    const exp = Math.min(iat + this.ttlSec, ...credentialExpiries);
    const actor: Record<string, string> =
      agent.authenticatedBy === 'bearer'
        ? { sub: agent.subject ?? agent.name, ...(agent.issuer ? { iss: agent.issuer } : {}) }
        : { sub: agent.spiffeId || agent.name };
    const claims: Record<string, unknown> = request.endUser
      ? {
          act: actor,
          sub_id: { format: 'iss_sub', iss: request.endUser.issuer, sub: request.endUser.subject },
        }
      : { ...(actor.iss ? { sub_id: { format: 'iss_sub', iss: actor.iss, sub: actor.sub } } : {}) };
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: this.#key.alg, kid: this.#key.kid, typ: UPSTREAM_TOKEN_TYP })
      .setIssuer(this.issuer)
      .setAudience(request.upstream)
      .setSubject(request.endUser ? request.endUser.subject : (actor.sub ?? agent.name))
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .setJti(randomUUID())
      .sign(this.#key.privateKey);
    if (this.#cacheEntries > 0) {
      this.#cache.delete(cacheKey);
      this.#cache.set(cacheKey, { token, expiresAt: exp * 1000 });
      while (this.#cache.size > this.#cacheEntries) {
        const oldest = this.#cache.keys().next();
        if (oldest.done) break;
        this.#cache.delete(oldest.value);
      }
    }
    return token;
  }

  /**
   * The headers an upstream request carries for this gateway context: `{ authorization: 'Bearer <jwt>' }`
   * (or the configured header) when the request has an end user (or `mintWithoutEndUser`), else `{}`.
   * Never contains the agent's or the end user's own token.
   *
   * @example
   * const headers = await minter.mintUpstreamHeaders(ctx, 'erp');
   * await runWithUpstreamHeaders(headers, () => upstream.request('tools/call', params));
   */
  async mintUpstreamHeaders(ctx: UpstreamTokenContext, upstream: string): Promise<Record<string, string>> {
    const agent = ctx.identity;
    if (!agent) return {};
    if (!ctx.endUser && !this.#withoutEndUser) return {};
    const token = await this.mint({ upstream, agent, ...(ctx.endUser ? { endUser: ctx.endUser } : {}) });
    return { [this.header]: this.header === 'authorization' ? `Bearer ${token}` : token };
  }

  #cacheKey(r: UpstreamTokenRequest): string {
    const a = r.agent;
    return [
      r.upstream,
      a.authenticatedBy,
      a.issuer ?? '',
      a.subject ?? '',
      a.spiffeId,
      a.name,
      r.endUser?.issuer ?? '',
      r.endUser?.subject ?? '',
    ].join('\n');
  }
}

function isUpstreamTokenAlg(alg: unknown): alg is UpstreamTokenAlg {
  return alg === 'EdDSA' || alg === 'ES256';
}

function keyError(message: string, cause?: unknown): IdentityError {
  return new IdentityError('AIRLOCK_UPSTREAM_TOKEN_KEY', `upstream token key: ${message}`, { cause });
}
