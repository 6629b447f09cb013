/**
 * Store suite, every backend (identities, revocations and policy versions), one `describe` per concern:
 * the same assertions against a SQLite file and a PostgreSQL schema.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeOnEveryBackend, isStoreError, sha256 } from './store-suite.js';

describeOnEveryBackend('identities', ({ fresh }) => {
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
});

describeOnEveryBackend('revocations', ({ fresh }) => {
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
});

describeOnEveryBackend('policy versions', ({ backend, fresh }) => {
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
});
