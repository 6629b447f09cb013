/**
 * Change notifications between stores: one process's publish reaches every store on the same
 * database (PostgreSQL LISTEN/NOTIFY), stays inside its schema, survives a dropped connection, and
 * works in-process for SQLite.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, test } from 'node:test';
import pg from 'pg';
import type { Change } from '../../src/store/change-feed.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import { until } from '../fixtures/wait-until.js';

const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
const opened: Store[] = [];
const schemas: string[] = [];

after(async () => {
  await Promise.all(opened.map((s) => s.close()));
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await client.end();
});

async function pgStore(schema: string): Promise<Store> {
  const store = await openStore({ url: PG_URL, schema });
  opened.push(store);
  return store;
}

function freshSchema(): string {
  const schema = `feed_${randomBytes(4).toString('hex')}`;
  schemas.push(schema);
  return schema;
}

function next(store: Store, topic: Change['topic'] | 'resync'): Promise<Change> {
  return new Promise((resolve) => {
    const off = store.changes.subscribe(topic, (change) => {
      off();
      resolve(change);
    });
  });
}

/**
 * Waits until every store of `schema` that touched its feed has its LISTEN connection idle (the LISTEN
 * committed: a NOTIFY reaches only sessions listening when it commits), read from pg_stat_activity.
 */
async function listening(schema: string, count: number): Promise<void> {
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  try {
    await until(`${count} LISTEN connection(s) on ${schema}`, async () => {
      const { rows } = await admin.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE query = $1 AND state = 'idle'",
        [`LISTEN "airlock_changes_${schema}"`],
      );
      return (rows[0]?.n ?? 0) >= count;
    });
  } finally {
    await admin.end();
  }
}

/** Publishes once, when both feeds listen (the LISTEN connections start on first use), and waits to hear it. */
async function publishWhenListening(
  from: Store,
  to: Store,
  schema: string,
  topic: Change['topic'],
  detail: Change['detail'],
): Promise<Change> {
  let heard: Change | undefined;
  const offFrom = from.changes.subscribe('resync', () => {}); // opens the publisher's feed too
  const offTo = to.changes.subscribe(topic, (change) => {
    heard = change;
  });
  try {
    await listening(schema, from === to ? 1 : 2);
    await from.changes.publish(topic, detail);
    return await until('the change heard', () => heard);
  } finally {
    offFrom();
    offTo();
  }
}

test('PostgreSQL: a change published by one member reaches the other', async () => {
  const schema = freshSchema();
  const a = await pgStore(schema);
  const b = await pgStore(schema);
  const change = await publishWhenListening(a, b, schema, 'identities', { name: 'claims-bot' });
  assert.equal(change.topic, 'identities');
  assert.deepEqual(change.detail, { name: 'claims-bot' });
});

test('PostgreSQL: stores in other schemas hear nothing', async () => {
  const schema = freshSchema();
  const a = await pgStore(schema);
  const b = await pgStore(schema);
  const strangerSchema = freshSchema();
  const stranger = await pgStore(strangerSchema);
  let strangerHeard = 0;
  stranger.changes.subscribe('catalog', () => {
    strangerHeard++;
  });
  await listening(strangerSchema, 1); // the stranger listens while a publishes: its silence means something
  await publishWhenListening(a, b, schema, 'catalog', { tool: 'erp.delete' });
  // b heard it; the stranger's LISTEN is on another channel. A change on the stranger's own schema
  // arrives to it, so its feed works and the silence above is not an accident.
  await publishWhenListening(stranger, stranger, strangerSchema, 'policy', { version: 2 });
  assert.equal(strangerHeard, 0);
});

test('PostgreSQL: a dropped LISTEN connection reconnects, says resync, and hears again', async () => {
  const schema = freshSchema();
  const a = await pgStore(schema);
  const b = await pgStore(schema);
  await publishWhenListening(a, b, schema, 'approvals', { id: 'x' });
  const resync = next(b, 'resync');
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  try {
    await admin.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN "airlock_changes_${schema}"%'`,
    );
  } finally {
    await admin.end();
  }
  const change = await resync;
  assert.equal(change.topic, 'resync');
  await publishWhenListening(a, b, schema, 'approvals', { id: 'y' });
});

test('SQLite: changes are delivered inside the process', async () => {
  const store = await openStore({ url: 'sqlite::memory:' });
  opened.push(store);
  const heard = next(store, 'policy');
  await store.changes.publish('policy', { version: 3 });
  assert.deepEqual((await heard).detail, { version: 3 });
});
