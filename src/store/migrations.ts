/**
 * Versioned schema, applied when a store opens. Each migration runs once, in one transaction with
 * its row in `schema_migrations`; the dialect's transaction lock (an advisory lock on PostgreSQL) keeps two nodes from migrating the
 * same schema at once. A database whose schema is newer than this build is refused rather than used.
 *
 * Migrations are append-only: never edit a released one, add the next version.
 *
 * @example
 * await migrate(dialect); // { applied: [1] } on a fresh database, { applied: [] } afterwards
 */
import { StoreError } from '../errors/airlock-error.js';
import { type SqlDialect, STORE_ERROR_CODES } from './dialect.js';

export interface Migration {
  version: number;
  name: string;
  /** Portable statements, run in order. */
  statements: string[];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'relay and identity tables',
    statements: [
      `CREATE TABLE tenants (
        name TEXT PRIMARY KEY,
        created_at BIGINT NOT NULL
      )`,
      `CREATE TABLE enrollment_tokens (
        id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL REFERENCES tenants (name) ON DELETE CASCADE,
        secret_hash TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        used_at BIGINT
      )`,
      'CREATE INDEX enrollment_tokens_tenant ON enrollment_tokens (tenant)',
      `CREATE TABLE connectors (
        id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL REFERENCES tenants (name) ON DELETE CASCADE,
        key_fingerprint TEXT NOT NULL,
        cert_serial TEXT NOT NULL,
        enrolled_at BIGINT NOT NULL,
        revoked_at BIGINT
      )`,
      'CREATE INDEX connectors_tenant ON connectors (tenant)',
      `CREATE TABLE agent_identities (
        cert_serial TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        spiffe_id TEXT NOT NULL,
        cert_fingerprint TEXT NOT NULL,
        not_after BIGINT NOT NULL,
        created_at BIGINT NOT NULL,
        revoked_at BIGINT
      )`,
      'CREATE INDEX agent_identities_name ON agent_identities (name)',
    ],
  },
  {
    version: 2,
    name: 'policy versions',
    statements: [
      `CREATE TABLE policy_versions (
        seq BIGINT PRIMARY KEY,
        hash TEXT NOT NULL,
        text TEXT NOT NULL,
        source TEXT NOT NULL,
        loaded_at BIGINT NOT NULL
      )`,
      'CREATE INDEX policy_versions_hash ON policy_versions (hash)',
    ],
  },
  {
    version: 3,
    name: 'audit ledger and audit witness',
    statements: [
      `CREATE TABLE audit_entries (
        seq BIGINT PRIMARY KEY,
        time BIGINT NOT NULL,
        hash TEXT NOT NULL,
        entry TEXT NOT NULL
      )`,
      'CREATE INDEX audit_entries_time ON audit_entries (time)',
      `CREATE TABLE audit_checkpoints (
        tree_size BIGINT PRIMARY KEY,
        head_hash TEXT NOT NULL,
        time BIGINT NOT NULL,
        checkpoint TEXT NOT NULL
      )`,
      `CREATE TABLE audit_witness_keys (
        tenant TEXT NOT NULL,
        key_id TEXT NOT NULL,
        public_key TEXT NOT NULL,
        registered_at BIGINT NOT NULL,
        PRIMARY KEY (tenant, key_id)
      )`,
      `CREATE TABLE audit_witness_checkpoints (
        tenant TEXT NOT NULL,
        tree_size BIGINT NOT NULL,
        head_hash TEXT NOT NULL,
        time BIGINT NOT NULL,
        checkpoint TEXT NOT NULL,
        received_at BIGINT NOT NULL,
        PRIMARY KEY (tenant, tree_size)
      )`,
    ],
  },
  {
    version: 4,
    name: 'pii vault',
    statements: [
      `CREATE TABLE pii_vault (
        tenant TEXT NOT NULL,
        token TEXT NOT NULL,
        digest TEXT NOT NULL,
        data_class TEXT NOT NULL,
        sealed_value TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (tenant, token)
      )`,
      'CREATE UNIQUE INDEX pii_vault_digest ON pii_vault (tenant, digest)',
    ],
  },
  {
    version: 5,
    name: 'revoked token subjects',
    statements: [
      `CREATE TABLE revoked_token_subjects (
        issuer TEXT NOT NULL,
        subject TEXT NOT NULL,
        revoked_at BIGINT NOT NULL,
        PRIMARY KEY (issuer, subject)
      )`,
      'CREATE INDEX revoked_token_subjects_at ON revoked_token_subjects (revoked_at)',
      'CREATE INDEX agent_identities_revoked_at ON agent_identities (revoked_at)',
    ],
  },
  {
    version: 6,
    name: 'tool catalog pins, kill switch and catalog events',
    statements: [
      `CREATE TABLE tool_pins (
        tool TEXT PRIMARY KEY,
        approved_hash TEXT,
        approved_definition TEXT,
        approved_at BIGINT,
        approved_by TEXT,
        observed_hash TEXT NOT NULL,
        observed_definition TEXT NOT NULL,
        observed_findings TEXT NOT NULL,
        first_seen_at BIGINT NOT NULL,
        observed_at BIGINT NOT NULL
      )`,
      `CREATE TABLE disabled_tools (
        tool TEXT PRIMARY KEY,
        reason TEXT NOT NULL,
        disabled_by TEXT NOT NULL,
        disabled_at BIGINT NOT NULL
      )`,
      `CREATE TABLE catalog_events (
        seq BIGINT PRIMARY KEY,
        tool TEXT NOT NULL,
        action TEXT NOT NULL,
        hash TEXT,
        actor TEXT NOT NULL,
        detail TEXT NOT NULL,
        at BIGINT NOT NULL
      )`,
      'CREATE INDEX catalog_events_tool ON catalog_events (tool, seq)',
      'CREATE TABLE catalog_revision (id INTEGER PRIMARY KEY, revision BIGINT NOT NULL)',
      'INSERT INTO catalog_revision (id, revision) VALUES (1, 0)',
    ],
  },
  {
    version: 7,
    name: 'approval queue and console accounts',
    statements: [
      `CREATE TABLE approvals (
        id TEXT PRIMARY KEY,
        identity TEXT NOT NULL,
        spiffe_id TEXT NOT NULL,
        tool TEXT NOT NULL,
        args_hash TEXT NOT NULL,
        arguments TEXT NOT NULL,
        tier TEXT NOT NULL,
        session_id TEXT,
        status TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        decided_at BIGINT,
        decided_by TEXT,
        reason TEXT,
        consumed_at BIGINT
      )`,
      'CREATE INDEX approvals_binding ON approvals (identity, tool, args_hash)',
      'CREATE INDEX approvals_status ON approvals (status, created_at)',
      'CREATE INDEX approvals_tool ON approvals (tool, created_at)',
      `CREATE TABLE admin_accounts (
        name TEXT PRIMARY KEY,
        password_hash TEXT NOT NULL,
        role TEXT NOT NULL,
        reveal_pii INTEGER NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        disabled_at BIGINT
      )`,
    ],
  },
  {
    version: 8,
    name: 'tenant CA pins, connector bindings and last seen',
    statements: [
      `CREATE TABLE tenant_ca_pins (
        tenant TEXT PRIMARY KEY REFERENCES tenants (name) ON DELETE CASCADE,
        ca_cert_pem TEXT NOT NULL,
        ca_fingerprint TEXT NOT NULL,
        pinned_at BIGINT NOT NULL
      )`,
      'ALTER TABLE connectors ADD COLUMN bound_ca_fingerprint TEXT',
      'ALTER TABLE connectors ADD COLUMN last_seen_at BIGINT',
    ],
  },
  {
    version: 9,
    name: 'two-person approvals and break-glass overrides',
    statements: [
      'ALTER TABLE approvals ADD COLUMN quorum TEXT',
      `CREATE TABLE approval_votes (
        approval_id TEXT NOT NULL REFERENCES approvals (id) ON DELETE CASCADE,
        principal TEXT NOT NULL,
        name TEXT NOT NULL,
        role TEXT,
        decision TEXT NOT NULL,
        reason TEXT,
        voted_at BIGINT NOT NULL,
        PRIMARY KEY (approval_id, principal)
      )`,
      `CREATE TABLE approval_overrides (
        id TEXT PRIMARY KEY,
        identity TEXT NOT NULL,
        tool TEXT NOT NULL,
        args_hash TEXT NOT NULL,
        arguments TEXT NOT NULL,
        reason TEXT NOT NULL,
        requested_by TEXT NOT NULL,
        requested_at BIGINT NOT NULL,
        confirmed_by TEXT,
        confirmed_at BIGINT,
        expires_at BIGINT NOT NULL,
        consumed_at BIGINT
      )`,
      'CREATE INDEX approval_overrides_binding ON approval_overrides (identity, tool, args_hash)',
    ],
  },
  {
    version: 10,
    name: 'connector pair member heartbeats',
    statements: [
      `CREATE TABLE pair_members (
        id TEXT PRIMARY KEY,
        version TEXT NOT NULL,
        started_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        state TEXT NOT NULL
      )`,
    ],
  },
];

