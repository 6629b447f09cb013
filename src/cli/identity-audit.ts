/**
 * Records admin actions taken with the `airlock` command in the connector's audit trail, through
 * the same ledger rules as the running connector (one writer at a time on the store; the entry
 * continues the one chain): identity issue/revoke, tools approve/disable/enable, console
 * add-admin/disable-admin, approvals approve/deny (through the approval queue's `audit` option).
 *
 * @example
 * await recordCliAdminAction(ctx, store, { action: 'tool.disable', target: 'erp.delete_invoice', reason: 'incident 42' });
 */
import type { AdminAuditAction, AdminAuditEvent } from '../audit/audit-entry.js';
import { cliActor, recordAdminAction } from '../connector/admin-audit.js';
import { withAdminAuditLedger } from '../connector/connector-audit.js';
import type { ConnectorContext } from '../connector/connector-context.js';
import { AirlockError } from '../errors/airlock-error.js';
import type { JsonValue } from '../json/canonical-json.js';
import type { Store } from '../store/store.js';

/**
 * Appends the entry once the action is done. If the trail cannot be written, the command fails with
 * `AIRLOCK_AUDIT_UNAVAILABLE` saying that the action itself took effect (a revocation or a kill
 * switch is never held back by the audit store).
 */
export async function recordCliAdminAction(
  ctx: ConnectorContext,
  store: Store,
  action: {
    action: AdminAuditAction;
    target: string;
    /** Default: `cli:<os user>`. */
    actor?: string;
    reason?: string;
    detail?: { [k: string]: JsonValue };
  },
): Promise<void> {
  try {
    await withAdminAuditLedger(ctx, store, (ledger) =>
      recordAdminAction(ledger, {
        action: action.action,
        actor: action.actor ?? cliActor(),
        target: action.target,
        ...(action.reason !== undefined ? { reason: action.reason } : {}),
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

/** `identity.issue` / `identity.revoke`. */
export function recordIdentityAction(
  ctx: ConnectorContext,
  store: Store,
  action: {
    action: 'identity.issue' | 'identity.revoke';
    target: string;
    detail?: { [k: string]: JsonValue };
  },
): Promise<void> {
  return recordCliAdminAction(ctx, store, action);
}

/** An audit appender for the approval queue of one CLI command (opens the ledger per decision). */
export function cliAuditAppender(
  ctx: ConnectorContext,
  store: Store,
): { append(event: AdminAuditEvent): Promise<unknown> } {
  return { append: (event) => withAdminAuditLedger(ctx, store, (ledger) => ledger.append(event)) };
}
