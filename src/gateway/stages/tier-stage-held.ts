/**
 * The tier stage's side of a call held as a task: when the agent layer (src/mcp/held-task-stage.ts)
 * lets a call wait for its approval as a 2025-11-25 task, it puts a {@link HeldCallListener} on the
 * request's context under {@link HELD_CALL}. The tier stage then
 *
 * - reserves room for one more held call of the identity before asking the approval hook, and refuses
 *   the call with -32004 `AIRLOCK_LIMIT_HELD_TASKS` when the identity has no room (its cap of pending
 *   held tasks), before any approval request is written;
 * - hands the hook `onHold` beside the `ApprovalRequest`: the approval queue calls it once, when it
 *   starts holding the call, with the approval id, when the hold ends, and how to withdraw the request
 *   (the agent cancelled its task).
 *
 * Without a listener nothing changes: the call is held with progress or keep-alive as before.
 *
 * @example
 * const request = { identity, tool, arguments: args, argsHash, ..., ...holdAnnouncement(ctx, tool) };
 */

import type { GatewayContext } from '../gateway-context.js';
import { JSONRPC_LIMIT_EXCEEDED } from '../refusal-codes.js';
import { refuseAt } from '../stage-refusal.js';

/** Where the held-call listener sits on a `GatewayContext` (own property or on a view's prototype). */
export const HELD_CALL = Symbol('airlock.heldCall');

/** A call the approval queue started to hold. */
export interface HeldApproval {
  approvalId: string;
  /** When the approval request expires (epoch ms). */
  expiresAt: number;
  /** When the queue stops holding the call without a decision (epoch ms; `approvals.holdMs` after the ask). */
  holdUntil: number;
  /**
   * Withdraws the pending request (the agent gave the call up): it is closed as denied by its requester
   * with `reason`, so no supervisor can approve it any more. False when it was decided already.
   */
  withdraw(reason: string): Promise<boolean>;
}

/** What the agent layer listens with (see the module comment). */
export interface HeldCallListener {
  /** Reserves room for one more held call of the caller; returns why not when there is none. */
  reserve(): { refused: string } | undefined;
  /** The approval queue started holding the call. */
  held(approval: HeldApproval): void;
}

/** Travels beside the `ApprovalRequest` to an approval hook that can announce its hold. */
export interface HoldAnnouncement {
  /** Called once, when the hook starts holding the call. */
  onHold?: (approval: HeldApproval) => void;
}

/** The held-call listener of `ctx`, if the agent layer put one there. */
export function heldCallOf(ctx: GatewayContext): HeldCallListener | undefined {
  return (ctx as { [HELD_CALL]?: HeldCallListener })[HELD_CALL];
}

/**
 * For the tier stage, before asking the approval hook: the `onHold` to hand it (none without a
 * listener); throws the `AIRLOCK_LIMIT_HELD_TASKS` refusal when the caller has no room for one more.
 */
export function holdAnnouncement(ctx: GatewayContext, stage: string, tool: string): HoldAnnouncement {
  const listener = heldCallOf(ctx);
  if (!listener) return {};
  const refusal = listener.reserve();
  if (refusal) {
    throw refuseAt(ctx, stage, {
      rpcCode: JSONRPC_LIMIT_EXCEEDED,
      code: 'AIRLOCK_LIMIT_HELD_TASKS',
      message: `The call of tool '${tool}' needs a human approval, but ${refusal.refused}; wait for one of them to be decided or cancel one (tasks/cancel)`,
      data: { tool },
    });
  }
  return { onHold: (approval) => listener.held(approval) };
}
