/**
 * Stage 1 of the gateway: the workload must be a known, non-revoked identity of this tenant. The store is
 * consulted on EVERY request (no cache), so a revocation takes effect on the agent's next request, even
 * inside a live session.
 */
import { JSONRPC_INTERNAL_ERROR, WireError } from '../errors/wire-error.js';
import type { AgentIdentityRecord } from '../store/store.js';
import { recordDecision } from './decision-channel.js';
import type { GatewayContext, Stage } from './gateway-context.js';

/** JSON-RPC error code (server-defined range) for requests whose identity is missing, unknown or revoked. */
export const JSONRPC_UNAUTHENTICATED = -32001;

/** The part of the store's identity repository this stage needs. */
export interface IdentityLookup {
  getIdentityBySerial(certSerial: string): Promise<AgentIdentityRecord | undefined>;
}

export interface AuthenticateOptions {
  /** Usually `store.identities`. */
  identities: IdentityLookup;
  /** Clock for certificate expiry checks (epoch ms). Default `Date.now`. */
  now?: () => number;
}

/**
 * Refuses requests with no identity, an unknown certificate serial, a revoked identity or an expired
 * certificate, with JSON-RPC error -32001 and `data.airlock` = `AIRLOCK_IDENTITY_MISSING` |
 * `AIRLOCK_IDENTITY_UNKNOWN` | `AIRLOCK_IDENTITY_REVOKED` | `AIRLOCK_IDENTITY_EXPIRED`. A store failure
 * fails closed (-32603 `AIRLOCK_IDENTITY_UNVERIFIABLE`).
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
        'No authenticated identity: present a client certificate issued by the tenant CA',
      );
    }
    let record: AgentIdentityRecord | undefined;
    try {
      record = await options.identities.getIdentityBySerial(identity.certSerial);
    } catch (cause) {
      recordDecision(ctx, {
        stage: 'authenticate',
        outcome: 'deny',
        code: 'AIRLOCK_IDENTITY_UNVERIFIABLE',
        reason: String(cause),
      });
      throw new WireError(
        JSONRPC_INTERNAL_ERROR,
        'AIRLOCK_IDENTITY_UNVERIFIABLE',
        'The identity could not be verified right now (identity store unavailable); the request was refused',
      );
    }
    if (!record || record.name !== identity.name) {
      throw deny(
        ctx,
        'AIRLOCK_IDENTITY_UNKNOWN',
        `Identity '${identity.name}' is not known to this connector`,
      );
    }
    if (record.revokedAt !== null) {
      throw deny(ctx, 'AIRLOCK_IDENTITY_REVOKED', `Identity '${identity.name}' has been revoked`);
    }
    if (record.notAfter <= now()) {
      throw deny(
        ctx,
        'AIRLOCK_IDENTITY_EXPIRED',
        `The certificate of identity '${identity.name}' has expired`,
      );
    }
    recordDecision(ctx, { stage: 'authenticate', outcome: 'allow', detail: { identity: identity.name } });
    return next(ctx);
  };
}

function deny(ctx: GatewayContext, code: string, message: string): WireError {
  recordDecision(ctx, { stage: 'authenticate', outcome: 'deny', code, reason: message });
  return new WireError(JSONRPC_UNAUTHENTICATED, code, message);
}
