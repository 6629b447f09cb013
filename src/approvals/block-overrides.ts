/**
 * Break-glass for the `block` tier: an admin allows ONE exact blocked call — one identity, one tool,
 * the exact arguments (hex SHA-256 of their RFC 8785 canonical JSON) — with a reason. The override
 * is usable only after a SECOND admin (another principal) confirmed it, expires
 * `DEFAULT_OVERRIDE_TTL_MS` (15 min) after it was requested unless given less or more (at most
 * `MAX_OVERRIDE_TTL_MS`, 24 h), and is consumed atomically by the first matching call. Each step
 * (`approval.override.request`, `.confirm`, `.use`) is an admin audit entry; without a durable entry
 * the step fails (fail closed).
 *
 * Admins: console accounts with role `admin` (looked up by the caller: `cliApprover`,
 * `consoleApprover(account)`) and the local principal `local:<uid>@<host>`.
 *
 * @example
 * const overrides = new BlockOverrides({ repository: store.approvals.overrides, audit: ledger });
 * const o = await overrides.request({ identity: 'ops-bot', tool: 'erp.purge', arguments: { id: 7 }, reason: 'INC-42' }, alice);
 * await overrides.confirm(o.id, bob);        // now the exact call erp.purge({ id: 7 }) by ops-bot runs once
 */
import { randomBytes } from 'node:crypto';
import type { AdminAuditEvent } from '../audit/audit-entry.js';
import type { BlockOverrideGrant } from '../gateway/approval-hook.js';
import type { GatewayIdentity } from '../gateway/gateway-context.js';
import { sha256Hex } from '../json/canonical-hash.js';
import { canonicalJson } from '../json/canonical-json.js';
import type { ApprovalOverrideRecord, ApprovalOverrideRepository } from '../store/store.js';
import {
  type ApprovalArgumentsKey,
  openApprovalArguments,
  sealApprovalArguments,
} from './approval-arguments-seal.js';
import { APPROVAL_ERROR_CODES, ApprovalError } from './approval-error.js';
import { type Approver, isApproverId, requesterPrincipal } from './approval-principal.js';
import { MAX_APPROVAL_REASON_LENGTH, SEALED_ARGUMENTS_PLACEHOLDER } from './approval-queue-options.js';

/** How long an override stays usable after it was requested (15 minutes). */
export const DEFAULT_OVERRIDE_TTL_MS = 15 * 60 * 1000;
/** The longest lifetime an override may be given (24 hours). */
export const MAX_OVERRIDE_TTL_MS = 24 * 60 * 60 * 1000;

export interface BlockOverridesOptions {
  /** Usually `store.approvals.overrides`. */
  repository: ApprovalOverrideRepository;
  /** Where each step is audited (the ledger, or the CLI's appender). Without it steps are not audited (tests only). */
  audit?: { append(event: AdminAuditEvent): Promise<unknown> };
  /** The tenant vault key: the arguments are sealed with it at rest. */
  argumentsKey?: ApprovalArgumentsKey;
  /** Clock (epoch ms). Default `Date.now`. */
  now?: () => number;
}

/** What an admin asks to allow. */
export interface OverrideInput {
  /** The agent identity name the call comes from. */
  identity: string;
  /** Namespaced tool name, e.g. `erp.purge_customer`. */
  tool: string;
  /** The exact arguments (after validation: undeclared properties are stripped before the tier stage). */
  arguments: Record<string, unknown>;
  reason: string;
  /** Default {@link DEFAULT_OVERRIDE_TTL_MS}; at most {@link MAX_OVERRIDE_TTL_MS}. */
  ttlMs?: number;
}

export class BlockOverrides {
  readonly #repo: ApprovalOverrideRepository;
  readonly #audit: BlockOverridesOptions['audit'];
  readonly #key: ApprovalArgumentsKey | undefined;
  readonly #now: () => number;

  constructor(options: BlockOverridesOptions) {
    this.#repo = options.repository;
    this.#audit = options.audit;
    this.#key = options.argumentsKey;
    this.#now = options.now ?? Date.now;
  }

