/**
 * One checkpoint signer per trail (issue 16): two ledgers on one PostgreSQL schema (the members of a
 * connector pair) append to one chain under the writer lock, only the holder of the signer lease signs
 * checkpoints, the witness accepts every one of them, and the lease moves to the other ledger when
 * its holder closes or is killed with SIGKILL (a real child process). The hand-over time after
 * kill -9 is reported (not asserted: the machine is shared). On SQLite, the only writer always signs.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { AuditSigningKey } from '../../src/audit/audit-key.js';
import { generateAuditKey, loadOrCreateAuditKey } from '../../src/audit/audit-key.js';
import { AuditLedger } from '../../src/audit/audit-ledger.js';
import { auditOrigin } from '../../src/audit/audit-signing.js';
import { verifyAuditTrail } from '../../src/audit/audit-verify.js';
import { storedAuditCheckpoints, storedAuditEntries } from '../../src/audit/stored-trail.js';
import { fetchWitnessView, TlogWitnessClient } from '../../src/audit/witness-client.js';
import type { Store } from '../../src/store/store.js';
import { until, untilSettled } from '../fixtures/wait-until.js';
import { postgresBackend, requestEvent, sqliteBackend, type TestBackend } from './audit-fixture.js';
import { startTestWitness, type TestWitness } from './witness-fixture.js';

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'crash-child.js');

/** The stored trail verified with the witness's view: ok, gapless, and what the witness cosigned. */
async function verifyWithWitness(store: Store, tenant: string, key: AuditSigningKey, w: TestWitness) {
  const view = await fetchWitnessView({ name: 'w1', url: w.url, origin: auditOrigin(tenant) });
  assert.equal(view.error, undefined);
  const report = await verifyAuditTrail({
    entries: storedAuditEntries(store.audit),
    checkpoints: await storedAuditCheckpoints(store.audit),
    publicKey: key.publicKey,
    tenant,
    witnesses: [view],
  });
  assert.equal(report.ok, true, JSON.stringify(report.firstProblem));
  assert.equal(report.entries, report.lastSeq, 'no gap');
  return { report, witnessed: view.checkpoint?.treeSize ?? 0 };
}

/** A member of a connector pair: its store and ledger, and when it held the signer lease. */
interface Member {
  store: Store;
  ledger: AuditLedger;
  signerChanges: Array<{ held: boolean; at: number }>;
  /** Resolves when this ledger first takes the signer lease. */
  leaseTaken: Promise<void>;
}

/** What the postgres tests share: a backend, a witness, a folder, and pair members closed after them. */
interface LeaseRig {
  backend: TestBackend;
  w: TestWitness;
  dir: string;
  cleanups: (() => Promise<unknown>)[];
  member(url: string, schema: string | undefined, tenant: string, key: AuditSigningKey): Promise<Member>;
}

/** Registers the rig's `before`/`after` in the enclosing describe. */
function useLeaseRig(): LeaseRig {
  const cleanups: (() => Promise<unknown>)[] = [];
  const rig = { cleanups } as LeaseRig;
  rig.member = (url, schema, tenant, key) => openMember(rig, url, schema, tenant, key);
  before(async () => {
    rig.backend = await postgresBackend();
    rig.w = await startTestWitness();
    rig.dir = await mkdtemp(join(tmpdir(), 'airlock-signer-'));
  });
  after(async () => {
    for (const c of cleanups.reverse()) await c();
    await rig.w.close();
    await rig.backend.cleanup();
    await rm(rig.dir, { recursive: true, force: true });
  });
  return rig;
}

async function openMember(
  rig: LeaseRig,
  url: string,
  schema: string | undefined,
  tenant: string,
  key: AuditSigningKey,
): Promise<Member> {
  const { openStore } = await import('../../src/store/open-store.js');
  const store = await openStore({ url, ...(schema ? { schema } : {}) });
  const signerChanges: Array<{ held: boolean; at: number }> = [];
  let taken: () => void = () => {};
  const leaseTaken = new Promise<void>((resolve) => {
    taken = resolve;
  });
  const ledger = await AuditLedger.open({
    repository: store.audit,
    tenant,
    key,
    checkpointEvery: 10,
    checkpointIntervalMs: 50,
    witnesses: [new TlogWitnessClient({ url: rig.w.url })],
    witnessQueue: { retryMinMs: 20 },
    onSignerChange: (held) => {
      signerChanges.push({ held, at: performance.now() });
      if (held) taken();
    },
  });
  rig.cleanups.push(
    () => store.close(),
    () => ledger.close({ drainMs: 0 }),
  );
  return { store, ledger, signerChanges, leaseTaken };
}

/** Starts the crash child (it signs, appends and prints one line per entry); killed at cleanup at the latest. */
function startSigningChild(
  rig: LeaseRig,
  dataDir: string,
  db: { url: string; schema?: string },
  tenant: string,
) {
  const child = spawn(process.execPath, [CHILD, dataDir, db.url, ...(db.schema ? [db.schema] : [])], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, AUDIT_WITNESS_URL: rig.w.url, AUDIT_TENANT: tenant },
  });
  rig.cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const exited = once(child, 'exit');
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return { child, exited, lines };
}

