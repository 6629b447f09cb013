/**
 * Reads and writes of the audit trail's rows on one `SqlExecutor`: the dialect itself, or the
 * transaction of `SqlAuditRepository.appendAuditExclusive` (so that a writer holding the trail's lock
 * reads exactly what it extends). Hashing, signing and verification live in src/audit/.
 *
 * @example
 * const reads = new SqlAuditTrailReads(dialect);
 * const head = await reads.auditHead();
 */
import type { SqlExecutor } from './dialect.js';
import type { AuditBatch, AuditCheckpointRow, AuditEntryRow, AuditTrailReader } from './store.js';

/** Rows returned by the `list*` methods when no limit is given. */
export const DEFAULT_AUDIT_LIST_LIMIT = 1000;

interface EntryRow {
  seq: number;
  time: number;
  hash: string;
  entry: string;
}

export interface CheckpointRow {
  tree_size: number;
  head_hash: string;
  time: number;
  checkpoint: string;
}

const ENTRY_COLUMNS = 'seq, time, hash, entry';
/** Rows per INSERT statement (4 parameters each; far below SQLite's and PostgreSQL's limits). */
const INSERT_CHUNK = 200;
const CHECKPOINT_COLUMNS = 'tree_size, head_hash, time, checkpoint';

export class SqlAuditTrailReads implements AuditTrailReader {
  readonly #db: SqlExecutor;

  constructor(db: SqlExecutor) {
    this.#db = db;
  }

  async auditHead(): Promise<AuditEntryRow | undefined> {
    const rows = await this.#db.query<EntryRow>(
      `SELECT ${ENTRY_COLUMNS} FROM audit_entries ORDER BY seq DESC LIMIT 1`,
    );
    return rows[0] && toEntry(rows[0]);
  }

  async getAuditEntry(seq: number): Promise<AuditEntryRow | undefined> {
    const rows = await this.#db.query<EntryRow>(`SELECT ${ENTRY_COLUMNS} FROM audit_entries WHERE seq = ?`, [
      seq,
    ]);
    return rows[0] && toEntry(rows[0]);
  }

  async listAuditEntries(opts: { afterSeq?: number; limit?: number } = {}): Promise<AuditEntryRow[]> {
    const rows = await this.#db.query<EntryRow>(
      `SELECT ${ENTRY_COLUMNS} FROM audit_entries WHERE seq > ? ORDER BY seq LIMIT ?`,
      [opts.afterSeq ?? 0, auditListLimit(opts.limit)],
    );
    return rows.map(toEntry);
  }

  async lastAuditSeqBefore(time: number): Promise<number | undefined> {
    const rows = await this.#db.query<{ seq: number | null }>(
      'SELECT MAX(seq) AS seq FROM audit_entries WHERE time < ?',
      [time],
    );
    const seq = rows[0]?.seq;
    return seq === null || seq === undefined ? undefined : Number(seq);
  }

  async listAuditCheckpoints(
    opts: { afterTreeSize?: number; limit?: number } = {},
  ): Promise<AuditCheckpointRow[]> {
    const rows = await this.#db.query<CheckpointRow>(
      `SELECT ${CHECKPOINT_COLUMNS} FROM audit_checkpoints WHERE tree_size > ? ORDER BY tree_size LIMIT ?`,
      [opts.afterTreeSize ?? 0, auditListLimit(opts.limit)],
    );
    return rows.map(toCheckpoint);
  }

  async latestAuditCheckpoint(): Promise<AuditCheckpointRow | undefined> {
    const rows = await this.#db.query<CheckpointRow>(
      `SELECT ${CHECKPOINT_COLUMNS} FROM audit_checkpoints ORDER BY tree_size DESC LIMIT 1`,
    );
    return rows[0] && toCheckpoint(rows[0]);
  }
}

/** Writes one batch with `tx` (inside the caller's transaction). */
export async function writeAuditBatch(tx: SqlExecutor, batch: AuditBatch): Promise<void> {
  // Multi-row INSERTs: one statement (one round trip on PostgreSQL) per chunk of rows.
  for (let i = 0; i < batch.entries.length; i += INSERT_CHUNK) {
    const chunk = batch.entries.slice(i, i + INSERT_CHUNK);
    await tx.run(
      `INSERT INTO audit_entries (${ENTRY_COLUMNS}) VALUES ${chunk.map(() => '(?, ?, ?, ?)').join(', ')}`,
      chunk.flatMap((e) => [e.seq, e.time, e.hash, e.entry]),
    );
  }
  for (const c of batch.checkpoints) {
    await tx.run(`INSERT INTO audit_checkpoints (${CHECKPOINT_COLUMNS}) VALUES (?, ?, ?, ?)`, [
      c.treeSize,
      c.headHash,
      c.time,
      c.checkpoint,
    ]);
  }
  if (batch.pruneThroughSeq !== undefined) {
    await tx.run('DELETE FROM audit_entries WHERE seq <= ?', [batch.pruneThroughSeq]);
  }
}

export function auditListLimit(limit: number | undefined): number {
  return Math.max(1, Math.trunc(limit ?? DEFAULT_AUDIT_LIST_LIMIT));
}

function toEntry(row: EntryRow): AuditEntryRow {
  return { seq: Number(row.seq), time: Number(row.time), hash: row.hash, entry: row.entry };
}

export function toCheckpoint(row: CheckpointRow): AuditCheckpointRow {
  return {
    treeSize: Number(row.tree_size),
    headHash: row.head_hash,
    time: Number(row.time),
    checkpoint: row.checkpoint,
  };
}
