/**
 * The checks and records around a supervisor's decision, used by `ApprovalQueue.approve` / `deny`:
 * the input (an authenticated principal, a reason when denying), separation of duties, the refusal
 * when the store's conditional update did not win, and the audit event.
 */
import type { AdminAuditEvent } from '../audit/audit-entry.js';
import type { ApprovalRecord, DecideApprovalResult, VoteApprovalResult } from '../store/store.js';
import { APPROVAL_ERROR_CODES, ApprovalError } from './approval-error.js';
import { type Approver, isApproverId, isRequester } from './approval-principal.js';
import { MAX_APPROVAL_REASON_LENGTH, MAX_APPROVER_NAME_LENGTH } from './approval-queue-options.js';
import { approversOf } from './approval-quorum.js';

/** Validates a decision's input; returns the display name, principal id and trimmed reason. */
export function checkDecision(
  approver: Approver,
  status: 'approved' | 'denied',
  reason: string | undefined,
): { name: string; principal: string; why: string | null } {
  const name = typeof approver?.name === 'string' ? approver.name.trim() : '';
  const principal = typeof approver?.id === 'string' ? approver.id : '';
  if (
    !name ||
    name.length > MAX_APPROVER_NAME_LENGTH ||
    principal.length > MAX_APPROVER_NAME_LENGTH ||
    !isApproverId(principal)
  ) {
    throw new ApprovalError(
      APPROVAL_ERROR_CODES.invalid,
      'an authenticated approver is required (a console account or the local admin principal)',
    );
  }
  const why = reason?.trim() ? reason.trim() : null;
  if (why !== null && why.length > MAX_APPROVAL_REASON_LENGTH) {
    throw new ApprovalError(
      APPROVAL_ERROR_CODES.invalid,
      `the reason is longer than ${MAX_APPROVAL_REASON_LENGTH} characters`,
    );
  }
  if (status === 'denied' && why === null) {
    throw new ApprovalError(
      APPROVAL_ERROR_CODES.reasonRequired,
      'a denial needs a reason: the agent is told why its call was refused',
    );
  }
  return { name, principal, why };
}

/** Throws `AIRLOCK_APPROVAL_SELF` when `approver` is (or looks like) the requester of `record`. */
export function assertNotRequester(approver: Approver, record: ApprovalRecord): void {
  if (!isRequester(approver, record)) return;
  throw new ApprovalError(
    APPROVAL_ERROR_CODES.selfApproval,
    `separation of duties: ${approver.name} asked for this call (as identity ${record.identity}), or looks like its requester, and cannot approve it; another supervisor must decide`,
  );
}

/** The error for a decision the store refused (unknown id, expired, decided before). */
export function refusalOf(
  id: string,
  result: Exclude<DecideApprovalResult | VoteApprovalResult, { ok: true }>,
): ApprovalError {
  if (result.reason === 'unknown') {
    return new ApprovalError(APPROVAL_ERROR_CODES.unknown, `no approval request with id ${id}`);
  }
  if (result.reason === 'expired') {
    return new ApprovalError(
      APPROVAL_ERROR_CODES.expired,
      `approval request ${id} expired at ${new Date(result.approval.expiresAt).toISOString()} before anyone decided`,
    );
  }
  const prior = result.approval;
  return new ApprovalError(
    APPROVAL_ERROR_CODES.decided,
    `approval request ${id} was already ${prior.status}${prior.decidedBy ? ` by ${prior.decidedBy}` : ''}${prior.decidedAt ? ` at ${new Date(prior.decidedAt).toISOString()}` : ''}`,
  );
}

/** The audit entry of a decision: the actor is the principal id, the display name is detail. */
export function decisionAuditEvent(
  decided: ApprovalRecord,
  approver: Approver,
  why: string | null,
): AdminAuditEvent {
  return {
    kind: 'admin',
    action: decided.status === 'approved' ? 'approval.grant' : 'approval.deny',
    actor: approver.id,
    target: decided.tool,
    reason: why,
    detail: {
      approvalId: decided.id,
      identity: decided.identity,
      via: approver.via,
      approverName: approver.name,
      argsHash: decided.argsHash,
      requestedAt: decided.createdAt,
      decidedAt: decided.decidedAt,
      ...(decided.quorum ? { approvers: approversOf(decided), required: decided.quorum.count } : {}),
    },
  };
}
