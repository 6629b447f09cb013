/**
 * Opens a `Store` from a URL and applies the schema.
 *
 * | url | backend |
 * |---|---|
 * | `sqlite:<path>` (also `sqlite://<path>`, `sqlite:///abs/path`) | SQLite file, parent directory created |
 * | `sqlite:<path>?synchronous=normal` | the same, without an fsync per commit (`full`, the default, keeps it): see `SqliteDialectOptions.synchronous` |
 * | `sqlite::memory:` | SQLite in memory (tests, demos) |
 * | `postgres://…` / `postgresql://…` | PostgreSQL; `?schema=<name>` picks (and creates) a schema, e.g. one per tenant or per test |
 *
 * @example
 * const store = await openStore({ url: 'sqlite:./data/relay.db' });
 * await store.relay.addTenant('acme', Date.now());
 * await store.close();
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { StoreError } from '../errors/airlock-error.js';
import { SqlAdminAccountRepository } from './admin-account-repository.js';
import { SqlApprovalRepository } from './approval-repository.js';
import { SqlAuditRepository } from './audit-repository.js';
import { SqlCatalogRepository } from './catalog-repository.js';
import { type ChangeFeed, LocalChangeFeed } from './change-feed.js';
import { type SqlDialect, STORE_ERROR_CODES } from './dialect.js';
import { SqlIdentityRepository } from './identity-repository.js';
import { SqlMemberRepository } from './member-repository.js';
import { migrate } from './migrations.js';
import { SqlPiiVaultRepository } from './pii-vault-repository.js';
import { SqlPolicyVersionRepository } from './policy-version-repository.js';
import { postgresChangeFeed } from './postgres-change-feed.js';
import { openPostgresDialect, type PostgresDialectOptions } from './postgres-dialect.js';
import { SqlRelayRepository } from './relay-repository.js';
import {
  openSqliteDialect,
  SQLITE_SYNCHRONOUS_VALUES,
  type SqliteDialectOptions,
  type SqliteSynchronous,
} from './sqlite-dialect.js';
import type {
  AdminAccountRepository,
  ApprovalRepository,
  AuditRepository,
  CatalogRepository,
  IdentityRepository,
  MemberRepository,
  PiiVaultRepository,
  PolicyVersionRepository,
  RelayRepository,
  Store,
} from './store.js';

export interface OpenStoreOptions {
  /** `sqlite:<path>`, `sqlite::memory:` or `postgres://…`. */
  url: string;
  /** PostgreSQL only: schema to create and use (default: the server's search_path). */
  schema?: string;
  /** Backend tuning; see `SqliteDialectOptions` / `PostgresDialectOptions` for defaults. */
  sqlite?: Omit<SqliteDialectOptions, 'path'>;
  postgres?: Omit<PostgresDialectOptions, 'connectionString' | 'schema'>;
}

/**
 * Opens the store named by `opts.url` and migrates it. Throws `StoreError`: `AIRLOCK_STORE_URL`
 * (unknown scheme), `AIRLOCK_STORE_OPEN` (cannot open / reach / write), `AIRLOCK_STORE_MIGRATION`.
 *
 * @example
 * const store = await openStore({ url: 'postgres://airlock@db.internal/airlock', schema: 'relay' });
 */
export async function openStore(opts: OpenStoreOptions): Promise<Store> {
  const url = opts.url;
  let dialect: SqlDialect;
  let changes: ChangeFeed | undefined;
  if (url.startsWith('sqlite:')) {
    const { path, synchronous } = parseSqliteStoreUrl(url);
    if (path !== ':memory:') {
      try {
        mkdirSync(dirname(resolve(path)), { recursive: true });
      } catch (cause) {
        throw new StoreError(
          STORE_ERROR_CODES.open,
          `cannot create the directory for SQLite database ${path}`,
          {
            cause,
          },
        );
      }
    }
    dialect = openSqliteDialect({ ...opts.sqlite, ...(synchronous ? { synchronous } : {}), path });
  } else if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    const { connectionString, schema } = postgresSchemaOf(url, opts.schema);
    dialect = await openPostgresDialect({ ...opts.postgres, connectionString, schema });
    changes = postgresChangeFeed({ connectionString, ...(schema ? { schema } : {}) });
  } else {
    const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(url)?.[0] ?? '(none)';
    throw new StoreError(
      STORE_ERROR_CODES.url,
      `unsupported store URL scheme ${scheme}: use sqlite:<path>, sqlite::memory: or postgres://…`,
    );
  }
  return openStoreWithDialect(dialect, changes);
}

/**
 * Migrates `dialect` and wraps it as a `Store`. Closes the dialect when migration fails.
 *
 * @example
 * const store = await openStoreWithDialect(openSqliteDialect({ path: ':memory:' }));
 */