describe('audit signer lease (postgres)', () => {
  const rig = useLeaseRig();

  test('two ledgers: one chain, one signer, every checkpoint accepted; the lease moves on close', async () => {
    const db = await rig.backend.fresh();
    const key = generateAuditKey();
    const tenant = 'pair-close';
    rig.w.trust(auditOrigin(tenant), key.publicKey);
    const a = await rig.member(db.url, db.schema, tenant, key);
    const b = await rig.member(db.url, db.schema, tenant, key);
    assert.equal(a.ledger.checkpointSigner, true, 'the first ledger holds the lease');
    assert.equal(b.ledger.checkpointSigner, false, 'the second waits for it');
    const entries = await Promise.all(
      Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? a : b).ledger.append(requestEvent(i))),
    );
    assert.deepEqual(
      entries.map((e) => e.seq).sort((x, y) => x - y),
      Array.from({ length: 100 }, (_, i) => i + 1),
      'both writers extend one gapless chain, no seq taken twice',
    );
    await until(
      'the signer covers both writers',
      async () => (await a.store.audit.latestAuditCheckpoint())?.treeSize === 100,
    );
    assert.equal(await a.ledger.drainWitnesses(5_000), true);
    assert.equal(b.ledger.stats().witnesses[0]?.witnessedTreeSize, 0, 'the non-signer sent nothing');
    assert.equal(await b.ledger.checkpoint(), undefined, 'the non-signer signs nothing');
    const signed = await storedAuditCheckpoints(a.store.audit);
    for (const cp of signed) assert.ok(cp.treeSize <= 100);
    await a.ledger.close();
    await untilSettled('b takes the lease', b.leaseTaken);
    assert.equal(b.ledger.checkpointSigner, true);
    assert.deepEqual(
      b.signerChanges.map((c) => c.held),
      [true],
    );
    for (let i = 0; i < 5; i++) await b.ledger.append(requestEvent(200 + i));
    await b.ledger.checkpoint(); // (or its timer did already)
    const latest = await b.store.audit.latestAuditCheckpoint();
    assert.equal(latest?.treeSize, 105, 'the new signer signs');
    assert.equal(await b.ledger.drainWitnesses(5_000), true);
    assert.ok(
      rig.w.requests.every((r) => r.status === 200 || r.status === 409),
      JSON.stringify(rig.w.requests),
    );
    assert.equal(b.ledger.stats().witnesses[0]?.refused, 0, 'the witness accepted every checkpoint');
    const { report, witnessed } = await verifyWithWitness(b.store, tenant, key, rig.w);
    assert.equal(report.entries, 105, 'the 100 of both writers and the 5 after the hand-over');
    assert.equal(witnessed, 105);
  });
});

describe('audit signer lease (postgres): kill -9', () => {
  const rig = useLeaseRig();

  test('kill -9 of the signing process: the other ledger takes the lease, no fork, no gap', async (t) => {
    const db = await rig.backend.fresh();
    const tenant = 'pair-kill';
    const dataDir = join(rig.dir, 'kill');
    const key = await loadOrCreateAuditKey(dataDir);
    rig.w.trust(auditOrigin(tenant), key.publicKey);
    const { child, exited, lines } = startSigningChild(rig, dataDir, db, tenant);
    await lines.next(); // {"ready":true}: the child holds the lease
    const b = await rig.member(db.url, db.schema, tenant, key);
    assert.equal(b.ledger.checkpointSigner, false, 'the child signs');
    let writing = true;
    const ours = (async () => {
      let n = 0;
      while (writing) await b.ledger.append(requestEvent(10_000 + n++));
      return n;
    })();
    for (let acked = 0; acked < 300; acked++) await lines.next();
    const killedAt = performance.now();
    child.kill('SIGKILL');
    await exited;
    await untilSettled('b takes the lease after kill -9', b.leaseTaken);
    assert.equal(b.ledger.checkpointSigner, true);
    const handOverMs = (b.signerChanges[0]?.at ?? killedAt) - killedAt;
    t.diagnostic(`signer lease hand-over after kill -9: ${handOverMs.toFixed(1)} ms`);
    writing = false;
    assert.ok((await ours) > 0);
    const head = b.ledger.head.seq;
    await b.ledger.checkpoint();
    assert.equal(await b.ledger.drainWitnesses(5_000), true);
    assert.equal(b.ledger.stats().witnesses[0]?.refused, 0, 'the witness accepted every checkpoint');
    assert.equal(b.ledger.tampered, undefined);
    const { report, witnessed } = await verifyWithWitness(b.store, tenant, key, rig.w);
    assert.equal(report.lastSeq, head);
    assert.equal(witnessed, head, 'the new signer brought the witness up to the head');
  });
});

describe('audit signer lease (sqlite)', () => {
  test('the only writer of a SQLite store always signs', async () => {
    const backend = await sqliteBackend();
    try {
      const db = await backend.fresh();
      const store = await db.open();
      const key = generateAuditKey();
      const ledger = await AuditLedger.open({
        repository: store.audit,
        tenant: 'solo',
        key,
        checkpointIntervalMs: 0,
      });
      assert.equal(ledger.checkpointSigner, true);
      await ledger.append(requestEvent(1));
      assert.equal((await ledger.checkpoint())?.treeSize, 1);
      await ledger.close();
      assert.equal(ledger.checkpointSigner, false, 'closing releases the lease');
      await store.close();
    } finally {
      await backend.cleanup();
    }
  });
});
