/**
 * A held call's approval request taken back by the agent that asked (it cancelled the task its call
 * waited in), and the hold announced to a caller that listens for it (`onHold`, see
 * src/gateway/stages/tier-stage-held.ts).
 *
 * A withdrawn request is closed as `denied` by its requester's principal (`agent:<spiffe id>`), with the
 * reason, so no supervisor can approve it any more and a later identical call asks anew; the audit
 * trail gets an `approval.deny` entry whose actor is the agent and whose detail says `withdrawn`.
 *
 * @example
 * const withdrawn = await withdrawApproval(store.approvals, 'apr_…', 'the agent cancelled its task', Date.now());
 */
import type { AdminAuditEvent } from '../audit/audit-entry.js';
import type { ApprovalRequest } from '../gateway/approval-hook.js';
import type { HeldApproval, HoldAnnouncement } from '../gateway/stages/tier-stage-held.js';
import type { ApprovalRecord, ApprovalRepository } from '../store/store.js';
import { requesterPrincipal } from './approval-principal.js';

/** Closes pending request `id` as denied by its requester; undefined when it is not pending (any more). */
export async function withdrawApproval(
  repository: ApprovalRepository,
  id: string,
  reason: string,
  now: number,
): Promise<ApprovalRecord | undefined> {
  const record = await repository.getApproval(id);
  if (record?.status !== 'pending') return undefined;
  const decidedBy = requesterPrincipal(record);
  const result = await repository.decideApproval(id, { status: 'denied', decidedBy, reason, decidedAt: now });
  return result.ok ? result.approval : undefined;
}

/** The audit entry of a withdrawal: the actor is the agent that asked. */
export function withdrawalAuditEvent(record: ApprovalRecord, reason: string): AdminAuditEvent {
  return {
    kind: 'admin',
    action: 'approval.deny',
    actor: requesterPrincipal(record),
    target: record.tool,
    reason,
    detail: {
      approvalId: record.id,
      withdrawn: true,
      identity: record.identity,
      argsHash: record.argsHash,
      requestedAt: record.createdAt,
      decidedAt: record.decidedAt,
    },
  };
}

/** Tells a caller that listens (`onHold`) that its call is now held on `record`. */
export function announceHold(
  req: ApprovalRequest,
  record: Pick<ApprovalRecord, 'id' | 'expiresAt'>,
  holdUntil: number,
  queue: { withdraw(id: string, reason: string): Promise<boolean> },
): void {
  const onHold = (req as ApprovalRequest & HoldAnnouncement).onHold;
  const withdraw: HeldApproval['withdraw'] = (reason) => queue.withdraw(record.id, reason);
  onHold?.({ approvalId: record.id, expiresAt: record.expiresAt, holdUntil, withdraw });
}
