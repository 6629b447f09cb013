/**
 * The gateway identity as the policy engine sees it: mTLS identities are matched by name and SPIFFE id,
 * bearer identities by the token's subject / client id / issuer.
 *
 * @example
 * engine.canCall(policySubject(ctx.identity), 'erp.list_claims');
 */
import type { PolicySubject } from '../policy/policy-engine.js';
import type { GatewayIdentity } from './gateway-context.js';

/** The `PolicySubject` of a gateway identity. */
export function policySubject(identity: GatewayIdentity): PolicySubject {
  if (identity.authenticatedBy === 'bearer') {
    return {
      authenticatedBy: 'bearer',
      subject: identity.subject,
      clientId: identity.clientId,
      issuer: identity.issuer,
    };
  }
  return { authenticatedBy: 'mtls', name: identity.name, spiffeId: identity.spiffeId };
}

/**
 * A stable per-identity key for budgets: `mtls:claims-bot`, or `bearer:<issuer>#<subject>` (a bearer
 * identity without a subject falls back to its name, i.e. its client id).
 */
export function identityKey(identity: GatewayIdentity): string {
  if (identity.authenticatedBy === 'bearer') {
    return identity.subject !== undefined
      ? `bearer:${identity.issuer ?? ''}#${identity.subject}`
      : `bearer:${identity.issuer ?? ''}#client:${identity.clientId ?? identity.name}`;
  }
  return `mtls:${identity.name}`;
}
