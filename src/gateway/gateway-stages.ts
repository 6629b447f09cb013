/**
 * The gateway pipeline's stage list, in order. Every JSON-RPC request from an agent runs through these
 * stages (outermost first) and then the terminal handler, which routes to the upstream MCP server:
 *
 *   1. authenticate   identity exists in the store and is not revoked        (authenticate-stage.ts)
 *   2. budget         rate limit, turn budget, concurrency and size limits   (later issue)
 *   3. authorize      roles → allowed tools; hidden from tools/list too      (later issue)
 *   4. catalog        tool definition matches the pinned version; kill switch (later issue)
 *   5. validate       arguments against the tool's JSON Schema               (later issue)
 *   6. tier           auto / approve (approval queue) / block                (later issue)
 *   7. pii            de-tokenize arguments, tokenize results                (later issue)
 *   8. audit          record decisions and outcome                           (later issue)
 *   → terminal        route to the upstream (src/mcp/upstream-catalog.ts)
 *
 * Adding a stage: write `src/gateway/<name>-stage.ts` exporting `(options) => Stage`, then add one line
 * below. A stage refuses by throwing a `WireError`, appends its verdict with `recordDecision`, may rewrite
 * `ctx.params` before `next(ctx)` and may post-process the result after it.
 */
import { authenticate, type IdentityLookup } from './authenticate-stage.js';
import type { Stage } from './gateway-context.js';

export interface GatewayStageDeps {
  /** Usually `store.identities`. */
  identities: IdentityLookup;
  /** Clock (epoch ms). Default `Date.now`. */
  now?: () => number;
}

/**
 * The standard stage list for a connector.
 *
 * @example
 * const endpoint = new AgentMcpEndpoint({ catalog, stages: gatewayStages({ identities: store.identities }) });
 */
export function gatewayStages(deps: GatewayStageDeps): Stage[] {
  return [authenticate({ identities: deps.identities, now: deps.now })];
}