  /** Creates an unconfirmed override. Throws `ApprovalError` `_OVERRIDE_NOT_ADMIN` / `_OVERRIDE_INVALID`. */
  async request(input: OverrideInput, admin: Approver): Promise<ApprovalOverrideRecord> {
    assertAdmin(admin);
    const checked = checkInput(input);
    const now = this.#now();
    const id = `ovr_${randomBytes(12).toString('hex')}`;
    const text = canonicalJson(input.arguments);
    const stored = await this.#repo.createOverride({
      id,
      identity: checked.identity,
      tool: checked.tool,
      argsHash: sha256Hex(text),
      arguments: this.#key ? sealApprovalArguments(this.#key, id, text) : text,
      reason: checked.reason,
      requestedBy: admin.id,
      requestedAt: now,
      expiresAt: now + checked.ttlMs,
    });
    const record = { ...stored, arguments: text };
    await this.#record('approval.override.request', admin, record, checked.reason);
    return record;
  }

  /**
   * Confirms an override as a second admin. Throws `ApprovalError` `_OVERRIDE_NOT_ADMIN`,
   * `_OVERRIDE_UNKNOWN`, `_OVERRIDE_SELF_CONFIRM`, `_OVERRIDE_DECIDED`, `_OVERRIDE_EXPIRED`.
   */
  async confirm(id: string, admin: Approver, note?: string): Promise<ApprovalOverrideRecord> {
    assertAdmin(admin);
    const result = await this.#repo.confirmOverride(id, admin.id, this.#now());
    if (!result.ok) throw refusal(id, admin, result);
    const record = this.#opened(result.override);
    await this.#record('approval.override.confirm', admin, record, note?.trim() || null);
    return record;
  }

  /**
   * Uses the confirmed, unexpired override for exactly this call, if any (the tier stage calls this
   * for a `block` decision). The use is audited before the call may run; when that fails the call
   * does not run (the override is spent).
   */
  async use(call: {
    identity: string;
    spiffeId?: string;
    tool: string;
    argsHash: string;
  }): Promise<ApprovalOverrideRecord | undefined> {
    const { identity, tool, argsHash } = call;
    const used = await this.#repo.consumeOverride({ identity, tool, argsHash }, this.#now());
    if (!used) return undefined;
    const record = this.#opened(used);
    // The actor of the use is the agent whose call ran.
    const agent = requesterPrincipal({ identity, spiffeId: call.spiffeId ?? '' });
    await this.#record(
      'approval.override.use',
      { id: agent, name: identity, via: 'cli' },
      record,
      used.reason,
    );
    return record;
  }

  /** {@link use} for the tier stage's identity; the grant it reports (`ApprovalQueue.useOverride`). */
  async grantFor(call: {
    identity: GatewayIdentity;
    tool: string;
    argsHash: string;
  }): Promise<BlockOverrideGrant | undefined> {
    const { identity, tool, argsHash } = call;
    const used = await this.use({ identity: identity.name, spiffeId: identity.spiffeId, tool, argsHash });
    if (!used) return undefined;
    return { id: used.id, requestedBy: used.requestedBy, confirmedBy: used.confirmedBy, reason: used.reason };
  }

  async get(id: string): Promise<ApprovalOverrideRecord | undefined> {
    const record = await this.#repo.getOverride(id);
    return record && this.#opened(record);
  }

  /** Newest first. */
  async list(limit?: number): Promise<ApprovalOverrideRecord[]> {
    const rows = await this.#repo.listOverrides(limit ? { limit } : {});
    return rows.map((r) => this.#opened(r));
  }

  async #record(
    action: AdminAuditEvent['action'],
    actor: Approver,
    o: ApprovalOverrideRecord,
    reason: string | null,
  ): Promise<void> {
    if (!this.#audit) return;
    await this.#audit.append({
      kind: 'admin',
      action,
      actor: actor.id,
      target: o.tool,
      reason,
      detail: {
        overrideId: o.id,
        identity: o.identity,
        argsHash: o.argsHash,
        requestedBy: o.requestedBy,
        confirmedBy: o.confirmedBy,
        expiresAt: o.expiresAt,
      },
    });
  }

  #opened(record: ApprovalOverrideRecord): ApprovalOverrideRecord {
    try {
      return { ...record, arguments: openApprovalArguments(this.#key, record.id, record.arguments) };
    } catch {
      return { ...record, arguments: SEALED_ARGUMENTS_PLACEHOLDER };
    }
  }
}

/** Throws `AIRLOCK_APPROVAL_OVERRIDE_NOT_ADMIN` unless `who` is an authenticated admin principal. */
function assertAdmin(who: Approver): void {
  if (isApproverId(who?.id ?? '') && who.role === 'admin') return;
  throw new ApprovalError(
    APPROVAL_ERROR_CODES.overrideNotAdmin,
    `${who?.id ?? 'an unauthenticated caller'} (role ${who?.role ?? 'unknown'}) may not request or confirm break-glass overrides: admins only`,
  );
}

function checkInput(input: OverrideInput): { identity: string; tool: string; reason: string; ttlMs: number } {
  const identity = typeof input.identity === 'string' ? input.identity.trim() : '';
  const tool = typeof input.tool === 'string' ? input.tool.trim() : '';
  const reason = typeof input.reason === 'string' ? input.reason.trim() : '';
  const ttlMs = input.ttlMs ?? DEFAULT_OVERRIDE_TTL_MS;
  const args = input.arguments;
  const problem =
    (!identity && 'an identity is required') ||
    (!tool && 'a tool is required') ||
    ((args === null || typeof args !== 'object' || Array.isArray(args)) &&
      'the arguments must be a JSON object') ||
    (!reason && 'a reason is required (it is audited)') ||
    (reason.length > MAX_APPROVAL_REASON_LENGTH &&
      `the reason is longer than ${MAX_APPROVAL_REASON_LENGTH} characters`) ||
    ((!Number.isInteger(ttlMs) || ttlMs < 1000 || ttlMs > MAX_OVERRIDE_TTL_MS) &&
      `the lifetime must be between 1 s and ${MAX_OVERRIDE_TTL_MS / 3_600_000} h`);
  if (problem) throw new ApprovalError(APPROVAL_ERROR_CODES.overrideInvalid, `override refused: ${problem}`);
  return { identity, tool, reason, ttlMs };
}

function refusal(
  id: string,
  admin: Approver,
  result: Exclude<Awaited<ReturnType<ApprovalOverrideRepository['confirmOverride']>>, { ok: true }>,
): ApprovalError {
  if (result.reason === 'unknown') {
    return new ApprovalError(APPROVAL_ERROR_CODES.overrideUnknown, `no override with id ${id}`);
  }
  const o = result.override;
  if (result.reason === 'self') {
    return new ApprovalError(
      APPROVAL_ERROR_CODES.overrideSelfConfirm,
      `${admin.id} requested override ${id} and cannot confirm it: a second admin must`,
    );
  }
  if (result.reason === 'expired') {
    return new ApprovalError(
      APPROVAL_ERROR_CODES.overrideExpired,
      `override ${id} expired at ${new Date(o.expiresAt).toISOString()} before it was confirmed`,
    );
  }
  return new ApprovalError(
    APPROVAL_ERROR_CODES.overrideDecided,
    `override ${id} was already ${result.reason === 'consumed' ? 'used' : `confirmed by ${o.confirmedBy}`}`,
  );
}
