/**
 * Cluster presence: which relay nodes are alive, and which of them hold tunnels of which tenant.
 *
 * The state lives in Redis, not in a protocol of our own: every node writes its own record and its
 * tenants with an expiry (`presenceTtlMs`) on each heartbeat, so a node killed with -9 drops out by
 * itself within one TTL; changes (a tenant's first tunnel, its last one going, a node draining) are
 * also published on a channel so that other nodes forget cached routes at once instead of at expiry.
 *
 * Keys (prefix default `airlock:`):
 * - `<prefix>nodes` — sorted set, member = node id, score = expiry (ms since the epoch)
 * - `<prefix>node:<id>` — the node's JSON record ({@link ClusterNode}), with a TTL
 * - `<prefix>tenant:<tenant>` — sorted set, member = node id, score = expiry
 * - channel `<prefix>presence` — messages `tenant:<name>` and `node:<id>`
 *
 * @example
 * const presence = await RedisPresence.connect({ url: 'redis://127.0.0.1:6379', self });
 * presence.start(() => registry.tenants());
 * const nodes = await presence.nodesFor('acme'); // live nodes holding a tunnel of acme, self excluded
 */
import { Redis } from 'ioredis';
import { type Logger, pino } from 'pino';
import { AirlockError } from '../../errors/airlock-error.js';

/** A presence record is kept this long after the node's last heartbeat. */
export const DEFAULT_PRESENCE_TTL_MS = 3000;
/** How often a node refreshes its record and its tenants. */
export const DEFAULT_PRESENCE_HEARTBEAT_MS = 1000;
/** Route look-ups are cached this long (an event on the channel clears the entry sooner). */
export const DEFAULT_ROUTE_CACHE_MS = 1000;
/** Key prefix in Redis. */
export const DEFAULT_PRESENCE_PREFIX = 'airlock:';

/** What a node tells the others about itself. */
export interface ClusterNode {
  id: string;
  /** host:port of its node-to-node link (mutual TLS). */
  peerAddress: string;
  /** host:port connectors may dial to reach this node directly (its own public port). */
  publicAddress: string;
  /** A draining node takes no new agents or tunnels. */
  draining: boolean;
  startedAt: number;
}

export interface PresenceOptions {
  /** `redis://` URL. */
  url: string;
  self: ClusterNode;
  prefix?: string;
  ttlMs?: number;
  heartbeatMs?: number;
  routeCacheMs?: number;
  logger?: Logger;
  /** Clock (tests). */
  now?: () => number;
}

export class RedisPresence {
  private readonly prefix: string;
  private readonly ttlMs: number;
  private readonly heartbeatMs: number;
  private readonly routeCacheMs: number;
  private readonly now: () => number;
  private readonly logger: Logger;
  private readonly routeCache = new Map<string, { at: number; nodes: ClusterNode[] }>();
  private published = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private lastBeatAt = 0;
  private beating: Promise<void> | undefined;
  private closed = false;

  private constructor(
    private readonly redis: Redis,
    private readonly subscriber: Redis,
    private self: ClusterNode,
    options: PresenceOptions,
  ) {
    this.prefix = options.prefix ?? DEFAULT_PRESENCE_PREFIX;
    this.ttlMs = options.ttlMs ?? DEFAULT_PRESENCE_TTL_MS;
    this.heartbeatMs = options.heartbeatMs ?? DEFAULT_PRESENCE_HEARTBEAT_MS;
    this.routeCacheMs = options.routeCacheMs ?? DEFAULT_ROUTE_CACHE_MS;
    this.now = options.now ?? Date.now;
    this.logger = options.logger ?? pino({ level: 'silent' });
  }

  /** Connects (two connections: commands, and the subscription) and subscribes to changes. */
  static async connect(options: PresenceOptions): Promise<RedisPresence> {
    const redisOptions = { lazyConnect: true, maxRetriesPerRequest: 2, enableOfflineQueue: false };
    const redis = new Redis(options.url, redisOptions);
    const subscriber = new Redis(options.url, redisOptions);
    let firstError: Error | undefined;
    const onEarlyError = (err: Error): void => {
      firstError ??= err;
    };
    redis.on('error', onEarlyError);
    subscriber.on('error', onEarlyError);
    try {
      await Promise.all([redis.connect(), subscriber.connect()]);
    } catch (err) {
      redis.disconnect();
      subscriber.disconnect();
      throw new PresenceUnavailableError(options.url, firstError ?? err);
    }
    redis.off('error', onEarlyError);
    subscriber.off('error', onEarlyError);
    const presence = new RedisPresence(redis, subscriber, options.self, options);
    redis.on('error', (err: Error) => presence.logger.warn({ err: err.message }, 'presence store error'));
    subscriber.on('error', (err: Error) =>
      presence.logger.warn({ err: err.message }, 'presence store error'),
    );
    await subscriber.subscribe(presence.channel);
    subscriber.on('message', (_channel: string, message: string) => presence.onEvent(message));
    return presence;
  }

  get node(): ClusterNode {
    return this.self;
  }

