/**
 * Stage 7 of the gateway: the call's tier from policy — the first `tools` rule whose `match` matches
 * and whose `when` conditions hold for this call (arguments, agent, end user, time on the injected
 * clock); a call no rule decides gets `defaultTier`, which ships as `approve`. Decisions and refusals
 * name the deciding rule (`detail.rule`, and the message).
 *
 * - `auto` → the call runs.
 * - `block` → -32003 `AIRLOCK_TOOL_BLOCKED` naming the tool and the rule — unless the approval hook
 *   has a break-glass override (`useOverride`, src/approvals/block-overrides.ts) confirmed by a second
 *   admin for exactly this identity, tool and `argsHash`: it is consumed and the call runs once
 *   (decision `AIRLOCK_OVERRIDE_USED` with the override id; an approval token names both admins).
 *   When the override store cannot be read the call stays blocked (fail closed).
 * - `approve` → the {@link ApprovalHook} is asked, bound to identity + tool + the exact validated
 *   arguments (`argsHash` = hex SHA-256 of their RFC 8785 canonical JSON):
 *   - `approved` → the call runs (decision `AIRLOCK_APPROVED` with the approval id and approver); with
 *     `approvalTokens`, a short-lived signed approval token goes with it in
 *     `params._meta["airlock/approval"]` (see src/approvals/approval-token.ts), so the upstream can
 *     verify the approval itself; when the token cannot be signed the call is refused (-32603
 *     `AIRLOCK_APPROVAL_TOKEN_UNAVAILABLE`);
 *   - a rule with `approvers: N` (two-person rule) passes `quorum` to the hook, and an `approved`
 *     outcome runs only when it names N distinct approvers (`approvers`); otherwise a tool error
 *     `AIRLOCK_APPROVAL_QUORUM_UNMET` (fail closed, e.g. with a queue that knows no quorum);
 *   - `denied` → a tool error result (`isError: true`) with the supervisor's reason;
 *   - `pending` → a tool error result naming the approval id and saying that the same call, retried
 *     once a supervisor approved it, will go through;
 *   - `expired` → a tool error result saying the request expired and a new call asks again;
 *   - no hook configured → -32003 `AIRLOCK_APPROVAL_UNAVAILABLE` (fail closed);
 *   - the hook throws → -32603 `AIRLOCK_APPROVAL_UNAVAILABLE` (fail closed).
 * - A condition that cannot be evaluated → -32603 `AIRLOCK_POLICY_CONDITION_FAILED` (fail closed).
 * - Other methods pass through.
 *
 * @example
 * const stage = tier({ policy: () => watcher.engine, approvals: queue, approvalTokens: signer });
 */

import { JSONRPC_INTERNAL_ERROR, type WireError } from '../../errors/wire-error.js';
import { sha256Canonical } from '../../json/canonical-hash.js';
import {
  type ApprovalQuorum,
  type RuleRef,
  ruleLabel,
  type TierDecision,
} from '../../policy/policy-engine.js';
import type { ApprovalHook, ApprovalOutcome, ApprovalRequest } from '../approval-hook.js';
import { recordDecision } from '../decision-channel.js';
import type { GatewayContext, GatewayIdentity, Handler, Stage } from '../gateway-context.js';
import { whileClockPaused } from '../gateway-context.js';
import { type PolicySource, requestedName, requireIdentity } from '../policy-source.js';
import { policySubject } from '../policy-subject.js';
import { JSONRPC_FORBIDDEN } from '../refusal-codes.js';
import { refuseAt } from '../stage-refusal.js';
import { type HoldAnnouncement, holdAnnouncement } from './tier-stage-held.js';

/** `_meta` key carrying the approval token to the upstream. */
export const APPROVAL_TOKEN_META_KEY = 'airlock/approval';

