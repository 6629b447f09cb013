/**
 * One suite, every backend: the same assertions run against a SQLite file and a PostgreSQL schema.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { StoreError } from '../../src/errors/airlock-error.js';
import type { SqlDialect } from '../../src/store/dialect.js';
import { MIGRATIONS, migrate } from '../../src/store/migrations.js';
import { openStore } from '../../src/store/open-store.js';
import { openPostgresDialect } from '../../src/store/postgres-dialect.js';
import { openSqliteDialect } from '../../src/store/sqlite-dialect.js';
import type { Store } from '../../src/store/store.js';

const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';

interface Backend {
  name: 'sqlite' | 'postgres';
  setup(): Promise<void>;
  /** A fresh, empty store; `reopen` opens the same database again. */
  fresh(): Promise<{ store: Store; reopen: () => Promise<Store>; rawDialect: () => Promise<SqlDialect> }>;
  teardown(): Promise<void>;
}

function sqliteBackend(): Backend {
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

function postgresBackend(): Backend {
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

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const isStoreError = (code: string) => (e: unknown) => e instanceof StoreError && e.code === code;

for (const backend of [sqliteBackend(), postgresBackend()]) {
  describe(`store suite: ${backend.name}`, () => {
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

    test('reports its backend and keeps data across reopen (migrations applied once)', async () => {
      const { store, reopen } = await fresh();
      assert.equal(store.backend, backend.name);
      await store.relay.addTenant('acme', 1000);
      await store.close();
      const again = await reopen();
      assert.deepEqual(await again.relay.getTenant('acme'), { name: 'acme', createdAt: 1000 });
    });

    test('tenants: add, get, list, remove, duplicate', async () => {
      const { store } = await fresh();
      const big = 1_767_225_600_000; // epoch ms beyond 32 bits come back as exact numbers
      assert.deepEqual(await store.relay.addTenant('globex', big), { name: 'globex', createdAt: big });
      await store.relay.addTenant('acme', 5);
      assert.deepEqual(await store.relay.getTenant('globex'), { name: 'globex', createdAt: big });
      assert.equal(await store.relay.getTenant('nope'), undefined);
      assert.deepEqual(await store.relay.listTenants(), [
        { name: 'acme', createdAt: 5 },
        { name: 'globex', createdAt: big },
      ]);
      await assert.rejects(store.relay.addTenant('acme', 6), isStoreError('AIRLOCK_STORE_DUPLICATE'));
      assert.equal(await store.relay.removeTenant('acme'), true);
      assert.equal(await store.relay.removeTenant('acme'), false);
      assert.deepEqual(
        (await store.relay.listTenants()).map((t) => t.name),
        ['globex'],
      );
    });

    test('enrollment tokens: single use, mismatch, unknown, expiry', async () => {
      const { store } = await fresh();
      await store.relay.addTenant('acme', 0);
      const token = {
        id: 'tok-1',
        tenant: 'acme',
        secretHash: sha256('s3cret'),
        createdAt: 100,
        expiresAt: 10_000,
      };
      await store.relay.createEnrollmentToken(token);

      assert.deepEqual(await store.relay.consumeEnrollmentToken('tok-1', sha256('wrong'), 200), {
        ok: false,
        reason: 'mismatch',
      });
      assert.deepEqual(await store.relay.consumeEnrollmentToken('tok-1', 'short', 200), {
        ok: false,
        reason: 'mismatch',
      });
      assert.deepEqual(await store.relay.consumeEnrollmentToken('tok-x', sha256('s3cret'), 200), {
        ok: false,
        reason: 'unknown',
      });
      assert.deepEqual(await store.relay.consumeEnrollmentToken('tok-1', sha256('s3cret'), 300), {
        ok: true,
        token: { ...token, usedAt: 300 },
      });
      assert.deepEqual(await store.relay.consumeEnrollmentToken('tok-1', sha256('s3cret'), 400), {
        ok: false,
        reason: 'used',
      });
      // A wrong secret learns nothing about state: mismatch even for a used token.
      assert.deepEqual(await store.relay.consumeEnrollmentToken('tok-1', sha256('wrong'), 400), {
        ok: false,
        reason: 'mismatch',
      });

      await store.relay.createEnrollmentToken({ ...token, id: 'tok-2', expiresAt: 500 });
      assert.deepEqual(await store.relay.consumeEnrollmentToken('tok-2', sha256('s3cret'), 500), {
        ok: false,
        reason: 'expired',
      });
      assert.deepEqual(await store.relay.consumeEnrollmentToken('tok-2', sha256('s3cret'), 499), {
        ok: true,
        token: { ...token, id: 'tok-2', expiresAt: 500, usedAt: 499 },
      });

      await assert.rejects(store.relay.createEnrollmentToken(token), isStoreError('AIRLOCK_STORE_DUPLICATE'));
      await assert.rejects(
        store.relay.createEnrollmentToken({ ...token, id: 'tok-3', tenant: 'ghost' }),
        isStoreError('AIRLOCK_STORE_REFERENCE'),
      );
    });

    test('enrollment tokens: 10 concurrent consumers, exactly one wins', async () => {
      const { store } = await fresh();
      await store.relay.addTenant('acme', 0);
      for (let round = 0; round < 3; round++) {
        const id = `race-${round}`;
        await store.relay.createEnrollmentToken({
          id,
          tenant: 'acme',
          secretHash: sha256('x'),
          createdAt: 0,
          expiresAt: 1_000_000,
        });
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) => store.relay.consumeEnrollmentToken(id, sha256('x'), 1000 + i)),
        );
        const winners = results.filter((r) => r.ok);
        assert.equal(winners.length, 1, JSON.stringify(results));
        assert.ok(results.every((r) => r.ok || r.reason === 'used'));
      }
    });

    test('connectors: add, get, list by tenant, revoke, cascade on tenant removal', async () => {
      const { store } = await fresh();
      await store.relay.addTenant('acme', 0);
      await store.relay.addTenant('globex', 0);
      const bound = { boundCaFingerprint: 'ca-aa' };
      const c1 = {
        id: 'c1',
        tenant: 'acme',
        keyFingerprint: 'aa',
        certSerial: '01',
        enrolledAt: 10,
        ...bound,
      };
      const c2 = {
        id: 'c2',
        tenant: 'acme',
        keyFingerprint: 'bb',
        certSerial: '02',
        enrolledAt: 20,
        ...bound,
      };
      const c3 = { id: 'c3', tenant: 'globex', keyFingerprint: 'cc', certSerial: '03', enrolledAt: 15 };
      const c3Unbound = { ...c3, boundCaFingerprint: null };
      await store.relay.addConnector(c2);
      await store.relay.addConnector(c1);
      await store.relay.addConnector(c3Unbound);
      assert.deepEqual(await store.relay.getConnector('c1'), { ...c1, revokedAt: null, lastSeenAt: null });
      assert.deepEqual(await store.relay.getConnector('c3'), {
        ...c3Unbound,
        revokedAt: null,
        lastSeenAt: null,
      });
      assert.equal(await store.relay.getConnector('zz'), undefined);
      assert.deepEqual(
        (await store.relay.listConnectors()).map((c) => c.id),
        ['c1', 'c3', 'c2'],
      );
      assert.deepEqual(await store.relay.listConnectors('acme'), [
        { ...c1, revokedAt: null, lastSeenAt: null },
        { ...c2, revokedAt: null, lastSeenAt: null },
      ]);
      assert.deepEqual(await store.relay.listConnectors('nobody'), []);
      await assert.rejects(store.relay.addConnector(c1), isStoreError('AIRLOCK_STORE_DUPLICATE'));
      await assert.rejects(
        store.relay.addConnector({ ...c1, id: 'c9', tenant: 'ghost' }),
        isStoreError('AIRLOCK_STORE_REFERENCE'),
      );

      assert.equal(await store.relay.revokeConnector('c1', 50), true);
      assert.equal(await store.relay.revokeConnector('c1', 60), true);
      assert.equal((await store.relay.getConnector('c1'))?.revokedAt, 50, 'first revocation time is kept');
      assert.equal((await store.relay.getConnector('c2'))?.revokedAt, null);
      assert.equal(await store.relay.revokeConnector('zz', 50), false);

      await store.relay.createEnrollmentToken({
        id: 't',
        tenant: 'acme',
        secretHash: sha256('x'),
        createdAt: 0,
        expiresAt: 99,
      });
      assert.equal(await store.relay.removeTenant('acme'), true);
      assert.deepEqual(
        (await store.relay.listConnectors()).map((c) => c.id),
        ['c3'],
      );
      assert.deepEqual(await store.relay.consumeEnrollmentToken('t', sha256('x'), 1), {
        ok: false,
        reason: 'unknown',
      });
    });

    test('identities: add, get, by serial, list, rotation, revoke', async () => {
      const { store } = await fresh();
      const first = {
        name: 'claims-bot',
        spiffeId: 'spiffe://acme.test/agent/claims-bot',
        certSerial: '4a01',
        certFingerprint: 'f1',
        notAfter: 1_800_000_000_000,
        createdAt: 100,
      };
      const second = { ...first, certSerial: '4a02', certFingerprint: 'f2', createdAt: 200 };
      const other = {
        ...first,
        name: 'audit-bot',
        spiffeId: 'spiffe://acme.test/agent/audit-bot',
        certSerial: 'BEEF',
      };
      await store.identities.addIdentity(first);
      await store.identities.addIdentity(other);
      assert.deepEqual(await store.identities.getIdentity('claims-bot'), { ...first, revokedAt: null });
      await store.identities.addIdentity(second);
      assert.deepEqual(await store.identities.getIdentity('claims-bot'), { ...second, revokedAt: null });
      assert.equal(await store.identities.getIdentity('nobody'), undefined);
      assert.deepEqual(await store.identities.getIdentityBySerial('4a01'), { ...first, revokedAt: null });
      assert.deepEqual(await store.identities.getIdentityBySerial('BeEf'), {
        ...other,
        certSerial: 'beef',
        revokedAt: null,
      });
      assert.equal(await store.identities.getIdentityBySerial('00'), undefined);
      assert.deepEqual(
        (await store.identities.listIdentities()).map((i) => i.certSerial),
        ['beef', '4a02', '4a01'],
      );
      await assert.rejects(store.identities.addIdentity(first), isStoreError('AIRLOCK_STORE_DUPLICATE'));

      assert.equal(await store.identities.revokeIdentity('claims-bot', 500), true);
      assert.equal((await store.identities.getIdentityBySerial('4a01'))?.revokedAt, 500);
      assert.equal((await store.identities.getIdentityBySerial('4a02'))?.revokedAt, 500);
      assert.equal((await store.identities.getIdentityBySerial('beef'))?.revokedAt, null);
      assert.equal(await store.identities.revokeIdentity('claims-bot', 600), true);
      assert.equal((await store.identities.getIdentity('claims-bot'))?.revokedAt, 500);
      assert.equal(await store.identities.revokeIdentity('nobody', 500), false);

      // Re-issuing after revocation yields a new, valid certificate; the old ones stay revoked.
      await store.identities.addIdentity({ ...first, certSerial: '4a03', createdAt: 700 });
      assert.equal((await store.identities.getIdentity('claims-bot'))?.revokedAt, null);
      assert.equal((await store.identities.getIdentityBySerial('4a02'))?.revokedAt, 500);
    });

    test('revocations: token subjects, and every revocation since a time (certificates and subjects)', async () => {
      const { store } = await fresh();
      const ids = store.identities;
      const cert = {
        name: 'claims-bot',
        spiffeId: 'spiffe://acme.test/agent/claims-bot',
        certSerial: 'c1',
        certFingerprint: 'f1',
        notAfter: 1_800_000_000_000,
        createdAt: 100,
      };
      await ids.addIdentity(cert);
      await ids.addIdentity({ ...cert, name: 'audit-bot', certSerial: 'c2' });
      assert.deepEqual(await ids.listRevokedSince(0), []);

      const idp = 'https://idp.acme.test';
      assert.equal(await ids.isSubjectRevoked(idp, 'user-42'), false);
      assert.equal(await ids.revokeSubject(idp, 'user-42', 1_000), true);
      assert.equal(await ids.revokeSubject(idp, 'user-42', 2_000), false, 'already revoked');
      assert.equal(await ids.isSubjectRevoked(idp, 'user-42'), true);
      assert.equal(await ids.isSubjectRevoked('https://other.test', 'user-42'), false, 'per issuer');
      assert.equal(await ids.isSubjectRevoked(idp, 'user-43'), false);
      await ids.revokeIdentity('claims-bot', 1_500);
      await ids.revokeSubject(idp, 'o\'brien "quoted"', 3_000);

      assert.deepEqual(await ids.listRevokedSince(0), [
        { kind: 'subject', issuer: idp, subject: 'user-42', revokedAt: 1_000 },
        { kind: 'certificate', name: 'claims-bot', certSerial: 'c1', revokedAt: 1_500 },
        { kind: 'subject', issuer: idp, subject: 'o\'brien "quoted"', revokedAt: 3_000 },
      ]);
      assert.deepEqual(
        (await ids.listRevokedSince(1_500)).map((r) => r.revokedAt),
        [1_500, 3_000],
        'since is inclusive',
      );
      assert.deepEqual(await ids.listRevokedSince(3_001), []);

      assert.equal(await ids.reinstateSubject(idp, 'user-42'), true);
      assert.equal(await ids.reinstateSubject(idp, 'user-42'), false);
      assert.equal(await ids.isSubjectRevoked(idp, 'user-42'), false);
      assert.deepEqual(
        (await ids.listRevokedSince(0)).map((r) => r.kind),
        ['certificate', 'subject'],
      );
    });

    test('policy versions: append-only sequence, latest, get, list newest first, concurrent writers', async () => {
      const { store, reopen } = await fresh();
      assert.equal(await store.policyVersions.latestPolicyVersion(), undefined);
      assert.deepEqual(await store.policyVersions.listPolicyVersions(), []);
      const text1 = 'version: 1\ndefaultTier: approve\n';
      const text2 = 'version: 1\ndefaultTier: block\n# "quotes", \'apostrophes\', ünïcode\n';
      const v1 = await store.policyVersions.recordPolicyVersion({
        hash: sha256(text1),
        text: text1,
        source: '/etc/airlock/policy.yaml',
        loadedAt: 1_767_225_600_000,
      });
      assert.deepEqual(v1, {
        seq: 1,
        hash: sha256(text1),
        text: text1,
        source: '/etc/airlock/policy.yaml',
        loadedAt: 1_767_225_600_000,
      });
      const v2 = await store.policyVersions.recordPolicyVersion({
        hash: sha256(text2),
        text: text2,
        source: 'admin-api',
        loadedAt: 1_767_225_600_500,
      });
      assert.equal(v2.seq, 2);
      // Reverting to an earlier text is a new version, not a rewrite of history.
      const v3 = await store.policyVersions.recordPolicyVersion({ ...v1, loadedAt: 1_767_225_601_000 });
      assert.equal(v3.seq, 3);
      assert.deepEqual(await store.policyVersions.latestPolicyVersion(), v3);
      assert.deepEqual(await store.policyVersions.getPolicyVersion(2), v2);
      assert.equal(await store.policyVersions.getPolicyVersion(99), undefined);
      assert.deepEqual(
        (await store.policyVersions.listPolicyVersions()).map((v) => v.seq),
        [3, 2, 1],
      );
      assert.deepEqual(await store.policyVersions.listPolicyVersions({ limit: 1 }), [v3]);

      // Two stores on the same database (two connector nodes) recording at once never share a seq.
      // (SQLite: one process holds one connection, so the race is between concurrent calls on it.)
      const other = backend.name === 'postgres' ? await reopen() : store;
      const raced = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          (i % 2 === 0 ? store : other).policyVersions.recordPolicyVersion({
            hash: sha256(`t${i}`),
            text: `t${i}`,
            source: 'race',
            loadedAt: 2_000_000_000_000 + i,
          }),
        ),
      );
      assert.deepEqual(
        raced.map((v) => v.seq).sort((a, b) => a - b),
        [4, 5, 6, 7, 8, 9],
      );
      assert.equal((await other.policyVersions.listPolicyVersions()).length, 9);
      assert.equal((await store.policyVersions.latestPolicyVersion())?.seq, 9);
    });

    test('audit: entries and checkpoints append atomically, list in order, prune; witness keeps consistent checkpoints', async () => {
      const { store } = await fresh();
      const audit = store.audit;
      const h = (n: number) => n.toString(16).padStart(64, '0');
      const big = 1_767_225_600_000;
      assert.equal(await audit.auditHead(), undefined);
      const rows = [1, 2, 3].map((seq) => ({ seq, time: big + seq, hash: h(seq), entry: `{"seq":${seq}}` }));
      await audit.appendAudit({
        entries: rows,
        checkpoints: [{ treeSize: 3, headHash: h(3), time: big, checkpoint: '{"treeSize":3}' }],
      });
      assert.deepEqual(await audit.auditHead(), rows[2]);
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
    });

    test('approvals: create, find by binding, decide once, consume once, expire; admin accounts', async () => {
      const { store, reopen } = await fresh();
      const { approvals } = store;
      const base = {
        identity: 'claims-bot',
        spiffeId: 'spiffe://acme.localhost/agent/claims-bot',
        tool: 'erp.refund',
        argsHash: 'a'.repeat(64),
        arguments: '{"amount":5}',
        tier: 'approve',
        sessionId: null,
      };
      const created = await approvals.createApproval({
        ...base,
        id: 'apr_1',
        createdAt: 1000,
        expiresAt: 10_000,
      });
      assert.equal(created.status, 'pending');
      await assert.rejects(
        approvals.createApproval({ ...base, id: 'apr_1', createdAt: 1000, expiresAt: 10_000 }),
        isStoreError('AIRLOCK_STORE_DUPLICATE'),
      );
      await approvals.createApproval({
        ...base,
        id: 'apr_2',
        argsHash: 'b'.repeat(64),
        createdAt: 2000,
        expiresAt: 3000,
      });
      assert.equal(
        (await approvals.findOpenApproval('claims-bot', 'erp.refund', 'a'.repeat(64), 1500))?.id,
        'apr_1',
      );
      assert.equal(
        await approvals.findOpenApproval('other-bot', 'erp.refund', 'a'.repeat(64), 1500),
        undefined,
      );
      assert.equal(
        await approvals.findOpenApproval('claims-bot', 'erp.refund', 'a'.repeat(64), 10_000),
        undefined,
      );
      assert.equal(await approvals.countApprovals('pending'), 2);
      assert.deepEqual(
        (await approvals.listApprovals()).map((a) => a.id),
        ['apr_2', 'apr_1'],
      );
      assert.deepEqual(
        (await approvals.listApprovals({ status: ['pending'], tool: 'erp.refund', limit: 1 })).map(
          (a) => a.id,
        ),
        ['apr_2'],
      );
      // Not decided yet: nothing to consume.
      assert.equal(await approvals.consumeApproval('apr_1', 1500), false);
      // Ten concurrent decisions: exactly one wins.
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          approvals.decideApproval('apr_1', {
            status: i % 2 ? 'denied' : 'approved',
            decidedBy: `sup${i}`,
            reason: i % 2 ? 'no' : null,
            decidedAt: 1600,
          }),
        ),
      );
      assert.equal(results.filter((r) => r.ok).length, 1);
      assert.ok(results.filter((r) => !r.ok).every((r) => !r.ok && r.reason === 'decided'));
      const decided = await approvals.getApproval('apr_1');
      assert.ok(decided && decided.decidedBy !== null && decided.decidedAt === 1600);
      // Ten concurrent consumers: exactly one gets it.
      const consumed = await Promise.all(
        Array.from({ length: 10 }, () => approvals.consumeApproval('apr_1', 1700)),
      );
      assert.equal(consumed.filter(Boolean).length, 1);
      assert.equal((await approvals.getApproval('apr_1'))?.consumedAt, 1700);
      assert.equal(
        await approvals.findOpenApproval('claims-bot', 'erp.refund', 'a'.repeat(64), 1800),
        undefined,
      );
      // Expiry: a decision after the expiry loses; the sweep marks it expired.
      const late = await approvals.decideApproval('apr_2', {
        status: 'approved',
        decidedBy: 'alice',
        reason: null,
        decidedAt: 3000,
      });
      assert.ok(!late.ok && late.reason === 'expired');
      assert.equal(
        await approvals
          .decideApproval('apr_nope', { status: 'approved', decidedBy: 'a', reason: null, decidedAt: 1 })
          .then((r) => r.ok || r.reason),
        'unknown',
      );
      assert.equal(await approvals.expireApprovals(3000), 1);
      assert.equal((await approvals.getApproval('apr_2'))?.status, 'expired');

      const accounts = store.adminAccounts;
      assert.equal(
        await accounts.putAdminAccount(
          { name: 'alice', passwordHash: 'scrypt$x', role: 'admin', revealPii: true },
          1,
        ),
        'created',
      );
      assert.equal(
        await accounts.putAdminAccount(
          { name: 'alice', passwordHash: 'scrypt$y', role: 'supervisor', revealPii: false },
          2,
        ),
        'updated',
      );
      assert.deepEqual(await accounts.getAdminAccount('alice'), {
        name: 'alice',
        passwordHash: 'scrypt$y',
        role: 'supervisor',
        revealPii: false,
        createdAt: 1,
        updatedAt: 2,
        disabledAt: null,
      });
      assert.equal(await accounts.disableAdminAccount('alice', 3), true);
      assert.equal(await accounts.disableAdminAccount('nobody', 3), false);
      await store.close();
      const again = await reopen();
      assert.equal((await again.adminAccounts.listAdminAccounts())[0]?.disabledAt, 3);
      assert.equal((await again.approvals.getApproval('apr_1'))?.status, decided.status);
    });

    test('tool catalog: observe (first sight, tofu pin, change), approve, kill switch, revision, events', async () => {
      const { store, reopen } = await fresh();
      const { catalog } = store;
      assert.equal(await catalog.catalogRevision(), 0);
      const observe = (hash: string, autoApprove: boolean, at: number) =>
        catalog.observeTool({
          tool: 'erp.search',
          hash,
          definition: `{"h":"${hash}"}`,
          findings: '[]',
          at,
          autoApprove,
        });
      const first = await observe('h1', true, 1_000);
      assert.equal(first.change, 'pinned');
      assert.equal(first.record.approvedHash, 'h1');
      assert.equal(first.record.approvedBy, 'tofu');
      assert.equal((await observe('h1', true, 1_001)).change, 'unchanged', 'same hash: no write');
      const revisionBefore = await catalog.catalogRevision();
      const changed = await observe('h2', true, 2_000);
      assert.equal(changed.change, 'changed', 'TOFU never re-pins a changed definition');
      assert.equal(changed.record.approvedHash, 'h1');
      assert.equal(changed.record.observedHash, 'h2');
      assert.equal(changed.record.observedDefinition, '{"h":"h2"}');
      assert.ok((await catalog.catalogRevision()) > revisionBefore);

      assert.deepEqual(
        await catalog.approveTool('erp.search', { by: 'alice', at: 3_000, expectedHash: 'h9' }),
        {
          status: 'stale',
          observedHash: 'h2',
        },
      );
      assert.deepEqual(await catalog.approveTool('nope', { by: 'alice', at: 3_000 }), { status: 'unknown' });
      const approved = await catalog.approveTool('erp.search', {
        by: 'alice',
        at: 3_000,
        expectedHash: 'h2',
      });
      assert.equal(approved.status, 'approved');
      assert.equal(approved.status === 'approved' && approved.record.approvedHash, 'h2');
      assert.equal(approved.status === 'approved' && approved.record.approvedDefinition, '{"h":"h2"}');

      const review = await catalog.observeTool({
        tool: "o'brien.tool",
        hash: 'r1',
        definition: '{}',
        findings: '[{"rule":"x"}]',
        at: 4_000,
        autoApprove: false,
      });
      assert.equal(review.change, 'first-seen');
      assert.equal(review.record.approvedHash, null);

      await catalog.disableTool({
        tool: 'erp.search',
        reason: 'incident',
        disabledBy: 'bob',
        disabledAt: 5_000,
      });
      await catalog.disableTool({
        tool: 'erp.search',
        reason: 'incident 2',
        disabledBy: 'bob',
        disabledAt: 5_001,
      });
      assert.deepEqual(await catalog.listDisabledTools(), [
        { tool: 'erp.search', reason: 'incident 2', disabledBy: 'bob', disabledAt: 5_001 },
      ]);
      const snapshot = await catalog.catalogSnapshot();
      assert.equal(snapshot.revision, await catalog.catalogRevision());
      assert.deepEqual(
        snapshot.pins.map((p) => p.tool),
        ['erp.search', "o'brien.tool"],
      );
      assert.equal(snapshot.disabled.length, 1);
      assert.equal(await catalog.enableTool('erp.search', 'bob', 6_000), true);
      assert.equal(await catalog.enableTool('erp.search', 'bob', 6_001), false);

      const events = await catalog.listCatalogEvents({ tool: 'erp.search' });
      assert.deepEqual(
        events.map((e) => [e.action, e.actor]),
        [
          ['enabled', 'bob'],
          ['disabled', 'bob'],
          ['disabled', 'bob'],
          ['approved', 'alice'],
          ['changed', 'connector'],
          ['pinned', 'tofu'],
          ['first-seen', 'connector'],
        ],
      );
      assert.deepEqual(
        events.map((e) => e.seq),
        [...events.map((e) => e.seq)].sort((a, b) => b - a),
        'seq = revision, newest first',
      );
      assert.equal(events[0]?.seq, await catalog.catalogRevision());
      assert.equal((await catalog.listCatalogEvents({ limit: 2 })).length, 2);
      await store.close();
      const again = await reopen();
      assert.equal((await again.catalog.getToolPin('erp.search'))?.approvedBy, 'alice');
      assert.equal(await again.catalog.getToolPin('missing'), undefined);
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
}
