/**
 * One `describe` per store engine (SQLite, then PostgreSQL) with a fresh test backend and a private
 * temporary folder, both removed after the suite: for audit tests that must hold on both engines.
 *
 * @example
 * describeOnEachBackend((name) => `durability (${name})`, 'airlock-audit-crash-', (suite) => {
 *   test('survives kill -9', async () => { const db = await suite.backend.fresh(); … suite.dir … });
 * });
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { postgresBackend, sqliteBackend, type TestBackend } from './audit-fixture.js';

/** What a suite's tests use; `backend` and `dir` are set once its `before` hook has run. */
export interface BackendSuite {
  readonly name: 'sqlite' | 'postgres';
  backend: TestBackend;
  dir: string;
}

/** Registers `body` under `describe(title(name))` for each engine. */
export function describeOnEachBackend(
  title: (name: BackendSuite['name']) => string,
  tmpPrefix: string,
  body: (suite: BackendSuite) => void,
): void {
  const engines = [
    ['sqlite', sqliteBackend],
    ['postgres', postgresBackend],
  ] as const;
  for (const [name, makeBackend] of engines) {
    describe(title(name), () => {
      const suite = { name } as BackendSuite;
      before(async () => {
        suite.backend = await makeBackend();
        suite.dir = await mkdtemp(join(tmpdir(), tmpPrefix));
      });
      after(async () => {
        await suite.backend.cleanup();
        await rm(suite.dir, { recursive: true, force: true });
      });
      body(suite);
    });
  }
}
