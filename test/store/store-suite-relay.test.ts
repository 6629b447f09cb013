/**
 * Store suite, every backend (tenants, enrollment tokens, connectors; reopen keeps data), one `describe`
 * per concern: the same assertions against a SQLite file and a PostgreSQL schema.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeOnEveryBackend, isStoreError, sha256 } from './store-suite.js';

describeOnEveryBackend('tenants; reopen keeps data', ({ backend, fresh }) => {
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
});

describeOnEveryBackend('enrollment tokens', ({ fresh }) => {
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
});

describeOnEveryBackend('connectors', ({ fresh }) => {
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
});
