/**
 * The change feed of a PostgreSQL store: `NOTIFY` on publish, one dedicated connection in `LISTEN`.
 * The channel name carries the schema, so that stores in different schemas of one database (tests,
 * several tenants' connectors on one server) never hear each other. When the listening connection
 * drops, it reconnects with backoff and then emits `resync` (notifications sent meanwhile are lost;
 * subscribers re-read the store).
 *
 * @example
 * const feed = await openPostgresChangeFeed({ connectionString, schema: 'acme' });
 */
import pg from 'pg';
import { type Logger, pino } from 'pino';
import { StoreError } from '../errors/airlock-error.js';
import { Backoff } from '../supervision/backoff.js';
import {
  type Change,
  ChangeFanout,
  type ChangeFeed,
  type ChangeHandler,
  type ChangeTopic,
  PROCESS_ORIGIN,
} from './change-feed.js';
import { STORE_ERROR_CODES } from './dialect.js';

/** NOTIFY payloads are limited to 8000 bytes by PostgreSQL; ours are far smaller. */
const MAX_PAYLOAD_BYTES = 7900;
/** A publish waits this long for a reconnecting feed before it fails (the change itself is stored). */
export const PUBLISH_WAIT_MS = 5000;

export interface PostgresChangeFeedOptions {
  connectionString: string;
  schema?: string;
  logger?: Logger;
}

/**
 * The feed connects on first use (a publish or a subscribe), so that a store opened only to read
 * (a CLI command, a report) holds no extra connection.
 */
export function postgresChangeFeed(options: PostgresChangeFeedOptions): ChangeFeed {
  return new PostgresChangeFeed(options);
}

class PostgresChangeFeed implements ChangeFeed {
  private readonly fanout = new ChangeFanout();
  private readonly channel: string;
  private readonly logger: Logger;
  private readonly backoff = new Backoff({ initialMs: 100, maxMs: 5000 });
  private listener: pg.Client | undefined;
  private publisher: pg.Client | undefined;
  private closed = false;
  private connecting: Promise<void> | undefined;

  constructor(private readonly options: PostgresChangeFeedOptions) {
    this.channel = `airlock_changes_${(options.schema ?? 'public').toLowerCase()}`;
    this.logger = options.logger ?? pino({ level: 'silent' });
  }

  private async readyWithin(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new StoreError(STORE_ERROR_CODES.busy, 'the change feed is reconnecting')),
        ms,
      );
    });
    try {
      await Promise.race([this.ready(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Connects once; every caller waits for the same attempt. */
  ready(): Promise<void> {
    this.connecting ??= this.connect().catch((err: unknown) => {
      this.connecting = undefined;
      throw err;
    });
    return this.connecting;
  }

  private async connect(): Promise<void> {
    const listener = new pg.Client({ connectionString: this.options.connectionString });
    const publisher = new pg.Client({ connectionString: this.options.connectionString });
    try {
      await Promise.all([listener.connect(), publisher.connect()]);
      await listener.query(`LISTEN "${this.channel}"`);
    } catch (cause) {
      await Promise.all([listener.end().catch(() => {}), publisher.end().catch(() => {})]);
      throw new StoreError(STORE_ERROR_CODES.open, 'cannot open the PostgreSQL change feed', {
        cause,
        retryable: true,
      });
    }
    listener.on('notification', (message) => this.onNotification(message.payload));
    listener.on('error', () => this.reconnect());
    publisher.on('error', () => this.reconnect());
    this.listener = listener;
    this.publisher = publisher;
    this.backoff.connected();
  }

  async publish(topic: ChangeTopic, detail?: Change['detail']): Promise<void> {
    const payload = JSON.stringify({ topic, origin: PROCESS_ORIGIN, ...(detail ? { detail } : {}) });
    if (Buffer.byteLength(payload) > MAX_PAYLOAD_BYTES) throw new Error('change notification too large');
    await this.readyWithin(PUBLISH_WAIT_MS);
    if (!this.publisher) throw new StoreError(STORE_ERROR_CODES.busy, 'the change feed is reconnecting');
    await this.publisher.query('SELECT pg_notify($1, $2)', [this.channel, payload]);
  }

  subscribe(topic: ChangeTopic | 'resync', handler: ChangeHandler): () => void {
    this.ready().catch((err: unknown) => {
      this.logger.warn({ err: (err as Error).message }, 'change feed unavailable; retrying');
      this.reconnectSoon();
    });
    return this.fanout.subscribe(topic, handler);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.connecting?.catch(() => {});
    await Promise.all([this.listener?.end().catch(() => {}), this.publisher?.end().catch(() => {})]);
  }

  private onNotification(payload: string | undefined): void {
    try {
      const change = JSON.parse(payload ?? '') as Change;
      if (typeof change.topic === 'string') this.fanout.deliver(change);
    } catch {
      this.logger.warn('unreadable change notification ignored');
    }
  }

  private reconnect(): void {
    if (this.closed || !this.listener) return;
    const old = [this.listener, this.publisher];
    this.listener = undefined;
    this.publisher = undefined;
    for (const client of old) client?.end().catch(() => {});
    this.reconnectSoon();
  }

  /** Retries with backoff until connected (or closed); publishers wait on the same promise. */
  private reconnectSoon(): void {
    this.connecting = (async () => {
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, this.backoff.nextDelay()).unref());
        if (this.closed) throw new StoreError(STORE_ERROR_CODES.closed, 'the store is closed');
        try {
          await this.connect();
          break;
        } catch {
          // next attempt after the backoff
        }
      }
      this.logger.info('change feed reconnected; subscribers re-read the store');
      this.fanout.deliver({ topic: 'resync', origin: PROCESS_ORIGIN });
    })();
    this.connecting.catch(() => {});
  }
}
