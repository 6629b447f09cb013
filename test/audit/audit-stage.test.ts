/**
 * The audit stage in a real gateway pipeline (compose + the authenticate stage + upstream timing):
 * one entry per request, written before the answer returns; refusals are recorded; when the audit
 * store cannot write, the call is refused with -32603 AIRLOCK_AUDIT_UNAVAILABLE.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AuditEntry } from '../../src/audit/audit-entry.js';
import { generateAuditKey } from '../../src/audit/audit-key.js';
import { AuditLedger } from '../../src/audit/audit-ledger.js';
import { storedAuditEntries } from '../../src/audit/stored-trail.js';
import { WireError } from '../../src/errors/wire-error.js';
import { compose } from '../../src/gateway/compose.js';
import type { GatewayContext, GatewayIdentity, Handler } from '../../src/gateway/gateway-context.js';
import { auditStage } from '../../src/gateway/stages/audit-stage.js';
import { authenticate } from '../../src/gateway/stages/authenticate-stage.js';
import { upstreamTiming } from '../../src/gateway/stages/upstream-timing-stage.js';
import { sha256Canonical } from '../../src/json/canonical-hash.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import { TENANT, verifyStored } from './audit-fixture.js';

const AGENT: GatewayIdentity = {
  name: 'claims-bot',
  spiffeId: 'spiffe://acme.airlock/agent/claims-bot',
  certSerial: 'abc123',
  authenticatedBy: 'mtls',
};

function context(over: Partial<GatewayContext> & { params: Record<string, unknown> }): GatewayContext {
  return {
    identity: AGENT,
    era: 'legacy',
    sessionId: 'session-1',
    method: 'tools/call',
    requestId: 7,
    signal: new AbortController().signal,
    progressToken: undefined,
    sendProgress: async () => {},
    decisions: [],
    startedAt: Date.now(),
    ...over,
  };
}

async function entries(store: Store): Promise<AuditEntry[]> {
  const out: AuditEntry[] = [];
  for await (const text of storedAuditEntries(store.audit)) out.push(JSON.parse(text) as AuditEntry);
  return out;
}

let store: Store;
const key = generateAuditKey();

before(async () => {
  store = await openStore({ url: 'sqlite::memory:' });
  await store.identities.addIdentity({
    name: AGENT.name,
    spiffeId: AGENT.spiffeId,
    certSerial: AGENT.certSerial,
    certFingerprint: 'f'.repeat(64),
    notAfter: Date.now() + 3_600_000,
    createdAt: Date.now(),
  });
});
after(async () => {
  await store.close();
});

/**
 * The audit stage, authenticate and upstream timing in front of an upstream that answers an invoice;
 * `headWhenUpstreamAnswered()` is the ledger's head seq at the moment the upstream answered last.
 */
function auditedPipeline(ledger: AuditLedger): { handler: Handler; headWhenUpstreamAnswered: () => number } {
  let head = -1;
  const terminal: Handler = async (ctx) => {
    head = ledger.head.seq;
    if (ctx.method === 'tools/list') return { tools: [] };
    return {
      content: [
        { type: 'text', text: `invoice ${String((ctx.params.arguments as { id: string }).id)}: 120 EUR` },
      ],
    };
  };
  const handler = compose(
    [auditStage({ ledger }), authenticate({ identities: store.identities }), upstreamTiming()],
    terminal,
  );
  return { handler, headWhenUpstreamAnswered: () => head };
}

/** The allowed call's entry: who, what, redacted arguments, hashes, timings; no raw values. */
function assertAllowedEntry(allowed: AuditEntry, args: Record<string, unknown>, result: unknown): void {
  assert.equal(allowed.kind, 'request');
  if (allowed.kind !== 'request') return;
  assert.equal(allowed.decision, 'allow');
  assert.equal(allowed.method, 'tools/call');
  assert.equal(allowed.tool, 'erp.lookup_invoice');
  assert.equal(allowed.agent?.name, 'claims-bot');
  assert.equal(allowed.session, 'session-1');
  assert.equal(allowed.requestId, 7);
  assert.deepEqual(allowed.arguments?.redacted, { id: '[string:13]', customer: '[string:12]' });
  assert.equal(allowed.arguments?.sha256, sha256Canonical(args));
  assert.equal(allowed.result?.sha256, sha256Canonical(result));
  assert.ok(!JSON.stringify(allowed).includes('Ada Lovelace'), 'raw arguments never reach the trail');
  assert.ok(!JSON.stringify(allowed).includes('120 EUR'), 'raw results never reach the trail');
  assert.equal(typeof allowed.upstreamLatencyMs, 'number');
  assert.ok(allowed.durationMs >= 0);
  assert.ok(allowed.requestBytes > 0 && allowed.responseBytes > 0);
  assert.deepEqual(allowed.stages, [{ stage: 'authenticate', outcome: 'allow' }]);
}

