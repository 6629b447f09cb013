/**
 * Approval tokens: when a supervisor approved a call, the connector sends a short-lived JWT with the
 * call to the upstream, so a private MCP server can refuse destructive work that was not approved for
 * exactly these arguments (verify with src/approvals/approval-token-verify.ts). Signed with the
 * connector's upstream-token key (src/identity/upstream-token-minter.ts: Ed25519 by default, or ES256),
 * so the JWKS the console serves at `/.well-known/jwks.json` verifies both kinds; the `typ` header
 * (`airlock-approval+jwt`) keeps them apart.
 *
 * Where it travels: `params._meta["airlock/approval"]` of the `tools/call` (every upstream, stdio and
 * HTTP), and, for HTTP upstreams, the `Airlock-Approval` header (see {@link approvalTokenHeaders}).
 *
 * Claims:
 *   iss           the connector (`issuer`)
 *   sub           the agent (SPIFFE id for mTLS agents, token subject for bearer agents)
 *   jti           random per token
 *   approval_id   the approval queue's id
 *   approvers     who approved, e.g. `["sam"]`
 *   tool          the namespaced tool name the agent called and the approver saw, e.g. `erp.delete_customer`
 *   args_sha256   hex SHA-256 of the RFC 8785 canonical JSON of the exact arguments
 *   iat, exp      lifetime `ttlSec` (default 60 s, at most 300 s)
 *
 * @example
 * const signer = await ApprovalTokenSigner.open({ dataDir, issuer: 'https://acme.relay.example' });
 * const stage = tier({ policy, approvals, approvalTokens: signer });
 */
import { randomUUID } from 'node:crypto';
import { type JWK, SignJWT } from 'jose';
import {
  APPROVAL_TOKEN_META_KEY,
  type ApprovalTokenClaims,
  type ApprovalTokenIssuer,
} from '../gateway/stages/tier-stage.js';
import {
  loadOrCreateUpstreamTokenKey,
  type UpstreamSigningKey,
  type UpstreamTokenAlg,
} from '../identity/upstream-token-minter.js';
import { ApprovalError } from './approval-error.js';

export { APPROVAL_TOKEN_META_KEY };

/** Default lifetime of an approval token: the upstream call starts right after signing. */
export const DEFAULT_APPROVAL_TOKEN_TTL_SEC = 60;
/** Longest configurable lifetime. */
export const MAX_APPROVAL_TOKEN_TTL_SEC = 300;
/** JWT `typ` of approval tokens. */
export const APPROVAL_TOKEN_TYP = 'airlock-approval+jwt';
/** HTTP header carrying the token to HTTP upstreams (lowercase, as Node and fetch use it). */
export const APPROVAL_TOKEN_HEADER = 'airlock-approval';

export interface ApprovalTokenSignerOptions {
  /** `iss`: the connector, e.g. its tenant URL `https://acme.relay.example`. */
  issuer: string;
  key: UpstreamSigningKey;
  /** Default {@link DEFAULT_APPROVAL_TOKEN_TTL_SEC}; at most {@link MAX_APPROVAL_TOKEN_TTL_SEC}. */
  ttlSec?: number;
  /** Epoch ms. Default `Date.now`. */
  now?: () => number;
}

/** Signs approval tokens with the connector's upstream-token key. */
export class ApprovalTokenSigner implements ApprovalTokenIssuer {
  readonly issuer: string;
  readonly ttlSec: number;
  readonly #key: UpstreamSigningKey;
  readonly #now: () => number;

  /** Throws `ApprovalError` `AIRLOCK_APPROVAL_TOKEN_CONFIG` for a bad lifetime or an empty issuer. */
  constructor(options: ApprovalTokenSignerOptions) {
    const ttl = options.ttlSec ?? DEFAULT_APPROVAL_TOKEN_TTL_SEC;
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_APPROVAL_TOKEN_TTL_SEC) {
      throw new ApprovalError(
        'AIRLOCK_APPROVAL_TOKEN_CONFIG',
        `approval token ttlSec must be an integer from 1 to ${MAX_APPROVAL_TOKEN_TTL_SEC}, got ${ttl}`,
      );
    }
    if (!options.issuer)
      throw new ApprovalError('AIRLOCK_APPROVAL_TOKEN_CONFIG', 'approval token issuer is required');
    this.issuer = options.issuer;
    this.ttlSec = ttl;
    this.#key = options.key;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Loads (or creates) the connector's upstream-token key in `dataDir` and returns a signer.
   *
   * @example
   * const signer = await ApprovalTokenSigner.open({ dataDir: '/var/lib/airlock', issuer: 'https://acme.relay.example' });
   */
  static async open(
    options: Omit<ApprovalTokenSignerOptions, 'key'> & { dataDir: string; alg?: UpstreamTokenAlg },
  ): Promise<ApprovalTokenSigner> {
    const { dataDir, alg, ...rest } = options;
    return new ApprovalTokenSigner({ ...rest, key: await loadOrCreateUpstreamTokenKey(dataDir, alg) });
  }

  /** The JWKS that verifies the tokens (the same key as the upstream-token minter's). */
  jwks(): { keys: JWK[] } {
    return { keys: [{ ...this.#key.publicJwk }] };
  }

  /** Signs a token for one approved call. */
  async sign(claims: ApprovalTokenClaims): Promise<string> {
    const iat = Math.floor(this.#now() / 1000);
    const agent = claims.agent;
    const subject =
      agent.authenticatedBy === 'bearer' ? (agent.subject ?? agent.name) : agent.spiffeId || agent.name;
    return new SignJWT({
      approval_id: claims.approvalId,
      approvers: claims.approvers,
      tool: claims.tool,
      args_sha256: claims.argsHash,
    })
      .setProtectedHeader({ alg: this.#key.alg, kid: this.#key.kid, typ: APPROVAL_TOKEN_TYP })
      .setIssuer(this.issuer)
      .setSubject(subject)
      .setIssuedAt(iat)
      .setExpirationTime(iat + this.ttlSec)
      .setJti(randomUUID())
      .sign(this.#key.privateKey);
  }
}

/**
 * The `Airlock-Approval` header for the upstream request of a gateway context whose call was approved
 * (read from `params._meta["airlock/approval"]`), or `{}`. Merge it into the headers of HTTP upstream
 * requests (e.g. the connector's `upstreamHeaders`).
 *
 * @example
 * upstreamHeaders: async (ctx, upstream) => ({ ...(await minter.mintUpstreamHeaders(ctx, upstream)), ...approvalTokenHeaders(ctx) })
 */
export function approvalTokenHeaders(ctx: { params: Record<string, unknown> }): Record<string, string> {
  const meta = ctx.params._meta;
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) return {};
  const token = (meta as Record<string, unknown>)[APPROVAL_TOKEN_META_KEY];
  return typeof token === 'string' && token !== '' ? { [APPROVAL_TOKEN_HEADER]: token } : {};
}
