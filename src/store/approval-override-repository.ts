/**
 * Break-glass overrides of the `block` tier, persisted: one row per override, bound to one identity,
 * one tool and the hash of the exact arguments. Confirmation and the single use are conditional
 * UPDATEs, so racing confirmations or racing calls get exactly one winner, across processes and
 * connector nodes sharing a PostgreSQL database.
 *
 * @example
 * const overrides = new SqlApprovalOverrideRepository(dialect);
 * await overrides.createOverride({ id, identity: 'ops-bot', tool: 'erp.purge', argsHash, arguments: '{}', reason: 'INC-42', requestedBy: 'console:alice', requestedAt: now, expiresAt: now + 900_000 });
 * await overrides.confirmOverride(id, 'console:bob', Date.now());
 * const used = await overrides.consumeOverride({ identity: 'ops-bot', tool: 'erp.purge', argsHash }, Date.now());
 */
import type { SqlDialect } from './dialect.js';
import type {
  ApprovalOverrideRecord,
  ApprovalOverrideRepository,
  ConfirmOverrideResult,
  NewApprovalOverride,
} from './store.js';

/** Rows returned by `listOverrides` when no limit is given. */
export const DEFAULT_OVERRIDE_LIST_LIMIT = 100;

interface OverrideRow {
  id: string;
  identity: string;
  tool: string;
  args_hash: string;
  arguments: string;
  reason: string;
  requested_by: string;
  requested_at: number;
  confirmed_by: string | null;
  confirmed_at: number | null;
  expires_at: number;
  consumed_at: number | null;
}

const COLUMNS =
  'id, identity, tool, args_hash, arguments, reason, requested_by, requested_at, confirmed_by, confirmed_at, expires_at, consumed_at';

export class SqlApprovalOverrideRepository implements ApprovalOverrideRepository {
  readonly #db: SqlDialect;

  constructor(db: SqlDialect) {
    this.#db = db;
  }

  /** Inserts an unconfirmed override. Throws `StoreError` `AIRLOCK_STORE_DUPLICATE` for a reused id. */
  async createOverride(o: NewApprovalOverride): Promise<ApprovalOverrideRecord> {
    await this.#db.run(
      `INSERT INTO approval_overrides (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?, NULL)`,
      [
        o.id,
        o.identity,
        o.tool,
        o.argsHash,
        o.arguments,
        o.reason,
        o.requestedBy,
        o.requestedAt,
        o.expiresAt,
      ],
    );
    return { ...o, confirmedBy: null, confirmedAt: null, consumedAt: null };
  }

  async getOverride(id: string): Promise<ApprovalOverrideRecord | undefined> {
    const rows = await this.#db.query<OverrideRow>(`SELECT ${COLUMNS} FROM approval_overrides WHERE id = ?`, [
      id,
    ]);
    return rows[0] && toOverride(rows[0]);
  }

  async listOverrides(opts: { limit?: number } = {}): Promise<ApprovalOverrideRecord[]> {
    const limit = Math.max(1, Math.trunc(opts.limit ?? DEFAULT_OVERRIDE_LIST_LIMIT));
    const rows = await this.#db.query<OverrideRow>(
      `SELECT ${COLUMNS} FROM approval_overrides ORDER BY requested_at DESC, id DESC LIMIT ?`,
      [limit],
    );
    return rows.map(toOverride);
  }

  /** Exactly one confirmation can win, never by the requester, never after the expiry. */
  async confirmOverride(id: string, by: string, at: number): Promise<ConfirmOverrideResult> {
    const { changes } = await this.#db.run(
      `UPDATE approval_overrides SET confirmed_by = ?, confirmed_at = ?
       WHERE id = ? AND confirmed_by IS NULL AND requested_by <> ? AND expires_at > ? AND consumed_at IS NULL`,
      [by, at, id, by, at],
    );
    const after = await this.getOverride(id);
    if (!after) return { ok: false, reason: 'unknown' };
    if (changes === 1) return { ok: true, override: after };
    if (after.consumedAt !== null) return { ok: false, reason: 'consumed', override: after };
    if (after.confirmedBy !== null) return { ok: false, reason: 'confirmed', override: after };
    if (after.expiresAt <= at) return { ok: false, reason: 'expired', override: after };
    return { ok: false, reason: 'self', override: after };
  }

  /**
   * The oldest confirmed, unexpired, unused override for exactly this call, marked used; undefined
   * when there is none (or every candidate was used by a concurrent call first).
   */
  async consumeOverride(
    call: { identity: string; tool: string; argsHash: string },
    now: number,
  ): Promise<ApprovalOverrideRecord | undefined> {
    const candidates = await this.#db.query<{ id: string }>(
      `SELECT id FROM approval_overrides
       WHERE identity = ? AND tool = ? AND args_hash = ? AND confirmed_by IS NOT NULL
         AND consumed_at IS NULL AND expires_at > ?
       ORDER BY requested_at, id LIMIT 5`,
      [call.identity, call.tool, call.argsHash, now],
    );
    for (const { id } of candidates) {
      const { changes } = await this.#db.run(
        `UPDATE approval_overrides SET consumed_at = ?
         WHERE id = ? AND confirmed_by IS NOT NULL AND consumed_at IS NULL AND expires_at > ?`,
        [now, id, now],
      );
      if (changes === 1) return this.getOverride(id);
    }
    return undefined;
  }
}

function toOverride(row: OverrideRow): ApprovalOverrideRecord {
  return {
    id: row.id,
    identity: row.identity,
    tool: row.tool,
    argsHash: row.args_hash,
    arguments: row.arguments,
    reason: row.reason,
    requestedBy: row.requested_by,
    requestedAt: Number(row.requested_at),
    confirmedBy: row.confirmed_by,
    confirmedAt: row.confirmed_at === null ? null : Number(row.confirmed_at),
    expiresAt: Number(row.expires_at),
    consumedAt: row.consumed_at === null ? null : Number(row.consumed_at),
  };
}
