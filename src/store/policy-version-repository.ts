/**
 * Every accepted version of the connector's policy file, append-only, numbered 1, 2, 3... The policy
 * watcher records a version before it puts it in force, so the store always tells which policy
 * decided a request at a given time.
 *
 * @example
 * const versions = new SqlPolicyVersionRepository(dialect);
 * await versions.recordPolicyVersion({ hash, text, source: 'policy.yaml', loadedAt: Date.now() });
 * const current = await versions.latestPolicyVersion();
 */
import { StoreError } from '../errors/airlock-error.js';
import { type SqlDialect, STORE_ERROR_CODES } from './dialect.js';
import type { PolicyVersionRecord, PolicyVersionRepository } from './store.js';

/** Rows returned by `listPolicyVersions` when no limit is given. */
export const DEFAULT_POLICY_VERSION_LIST_LIMIT = 100;
/** Attempts to take the next sequence number when another node records at the same moment. */
const MAX_SEQ_ATTEMPTS = 5;

interface PolicyVersionRow {
  seq: number;
  hash: string;
  text: string;
  source: string;
  loaded_at: number;
}

const COLUMNS = 'seq, hash, text, source, loaded_at';

export class SqlPolicyVersionRepository implements PolicyVersionRepository {
  readonly #db: SqlDialect;

  constructor(db: SqlDialect) {
    this.#db = db;
  }

  /**
   * Appends a version with the next sequence number. Writers are serialized (SQLite: the write lock;
   * PostgreSQL: a table lock that still lets readers through), with a retry on a duplicate key as a
   * last resort.
   */
  async recordPolicyVersion(version: Omit<PolicyVersionRecord, 'seq'>): Promise<PolicyVersionRecord> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#db.transaction(async (tx) => {
          if (this.#db.kind === 'postgres') {
            // Writers queue here instead of racing for the same seq; readers are not blocked.
            await tx.exec('LOCK TABLE policy_versions IN SHARE ROW EXCLUSIVE MODE');
          }
          const [row] = await tx.query<{ next: number }>(
            'SELECT COALESCE(MAX(seq), 0) + 1 AS next FROM policy_versions',
          );
          const seq = Number(row?.next ?? 1);
          await tx.run(`INSERT INTO policy_versions (${COLUMNS}) VALUES (?, ?, ?, ?, ?)`, [
            seq,
            version.hash,
            version.text,
            version.source,
            version.loadedAt,
          ]);
          return {
            seq,
            hash: version.hash,
            text: version.text,
            source: version.source,
            loadedAt: version.loadedAt,
          };
        });
      } catch (err) {
        const raced = err instanceof StoreError && err.code === STORE_ERROR_CODES.duplicate;
        if (!raced || attempt >= MAX_SEQ_ATTEMPTS) throw err;
      }
    }
  }

  async latestPolicyVersion(): Promise<PolicyVersionRecord | undefined> {
    const rows = await this.#db.query<PolicyVersionRow>(
      `SELECT ${COLUMNS} FROM policy_versions ORDER BY seq DESC LIMIT 1`,
    );
    return rows[0] && toVersion(rows[0]);
  }

  async getPolicyVersion(seq: number): Promise<PolicyVersionRecord | undefined> {
    const rows = await this.#db.query<PolicyVersionRow>(
      `SELECT ${COLUMNS} FROM policy_versions WHERE seq = ?`,
      [seq],
    );
    return rows[0] && toVersion(rows[0]);
  }

  /** Newest first; `limit` defaults to `DEFAULT_POLICY_VERSION_LIST_LIMIT` (100). */
  async listPolicyVersions(opts: { limit?: number } = {}): Promise<PolicyVersionRecord[]> {
    const limit = Math.max(1, Math.trunc(opts.limit ?? DEFAULT_POLICY_VERSION_LIST_LIMIT));
    const rows = await this.#db.query<PolicyVersionRow>(
      `SELECT ${COLUMNS} FROM policy_versions ORDER BY seq DESC LIMIT ?`,
      [limit],
    );
    return rows.map(toVersion);
  }
}

function toVersion(row: PolicyVersionRow): PolicyVersionRecord {
  return {
    seq: Number(row.seq),
    hash: row.hash,
    text: row.text,
    source: row.source,
    loadedAt: Number(row.loaded_at),
  };
}