describe('audit stage', () => {
  test('records allowed and refused requests, redacted, before answering', async () => {
    const ledger = await AuditLedger.open({
      repository: store.audit,
      tenant: TENANT,
      key,
      checkpointIntervalMs: 0,
    });
    const { handler, headWhenUpstreamAnswered } = auditedPipeline(ledger);

    const args = { id: 'INV-2024-0042', customer: 'Ada Lovelace' };
    const result = await handler(context({ params: { name: 'erp.lookup_invoice', arguments: args } }));
    const allowed = (await entries(store)).at(-1);
    assert.ok(allowed);
    // The entry was durable before the handler returned, and was not there while the upstream ran.
    assert.equal(allowed.seq, headWhenUpstreamAnswered() + 1);
    assertAllowedEntry(allowed, args, result);

    // An unknown identity is refused by authenticate; the refusal is audited too.
    const stranger = { ...AGENT, name: 'intruder', certSerial: 'ffff' };
    await assert.rejects(
      handler(
        context({ identity: stranger, params: { name: 'erp.delete_invoice', arguments: { id: 'x' } } }),
      ),
      (e: unknown) => e instanceof WireError && e.airlockCode === 'AIRLOCK_IDENTITY_UNKNOWN',
    );
    const denied = (await entries(store)).at(-1);
    assert.ok(denied && denied.kind === 'request');
    if (denied.kind !== 'request') return;
    assert.equal(denied.decision, 'deny');
    assert.equal(denied.code, 'AIRLOCK_IDENTITY_UNKNOWN');
    assert.equal(denied.tool, 'erp.delete_invoice');
    assert.equal(denied.upstreamLatencyMs, null);
    assert.equal(denied.error?.code, -32001);
    assert.equal(denied.result, null);

    // A non-tool method.
    await handler(context({ method: 'tools/list', params: {} }));
    const listed = (await entries(store)).at(-1);
    assert.ok(listed && listed.kind === 'request' && listed.method === 'tools/list' && listed.tool === null);

    await ledger.close();
    const report = await verifyStored(store.audit, key);
    assert.equal(report.ok, true, JSON.stringify(report.firstProblem));
  });
});

describe('audit stage: fail closed', () => {
  test('fails closed: no audit store, no answer (-32603 AIRLOCK_AUDIT_UNAVAILABLE)', async () => {
    const own = await openStore({ url: 'sqlite::memory:' });
    const ledger = await AuditLedger.open({
      repository: own.audit,
      tenant: TENANT,
      key,
      checkpointIntervalMs: 0,
    });
    let upstreamCalls = 0;
    const handler = compose([auditStage({ ledger })], async () => {
      upstreamCalls += 1;
      return { content: [] };
    });
    await handler(context({ params: { name: 'erp.ping', arguments: {} } }));
    assert.equal(upstreamCalls, 1);

    await own.close(); // the audit store goes away
    const refused = (e: unknown) => {
      assert.ok(e instanceof WireError);
      assert.equal(e.rpcCode, -32603);
      assert.equal(e.airlockCode, 'AIRLOCK_AUDIT_UNAVAILABLE');
      assert.equal(e.toJSON().data?.airlock, 'AIRLOCK_AUDIT_UNAVAILABLE');
      return true;
    };
    // The first call reaches the upstream, but its answer is withheld because the entry cannot be written.
    await assert.rejects(handler(context({ params: { name: 'erp.ping', arguments: {} } })), refused);
    assert.equal(upstreamCalls, 2);
    // Now the ledger knows its store is down: calls are refused before reaching the upstream.
    await assert.rejects(handler(context({ params: { name: 'erp.ping', arguments: {} } })), refused);
    assert.equal(upstreamCalls, 2);
    await ledger.close();
  });
});
