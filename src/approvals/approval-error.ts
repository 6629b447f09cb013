/**
 * Errors of the human approval queue, for supervisors (console, CLI) acting on a request.
 *
 * @example
 * try { await queue.approve(id, { name: 'alice' }) } catch (e) {
 *   if (e instanceof ApprovalError && e.code === APPROVAL_ERROR_CODES.selfApproval) showError(e.message);
 * }
 */
import { AirlockError } from '../errors/airlock-error.js';

export const APPROVAL_ERROR_CODES = {
  /** No approval request has this id. */
  unknown: 'AIRLOCK_APPROVAL_UNKNOWN',
  /** The request was already approved or denied. */
  decided: 'AIRLOCK_APPROVAL_DECIDED',
  /** The request expired before anyone decided. */
  expired: 'AIRLOCK_APPROVAL_EXPIRED',
  /** Separation of duties: the approver is the identity that asked. */
  selfApproval: 'AIRLOCK_APPROVAL_SELF',
  /** A denial needs a reason (the agent is told it). */
  reasonRequired: 'AIRLOCK_APPROVAL_REASON_REQUIRED',
  /** The approver name is empty or too long, or the reason too long. */
  invalid: 'AIRLOCK_APPROVAL_INVALID',
} as const;

/** A supervisor's action on the approval queue was refused; `code` is one of `APPROVAL_ERROR_CODES`. */
export class ApprovalError extends AirlockError {}
