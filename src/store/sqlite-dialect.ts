/**
 * SQLite dialect over better-sqlite3: the embedded, zero-setup default. The database runs in WAL
 * mode with foreign keys on and, by default, `synchronous=FULL`: every commit is on disk (fsync of
 * the WAL) before it returns, so a committed write survives power loss. `synchronous: 'normal'`
 * (WAL `synchronous=NORMAL`) skips that fsync: a commit is written to the OS before it returns, so
 * it survives a crash or `kill -9` of the process, but the last commits before a power loss or an
 * OS crash can be lost (the database stays consistent). It saves one fsync per commit — two per
 * audited tool call (write-ahead intent, outcome) — a large part of the latency of a call where
 * flushes are slow (BENCHMARKS.md, "MCP core").
 *
 * better-sqlite3 is synchronous and this process holds one connection, so statements are
 * serialized through an async lock: a transaction holds it across its `await`s, and no other
 * statement of this process can interleave with it. Other processes on the same file wait up to
 * `busyTimeoutMs`.
 *
 * @example
 * const dialect = openSqliteDialect({ path: '/var/lib/airlock/relay.db' });
 */
import Database from 'better-sqlite3';
import { StoreError } from '../errors/airlock-error.js';
import {
  type SqlDialect,
  type SqlExecutor,
  type SqlValue,
  STORE_ERROR_CODES,
  storeErrorFrom,
} from './dialect.js';
import { HeldLease, type StoreLease } from './store-lease.js';

/** How long a statement waits for another process's lock on the file before failing. */
export const DEFAULT_SQLITE_BUSY_TIMEOUT_MS = 5_000;

/** When a commit is on disk: `full` (fsync before the commit returns) or `normal` (at WAL checkpoints). */
export type SqliteSynchronous = 'full' | 'normal';
/** Secure default: a committed write survives power loss. */
export const DEFAULT_SQLITE_SYNCHRONOUS: SqliteSynchronous = 'full';
/** The accepted `synchronous` values. */
export const SQLITE_SYNCHRONOUS_VALUES: readonly SqliteSynchronous[] = ['full', 'normal'];

export interface SqliteDialectOptions {
  /** File path, or `:memory:`. */
  path: string;
  /** Default `DEFAULT_SQLITE_BUSY_TIMEOUT_MS` (5 s). */
  busyTimeoutMs?: number;
  /** Default `DEFAULT_SQLITE_SYNCHRONOUS` (`full`); see the module comment for the trade-off. */
  synchronous?: SqliteSynchronous;
}

/**
 * Opens (creating if needed) a SQLite database. Throws `StoreError` `AIRLOCK_STORE_OPEN` when the
 * file cannot be opened or written.
 *
 * @example
 * const dialect = openSqliteDialect({ path: ':memory:' });
 */
export function openSqliteDialect(opts: SqliteDialectOptions): SqlDialect {
  let db: Database.Database;
  try {
    const synchronous = synchronousPragma(opts.synchronous); // before opening: nothing to close on a bad value
    db = new Database(opts.path, { timeout: opts.busyTimeoutMs ?? DEFAULT_SQLITE_BUSY_TIMEOUT_MS });
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${synchronous}`);
    db.pragma('foreign_keys = ON');
    db.pragma(`busy_timeout = ${Math.trunc(opts.busyTimeoutMs ?? DEFAULT_SQLITE_BUSY_TIMEOUT_MS)}`);
  } catch (cause) {
    throw new StoreError(
      STORE_ERROR_CODES.open,
      `cannot open SQLite database at ${opts.path}: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
  }
  return new SqliteDialect(db);
}

/** The pragma value of a `synchronous` option; anything but the two accepted values is refused. */
function synchronousPragma(value: SqliteSynchronous | undefined): 'FULL' | 'NORMAL' {
  const chosen = value ?? DEFAULT_SQLITE_SYNCHRONOUS;
  if (!SQLITE_SYNCHRONOUS_VALUES.includes(chosen)) {
    throw new Error(`synchronous must be ${SQLITE_SYNCHRONOUS_VALUES.join(' or ')}, not ${String(chosen)}`);
  }
  return chosen === 'normal' ? 'NORMAL' : 'FULL';
}

