/**
 * Admin actions as audit entries. Every change an operator makes — policy change, approval, kill
 * switch, identity issued or revoked, tool pinned or re-approved, enrollment, connector start and
 * stop — is appended to the connector's audit ledger with `recordAdminAction`, in the same
 * hash chain as the agents' requests. Wherever the action happens (console, admin API, CLI), the
 * caller passes the ledger it has: the connector's own (`connector.audit`), or one opened for the
 * command with `withAdminAuditLedger` (src/connector/connector-audit.ts; two writers on one store
 * stay one chain).
 *
 * @example
 * await recordAdminAction(connector.audit, {
 *   action: 'killswitch.enable', actor: 'console:alice', target: 'erp.delete_invoice', reason: 'incident 42',
 * });
 */
import { userInfo } from 'node:os';
import type { AdminAuditAction, AdminAuditEvent, AuditEntry } from '../audit/audit-entry.js';
import type { JsonValue } from '../json/canonical-json.js';

/** The actions of `AdminAuditAction` plus the connector's own lifecycle. */
export type AdminActionName = AdminAuditAction;

export interface AdminActionInput {
  action: AdminActionName;
  /** Who did it: `console:<user>`, `cli:<os user>`, `api:<client>`, `connector`. */
  actor: string;
  /** What it was done to: identity or tool name, policy hash, connector id... */
  target?: string | null;
  reason?: string | null;
  /** Small facts about the action (never secrets, arguments or results). */
  detail?: { [key: string]: JsonValue } | null;
}

/** The part of `AuditLedger` this needs. */
export interface AdminActionLedger {
  append(event: AdminAuditEvent): Promise<AuditEntry>;
}

/**
 * Appends one admin action; resolves with the sealed entry once it is durable. Rejects with
 * `AuditError` `AIRLOCK_AUDIT_UNAVAILABLE` when the store cannot write: callers should then refuse
 * or report the action as unaudited.
 *
 * @example
 * await recordAdminAction(ledger, { action: 'identity.revoke', actor: cliActor(), target: 'claims-bot' });
 */
export function recordAdminAction(ledger: AdminActionLedger, input: AdminActionInput): Promise<AuditEntry> {
  const event = {
    kind: 'admin',
    action: input.action,
    actor: input.actor,
    target: input.target ?? null,
    ...(input.reason !== undefined ? { reason: input.reason } : {}),
    ...(input.detail !== undefined ? { detail: input.detail } : {}),
  } satisfies AdminAuditEvent;
  return ledger.append(event);
}

/** `cli:<os user>`: the actor of actions taken with the `airlock` command. */
export function cliActor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli';
  }
}
