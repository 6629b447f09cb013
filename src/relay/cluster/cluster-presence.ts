/**
 * Cluster presence: which relay nodes are alive, and which of them hold tunnels of which tenant.
 *
 * The state lives in Redis, not in a protocol of our own. Each node keeps one record with an expiry
 * (`presenceTtlMs`), refreshed every heartbeat: a node killed with -9 drops out by itself within
 * one TTL. Which tenants a node holds is written only when it changes (a tenant's first tunnel on the
 * node, or its last one gone) and in full every `resyncEveryBeats` heartbeats (so a restarted Redis
 * is repopulated); a heartbeat therefore costs O(1) commands whatever the number of tenants. Readers
 * keep only members whose node record is alive, and remove dead members they meet (atomically, only
 * while the record is still absent). A node that finds its own record had expired (a heartbeat came
 * too late: a starved or paused process) writes all its tenants again at once. Changes are also
 * published so that other nodes forget cached routes at once.
 *
 * Keys (prefix default `airlock:`):
 * - `<prefix>node:<id>` — the node's JSON record ({@link ClusterNode}), with a TTL
 * - `<prefix>nodes` — sorted set, member = node id, score = expiry (ms since the epoch), for listing
 * - `<prefix>tenant:<tenant>` — set of node ids holding a tunnel of the tenant
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
/** Every this many heartbeats a node rewrites all its tenants (repopulates a restarted Redis). */
export const DEFAULT_PRESENCE_RESYNC_EVERY_BEATS = 30;
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
  /** Tenants and tunnels the node held at its last heartbeat (for `airlock relay status`). */
  tenants?: number;
  tunnels?: number;
  /** Epoch ms of that heartbeat (presence lag = now − beatAt). */
  beatAt?: number;
}

export interface PresenceOptions {
  /** `redis://` URL. */
  url: string;
  self: ClusterNode;
  prefix?: string;
  ttlMs?: number;
  heartbeatMs?: number;
  routeCacheMs?: number;
  resyncEveryBeats?: number;
  logger?: Logger;
  /** Clock (tests). */
  now?: () => number;
  /** Live tunnels on this node, written into its record at every heartbeat. */
  tunnelCount?: () => number;
}

export class RedisPresence {
  private readonly prefix: string;
  private readonly ttlMs: number;
  private readonly heartbeatMs: number;
  private readonly routeCacheMs: number;
  private readonly resyncEveryBeats: number;
  private beats = 0;
  private readonly now: () => number;
  private readonly logger: Logger;
  private readonly routeCache = new Map<string, { at: number; nodes: ClusterNode[] }>();
  private published = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private lastBeatAt = 0;
  private beating: Promise<void> | undefined;
  private closed = false;
  private readonly tunnelCount: (() => number) | undefined;

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
    this.resyncEveryBeats = options.resyncEveryBeats ?? DEFAULT_PRESENCE_RESYNC_EVERY_BEATS;
    this.now = options.now ?? Date.now;
    this.logger = options.logger ?? pino({ level: 'silent' });
    this.tunnelCount = options.tunnelCount;
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

  /** Writes this node's record now, and its tenants where they changed (also on a tenant change). */
  async heartbeat(tenants: () => Iterable<string>): Promise<void> {
    if (this.closed) return;
    const current = new Set(tenants());
    const resync = this.beats++ % this.resyncEveryBeats === 0;
    const batch = this.redis.multi();
    this.self = { ...this.self, tenants: current.size, tunnels: this.tunnelCount?.(), beatAt: this.now() };
    // GET: the previous record, null when it had expired (a heartbeat came too late).
    batch.set(this.key(`node:${this.self.id}`), JSON.stringify(this.self), 'PX', this.ttlMs, 'GET');
    batch.zadd(this.key('nodes'), this.now() + this.ttlMs, this.self.id);
    const added = [...current].filter((tenant) => resync || !this.published.has(tenant));
    const gone = [...this.published].filter((tenant) => !current.has(tenant));
    for (const tenant of added) batch.sadd(this.key(`tenant:${tenant}`), this.self.id);
    for (const tenant of gone) batch.srem(this.key(`tenant:${tenant}`), this.self.id);
    for (const tenant of added.filter((t) => !this.published.has(t)).concat(gone))
      batch.publish(this.channel, `tenant:${tenant}`);
    const results = await batch.exec();
    const expired = results?.[0]?.[0] === null && results[0][1] === null;
    this.published = current;
    this.lastBeatAt = this.now();
    if (expired && !resync) await this.rejoin(current);
  }

