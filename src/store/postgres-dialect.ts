/**
 * PostgreSQL dialect over a `pg` Pool: for several relay nodes or a connector pair sharing state.
 * `?` placeholders are rewritten to `$1..$n`; BIGINT (int8) values come back as JS numbers (epoch
 * milliseconds fit exactly). With `schema`, the schema is created if missing and used as the
 * `search_path` of every connection.
 *
 * @example
 * const dialect = await openPostgresDialect({ connectionString: 'postgres://airlock@db/airlock', schema: 'relay' });
 */
import pg from 'pg';
import { StoreError } from '../errors/airlock-error.js';
import {
  type SqlDialect,
  type SqlExecutor,
  type SqlValue,
  STORE_ERROR_CODES,
  storeErrorFrom,
  toNumberedPlaceholders,
} from './dialect.js';
import { advisoryLockName, openPostgresLease } from './postgres-lease.js';
import type { StoreLease } from './store-lease.js';

/** Most connections one process opens. */
export const DEFAULT_PG_POOL_MAX = 10;
/** How long to wait for a connection before failing. */
export const DEFAULT_PG_CONNECT_TIMEOUT_MS = 10_000;
/** Idle connections are closed after this long. */
export const DEFAULT_PG_IDLE_TIMEOUT_MS = 30_000;
/** Any single statement is cancelled by the server after this long. */
export const DEFAULT_PG_STATEMENT_TIMEOUT_MS = 30_000;

export interface PostgresDialectOptions {
  connectionString: string;
  /** Schema to create (if missing) and use; `[A-Za-z_][A-Za-z0-9_]{0,62}`. Default: the server's search_path. */
  schema?: string;
  /** Default `DEFAULT_PG_POOL_MAX` (10). */
  maxConnections?: number;
  /** Default `DEFAULT_PG_CONNECT_TIMEOUT_MS` (10 s). */
  connectTimeoutMs?: number;
  /** Default `DEFAULT_PG_IDLE_TIMEOUT_MS` (30 s). */
  idleTimeoutMs?: number;
  /** Default `DEFAULT_PG_STATEMENT_TIMEOUT_MS` (30 s). */
  statementTimeoutMs?: number;
}

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const INT8_OID = 20;

/** int8 → number; everything else as pg does by default. Per pool, never the global registry. */
const typeParsers = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === INT8_OID && format !== 'binary') return (value: string) => Number(value);
    return format === 'binary' ? pg.types.getTypeParser(oid, 'binary') : pg.types.getTypeParser(oid, 'text');
  }) as pg.CustomTypesConfig['getTypeParser'],
};

/**
 * Connects (checking the server is reachable) and returns the dialect. Throws `StoreError`
 * `AIRLOCK_STORE_OPEN` (retryable) when PostgreSQL cannot be reached or the schema cannot be created.
 *
 * @example
 * const dialect = await openPostgresDialect({ connectionString: process.env.AIRLOCK_DB! });
 */
export async function openPostgresDialect(opts: PostgresDialectOptions): Promise<SqlDialect> {
  if (opts.schema !== undefined && !SCHEMA_NAME.test(opts.schema)) {
    throw new StoreError(
      STORE_ERROR_CODES.url,
      `invalid PostgreSQL schema name ${JSON.stringify(opts.schema)}`,
    );
  }
  const startup = [
    `-c statement_timeout=${Math.trunc(opts.statementTimeoutMs ?? DEFAULT_PG_STATEMENT_TIMEOUT_MS)}`,
  ];
  if (opts.schema) startup.push(`-c search_path=${opts.schema}`);
  const pool = new pg.Pool({
    connectionString: opts.connectionString,
    max: opts.maxConnections ?? DEFAULT_PG_POOL_MAX,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? DEFAULT_PG_CONNECT_TIMEOUT_MS,
    idleTimeoutMillis: opts.idleTimeoutMs ?? DEFAULT_PG_IDLE_TIMEOUT_MS,
    options: startup.join(' '),
    types: typeParsers,
  });
  // An idle connection dropped by the server must not crash the process; the next query reconnects.
  pool.on('error', () => {});
  try {
    const client = await pool.connect();
    try {
      if (opts.schema) await client.query(`CREATE SCHEMA IF NOT EXISTS "${opts.schema}"`);
    } finally {
      client.release();
    }
  } catch (cause) {
    await pool.end().catch(() => {});
    throw new StoreError(
      STORE_ERROR_CODES.open,
      `cannot open PostgreSQL database at ${redact(opts.connectionString)}: ${describe(cause)}`,
      { cause, retryable: true },
    );
  }
  return new PostgresDialect(pool, opts);
}

