/**
 * Store suite, every backend (connector pair): member heartbeats, the audit trail's writer lock
 * (`appendAuditExclusive`: concurrent writers on two stores of one database never take the same seq)
 * and the signer lease (one holder; handed over when it is closed; always held on SQLite).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isStaleMember } from '../../src/store/member-repository.js';
import type { MemberRecord, Store } from '../../src/store/store.js';
import { describeOnEveryBackend } from './store-suite.js';

function member(id: string, updatedAt: number, overrides: Partial<MemberRecord> = {}): MemberRecord {
  return {
    id,
    version: '1.2.3',
    host: 'host-a',
    pid: 42,
    startedAt: 1000,
    updatedAt,
    tunnels: { up: 2, wanted: 2 },
    upstreams: [
      { name: 'erp', up: true },
      { name: 'crm', up: false },
    ],
    auditSigner: false,
    ready: true,
    ...overrides,
  };
}

/** Appends one entry on top of the head it reads inside the writer lock. */
function appendNext(store: Store, n: number) {
  return store.audit.appendAuditExclusive('acme', async (trail) => {
    const head = await trail.auditHead();
    const seq = (head?.seq ?? 0) + 1;
    // Give the other writer every chance to interleave between the read and the write.
    await new Promise((r) => setImmediate(r));
    const entry = { seq, time: n, hash: `h${seq}`, entry: JSON.stringify({ seq, n }) };
    return { batch: { entries: [entry], checkpoints: [] }, result: seq };
  });
}

describeOnEveryBackend('connector pair: members, writer lock, signer lease', ({ backend, fresh }) => {
  test('member heartbeats: put replaces, list by id, remove; stale after 15 s', async () => {
    const { store } = await fresh();
    await store.members.putMember(member('c-b', 5000));
    await store.members.putMember(member('c-a', 5000, { auditSigner: true }));
    await store.members.putMember(member('c-a', 9000, { auditSigner: true, tunnels: { up: 1, wanted: 2 } }));
    const listed = await store.members.listMembers();
    assert.deepEqual(
      listed.map((m) => [m.id, m.updatedAt, m.tunnels.up, m.auditSigner]),
      [
        ['c-a', 9000, 1, true],
        ['c-b', 5000, 2, false],
      ],
    );
    assert.deepEqual(await store.members.getMember('c-b'), member('c-b', 5000));
    assert.equal(isStaleMember(member('x', 5000), 20_000), false);
    assert.equal(isStaleMember(member('x', 5000), 20_001), true);
    assert.equal(await store.members.removeMember('c-b'), true);
    assert.equal(await store.members.removeMember('c-b'), false);
    assert.equal(await store.members.getMember('c-b'), undefined);
  });

  test('writer lock: two stores appending concurrently on top of what they read never collide', async () => {
    const { store, reopen } = await fresh();
    // SQLite: one process writes a file through one connection (better-sqlite3 is synchronous: a
    // second connection's BEGIN IMMEDIATE would block the very thread that must commit the first).
    const other = backend.name === 'postgres' ? await reopen() : store;
    const seqs = await Promise.all(
      Array.from({ length: 40 }, (_, i) => appendNext(i % 2 ? store : other, i)),
    );
    assert.deepEqual(
      [...seqs].sort((a, b) => a - b),
      Array.from({ length: 40 }, (_, i) => i + 1),
    );
    assert.equal((await store.audit.auditHead())?.seq, 40);
  });

  test('writer lock: a failing build rolls the whole batch back', async () => {
    const { store } = await fresh();
    await appendNext(store, 1);
    await assert.rejects(
      store.audit.appendAuditExclusive('acme', async () => {
        throw new Error('sealing failed');
      }),
      /sealing failed/,
    );
    assert.equal((await store.audit.auditHead())?.seq, 1);
    assert.equal(await appendNext(store, 2), 2, 'the lock was released');
  });

  test('signer lease: one holder per trail; the other gets it when the holder closes', async () => {
    const { store, reopen } = await fresh();
    const other = await reopen();
    const first = await store.audit.signerLease('acme');
    const second = await other.audit.signerLease('acme');
    const elsewhere = await other.audit.signerLease('globex');
    assert.equal(first.held, true);
    assert.equal(elsewhere.held, true, 'another trail has its own lease');
    if (backend.name === 'sqlite') {
      assert.equal(second.held, true, 'SQLite serves one process: its lease is always held');
    } else {
      assert.equal(second.held, false, 'PostgreSQL: one holder');
      const taken = new Promise<boolean>((resolve) => second.onChange(resolve));
      await first.close();
      assert.equal(await taken, true, 'handed over when the holder lets go');
      assert.equal(second.held, true);
    }
    await first.close();
    await second.close();
    await elsewhere.close();
    assert.equal(second.held, false);
  });
});
