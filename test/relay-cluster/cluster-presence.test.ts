import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import { type ClusterNode, RedisPresence } from '../../src/relay/cluster/cluster-presence.js';
import { until } from '../fixtures/wait-until.js';

const REDIS_URL = process.env.AIRLOCK_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `airlock-test:${randomUUID()}:`;
const opened: RedisPresence[] = [];

after(async () => {
  await Promise.all(opened.map((p) => p.close()));
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

function node(id: string): ClusterNode {
  return {
    id,
    peerAddress: `127.0.0.1:${id.length}`,
    publicAddress: '127.0.0.1:1',
    draining: false,
    startedAt: 0,
  };
}

async function presence(id: string, clock: { now: number } = { now: Date.now() }): Promise<RedisPresence> {
  const p = await RedisPresence.connect({
    url: REDIS_URL,
    self: node(id),
    prefix,
    now: () => clock.now,
    routeCacheMs: 0,
  });
  opened.push(p);
  return p;
}

test('a node sees which other live nodes hold a tenant, never itself', async () => {
  const a = await presence('a');
  const b = await presence('b');
  await a.heartbeat(() => ['acme']);
  await b.heartbeat(() => ['acme', 'globex']);
  assert.deepEqual(
    (await a.nodesFor('acme')).map((n) => n.id),
    ['b'],
  );
  assert.deepEqual(
    (await b.nodesFor('acme')).map((n) => n.id),
    ['a'],
  );
  assert.deepEqual(
    (await a.nodesFor('globex')).map((n) => n.id),
    ['b'],
  );
  assert.deepEqual(await a.nodesFor('initech'), []);
  const all = (await a.nodes()).map((n) => n.id).sort();
  assert.ok(all.includes('a') && all.includes('b'));
});

test('a tenant whose last tunnel left is withdrawn at the next heartbeat', async () => {
  const c = await presence('c');
  const d = await presence('d');
  await c.heartbeat(() => ['umbrella']);
  assert.deepEqual(
    (await d.nodesFor('umbrella')).map((n) => n.id),
    ['c'],
  );
  await c.heartbeat(() => []);
  assert.deepEqual(await d.nodesFor('umbrella'), []);
});

test('a node that stops beating (killed) drops out after its TTL, without any clean leave', async () => {
  const e = await RedisPresence.connect({
    url: REDIS_URL,
    self: node('e'),
    prefix,
    ttlMs: 300,
    routeCacheMs: 0,
  });
  opened.push(e);
  const f = await presence('f');
  await e.heartbeat(() => ['hooli']); // then no more heartbeats: as if killed with -9
  assert.deepEqual(
    (await f.nodesFor('hooli')).map((n) => n.id),
    ['e'],
  );
  await until('the dead node no longer routed to', async () => (await f.nodesFor('hooli')).length === 0);
  assert.ok(!(await f.nodes()).some((n) => n.id === 'e'));
});

test('a heartbeat costs the same whatever the number of tenants (only changes are written)', async () => {
  const m = await presence('m');
  const many = Array.from({ length: 500 }, (_, i) => `t${i}`);
  await m.heartbeat(() => many);
  const redis = new Redis(REDIS_URL);
  try {
    const before = Number((await redis.info('stats')).match(/total_commands_processed:(\d+)/)?.[1]);
    await m.heartbeat(() => many);
    const after = Number((await redis.info('stats')).match(/total_commands_processed:(\d+)/)?.[1]);
    // MULTI, SET, ZADD, EXEC and the INFO itself, plus whatever other tests run at the same time:
    // far below one command per tenant.
    assert.ok(after - before < 50, `a steady heartbeat issued ${after - before} commands for 500 tenants`);
  } finally {
    redis.disconnect();
  }
});

test('a draining node gets no new agents', async () => {
  const g = await presence('g');
  const h = await presence('h');
  await g.heartbeat(() => ['vandelay']);
  assert.equal((await h.nodesFor('vandelay')).length, 1);
  await g.setDraining(true);
  assert.deepEqual(await h.nodesFor('vandelay'), []);
});

test('a cached route is forgotten as soon as the owning node publishes a change', async () => {
  const i = await RedisPresence.connect({ url: REDIS_URL, self: node('i'), prefix, routeCacheMs: 60_000 });
  opened.push(i);
  const j = await presence('j');
  await j.heartbeat(() => ['stark']);
  assert.equal((await i.nodesFor('stark')).length, 1);
  await j.heartbeat(() => []);
  await until(
    'the change event to reach the other node',
    async () => (await i.nodesFor('stark')).length === 0,
  );
});

test('an unreachable presence store is a clear, retryable error', async () => {
  await assert.rejects(
    RedisPresence.connect({ url: 'redis://127.0.0.1:1', self: node('k'), prefix }),
    (err: Error & { code?: string; retryable?: boolean }) =>
      err.code === 'AIRLOCK_CLUSTER_PRESENCE_UNAVAILABLE' && err.retryable === true,
  );
});

test('a node whose record expired while it still ran (a late heartbeat) is routed to again at once', async () => {
  const late = await RedisPresence.connect({
    url: REDIS_URL,
    self: node('late'),
    prefix,
    ttlMs: 300,
    routeCacheMs: 0,
  });
  opened.push(late);
  const reader = await presence('reader');
  await late.heartbeat(() => ['wayne']);
  // The heartbeat comes too late: the record expires and the reader drops the member.
  await until(
    'the expired record no longer routed to',
    async () => (await reader.nodesFor('wayne')).length === 0,
  );
  const redis = new Redis(REDIS_URL);
  try {
    assert.deepEqual(await redis.smembers(`${prefix}tenant:wayne`), [], 'the reader removed the member');
    // The late heartbeat: nothing changed on the node, yet it must be routable again right away
    // (not only at the next full resync).
    await late.heartbeat(() => ['wayne']);
    assert.deepEqual(
      (await reader.nodesFor('wayne')).map((n) => n.id),
      ['late'],
    );
  } finally {
    redis.disconnect();
  }
});

test('a reader never removes a member whose record is alive, and a clean leave removes it', async () => {
  const live = await presence('live');
  const reader = await presence('reader-2');
  await live.heartbeat(() => ['oscorp']);
  const redis = new Redis(REDIS_URL);
  try {
    for (let i = 0; i < 5; i++) assert.equal((await reader.nodesFor('oscorp')).length, 1);
    assert.deepEqual(await redis.smembers(`${prefix}tenant:oscorp`), ['live']);
    await live.close();
    assert.deepEqual(await redis.smembers(`${prefix}tenant:oscorp`), [], 'the leaving node is gone');
    assert.equal(await redis.exists(`${prefix}node:live`), 0);
  } finally {
    redis.disconnect();
  }
});
