/**
 * The PII vault's rows: one per (tenant, token), holding the value sealed with AES-256-GCM under the
 * tenant's vault key (see `src/pii/vault-cipher.ts`); the store never sees a plaintext value. `digest`
 * is the full keyed HMAC the token was cut from, unique per tenant, so the same value always finds
 * its existing token.
 *
 * @example
 * const inserted = await store.vault.putVaultEntry({ tenant: 'acme', token: '[[EMAIL:7f3a9c21]]', digest, dataClass: 'EMAIL', sealedValue, createdAt: Date.now() });
 * const row = await store.vault.getVaultEntryByToken('acme', '[[EMAIL:7f3a9c21]]');
 */
import { type SqlDialect, storeErrorFrom } from './dialect.js';
import type { PiiVaultRecord, PiiVaultRepository } from './store.js';

interface VaultRow {
  tenant: string;
  token: string;
  digest: string;
  data_class: string;
  sealed_value: string;
  created_at: number;
}

const COLUMNS = 'tenant, token, digest, data_class, sealed_value, created_at';

export class SqlPiiVaultRepository implements PiiVaultRepository {
  readonly #db: SqlDialect;

  constructor(db: SqlDialect) {
    this.#db = db;
  }

  /** Inserts the row unless its token or digest already exists for the tenant; true when inserted. */
  async putVaultEntry(record: PiiVaultRecord): Promise<boolean> {
    try {
      const { changes } = await this.#db.run(
        `INSERT INTO pii_vault (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
        [record.tenant, record.token, record.digest, record.dataClass, record.sealedValue, record.createdAt],
      );
      return changes === 1;
    } catch (cause) {
      throw storeErrorFrom(cause, 'query', 'storing a PII vault entry failed');
    }
  }

  async getVaultEntryByToken(tenant: string, token: string): Promise<PiiVaultRecord | undefined> {
    const rows = await this.#db.query<VaultRow>(
      `SELECT ${COLUMNS} FROM pii_vault WHERE tenant = ? AND token = ?`,
      [tenant, token],
    );
    return rows[0] && toRecord(rows[0]);
  }

  async getVaultEntryByDigest(tenant: string, digest: string): Promise<PiiVaultRecord | undefined> {
    const rows = await this.#db.query<VaultRow>(
      `SELECT ${COLUMNS} FROM pii_vault WHERE tenant = ? AND digest = ?`,
      [tenant, digest],
    );
    return rows[0] && toRecord(rows[0]);
  }

  async countVaultEntries(tenant: string): Promise<number> {
    const rows = await this.#db.query<{ n: number }>('SELECT COUNT(*) AS n FROM pii_vault WHERE tenant = ?', [
      tenant,
    ]);
    return Number(rows[0]?.n ?? 0);
  }
}

function toRecord(row: VaultRow): PiiVaultRecord {
  return {
    tenant: row.tenant,
    token: row.token,
    digest: row.digest,
    dataClass: row.data_class,
    sealedValue: row.sealed_value,
    createdAt: Number(row.created_at),
  };
}
