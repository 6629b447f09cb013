/**
 * Console accounts of the connector (supervisors, admins, auditors). Only a password hash is stored
 * (see src/console/password-hash.ts); the store never sees a password.
 *
 * The account name is the account's id: its primary key, never renamed, and the principal
 * `console:<name>` that approvals are decided by. Names are ASCII ({@link ADMIN_ACCOUNT_NAME}), so no
 * account can look like another one or like an agent identity through Unicode look-alikes.
 *
 * @example
 * const accounts = new SqlAdminAccountRepository(dialect);
 * await accounts.putAdminAccount({ name: 'alice', passwordHash, role: 'admin', revealPii: true }, Date.now());
 * const alice = await accounts.getAdminAccount('alice');
 */
import { StoreError } from '../errors/airlock-error.js';
import type { SqlDialect } from './dialect.js';
import type { AdminAccountRecord, AdminAccountRepository, AdminRole } from './store.js';

/** What an account name may be: 1-100 ASCII letters, digits, `.`, `_`, `@`, `-`, starting with a letter or digit. */
export const ADMIN_ACCOUNT_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$/;

interface AdminAccountRow {
  name: string;
  password_hash: string;
  role: string;
  reveal_pii: number;
  created_at: number;
  updated_at: number;
  disabled_at: number | null;
}

const COLUMNS = 'name, password_hash, role, reveal_pii, created_at, updated_at, disabled_at';

export class SqlAdminAccountRepository implements AdminAccountRepository {
  readonly #db: SqlDialect;

  constructor(db: SqlDialect) {
    this.#db = db;
  }

  /**
   * Creates the account, or replaces the password, role and PII flag of an existing one (and
   * enables it again). Resolves `'created'` or `'updated'`.
   */
  async putAdminAccount(
    account: { name: string; passwordHash: string; role: AdminRole; revealPii: boolean },
    now: number,
  ): Promise<'created' | 'updated'> {
    if (!ADMIN_ACCOUNT_NAME.test(account.name)) {
      throw new StoreError(
        'AIRLOCK_STORE_ACCOUNT_NAME',
        `invalid console account name ${JSON.stringify(account.name)}: 1-100 characters A-Z a-z 0-9 . _ @ - starting with a letter or digit`,
      );
    }
    return this.#db.transaction(async (tx) => {
      const { changes } = await tx.run(
        'UPDATE admin_accounts SET password_hash = ?, role = ?, reveal_pii = ?, updated_at = ?, disabled_at = NULL WHERE name = ?',
        [account.passwordHash, account.role, account.revealPii ? 1 : 0, now, account.name],
      );
      if (changes > 0) return 'updated';
      await tx.run(`INSERT INTO admin_accounts (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, NULL)`, [
        account.name,
        account.passwordHash,
        account.role,
        account.revealPii ? 1 : 0,
        now,
        now,
      ]);
      return 'created';
    });
  }

  async getAdminAccount(name: string): Promise<AdminAccountRecord | undefined> {
    const rows = await this.#db.query<AdminAccountRow>(
      `SELECT ${COLUMNS} FROM admin_accounts WHERE name = ?`,
      [name],
    );
    return rows[0] && toAccount(rows[0]);
  }

  async listAdminAccounts(): Promise<AdminAccountRecord[]> {
    const rows = await this.#db.query<AdminAccountRow>(`SELECT ${COLUMNS} FROM admin_accounts ORDER BY name`);
    return rows.map(toAccount);
  }

  /** Disables an account (its sessions end on their next request). False when it does not exist. */
  async disableAdminAccount(name: string, now: number): Promise<boolean> {
    const { changes } = await this.#db.run(
      'UPDATE admin_accounts SET disabled_at = COALESCE(disabled_at, ?), updated_at = ? WHERE name = ?',
      [now, now, name],
    );
    return changes > 0;
  }
}

function toAccount(row: AdminAccountRow): AdminAccountRecord {
  return {
    name: row.name,
    passwordHash: row.password_hash,
    role: row.role as AdminRole,
    revealPii: Number(row.reveal_pii) === 1,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    disabledAt: row.disabled_at === null ? null : Number(row.disabled_at),
  };
}