export async function openStoreWithDialect(
  dialect: SqlDialect,
  changes: ChangeFeed = new LocalChangeFeed(),
): Promise<Store> {
  try {
    await migrate(dialect);
  } catch (cause) {
    await dialect.close().catch(() => {});
    throw cause;
  }
  return new SqlStore(dialect, changes);
}

class SqlStore implements Store {
  readonly backend: 'sqlite' | 'postgres';
  readonly relay: RelayRepository;
  readonly identities: IdentityRepository;
  readonly policyVersions: PolicyVersionRepository;
  readonly audit: AuditRepository;
  readonly vault: PiiVaultRepository;
  readonly catalog: CatalogRepository;
  readonly approvals: ApprovalRepository;
  readonly adminAccounts: AdminAccountRepository;
  readonly members: MemberRepository;
  readonly changes: ChangeFeed;
  readonly #dialect: SqlDialect;

  constructor(dialect: SqlDialect, changes: ChangeFeed) {
    this.#dialect = dialect;
    this.changes = changes;
    this.backend = dialect.kind;
    this.relay = new SqlRelayRepository(dialect);
    this.identities = new SqlIdentityRepository(dialect);
    this.policyVersions = new SqlPolicyVersionRepository(dialect);
    this.audit = new SqlAuditRepository(dialect);
    this.approvals = new SqlApprovalRepository(dialect);
    this.adminAccounts = new SqlAdminAccountRepository(dialect);
    this.vault = new SqlPiiVaultRepository(dialect);
    this.catalog = new SqlCatalogRepository(dialect);
    this.members = new SqlMemberRepository(dialect);
  }

  async close(): Promise<void> {
    await this.changes.close();
    await this.#dialect.close();
  }
}

/** Splits `?schema=<name>` off a PostgreSQL URL (an explicit `schema` option wins). */
function postgresSchemaOf(url: string, schema: string | undefined) {
  const parsed = new URL(url);
  const fromUrl = parsed.searchParams.get('schema') ?? undefined;
  if (fromUrl === undefined) return { connectionString: url, schema };
  parsed.searchParams.delete('schema');
  return { connectionString: parsed.toString(), schema: schema ?? fromUrl };
}

/**
 * The files of a SQLite store URL (the database and its WAL companions), without its options; none
 * for PostgreSQL or an in-memory database. For keeping them out of reach (the stdio sandbox).
 *
 * @example
 * sqliteStoreFiles('sqlite:/var/lib/airlock/airlock.db?synchronous=normal');
 * // → ['/var/lib/airlock/airlock.db', '/var/lib/airlock/airlock.db-wal', '/var/lib/airlock/airlock.db-shm']
 */
export function sqliteStoreFiles(url: string): string[] {
  if (!url.startsWith('sqlite:')) return [];
  const { path } = parseSqliteStoreUrl(url);
  return path === ':memory:' ? [] : [path, `${path}-wal`, `${path}-shm`];
}

/**
 * The file and options of a `sqlite:` store URL. The only query parameter is `synchronous`
 * (`full` | `normal`); any other, or another value, is refused (`AIRLOCK_STORE_URL`).
 *
 * @example
 * parseSqliteStoreUrl('sqlite:./data/airlock.db?synchronous=normal'); // { path: './data/airlock.db', synchronous: 'normal' }
 */
export function parseSqliteStoreUrl(url: string): { path: string; synchronous?: SqliteSynchronous } {
  const [base = '', query] = splitOnce(url.slice('sqlite:'.length), '?');
  let synchronous: SqliteSynchronous | undefined;
  for (const [key, value] of new URLSearchParams(query ?? '')) {
    const known = SQLITE_SYNCHRONOUS_VALUES.find((v) => v === value);
    if (key !== 'synchronous' || !known) {
      throw new StoreError(
        STORE_ERROR_CODES.url,
        `store URL ${url}: unknown parameter ${key}=${value} (SQLite takes only synchronous=${SQLITE_SYNCHRONOUS_VALUES.join('|')})`,
      );
    }
    synchronous = known;
  }
  return { path: sqlitePath(base, url), ...(synchronous ? { synchronous } : {}) };
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const at = text.indexOf(separator);
  return at < 0 ? [text, undefined] : [text.slice(0, at), text.slice(at + separator.length)];
}

function sqlitePath(rest: string, url: string): string {
  if (rest === ':memory:' || rest === '//:memory:') return ':memory:';
  const path = rest.startsWith('//') ? rest.slice(2) : rest;
  if (!path) throw new StoreError(STORE_ERROR_CODES.url, `store URL ${url} names no SQLite file`);
  return path;
}
