/**
 * The storage interface. Everything Airlock persists goes through a `Store`; the relay and the
 * connector each open one. Repositories are written once in portable SQL against a `SqlDialect`
 * (see `dialect.ts`), and each backend (SQLite, PostgreSQL) only implements the dialect — the same
 * idea as kysely's `Dialect`. One test suite runs against every backend.
 *
 * The records and repository interfaces live in one file per concern (`*-records.ts`); this file
 * re-exports them all, so callers import every store type from here.
 *
 * All times are epoch milliseconds.
 */
import type { AdminAccountRepository } from './admin-account-records.js';
import type { ApprovalRepository } from './approval-records.js';
import type { AuditRepository } from './audit-records.js';
import type { CatalogRepository } from './catalog-records.js';
import type { ChangeFeed } from './change-feed.js';
import type { IdentityRepository } from './identity-records.js';
import type { MemberRepository } from './member-records.js';
import type { PiiVaultRepository } from './pii-vault-records.js';
import type { PolicyVersionRepository } from './policy-version-records.js';
import type { RelayRepository } from './relay-records.js';

export type * from './admin-account-records.js';
export type * from './approval-override-records.js';
export type * from './approval-records.js';
export type * from './audit-records.js';
export type * from './catalog-records.js';
export type * from './identity-records.js';
export type * from './member-records.js';
export type * from './pii-vault-records.js';
export type * from './policy-version-records.js';
export type * from './relay-records.js';
export type { StoreLease } from './store-lease.js';

export interface Store {
  readonly backend: 'sqlite' | 'postgres';
  readonly relay: RelayRepository;
  readonly identities: IdentityRepository;
  readonly policyVersions: PolicyVersionRepository;
  /** Audit ledger (connector) and audit witness (relay). */
  readonly audit: AuditRepository;
  /** PII vault (connector): tokens and their sealed values. */
  readonly vault: PiiVaultRepository;
  /** Tool catalog (connector): pinned definitions, kill switch, catalog events. */
  readonly catalog: CatalogRepository;
  /** Human approval queue (connector). */
  readonly approvals: ApprovalRepository;
  /** Console accounts (connector). */
  readonly adminAccounts: AdminAccountRepository;
  /** Members of a connector pair and their heartbeats (connector). */
  readonly members: MemberRepository;
  /** Change notifications between processes sharing this store (LISTEN/NOTIFY on PostgreSQL). */
  readonly changes: ChangeFeed;
  close(): Promise<void>;
}