class PostgresDialect implements SqlDialect {
  readonly kind = 'postgres' as const;
  readonly #pool: pg.Pool;
  readonly #executor: SqlExecutor;
  readonly #opts: PostgresDialectOptions;
  readonly #leases = new Set<StoreLease>();
  #closed = false;

  constructor(pool: pg.Pool, opts: PostgresDialectOptions) {
    this.#pool = pool;
    this.#opts = opts;
    this.#executor = executorFor((text, values) => this.#checked().query(text, values));
  }

  exec(sql: string): Promise<void> {
    return this.#executor.exec(sql);
  }

  query<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    return this.#executor.query<T>(sql, params);
  }

  run(sql: string, params?: readonly SqlValue[]): Promise<{ changes: number }> {
    return this.#executor.run(sql, params);
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.#checked().connect();
    } catch (cause) {
      throw translate(cause);
    }
    const tx = executorFor((text, values) => client.query(text, values));
    let broken: unknown;
    try {
      await tx.exec('BEGIN');
      const result = await fn(tx);
      await tx.exec('COMMIT');
      return result;
    } catch (err) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        broken = rollbackError;
      }
      throw err;
    } finally {
      // A connection whose ROLLBACK failed is in an unknown state: destroy it instead of reusing it.
      client.release(broken instanceof Error ? broken : undefined);
    }
  }

  /** A transaction-scoped advisory lock named per schema (`advisoryLockName`). */
  async lockInTransaction(tx: SqlExecutor, name: string): Promise<void> {
    await tx.query('SELECT pg_advisory_xact_lock(hashtextextended(?, 0))', [
      advisoryLockName(this.#opts.schema, name),
    ]);
  }

  /** A session-level advisory lock on a dedicated connection (`postgres-lease.ts`); closed with the dialect. */
  async openLease(name: string): Promise<StoreLease> {
    this.#checked();
    const lease = await openPostgresLease({
      connectionString: this.#opts.connectionString,
      ...(this.#opts.schema ? { schema: this.#opts.schema } : {}),
      name,
      onClose: () => this.#leases.delete(lease),
    });
    this.#leases.add(lease);
    return lease;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#leases].map((l) => l.close()));
    await this.#pool.end();
  }

  #checked(): pg.Pool {
    if (this.#closed) throw new StoreError(STORE_ERROR_CODES.closed, 'the store is closed');
    return this.#pool;
  }
}

type QueryFn = (text: string, values?: unknown[]) => Promise<pg.QueryResult>;

function executorFor(queryFn: QueryFn): SqlExecutor {
  const call = async (sql: string, params?: readonly SqlValue[]): Promise<pg.QueryResult> => {
    try {
      return params === undefined
        ? await queryFn(sql)
        : await queryFn(
            toNumberedPlaceholders(sql),
            params.map((p) => (typeof p === 'bigint' ? p.toString() : p)),
          );
    } catch (cause) {
      throw translate(cause);
    }
  };
  return {
    exec: async (sql) => {
      await call(sql);
    },
    query: async <T>(sql: string, params: readonly SqlValue[] = []) => (await call(sql, params)).rows as T[],
    run: async (sql, params = []) => ({ changes: (await call(sql, params)).rowCount ?? 0 }),
  };
}

function translate(cause: unknown): StoreError {
  if (cause instanceof StoreError) return cause;
  const code = (cause as { code?: unknown }).code;
  if (code === '23505') return storeErrorFrom(cause, 'duplicate', 'duplicate key');
  if (code === '23503') return storeErrorFrom(cause, 'reference', 'missing referenced row');
  // serialization failure, deadlock, lock timeout, admin shutdown, cannot connect now, network errors
  if (
    code === '40001' ||
    code === '40P01' ||
    code === '55P03' ||
    code === '57P01' ||
    code === '57P03' ||
    code === 'ECONNREFUSED' ||
    code === 'ECONNRESET' ||
    code === 'ETIMEDOUT'
  ) {
    return storeErrorFrom(cause, 'busy', 'PostgreSQL is unavailable');
  }
  return storeErrorFrom(cause, 'query', 'PostgreSQL statement failed');
}

/** The connection string without its password. */
function redact(connectionString: string): string {
  try {
    const url = new URL(connectionString);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '(unparseable connection string)';
  }
}

function describe(cause: unknown): string {
  if (cause instanceof AggregateError && cause.errors.length > 0) return describe(cause.errors[0]);
  if (cause instanceof Error) return cause.message || (cause as { code?: string }).code || cause.name;
  return String(cause);
}
