/** Records an identity command (`identity.issue`, `identity.revoke`) in the connector's audit trail. */
import type { JsonValue } from '../audit/canonical-json.js';
import { cliActor, recordAdminAction } from '../connector/admin-audit.js';
import { withAdminAuditLedger } from '../connector/connector-audit.js';
import type { ConnectorContext } from '../connector/connector-context.js';
import { AirlockError } from '../errors/airlock-error.js';
import type { Store } from '../store/store.js';

/**
 * Appends the entry once the action is done. If the trail cannot be written, the command fails with
 * `AIRLOCK_AUDIT_UNAVAILABLE` saying that the action itself took effect (a revocation is never
 * held back by the audit store).
 */
export async function recordIdentityAction(
  ctx: ConnectorContext,
  store: Store,
  action: {
    action: 'identity.issue' | 'identity.revoke';
    target: string;
    detail?: { [k: string]: JsonValue };
  },
): Promise<void> {
  try {
    await withAdminAuditLedger(ctx, store, (ledger) =>
      recordAdminAction(ledger, {
        action: action.action,
        actor: cliActor(),
        target: action.target,
        ...(action.detail ? { detail: action.detail } : {}),
      }),
    );
  } catch (cause) {
    throw new AirlockError(
      'AIRLOCK_AUDIT_UNAVAILABLE',
      `${action.action} of "${action.target}" took effect, but its audit entry could not be written: ${(cause as Error).message}`,
      { cause },
    );
  }
}
