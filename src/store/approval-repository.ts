/**
 * The connector's human approval queue, persisted: one row per approval request, bound to an
 * identity, a tool and the hash of the exact validated arguments. Decisions and the single use of an
 * approval are conditional UPDATEs, so two supervisors (or two retries) racing on the same row get
 * exactly one winner, across processes and across connector nodes sharing a PostgreSQL database.
 *
 * @example
 * const approvals = new SqlApprovalRepository(dialect);
 * await approvals.createApproval({ id, identity: 'claims-bot', spiffeId, tool: 'erp.refund', argsHash, arguments: '{"amount":5}', tier: 'approve', sessionId: null, createdAt: now, expiresAt: now + 86_400_000 });
 * const result = await approvals.decideApproval(id, { status: 'approved', decidedBy: 'alice', reason: null, decidedAt: Date.now() });
 * if (await approvals.consumeApproval(id, Date.now())) runTheCall();
 */
import { SqlApprovalOverrideRepository } from './approval-override-repository.js';
import type { SqlDialect, SqlExecutor } from './dialect.js';
import type {
  ApprovalOverrideRepository,
  ApprovalQuorumSpec,
  ApprovalRecord,
  ApprovalRepository,
  ApprovalStatus,
  ApprovalVoteRecord,
  DecideApprovalResult,
  NewApprovalRecord,
  VoteApprovalResult,
} from './store.js';

/** Rows returned by `listApprovals` when no limit is given. */
export const DEFAULT_APPROVAL_LIST_LIMIT = 200;

interface ApprovalRow {
  id: string;
  identity: string;
  spiffe_id: string;
  tool: string;
  args_hash: string;
  arguments: string;
  tier: string;
  session_id: string | null;
  status: string;
  created_at: number;
  expires_at: number;
  decided_at: number | null;
  decided_by: string | null;
  reason: string | null;
  consumed_at: number | null;
  quorum: string | null;
}

interface VoteRow {
  approval_id: string;
  principal: string;
  name: string;
  role: string | null;
  decision: string;
  reason: string | null;
  voted_at: number;
}

const COLUMNS =
  'id, identity, spiffe_id, tool, args_hash, arguments, tier, session_id, status, created_at, expires_at, decided_at, decided_by, reason, consumed_at, quorum';
const VOTE_COLUMNS = 'approval_id, principal, name, role, decision, reason, voted_at';

export class SqlApprovalRepository implements ApprovalRepository {
  readonly #db: SqlDialect;
  readonly overrides: ApprovalOverrideRepository;

  constructor(db: SqlDialect) {
    this.#db = db;
    this.overrides = new SqlApprovalOverrideRepository(db);
  }

