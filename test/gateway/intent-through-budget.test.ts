/**
 * The write-ahead intent of a forwarded call is written through the product's stage order: audit
 * (outermost), budget (which hands the next stages its upstream-timeout view of the context), then the
 * upstream timing stage right before the upstream. The intent is durable before the terminal runs and
 * the outcome entry names it; params rewritten inside the view reach the audit entry's context.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuditEventInput } from '../../src/audit/audit-entry.js';
import { compose } from '../../src/gateway/compose.js';
import { auditStage } from '../../src/gateway/stages/audit-stage.js';
import { budget } from '../../src/gateway/stages/budget-stage.js';
import { upstreamTiming } from '../../src/gateway/stages/upstream-timing-stage.js';
import { parsePolicy } from '../../src/policy/policy-loader.js';
import { requestContext } from './request-context.js';

const POLICY = `
version: 1
identities:
  - name: claims-bot
    roles: [agent]
roles:
  agent:
    tools: ["erp.*"]
limits:
  rate: { perSecond: 1000, burst: 1000 }
`;

function recordingLedger() {
  const events: AuditEventInput[] = [];
  return {
    events,
    ledger: {
      available: true,
      probe: async () => true,
      append: async (event: AuditEventInput) => {
        events.push(event);
        return { seq: events.length };
      },
    },
  };
}

describe('write-ahead intent through the budget stage', () => {
  it('is durable before the upstream is called, and the outcome names it', async () => {
    const { events, ledger } = recordingLedger();
    const engine = parsePolicy(POLICY, 'policy.yaml').engine;
    let intentsAtCall = -1;
    const handler = compose(
      [auditStage({ ledger }), budget({ policy: () => engine }), upstreamTiming()],
      async (ctx) => {
        intentsAtCall = events.filter((e) => e.kind === 'intent').length;
        ctx.params = { ...ctx.params, rewritten: true };
        return { content: [{ type: 'text', text: 'ok' }] };
      },
    );
    const ctx = requestContext('tools/call', { name: 'erp.lookup', arguments: { id: 7 } });
    await handler(ctx);
    assert.equal(intentsAtCall, 1, 'the intent was written before the upstream call');
    assert.deepEqual(
      events.map((e) => e.kind),
      ['intent', 'request'],
    );
    const outcome = events[1] as { intentSeq: number | null; upstreamLatencyMs: number | null };
    assert.equal(outcome.intentSeq, 1);
    assert.equal(typeof outcome.upstreamLatencyMs, 'number');
    assert.equal(ctx.params.rewritten, true, 'a rewrite inside the timeout view reaches the outer context');
  });

  it('refuses the call when the intent cannot be written (fail closed), without calling the upstream', async () => {
    const engine = parsePolicy(POLICY, 'policy.yaml').engine;
    let called = false;
    const ledger = {
      available: true,
      probe: async () => true,
      append: async (event: AuditEventInput) => {
        if (event.kind === 'intent') throw new Error('disk full');
        return { seq: 1 };
      },
    };
    const handler = compose(
      [auditStage({ ledger }), budget({ policy: () => engine }), upstreamTiming()],
      async () => {
        called = true;
        return {};
      },
    );
    await assert.rejects(
      handler(requestContext('tools/call', { name: 'erp.lookup', arguments: {} })),
      (err: unknown) => {
        assert.equal((err as { airlockCode?: string }).airlockCode, 'AIRLOCK_AUDIT_UNAVAILABLE');
        return true;
      },
    );
    assert.equal(called, false);
  });
});
