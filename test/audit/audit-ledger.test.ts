/**
 * The ledger on SQLite and PostgreSQL: chain continuity across restarts, group commit, two writers on
 * one database, fail-closed appends, timed checkpoints and retention with a signed prune record.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { GENESIS_HASH } from '../../src/audit/audit-entry.js';
import { AUDIT_ERROR_CODES, AuditError } from '../../src/audit/audit-error.js';
import { type AuditSigningKey, generateAuditKey } from '../../src/audit/audit-key.js';
import { AuditLedger } from '../../src/audit/audit-ledger.js';
import { verifyCheckpointSignature } from '../../src/audit/audit-signing.js';
import type { AuditLedgerOptions } from '../../src/audit/ledger-options.js';
import type { AuditRepository, Store } from '../../src/store/store.js';
import { until } from '../fixtures/wait-until.js';
import {
  adminEvent,
  postgresBackend,
  requestEvent,
  sqliteBackend,
  TENANT,
  type TestBackend,
  type TestDatabase,
  verifyStored,
} from './audit-fixture.js';

/** What a describe's tests share: its backend, signing key, stores closed after it, and ledgers. */
interface LedgerSuite {
  backend: TestBackend;
  key: AuditSigningKey;
  cleanups: (() => Promise<unknown>)[];
  /** Opens a store on `db`, closed after the describe. */
  open(db: TestDatabase): Promise<Store>;
  /** A ledger of the tenant with the suite's key, no timed checkpoints unless `extra` says otherwise. */
  ledger(repository: AuditRepository, extra?: Partial<AuditLedgerOptions>): Promise<AuditLedger>;
}

/** Registers the backend's `before`/`after` in the enclosing describe; returns the suite its tests use. */
function useLedgerSuite(makeBackend: () => Promise<TestBackend>): LedgerSuite {
  const cleanups: (() => Promise<unknown>)[] = [];
  const key = generateAuditKey();
  const suite = {
    key,
    cleanups,
    async open(db: TestDatabase) {
      const store = await db.open();
      cleanups.push(() => store.close());
      return store;
    },
    ledger: (repository: AuditRepository, extra: Partial<AuditLedgerOptions> = {}) =>
      AuditLedger.open({ repository, tenant: TENANT, key, checkpointIntervalMs: 0, ...extra }),
  } as LedgerSuite;
  before(async () => {
    suite.backend = await makeBackend();
  });
  after(async () => {
    for (const c of cleanups.reverse()) await c();
    await suite.backend.cleanup();
  });
  return suite;
}

