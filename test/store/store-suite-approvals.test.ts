/**
 * Store suite, every backend (approvals and admin accounts): the same assertions against a SQLite file and a PostgreSQL schema.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ApprovalRecord, ApprovalRepository } from '../../src/store/store.js';
import { describeOnEveryBackend, isStoreError } from './store-suite.js';

const ARGS_HASH = 'a'.repeat(64);

/** `apr_1` (open until 10 000) and `apr_2` (other arguments, open until 3 000); a duplicate id refused. */
async function createTwo(approvals: ApprovalRepository): Promise<void> {
  const base = {
    identity: 'claims-bot',
    spiffeId: 'spiffe://acme.localhost/agent/claims-bot',
    tool: 'erp.refund',
    argsHash: ARGS_HASH,
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
}

/** Found by its binding (identity, tool, arguments) while open; counted and listed newest first. */
async function findAndList(approvals: ApprovalRepository): Promise<void> {
  assert.equal((await approvals.findOpenApproval('claims-bot', 'erp.refund', ARGS_HASH, 1500))?.id, 'apr_1');
  assert.equal(await approvals.findOpenApproval('other-bot', 'erp.refund', ARGS_HASH, 1500), undefined);
  assert.equal(await approvals.findOpenApproval('claims-bot', 'erp.refund', ARGS_HASH, 10_000), undefined);
  assert.equal(await approvals.countApprovals('pending'), 2);
  assert.deepEqual(
    (await approvals.listApprovals()).map((a) => a.id),
    ['apr_2', 'apr_1'],
  );
  assert.deepEqual(
    (await approvals.listApprovals({ status: ['pending'], tool: 'erp.refund', limit: 1 })).map((a) => a.id),
    ['apr_2'],
  );
}

/** Ten concurrent decisions on `apr_1`: one wins; then ten concurrent consumers: one gets it. */
async function decideOnceConsumeOnce(approvals: ApprovalRepository): Promise<ApprovalRecord> {
  // Not decided yet: nothing to consume.
  assert.equal(await approvals.consumeApproval('apr_1', 1500), false);
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
  const consumed = await Promise.all(
    Array.from({ length: 10 }, () => approvals.consumeApproval('apr_1', 1700)),
  );
  assert.equal(consumed.filter(Boolean).length, 1);
  assert.equal((await approvals.getApproval('apr_1'))?.consumedAt, 1700);
  assert.equal(await approvals.findOpenApproval('claims-bot', 'erp.refund', ARGS_HASH, 1800), undefined);
  return decided;
}

/** A decision after the expiry loses; an unknown id is said so; the sweep marks `apr_2` expired. */
async function expireLate(approvals: ApprovalRepository): Promise<void> {
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
}

describeOnEveryBackend('approvals and admin accounts', ({ fresh }) => {
  test('approvals: create, find by binding, decide once, consume once, expire; admin accounts', async () => {
    const { store, reopen } = await fresh();
    await createTwo(store.approvals);
    await findAndList(store.approvals);
    const decided = await decideOnceConsumeOnce(store.approvals);
    await expireLate(store.approvals);
    await store.close();
    const again = await reopen();
    assert.equal((await again.approvals.getApproval('apr_1'))?.status, decided.status);
  });

  test('admin accounts: create, update, disable; kept across reopen', async () => {
    const { store, reopen } = await fresh();
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
  });
});
