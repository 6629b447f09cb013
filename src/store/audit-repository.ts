/**
 * Rows of the audit ledger (connector) and of the audit witness (relay). The repository stores and
 * returns rows; hashing, signing and verification live in src/audit/. Several processes may append
 * to one trail (a connector pair on PostgreSQL): `appendAuditExclusive` lets one write at a time, and
 * `signerLease` names the one that signs checkpoints.
 *
 * @example
 * const audit = new SqlAuditRepository(dialect);
 * await audit.appendAudit({ entries: [{ seq: 1, time, hash, entry: json }], checkpoints: [] });
 * const head = await audit.auditHead();
 */
import {
  auditListLimit,
  type CheckpointRow,
  SqlAuditTrailReads,
  toCheckpoint,
  writeAuditBatch,
} from './audit-trail-reads.js';
import type { SqlDialect } from './dialect.js';
import type {
  AddWitnessCheckpointResult,
  AuditBatch,
  AuditRepository,
  AuditTrailReader,
  WitnessCheckpointRow,
  WitnessKeyRecord,
} from './store.js';
import type { StoreLease } from './store-lease.js';

export { DEFAULT_AUDIT_LIST_LIMIT } from './audit-trail-reads.js';

interface WitnessRow extends CheckpointRow {
  tenant: string;
  received_at: number;
}

const WITNESS_COLUMNS = 'tenant, tree_size, head_hash, time, checkpoint, received_at';

export class SqlAuditRepository extends SqlAuditTrailReads implements AuditRepository {
  readonly #db: SqlDialect;

  constructor(db: SqlDialect) {
    super(db);
    this.#db = db;
  }

  async appendAudit(batch: AuditBatch): Promise<void> {
    await this.#db.transaction((tx) => writeAuditBatch(tx, batch));
  }

  async appendAuditExclusive<T>(
    trail: string,
    build: (trail: AuditTrailReader) => Promise<{ batch: AuditBatch; result: T }>,
  ): Promise<T> {
    return this.#db.transaction(async (tx) => {
      await this.#db.lockInTransaction(tx, `audit-writer:${trail}`);
      const { batch, result } = await build(new SqlAuditTrailReads(tx));
      await writeAuditBatch(tx, batch);
      return result;
    });
  }

  signerLease(trail: string): Promise<StoreLease> {
    return this.#db.openLease(`audit-signer:${trail}`);
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

  /** Check and insert in one transaction, holding the tenant's witness lock (relay nodes take turns). */
  async addWitnessCheckpoint(row: WitnessCheckpointRow): Promise<AddWitnessCheckpointResult> {
    return this.#db.transaction(async (tx) => {
      await this.#db.lockInTransaction(tx, `audit-witness:${row.tenant}`);
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
      [tenant, opts.afterTreeSize ?? 0, auditListLimit(opts.limit)],
    );
    return rows.map(toWitness);
  }
}

function toWitness(row: WitnessRow): WitnessCheckpointRow {
  return { ...toCheckpoint(row), tenant: row.tenant, receivedAt: Number(row.received_at) };
}
