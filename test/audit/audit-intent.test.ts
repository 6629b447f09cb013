/**
 * Write-ahead intent, with real processes on SQLite and PostgreSQL: a child process runs a tool call
 * through the audit stages whose upstream performs a side effect and hangs; it is killed with SIGKILL
 * right after the side effect. The store holds the call's durable `intent` entry (who, what, the
 * arguments' hash) and no outcome, and the trail verifies. A call whose intent cannot be written
 * never reaches the upstream (fail closed).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { access } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { AuditEntry } from '../../src/audit/audit-entry.js';
import { generateAuditKey, loadOrCreateAuditKey } from '../../src/audit/audit-key.js';
import { AuditLedger } from '../../src/audit/audit-ledger.js';
import { storedAuditEntries } from '../../src/audit/stored-trail.js';
import { WireError } from '../../src/errors/wire-error.js';
import { auditStage } from '../../src/gateway/stages/audit-stage.js';
import { upstreamTiming } from '../../src/gateway/stages/upstream-timing-stage.js';
import { sha256Canonical } from '../../src/json/canonical-hash.js';
import { until } from '../fixtures/wait-until.js';
import { requestContext } from '../gateway/request-context.js';
import { TENANT, verifyStored } from './audit-fixture.js';
import { type BackendSuite, describeOnEachBackend } from './backend-suite.js';

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'intent-crash-child.js');

describeOnEachBackend(
  (name) => `write-ahead intent (${name})`,
  'airlock-intent-',
  (suite) => {
    test('kill -9 during a slow side-effecting call leaves its durable intent entry', () =>
      killLeavesIntent(suite));

    test('a call whose intent cannot be written is refused and never reaches the upstream', () =>
      unwrittenIntentRefuses(suite));
  },
);

/** The crash child performs the side effect and hangs; after kill -9 the store holds its intent only. */
async function killLeavesIntent(suite: BackendSuite): Promise<void> {
  const { name, dir } = suite;
  const db = await suite.backend.fresh();
  const marker = join(dir, `${name}-side-effect`);
  const child = spawn(process.execPath, [CHILD, dir, marker, db.url, ...(db.schema ? [db.schema] : [])], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = once(child, 'exit');
  await until(
    'the side effect',
    () =>
      access(marker).then(
        () => true,
        () => false,
      ),
    15_000,
  );
  child.kill('SIGKILL');
  const [, signal] = await exited;
  assert.equal(signal, 'SIGKILL');
  const store = await db.open();
  try {
    const entries: AuditEntry[] = [];
    for await (const text of storedAuditEntries(store.audit)) entries.push(JSON.parse(text) as AuditEntry);
    const intent = entries.find((e) => e.kind === 'intent');
    assert.ok(intent && intent.kind === 'intent', 'the intent entry is in the store');
    assert.equal(intent.tool, 'erp.delete_invoice');
    assert.equal(intent.agent?.name, 'claims-bot');
    assert.equal(intent.decision, 'allow');
    assert.equal(intent.arguments?.sha256, sha256Canonical({ invoice: 'INV-4711' }));
    assert.ok(!JSON.stringify(intent).includes('INV-4711'), 'arguments are redacted');
    assert.equal(entries.filter((e) => e.kind === 'request').length, 0, 'no outcome was written');
    const report = await verifyStored(store.audit, await loadOrCreateAuditKey(dir));
    assert.equal(report.ok, true, JSON.stringify(report.firstProblem));
  } finally {
    await store.close();
  }
}

/** An audit ledger whose intent entries cannot be written (the disk is full); others go to `ledger`. */
function failingIntents(ledger: AuditLedger) {
  return {
    available: true,
    probe: async () => true,
    append: (event: Parameters<AuditLedger['append']>[0]) =>
      event.kind === 'intent' ? Promise.reject(new Error('disk full')) : ledger.append(event),
  };
}

/** Fail closed: no intent, no upstream call; a list call has no intent; a normal call writes both. */
async function unwrittenIntentRefuses(suite: BackendSuite): Promise<void> {
  const store = await (await suite.backend.fresh()).open();
  const ledger = await AuditLedger.open({
    repository: store.audit,
    tenant: TENANT,
    key: generateAuditKey(),
    checkpointIntervalMs: 0,
  });
  try {
    let upstreamCalls = 0;
    const handler = auditStage({ ledger: failingIntents(ledger) })(
      upstreamTiming()(async () => {
        upstreamCalls += 1;
        return { content: [] };
      }),
    );
    const ctx = requestContext(
      'tools/call',
      { name: 'erp.delete_invoice', arguments: { invoice: 'INV-1' } },
      { identity: undefined, era: 'legacy', requestId: 2 },
    );
    await assert.rejects(
      handler(ctx),
      (e: unknown) => e instanceof WireError && e.airlockCode === 'AIRLOCK_AUDIT_UNAVAILABLE',
    );
    assert.equal(upstreamCalls, 0);
    // A list call has no intent and goes through; a normal call writes intent, then outcome.
    const ok = auditStage({ ledger })(upstreamTiming()(async () => ({ content: [] })));
    await ok({ ...ctx, decisions: [] });
    const kinds: string[] = [];
    for await (const text of storedAuditEntries(store.audit))
      kinds.push((JSON.parse(text) as AuditEntry).kind);
    assert.deepEqual(kinds.slice(-3), ['request', 'intent', 'request']);
    const last = (await store.audit.auditHead())?.entry ?? '{}';
    assert.equal((JSON.parse(last) as { intentSeq: number }).intentSeq, kinds.length - 1);
  } finally {
    await ledger.close();
    await store.close();
  }
}
