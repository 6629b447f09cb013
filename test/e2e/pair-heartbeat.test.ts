/**
 * The member heartbeat of a connector pair (src/connector/pair/member-heartbeat.ts) on a real store:
 * the first beat is written before start resolves, a change of signer or tunnel state is written within
 * the change check (not only every interval), a stopped member's row goes stale, and `stop` ends it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ReadinessReport } from '../../src/connector/health/connector-readiness.js';
import { isStaleMember, startMemberHeartbeat } from '../../src/connector/pair/member-heartbeat.js';
import type { ConnectorStatus } from '../../src/console/connector-status.js';
import { openStore } from '../../src/store/open-store.js';
import { within } from './pair-stack.js';

test('heartbeat: written at start, rewritten at once on a change, stale after it stops', async () => {
  const store = await openStore({ url: 'sqlite::memory:' });
  let signer = false;
  const tunnels = [
    { slot: 0, state: 'up', transport: 'tls' },
    { slot: 1, state: 'connecting', transport: 'tls' },
  ];
  const status = (): ConnectorStatus => ({
    tenant: 'acme',
    tenantHost: 'acme.localhost',
    tunnels,
    upstreams: [
      { name: 'erp', state: 'ready', restarts: 0 },
      { name: 'crm', state: 'starting', restarts: 1 },
    ],
  });
  const heartbeat = await startMemberHeartbeat({
    store,
    id: 'c-1',
    status,
    readiness: async () => ({ ready: true }) as ReadinessReport,
    auditSigner: () => signer,
    intervalMs: 60_000, // only the change check may write the second beat
    changeCheckMs: 50,
  });
  try {
    const first = await store.members.getMember('c-1');
    assert.equal(first?.pid, process.pid);
    assert.deepEqual(first?.tunnels, { up: 1, wanted: 2 });
    assert.deepEqual(first?.upstreams, [
      { name: 'erp', up: true },
      { name: 'crm', up: false },
    ]);
    assert.equal(first?.auditSigner, false);
    assert.match(first?.version ?? '', /^\d+\.\d+\.\d+/);
    signer = true;
    tunnels[1] = { slot: 1, state: 'up', transport: 'tls' };
    const second = await within(5_000, 'the change is written', async () => {
      const m = await store.members.getMember('c-1');
      return m?.auditSigner && m.tunnels.up === 2 ? m : undefined;
    });
    assert.equal(isStaleMember(second, second.updatedAt + 15_000), false);
    assert.equal(isStaleMember(second, second.updatedAt + 15_001), true);
  } finally {
    await heartbeat.stop();
    await store.close();
  }
});
