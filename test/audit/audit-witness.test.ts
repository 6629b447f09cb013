/**
 * Witnessing over real HTTP on loopback: the relay-side witness (its own store) receives signed
 * checkpoints from a connector's ledger, refuses inconsistent ones, serves them back, and verification
 * with witnessed checkpoints catches what the connector's own disk can no longer prove.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { getRequestListener } from '@hono/node-server';
import { entryHash } from '../../src/audit/audit-entry.js';
import { generateAuditKey } from '../../src/audit/audit-key.js';
import { AuditLedger } from '../../src/audit/audit-ledger.js';
import { type AuditCheckpoint, signCheckpoint } from '../../src/audit/audit-signing.js';
import { canonicalJson } from '../../src/audit/canonical-json.js';
import { fetchWitnessedCheckpoints, HttpWitness } from '../../src/audit/witness-client.js';
import { type AuditWitness, createAuditWitness } from '../../src/audit/witness-server.js';
import type { Store } from '../../src/store/store.js';
import { requestEvent, sqliteBackend, TENANT, type TestBackend, verifyStored } from './audit-fixture.js';

describe('audit witness over HTTP', () => {
  let backend: TestBackend;
  let relayStore: Store;
  let witness: AuditWitness;
  let server: http.Server;
  let url: string;
  const key = generateAuditKey();
  const cleanups: (() => Promise<unknown>)[] = [];

  before(async () => {
    backend = await sqliteBackend();
    relayStore = await (await backend.fresh()).open();
    witness = createAuditWitness({ repository: relayStore.audit });
    await witness.registerKey(TENANT, key.publicKeyPem);
    server = http.createServer(getRequestListener(witness.handle));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/audit`;
  });
  after(async () => {
    for (const c of cleanups.reverse()) await c();
    server.close();
    await relayStore.close();
    await backend.cleanup();
  });

  /** A connector trail of `n` entries whose checkpoints (every 5) went to the witness. */
  async function witnessedTrail(tenant: string, n: number) {
    const db = await backend.fresh();
    const store = await db.open();
    const raw = await db.raw();
    cleanups.push(
      () => store.close(),
      () => raw.close(),
    );
    await witness.registerKey(tenant, key.publicKeyPem);
    const ledger = await AuditLedger.open({
      repository: store.audit,
      tenant,
      key,
      checkpointEvery: 5,
      checkpointIntervalMs: 0,
      witnesses: [new HttpWitness({ url })],
    });
    for (let i = 1; i <= n; i++) await ledger.append(requestEvent(i));
    assert.equal(await ledger.drainWitnesses(5_000), true);
    await ledger.close();
    const witnessed = await fetchWitnessedCheckpoints({ url, tenant });
    return { store, raw, witnessed };
  }

  test('checkpoints reach the witness, carry valid signatures and verify against the trail', async () => {
    const { store, witnessed } = await witnessedTrail('acme-1', 20);
    assert.deepEqual(
      witnessed.map((c) => c.treeSize),
      [5, 10, 15, 20],
    );
    assert.ok(witnessed.every((c) => c.tenant === 'acme-1' && c.keyId === key.keyId));
    // The witness learned hashes and counts only.
    assert.deepEqual(Object.keys(witnessed[0] ?? {}).sort(), [
      'headHash',
      'keyId',
      'signature',
      'tenant',
      'time',
      'treeSize',
    ]);
    const report = await verifyStored(store.audit, key, witnessed);
    assert.equal(report.ok, true, JSON.stringify(report.firstProblem));
    assert.equal(report.witnessedCheckpoints, 4);
  });

  test('truncating the tail after a witnessed checkpoint is detected (even with local checkpoints deleted)', async () => {
    const { store, raw, witnessed } = await witnessedTrail('acme-2', 20);
    // Whoever controls the connector's disk drops entries 13..20 and the local checkpoints covering them.
    await raw.run('DELETE FROM audit_entries WHERE seq > ?', [12]);
    await raw.run('DELETE FROM audit_checkpoints WHERE tree_size > ?', [12]);
    const local = await verifyStored(store.audit, key);
    assert.equal(local.ok, true, 'without the witness the shortened trail looks complete');
    const report = await verifyStored(store.audit, key, witnessed);
    assert.equal(report.ok, false);
    assert.equal(report.firstProblem?.kind, 'truncated');
    assert.equal(report.firstProblem?.seq, 13);
    assert.match(report.firstProblem?.detail ?? '', /witnessed checkpoint/);
  });

  test('rewriting history with the audit key itself is detected by the witnessed checkpoints', async () => {
    const { store, raw, witnessed } = await witnessedTrail('acme-3', 20);
    // The attacker edits entry 7, re-hashes the chain from there and re-signs every local checkpoint.
    const rows = await raw.query<{ seq: number; entry: string }>(
      'SELECT seq, entry FROM audit_entries ORDER BY seq',
    );
    let prevHash = '';
    const hashes = new Map<number, string>();
    for (const row of rows) {
      const entry = JSON.parse(row.entry) as Record<string, unknown>;
      if (row.seq === 7) entry.tool = 'erp.nothing_to_see';
      if (row.seq > 7) entry.prevHash = prevHash;
      if (row.seq >= 7) {
        entry.hash = entryHash(entry);
        await raw.run('UPDATE audit_entries SET entry = ?, hash = ? WHERE seq = ?', [
          canonicalJson(entry),
          entry.hash as string,
          row.seq,
        ]);
      }
      prevHash = entry.hash as string;
      hashes.set(row.seq, prevHash);
    }
    for (const size of [10, 15, 20]) {
      const cp = signCheckpoint(key, {
        tenant: 'acme-3',
        treeSize: size,
        headHash: hashes.get(size) ?? '',
        time: 1,
      });
      await raw.run('UPDATE audit_checkpoints SET checkpoint = ?, head_hash = ? WHERE tree_size = ?', [
        canonicalJson(cp),
        cp.headHash,
        size,
      ]);
    }
    const local = await verifyStored(store.audit, key);
    assert.equal(local.ok, true, 'the key holder can rewrite what only local checkpoints cover');
    const report = await verifyStored(store.audit, key, witnessed);
    assert.equal(report.firstProblem?.kind, 'modified');
    assert.equal(report.firstProblem?.seq, 10);
    assert.match(report.firstProblem?.detail ?? '', /witnessed checkpoint/);
  });

  test('the witness refuses inconsistent, unknown-key and badly signed checkpoints', async () => {
    const tenant = 'acme-4';
    await witness.registerKey(tenant, key.publicKeyPem);
    const head = (n: number) => n.toString(16).padStart(64, '0');
    const post = (body: unknown) =>
      fetch(`${url}/checkpoints`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const cp10 = signCheckpoint(key, { tenant, treeSize: 10, headHash: head(10), time: Date.now() });
    assert.equal((await post(cp10)).status, 201);
    assert.equal((await post(cp10)).status, 200, 'resubmitting is idempotent');

    const fork = signCheckpoint(key, { tenant, treeSize: 10, headHash: head(11), time: Date.now() });
    const forkRes = await post(fork);
    assert.equal(forkRes.status, 409);
    assert.equal(
      ((await forkRes.json()) as { error: { code: string } }).error.code,
      'AIRLOCK_AUDIT_WITNESS_INCONSISTENT',
    );

    const smaller = signCheckpoint(key, { tenant, treeSize: 4, headHash: head(4), time: Date.now() });
    assert.equal((await post(smaller)).status, 409, 'a smaller tree after a larger one is a truncation');

    const stranger = generateAuditKey();
    const foreign = signCheckpoint(stranger, { tenant, treeSize: 20, headHash: head(20), time: Date.now() });
    const foreignRes = await post(foreign);
    assert.equal(foreignRes.status, 403);
    assert.equal(
      ((await foreignRes.json()) as { error: { code: string } }).error.code,
      'AIRLOCK_AUDIT_WITNESS_BAD_SIGNATURE',
    );

    const unknownTenant = signCheckpoint(key, {
      tenant: 'nobody',
      treeSize: 1,
      headHash: head(1),
      time: Date.now(),
    });
    assert.equal((await post(unknownTenant)).status, 403);

    const forged: AuditCheckpoint = { ...cp10, treeSize: 30 };
    assert.equal((await post(forged)).status, 403);
    assert.equal((await post({ hello: 'world' })).status, 400);
    const big = await fetch(`${url}/checkpoints`, { method: 'POST', body: 'x'.repeat(10_000) });
    assert.equal(big.status, 413);

    const listed = await fetchWitnessedCheckpoints({ url, tenant });
    assert.deepEqual(
      listed.map((c) => [c.treeSize, c.headHash]),
      [[10, head(10)]],
    );
  });

  test('a connector keeps appending while the witness is unreachable and catches up later', async () => {
    const tenant = 'acme-5';
    await witness.registerKey(tenant, key.publicKeyPem);
    // A port with nobody listening yet; the witness comes up there later.
    const later = http.createServer(getRequestListener(witness.handle));
    later.listen(0, '127.0.0.1');
    await once(later, 'listening');
    const port = (later.address() as AddressInfo).port;
    await new Promise<void>((r) => later.close(() => r()));
    const laterUrl = `http://127.0.0.1:${port}/v1/audit`;

    const store = await (await backend.fresh()).open();
    cleanups.push(() => store.close());
    const ledger = await AuditLedger.open({
      repository: store.audit,
      tenant,
      key,
      checkpointEvery: 5,
      checkpointIntervalMs: 0,
      witnesses: [new HttpWitness({ url: laterUrl, timeoutMs: 1_000 })],
      witnessQueue: { retryMinMs: 20, retryMaxMs: 100 },
    });
    for (let i = 1; i <= 15; i++) await ledger.append(requestEvent(i));
    assert.equal(ledger.head.seq, 15);
    // Give the queue time to fail at least once.
    for (let i = 0; i < 100 && (ledger.stats().witnesses[0]?.failures ?? 0) === 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const stats = ledger.stats().witnesses[0];
    assert.ok(stats && stats.failures > 0 && stats.pending === 3, JSON.stringify(stats));

    const revived = http.createServer(getRequestListener(witness.handle));
    revived.listen(port, '127.0.0.1');
    await once(revived, 'listening');
    cleanups.push(() => new Promise((r) => revived.close(r)));
    assert.equal(await ledger.drainWitnesses(5_000), true);
    assert.equal(ledger.stats().witnesses[0]?.witnessedTreeSize, 15);
    await ledger.close();
    const witnessed = await fetchWitnessedCheckpoints({ url, tenant });
    assert.deepEqual(
      witnessed.map((c) => c.treeSize),
      [5, 10, 15],
    );
    const report = await verifyStored(store.audit, key, witnessed);
    assert.equal(report.ok, true, JSON.stringify(report.firstProblem));
  });
});