  /** Inserts a `pending` request. Throws `StoreError` `AIRLOCK_STORE_DUPLICATE` for a reused id. */
  async createApproval(record: NewApprovalRecord): Promise<ApprovalRecord> {
    await this.#db.run(
      `INSERT INTO approvals (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, NULL, NULL, NULL, NULL, ?)`,
      [
        record.id,
        record.identity,
        record.spiffeId,
        record.tool,
        record.argsHash,
        record.arguments,
        record.tier,
        record.sessionId,
        record.createdAt,
        record.expiresAt,
        record.quorum ? JSON.stringify(record.quorum) : null,
      ],
    );
    return {
      ...record,
      quorum: record.quorum ?? null,
      status: 'pending',
      decidedAt: null,
      decidedBy: null,
      reason: null,
      consumedAt: null,
      votes: [],
    };
  }

  getApproval(id: string): Promise<ApprovalRecord | undefined> {
    return getWith(this.#db, id);
  }

  /**
   * The newest request for this binding that can still answer a call: pending, or decided and not
   * yet delivered (`consumedAt` null), and not expired at `now`.
   */
  async findOpenApproval(
    identity: string,
    tool: string,
    argsHash: string,
    now: number,
  ): Promise<ApprovalRecord | undefined> {
    const rows = await this.#db.query<ApprovalRow>(
      `SELECT ${COLUMNS} FROM approvals
       WHERE identity = ? AND tool = ? AND args_hash = ? AND consumed_at IS NULL
         AND status IN ('pending', 'approved', 'denied') AND expires_at > ?
       ORDER BY created_at DESC, id DESC LIMIT 1`,
      [identity, tool, argsHash, now],
    );
    return (await withVotes(this.#db, rows))[0];
  }

  /** Newest first; filters combine with AND. `limit` defaults to `DEFAULT_APPROVAL_LIST_LIMIT`. */
  async listApprovals(
    opts: { status?: readonly ApprovalStatus[]; tool?: string; identity?: string; limit?: number } = {},
  ): Promise<ApprovalRecord[]> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (opts.status && opts.status.length > 0) {
      where.push(`status IN (${opts.status.map(() => '?').join(', ')})`);
      params.push(...opts.status);
    }
    if (opts.tool !== undefined) {
      where.push('tool = ?');
      params.push(opts.tool);
    }
    if (opts.identity !== undefined) {
      where.push('identity = ?');
      params.push(opts.identity);
    }
    const limit = Math.max(1, Math.trunc(opts.limit ?? DEFAULT_APPROVAL_LIST_LIMIT));
    params.push(limit);
    const rows = await this.#db.query<ApprovalRow>(
      `SELECT ${COLUMNS} FROM approvals ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY created_at DESC, id DESC LIMIT ?`,
      params,
    );
    return withVotes(this.#db, rows);
  }

  async countApprovals(status: ApprovalStatus): Promise<number> {
    const rows = await this.#db.query<{ n: number }>('SELECT COUNT(*) AS n FROM approvals WHERE status = ?', [
      status,
    ]);
    return Number(rows[0]?.n ?? 0);
  }

  /**
   * Decides a pending, unexpired request; exactly one decision can ever win. When the UPDATE matches
   * no row, the row is read again to tell `unknown`, `decided` and `expired` apart.
   */
  async decideApproval(
    id: string,
    decision: { status: 'approved' | 'denied'; decidedBy: string; reason: string | null; decidedAt: number },
  ): Promise<DecideApprovalResult> {
    const { changes } = await this.#db.run(
      `UPDATE approvals SET status = ?, decided_by = ?, reason = ?, decided_at = ?
       WHERE id = ? AND status = 'pending' AND expires_at > ?`,
      [decision.status, decision.decidedBy, decision.reason, decision.decidedAt, id, decision.decidedAt],
    );
    const after = await this.getApproval(id);
    if (!after) return { ok: false, reason: 'unknown' };
    if (changes === 1) return { ok: true, approval: after };
    return { ok: false, reason: refusalReason(after), approval: after };
  }

  /**
   * One principal's vote on a pending request with a quorum, in one transaction that first locks the
   * request row (a no-op UPDATE: PostgreSQL queues concurrent voters there, SQLite runs write
   * transactions one at a time), so the count that flips the status sees every earlier vote. The
   * vote's primary key (request, principal) makes a second vote by the same principal a `duplicate`.
   */
  voteApproval(id: string, vote: ApprovalVoteRecord, required: number): Promise<VoteApprovalResult> {
    return this.#db.transaction(async (tx): Promise<VoteApprovalResult> => {
      const locked = await tx.run(
        `UPDATE approvals SET status = status WHERE id = ? AND status = 'pending' AND expires_at > ?`,
        [id, vote.votedAt],
      );
      const before = await getWith(tx, id);
      if (!before) return { ok: false, reason: 'unknown' };
      if (locked.changes !== 1) return { ok: false, reason: refusalReason(before), approval: before };
      const inserted = await tx.run(
        `INSERT INTO approval_votes (${VOTE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (approval_id, principal) DO NOTHING`,
        [id, vote.principal, vote.name, vote.role, vote.decision, vote.reason, vote.votedAt],
      );
      if (inserted.changes !== 1) return { ok: false, reason: 'duplicate', approval: before };
      const approvals = await tx.query<{ n: number }>(
        `SELECT COUNT(*) AS n FROM approval_votes WHERE approval_id = ? AND decision = 'approved'`,
        [id],
      );
      const decides = vote.decision === 'denied' || Number(approvals[0]?.n ?? 0) >= required;
      if (decides) {
        await tx.run(
          `UPDATE approvals SET status = ?, decided_by = ?, reason = ?, decided_at = ?
           WHERE id = ? AND status = 'pending'`,
          [vote.decision, vote.principal, vote.reason, vote.votedAt, id],
        );
      }
      const after = await getWith(tx, id);
      return after ? { ok: true, approval: after } : { ok: false, reason: 'unknown' };
    });
  }

  /**
   * Marks a decided request as delivered to the agent (an approval is then used up). True for
   * exactly one caller; false when it is pending, already consumed, or (for approvals) expired.
   */
  async consumeApproval(id: string, now: number): Promise<boolean> {
    const { changes } = await this.#db.run(
      `UPDATE approvals SET consumed_at = ?
       WHERE id = ? AND consumed_at IS NULL AND (status = 'denied' OR (status = 'approved' AND expires_at > ?))`,
      [now, id, now],
    );
    return changes === 1;
  }

  /** Marks pending and unused approved requests whose expiry is `<= now` as `expired`; returns how many. */
  async expireApprovals(now: number): Promise<number> {
    const { changes } = await this.#db.run(
      `UPDATE approvals SET status = 'expired'
       WHERE expires_at <= ? AND consumed_at IS NULL AND status IN ('pending', 'approved')`,
      [now],
    );
    return changes;
  }
}

