/**
 * Two-person rules and break-glass overrides through the whole pipeline: real TLS, a real SDK client,
 * a real stdio upstream, the real approval queue on a SQLite file store with console accounts whose
 * roles are read from the store, and the real audit ledger.
 *
 * - A rule `approvers: { count: 2, roles: [admin] }` keeps the agent's call waiting after the first
 *   approval; the same admin approving twice, a supervisor, and a principal acting for the requester
 *   do not count; the second admin's approval completes the held call.
 * - An override of a `block` rule runs one exact call once, only after a second admin confirmed it:
 *   unconfirmed → blocked; self-confirmation and a supervisor refused; other arguments or another
 *   agent → blocked; the second identical call → blocked again; an expired override → blocked.
 */
import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ProtocolError } from '@modelcontextprotocol/client';
import { APPROVAL_ERROR_CODES, ApprovalError } from '../../src/approvals/approval-error.js';
import { type Approver, cliApprover } from '../../src/approvals/approval-principal.js';
import { ApprovalQueue } from '../../src/approvals/approval-queue.js';
import { DEFAULT_OVERRIDE_TTL_MS } from '../../src/approvals/block-overrides.js';
import { generateAuditKey } from '../../src/audit/audit-key.js';
import { AuditLedger } from '../../src/audit/audit-ledger.js';
import { DECISION_CHANNEL, type DecisionMessage } from '../../src/gateway/decision-channel.js';
import { authenticate } from '../../src/gateway/stages/authenticate-stage.js';
import { authorize } from '../../src/gateway/stages/authorize-stage.js';
import { budget } from '../../src/gateway/stages/budget-stage.js';
import { catalogStage } from '../../src/gateway/stages/catalog-stage.js';
import { tier } from '../../src/gateway/stages/tier-stage.js';
import { validate } from '../../src/gateway/stages/validate-stage.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import { eventually, type GatewayHarness, resultText, startGateway } from '../gateway/gateway-harness.js';

const POLICY = `
catalog: { mode: tofu }
identities: [{ name: ops-bot, roles: [agent] }, { name: other-bot, roles: [agent] }]
roles: { agent: { tools: ["gw.*"] } }
tools:
  - name: two-person-transfers
    match: gw.transfer
    tier: approve
    approvers: { count: 2, roles: [admin] }
  - name: no-deletes
    match: gw.delete_record
    tier: block
limits: { rate: { perSecond: 1000, burst: 1000 } }
`;

let dir: string;
let store: Store;
let ledger: AuditLedger;
let queue: ApprovalQueue;
let gateway: GatewayHarness;
/** Shifts the queue's clock (override expiry). */
const clock = { offsetMs: 0 };
let alice: Approver;
let bob: Approver;
let sam: Approver;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-two-person-'));
  store = await openStore({ url: `sqlite:${join(dir, 'connector.db')}` });
  for (const [name, role] of [
    ['alice', 'admin'],
    ['bob', 'admin'],
    ['sam', 'supervisor'],
  ] as const) {
    await store.adminAccounts.putAdminAccount({ name, passwordHash: 'scrypt$x', role, revealPii: false }, 1);
  }
  // The principals as the CLI makes them: the account and its role are read from the store.
  alice = await cliApprover(store.adminAccounts, 'alice');
  bob = await cliApprover(store.adminAccounts, 'bob');
  sam = await cliApprover(store.adminAccounts, 'sam');
  ledger = await AuditLedger.open({ repository: store.audit, tenant: 'acme', key: generateAuditKey() });
  queue = new ApprovalQueue({
    repository: store.approvals,
    holdMs: 30_000,
    pollIntervalMs: 50,
    progressIntervalMs: 100,
    sweepIntervalMs: 0,
    audit: ledger,
    now: () => Date.now() + clock.offsetMs,
  });
  gateway = await startGateway({
    policyYaml: POLICY,
    agents: ['ops-bot', 'other-bot'],
    stages: ({ policy, pinning, kit }) => [
      authenticate({ identities: kit.store.identities }),
      budget({ policy }),
      authorize({ policy }),
      catalogStage({ pinning }),
      validate({ policy, definitions: pinning }),
      tier({ policy, approvals: queue }),
    ],
  });
});

after(async () => {
  await gateway?.close();
  await queue?.close();
  await ledger?.close();
  await store?.close();
  await rm(dir, { recursive: true, force: true });
});

