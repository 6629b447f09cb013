/**
 * Store suite, every backend (tool catalog: pins, kill switch, events): the same assertions against a SQLite file and a PostgreSQL schema.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CatalogRepository } from '../../src/store/store.js';
import { describeOnEveryBackend } from './store-suite.js';

/** `erp.search`: first seen and pinned by TOFU, changed, approved by alice (the catalog log's start). */
async function pinChangeApprove(catalog: CatalogRepository): Promise<void> {
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

  assert.deepEqual(await catalog.approveTool('erp.search', { by: 'alice', at: 3_000, expectedHash: 'h9' }), {
    status: 'stale',
    observedHash: 'h2',
  });
  assert.deepEqual(await catalog.approveTool('nope', { by: 'alice', at: 3_000 }), { status: 'unknown' });
  const approved = await catalog.approveTool('erp.search', {
    by: 'alice',
    at: 3_000,
    expectedHash: 'h2',
  });
  assert.equal(approved.status, 'approved');
  assert.equal(approved.status === 'approved' && approved.record.approvedHash, 'h2');
  assert.equal(approved.status === 'approved' && approved.record.approvedDefinition, '{"h":"h2"}');
}

describeOnEveryBackend('tool catalog: pins, kill switch, events', ({ fresh }) => {
  test('tool catalog: observe (first sight, tofu pin, change), approve, kill switch, revision, events', async () => {
    const { store, reopen } = await fresh();
    const { catalog } = store;
    assert.equal(await catalog.catalogRevision(), 0);
    await pinChangeApprove(catalog);

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
});
