/**
 * The console's audit list shows the true decision of every entry: a refusal the pipeline answered
 * as a tool result (a denied or a pending approval) is `deny` / `pending`, not `allow` — for entries
 * written now (the audit stage records it) and for older entries that said `allow` (the stages tell).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateAuditKey } from '../../src/audit/audit-key.js';
import { AuditLedger } from '../../src/audit/audit-ledger.js';
import { searchAudit } from '../../src/console/audit-page.js';
import { recordDecision } from '../../src/gateway/decision-channel.js';
import type { GatewayContext } from '../../src/gateway/gateway-context.js';
import { auditStage } from '../../src/gateway/stages/audit-stage.js';
import { upstreamTiming } from '../../src/gateway/stages/upstream-timing-stage.js';
import { openStore } from '../../src/store/open-store.js';
import { requestEvent, TENANT } from './audit-fixture.js';

test('denied and pending approvals are shown as deny and pending', async () => {
  const store = await openStore({ url: 'sqlite::memory:' });
  const ledger = await AuditLedger.open({
    repository: store.audit,
    tenant: TENANT,
    key: generateAuditKey(),
    checkpointIntervalMs: 0,
  });
  try {
    // Two calls answered with a tool result by the tier stage (as src/gateway/stages/tier-stage.ts does).
    for (const code of ['AIRLOCK_APPROVAL_DENIED', 'AIRLOCK_APPROVAL_PENDING']) {
      const tierAnswers = auditStage({ ledger })(
        upstreamTiming()(async (ctx) => {
          recordDecision(ctx, { stage: 'tier', outcome: 'deny', code, reason: 'approval' });
          return { content: [{ type: 'text', text: code }], isError: true };
        }),
      );
      const ctx: GatewayContext = {
        identity: undefined,
        era: 'legacy',
        sessionId: undefined,
        method: 'tools/call',
        params: { name: 'erp.delete_invoice', arguments: {} },
        requestId: code,
        signal: new AbortController().signal,
        progressToken: undefined,
        sendProgress: async () => {},
        decisions: [],
        startedAt: Date.now(),
      };
      await tierAnswers(ctx);
    }
    // An entry of an older version: `allow` recorded, the tier stage's refusal in its stages.
    await ledger.append(
      requestEvent(9, {
        decision: 'allow',
        stages: [{ stage: 'tier', outcome: 'deny', code: 'AIRLOCK_APPROVAL_DENIED' }],
      }),
    );
    await ledger.append(requestEvent(10));
    const page = await searchAudit(store.audit, { kind: 'request' });
    assert.deepEqual(
      page.items.map((i) => i.outcome),
      ['allow', 'deny', 'pending', 'deny'],
    );
    const denied = await searchAudit(store.audit, { decision: 'pending' });
    assert.equal(denied.items.length, 1);
    assert.equal(denied.items[0]?.code, 'AIRLOCK_APPROVAL_PENDING');
  } finally {
    await ledger.close();
    await store.close();
  }
});
