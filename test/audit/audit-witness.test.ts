/**
 * C2SP tlog-witness over real HTTP on loopback: a witness (its own store) cosigns the checkpoints of
 * a connector's ledger given consistency proofs, refuses what it must (unknown origin 404, unpinned
 * key 403, stale old size 409 with its size, bad proof 422), cannot be poisoned by an unpinned key,
 * and its view catches what the connector's own disk (and even its audit key) can no longer prove.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AUDIT_ERROR_CODES, AuditError } from '../../src/audit/audit-error.js';
import { generateAuditKey } from '../../src/audit/audit-key.js';
import { AuditLedger } from '../../src/audit/audit-ledger.js';
import { auditOrigin, signCheckpoint } from '../../src/audit/audit-signing.js';
import { verifyAuditTrail } from '../../src/audit/audit-verify.js';
import { parseSignedNote, verifyCosignature } from '../../src/audit/signed-note.js';
import { storedAuditCheckpoints, storedAuditEntries } from '../../src/audit/stored-trail.js';
import { fetchWitnessView, TlogWitnessClient } from '../../src/audit/witness-client.js';
import type { Store } from '../../src/store/store.js';
import { until } from '../fixtures/wait-until.js';
import { requestEvent, sqliteBackend, type TestBackend } from './audit-fixture.js';
import { consistentRewrite } from './tamper-tools.js';
import { startTestWitness, type TestWitness } from './witness-fixture.js';
import { openWitnessedLedger } from './witnessed-ledger.js';

const post = (url: string, body: string) =>
  fetch(`${url}/add-checkpoint`, { method: 'POST', body }).then(async (r) => ({
    status: r.status,
    type: r.headers.get('content-type'),
    text: await r.text(),
  }));

/** What a describe's tests share: a backend, a witness and the stores closed after them. */
interface WitnessSuite {
  backend: TestBackend;
  w: TestWitness;
  cleanups: (() => Promise<unknown>)[];
}

const key = generateAuditKey();

/** Registers the suite's `before`/`after` in the enclosing describe. */
function useWitnessSuite(): WitnessSuite {
  const suite = { cleanups: [] } as unknown as WitnessSuite;
  before(async () => {
    suite.backend = await sqliteBackend();
    suite.w = await startTestWitness();
  });
  after(async () => {
    for (const c of suite.cleanups.reverse()) await c();
    await suite.w.close();
    await suite.backend.cleanup();
  });
  return suite;
}

/** A ledger of `tenant` on a fresh store, checkpoints every 5 entries, sent to `witnessUrl`. */
function ledgerFor(
  s: WitnessSuite,
  tenant: string,
  witnessUrl = s.w.url,
  extra: Partial<Parameters<typeof AuditLedger.open>[0]> = {},
) {
  return openWitnessedLedger(
    { backend: s.backend, witness: s.w, cleanups: s.cleanups },
    {
      tenant,
      key,
      checkpointEvery: 5,
      witnessUrl,
      witnessTimeoutMs: 1_000,
      witnessQueue: { retryMinMs: 20, retryMaxMs: 100 },
      ...extra,
    },
  );
}

const view = (s: WitnessSuite, tenant: string) =>
  fetchWitnessView({ name: 'w1', url: s.w.url, origin: auditOrigin(tenant) });

async function verifyWith(s: WitnessSuite, store: Store, tenant: string) {
  return verifyAuditTrail({
    entries: storedAuditEntries(store.audit),
    checkpoints: await storedAuditCheckpoints(store.audit),
    publicKey: key.publicKey,
    tenant,
    witnesses: [await view(s, tenant)],
  });
}

