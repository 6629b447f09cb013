/**
 * Reads and writes of the audit trail's rows on one `SqlExecutor`: the dialect itself, or the
 * transaction of `SqlAuditRepository.appendAuditExclusive` (so that a writer holding the trail's lock
 * reads exactly what it extends). Hashing, signing and verification live in src/audit/.
 *
 * @example
 * const reads = new SqlAuditTrailReads(dialect);
 * const head = await reads.auditHead();
 */
import type { SqlExecutor, SqlValue } from './dialect.js';
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
/**
 * Most rows per INSERT statement: a whole group commit of the ledger (`DEFAULT_GROUP_COMMIT_MAX_BATCH`, 512)
 * in one statement. 4 parameters each: 2,048, far below SQLite's (32,766) and PostgreSQL's (65,535) limits.
 * Statements carry a power-of-two number of rows (a batch of 70 rows: 64 + 4 + 2), so a table has at most
 * ten statement texts: batches of every size would otherwise push the store's other prepared statements
 * (identity and budget look-ups on every request) out of its statement cache.
 */
const INSERT_CHUNK = 512;
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

  async auditHeadLink(): Promise<{ seq: number; hash: string } | undefined> {
    const rows = await this.#db.query<{ seq: number | string; hash: string }>(
      'SELECT seq, hash FROM audit_entries ORDER BY seq DESC LIMIT 1',
    );
    const row = rows[0];
    return row && { seq: Number(row.seq), hash: row.hash };
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
  // Multi-row INSERTs: one statement (one round trip on PostgreSQL) per chunk of rows, usually one per batch.
  await insertRows(tx, 'audit_entries', ENTRY_COLUMNS, batch.entries, (e) => [
    e.seq,
    e.time,
    e.hash,
    e.entry,
  ]);
  const checkpoints = batch.checkpoints;
  await insertRows(tx, 'audit_checkpoints', CHECKPOINT_COLUMNS, checkpoints, (c) => [
    c.treeSize,
    c.headHash,
    c.time,
    c.checkpoint,
  ]);
  if (batch.pruneThroughSeq !== undefined) {
    await tx.run('DELETE FROM audit_entries WHERE seq <= ?', [batch.pruneThroughSeq]);
  }
}

/** `INSERT INTO <table> (<4 columns>) VALUES (?, ?, ?, ?), ...` for `rows` rows (a power of two), built once per size. */
const insertTexts = new Map<string, string>();

function insertText(table: string, columns: string, rows: number): string {
  const key = `${table} ${rows}`;
  let sql = insertTexts.get(key);
  if (sql === undefined) {
    sql = `INSERT INTO ${table} (${columns}) VALUES ${new Array(rows).fill('(?, ?, ?, ?)').join(', ')}`;
    insertTexts.set(key, sql);
  }
  return sql;
}

async function insertRows<R>(
  tx: SqlExecutor,
  table: string,
  columns: string,
  rows: readonly R[],
  values: (row: R) => [SqlValue, SqlValue, SqlValue, SqlValue],
): Promise<void> {
  for (let i = 0; i < rows.length; ) {
    const end = i + largestPowerOfTwoUpTo(Math.min(rows.length - i, INSERT_CHUNK));
    const params: SqlValue[] = [];
    for (let j = i; j < end; j++) params.push(...values(rows[j] as R));
    await tx.run(insertText(table, columns, end - i), params);
    i = end;
  }
}

function largestPowerOfTwoUpTo(n: number): number {
  return 2 ** Math.floor(Math.log2(n));
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
