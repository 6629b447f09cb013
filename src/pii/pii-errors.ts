/**
 * Errors of the PII layer. Local failures are `PiiError`s with stable codes; refusals an agent sees
 * are `WireError`s built by `piiWireError`.
 *
 * @example
 * try { await loadTenantPiiKeys({ path, tenant: 'acme' }) } catch (e) {
 *   if (e instanceof PiiError && e.code === PII_ERROR_CODES.keyFileMode) { ... }
 * }
 */
import { AirlockError } from '../errors/airlock-error.js';
import { JSONRPC_INTERNAL_ERROR, JSONRPC_INVALID_PARAMS, WireError } from '../errors/wire-error.js';

export const PII_ERROR_CODES = {
  /** The key file is readable by group or others. */
  keyFileMode: 'AIRLOCK_PII_KEY_FILE_MODE',
  /** The key file is missing, unreadable or malformed. */
  keyFile: 'AIRLOCK_PII_KEY_FILE',
  /** The key file belongs to another tenant. */
  keyTenant: 'AIRLOCK_PII_KEY_TENANT',
  /** A vault value does not decrypt (wrong key, tampered row). */
  vaultDecrypt: 'AIRLOCK_PII_VAULT_DECRYPT',
  /** No token length up to the full HMAC was free (never expected). */
  vaultCollision: 'AIRLOCK_PII_VAULT_COLLISION',
  /** A token in the arguments is not in this tenant's vault. */
  unknownToken: 'AIRLOCK_PII_UNKNOWN_TOKEN',
  /** Policy blocks a data class found in the result. */
  blocked: 'AIRLOCK_PII_BLOCKED',
  /** The PII policy is invalid. */
  policy: 'AIRLOCK_PII_POLICY_INVALID',
} as const;

export class PiiError extends AirlockError {}

/**
 * The agent passed a token this tenant's vault does not hold (another tenant's, a stale or a made-up
 * one). -32602 with the token itself (not a value) so the model can tell which argument to fix.
 */
export function unknownTokenError(token: string): WireError {
  return new WireError(
    JSONRPC_INVALID_PARAMS,
    PII_ERROR_CODES.unknownToken,
    `Unknown PII token ${token}: it was not issued by this connector for this tenant. Pass tokens exactly as a tool result returned them.`,
    { token },
  );
}

/** Policy blocks a class found in a result: the whole result is withheld. Names classes, never values. */
export function blockedResultError(classes: readonly string[]): WireError {
  return new WireError(
    JSONRPC_INTERNAL_ERROR,
    PII_ERROR_CODES.blocked,
    `The result was withheld: it contains data of class ${classes.join(', ')}, which policy does not allow to leave the connector.`,
    { classes: [...classes] },
  );
}
