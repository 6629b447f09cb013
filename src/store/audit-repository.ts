/**
 * Rows of the audit ledger (connector) and of the audit witness (relay). The repository stores and
 * returns rows; hashing, signing and verification live in src/audit/.
 *
 * @example
 * const audit = new SqlAuditRepository(dialect);
 * await audit.appendAudit({ entries: [{ seq: 1, time, hash, entry: json }], checkpoints: [] });
 * const head = await audit.auditHead();
 */
import type { SqlDialect } from './dialect.js';
import type {
  AddWitnessCheckpointResult,
  AuditCheckpointRow,
  AuditEntryRow,
  AuditRepository,
  WitnessCheckpointRow,
  WitnessKeyRecord,
} from './store.js';

/** Rows returned by the `list*` methods when no limit is given. */
export const DEFAULT_AUDIT_LIST_LIMIT = 1000;

interface EntryRow {
  seq: number;
  time: number;
  hash: string;
  entry: string;
}

interface CheckpointRow {
  tree_size: number;
  head_hash: string;
  time: number;
  checkpoint: string;
}

interface WitnessRow extends CheckpointRow {
  tenant: string;
  received_at: number;
}

const ENTRY_COLUMNS = 'seq, time, hash, entry';
/** Rows per INSERT statement (4 parameters each; far below SQLite's and PostgreSQL's limits). */
const INSERT_CHUNK = 200;
const CHECKPOINT_COLUMNS = 'tree_size, head_hash, time, checkpoint';
const WITNESS_COLUMNS = 'tenant, tree_size, head_hash, time, checkpoint, received_at';

export class SqlAuditRepository implements AuditRepository {
  readonly #db: SqlDialect;

  constructor(db: SqlDialect) {
    this.#db = db;
  }

  async appendAudit(batch: {
    entries: readonly AuditEntryRow[];
    checkpoints: readonly AuditCheckpointRow[];
    pruneThroughSeq?: number;
  }): Promise<void> {
    await this.#db.transaction(async (tx) => {
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
    });
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
      [opts.afterSeq ?? 0, limitOf(opts.limit)],
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
      [opts.afterTreeSize ?? 0, limitOf(opts.limit)],
    );
    return rows.map(toCheckpoint);
  }

  async latestAuditCheckpoint(): Promise<AuditCheckpointRow | undefined> {
    const rows = await this.#db.query<CheckpointRow>(
      `SELECT ${CHECKPOINT_COLUMNS} FROM audit_checkpoints ORDER BY tree_size DESC LIMIT 1`,
    );
    return rows[0] && toCheckpoint(rows[0]);
  }

  async registerWitnessKey(record: WitnessKeyRecord): Promise<void> {
    await this.#db.run(
      `INSERT INTO audit_witness_keys (tenant, key_id, public_key, registered_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (tenant, key_id) DO NOTHING`,
      [record.tenant, record.keyId, record.publicKeyPem, record.registeredAt],
    );
  }

  async listWitnessKeys(tenant: string): Promise<WitnessKeyRecord[]> {
    const rows = await this.#db.query<{
      tenant: string;
      key_id: string;
      public_key: string;
      registered_at: number;
    }>(
      'SELECT tenant, key_id, public_key, registered_at FROM audit_witness_keys WHERE tenant = ? ORDER BY registered_at, key_id',
      [tenant],
    );
    return rows.map((r) => ({
      tenant: r.tenant,
      keyId: r.key_id,
      publicKeyPem: r.public_key,
      registeredAt: Number(r.registered_at),
    }));
  }

  /** Check and insert in one transaction; on PostgreSQL an advisory lock per tenant serializes nodes. */
  async addWitnessCheckpoint(row: WitnessCheckpointRow): Promise<AddWitnessCheckpointResult> {
    return this.#db.transaction(async (tx) => {
      if (this.#db.kind === 'postgres') {
        await tx.query("SELECT pg_advisory_xact_lock(hashtext('airlock:audit-witness:' || ?))", [row.tenant]);
      }
      const same = await tx.query<WitnessRow>(
        `SELECT ${WITNESS_COLUMNS} FROM audit_witness_checkpoints WHERE tenant = ? AND tree_size = ?`,
        [row.tenant, row.treeSize],
      );
      if (same[0]) {
        return same[0].head_hash === row.headHash
          ? { status: 'duplicate' as const }
          : { status: 'conflict' as const, existing: toWitness(same[0]) };
      }
      const larger = await tx.query<WitnessRow>(
        `SELECT ${WITNESS_COLUMNS} FROM audit_witness_checkpoints WHERE tenant = ? AND tree_size > ?
         ORDER BY tree_size DESC LIMIT 1`,
        [row.tenant, row.treeSize],
      );
      if (larger[0]) return { status: 'conflict' as const, existing: toWitness(larger[0]) };
      await tx.run(`INSERT INTO audit_witness_checkpoints (${WITNESS_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)`, [
        row.tenant,
        row.treeSize,
        row.headHash,
        row.time,
        row.checkpoint,
        row.receivedAt,
      ]);
      return { status: 'stored' as const };
    });
  }

  /** Relay witness: the largest checkpoint held for `tenant` (an origin for tlog-witness rows). */
  async latestWitnessCheckpoint(tenant: string): Promise<WitnessCheckpointRow | undefined> {
    const rows = await this.#db.query<WitnessRow>(
      `SELECT ${WITNESS_COLUMNS} FROM audit_witness_checkpoints WHERE tenant = ? ORDER BY tree_size DESC LIMIT 1`,
      [tenant],
    );
    return rows[0] && toWitness(rows[0]);
  }

  async listWitnessCheckpoints(
    tenant: string,
    opts: { afterTreeSize?: number; limit?: number } = {},
  ): Promise<WitnessCheckpointRow[]> {
    const rows = await this.#db.query<WitnessRow>(
      `SELECT ${WITNESS_COLUMNS} FROM audit_witness_checkpoints WHERE tenant = ? AND tree_size > ?
       ORDER BY tree_size LIMIT ?`,
      [tenant, opts.afterTreeSize ?? 0, limitOf(opts.limit)],
    );
    return rows.map(toWitness);
  }
}

function limitOf(limit: number | undefined): number {
  return Math.max(1, Math.trunc(limit ?? DEFAULT_AUDIT_LIST_LIMIT));
}

function toEntry(row: EntryRow): AuditEntryRow {
  return { seq: Number(row.seq), time: Number(row.time), hash: row.hash, entry: row.entry };
}

function toCheckpoint(row: CheckpointRow): AuditCheckpointRow {
  return {
    treeSize: Number(row.tree_size),
    headHash: row.head_hash,
    time: Number(row.time),
    checkpoint: row.checkpoint,
  };
}

function toWitness(row: WitnessRow): WitnessCheckpointRow {
  return { ...toCheckpoint(row), tenant: row.tenant, receivedAt: Number(row.received_at) };
}