describe('audit witness (C2SP tlog-witness) over HTTP', () => {
  const s = useWitnessSuite();

  test('checkpoints are cosigned with consistency proofs and the witnessed trail verifies', async () => {
    const { store, ledger } = await ledgerFor(s, 'acme-1');
    for (let i = 1; i <= 12; i++) await ledger.append(requestEvent(i));
    await ledger.checkpoint();
    assert.equal(await ledger.drainWitnesses(5_000), true);
    const v = await view(s, 'acme-1');
    assert.equal(v.checkpoint?.treeSize, 12);
    const note = parseSignedNote(v.checkpoint?.note ?? '');
    assert.ok(
      note && verifyCosignature(note, s.w.signer) !== undefined,
      'a valid cosignature/v1 by the witness',
    );
    const ok = await verifyWith(s, store, 'acme-1');
    assert.equal(ok.ok, true, JSON.stringify(ok.firstProblem));
    assert.equal(ok.witnessedThrough, 12);
    await ledger.close();
  });

  test('the witness answers 404, 403, 400, 409 (with its size) and 422 as the protocol says', async () => {
    const { ledger } = await ledgerFor(s, 'acme-2');
    for (let i = 1; i <= 6; i++) await ledger.append(requestEvent(i));
    const cp6 = await ledger.checkpoint();
    assert.ok(cp6);
    assert.equal(await ledger.drainWitnesses(5_000), true);
    for (let i = 7; i <= 9; i++) await ledger.append(requestEvent(i));
    // Signed here rather than by the ledger, so that its witness queue does not race the requests below.
    const cp9 = signCheckpoint(key, {
      tenant: 'acme-2',
      treeSize: 9,
      rootHash: Buffer.from(ledger.stats().rootHash, 'hex'),
      time: 0,
    });
    const proof = ledger
      .consistencyProof(6, 9)
      .map((h) => `${h.toString('base64')}\n`)
      .join('');

    const stranger = generateAuditKey();
    const unknown = signCheckpoint(stranger, {
      tenant: 'nobody',
      treeSize: 1,
      rootHash: Buffer.alloc(32),
      time: 0,
    });
    assert.equal((await post(s.w.url, `old 0\n\n${unknown.note}`)).status, 404, 'unknown origin');
    const unpinned = signCheckpoint(stranger, {
      tenant: 'acme-2',
      treeSize: 10,
      rootHash: Buffer.alloc(32),
      time: 0,
    });
    assert.equal((await post(s.w.url, `old 6\n${proof}\n${unpinned.note}`)).status, 403, 'key not trusted');
    assert.equal(
      (await post(s.w.url, `old 7\n\n${cp6.note}`)).status,
      400,
      'old size larger than the checkpoint',
    );
    const stale = await post(s.w.url, `old 3\n${proof}\n${cp9.note}`);
    assert.deepEqual([stale.status, stale.type, stale.text], [409, 'text/x.tlog.size', '6\n']);
    const badProof = proof.replace(/^./, (c) => (c === 'A' ? 'B' : 'A'));
    assert.equal(
      (await post(s.w.url, `old 6\n${badProof}\n${cp9.note}`)).status,
      422,
      'bad consistency proof',
    );
    const good = await post(s.w.url, `old 6\n${proof}\n${cp9.note}`);
    assert.equal(good.status, 200);
    assert.match(good.text, /^\u2014 witness\.test\/w1 [A-Za-z0-9+/=]+\n$/);
    await ledger.close();
  });
});

