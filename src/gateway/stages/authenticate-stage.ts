/**
 * Stage 1 of the gateway: the workload must be a known, non-revoked identity of this tenant. The store is
 * consulted on EVERY request (no cache), so a revocation takes effect on the agent's next request, even
 * inside a live session.
 *
 * - mTLS identities: the certificate serial must map to a non-revoked, unexpired identity of that name.
 * - Bearer identities (OAuth access token verified at the TLS termination): the token must not have
 *   expired since (`identity.expiresAt`), and its subject must not be on the store's revocation list
 *   (`isSubjectRevoked`, when the lookup has it).
 */
import { JSONRPC_INTERNAL_ERROR, WireError } from '../../errors/wire-error.js';
import type { AgentIdentityRecord, RevokedCredential } from '../../store/store.js';
import { recordDecision } from '../decision-channel.js';
import type { GatewayContext, GatewayIdentity, Stage } from '../gateway-context.js';

/** JSON-RPC error code (server-defined range) for requests whose identity is missing, unknown or revoked. */
export const JSONRPC_UNAUTHENTICATED = -32001;

/** The part of the store's identity repository the gateway and the TLS termination need. */
export interface IdentityLookup {
  getIdentityBySerial(certSerial: string): Promise<AgentIdentityRecord | undefined>;
  /** Whether tokens of `subject` from `issuer` are revoked. Without it, bearer subjects are not checked. */
  isSubjectRevoked?(issuer: string, subject: string): Promise<boolean>;
  /** Revocations at or after `since` (epoch ms); lets the agent endpoint close live connections cheaply. */
  listRevokedSince?(since: number): Promise<RevokedCredential[]>;
}

export interface AuthenticateOptions {
  /** Usually `store.identities`. */
  identities: IdentityLookup;
  /** Clock for certificate and token expiry checks (epoch ms). Default `Date.now`. */
  now?: () => number;
}

/**
 * Refuses requests with no identity, an unknown certificate serial, a revoked identity or subject, an
 * expired certificate or an expired access token, with JSON-RPC error -32001 and `data.airlock` =
 * `AIRLOCK_IDENTITY_MISSING` | `AIRLOCK_IDENTITY_UNKNOWN` | `AIRLOCK_IDENTITY_REVOKED` |
 * `AIRLOCK_IDENTITY_EXPIRED` | `AIRLOCK_TOKEN_EXPIRED`. A store failure fails closed (-32603
 * `AIRLOCK_IDENTITY_UNVERIFIABLE`). The allow decision names the identity and, when the agent acts for a
 * verified end user, `detail.endUser` (the audit stage records it).
 *
 * @example
 * const stages = [authenticate({ identities: store.identities })];
 */
export function authenticate(options: AuthenticateOptions): Stage {
  const now = options.now ?? Date.now;
  return (next) => async (ctx) => {
    const identity = ctx.identity;
    if (!identity) {
      throw deny(
        ctx,
        'AIRLOCK_IDENTITY_MISSING',
        'No authenticated identity: present a client certificate issued by the tenant CA or an access token',
      );
    }
    if (identity.authenticatedBy === 'bearer') await checkBearer(ctx, identity, options.identities, now());
    else await checkCertificate(ctx, identity, options.identities, now());
    const detail: Record<string, unknown> = { identity: identity.name };
    if (ctx.endUser) {
      detail.endUser = ctx.endUser.subject;
      detail.endUserIssuer = ctx.endUser.issuer;
    }
    recordDecision(ctx, { stage: 'authenticate', outcome: 'allow', detail });
    return next(ctx);
  };
}

async function checkCertificate(
  ctx: GatewayContext,
  identity: GatewayIdentity,
  identities: IdentityLookup,
  now: number,
): Promise<void> {
  let record: AgentIdentityRecord | undefined;
  try {
    record = await identities.getIdentityBySerial(identity.certSerial);
  } catch (cause) {
    throw unverifiable(ctx, cause);
  }
  if (!record || record.name !== identity.name) {
    throw deny(ctx, 'AIRLOCK_IDENTITY_UNKNOWN', `Identity '${identity.name}' is not known to this connector`);
  }
  if (record.revokedAt !== null) {
    throw deny(ctx, 'AIRLOCK_IDENTITY_REVOKED', `Identity '${identity.name}' has been revoked`);
  }
  if (record.notAfter <= now) {
    throw deny(ctx, 'AIRLOCK_IDENTITY_EXPIRED', `The certificate of identity '${identity.name}' has expired`);
  }
}

async function checkBearer(
  ctx: GatewayContext,
  identity: GatewayIdentity,
  identities: IdentityLookup,
  now: number,
): Promise<void> {
  if (identity.issuer === undefined || identity.subject === undefined || identity.expiresAt === undefined) {
    throw deny(
      ctx,
      'AIRLOCK_IDENTITY_UNKNOWN',
      `Token identity '${identity.name}' lacks its issuer, subject or expiry`,
    );
  }
  if (identity.expiresAt <= now) {
    throw deny(ctx, 'AIRLOCK_TOKEN_EXPIRED', `The access token of '${identity.name}' has expired`);
  }
  if (!identities.isSubjectRevoked) return;
  let revoked: boolean;
  try {
    revoked = await identities.isSubjectRevoked(identity.issuer, identity.subject);
  } catch (cause) {
    throw unverifiable(ctx, cause);
  }
  if (revoked) throw deny(ctx, 'AIRLOCK_IDENTITY_REVOKED', `Identity '${identity.name}' has been revoked`);
}

function unverifiable(ctx: GatewayContext, cause: unknown): WireError {
  recordDecision(ctx, {
    stage: 'authenticate',
    outcome: 'deny',
    code: 'AIRLOCK_IDENTITY_UNVERIFIABLE',
    reason: String(cause),
  });
  return new WireError(
    JSONRPC_INTERNAL_ERROR,
    'AIRLOCK_IDENTITY_UNVERIFIABLE',
    'The identity could not be verified right now (identity store unavailable); the request was refused',
  );
}

function deny(ctx: GatewayContext, code: string, message: string): WireError {
  recordDecision(ctx, { stage: 'authenticate', outcome: 'deny', code, reason: message });
  return new WireError(JSONRPC_UNAUTHENTICATED, code, message);
}
