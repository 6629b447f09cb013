/**
 * The PostgreSQL lease (see `store-lease.ts`): a session-level advisory lock held by one dedicated
 * connection. A member that does not get it at once waits for it in `pg_advisory_lock` on that
 * connection, so it takes over the moment the holder's session ends: when the holder's process
 * dies, the kernel closes its socket and PostgreSQL ends the session and releases the lock. When the
 * holder's machine vanishes instead, the server notices through TCP keepalives (the `keepalive*`
 * options, set on the lease session) and releases it then.
 *
 * The lock id is `hashtextextended('<schema>:<name>', 0)`, so stores in different schemas of one
 * database never share a lease.
 *
 * @example
 * const lease = await openPostgresLease({ connectionString, schema: 'acme', name: 'audit-signer:acme' });
 */
import pg from 'pg';
import { type Logger, pino } from 'pino';
import { Backoff } from '../supervision/backoff.js';
import { LeaseState, type StoreLease } from './store-lease.js';

/** Seconds of silence on the holder's connection before the server probes it (TCP keepalive). */
export const DEFAULT_PG_LEASE_KEEPALIVE_IDLE_S = 5;
/** Seconds between keepalive probes. */
export const DEFAULT_PG_LEASE_KEEPALIVE_INTERVAL_S = 2;
/** Unanswered probes after which the server drops the holder's session (and the lease). */
export const DEFAULT_PG_LEASE_KEEPALIVE_COUNT = 3;

export interface PostgresLeaseOptions {
  connectionString: string;
  /** The store's schema (part of the lock id). */
  schema?: string;
  /** The lease's name, e.g. `audit-signer:acme`. */
  name: string;
  /** Default `DEFAULT_PG_LEASE_KEEPALIVE_IDLE_S` (5). */
  keepaliveIdleS?: number;
  /** Default `DEFAULT_PG_LEASE_KEEPALIVE_INTERVAL_S` (2). */
  keepaliveIntervalS?: number;
  /** Default `DEFAULT_PG_LEASE_KEEPALIVE_COUNT` (3). */
  keepaliveCount?: number;
  logger?: Logger;
  /** Called once when the lease is closed. */
  onClose?: () => void;
}

/** The advisory-lock id of `name` in `schema` (also used for transaction-scoped locks). */
export function advisoryLockName(schema: string | undefined, name: string): string {
  return `${schema ?? 'public'}:${name}`;
}

/**
 * Opens the lease and resolves after the first attempt: `held` then says whether this process got
 * it; if not, it keeps waiting (and reconnecting) until it does or `close()` is called.
 *
 * @example
 * const lease = await openPostgresLease({ connectionString: 'postgres://db/airlock', name: 'audit-signer:acme' });
 */
export async function openPostgresLease(opts: PostgresLeaseOptions): Promise<StoreLease> {
  const lease = new PostgresSessionLease(opts);
  await lease.firstAttempt;
  return lease;
}

class PostgresSessionLease implements StoreLease {
  readonly name: string;
  readonly firstAttempt: Promise<void>;
  readonly #opts: PostgresLeaseOptions;
  readonly #lockName: string;
  readonly #state = new LeaseState();
  readonly #backoff = new Backoff({ initialMs: 100, maxMs: 5_000 });
  readonly #log: Logger;
  #client: pg.Client | undefined;
  #closed = false;
  #wake: (() => void) | undefined;
  #loop: Promise<void>;

  constructor(opts: PostgresLeaseOptions) {
    this.name = opts.name;
    this.#opts = opts;
    this.#lockName = advisoryLockName(opts.schema, opts.name);
    this.#log = (opts.logger ?? pino({ level: 'silent' })).child({ part: 'store-lease', lease: opts.name });
    let attempted!: () => void;
    this.firstAttempt = new Promise((resolve) => {
      attempted = resolve;
    });
    this.#loop = this.#run(attempted);
  }

  get held(): boolean {
    return this.#state.held;
  }

  onChange(listener: (held: boolean) => void): () => void {
    return this.#state.onChange(listener);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#opts.onClose?.();
    this.#wake?.();
    await this.#client?.end().catch(() => undefined);
    await this.#loop;
    this.#state.set(false);
  }

  /** Connect, try, wait, hold until the session ends; again after a backoff, until closed. */
  async #run(attempted: () => void): Promise<void> {
    while (!this.#closed) {
      try {
        const client = await this.#connect();
        let gone = false;
        const ended = new Promise<void>((resolve) => {
          const stop = () => {
            gone = true;
            resolve();
          };
          client.once('end', stop);
          client.once('error', stop);
        });
        if (!(await this.#tryLock(client))) {
          attempted();
          const waiting = client.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [this.#lockName]);
          waiting.catch(() => undefined); // the session ended while waiting: `ended` says so
          await Promise.race([waiting, ended]);
        }
        if (!this.#closed && !gone) {
          this.#state.set(true);
          this.#backoff.connected();
          attempted();
          await ended;
        }
      } catch (err) {
        if (!this.#closed) this.#log.warn({ err: String(err) }, 'lease connection failed; retrying');
      } finally {
        this.#state.set(false);
        attempted();
        const client = this.#client;
        this.#client = undefined;
        await client?.end().catch(() => undefined);
      }
      if (!this.#closed) await this.#sleep(this.#backoff.nextDelay());
    }
  }

  async #tryLock(client: pg.Client): Promise<boolean> {
    const rows = await client.query<{ got: boolean }>(
      'SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS got',
      [this.#lockName],
    );
    return rows.rows[0]?.got === true;
  }

  async #connect(): Promise<pg.Client> {
    const client = new pg.Client({
      connectionString: this.#opts.connectionString,
      keepAlive: true,
      options: '-c statement_timeout=0',
    });
    client.on('error', () => {}); // handled through the `ended` promise
    this.#client = client;
    await client.connect();
    // The server drops a silent holder's session (and so the lease) after these; each is optional
    // (older servers lack some), so each is set on its own.
    const settings: Array<[string, number]> = [
      ['tcp_keepalives_idle', this.#opts.keepaliveIdleS ?? DEFAULT_PG_LEASE_KEEPALIVE_IDLE_S],
      ['tcp_keepalives_interval', this.#opts.keepaliveIntervalS ?? DEFAULT_PG_LEASE_KEEPALIVE_INTERVAL_S],
      ['tcp_keepalives_count', this.#opts.keepaliveCount ?? DEFAULT_PG_LEASE_KEEPALIVE_COUNT],
      // A waiter whose client went away leaves the lock queue within a second (PostgreSQL 14+).
      ['client_connection_check_interval', 1000],
    ];
    for (const [name, value] of settings) {
      await client
        .query('SELECT set_config($1, $2, false)', [name, String(Math.trunc(value))])
        .catch(() => undefined);
    }
    return client;
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
  }
}
