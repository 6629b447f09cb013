import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { StoreError } from '../../src/errors/airlock-error.js';
import { type SqlDialect, toNumberedPlaceholders } from '../../src/store/dialect.js';
import { openStore } from '../../src/store/open-store.js';
import { openPostgresDialect } from '../../src/store/postgres-dialect.js';
import { openSqliteDialect } from '../../src/store/sqlite-dialect.js';

const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
const isStoreError = (code: string) => (e: unknown) => e instanceof StoreError && e.code === code;

describe('openStore', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airlock-open-store-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('unknown URL scheme is AIRLOCK_STORE_URL', async () => {
    await assert.rejects(openStore({ url: 'mysql://localhost/x' }), (e: unknown) => {
      assert.ok(isStoreError('AIRLOCK_STORE_URL')(e));
      assert.match((e as Error).message, /mysql:/);
      return true;
    });
    await assert.rejects(openStore({ url: './relay.db' }), isStoreError('AIRLOCK_STORE_URL'));
    await assert.rejects(openStore({ url: 'sqlite:' }), isStoreError('AIRLOCK_STORE_URL'));
  });

  test('sqlite::memory: works and creates nothing on disk', async () => {
    const store = await openStore({ url: 'sqlite::memory:' });
    try {
      assert.equal(store.backend, 'sqlite');
      await store.relay.addTenant('acme', 1);
      assert.equal((await store.relay.listTenants()).length, 1);
    } finally {
      await store.close();
    }
  });

  test('sqlite:///abs/path form and parent directory creation', async () => {
    const path = join(dir, 'nested', 'deeper', 'x.db');
    const store = await openStore({ url: `sqlite://${path}` });
    await store.relay.addTenant('acme', 1);
    await store.close();
    const again = await openStore({ url: `sqlite:${path}` });
    try {
      assert.deepEqual(await again.relay.getTenant('acme'), { name: 'acme', createdAt: 1 });
    } finally {
      await again.close();
    }
  });

  test('a SQLite path that cannot be opened is AIRLOCK_STORE_OPEN with the path in the message', async () => {
    const file = join(dir, 'a-file');
    await writeFile(file, 'not a directory');
    await assert.rejects(openStore({ url: `sqlite:${join(file, 'x.db')}` }), (e: unknown) => {
      assert.ok(isStoreError('AIRLOCK_STORE_OPEN')(e));
      assert.match((e as Error).message, /a-file/);
      return true;
    });
    const garbage = join(dir, 'garbage.db');
    await writeFile(garbage, randomBytes(8192));
    await assert.rejects(openStore({ url: `sqlite:${garbage}` }), (e: unknown) => {
      assert.ok(e instanceof StoreError);
      assert.match(e.message, /garbage\.db|not a database/);
      return true;
    });
  });
});

describe('openStore: PostgreSQL', () => {
  test('unreachable PostgreSQL is a retryable AIRLOCK_STORE_OPEN without the password', async () => {
    await assert.rejects(
      openStore({
        url: 'postgres://postgres:hunter2@127.0.0.1:1/test',
        postgres: { connectTimeoutMs: 2000 },
      }),
      (e: unknown) => {
        assert.ok(isStoreError('AIRLOCK_STORE_OPEN')(e));
        assert.equal((e as StoreError).retryable, true);
        assert.doesNotMatch((e as Error).message, /hunter2/);
        assert.match((e as Error).message, /127\.0\.0\.1:1/);
        return true;
      },
    );
  });

  test('an invalid PostgreSQL schema name is refused before connecting', async () => {
    await assert.rejects(
      openStore({ url: PG_URL, schema: 'x; DROP TABLE y' }),
      isStoreError('AIRLOCK_STORE_URL'),
    );
  });
});

describe('dialects', () => {
  test('placeholders are numbered outside strings and comments', () => {
    assert.equal(
      toNumberedPlaceholders('SELECT \'?\', "a?" FROM t WHERE a = ? AND b = ? -- c?\nAND c = ?'),
      'SELECT \'?\', "a?" FROM t WHERE a = $1 AND b = $2 -- c?\nAND c = $3',
    );
  });

  test('SQLite runs in WAL mode with synchronous=FULL and foreign keys on', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'airlock-wal-'));
    const dialect = openSqliteDialect({ path: join(dir, 'w.db') });
    try {
      assert.deepEqual(await dialect.query('PRAGMA journal_mode'), [{ journal_mode: 'wal' }]);
      assert.deepEqual(await dialect.query('PRAGMA synchronous'), [{ synchronous: 2 }]);
      assert.deepEqual(await dialect.query('PRAGMA foreign_keys'), [{ foreign_keys: 1 }]);
    } finally {
      await dialect.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('dialects: transactions on every engine', () => {
  const schema = `airlock_dialect_${process.pid}_${randomBytes(4).toString('hex')}`;
  const dialects: Array<[string, () => Promise<SqlDialect>]> = [
    ['sqlite', async () => openSqliteDialect({ path: ':memory:' })],
    ['postgres', () => openPostgresDialect({ connectionString: PG_URL, schema })],
  ];
  after(async () => {
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
  });

  for (const [kind, open] of dialects) {
    test(`${kind}: transactions commit, roll back on throw, and isolate from concurrent statements`, async () => {
      const db = await open();
      try {
        assert.equal(db.kind, kind);
        await db.exec('CREATE TABLE kv (k TEXT PRIMARY KEY, v BIGINT NOT NULL)');
        await db.transaction(async (tx) => {
          await tx.run('INSERT INTO kv (k, v) VALUES (?, ?)', ['a', 1]);
          await tx.run('INSERT INTO kv (k, v) VALUES (?, ?)', ['b', 9_007_199_254_740_991]);
        });
        await assert.rejects(
          db.transaction(async (tx) => {
            await tx.run('INSERT INTO kv (k, v) VALUES (?, ?)', ['c', 3]);
            throw new Error('boom');
          }),
          /boom/,
        );
        assert.deepEqual(await db.query('SELECT k, v FROM kv ORDER BY k'), [
          { k: 'a', v: 1 },
          { k: 'b', v: 9_007_199_254_740_991 },
        ]);
        // Upsert with ON CONFLICT is portable.
        const r = await db.run(
          'INSERT INTO kv (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = kv.v + 1',
          ['a', 0],
        );
        assert.equal(r.changes, 1);
        assert.deepEqual(await db.query('SELECT v FROM kv WHERE k = ?', ['a']), [{ v: 2 }]);
        await assert.rejects(
          db.run('INSERT INTO kv (k, v) VALUES (?, ?)', ['a', 5]),
          isStoreError('AIRLOCK_STORE_DUPLICATE'),
        );
        await assert.rejects(db.query('SELECT nope FROM kv'), isStoreError('AIRLOCK_STORE_QUERY'));
        // Concurrent increments inside transactions never lose an update.
        await Promise.all(
          Array.from({ length: 8 }, () =>
            db.transaction(async (tx) => {
              const [row] = await tx.query<{ v: number }>(
                `SELECT v FROM kv WHERE k = ?${kind === 'postgres' ? ' FOR UPDATE' : ''}`,
                ['a'],
              );
              await tx.run('UPDATE kv SET v = ? WHERE k = ?', [(row?.v ?? 0) + 1, 'a']);
            }),
          ),
        );
        assert.deepEqual(await db.query('SELECT v FROM kv WHERE k = ?', ['a']), [{ v: 10 }]);
      } finally {
        await db.close();
      }
    });
  }
});
