/**
 * The one seam between Airlock's repositories and a database engine, in the spirit of kysely's
 * `Dialect`. Repositories write each statement once, in portable SQL with `?` placeholders
 * (TEXT, INTEGER, BIGINT for epoch milliseconds, `ON CONFLICT`, no engine-specific functions);
 * each dialect adapts placeholders and error codes to its engine.
 *
 * @example
 * const rows = await dialect.query<{ name: string }>('SELECT name FROM tenants WHERE name = ?', ['acme']);
 * await dialect.transaction(async (tx) => {
 *   await tx.run('UPDATE tenants SET created_at = ? WHERE name = ?', [Date.now(), 'acme']);
 * });
 */
import { StoreError } from '../errors/airlock-error.js';
import type { StoreLease } from './store-lease.js';

/** A value bound to a `?` placeholder. Booleans are not portable: store them as 0/1. */
export type SqlValue = string | number | bigint | null | Uint8Array;

/** Runs statements. Inside `transaction`, use the executor it passes, never the dialect itself. */
export interface SqlExecutor {
  /** Runs one or more statements without parameters (DDL, migrations). */
  exec(sql: string): Promise<void>;
  /** Runs one statement and returns its rows. BIGINT columns come back as JS numbers. */
  query<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** Runs one statement and returns how many rows it matched/changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<{ changes: number }>;
}

export interface SqlDialect extends SqlExecutor {
  readonly kind: 'sqlite' | 'postgres';
  /**
   * Runs `fn` in one transaction: committed when it resolves, rolled back when it throws.
   * Statements inside must go through `tx`; calling the dialect itself from `fn` may deadlock.
   */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /**
   * Inside `transaction`, with its `tx`: waits for the exclusive lock `name` and holds it until the
   * transaction ends, so that writers of several processes sharing the database take turns
   * (PostgreSQL: `pg_advisory_xact_lock`; SQLite: nothing to do, its write transaction already
   * excludes every other writer of the file).
   */
  lockInTransaction(tx: SqlExecutor, name: string): Promise<void>;
  /** Opens the lease `name`: at most one holder among the processes sharing the database (`store-lease.ts`). */
  openLease(name: string): Promise<StoreLease>;
  close(): Promise<void>;
}

/**
 * Stable codes of `StoreError`s raised by dialects, so repositories and callers can match on them.
 */
export const STORE_ERROR_CODES = {
  /** The URL scheme is not sqlite: or postgres://. */
  url: 'AIRLOCK_STORE_URL',
  /** The database cannot be opened or reached. */
  open: 'AIRLOCK_STORE_OPEN',
  /** A row with the same key already exists. */
  duplicate: 'AIRLOCK_STORE_DUPLICATE',
  /** A row refers to a missing row (e.g. a token for an unknown tenant). */
  reference: 'AIRLOCK_STORE_REFERENCE',
  /** The database is busy or temporarily unreachable; retry. */
  busy: 'AIRLOCK_STORE_BUSY',
  /** Applying the schema failed, or the database has a newer schema than this Airlock. */
  migration: 'AIRLOCK_STORE_MIGRATION',
  /** The store was closed. */
  closed: 'AIRLOCK_STORE_CLOSED',
  /** Any other failure of a statement. */
  query: 'AIRLOCK_STORE_QUERY',
} as const;

/**
 * Rewrites `?` placeholders to `$1..$n` (PostgreSQL), leaving `?` inside quoted strings,
 * quoted identifiers and comments alone.
 *
 * @example
 * toNumberedPlaceholders("SELECT * FROM t WHERE a = ? AND b = '?'") // "SELECT * FROM t WHERE a = $1 AND b = '?'"
 */
export function toNumberedPlaceholders(sql: string): string {
  let out = '';
  let n = 0;
  let i = 0;
  while (i < sql.length) {
    const c = sql[i];
    if (c === "'" || c === '"') {
      const end = sql.indexOf(c, i + 1);
      const stop = end === -1 ? sql.length : end + 1;
      out += sql.slice(i, stop);
      i = stop;
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      const stop = end === -1 ? sql.length : end;
      out += sql.slice(i, stop);
      i = stop;
    } else if (c === '?') {
      n += 1;
      out += `$${n}`;
      i += 1;
    } else {
      out += c;
      i += 1;
    }
  }
  return out;
}

/** Wraps an engine error as a `StoreError` with a stable code; `StoreError`s pass through. */
export function storeErrorFrom(
  cause: unknown,
  kind: 'duplicate' | 'reference' | 'busy' | 'query',
  what: string,
): StoreError {
  if (cause instanceof StoreError) return cause;
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new StoreError(STORE_ERROR_CODES[kind], `${what}: ${detail}`, { cause, retryable: kind === 'busy' });
}
