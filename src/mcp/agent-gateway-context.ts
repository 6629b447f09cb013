/**
 * The `GatewayContext` of an agent request, built from what the SDK hands a request handler (or, for a
 * 2026-07-28 `subscriptions/listen`, from the HTTP request the SDK will serve).
 *
 * @example
 * const gatewayCtx = gatewayContextFor('legacy', 'tools/call', params, serverCtx);
 */
import type { AuthInfo, ServerContext } from '@modelcontextprotocol/server';
import type { GatewayContext, GatewayEra, ProgressUpdate } from '../gateway/gateway-context.js';
import { identityFromAuthInfo } from './agent-auth-info.js';

/**
 * The context of one agent request (params copied; `inputResponses` and `requestState` lifted back in).
 * `keepAlive` runs when a stage reports progress the agent did not ask for (no progress token), e.g. a
 * call held for an approval: it keeps the agent's connection alive instead (agent-keep-alive.ts).
 */
export function gatewayContextFor(
  era: GatewayEra,
  method: string,
  params: unknown,
  ctx: ServerContext,
  keepAlive?: () => void,
): GatewayContext {
  const progressToken = ctx.mcpReq._meta?.progressToken;
  const requestParams: Record<string, unknown> =
    params !== null && typeof params === 'object' ? { ...(params as Record<string, unknown>) } : {};
  // A multi-round-trip retry: the SDK lifted these out of the params; stages and upstreams see them.
  if (ctx.mcpReq.inputResponses !== undefined) requestParams.inputResponses = ctx.mcpReq.inputResponses;
  const requestState = ctx.mcpReq.requestState<unknown>();
  if (typeof requestState === 'string') requestParams.requestState = requestState;
  return {
    identity: identityFromAuthInfo(ctx.http?.authInfo),
    era,
    sessionId: ctx.sessionId,
    method,
    params: requestParams,
    requestId: ctx.mcpReq.id,
    signal: ctx.mcpReq.signal,
    progressToken,
    sendProgress: async (update: ProgressUpdate) => {
      if (ctx.mcpReq.signal.aborted) return;
      if (progressToken === undefined) return keepAlive?.();
      await ctx.mcpReq.notify({ method: 'notifications/progress', params: { ...update, progressToken } });
    },
    decisions: [],
    startedAt: Date.now(),
  };
}

/** The context of a 2026-07-28 `subscriptions/listen` (admitted before the SDK serves the stream). */
export function listenGatewayContext(
  request: Request,
  authInfo: AuthInfo | undefined,
  uris: string[],
): GatewayContext {
  return {
    identity: identityFromAuthInfo(authInfo),
    era: 'modern',
    sessionId: undefined,
    method: 'subscriptions/listen',
    params: { resourceSubscriptions: uris },
    requestId: 'listen',
    signal: request.signal,
    progressToken: undefined,
    sendProgress: async () => {},
    decisions: [],
    startedAt: Date.now(),
  };
}
