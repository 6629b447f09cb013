/** Console accounts (see `store.ts`). All times are epoch milliseconds. */
/** `admin`: everything; `supervisor`: approvals and read-only pages; `auditor`: read-only pages. */
export type AdminRole = 'admin' | 'supervisor' | 'auditor';

/** A console account. */
export interface AdminAccountRecord {
  name: string;
  /** `scrypt$...` (see src/console/password-hash.ts). */
  passwordHash: string;
  role: AdminRole;
  /** May see argument values that look like personal data unmasked. */
  revealPii: boolean;
  createdAt: number;
  updatedAt: number;
  disabledAt: number | null;
}

export interface AdminAccountRepository {
  /** Creates the account or replaces its password, role and PII flag (re-enabling it). */
  putAdminAccount(
    account: { name: string; passwordHash: string; role: AdminRole; revealPii: boolean },
    now: number,
  ): Promise<'created' | 'updated'>;
  getAdminAccount(name: string): Promise<AdminAccountRecord | undefined>;
  listAdminAccounts(): Promise<AdminAccountRecord[]>;
  disableAdminAccount(name: string, now: number): Promise<boolean>;
}
