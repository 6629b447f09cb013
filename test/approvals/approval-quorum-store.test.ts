/**
 * The store side of two-person approvals and break-glass overrides, on SQLite (concurrent calls on
 * one connection) and PostgreSQL (a schema opened by two pools, like two connector nodes):
 * votes are recorded exactly once per principal and the quorum flips the request exactly once under
 * concurrency; override confirmation and use have exactly one winner.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { openStore } from '../../src/store/open-store.js';
import type { ApprovalVoteRecord, Store } from '../../src/store/store.js';

const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
const schema = `airlock_quorum_${process.pid}_${randomBytes(4).toString('hex')}`;
let dir: string | undefined;
const opened: Store[] = [];

after(async () => {
  for (const s of opened) await s.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
});

/** Two stores on one database. */
async function twoStores(backend: 'sqlite' | 'postgres'): Promise<[Store, Store]> {
  let url = PG_URL;
  if (backend === 'sqlite') {
    dir ??= await mkdtemp(join(tmpdir(), 'airlock-quorum-store-'));
    url = `sqlite:${join(dir, 'connector.db')}`;
  }
  const options = backend === 'postgres' ? { url, schema } : { url };
  const a = await openStore(options);
  opened.push(a);
  // SQLite: one connection per process (its dialect serializes transactions); two connections in one
  // process would block each other's event loop. PostgreSQL: a second pool, like a second node.
  if (backend === 'sqlite') return [a, a];
  const b = await openStore(options);
  opened.push(b);
  return [a, b];
}

const vote = (
  principal: string,
  decision: 'approved' | 'denied' = 'approved',
  at = 1_000,
): ApprovalVoteRecord => ({
  principal,
  name: principal.split(':')[1] ?? principal,
  role: 'admin',
  decision,
  reason: decision === 'denied' ? 'no' : null,
  votedAt: at,
});

async function request(store: Store, id: string, count: number): Promise<void> {
  await store.approvals.createApproval({
    id,
    identity: 'ops-bot',
    spiffeId: 'spiffe://acme.localhost/agent/ops-bot',
    tool: 'erp.transfer',
    argsHash: 'a'.repeat(64),
    arguments: '{"amount":5000}',
    tier: 'approve',
    sessionId: null,
    quorum: { count, roles: ['admin'] },
    createdAt: 500,
    expiresAt: 10_000,
  });
}

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`two-person approvals in the store (${backend})`, () => {
    it('concurrent votes by six principals on a quorum of three: exactly three count, the third approves', async () => {
      const [a, b] = await twoStores(backend);
      await request(a, `apr_q3_${backend}`, 3);
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          (i % 2 ? a : b).approvals.voteApproval(`apr_q3_${backend}`, vote(`console:admin${i}`), 3),
        ),
      );
      const ok = results.filter((r) => r.ok);
      assert.equal(ok.length, 3);
      assert.equal(ok.filter((r) => r.ok && r.approval.status === 'approved').length, 1);
      assert.ok(results.filter((r) => !r.ok).every((r) => !r.ok && r.reason === 'decided'));
      const stored = await b.approvals.getApproval(`apr_q3_${backend}`);
      assert.equal(stored?.status, 'approved');
      assert.equal(stored?.votes?.length, 3);
      assert.deepEqual(stored?.quorum, { count: 3, roles: ['admin'] });
      assert.ok(stored?.votes?.some((v) => v.principal === stored.decidedBy));
    });

    it('the same principal voting ten times at once counts once; a denial decides; late votes lose', async () => {
      const [a, b] = await twoStores(backend);
      await request(a, `apr_dup_${backend}`, 2);
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          (i % 2 ? a : b).approvals.voteApproval(`apr_dup_${backend}`, vote('console:alice'), 2),
        ),
      );
      assert.equal(results.filter((r) => r.ok).length, 1);
      assert.ok(results.filter((r) => !r.ok).every((r) => !r.ok && r.reason === 'duplicate'));
      assert.equal((await a.approvals.getApproval(`apr_dup_${backend}`))?.status, 'pending');
      const denied = await b.approvals.voteApproval(`apr_dup_${backend}`, vote('console:bob', 'denied'), 2);
      assert.ok(
        denied.ok && denied.approval.status === 'denied' && denied.approval.decidedBy === 'console:bob',
      );
      const late = await a.approvals.voteApproval(`apr_dup_${backend}`, vote('console:carol'), 2);
      assert.ok(!late.ok && late.reason === 'decided');
      assert.equal(
        await a.approvals.voteApproval('apr_none', vote('console:carol'), 2).then((r) => r.ok || r.reason),
        'unknown',
      );
      await request(a, `apr_exp_${backend}`, 2);
      const expired = await a.approvals.voteApproval(
        `apr_exp_${backend}`,
        vote('console:alice', 'approved', 10_000),
        2,
      );
      assert.ok(!expired.ok && expired.reason === 'expired');
      // Listing carries the votes (the console shows who approved so far).
      const listed = await b.approvals.listApprovals({ status: ['denied'] });
      assert.deepEqual(
        listed.find((r) => r.id === `apr_dup_${backend}`)?.votes?.map((v) => [v.principal, v.decision]),
        [
          ['console:alice', 'approved'],
          ['console:bob', 'denied'],
        ],
      );
    });
  });

  describe(`two-person overrides in the store (${backend})`, () => {
    it('overrides: confirmed by another principal exactly once, used exactly once, never after expiry', async () => {
      const [a, b] = await twoStores(backend);
      const id = `ovr_${backend}`;
      const call = { identity: 'ops-bot', tool: 'erp.purge', argsHash: 'c'.repeat(64) };
      await a.approvals.overrides.createOverride({
        id,
        ...call,
        arguments: '{"id":7}',
        reason: 'INC-42',
        requestedBy: 'console:alice',
        requestedAt: 1_000,
        expiresAt: 5_000,
      });
      assert.equal(await a.approvals.overrides.consumeOverride(call, 1_500), undefined, 'unconfirmed');
      const self = await b.approvals.overrides.confirmOverride(id, 'console:alice', 1_500);
      assert.ok(!self.ok && self.reason === 'self');
      const confirms = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          (i % 2 ? a : b).approvals.overrides.confirmOverride(id, `console:admin${i}`, 1_600),
        ),
      );
      assert.equal(confirms.filter((r) => r.ok).length, 1);
      assert.ok(confirms.filter((r) => !r.ok).every((r) => !r.ok && r.reason === 'confirmed'));
      assert.equal(
        await a.approvals.overrides.consumeOverride({ ...call, argsHash: 'd'.repeat(64) }, 1_700),
        undefined,
        'other arguments',
      );
      assert.equal(
        await a.approvals.overrides.consumeOverride({ ...call, identity: 'other-bot' }, 1_700),
        undefined,
        'another identity',
      );
      assert.equal(await a.approvals.overrides.consumeOverride(call, 5_000), undefined, 'expired');
      const uses = await Promise.all(
        Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).approvals.overrides.consumeOverride(call, 1_800)),
      );
      assert.equal(uses.filter(Boolean).length, 1);
      assert.equal((await b.approvals.overrides.getOverride(id))?.consumedAt, 1_800);
      const again = await a.approvals.overrides.confirmOverride(id, 'console:zed', 1_900);
      assert.ok(!again.ok && again.reason === 'consumed');
      assert.deepEqual(
        (await b.approvals.overrides.listOverrides()).map((o) => o.id),
        [id],
      );
    });
  });
}
