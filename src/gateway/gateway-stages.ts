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
 *   8. audit          record decisions and outcome (src/audit/audit-stage.ts): placed OUTERMOST, so it
 *                     also records what earlier stages refused; fails closed when the trail cannot be
 *                     written. `upstreamTiming()` goes last to record upstream latency.
 *   → terminal        route to the upstream (src/mcp/upstream-catalog.ts)
 *
 * Adding a stage: write `src/gateway/<name>-stage.ts` exporting `(options) => Stage`, then add one line
 * below. A stage refuses by throwing a `WireError`, appends its verdict with `recordDecision`, may rewrite
 * `ctx.params` before `next(ctx)` and may post-process the result after it.
 */
import { type AuditAppender, auditStage } from '../audit/audit-stage.js';
import { upstreamTiming } from '../audit/upstream-timing-stage.js';
import { authenticate, type IdentityLookup } from './authenticate-stage.js';
import type { Stage } from './gateway-context.js';

export interface GatewayStageDeps {
  /** Usually `store.identities`. */
  identities: IdentityLookup;
  /** Clock (epoch ms). Default `Date.now`. */
  now?: () => number;
  /** The audit ledger (`AuditLedger`): one entry per request, written before the answer. */
  audit?: AuditAppender;
}

/**
 * The standard stage list for a connector.
 *
 * @example
 * const endpoint = new AgentMcpEndpoint({ catalog, stages: gatewayStages({ identities: store.identities }) });
 */
export function gatewayStages(deps: GatewayStageDeps): Stage[] {
  const stages: Stage[] = [authenticate({ identities: deps.identities, now: deps.now })];
  return withAudit(deps, stages);
}

/** Audit outermost, upstream timing innermost (see src/audit/audit-stage.ts). */
function withAudit(deps: GatewayStageDeps, stages: Stage[]): Stage[] {
  if (!deps.audit) return stages;
  return [auditStage({ ledger: deps.audit }), ...stages, upstreamTiming()];
}
