/**
 * The gateway pipeline's stage list, in order. Every JSON-RPC request from an agent runs through these
 * stages (outermost first) and then the terminal handler, which routes to the upstream MCP server:
 *
 *   audit          OUTERMOST: one entry per request, also for refusals by later stages; written before
 *                  the answer; fails closed when the trail cannot be written (src/gateway/stages/audit-stage.ts)
 *   1. authenticate   identity exists in the store, not revoked, token unexpired (authenticate-stage.ts)
 *   2. budget         rate limit, turn budget, concurrency, sizes, upstream timeout (budget-stage.ts)
 *   3. pii            de-tokenize arguments and URIs / tokenize results (src/gateway/stages/pii-stage.ts); before
 *                     authorization and validation, so policy and schemas see the real values
 *   4. authorize      roles → allowed tools; forbidden ones absent from lists too  (authorize-stage.ts)
 *   5. catalog        definition matches its pin; quarantine; kill switch         (catalog-stage.ts)
 *   6. validate       arguments against the pinned JSON Schema (+ policy overlay); strip extras
 *   7. tier           auto / approve (the approval hook) / block                   (tier-stage.ts)
 *   upstreamTiming  INNERMOST: upstream latency for the audit entry
 *   → terminal        route to the upstream (src/mcp/upstream-catalog.ts)
 *
 * Adding a stage: write `src/gateway/<name>-stage.ts` exporting `(options) => Stage`, then add one line
 * below. A stage refuses by throwing a `WireError`, appends its verdict with `recordDecision`, may rewrite
 * `ctx.params` before `next(ctx)` and may post-process the result after it.
 */

import type { ApprovalHook } from './approval-hook.js';
import type { Stage } from './gateway-context.js';
import type { PolicySource } from './policy-source.js';
import { type AuditAppender, auditStage } from './stages/audit-stage.js';
import { authenticate, type IdentityLookup } from './stages/authenticate-stage.js';
import { authorize } from './stages/authorize-stage.js';
import { budget } from './stages/budget-stage.js';
import { type CatalogStageOptions, catalogStage } from './stages/catalog-stage.js';
import { type ApprovalTokenIssuer, tier } from './stages/tier-stage.js';
import { upstreamTiming } from './stages/upstream-timing-stage.js';
import { type ValidateOptions, validate } from './stages/validate-stage.js';

export interface GatewayStageDeps {
  /** Usually `store.identities`. */
  identities: IdentityLookup;
  /** Clock (epoch ms). Default `Date.now`. */
  now?: () => number;
  /** The audit ledger (`AuditLedger`): one entry per request, written before the answer. */
  audit?: AuditAppender;
  /**
   * The policy in force (`() => watcher.engine`). With it come budget, authorize, validate and tier;
   * without it only authentication (and audit) run — for tests of the transport, never a connector.
   */
  policy?: PolicySource;
  /** Pinned tool definitions and the kill switch (`ToolPinning`). Needed with `policy`. */
  pinning?: CatalogStageOptions['pinning'] & ValidateOptions['definitions'];
  /** The human approval queue for the `approve` tier; without it such calls are refused. */
  approvals?: ApprovalHook;
  /** Signs the approval token an approved call carries to its upstream (`ApprovalTokenSigner`). */
  approvalTokens?: ApprovalTokenIssuer;
  /** De-tokenize arguments / tokenize results (`piiStage`), placed before authorization. */
  pii?: Stage;
}

/**
 * The standard stage list for a connector.
 *
 * @example
 * const stages = gatewayStages({ identities: store.identities, audit: ledger, policy: () => watcher.engine, pinning, approvals, pii });
 */
export function gatewayStages(deps: GatewayStageDeps): Stage[] {
  const stages: Stage[] = [authenticate({ identities: deps.identities, now: deps.now })];
  if (deps.policy) {
    if (!deps.pinning) throw new TypeError('gatewayStages: a policy needs the tool pinning (catalog) too');
    const policy = deps.policy;
    stages.push(
      budget({ policy, ...(deps.now ? { now: deps.now } : {}) }),
      // De-tokenized before authorization, so policy decides on the URI and arguments the upstream gets.
      ...(deps.pii ? [deps.pii] : []),
      authorize({ policy }),
      catalogStage({ pinning: deps.pinning }),
      validate({ policy, definitions: deps.pinning }),
      tier({
        policy,
        ...(deps.approvals ? { approvals: deps.approvals } : {}),
        ...(deps.approvalTokens ? { approvalTokens: deps.approvalTokens } : {}),
        ...(deps.now ? { now: deps.now } : {}),
      }),
    );
  } else if (deps.pii) {
    stages.push(deps.pii);
  }
  return withAudit(deps, stages);
}

/** Audit outermost, upstream timing innermost (see src/gateway/stages/audit-stage.ts). */
function withAudit(deps: GatewayStageDeps, stages: Stage[]): Stage[] {
  if (!deps.audit) return stages;
  return [auditStage({ ledger: deps.audit }), ...stages, upstreamTiming()];
}
