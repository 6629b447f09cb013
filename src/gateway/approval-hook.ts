/**
 * The seam between the `tier` stage and the human approval queue. When policy puts a tool in the
 * `approve` tier, the tier stage asks the hook; the queue (persisted, with a console and a CLI)
 * implements it. The stage knows nothing about storage, the console or notifications.
 *
 * Binding: an approval is for one identity, one tool and the exact validated arguments
 * (`argsHash` = SHA-256 of their RFC 8785 canonical JSON). A retry of the same call after approval
 * runs exactly once; different arguments need a new approval.
 *
 * @example
 * const outcome = await hook.request({ identity, tool, arguments: args, argsHash, sessionId, signal, sendProgress });
 * if (outcome.decision === 'approved') return next(ctx);
 */
import type { ApprovalQuorum } from '../policy/policy-engine.js';
import type { GatewayIdentity, ProgressUpdate } from './gateway-context.js';

export interface ApprovalRequest {
  identity: GatewayIdentity;
  /** Namespaced tool name, e.g. `erp.delete_customer`. */
  tool: string;
  /** The validated (stripped) arguments the upstream would receive. */
  arguments: Record<string, unknown>;
  /** Hex SHA-256 of the canonical JSON of `arguments`. */
  argsHash: string;
  sessionId: string | undefined;
  /** The agent gave up (cancelled or disconnected): stop holding the call. */
  signal: AbortSignal;
  /** Keep the agent's call alive while it waits (progress notifications, when the agent asked for them). */
  sendProgress: (update: ProgressUpdate) => Promise<void>;
  /** Two-person rule: `approvers` distinct principals (of `roles`) must approve before the call runs. */
  quorum?: ApprovalQuorum;
}

export type ApprovalOutcome =
  /** Run the call now. `approvalId` was consumed: a second identical call needs a new approval. */
  | { decision: 'approved'; approvalId: string; approver: string; approvers?: string[] }
  | { decision: 'denied'; approvalId: string; approver: string; reason: string }
  /** No decision within the hold time: the call returns a tool error naming the approval id. */
  | { decision: 'pending'; approvalId: string; expiresAt: number }
  | { decision: 'expired'; approvalId: string };

/** A break-glass override used for one blocked call (see src/approvals/block-overrides.ts). */
export interface BlockOverrideGrant {
  /** The override id (`ovr_…`), recorded as the decision's detail. */
  id: string;
  requestedBy: string;
  confirmedBy: string | null;
  reason: string;
}

export interface ApprovalHook {
  request(req: ApprovalRequest): Promise<ApprovalOutcome>;
  /**
   * Break-glass (optional): for a call policy blocks, consumes a confirmed, unexpired override for
   * exactly this identity, tool and `argsHash`; undefined when there is none (the call stays blocked).
   */
  useOverride?(call: {
    identity: GatewayIdentity;
    tool: string;
    argsHash: string;
  }): Promise<BlockOverrideGrant | undefined>;
}