/**
 * Applies every pending migration of `migrations` (default `MIGRATIONS`). Throws `StoreError`
 * `AIRLOCK_STORE_MIGRATION` when a migration fails or the database is newer than this build.
 */
export async function migrate(
  dialect: SqlDialect,
  migrations: readonly Migration[] = MIGRATIONS,
  now: () => number = Date.now,
): Promise<{ applied: number[] }> {
  const latest = migrations.reduce((max, m) => Math.max(max, m.version), 0);
  try {
    return await dialect.transaction(async (tx) => {
      await dialect.lockInTransaction(tx, 'migrate');
      await tx.exec(
        'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)',
      );
      const rows = await tx.query<{ version: number }>('SELECT version FROM schema_migrations');
      const done = new Set(rows.map((r) => Number(r.version)));
      const newest = Math.max(0, ...done);
      if (newest > latest) {
        throw new StoreError(
          STORE_ERROR_CODES.migration,
          `database schema version ${newest} is newer than this Airlock build supports (${latest}); upgrade Airlock`,
        );
      }
      const applied: number[] = [];
      for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
        if (done.has(m.version)) continue;
        for (const statement of m.statements) await tx.exec(statement);
        await tx.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [
          m.version,
          m.name,
          now(),
        ]);
        applied.push(m.version);
      }
      return { applied };
    });
  } catch (cause) {
    if (cause instanceof StoreError && cause.code === STORE_ERROR_CODES.migration) throw cause;
    throw new StoreError(
      STORE_ERROR_CODES.migration,
      `applying the database schema failed: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
  }
}