function refusedWith(code: string) {
  return (err: unknown) => {
    assert.ok(err instanceof ApprovalError, String(err));
    assert.equal(err.code, code);
    return true;
  };
}

function blocked(err: unknown): boolean {
  assert.ok(err instanceof ProtocolError, String(err));
  assert.equal((err.data as { airlock?: string }).airlock, 'AIRLOCK_TOOL_BLOCKED');
  return true;
}

async function auditActions(): Promise<Record<string, unknown>[]> {
  return (await store.audit.listAuditEntries()).map((r) => JSON.parse(r.entry) as Record<string, unknown>);
}

describe('two-person rule through the gateway', () => {
  it('the held call completes only with the second distinct admin; repeats, supervisors and the requester do not count', async () => {
    const client = await gateway.connect('ops-bot', 'modern');
    let progress = 0;
    let settled = false;
    const call = client
      .callTool(
        { name: 'gw.transfer', arguments: { amount: 5000, to: 'carol' } },
        { onprogress: () => progress++, timeout: 60_000 },
      )
      .finally(() => {
        settled = true;
      });
    const pending = await eventually('the pending request', async () =>
      (await queue.pending()).find((r) => r.tool === 'gw.transfer'),
    );
    assert.deepEqual(pending.quorum, { count: 2, roles: ['admin'] });

    const first = await queue.approve(pending.id, alice, 'first look');
    assert.equal(first.status, 'pending');
    assert.deepEqual(
      first.votes?.map((v) => [v.principal, v.role, v.decision]),
      [['console:alice', 'admin', 'approved']],
    );
    await assert.rejects(
      queue.approve(pending.id, alice, 'again'),
      refusedWith(APPROVAL_ERROR_CODES.alreadyVoted),
    );
    await assert.rejects(queue.approve(pending.id, sam), refusedWith(APPROVAL_ERROR_CODES.roleIneligible));
    const requester = `agent:${gateway.agents['ops-bot']?.spiffeId}`;
    await assert.rejects(
      queue.approve(pending.id, { ...bob, actsFor: [requester] }),
      refusedWith(APPROVAL_ERROR_CODES.selfApproval),
    );
    // The held call goes on waiting: two more progress notifications arrive and it has not completed.
    const seen = progress;
    await eventually('progress after the first approval', () => (progress >= seen + 2 ? true : undefined));
    assert.equal(settled, false, 'one approval of two must not release the call');
    assert.equal((await queue.get(pending.id))?.votes?.length, 1, 'refused votes are not recorded');

    const second = await queue.approve(pending.id, bob, 'agreed');
    assert.equal(second.status, 'approved');
    const result = await call;
    assert.equal(resultText(result), 'transferred 5000 to carol');
    const done = await queue.get(pending.id);
    assert.ok(done?.consumedAt, 'the approval was used by the call');
    assert.deepEqual(
      done?.votes?.map((v) => v.principal),
      ['console:alice', 'console:bob'],
    );
    const entries = await auditActions();
    const vote = entries.find((e) => e.action === 'approval.vote');
    assert.equal(vote?.actor, 'console:alice');
    const grant = entries.find(
      (e) => e.action === 'approval.grant' && (e.detail as { approvalId?: string }).approvalId === pending.id,
    );
    assert.deepEqual((grant?.detail as { approvers?: string[] } | undefined)?.approvers, [
      'console:alice',
      'console:bob',
    ]);
  });

  it('a denial by one eligible admin denies at once', async () => {
    const client = await gateway.connect('ops-bot', 'legacy');
    const call = client.callTool({ name: 'gw.transfer', arguments: { amount: 9000, to: 'mallory' } });
    const pending = await eventually('the pending request', async () =>
      (await queue.pending()).find((r) => r.arguments.includes('mallory')),
    );
    await queue.approve(pending.id, alice);
    await queue.deny(pending.id, bob, 'not a known payee');
    const result = await call;
    assert.equal(result.isError, true);
    assert.match(resultText(result), /denied by console:bob: not a known payee/);
  });
});

