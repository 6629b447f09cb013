/**
 * How the transport layer (the connector's TLS termination) hands the authenticated identity to the MCP
 * endpoint: as the SDK's pass-through `AuthInfo` (`req.auth` for `toNodeHandler`, `authInfo` for
 * `fetch`). The identity lives under `extra.airlockIdentity`, the verified end user (if any) under
 * `extra.airlockEndUser`; nothing is derived from request headers. `AuthInfo.token` is always empty:
 * the agent's access token never travels past the TLS termination.
 */
import type { AuthInfo } from '@modelcontextprotocol/server';
import type { EndUser, GatewayIdentity } from '../gateway/gateway-context.js';

const KEY = 'airlockIdentity';
const END_USER_KEY = 'airlockEndUser';

/**
 * Wraps an identity (and the end user it acts for, if any) as SDK `AuthInfo`.
 *
 * @example
 * (req as IncomingMessage & { auth?: AuthInfo }).auth = authInfoForIdentity(identity);
 */
export function authInfoForIdentity(identity: GatewayIdentity, endUser?: EndUser): AuthInfo {
  const info: AuthInfo = {
    token: '',
    clientId: identity.clientId ?? identity.name,
    scopes: identity.scopes ? [...identity.scopes] : [],
    extra: endUser ? { [KEY]: identity, [END_USER_KEY]: endUser } : { [KEY]: identity },
  };
  if (identity.expiresAt !== undefined) info.expiresAt = Math.floor(identity.expiresAt / 1000);
  return info;
}

/** The identity inside `AuthInfo`, or undefined when there is none. */
export function identityFromAuthInfo(authInfo: AuthInfo | undefined): GatewayIdentity | undefined {
  const value = authInfo?.extra?.[KEY];
  if (value === null || typeof value !== 'object') return undefined;
  const v = value as Partial<GatewayIdentity>;
  if (typeof v.name !== 'string' || typeof v.certSerial !== 'string' || typeof v.spiffeId !== 'string')
    return undefined;
  if (v.authenticatedBy !== 'mtls' && v.authenticatedBy !== 'bearer') return undefined;
  const identity: GatewayIdentity = {
    name: v.name,
    spiffeId: v.spiffeId,
    certSerial: v.certSerial,
    authenticatedBy: v.authenticatedBy,
  };
  if (typeof v.subject === 'string') identity.subject = v.subject;
  if (typeof v.clientId === 'string') identity.clientId = v.clientId;
  if (typeof v.issuer === 'string') identity.issuer = v.issuer;
  if (Array.isArray(v.scopes)) identity.scopes = v.scopes.filter((s) => typeof s === 'string');
  if (typeof v.expiresAt === 'number') identity.expiresAt = v.expiresAt;
  if (typeof v.dpopJkt === 'string') identity.dpopJkt = v.dpopJkt;
  return identity;
}

/**
 * The verified end user inside `AuthInfo` (set by the TLS termination from `X-Airlock-End-User`), or
 * undefined. The MCP endpoint puts it on `GatewayContext.endUser`.
 *
 * @example
 * const gatewayCtx = { identity: identityFromAuthInfo(info), endUser: endUserFromAuthInfo(info), ... };
 */
export function endUserFromAuthInfo(authInfo: AuthInfo | undefined): EndUser | undefined {
  const value = authInfo?.extra?.[END_USER_KEY];
  if (value === null || typeof value !== 'object') return undefined;
  const v = value as Partial<EndUser>;
  if (typeof v.subject !== 'string' || typeof v.issuer !== 'string') return undefined;
  const endUser: EndUser = { subject: v.subject, issuer: v.issuer };
  if (typeof v.expiresAt === 'number') endUser.expiresAt = v.expiresAt;
  if (v.claims !== null && typeof v.claims === 'object') endUser.claims = v.claims;
  return endUser;
}

/**
 * A key that names one identity unambiguously across authentication methods (a token whose `sub`
 * equals a certificate name is a different identity): `mtls:<name>` or `bearer:<issuer> <subject>`.
 * Use it wherever ownership is compared (sessions, streams).
 *
 * @example
 * identityKey({ name: 'claims-bot', spiffeId: '…', certSerial: '4a', authenticatedBy: 'mtls' }) // 'mtls:claims-bot'
 */
export function identityKey(identity: GatewayIdentity): string {
  if (identity.authenticatedBy === 'bearer') {
    return `bearer:${identity.issuer ?? ''} ${identity.subject ?? identity.name}`;
  }
  return `mtls:${identity.name}`;
}