/** What the approval token of one approved call states. */
export interface ApprovalTokenClaims {
  approvalId: string;
  /** Who approved (one entry per approver). */
  approvers: string[];
  /** Namespaced tool name, as the policy and the approver saw it. */
  tool: string;
  /** Hex SHA-256 of the RFC 8785 canonical JSON of the exact arguments the upstream receives. */
  argsHash: string;
  /** The agent the call is for. */
  agent: GatewayIdentity;
}

/** Signs approval tokens (`ApprovalTokenSigner` in src/approvals/approval-token.ts). */
export interface ApprovalTokenIssuer {
  sign(claims: ApprovalTokenClaims): Promise<string>;
}

/** Stage name in decisions. */
export const TIER_STAGE = 'tier';

export interface TierOptions {
  /** The policy in force (tiers), read per request. Usually `() => watcher.engine`. */
  policy: PolicySource;
  /** The approval queue. Without one, `approve`-tier calls are refused (`AIRLOCK_APPROVAL_UNAVAILABLE`). */
  approvals?: ApprovalHook;
  /** Signs an approval token for every approved call (see the module comment). Default: none. */
  approvalTokens?: ApprovalTokenIssuer;
  /** Clock for `when.time` conditions (epoch ms). Default `Date.now`. */
  now?: () => number;
}

/**
 * See the module comment.
 *
 * @example
 * compose([..., validate({ policy, definitions }), tier({ policy, approvals })], terminal);
 */
export function tier(options: TierOptions): Stage {
  const now = options.now ?? Date.now;
  return (next) => async (ctx) => {
    if (ctx.method !== 'tools/call') return next(ctx);
    const tool = requestedName(ctx);
    dropAgentApprovalToken(ctx);
    const args = argumentsOf(ctx);
    const decided = decide(ctx, options, tool, args, now());
    const rule = decided.rule;
    const ruleDetail = rule ? { rule: rule.name, ruleIndex: rule.index } : {};
    if (decided.tier === 'auto') {
      recordDecision(ctx, {
        stage: TIER_STAGE,
        outcome: 'allow',
        detail: { tool, tier: 'auto', ...ruleDetail },
      });
      return next(ctx);
    }
    if (decided.tier === 'block') {
      const overridden = await runOverride(ctx, next, options, { tool, args, ruleDetail });
      if (overridden) return overridden.result;
      throw refuse(ctx, 'AIRLOCK_TOOL_BLOCKED', `Tool '${tool}' is blocked by policy${byRule(rule)}`, {
        tool,
        tier: 'block',
        ...ruleDetail,
      });
    }
    return approveThenRun(ctx, next, options, { tool, args, decided });
  };
}