describe('break-glass override of a block rule through the gateway', () => {
  it('runs one exact call once, only after a second admin confirmed it', async () => {
    const client = await gateway.connect('ops-bot', 'modern');
    const other = await gateway.connect('other-bot', 'modern');
    const decisions: DecisionMessage[] = [];
    const onDecision = (m: unknown) => decisions.push(m as DecisionMessage);
    diagnosticsChannel.subscribe(DECISION_CHANNEL, onDecision);
    try {
      const del = (c: typeof client, id: string) =>
        c.callTool({ name: 'gw.delete_record', arguments: { id } });
      await assert.rejects(del(client, 'r-1'), blocked);

      const input = {
        identity: 'ops-bot',
        tool: 'gw.delete_record',
        arguments: { id: 'r-1' },
        reason: 'INC-42',
      };
      await assert.rejects(
        queue.overrides.request(input, sam),
        refusedWith(APPROVAL_ERROR_CODES.overrideNotAdmin),
      );
      const o = await queue.overrides.request(input, alice);
      assert.equal(o.confirmedBy, null);
      assert.equal(o.expiresAt - o.requestedAt, DEFAULT_OVERRIDE_TTL_MS);
      await assert.rejects(del(client, 'r-1'), blocked, 'an unconfirmed override does not run');
      await assert.rejects(
        queue.overrides.confirm(o.id, alice),
        refusedWith(APPROVAL_ERROR_CODES.overrideSelfConfirm),
      );
      await assert.rejects(
        queue.overrides.confirm(o.id, sam),
        refusedWith(APPROVAL_ERROR_CODES.overrideNotAdmin),
      );
      await assert.rejects(del(client, 'r-1'), blocked);

      const confirmed = await queue.overrides.confirm(o.id, bob, 'checked the ticket');
      assert.equal(confirmed.confirmedBy, 'console:bob');
      await assert.rejects(
        queue.overrides.confirm(o.id, bob),
        refusedWith(APPROVAL_ERROR_CODES.overrideDecided),
      );
      await assert.rejects(del(client, 'r-2'), blocked, 'other arguments stay blocked');
      await assert.rejects(del(other, 'r-1'), blocked, 'another agent stays blocked');

      assert.equal(resultText(await del(client, 'r-1')), 'deleted r-1');
      await assert.rejects(del(client, 'r-1'), blocked, 'the override is used up');

      const used = decisions.find((d) => d.decision.code === 'AIRLOCK_OVERRIDE_USED');
      assert.equal(used?.decision.outcome, 'allow');
      assert.equal((used?.decision.detail as { overrideId?: string } | undefined)?.overrideId, o.id);
      assert.equal(decisions.filter((d) => d.decision.code === 'AIRLOCK_OVERRIDE_USED').length, 1);
      assert.ok((await queue.overrides.get(o.id))?.consumedAt);
      const steps = (await auditActions()).filter((e) => String(e.action).startsWith('approval.override.'));
      assert.deepEqual(
        steps.map((e) => [e.action, e.actor]),
        [
          ['approval.override.request', 'console:alice'],
          ['approval.override.confirm', 'console:bob'],
          ['approval.override.use', `agent:${gateway.agents['ops-bot']?.spiffeId}`],
        ],
      );
    } finally {
      diagnosticsChannel.unsubscribe(DECISION_CHANNEL, onDecision);
    }
  });
});

describe('break-glass override of a block rule through the gateway: expiry', () => {
  it('an expired override does not run', async () => {
    const client = await gateway.connect('ops-bot', 'legacy');
    const input = {
      identity: 'ops-bot',
      tool: 'gw.delete_record',
      arguments: { id: 'r-9' },
      reason: 'INC-43',
    };
    const o = await queue.overrides.request(input, alice);
    await queue.overrides.confirm(o.id, bob);
    clock.offsetMs = DEFAULT_OVERRIDE_TTL_MS + 1;
    try {
      await assert.rejects(client.callTool({ name: 'gw.delete_record', arguments: { id: 'r-9' } }), blocked);
      const late = await queue.overrides.request({ ...input, arguments: { id: 'r-10' } }, alice);
      clock.offsetMs += DEFAULT_OVERRIDE_TTL_MS + 1;
      await assert.rejects(
        queue.overrides.confirm(late.id, bob),
        refusedWith(APPROVAL_ERROR_CODES.overrideExpired),
      );
    } finally {
      clock.offsetMs = 0;
    }
    assert.equal((await queue.overrides.get(o.id))?.consumedAt, null);
  });
});
