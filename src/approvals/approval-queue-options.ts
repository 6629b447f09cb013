/** Options and defaults of the approval queue (src/approvals/approval-queue.ts). */
import type { Logger } from 'pino';
import type { AdminAuditEvent } from '../audit/audit-entry.js';
import type { ApprovalRecord, ApprovalRepository } from '../store/store.js';
import type { ApprovalArgumentsKey } from './approval-arguments-seal.js';
import type { ApprovalWebhookOptions } from './approval-webhook.js';

/** How long an agent's call is held open waiting for a decision. */
export const DEFAULT_APPROVAL_HOLD_MS = 30_000;
/** How long a request (and an approval not yet used) stays valid. */
export const DEFAULT_APPROVAL_EXPIRY_MS = 24 * 60 * 60 * 1000;
/** How often a held call re-reads its request from the store (decisions from other processes). */
export const DEFAULT_APPROVAL_POLL_INTERVAL_MS = 250;
/** How often a held call sends a progress notification. */
export const DEFAULT_APPROVAL_PROGRESS_INTERVAL_MS = 5_000;
/** How often requests past their expiry are marked expired. 0 disables the sweep. */
export const DEFAULT_APPROVAL_SWEEP_INTERVAL_MS = 60_000;
/** How often `subscribe`rs' store watcher looks for changes made by other processes. */
export const DEFAULT_APPROVAL_WATCH_INTERVAL_MS = 1_000;
/** Longest reason a supervisor may give (characters). */
export const MAX_APPROVAL_REASON_LENGTH = 2_000;
/** Longest approver name or principal id (characters). */
export const MAX_APPROVER_NAME_LENGTH = 200;
/** What `get` / `list` show for sealed arguments when the key to open them is missing. */
export const SEALED_ARGUMENTS_PLACEHOLDER = JSON.stringify('[sealed: the tenant vault key is not available]');

export interface ApprovalQueueOptions {
  /** Usually `store.approvals`. */
  repository: ApprovalRepository;
  /** Default {@link DEFAULT_APPROVAL_HOLD_MS} (30 s). Keep it below the agents' request timeout. */
  holdMs?: number;
  /** Default {@link DEFAULT_APPROVAL_EXPIRY_MS} (24 h). */
  expiryMs?: number;
  /** Default {@link DEFAULT_APPROVAL_POLL_INTERVAL_MS} (250 ms). */
  pollIntervalMs?: number;
  /** Default {@link DEFAULT_APPROVAL_PROGRESS_INTERVAL_MS} (5 s). */
  progressIntervalMs?: number;
  /** Default {@link DEFAULT_APPROVAL_SWEEP_INTERVAL_MS} (60 s); 0 disables. */
  sweepIntervalMs?: number;
  /** Default {@link DEFAULT_APPROVAL_WATCH_INTERVAL_MS} (1 s). */
  watchIntervalMs?: number;
  /** Notify a webhook (Slack-compatible) of every new pending request. */
  webhook?: ApprovalWebhookOptions;
  /** Where decisions are audited, usually the `AuditLedger`. */
  audit?: { append(event: AdminAuditEvent): Promise<unknown> };
  /**
   * The tenant's vault key: arguments are sealed with it at rest. Without it they are stored as plain
   * JSON (libraries and tests only; the connector always passes it).
   */
  argumentsKey?: ApprovalArgumentsKey;
  /** Tier recorded with new requests. Default `approve`. */
  tier?: string;
  /** Clock (epoch ms) for stored times. Default `Date.now`. */
  now?: () => number;
  /** Default silent. */
  logger?: Logger;
}

/** Kinds of queue changes (`queue.on('change')`, `queue.subscribe`). */
export type ApprovalChangeType =
  | 'created'
  | 'approved'
  | 'denied'
  | 'delivered'
  | 'expired'
  | 'external'
  /** One approval of a request with a quorum that still needs more. */
  | 'voted';

/** A change in the queue. `external`: something changed in the store outside this queue. */
export interface ApprovalChange {
  type: ApprovalChangeType;
  approval?: ApprovalRecord;
}

/** The tool error text an agent gets for a call that is still waiting. */
export function pendingApprovalMessage(approvalId: string, expiresAt: number): string {
  return `This call needs a human approval and is waiting in the approval queue (approval id ${approvalId}, valid until ${new Date(expiresAt).toISOString()}). Retry the same call with the same arguments later: once a supervisor approves it, the retry runs exactly once. Do not change the arguments, or a new approval is needed.`;
}