for (const makeBackend of [sqliteBackend, postgresBackend]) {
  const name = makeBackend === sqliteBackend ? 'sqlite' : 'postgres';
  describe(`audit ledger (${name})`, () => {
    const s = useLedgerSuite(makeBackend);

    test('entries chain from genesis and the chain continues after a restart', async () => {
      const db = await s.backend.fresh();
      const store = await s.open(db);
      const ledger = await s.ledger(store.audit);
      assert.deepEqual(ledger.head, { seq: 0, hash: GENESIS_HASH });
      const first = await ledger.append(requestEvent(1));
      assert.equal(first.seq, 1);
      assert.equal(first.prevHash, GENESIS_HASH);
      assert.equal(first.tenant, TENANT);
      assert.match(first.hash, /^[0-9a-f]{64}$/);
      const second = await ledger.append(adminEvent(2));
      assert.equal(second.prevHash, first.hash);
      await ledger.close();
      // close() signs a final checkpoint over the head
      const latest = await store.audit.latestAuditCheckpoint();
      assert.equal(latest?.treeSize, 2);
      assert.equal(latest?.headHash, ledger.stats().rootHash, 'the checkpoint carries the Merkle root');

      const store2 = await s.open(db);
      const again = await s.ledger(store2.audit);
      assert.deepEqual(again.head, { seq: 2, hash: second.hash });
      const third = await again.append(requestEvent(3));
      assert.equal(third.seq, 3);
      assert.equal(third.prevHash, second.hash);
      await again.close();
      const report = await verifyStored(store2.audit, s.key);
      assert.equal(report.ok, true, JSON.stringify(report.firstProblem));
      assert.equal(report.entries, 3);
    });

    test('concurrent appends are group-committed: fewer transactions than entries, one gapless chain', async () => {
      const db = await s.backend.fresh();
      const store = await s.open(db);
      let transactions = 0;
      // Counts transactions; every call still goes to the real repository.
      const counted = new Proxy(store.audit, {
        get(target, prop) {
          const value = Reflect.get(target, prop) as unknown;
          if (prop === 'appendAuditExclusive') {
            return (...args: Parameters<AuditRepository['appendAuditExclusive']>) => {
              transactions += 1;
              return target.appendAuditExclusive(...args);
            };
          }
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      const ledger = await s.ledger(counted, {
        checkpointEvery: 50,
        checkpointIntervalMs: 0,
      });
      const entries = await Promise.all(
        Array.from({ length: 200 }, (_, i) => ledger.append(requestEvent(i))),
      );
      await ledger.close();
      assert.deepEqual(
        entries.map((e) => e.seq).sort((a, b) => a - b),
        Array.from({ length: 200 }, (_, i) => i + 1),
      );
      assert.ok(transactions < 200, `expected batching, got ${transactions} transactions for 200 entries`);
      const report = await verifyStored(store.audit, s.key);
      assert.equal(report.ok, true, JSON.stringify(report.firstProblem));
      assert.equal(report.entries, 200);
      assert.ok(report.checkpoints >= 4);
    });
  });

  describe(`audit ledger (${name}): writers and failures`, () => {
    const s = useLedgerSuite(makeBackend);

    test('two ledgers writing to one database (a connector pair) keep one valid chain', async () => {
      const db = await s.backend.fresh();
      const a = await s.open(db);
      const b = await s.open(db);
      const la = await s.ledger(a.audit);
      const lb = await s.ledger(b.audit);
      const results = await Promise.all(
        Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? la : lb).append(requestEvent(i))),
      );
      await la.close();
      await lb.close();
      assert.equal(new Set(results.map((e) => e.seq)).size, 60);
      const report = await verifyStored(a.audit, s.key);
      assert.equal(report.ok, true, JSON.stringify(report.firstProblem));
      assert.equal(report.entries, 60);
    });

    test('when the store cannot write, append rejects with AIRLOCK_AUDIT_UNAVAILABLE', async () => {
      const db = await s.backend.fresh();
      const store = await db.open();
      const ledger = await s.ledger(store.audit);
      await ledger.append(requestEvent(1));
      assert.equal(ledger.available, true);
      await store.close();
      await assert.rejects(ledger.append(requestEvent(2)), (e: unknown) => {
        assert.ok(e instanceof AuditError);
        assert.equal(e.code, AUDIT_ERROR_CODES.unavailable);
        return true;
      });
      assert.equal(ledger.available, false);
      assert.equal(await ledger.probe(), false);
      await ledger.close();
      await assert.rejects(ledger.append(requestEvent(3)), (e: unknown) => {
        assert.ok(e instanceof AuditError);
        assert.equal(e.code, AUDIT_ERROR_CODES.closed);
        return true;
      });
      // Nothing half-written: the trail still verifies with its one entry.
      const reopened = await s.open(db);
      const report = await verifyStored(reopened.audit, s.key);
      assert.equal(report.ok, true, JSON.stringify(report.firstProblem));
      assert.equal(report.entries, 1);
    });
  });

  describe(`audit ledger (${name}): checkpoints and retention`, () => {
    const s = useLedgerSuite(makeBackend);

    test('a checkpoint is signed after the interval when entries were added', async () => {
      const db = await s.backend.fresh();
      const store = await s.open(db);
      const ledger = await s.ledger(store.audit, {
        checkpointEvery: 1000,
        checkpointIntervalMs: 30,
      });
      await ledger.append(requestEvent(1));
      await ledger.append(requestEvent(2));
      const latest = await until('the timed checkpoint over both entries', async () => {
        const cp = await store.audit.latestAuditCheckpoint();
        return cp?.treeSize === 2 && cp;
      });
      assert.equal(latest.treeSize, 2);
      const cp = JSON.parse(latest.checkpoint);
      assert.equal(verifyCheckpointSignature(cp, s.key.publicKey), true);
      assert.equal(cp.origin, `airlock.audit/${TENANT}`);
      assert.match(
        cp.note,
        /^airlock\.audit\/acme\n2\n[A-Za-z0-9+/]{43}=\n\n\u2014 airlock\.audit\/acme [A-Za-z0-9+/=]+\n$/,
      );
      await ledger.close();
    });

    test('retention prunes old entries with a signed prune record; the rest still verifies', async () => {
      const db = await s.backend.fresh();
      const store = await s.open(db);
      let clock = 1_000;
      const ledger = await s.ledger(store.audit, {
        checkpointEvery: 4,
        checkpointIntervalMs: 0,
        now: () => clock,
      });
      for (let i = 1; i <= 10; i++) await ledger.append(requestEvent(i));
      clock = 5_000;
      for (let i = 11; i <= 15; i++) await ledger.append(requestEvent(i));
      const result = await ledger.prune({ olderThan: 3_000 });
      assert.equal(result.prunedThroughSeq, 10);
      assert.equal(result.prunedCount, 10);
      assert.equal(result.record?.kind, 'prune');
      assert.equal(result.record?.seq, 16);
      assert.deepEqual(await ledger.prune({ olderThan: 3_000 }), {
        prunedThroughSeq: 0,
        prunedCount: 0,
        record: undefined,
      });
      await ledger.append(requestEvent(17));
      await ledger.close();

      const report = await verifyStored(store.audit, s.key);
      assert.equal(report.ok, true, JSON.stringify(report.firstProblem));
      assert.equal(report.firstSeq, 11);
      assert.equal(report.pruned, 10);
      assert.equal(report.lastSeq, 17);

      // Deleting more than the prune record accounts for is still caught.
      const raw = await db.raw();
      s.cleanups.push(() => raw.close());
      await raw.run('DELETE FROM audit_entries WHERE seq IN (11, 12)');
      const tampered = await verifyStored(store.audit, s.key);
      assert.equal(tampered.firstProblem?.kind, 'missing');
      assert.equal(tampered.firstProblem?.seq, 11);
    });
  });
}