describe('audit witness (C2SP tlog-witness) over HTTP: poisoning and rewrites', () => {
  const s = useWitnessSuite();

  test('an unpinned key cannot poison the witness with a huge checkpoint', async () => {
    const { ledger } = await ledgerFor(s, 'acme-3');
    const rogue = generateAuditKey();
    const huge = signCheckpoint(rogue, {
      tenant: 'acme-3',
      treeSize: 1_000_000_000,
      rootHash: Buffer.alloc(32, 1),
      time: 0,
    });
    assert.equal((await post(s.w.url, `old 0\n\n${huge.note}`)).status, 403);
    for (let i = 1; i <= 5; i++) await ledger.append(requestEvent(i));
    assert.equal(await ledger.drainWitnesses(5_000), true, 'the real checkpoints are still accepted');
    assert.equal((await view(s, 'acme-3')).checkpoint?.treeSize, 5);
    await ledger.close();
  });

  test('a consistent rewrite with the audit key is caught by the witness: verify, start-up and the running ledger', async () => {
    const tenant = 'acme-4';
    const { store, raw, ledger } = await ledgerFor(s, tenant);
    for (let i = 1; i <= 10; i++) await ledger.append(requestEvent(i, i === 4 ? { decision: 'deny' } : {}));
    assert.equal(await ledger.drainWitnesses(5_000), true);
    // The attacker holds the key: turns the refusal of entry 4 into an allow, re-hashes the chain,
    // and re-signs every local checkpoint so the disk is self-consistent.
    await consistentRewrite(raw, tenant, key, (e) => {
      if (Number(e.seq) !== 4) return false;
      e.decision = 'allow';
      return true;
    });
    const offline = await verifyAuditTrail({
      entries: storedAuditEntries(store.audit),
      checkpoints: await storedAuditCheckpoints(store.audit),
      publicKey: key.publicKey,
      tenant,
      offline: true,
    });
    assert.equal(offline.ok, true, 'the disk alone cannot tell');
    const report = await verifyWith(s, store, tenant);
    assert.equal(report.firstProblem?.kind, 'modified');
    assert.equal(report.firstProblem?.seq, 10);
    await assert.rejects(
      AuditLedger.open({
        repository: store.audit,
        tenant,
        key,
        checkpointIntervalMs: 0,
        witnessViews: [await view(s, tenant)],
      }),
      (e: unknown) =>
        e instanceof AuditError &&
        e.code === AUDIT_ERROR_CODES.tampered &&
        /airlock audit verify/.test(e.message),
    );
    // The running ledger (its tree still the original one) would also be refused; a fresh ledger that
    // did not ask the witness at start is stopped at its first witness answer (422), and refuses appends.
    await ledger.close();
    const blind = await AuditLedger.open({
      repository: store.audit,
      tenant,
      key,
      checkpointIntervalMs: 0,
      witnesses: [new TlogWitnessClient({ url: s.w.url })],
    });
    s.cleanups.push(() => blind.close());
    await blind.append(requestEvent(11));
    await blind.checkpoint();
    await blind.drainWitnesses(2_000);
    assert.equal(blind.tampered?.code, AUDIT_ERROR_CODES.tampered);
    await assert.rejects(
      blind.append(requestEvent(12)),
      (e: unknown) => (e as AuditError).code === AUDIT_ERROR_CODES.tampered,
    );
  });
});

describe('audit witness (C2SP tlog-witness) over HTTP: an unreachable witness', () => {
  const s = useWitnessSuite();

  test('a connector keeps appending while the witness is unreachable; verify then fails unless --offline', async () => {
    const later = await startTestWitness('witness.test/later');
    const url = later.url;
    await later.close();
    const { store, ledger } = await ledgerFor(s, 'acme-5', url);
    for (let i = 1; i <= 15; i++) await ledger.append(requestEvent(i));
    assert.equal(ledger.head.seq, 15);
    await until('a failed witness request', () => (ledger.stats().witnesses[0]?.failures ?? 0) > 0);
    assert.ok((ledger.stats().witnesses[0]?.failures ?? 0) > 0);
    const unreachable = await verifyAuditTrail({
      entries: storedAuditEntries(store.audit),
      checkpoints: await storedAuditCheckpoints(store.audit),
      publicKey: key.publicKey,
      witnesses: [
        await fetchWitnessView({ name: 'later', url, origin: auditOrigin('acme-5'), timeoutMs: 500 }),
      ],
    });
    assert.equal(unreachable.ok, false, 'without a reachable witness the trail is not verified');
    assert.equal(unreachable.firstProblem?.kind, 'unwitnessed');
    const offline = await verifyAuditTrail({
      entries: storedAuditEntries(store.audit),
      checkpoints: await storedAuditCheckpoints(store.audit),
      publicKey: key.publicKey,
      witnesses: [],
      offline: true,
    });
    assert.equal(offline.ok, true);
    assert.match(offline.notChecked ?? '', /no witness was consulted: entries 1\.\.15/);
    await ledger.close({ drainMs: 0 });
  });
});
