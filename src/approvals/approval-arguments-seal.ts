/**
 * Approval arguments at rest: sealed with the tenant's vault key (AES-256-GCM, `sealValue` of
 * src/pii/vault-cipher.ts) before they are written to the `approvals` table, with the tenant and the
 * approval id as associated data (a sealed value moved to another row does not open). Stored as
 * `sealed:v1.<iv>.<ciphertext>.<tag>`; rows written before sealing existed are read as they are.
 *
 * @example
 * const stored = sealApprovalArguments(key, 'apr_…', '{"iban":"DE89…"}');
 * openApprovalArguments(key, 'apr_…', stored) // '{"iban":"DE89…"}'
 */
import { openValue, sealValue } from '../pii/vault-cipher.js';
import { APPROVAL_ERROR_CODES, ApprovalError } from './approval-error.js';

/** The tenant's vault key (`TenantPiiKeys.vaultKey`) and the tenant it belongs to. */
export interface ApprovalArgumentsKey {
  tenant: string;
  key: Uint8Array;
}

/** Prefix of sealed arguments in the store. */
export const SEALED_ARGUMENTS_PREFIX = 'sealed:';

function associatedData(tenant: string, approvalId: string): string {
  return `${tenant}\u0000approval-arguments\u0000${approvalId}`;
}

/** Seals the canonical JSON text of an approval's arguments. */
export function sealApprovalArguments(k: ApprovalArgumentsKey, approvalId: string, text: string): string {
  return SEALED_ARGUMENTS_PREFIX + sealValue(k.key, text, associatedData(k.tenant, approvalId));
}

/** True when `stored` is sealed. */
export function isSealedArguments(stored: string): boolean {
  return stored.startsWith(SEALED_ARGUMENTS_PREFIX);
}

/**
 * Opens stored arguments (unsealed legacy rows pass through). Throws `ApprovalError`
 * `AIRLOCK_APPROVAL_SEALED` when they are sealed and no key, or another tenant's key, is given.
 */
export function openApprovalArguments(
  k: ApprovalArgumentsKey | undefined,
  approvalId: string,
  stored: string,
): string {
  if (!isSealedArguments(stored)) return stored;
  if (!k) {
    throw new ApprovalError(
      APPROVAL_ERROR_CODES.sealed,
      `the arguments of ${approvalId} are sealed with the tenant vault key, which is not available here`,
    );
  }
  try {
    return openValue(
      k.key,
      stored.slice(SEALED_ARGUMENTS_PREFIX.length),
      associatedData(k.tenant, approvalId),
    );
  } catch (cause) {
    throw new ApprovalError(
      APPROVAL_ERROR_CODES.sealed,
      `the arguments of ${approvalId} do not open with this tenant's vault key`,
      { cause },
    );
  }
}
