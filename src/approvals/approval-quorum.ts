/**
 * Two-person (or more) rules in the approval queue: a request created with a quorum
 * (`approvers: { count, roles }` on the policy rule) collects one vote per principal. A principal
 * counts when its role is one the rule names (default: `admin` and `supervisor`; `local:` principals
 * are `admin`) and it is not the requester; a denial by any such principal denies the request; the
 * request becomes `approved` with the `count`-th distinct approval. The store records each vote
 * exactly once per principal and serializes votes on one request (src/store/approval-repository.ts).
 *
 * Refusals (`ApprovalError`): `AIRLOCK_APPROVAL_ROLE_INELIGIBLE`, `AIRLOCK_APPROVAL_SELF`,
 * `AIRLOCK_APPROVAL_ALREADY_VOTED`, plus the queue's `_UNKNOWN`, `_DECIDED`, `_EXPIRED`.
 *
 * @example
 * const quorum = quorumOfRequest({ approvers: 2, roles: ['supervisor'] }); // { count: 2, roles: ['supervisor'] }
 * assertEligible(approver, record); // throws unless the approver's role counts for record.quorum
 */
import type { AdminAuditEvent } from '../audit/audit-entry.js';
import type { ApprovalOutcome } from '../gateway/approval-hook.js';
import type { ApprovalQuorumSpec, ApprovalRecord, ApprovalVoteRecord } from '../store/store.js';
import { APPROVAL_ERROR_CODES, ApprovalError } from './approval-error.js';
import type { Approver } from './approval-principal.js';

/** Roles that count for a rule that names none. */
export const DEFAULT_QUORUM_ROLES: readonly string[] = ['admin', 'supervisor'];

/** The quorum the tier stage passes with a request (`ApprovalRequest.quorum`), as stored; none for one approver. */
export function quorumOfRequest(
  quorum: { approvers: number; roles?: readonly string[] } | undefined,
): ApprovalQuorumSpec | null {
  if (!quorum) return null;
  const count = Math.max(1, Math.trunc(quorum.approvers));
  return quorum.roles ? { count, roles: [...quorum.roles] } : { count };
}

/** True when a stored request's quorum is the one the tier stage asks for now. */
export function sameQuorum(
  stored: ApprovalQuorumSpec | null | undefined,
  asked: { approvers: number; roles?: readonly string[] } | undefined,
): boolean {
  return JSON.stringify(stored ?? null) === JSON.stringify(quorumOfRequest(asked));
}

/** Throws `AIRLOCK_APPROVAL_ROLE_INELIGIBLE` unless `approver`'s role counts for `quorum`. */
export function assertEligible(approver: Approver, quorum: ApprovalQuorumSpec): void {
  const roles = quorum.roles ?? DEFAULT_QUORUM_ROLES;
  if (approver.role && roles.includes(approver.role)) return;
  throw new ApprovalError(
    APPROVAL_ERROR_CODES.roleIneligible,
    `this request needs ${quorum.count} approvals from ${roles.join(' or ')}; ${approver.id} (role ${approver.role ?? 'unknown'}) does not count`,
  );
}

/** The error for a second vote by the same principal. */
export function alreadyVoted(id: string, principal: string, record: ApprovalRecord): ApprovalError {
  const prior = record.votes?.find((v) => v.principal === principal);
  return new ApprovalError(
    APPROVAL_ERROR_CODES.alreadyVoted,
    `${principal} already ${prior?.decision ?? 'decided'} request ${id}; each principal counts once: another ${(record.quorum?.roles ?? DEFAULT_QUORUM_ROLES).join(' or ')} must decide`,
  );
}

/** Principal ids of the approving votes, in order. */
export function approversOf(record: ApprovalRecord): string[] {
  if (!record.quorum) return record.decidedBy ? [record.decidedBy] : [];
  return (record.votes ?? []).filter((v) => v.decision === 'approved').map((v) => v.principal);
}

/** The outcome a held call gets from a decided (or expired) request; quorum requests name every approver. */
export function outcomeOf(record: ApprovalRecord): ApprovalOutcome {
  const approver = record.decidedBy ?? '';
  if (record.status === 'approved') {
    const approved = { decision: 'approved', approvalId: record.id, approver } as const;
    return record.quorum ? { ...approved, approvers: approversOf(record) } : approved;
  }
  if (record.status === 'denied') {
    return { decision: 'denied', approvalId: record.id, approver, reason: record.reason ?? '' };
  }
  return { decision: 'expired', approvalId: record.id };
}

/** A vote's row. */
export function voteOf(
  approver: Approver,
  name: string,
  status: 'approved' | 'denied',
  why: string | null,
  at: number,
): ApprovalVoteRecord {
  return {
    principal: approver.id,
    name,
    role: approver.role ?? null,
    decision: status,
    reason: why,
    votedAt: at,
  };
}

/** The audit entry of a vote that did not decide the request (it stays pending). */
export function voteAuditEvent(
  record: ApprovalRecord,
  approver: Approver,
  why: string | null,
): AdminAuditEvent {
  const approvers = approversOf(record);
  return {
    kind: 'admin',
    action: 'approval.vote',
    actor: approver.id,
    target: record.tool,
    reason: why,
    detail: {
      approvalId: record.id,
      identity: record.identity,
      via: approver.via,
      approverName: approver.name,
      role: approver.role ?? null,
      argsHash: record.argsHash,
      approvers,
      required: record.quorum?.count ?? 1,
    },
  };
}