  /** Milliseconds since the last heartbeat that reached Redis (presence lag). */
  lagMs(): number {
    return this.lastBeatAt === 0 ? Number.POSITIVE_INFINITY : this.now() - this.lastBeatAt;
  }

  /** Starts heartbeats; `tenants()` lists the tenants this node holds at least one available tunnel of. */
  start(tenants: () => Iterable<string>): void {
    const beat = (): void => {
      if (this.beating) return;
      this.beating = this.heartbeat(tenants)
        .catch((err: unknown) =>
          this.logger.warn({ err: (err as Error).message }, 'presence heartbeat failed'),
        )
        .finally(() => {
          this.beating = undefined;
        });
    };
    beat();
    this.timer = setInterval(beat, this.heartbeatMs);
    this.timer.unref();
  }

  /** Writes this node's record and its tenants now (also called when a tenant appears or leaves). */
  async heartbeat(tenants: () => Iterable<string>): Promise<void> {
    if (this.closed) return;
    const expiry = this.now() + this.ttlMs;
    const current = new Set(tenants());
    const batch = this.redis.multi();
    batch.set(this.key(`node:${this.self.id}`), JSON.stringify(this.self), 'PX', this.ttlMs);
    batch.zadd(this.key('nodes'), expiry, this.self.id);
    for (const tenant of current) {
      batch.zadd(this.key(`tenant:${tenant}`), expiry, this.self.id);
      batch.pexpire(this.key(`tenant:${tenant}`), this.ttlMs * 4);
    }
    const gone = [...this.published].filter((tenant) => !current.has(tenant));
    for (const tenant of gone) batch.zrem(this.key(`tenant:${tenant}`), this.self.id);
    const changed = [...current].filter((tenant) => !this.published.has(tenant)).concat(gone);
    for (const tenant of changed) batch.publish(this.channel, `tenant:${tenant}`);
    await batch.exec();
    this.published = current;
    this.lastBeatAt = this.now();
  }

  /** Marks this node draining (other nodes stop sending it agents) and publishes it at once. */
  async setDraining(draining: boolean): Promise<void> {
    this.self = { ...this.self, draining };
    await this.redis
      .multi()
      .set(this.key(`node:${this.self.id}`), JSON.stringify(this.self), 'PX', this.ttlMs)
      .publish(this.channel, `node:${this.self.id}`)
      .exec();
  }

  /** Live nodes (self included), oldest first. */
  async nodes(): Promise<ClusterNode[]> {
    const ids = await this.redis.zrangebyscore(this.key('nodes'), this.now(), '+inf');
    return this.records(ids);
  }

  /** Live, non-draining nodes other than this one that hold a tunnel of `tenant`. */
  async nodesFor(tenant: string): Promise<ClusterNode[]> {
    const cached = this.routeCache.get(tenant);
    if (cached && this.now() - cached.at < this.routeCacheMs) return cached.nodes;
    const ids = await this.redis.zrangebyscore(this.key(`tenant:${tenant}`), this.now(), '+inf');
    const nodes = (await this.records(ids.filter((id) => id !== this.self.id))).filter((n) => !n.draining);
    this.routeCache.set(tenant, { at: this.now(), nodes });
    return nodes;
  }

  /** Stops heartbeats, removes this node's records (a clean leave), and disconnects. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.beating;
    try {
      const batch = this.redis
        .multi()
        .del(this.key(`node:${this.self.id}`))
        .zrem(this.key('nodes'), this.self.id);
      for (const tenant of this.published) {
        batch.zrem(this.key(`tenant:${tenant}`), this.self.id).publish(this.channel, `tenant:${tenant}`);
      }
      await batch.exec();
    } catch (err) {
      this.logger.debug({ err: (err as Error).message }, 'presence records not removed; they expire');
    }
    this.subscriber.disconnect();
    this.redis.disconnect();
  }

  private async records(ids: string[]): Promise<ClusterNode[]> {
    if (ids.length === 0) return [];
    const values = await this.redis.mget(ids.map((id) => this.key(`node:${id}`)));
    const out: ClusterNode[] = [];
    for (const value of values) {
      if (value === null) continue;
      try {
        out.push(JSON.parse(value) as ClusterNode);
      } catch {
        this.logger.warn('unreadable node record in the presence store');
      }
    }
    return out;
  }

  private onEvent(message: string): void {
    if (message.startsWith('tenant:')) this.routeCache.delete(message.slice('tenant:'.length));
    else this.routeCache.clear();
  }

  private get channel(): string {
    return this.key('presence');
  }

  private key(name: string): string {
    return `${this.prefix}${name}`;
  }
}

/** The presence store could not be reached at start-up (retryable: the store may come back). */
export class PresenceUnavailableError extends AirlockError {
  constructor(url: string, cause: unknown) {
    super(
      'AIRLOCK_CLUSTER_PRESENCE_UNAVAILABLE',
      `cannot reach the cluster presence store at ${redactUrl(url)}: ${(cause as Error)?.message ?? cause}`,
      { cause, retryable: true },
    );
  }
}

function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'the configured URL';
  }
}
