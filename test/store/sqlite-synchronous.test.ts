/**
 * The SQLite `synchronous` option (src/store/sqlite-dialect.ts, store URL `?synchronous=`): `full` by
 * default, `normal` only when asked for, nothing else accepted, and with `normal` every acknowledged
 * audit entry still survives `kill -9` of the writing process.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadOrCreateAuditKey } from '../../src/audit/audit-key.js';
import { StoreError } from '../../src/errors/airlock-error.js';
import { openStore, parseSqliteStoreUrl, sqliteStoreFiles } from '../../src/store/open-store.js';
import { DEFAULT_SQLITE_SYNCHRONOUS, openSqliteDialect } from '../../src/store/sqlite-dialect.js';
import { verifyStored } from '../audit/audit-fixture.js';

const CRASH_CHILD = join(dirname(fileURLToPath(import.meta.url)), '..', 'audit', 'crash-child.js');
const isStoreError = (code: string) => (e: unknown) => e instanceof StoreError && e.code === code;

/** SQLite's numeric `synchronous` of a dialect's connection (1 = NORMAL, 2 = FULL). */
async function synchronousOf(path: string, synchronous?: 'full' | 'normal'): Promise<number> {
  const dialect = openSqliteDialect({ path, ...(synchronous ? { synchronous } : {}) });
  try {
    const rows = await dialect.query<{ synchronous: number }>('PRAGMA synchronous');
    return rows[0]?.synchronous ?? -1;
  } finally {
    await dialect.close();
  }
}

describe('SQLite synchronous option', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airlock-sqlite-sync-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('full (fsync in every commit) is the default; normal only when asked for', async () => {
    assert.equal(DEFAULT_SQLITE_SYNCHRONOUS, 'full');
    // 2 = FULL, 1 = NORMAL.
    assert.equal(await synchronousOf(join(dir, 'default.db')), 2);
    assert.equal(await synchronousOf(join(dir, 'full.db'), 'full'), 2);
    assert.equal(await synchronousOf(join(dir, 'normal.db'), 'normal'), 1);
  });

  test('the store URL carries the option and the file name stays clean', async () => {
    const path = join(dir, 'url', 'airlock.db');
    assert.deepEqual(parseSqliteStoreUrl(`sqlite:${path}?synchronous=normal`), {
      path,
      synchronous: 'normal',
    });
    assert.deepEqual(parseSqliteStoreUrl(`sqlite://${path}?synchronous=full`), { path, synchronous: 'full' });
    assert.deepEqual(parseSqliteStoreUrl(`sqlite:${path}`), { path });
    const tenant = async (url: string, write: boolean) => {
      const store = await openStore({ url });
      if (write) await store.relay.addTenant('acme', 1);
      return store.relay.getTenant('acme').finally(() => store.close());
    };
    await tenant(`sqlite:${path}?synchronous=normal`, true);
    assert.ok(existsSync(path), 'the database file is named without the query');
    assert.deepEqual(await tenant(`sqlite:${path}`, false), { name: 'acme', createdAt: 1 });
  });

  test('any other value or parameter is refused before a file is made', async () => {
    const path = join(dir, 'refused.db');
    for (const query of ['synchronous=off', 'synchronous=FULL', 'journal_mode=memory', 'synchronous=']) {
      await assert.rejects(
        openStore({ url: `sqlite:${path}?${query}` }),
        isStoreError('AIRLOCK_STORE_URL'),
        query,
      );
    }
    const off = { path, synchronous: 'off' } as unknown as Parameters<typeof openSqliteDialect>[0];
    assert.throws(() => openSqliteDialect(off), isStoreError('AIRLOCK_STORE_OPEN'));
    assert.equal(existsSync(path), false, 'a refused option opens no database');
  });

  test('the sandbox hides the database and its WAL companions, whatever the options', () => {
    const path = join(dir, 'data', 'airlock.db');
    assert.deepEqual(sqliteStoreFiles(`sqlite:${path}?synchronous=normal`), [
      path,
      `${path}-wal`,
      `${path}-shm`,
    ]);
    assert.deepEqual(sqliteStoreFiles('sqlite::memory:'), []);
    assert.deepEqual(sqliteStoreFiles('postgres://airlock@db/airlock'), []);
  });
});

describe('SQLite synchronous=normal and kill -9', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airlock-sqlite-crash-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('with normal, every acknowledged audit entry survives kill -9 of the writer', async () => {
    const url = `sqlite:${join(dir, 'crash', 'audit.db')}?synchronous=normal`;
    const child = spawn(process.execPath, [CRASH_CHILD, join(dir, 'crash'), url], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = once(child, 'exit');
    const acked = new Map<number, string>();
    for await (const line of createInterface({ input: child.stdout })) {
      const { seq, hash } = JSON.parse(line) as { seq?: number; hash?: string };
      if (seq !== undefined && hash !== undefined) acked.set(seq, hash);
      if (acked.size === 300) child.kill('SIGKILL');
    }
    assert.equal((await exited)[1], 'SIGKILL');
    const store = await openStore({ url });
    try {
      for (const [seq, hash] of acked) assert.equal((await store.audit.getAuditEntry(seq))?.hash, hash);
      const report = await verifyStored(store.audit, await loadOrCreateAuditKey(join(dir, 'crash')));
      assert.equal(report.ok, true, JSON.stringify(report.firstProblem));
      assert.ok(report.entries >= acked.size);
    } finally {
      await store.close();
    }
  });
});