/** The `approve` tier: ask the hook, then run (with an approval token), or answer why not. */
async function approveThenRun(
  ctx: GatewayContext,
  next: Handler,
  options: TierOptions,
  call: { tool: string; args: Record<string, unknown>; decided: TierDecision },
): Promise<unknown> {
  const { tool, args, decided } = call;
  const rule = decided.rule;
  const ruleDetail = rule ? { rule: rule.name, ruleIndex: rule.index } : {};
  const identity = requireIdentity(ctx, TIER_STAGE);
  const hook = options.approvals;
  if (!hook) {
    throw refuse(
      ctx,
      'AIRLOCK_APPROVAL_UNAVAILABLE',
      `Tool '${tool}' needs a human approval${byRule(rule)}, but no approval queue is configured on this connector`,
      { tool, tier: 'approve', ...ruleDetail },
    );
  }
  const argsHash = sha256Canonical(args);
  const outcome = await ask(ctx, hook, { identity, tool, args, argsHash, quorum: decided.quorum });
  switch (outcome.decision) {
    case 'approved': {
      const approvers = approversOf(outcome);
      const quorum = decided.quorum;
      if (quorum && new Set(approvers).size < quorum.approvers) {
        // Fail closed: a queue that does not report enough distinct approvers cannot satisfy the rule.
        return toolError(
          ctx,
          'AIRLOCK_APPROVAL_QUORUM_UNMET',
          `The call of tool '${tool}' needs ${quorum.approvers} distinct approvers${byRule(rule)}, but was approved by ${approvers.join(', ')} only; it did not run.`,
          { approvalId: outcome.approvalId, approvers, required: quorum.approvers },
        );
      }
      recordDecision(ctx, {
        stage: TIER_STAGE,
        outcome: 'allow',
        code: 'AIRLOCK_APPROVED',
        detail: {
          tool,
          tier: 'approve',
          approvalId: outcome.approvalId,
          approver: outcome.approver,
          approvers,
          argsHash,
          ...ruleDetail,
        },
      });
      if (options.approvalTokens) {
        const claims = { approvalId: outcome.approvalId, approvers, tool, argsHash, agent: identity };
        await attachApprovalToken(ctx, options.approvalTokens, claims);
      }
      return next(ctx);
    }
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
        `The call of tool '${tool}' is waiting for a human approval${byRule(rule)} (approval id ${outcome.approvalId}, expires ${new Date(outcome.expiresAt).toISOString()}). Once a supervisor approves it, retrying the same call with the same arguments will go through.`,
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
}

/** Break-glass: runs a blocked call when a confirmed override for exactly this call exists. */
async function runOverride(
  ctx: GatewayContext,
  next: Handler,
  options: TierOptions,
  call: { tool: string; args: Record<string, unknown>; ruleDetail: Record<string, unknown> },
): Promise<{ result: unknown } | undefined> {
  const use = options.approvals?.useOverride;
  if (!use || !ctx.identity) return undefined;
  const argsHash = sha256Canonical(call.args);
  const grant = await use
    .call(options.approvals, { identity: ctx.identity, tool: call.tool, argsHash })
    .catch((cause: unknown) => {
      // Fail closed: the call stays blocked; the decision says why no override was looked at.
      const why = cause instanceof Error ? cause.message : String(cause);
      recordDecision(ctx, {
        stage: TIER_STAGE,
        outcome: 'deny',
        code: 'AIRLOCK_APPROVAL_UNAVAILABLE',
        reason: `break-glass overrides could not be checked: ${why}`,
      });
      return undefined;
    });
  if (!grant) return undefined;
  const approvers = [grant.requestedBy, ...(grant.confirmedBy ? [grant.confirmedBy] : [])];
  recordDecision(ctx, {
    stage: TIER_STAGE,
    outcome: 'allow',
    code: 'AIRLOCK_OVERRIDE_USED',
    reason: grant.reason,
    detail: { tool: call.tool, tier: 'block', overrideId: grant.id, approvers, argsHash, ...call.ruleDetail },
  });
  if (options.approvalTokens) {
    const claims = { approvalId: grant.id, approvers, tool: call.tool, argsHash, agent: ctx.identity };
    await attachApprovalToken(ctx, options.approvalTokens, claims);
  }
  return { result: await next(ctx) };
}

/** The policy's tier decision for this call; a condition that throws refuses the call (fail closed). */
function decide(
  ctx: GatewayContext,
  options: TierOptions,
  tool: string,
  args: Record<string, unknown>,
  now: number,
): TierDecision {
  const identity = ctx.identity;
  const endUser = ctx.endUser as
    | (GatewayContext['endUser'] & { claims?: Record<string, unknown> })
    | undefined;
  try {
    return options.policy().decideTier({
      tool,
      arguments: args,
      ...(identity ? { agent: { ...policySubject(identity), scopes: identity.scopes } } : {}),
      ...(endUser ? { endUser } : {}),
      now,
    });
  } catch (cause) {
    throw internalRefusal(
      ctx,
      'AIRLOCK_POLICY_CONDITION_FAILED',
      cause,
      `The policy's conditions for tool '${tool}' could not be evaluated; the call was refused`,
      { tool },
    );
  }
}

/** Records the tier's failure `code` (the cause as reason) and returns the -32603 refusal the agent gets. */
function internalRefusal(
  ctx: GatewayContext,
  code: string,
  cause: unknown,
  message: string,
  data: Record<string, unknown>,
): WireError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return refuseAt(ctx, TIER_STAGE, { rpcCode: JSONRPC_INTERNAL_ERROR, code, message, data, reason });
}

