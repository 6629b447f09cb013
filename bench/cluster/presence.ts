/**
 * Presence engines compared on this machine: what a relay node's heartbeat and an agent's route
 * look-up cost in Redis (the engine the cluster uses, src/relay/cluster/cluster-presence.ts) and in
 * PostgreSQL with a lease table (the alternative the issue names), measured in the same run.
 *
 * Both engines get the same design: a node lease refreshed every heartbeat, tenant membership
 * written only when it changes.
 * - full sync: a node writes all N tenants (start-up, resync);
 * - steady heartbeat: the lease refresh when no tenant changed;
 * - look-up: "which live nodes hold tenant X", cache off, 64 concurrent callers; look-ups per second
 *   and p50/p99 latency.
 *
 * Usage: node dist/bench/cluster/presence.js [--tenants 1000] [--rounds 20] [--lookups 20000]
 * Writes bench/results/presence.json.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import pg from 'pg';
import { RedisPresence } from '../../src/relay/cluster/cluster-presence.js';
import { machineInfo } from '../machine-info.js';
import { summarize } from '../sample-stats.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const { values } = parseArgs({
  options: {
    tenants: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '20' },
    lookups: { type: 'string', default: '20000' },
    redis: { type: 'string', default: process.env.AIRLOCK_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379' },
    postgres: {
      type: 'string',
      default: process.env.AIRLOCK_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    },
  },
});
const TENANTS = Number(values.tenants);
const ROUNDS = Number(values.rounds);
const LOOKUPS = Number(values.lookups);
const CONCURRENCY = 64;
const tenants = Array.from({ length: TENANTS }, (_, i) => `tenant-${i}`);

async function timeLookups(
  lookup: (tenant: string) => Promise<unknown>,
): Promise<{ perSecond: number; p50Ms: number; p99Ms: number }> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < LOOKUPS) {
        const tenant = tenants[next++ % TENANTS] as string;
        const t0 = performance.now();
        await lookup(tenant);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const stats = summarize(latencies);
  return { perSecond: Math.round(LOOKUPS / seconds), p50Ms: stats.p50, p99Ms: stats.p99 };
}

async function benchRedis(): Promise<Record<string, unknown>> {
  const prefix = `airlock-bench:${randomUUID()}:`;
  const self = {
    id: 'bench-node',
    peerAddress: '127.0.0.1:1',
    publicAddress: '127.0.0.1:1',
    draining: false,
    startedAt: Date.now(),
  };
  const writer = await RedisPresence.connect({ url: values.redis, self, prefix });
  const reader = await RedisPresence.connect({
    url: values.redis,
    self: { ...self, id: 'reader' },
    prefix,
    routeCacheMs: 0,
  });
  try {
    const t0 = performance.now();
    await writer.heartbeat(() => tenants);
    const fullSyncMs = performance.now() - t0;
    const beats: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const t1 = performance.now();
      await writer.heartbeat(() => tenants);
      beats.push(performance.now() - t1);
    }
    const lookups = await timeLookups((tenant) => reader.nodesFor(tenant));
    return { fullSyncMs, steadyHeartbeatMsP50: summarize(beats).p50, lookups };
  } finally {
    await writer.close();
    await reader.close();
    const redis = new Redis(values.redis);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  }
}

async function benchPostgres(): Promise<Record<string, unknown>> {
  const pool = new pg.Pool({ connectionString: values.postgres, max: 16 });
  const table = `bench_presence_${randomUUID().replaceAll('-', '')}`;
  try {
    await pool.query(
      `CREATE TABLE ${table}_nodes (node_id text PRIMARY KEY, record jsonb, expires_at timestamptz)`,
    );
    await pool.query(`CREATE TABLE ${table} (tenant text, node_id text, PRIMARY KEY (tenant, node_id))`);
    const lease = () =>
      pool.query(
        `INSERT INTO ${table}_nodes VALUES ($1, '{}', now() + interval '3 seconds')
         ON CONFLICT (node_id) DO UPDATE SET expires_at = EXCLUDED.expires_at`,
        ['bench-node'],
      );
    const t0 = performance.now();
    await lease();
    await pool.query(
      `INSERT INTO ${table} SELECT t, $2 FROM unnest($1::text[]) AS t ON CONFLICT DO NOTHING`,
      [tenants, 'bench-node'],
    );
    const fullSyncMs = performance.now() - t0;
    const beats: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const t1 = performance.now();
      await lease();
      beats.push(performance.now() - t1);
    }
    const lookups = await timeLookups((tenant) =>
      pool.query(
        `SELECT n.record FROM ${table} t JOIN ${table}_nodes n USING (node_id)
         WHERE t.tenant = $1 AND n.expires_at > now()`,
        [tenant],
      ),
    );
    return { fullSyncMs, steadyHeartbeatMsP50: summarize(beats).p50, lookups };
  } finally {
    await pool.query(`DROP TABLE IF EXISTS ${table}, ${table}_nodes`).catch(() => undefined);
    await pool.end();
  }
}

const result = {
  at: new Date().toISOString(),
  machine: machineInfo(),
  settings: { tenants: TENANTS, rounds: ROUNDS, lookups: LOOKUPS, concurrency: CONCURRENCY },
  redis: await benchRedis(),
  postgres: await benchPostgres(),
};
const out = join(ROOT, 'bench/results/presence.json');
await mkdir(dirname(out), { recursive: true });
await writeFile(out, `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result, null, 2));
