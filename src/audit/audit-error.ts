/**
 * Errors of the audit trail. `AIRLOCK_AUDIT_UNAVAILABLE` is the one the gateway acts on: the entry
 * could not be made durable, so the call is refused (fail closed).
 *
 * @example
 * try { await ledger.append(event) } catch (e) {
 *   if (e instanceof AuditError && e.code === AUDIT_ERROR_CODES.unavailable) refuse();
 * }
 */
import { AirlockError } from '../errors/airlock-error.js';

export const AUDIT_ERROR_CODES = {
  /** The audit store cannot write right now; the entry is not durable. */
  unavailable: 'AIRLOCK_AUDIT_UNAVAILABLE',
  /** The ledger was closed. */
  closed: 'AIRLOCK_AUDIT_CLOSED',
  /** The audit key file is missing, unreadable, malformed or too widely readable. */
  key: 'AIRLOCK_AUDIT_KEY',
  /** A witness refused a checkpoint (unknown key, bad signature, inconsistent with its history). */
  witnessRefused: 'AIRLOCK_AUDIT_WITNESS_REFUSED',
  /** A witness could not be reached or answered with a server error; retried later. */
  witnessUnreachable: 'AIRLOCK_AUDIT_WITNESS_UNREACHABLE',
  /**
   * The stored trail does not match its checkpoints or what a witness cosigned (rewritten, cut or
   * wiped): the ledger refuses to extend it and the gateway refuses calls.
   */
  tampered: 'AIRLOCK_AUDIT_TAMPERED',
  /** A witness holds a history this trail is not consistent with (tlog-witness 409/422). */
  witnessDiverged: 'AIRLOCK_AUDIT_WITNESS_DIVERGED',
  /** The witness already cosigned a larger tree (another member of a pair signed it): drop this one. */
  witnessSuperseded: 'AIRLOCK_AUDIT_WITNESS_SUPERSEDED',
  /** An export file is not an Airlock audit export. */
  exportInvalid: 'AIRLOCK_AUDIT_EXPORT_INVALID',
} as const;

/** Any audit-trail failure; `code` is one of `AUDIT_ERROR_CODES`. */
export class AuditError extends AirlockError {}

/** The error of a write the store did not make durable (`AIRLOCK_AUDIT_UNAVAILABLE`, retryable). */
export function auditUnavailable(cause: unknown): AuditError {
  if (cause instanceof AuditError) return cause;
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new AuditError(AUDIT_ERROR_CODES.unavailable, `the audit trail cannot be written: ${detail}`, {
    cause,
    retryable: true,
  });
}

/** The error of a call on a closed ledger (`AIRLOCK_AUDIT_CLOSED`). */
export function ledgerClosedError(): AuditError {
  return new AuditError(AUDIT_ERROR_CODES.closed, 'the audit ledger is closed');
}