async function ask(
  ctx: GatewayContext,
  hook: ApprovalHook,
  call: {
    identity: GatewayIdentity;
    tool: string;
    args: Record<string, unknown>;
    argsHash: string;
    quorum: ApprovalQuorum | undefined;
  },
): Promise<ApprovalOutcome> {
  // `quorum` (two-person rules) travels beside the hook's own fields: a queue that knows it holds the
  // call until enough distinct principals approved; the outcome is checked above in any case.
  const request: ApprovalRequest & HoldAnnouncement = {
    ...holdAnnouncement(ctx, TIER_STAGE, call.tool), // held as a task: reserve room, hear when the hold starts
    identity: call.identity,
    tool: call.tool,
    arguments: call.args,
    argsHash: call.argsHash,
    sessionId: ctx.sessionId,
    signal: ctx.signal,
    sendProgress: ctx.sendProgress,
    ...(call.quorum ? { quorum: call.quorum } : {}),
  };
  try {
    return await whileClockPaused(ctx, () => hook.request(request));
  } catch (cause) {
    throw internalRefusal(
      ctx,
      'AIRLOCK_APPROVAL_UNAVAILABLE',
      cause,
      `Tool '${call.tool}' needs a human approval, but the approval queue could not be reached; the call was refused`,
      { tool: call.tool, tier: 'approve' },
    );
  }
}

/** Puts a signed approval token into `params._meta` (replacing any the agent sent under that key). */
async function attachApprovalToken(
  ctx: GatewayContext,
  issuer: ApprovalTokenIssuer,
  claims: ApprovalTokenClaims,
): Promise<void> {
  let token: string;
  try {
    token = await issuer.sign(claims);
  } catch (cause) {
    throw internalRefusal(
      ctx,
      'AIRLOCK_APPROVAL_TOKEN_UNAVAILABLE',
      cause,
      `The call of tool '${claims.tool}' was approved, but its approval token could not be signed; the call was refused`,
      { tool: claims.tool, approvalId: claims.approvalId },
    );
  }
  const meta = ctx.params._meta;
  const base = meta !== null && typeof meta === 'object' && !Array.isArray(meta) ? meta : {};
  ctx.params = { ...ctx.params, _meta: { ...base, [APPROVAL_TOKEN_META_KEY]: token } };
}

/** Only the connector attaches approval tokens: one sent by the agent never reaches the upstream. */
function dropAgentApprovalToken(ctx: GatewayContext): void {
  const meta = ctx.params._meta;
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) return;
  if (!(APPROVAL_TOKEN_META_KEY in meta)) return;
  const { [APPROVAL_TOKEN_META_KEY]: _dropped, ...rest } = meta as Record<string, unknown>;
  ctx.params = { ...ctx.params, _meta: rest };
  recordDecision(ctx, {
    stage: TIER_STAGE,
    outcome: 'modify',
    code: 'AIRLOCK_APPROVAL_TOKEN_DROPPED',
    reason: `removed an approval token the agent sent in _meta["${APPROVAL_TOKEN_META_KEY}"]`,
  });
}

/** The approvers of an approved outcome (`approvers` when the queue reports several, else `approver`). */
function approversOf(outcome: ApprovalOutcome & { decision: 'approved' }): string[] {
  const several = (outcome as { approvers?: unknown }).approvers;
  if (Array.isArray(several) && several.every((a) => typeof a === 'string') && several.length > 0) {
    return several as string[];
  }
  return [outcome.approver];
}

function byRule(rule: RuleRef | undefined): string {
  return rule ? ` (rule ${ruleLabel(rule)})` : '';
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
  return refuseAt(ctx, TIER_STAGE, { rpcCode: JSONRPC_FORBIDDEN, code, message, data });
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
