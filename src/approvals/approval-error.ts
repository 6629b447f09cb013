/**
 * Errors of the human approval queue, for supervisors (console, CLI) acting on a request.
 *
 * @example
 * try { await queue.approve(id, consoleApprover(account)) } catch (e) {
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
  /** The approver is not an authenticated principal (`console:` / `local:`), or the reason is too long. */
  invalid: 'AIRLOCK_APPROVAL_INVALID',
  /** `--as <account>`: no enabled console account of that exact name may decide approvals. */
  principalUnknown: 'AIRLOCK_APPROVAL_PRINCIPAL_UNKNOWN',
  /** The stored arguments are sealed and the tenant vault key to open them is not available. */
  sealed: 'AIRLOCK_APPROVAL_SEALED',
  /** Two-person rule: this principal already decided this request (each principal counts once). */
  alreadyVoted: 'AIRLOCK_APPROVAL_ALREADY_VOTED',
  /** Two-person rule: the principal's role is not one the rule accepts (`approvers.roles`). */
  roleIneligible: 'AIRLOCK_APPROVAL_ROLE_INELIGIBLE',
  /** Break-glass: only admins (console role `admin`, or the local principal) request or confirm overrides. */
  overrideNotAdmin: 'AIRLOCK_APPROVAL_OVERRIDE_NOT_ADMIN',
  /** Break-glass: no override has this id. */
  overrideUnknown: 'AIRLOCK_APPROVAL_OVERRIDE_UNKNOWN',
  /** Break-glass: the admin who requested an override cannot confirm it; a second admin must. */
  overrideSelfConfirm: 'AIRLOCK_APPROVAL_OVERRIDE_SELF_CONFIRM',
  /** Break-glass: the override was already confirmed, or already used. */
  overrideDecided: 'AIRLOCK_APPROVAL_OVERRIDE_DECIDED',
  /** Break-glass: the override expired before it was confirmed. */
  overrideExpired: 'AIRLOCK_APPROVAL_OVERRIDE_EXPIRED',
  /** Break-glass: missing or invalid input (identity, tool, arguments, reason, lifetime). */
  overrideInvalid: 'AIRLOCK_APPROVAL_OVERRIDE_INVALID',
} as const;

/** A supervisor's action on the approval queue was refused; `code` is one of `APPROVAL_ERROR_CODES`. */
export class ApprovalError extends AirlockError {}
