/**
 * Stage 7 of the gateway: the tool's tier from policy (`tools` rules; a tool no rule names gets
 * `defaultTier`, which ships as `approve`).
 *
 * - `auto` → the call runs.
 * - `block` → -32003 `AIRLOCK_TOOL_BLOCKED` naming the tool.
 * - `approve` → the {@link ApprovalHook} is asked, bound to identity + tool + the exact validated
 *   arguments (`argsHash` = hex SHA-256 of their RFC 8785 canonical JSON):
 *   - `approved` → the call runs (decision `AIRLOCK_APPROVED` with the approval id and approver);
 *   - `denied` → a tool error result (`isError: true`) with the supervisor's reason;
 *   - `pending` → a tool error result naming the approval id and saying that the same call, retried
 *     once a supervisor approved it, will go through;
 *   - `expired` → a tool error result saying the request expired and a new call asks again;
 *   - no hook configured → -32003 `AIRLOCK_APPROVAL_UNAVAILABLE` (fail closed);
 *   - the hook throws → -32603 `AIRLOCK_APPROVAL_UNAVAILABLE` (fail closed).
 * - Other methods pass through.
 *
 * @example
 * const stage = tier({ policy: () => watcher.engine, approvals: queue });
 */
import { sha256Canonical } from '../catalog/canonical-hash.js';
import { JSONRPC_INTERNAL_ERROR, WireError } from '../errors/wire-error.js';
import type { ApprovalHook, ApprovalOutcome } from './approval-hook.js';
import { recordDecision } from './decision-channel.js';
import type { GatewayContext, Stage } from './gateway-context.js';
import { type PolicySource, requestedName, requireIdentity } from './policy-source.js';
import { JSONRPC_FORBIDDEN } from './refusal-codes.js';

/** Stage name in decisions. */
export const TIER_STAGE = 'tier';

export interface TierOptions {
  /** The policy in force (tiers), read per request. Usually `() => watcher.engine`. */
  policy: PolicySource;
  /** The approval queue. Without one, `approve`-tier calls are refused (`AIRLOCK_APPROVAL_UNAVAILABLE`). */
  approvals?: ApprovalHook;
}

/**
 * See the module comment.
 *
 * @example
 * compose([..., validate({ policy, definitions }), tier({ policy, approvals })], terminal);
 */
export function tier(options: TierOptions): Stage {
  return (next) => async (ctx) => {
    if (ctx.method !== 'tools/call') return next(ctx);
    const tool = requestedName(ctx);
    const level = options.policy().tierFor(tool);
    if (level === 'auto') {
      recordDecision(ctx, { stage: TIER_STAGE, outcome: 'allow', detail: { tool, tier: 'auto' } });
      return next(ctx);
    }
    if (level === 'block') {
      throw refuse(ctx, 'AIRLOCK_TOOL_BLOCKED', `Tool '${tool}' is blocked by policy`, {
        tool,
        tier: 'block',
      });
    }
    const identity = requireIdentity(ctx, TIER_STAGE);
    const hook = options.approvals;
    if (!hook) {
      throw refuse(
        ctx,
        'AIRLOCK_APPROVAL_UNAVAILABLE',
        `Tool '${tool}' needs a human approval, but no approval queue is configured on this connector`,
        { tool, tier: 'approve' },
      );
    }
    const args = argumentsOf(ctx);
    const argsHash = sha256Canonical(args);
    let outcome: ApprovalOutcome;
    try {
      outcome = await hook.request({
        identity,
        tool,
        arguments: args,
        argsHash,
        sessionId: ctx.sessionId,
        signal: ctx.signal,
        sendProgress: ctx.sendProgress,
      });
    } catch (cause) {
      recordDecision(ctx, {
        stage: TIER_STAGE,
        outcome: 'deny',
        code: 'AIRLOCK_APPROVAL_UNAVAILABLE',
        reason: cause instanceof Error ? cause.message : String(cause),
      });
      throw new WireError(
        JSONRPC_INTERNAL_ERROR,
        'AIRLOCK_APPROVAL_UNAVAILABLE',
        `Tool '${tool}' needs a human approval, but the approval queue could not be reached; the call was refused`,
        { tool, tier: 'approve' },
      );
    }
    switch (outcome.decision) {
      case 'approved':
        recordDecision(ctx, {
          stage: TIER_STAGE,
          outcome: 'allow',
          code: 'AIRLOCK_APPROVED',
          detail: {
            tool,
            tier: 'approve',
            approvalId: outcome.approvalId,
            approver: outcome.approver,
            argsHash,
          },
        });
        return next(ctx);
      case 'denied':
        return toolError(
          ctx,
          'AIRLOCK_APPROVAL_DENIED',
          `The call of tool '${tool}' was denied by ${outcome.approver}: ${outcome.reason}`,
          { approvalId: outcome.approvalId, approver: outcome.approver },
        );
      case 'pending':
        return toolError(
          ctx,
          'AIRLOCK_APPROVAL_PENDING',
          `The call of tool '${tool}' is waiting for a human approval (approval id ${outcome.approvalId}, expires ${new Date(outcome.expiresAt).toISOString()}). Once a supervisor approves it, retrying the same call with the same arguments will go through.`,
          { approvalId: outcome.approvalId, expiresAt: outcome.expiresAt },
        );
      case 'expired':
        return toolError(
          ctx,
          'AIRLOCK_APPROVAL_EXPIRED',
          `The approval request ${outcome.approvalId} for tool '${tool}' expired without a decision; calling the tool again asks for a new approval.`,
          { approvalId: outcome.approvalId },
        );
    }
  };
}

function argumentsOf(ctx: GatewayContext): Record<string, unknown> {
  const args = ctx.params.arguments;
  return args !== null && typeof args === 'object' && !Array.isArray(args)
    ? (args as Record<string, unknown>)
    : {};
}

function refuse(
  ctx: GatewayContext,
  code: string,
  message: string,
  data: Record<string, unknown>,
): WireError {
  recordDecision(ctx, { stage: TIER_STAGE, outcome: 'deny', code, reason: message });
  return new WireError(JSONRPC_FORBIDDEN, code, message, data);
}

function toolError(
  ctx: GatewayContext,
  code: string,
  text: string,
  detail: Record<string, unknown>,
): Record<string, unknown> {
  recordDecision(ctx, { stage: TIER_STAGE, outcome: 'deny', code, reason: text, detail });
  return { content: [{ type: 'text', text }], isError: true };
}
