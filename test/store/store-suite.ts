/**
 * The store suite's frame: one `describe` per backend (a SQLite file, a PostgreSQL schema), each test
 * on a fresh database, every store it opened closed after the suite. The suite's files
 * (`store-suite-*.test.ts`) each call `describeOnEveryBackend` once per concern (each `describe` short).
 *
 * @example
 * describeOnEveryBackend('tenants', ({ fresh, backend }) => {
 *   test('add', async () => { const { store } = await fresh(); assert.equal(store.backend, backend.name); });
 * });
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import pg from 'pg';
import { StoreError } from '../../src/errors/airlock-error.js';
import type { SqlDialect } from '../../src/store/dialect.js';
import { openStore } from '../../src/store/open-store.js';
import { openPostgresDialect } from '../../src/store/postgres-dialect.js';
import { openSqliteDialect } from '../../src/store/sqlite-dialect.js';
import type { Store } from '../../src/store/store.js';

export const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';

export interface Backend {
  name: 'sqlite' | 'postgres';
  setup(): Promise<void>;
  /** A fresh, empty store; `reopen` opens the same database again. */
  fresh(): Promise<{ store: Store; reopen: () => Promise<Store>; rawDialect: () => Promise<SqlDialect> }>;
  teardown(): Promise<void>;
}

export function sqliteBackend(): Backend {
  let dir = '';
  let n = 0;
  return {
    name: 'sqlite',
    async setup() {
      dir = await mkdtemp(join(tmpdir(), 'airlock-store-'));
    },
    async fresh() {
      n += 1;
      const path = join(dir, `db-${n}`, 'airlock.db');
      const url = `sqlite:${path}`;
      return {
        store: await openStore({ url }),
        reopen: () => openStore({ url }),
        rawDialect: async () => openSqliteDialect({ path }),
      };
    },
    async teardown() {
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export function postgresBackend(): Backend {
  const run = `airlock_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const schemas: string[] = [];
  return {
    name: 'postgres',
    async setup() {},
    async fresh() {
      const schema = `${run}_${schemas.length + 1}`;
      schemas.push(schema);
      return {
        store: await openStore({ url: PG_URL, schema }),
        reopen: () => openStore({ url: PG_URL, schema }),
        rawDialect: () => openPostgresDialect({ connectionString: PG_URL, schema }),
      };
    },
    async teardown() {
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect();
      try {
        for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}

export const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
export const isStoreError = (code: string) => (e: unknown) => e instanceof StoreError && e.code === code;

/** What a suite's tests get: `fresh()` opens a new, empty database; `backend` names the engine. */
export interface SuiteContext {
  backend: Backend;
  fresh(): Promise<{ store: Store; rawDialect: () => Promise<SqlDialect>; reopen: () => Promise<Store> }>;
}

/** Runs `body` once per backend, inside `describe('store suite: <backend>: <title>')`. */
export function describeOnEveryBackend(title: string, body: (suite: SuiteContext) => void): void {
  for (const backend of [sqliteBackend(), postgresBackend()]) {
    describe(`store suite: ${backend.name}: ${title}`, () => {
      const open: Store[] = [];
      async function fresh() {
        const f = await backend.fresh();
        open.push(f.store);
        return {
          store: f.store,
          rawDialect: f.rawDialect,
          reopen: async () => {
            const s = await f.reopen();
            open.push(s);
            return s;
          },
        };
      }

      before(() => backend.setup());
      after(async () => {
        for (const s of open) await s.close();
        await backend.teardown();
      });
      body({ backend, fresh });
    });
  }
}
