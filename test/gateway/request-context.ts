/**
 * The `GatewayContext` of one agent request, for tests that drive stages directly (no transport): a
 * `modern` request from `claims-bot` (mTLS) unless the test says otherwise.
 *
 * @example
 * await compose([authorize({ policy })], terminal)(requestContext('tools/call', { name: 'erp.refund' }));
 * requestContext('tools/list', {}, { identity: undefined, era: 'legacy' });
 */
import type { GatewayContext, GatewayIdentity } from '../../src/gateway/gateway-context.js';

/** The agent most stage tests speak for: `claims-bot`, authenticated by its client certificate. */
export const CLAIMS_BOT: GatewayIdentity = {
  name: 'claims-bot',
  spiffeId: 'spiffe://acme.localhost/agent/claims-bot',
  certSerial: '0a',
  authenticatedBy: 'mtls',
};

/** A fresh context (own abort signal, no decisions yet) for `method` with `params`; `overrides` win. */
export function requestContext(
  method: string,
  params: Record<string, unknown> = {},
  overrides: Partial<GatewayContext> = {},
): GatewayContext {
  return {
    identity: CLAIMS_BOT,
    era: 'modern',
    sessionId: undefined,
    method,
    params,
    requestId: 1,
    signal: new AbortController().signal,
    progressToken: undefined,
    sendProgress: async () => {},
    decisions: [],
    startedAt: Date.now(),
    ...overrides,
  };
}