  /**
   * This node's record had expired (a starved event loop, a paused process): readers took it for dead
   * and may have removed it from its tenants' sets. Writes every tenant again, at once, instead of
   * leaving the tenants unroutable from other nodes until the next resync.
   */
  private async rejoin(tenants: ReadonlySet<string>): Promise<void> {
    this.logger.warn({ node: this.self.id }, 'presence record had expired; rejoining every tenant');
    const batch = this.redis.multi();
    for (const tenant of tenants) {
      batch.sadd(this.key(`tenant:${tenant}`), this.self.id).publish(this.channel, `tenant:${tenant}`);
    }
    await batch.exec();
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
    await this.redis.zremrangebyscore(this.key('nodes'), '-inf', this.now() - this.ttlMs);
    const ids = await this.redis.zrange(this.key('nodes'), '0', '-1');
    return this.records(ids);
  }

  /** Live, non-draining nodes other than this one that hold a tunnel of `tenant`. */
  async nodesFor(tenant: string): Promise<ClusterNode[]> {
    const cached = this.routeCache.get(tenant);
    if (cached && this.now() - cached.at < this.routeCacheMs) return cached.nodes;
    const key = this.key(`tenant:${tenant}`);
    const ids = (await this.redis.smembers(key)).filter((id) => id !== this.self.id);
    const records = await this.recordsById(ids);
    const dead = ids.filter((id) => !records.has(id));
    if (dead.length > 0) await this.removeDead(key, dead); // a killed node's leftovers
    const nodes = [...records.values()].filter((n) => !n.draining);
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
        batch.srem(this.key(`tenant:${tenant}`), this.self.id).publish(this.channel, `tenant:${tenant}`);
      }
      await batch.exec();
    } catch (err) {
      this.logger.debug({ err: (err as Error).message }, 'presence records not removed; they expire');
    }
    this.subscriber.disconnect();
    this.redis.disconnect();
  }

  /**
   * Removes `ids` from the tenant set `key`, each only if its node record is STILL absent (one atomic
   * script): a node whose late heartbeat has just renewed its record keeps its membership. A node whose
   * record expired before the removal rejoins at its next heartbeat ({@link rejoin}).
   */
  private async removeDead(key: string, ids: string[]): Promise<void> {
    const nodeKeys = ids.map((id) => this.key(`node:${id}`));
    await this.redis.eval(REMOVE_DEAD_MEMBERS, 1 + ids.length, key, ...nodeKeys, ...ids);
  }

  private async records(ids: string[]): Promise<ClusterNode[]> {
    return [...(await this.recordsById(ids)).values()];
  }

  /** The live records among `ids` (an expired record is absent). */
  private async recordsById(ids: string[]): Promise<Map<string, ClusterNode>> {
    const out = new Map<string, ClusterNode>();
    if (ids.length === 0) return out;
    const values = await this.redis.mget(ids.map((id) => this.key(`node:${id}`)));
    values.forEach((value, i) => {
      if (value === null) return;
      try {
        out.set(ids[i] as string, JSON.parse(value) as ClusterNode);
      } catch {
        this.logger.warn('unreadable node record in the presence store');
      }
    });
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

/** KEYS[1]: a tenant set; KEYS[2..n+1]: node records; ARGV[1..n]: the node ids of those records. */
const REMOVE_DEAD_MEMBERS = `
for i, id in ipairs(ARGV) do
  if redis.call('EXISTS', KEYS[i + 1]) == 0 then redis.call('SREM', KEYS[1], id) end
end
return 0`;

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
