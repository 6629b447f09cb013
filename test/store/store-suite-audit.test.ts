/**
 * Store suite, every backend (audit trail and witness; closed store; newer schema refused): the same assertions against a SQLite file and a PostgreSQL schema.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StoreError } from '../../src/errors/airlock-error.js';
import { MIGRATIONS, migrate } from '../../src/store/migrations.js';
import type { AuditRepository } from '../../src/store/store.js';
import { describeOnEveryBackend, isStoreError } from './store-suite.js';

const h = (n: number) => n.toString(16).padStart(64, '0');
const big = 1_767_225_600_000;

/** Entries and checkpoints append atomically (a duplicate seq rejects the batch), list in order, prune. */
async function entriesAndCheckpoints(audit: AuditRepository): Promise<void> {
  assert.equal(await audit.auditHead(), undefined);
  assert.equal(await audit.auditHeadLink(), undefined);
  const rows = [1, 2, 3].map((seq) => ({ seq, time: big + seq, hash: h(seq), entry: `{"seq":${seq}}` }));
  await audit.appendAudit({
    entries: rows,
    checkpoints: [{ treeSize: 3, headHash: h(3), time: big, checkpoint: '{"treeSize":3}' }],
  });
  assert.deepEqual(await audit.auditHead(), rows[2]);
  assert.deepEqual(await audit.auditHeadLink(), { seq: 3, hash: h(3) });
  assert.deepEqual(await audit.getAuditEntry(2), rows[1]);
  assert.deepEqual(await audit.listAuditEntries({ afterSeq: 1, limit: 1 }), [rows[1]]);
  assert.equal(await audit.lastAuditSeqBefore(big + 3), 2);
  assert.equal(await audit.lastAuditSeqBefore(0), undefined);
  // A duplicate seq rejects the whole batch: entry 4 is not written either.
  await assert.rejects(
    audit.appendAudit({
      entries: [
        { seq: 4, time: big, hash: h(4), entry: '{}' },
        { seq: 3, time: big, hash: h(3), entry: '{}' },
      ],
      checkpoints: [],
    }),
    isStoreError('AIRLOCK_STORE_DUPLICATE'),
  );
  assert.equal((await audit.auditHead())?.seq, 3);
  await audit.appendAudit({
    entries: [{ seq: 4, time: big + 4, hash: h(4), entry: '{"seq":4}' }],
    checkpoints: [{ treeSize: 4, headHash: h(4), time: big + 4, checkpoint: '{"treeSize":4}' }],
    pruneThroughSeq: 2,
  });
  assert.deepEqual(
    (await audit.listAuditEntries()).map((r) => r.seq),
    [3, 4],
  );
  assert.deepEqual(
    (await audit.listAuditCheckpoints()).map((c) => c.treeSize),
    [3, 4],
  );
  assert.equal((await audit.latestAuditCheckpoint())?.treeSize, 4);
}

/** Witness keys register idempotently; witness checkpoints are stored only when consistent. */
async function witnessCheckpoints(audit: AuditRepository): Promise<void> {
  const key = { tenant: 'acme', keyId: h(9), publicKeyPem: 'PEM', registeredAt: big };
  await audit.registerWitnessKey(key);
  await audit.registerWitnessKey(key); // idempotent
  assert.deepEqual(await audit.listWitnessKeys('acme'), [key]);
  assert.deepEqual(await audit.listWitnessKeys('globex'), []);
  const cp = (treeSize: number, headHash: string) => ({
    tenant: 'acme',
    treeSize,
    headHash,
    time: big,
    checkpoint: `{"treeSize":${treeSize}}`,
    receivedAt: big + 1,
  });
  assert.deepEqual(await audit.addWitnessCheckpoint(cp(10, h(10))), { status: 'stored' });
  assert.deepEqual(await audit.addWitnessCheckpoint(cp(10, h(10))), { status: 'duplicate' });
  assert.equal((await audit.addWitnessCheckpoint(cp(10, h(11)))).status, 'conflict');
  const smaller = await audit.addWitnessCheckpoint(cp(5, h(5)));
  assert.equal(smaller.status, 'conflict');
  assert.equal(smaller.status === 'conflict' && smaller.existing.treeSize, 10);
  assert.deepEqual(await audit.addWitnessCheckpoint(cp(20, h(20))), { status: 'stored' });
  assert.deepEqual(await audit.addWitnessCheckpoint({ ...cp(5, h(5)), tenant: 'globex' }), {
    status: 'stored',
  });
  assert.deepEqual(
    (await audit.listWitnessCheckpoints('acme')).map((c) => [c.treeSize, c.headHash]),
    [
      [10, h(10)],
      [20, h(20)],
    ],
  );
  assert.deepEqual(
    (await audit.listWitnessCheckpoints('acme', { afterTreeSize: 10 })).map((c) => c.treeSize),
    [20],
  );
}

describeOnEveryBackend('audit trail and witness; closed store; newer schema refused', ({ fresh }) => {
  test('audit: entries and checkpoints append atomically, list in order, prune; witness keeps consistent checkpoints', async () => {
    const { store } = await fresh();
    await entriesAndCheckpoints(store.audit);
    await witnessCheckpoints(store.audit);
  });

  test('audit: batches of any size (multi-row inserts of power-of-two rows) are written whole and in order', async () => {
    const { store } = await fresh();
    let seq = 0;
    for (const size of [1, 3, 70, 511, 512, 600]) {
      const entries = Array.from({ length: size }, () => {
        seq++;
        return { seq, time: seq, hash: `h${seq}`, entry: JSON.stringify({ seq }) };
      });
      await store.audit.appendAuditExclusive('acme', async () => ({
        batch: { entries, checkpoints: [] },
        result: 0,
      }));
    }
    const listed = await store.audit.listAuditEntries({ limit: 5000 });
    assert.equal(listed.length, seq);
    assert.deepEqual(
      listed.map((e) => e.seq),
      Array.from({ length: seq }, (_, i) => i + 1),
    );
    assert.equal(listed.at(-1)?.hash, `h${seq}`);
  });

  test('a closed store refuses work with AIRLOCK_STORE_CLOSED', async () => {
    const { store } = await fresh();
    await store.close();
    await store.close(); // idempotent
    await assert.rejects(store.relay.listTenants(), isStoreError('AIRLOCK_STORE_CLOSED'));
  });

  test('a database with a newer schema is refused', async () => {
    const { store, reopen, rawDialect } = await fresh();
    await store.close();
    // Simulate a future Airlock having migrated this database further.
    const dialect = await rawDialect();
    const result = await migrate(dialect, [
      ...MIGRATIONS,
      { version: 99, name: 'future', statements: ['CREATE TABLE future_table (id TEXT)'] },
    ]);
    assert.deepEqual(result, { applied: [99] });
    await dialect.close();
    await assert.rejects(reopen(), (e: unknown) => {
      assert.ok(e instanceof StoreError);
      assert.equal(e.code, 'AIRLOCK_STORE_MIGRATION');
      assert.match(e.message, /newer/);
      return true;
    });
  });
});
