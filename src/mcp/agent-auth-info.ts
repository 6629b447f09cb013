/**
 * How the transport layer (the connector's TLS termination) hands the authenticated identity to the MCP
 * endpoint: as the SDK's pass-through `AuthInfo` (`req.auth` for `toNodeHandler`, `authInfo` for
 * `fetch`). The identity lives under `extra.airlockIdentity`; nothing is derived from request headers.
 */
import type { AuthInfo } from '@modelcontextprotocol/server';
import type { GatewayIdentity } from '../gateway/gateway-context.js';

const KEY = 'airlockIdentity';

/**
 * Wraps an identity as SDK `AuthInfo`.
 *
 * @example
 * (req as IncomingMessage & { auth?: AuthInfo }).auth = authInfoForIdentity(identity);
 */
export function authInfoForIdentity(identity: GatewayIdentity): AuthInfo {
  return { token: '', clientId: identity.name, scopes: [], extra: { [KEY]: identity } };
}

/** The identity inside `AuthInfo`, or undefined when there is none. */
export function identityFromAuthInfo(authInfo: AuthInfo | undefined): GatewayIdentity | undefined {
  const value = authInfo?.extra?.[KEY];
  if (value === null || typeof value !== 'object') return undefined;
  const v = value as Partial<GatewayIdentity>;
  if (typeof v.name !== 'string' || typeof v.certSerial !== 'string' || typeof v.spiffeId !== 'string')
    return undefined;
  if (v.authenticatedBy !== 'mtls' && v.authenticatedBy !== 'bearer') return undefined;
  return { name: v.name, spiffeId: v.spiffeId, certSerial: v.certSerial, authenticatedBy: v.authenticatedBy };
}