class SqliteDialect implements SqlDialect {
  readonly kind = 'sqlite' as const;
  readonly #db: Database.Database;
  #tail: Promise<unknown> = Promise.resolve();
  /** Locked operations enqueued and not yet settled. */
  #pending = 0;
  #closed = false;
  /** Prepared statements by SQL text (repositories use a fixed set of statements), least recently used first. */
  readonly #statements = new Map<string, Database.Statement>();
  readonly #direct: SqlExecutor;

  constructor(db: Database.Database) {
    this.#db = db;
    this.#direct = {
      exec: async (sql) => this.#exec(sql),
      query: async <T>(sql: string, params: readonly SqlValue[] = []) => this.#query<T>(sql, params),
      run: async (sql, params = []) => this.#run(sql, params),
    };
  }

  exec(sql: string): Promise<void> {
    return this.#locked(() => this.#direct.exec(sql));
  }

  query<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    if (this.#idle()) return settledNow(() => this.#query<T>(sql, params));
    return this.#locked(() => this.#direct.query<T>(sql, params));
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<{ changes: number }> {
    if (this.#idle()) return settledNow(() => this.#run(sql, params));
    return this.#locked(() => this.#direct.run(sql, params));
  }

  /**
   * Nothing is queued or running (no transaction open): a single statement runs at once, which is
   * what waiting for an empty queue would do one microtask later.
   */
  #idle(): boolean {
    return this.#pending === 0 && !this.#closed;
  }

  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.#locked(async () => {
      this.#exec('BEGIN IMMEDIATE');
      try {
        const result = await fn(this.#direct);
        this.#exec('COMMIT');
        return result;
      } catch (err) {
        if (this.#db.inTransaction) this.#db.exec('ROLLBACK');
        throw err;
      }
    });
  }

  /** SQLite's `BEGIN IMMEDIATE` already holds the file's write lock for the whole transaction. */
  async lockInTransaction(_tx: SqlExecutor, _name: string): Promise<void> {}

  /** One process serves a SQLite store: the lease is always its own. */
  async openLease(name: string): Promise<StoreLease> {
    return new HeldLease(name);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#locked(async () => {
      this.#closed = true;
      this.#db.close();
    });
  }

  /** Runs `fn` after every earlier locked operation settled. */
  #locked<T>(fn: () => Promise<T>): Promise<T> {
    this.#pending++;
    const run = this.#tail.then(() => {
      if (this.#closed) throw new StoreError(STORE_ERROR_CODES.closed, 'the store is closed');
      return fn();
    });
    this.#tail = run
      .catch(() => {})
      .finally(() => {
        this.#pending--;
      });
    return run;
  }

  #exec(sql: string): void {
    try {
      this.#db.exec(sql);
    } catch (cause) {
      throw translate(cause);
    }
  }

  #query<T>(sql: string, params: readonly SqlValue[]): T[] {
    try {
      return this.#prepare(sql).all(...params) as T[];
    } catch (cause) {
      throw translate(cause);
    }
  }

  /** A cached prepared statement (preparing costs more than running a simple indexed query). */
  #prepare(sql: string): Database.Statement {
    let statement = this.#statements.get(sql);
    if (statement) {
      this.#statements.delete(sql);
    } else {
      statement = this.#db.prepare(sql);
      if (this.#statements.size >= MAX_CACHED_STATEMENTS) {
        const oldest = this.#statements.keys().next();
        if (!oldest.done) this.#statements.delete(oldest.value);
      }
    }
    this.#statements.set(sql, statement);
    return statement;
  }

  #run(sql: string, params: readonly SqlValue[]): { changes: number } {
    try {
      return { changes: this.#prepare(sql).run(...params).changes };
    } catch (cause) {
      throw translate(cause);
    }
  }
}

/** `fn`'s value (or its error) as a settled promise. */
function settledNow<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err);
  }
}

/** Prepared statements kept per connection. */
const MAX_CACHED_STATEMENTS = 256;

function translate(cause: unknown): StoreError {
  const code = (cause as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE') {
      return storeErrorFrom(cause, 'duplicate', 'duplicate key');
    }
    if (code === 'SQLITE_CONSTRAINT_FOREIGNKEY')
      return storeErrorFrom(cause, 'reference', 'missing referenced row');
    if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
      return storeErrorFrom(cause, 'busy', 'SQLite database is busy');
    }
  }
  return storeErrorFrom(cause, 'query', 'SQLite statement failed');
}
