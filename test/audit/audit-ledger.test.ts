/**
 * The ledger on SQLite and PostgreSQL: chain continuity across restarts, group commit, two writers on
 * one database, fail-closed appends, timed checkpoints and retention with a signed prune record.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { GENESIS_HASH } from '../../src/audit/audit-entry.js';
import { AUDIT_ERROR_CODES, AuditError } from '../../src/audit/audit-error.js';
import { generateAuditKey } from '../../src/audit/audit-key.js';
import { AuditLedger } from '../../src/audit/audit-ledger.js';
import { verifyCheckpointSignature } from '../../src/audit/audit-signing.js';
import type { AuditRepository, Store } from '../../src/store/store.js';
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

for (const makeBackend of [sqliteBackend, postgresBackend]) {
  describe(`audit ledger (${makeBackend === sqliteBackend ? 'sqlite' : 'postgres'})`, () => {
    let backend: TestBackend;
    const key = generateAuditKey();
    const cleanups: (() => Promise<unknown>)[] = [];

    before(async () => {
      backend = await makeBackend();
    });
    after(async () => {
      for (const c of cleanups.reverse()) await c();
      await backend.cleanup();
    });

    async function open(db: TestDatabase): Promise<Store> {
      const store = await db.open();
      cleanups.push(() => store.close());
      return store;
    }

    test('entries chain from genesis and the chain continues after a restart', async () => {
      const db = await backend.fresh();
      const store = await open(db);
      const ledger = await AuditLedger.open({
        repository: store.audit,
        tenant: TENANT,
        key,
        checkpointIntervalMs: 0,
      });
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

      const store2 = await open(db);
      const again = await AuditLedger.open({
        repository: store2.audit,
        tenant: TENANT,
        key,
        checkpointIntervalMs: 0,
      });
      assert.deepEqual(again.head, { seq: 2, hash: second.hash });
      const third = await again.append(requestEvent(3));
      assert.equal(third.seq, 3);
      assert.equal(third.prevHash, second.hash);
      await again.close();
      const report = await verifyStored(store2.audit, key);
      assert.equal(report.ok, true, JSON.stringify(report.firstProblem));
      assert.equal(report.entries, 3);
    });

    test('concurrent appends are group-committed: fewer transactions than entries, one gapless chain', async () => {
      const db = await backend.fresh();
      const store = await open(db);
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
      const ledger = await AuditLedger.open({
        repository: counted,
        tenant: TENANT,
        key,
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
      const report = await verifyStored(store.audit, key);
      assert.equal(report.ok, true, JSON.stringify(report.firstProblem));
      assert.equal(report.entries, 200);
      assert.ok(report.checkpoints >= 4);
    });

    test('two ledgers writing to one database (a connector pair) keep one valid chain', async () => {
      const db = await backend.fresh();
      const a = await open(db);
      const b = await open(db);
      const la = await AuditLedger.open({
        repository: a.audit,
        tenant: TENANT,
        key,
        checkpointIntervalMs: 0,
      });
      const lb = await AuditLedger.open({
        repository: b.audit,
        tenant: TENANT,
        key,
        checkpointIntervalMs: 0,
      });
      const results = await Promise.all(
        Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? la : lb).append(requestEvent(i))),
      );
      await la.close();
      await lb.close();
      assert.equal(new Set(results.map((e) => e.seq)).size, 60);
      const report = await verifyStored(a.audit, key);
      assert.equal(report.ok, true, JSON.stringify(report.firstProblem));
      assert.equal(report.entries, 60);
    });

    test('when the store cannot write, append rejects with AIRLOCK_AUDIT_UNAVAILABLE', async () => {
      const db = await backend.fresh();
      const store = await db.open();
      const ledger = await AuditLedger.open({
        repository: store.audit,
        tenant: TENANT,
        key,
        checkpointIntervalMs: 0,
      });
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
      const reopened = await open(db);
      const report = await verifyStored(reopened.audit, key);
      assert.equal(report.ok, true, JSON.stringify(report.firstProblem));
      assert.equal(report.entries, 1);
    });

    test('a checkpoint is signed after the interval when entries were added', async () => {
      const db = await backend.fresh();
      const store = await open(db);
      const ledger = await AuditLedger.open({
        repository: store.audit,
        tenant: TENANT,
        key,
        checkpointEvery: 1000,
        checkpointIntervalMs: 30,
      });
      await ledger.append(requestEvent(1));
      await ledger.append(requestEvent(2));
      let latest = await store.audit.latestAuditCheckpoint();
      for (let i = 0; i < 100 && latest?.treeSize !== 2; i++) {
        await new Promise((r) => setTimeout(r, 20));
        latest = await store.audit.latestAuditCheckpoint();
      }
      assert.equal(latest?.treeSize, 2);
      const cp = JSON.parse(latest?.checkpoint ?? '{}');
      assert.equal(verifyCheckpointSignature(cp, key.publicKey), true);
      assert.equal(cp.origin, `airlock.audit/${TENANT}`);
      assert.match(
        cp.note,
        /^airlock\.audit\/acme\n2\n[A-Za-z0-9+/]{43}=\n\n\u2014 airlock\.audit\/acme [A-Za-z0-9+/=]+\n$/,
      );
      await ledger.close();
    });

    test('retention prunes old entries with a signed prune record; the rest still verifies', async () => {
      const db = await backend.fresh();
      const store = await open(db);
      let clock = 1_000;
      const ledger = await AuditLedger.open({
        repository: store.audit,
        tenant: TENANT,
        key,
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

      const report = await verifyStored(store.audit, key);
      assert.equal(report.ok, true, JSON.stringify(report.firstProblem));
      assert.equal(report.firstSeq, 11);
      assert.equal(report.pruned, 10);
      assert.equal(report.lastSeq, 17);

      // Deleting more than the prune record accounts for is still caught.
      const raw = await db.raw();
      cleanups.push(() => raw.close());
      await raw.run('DELETE FROM audit_entries WHERE seq IN (11, 12)');
      const tampered = await verifyStored(store.audit, key);
      assert.equal(tampered.firstProblem?.kind, 'missing');
      assert.equal(tampered.firstProblem?.seq, 11);
    });
  });
}