/** Why a decision on `record` lost: it was decided before, or it is past its expiry. */
function refusalReason(record: ApprovalRecord): 'decided' | 'expired' {
  return record.status === 'pending' || record.status === 'expired' ? 'expired' : 'decided';
}

async function getWith(db: SqlExecutor, id: string): Promise<ApprovalRecord | undefined> {
  const rows = await db.query<ApprovalRow>(`SELECT ${COLUMNS} FROM approvals WHERE id = ?`, [id]);
  return (await withVotes(db, rows))[0];
}

/** The records of `rows` with the votes of those that have a quorum. */
async function withVotes(db: SqlExecutor, rows: readonly ApprovalRow[]): Promise<ApprovalRecord[]> {
  const ids = rows.filter((r) => r.quorum !== null).map((r) => r.id);
  const votes = new Map<string, ApprovalVoteRecord[]>();
  if (ids.length > 0) {
    const found = await db.query<VoteRow>(
      `SELECT ${VOTE_COLUMNS} FROM approval_votes WHERE approval_id IN (${ids.map(() => '?').join(', ')})
       ORDER BY voted_at, principal`,
      ids,
    );
    for (const v of found) {
      const list = votes.get(v.approval_id) ?? [];
      list.push({
        principal: v.principal,
        name: v.name,
        role: v.role,
        decision: v.decision === 'denied' ? 'denied' : 'approved',
        reason: v.reason,
        votedAt: Number(v.voted_at),
      });
      votes.set(v.approval_id, list);
    }
  }
  return rows.map((r) => ({ ...toApproval(r), votes: votes.get(r.id) ?? [] }));
}

function parseQuorum(text: string | null): ApprovalQuorumSpec | null {
  if (text === null) return null;
  const parsed = JSON.parse(text) as { count?: unknown; roles?: unknown };
  const count = typeof parsed.count === 'number' ? parsed.count : Number.MAX_SAFE_INTEGER;
  const roles = Array.isArray(parsed.roles) ? parsed.roles.filter((r) => typeof r === 'string') : undefined;
  return roles ? { count, roles } : { count };
}

function toApproval(row: ApprovalRow): ApprovalRecord {
  return {
    quorum: parseQuorum(row.quorum),
    id: row.id,
    identity: row.identity,
    spiffeId: row.spiffe_id,
    tool: row.tool,
    argsHash: row.args_hash,
    arguments: row.arguments,
    tier: row.tier,
    sessionId: row.session_id,
    status: row.status as ApprovalStatus,
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    decidedAt: row.decided_at === null ? null : Number(row.decided_at),
    decidedBy: row.decided_by,
    reason: row.reason,
    consumedAt: row.consumed_at === null ? null : Number(row.consumed_at),
  };
}
