/**
 * Session-scoped tokens (`pii.tokenScope: session`): which scope a request or a message towards an
 * agent belongs to, and the refusal of a token issued in another one.
 *
 * The scope is the 2025-11-25 `Mcp-Session-Id` when there is one; stateless 2026-07-28 requests have no
 * session, so their scope is the agent identity (each agent gets its own tokens).
 *
 * @example
 * tokenScopeOf('session', { sessionId: 'b7c…', identity: 'claims-bot' }) // 'session:b7c…'
 * tokenScopeOf('tenant', { sessionId: 'b7c…', identity: 'claims-bot' }) // undefined (tenant-wide)
 */
import { JSONRPC_INVALID_PARAMS, WireError } from '../errors/wire-error.js';
import type { PiiTokenScope } from './pii-policy.js';

/** A token of this tenant issued in another session (session scope): refused with -32602. */
export const PII_TOKEN_SCOPE_ERROR = 'AIRLOCK_PII_TOKEN_SCOPE';

/** Who a message belongs to, for the token scope. */
export interface TokenScopeSource {
  /** 2025-11-25 `Mcp-Session-Id`. */
  sessionId?: string | undefined;
  /** Agent identity name (stateless 2026-07-28 requests). */
  identity?: string | undefined;
}

/** The vault scope for `source` under `mode`: undefined for tenant-wide tokens. */
export function tokenScopeOf(mode: PiiTokenScope, source: TokenScopeSource): string | undefined {
  if (mode === 'tenant') return undefined;
  if (source.sessionId) return `session:${source.sessionId}`;
  return `identity:${source.identity ?? ''}`;
}

/** The agent passed a token issued in another session (`pii.tokenScope: session`). */
export function tokenScopeError(token: string): WireError {
  return new WireError(
    JSONRPC_INVALID_PARAMS,
    PII_TOKEN_SCOPE_ERROR,
    `PII token ${token} was issued in another session: with pii.tokenScope 'session' tokens are only valid in the session that received them. Use the token this session's results returned.`,
    { token },
  );
}
