/**
 * The gateway identity as the policy engine sees it. mTLS identities are matched by name and SPIFFE id;
 * bearer identities by token subject / client id / issuer when the transport supplies them (read
 * structurally, so the OAuth edge can add those fields to `GatewayIdentity` without changing this file).
 *
 * @example
 * engine.canCall(policySubject(ctx.identity), 'erp.list_claims');
 */
import type { PolicySubject } from '../policy/policy-engine.js';
import type { GatewayIdentity } from './gateway-context.js';

interface BearerFields {
  subject?: unknown;
  clientId?: unknown;
  issuer?: unknown;
}

const cache = new WeakMap<GatewayIdentity, PolicySubject>();

/** The `PolicySubject` of a gateway identity (memoized per identity object). */
export function policySubject(identity: GatewayIdentity): PolicySubject {
  const hit = cache.get(identity);
  if (hit) return hit;
  const subject: PolicySubject = {
    authenticatedBy: identity.authenticatedBy,
    name: identity.name,
    spiffeId: identity.spiffeId,
  };
  if (identity.authenticatedBy === 'bearer') {
    const extra = identity as GatewayIdentity & BearerFields;
    if (typeof extra.subject === 'string') subject.subject = extra.subject;
    if (typeof extra.clientId === 'string') subject.clientId = extra.clientId;
    if (typeof extra.issuer === 'string') subject.issuer = extra.issuer;
  }
  cache.set(identity, subject);
  return subject;
}

/** A stable per-identity key for budgets: `mtls:claims-bot`, `bearer:<subject or name>`. */
export function identityKey(identity: GatewayIdentity): string {
  const extra = identity as GatewayIdentity & BearerFields;
  const id =
    identity.authenticatedBy === 'bearer' && typeof extra.subject === 'string'
      ? `${typeof extra.issuer === 'string' ? extra.issuer : ''}#${extra.subject}`
      : identity.name;
  return `${identity.authenticatedBy}:${id}`;
}
