/**
 * Shared pieces of the audit tests: stores on both backends (with a raw dialect on the same database
 * for tampering), sample events, and reading a stored trail back for verification.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { AdminAuditEvent, RequestAuditEvent } from '../../src/audit/audit-entry.js';
import type { AuditSigningKey } from '../../src/audit/audit-key.js';
import type { AuditCheckpoint } from '../../src/audit/audit-signing.js';
import { type AuditVerifyReport, verifyAuditTrail } from '../../src/audit/audit-verify.js';
import { storedAuditCheckpoints, storedAuditEntries } from '../../src/audit/stored-trail.js';
import type { SqlDialect } from '../../src/store/dialect.js';
import { openStore } from '../../src/store/open-store.js';
import { openPostgresDialect } from '../../src/store/postgres-dialect.js';
import { openSqliteDialect } from '../../src/store/sqlite-dialect.js';
import type { AuditRepository, Store } from '../../src/store/store.js';

export const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
export const TENANT = 'acme';

export interface TestDatabase {
  url: string;
  schema: string | undefined;
  open(): Promise<Store>;
  raw(): Promise<SqlDialect>;
}

export interface TestBackend {
  name: 'sqlite' | 'postgres';
  /** A fresh, empty database. */
  fresh(): Promise<TestDatabase>;
  cleanup(): Promise<void>;
}

export async function sqliteBackend(): Promise<TestBackend> {
  const dir = await mkdtemp(join(tmpdir(), 'airlock-audit-'));
  let n = 0;
  return {
    name: 'sqlite',
    async fresh() {
      n += 1;
      const path = join(dir, `db-${n}`, 'audit.db');
      const url = `sqlite:${path}`;
      return {
        url,
        schema: undefined,
        open: () => openStore({ url }),
        raw: async () => openSqliteDialect({ path }),
      };
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

export async function postgresBackend(): Promise<TestBackend> {
  const run = `airlock_audit_${process.pid}_${randomBytes(4).toString('hex')}`;
  const schemas: string[] = [];
  return {
    name: 'postgres',
    async fresh() {
      const schema = `${run}_${schemas.length + 1}`;
      schemas.push(schema);
      return {
        url: PG_URL,
        schema,
        open: () => openStore({ url: PG_URL, schema }),
        raw: () => openPostgresDialect({ connectionString: PG_URL, schema }),
      };
    },
    async cleanup() {
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect();
      try {
        for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}

export function requestEvent(i: number, overrides: Partial<RequestAuditEvent> = {}): RequestAuditEvent {
  return {
    kind: 'request',
    agent: {
      name: 'claims-bot',
      spiffeId: 'spiffe://acme.airlock/agent/claims-bot',
      authenticatedBy: 'mtls',
    },
    endUser: null,
    session: null,
    requestId: i,
    method: 'tools/call',
    tool: 'erp.lookup_invoice',
    decision: 'allow',
    code: null,
    reason: null,
    stages: [{ stage: 'authenticate', outcome: 'allow' }],
    arguments: { redacted: { invoice: '[string:8]' }, sha256: 'a'.repeat(64) },
    result: { redacted: { content: [] }, sha256: 'b'.repeat(64) },
    error: null,
    upstreamLatencyMs: 3.5,
    durationMs: 4.25,
    requestBytes: 120,
    responseBytes: 800,
    ...overrides,
  };
}

export function adminEvent(i: number): AdminAuditEvent {
  return {
    kind: 'admin',
    action: 'tool.pin',
    actor: 'console:alice',
    target: `erp.tool_${i}`,
    reason: 'initial pin',
  };
}

/** Verifies what is in the store, optionally with witnessed checkpoints. */
export async function verifyStored(
  repo: AuditRepository,
  key: AuditSigningKey,
  witnessed?: AuditCheckpoint[],
): Promise<AuditVerifyReport> {
  return verifyAuditTrail({
    entries: storedAuditEntries(repo, { pageSize: 7 }),
    checkpoints: await storedAuditCheckpoints(repo),
    publicKey: key.publicKeyPem,
    ...(witnessed ? { witnessed } : {}),
  });
}
