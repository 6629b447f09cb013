/**
 * Held approvals as tasks through the real connector assembly: relay + enrolled connector started by
 * `startConnector` (test/e2e/airlock-stack.ts), its `/mcp` endpoint opened by `openAgentSide` with the
 * stage list the connector builds, the held-task fixture upstream (stdio, offering tasks) behind it,
 * and real 2025-11-25 SDK clients (`connectToTenant`) with client certificates of the tenant. A
 * supervisor decides through the connector's own approval queue (`connector.governance.approvals`,
 * what the console and `airlock approvals` use). These tests fail if the connector does not wire the
 * held-task stage or does not pass `approvals.maxHeldTasksPerIdentity` to it.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Client, specTypeSchemas } from '@modelcontextprotocol/client';
import { connectToTenant } from '../../src/agent/index.js';
import type { ApprovalQueue } from '../../src/approvals/approval-queue.js';
import { issueAgentIdentity } from '../../src/identity/tenant-pki.js';
import { type Stack, startStack } from '../e2e/airlock-stack.js';
import { testPolicy } from '../e2e/test-policy.js';
import { until, untilSettled } from '../fixtures/wait-until.js';
import { resultText } from '../mcp/relayed-agent-kit.js';
import {
  type AnnouncedTask,
  lookupAsTask,
  pendingApproval,
  SUPERVISOR,
  settledTask,
  taskRequest,
} from './held-task-rig.js';

const FIXTURE = new URL('./held-fixture-server.js', import.meta.url).pathname;
/** `approvals.maxHeldTasksPerIdentity` in the connector's config: low, so the cap is reached. */
const CAP = 2;
/** How long a task-augmented call may take to be answered while its approval is pending. */
const ANSWER_DEADLINE_MS = 20_000;
const AGENTS = ['agent-1', 'agent-2', 'agent-3'] as const;
type AgentName = (typeof AGENTS)[number];

let stack: Stack;
const clients = new Map<AgentName, Client>();

before(async () => {
  stack = await startStack({
    policy: testPolicy({ agents: [...AGENTS], tiers: { 'held.*': 'approve' } }),
    connector: { approvals: { maxHeldTasksPerIdentity: CAP } },
    upstreams: () => ({
      held: { command: process.execPath, args: [FIXTURE], env: {}, protocol: '2025-11-25' },
    }),
  });
  const acme = stack.tenant('acme');
  for (const name of AGENTS) {
    const who = name === 'agent-1' ? acme.agent : await issued(name);
    const client = await connectToTenant(
      acme.connection(who),
      { name, version: '1.0.0' },
      { client: { versionNegotiation: { mode: 'legacy' } } },
    );
    clients.set(name, client);
  }
  await until('the held upstream in the catalog', async () =>
    (await agent('agent-1').listTools()).tools.some((t) => t.name === 'held.lookup'),
  );
});

after(async () => {
  for (const client of clients.values()) await client.close().catch(() => {});
  await stack?.close();
});

/** A second (third) client certificate of the same tenant, issued by the running connector's PKI. */
async function issued(name: string): Promise<{ certPem: string; keyPem: string }> {
  const { connector } = stack.tenant('acme');
  const files = await issueAgentIdentity(
    connector.pki,
    connector.store,
    name,
    join(stack.dir, 'more-agents'),
  );
  return { certPem: await readFile(files.certFile, 'utf8'), keyPem: await readFile(files.keyFile, 'utf8') };
}

function agent(name: AgentName): Client {
  const client = clients.get(name);
  assert.ok(client, name);
  return client;
}

function queue(): ApprovalQueue {
  return stack.tenant('acme').connector.governance.approvals;
}

/**
 * A task-augmented call of `held.lookup` for `who`: its approval request, then the task it was
 * answered with — which must arrive while that request is still pending (the stage answers at once;
 * without it the call would be held open until the hold ends).
 */
async function heldAsTask(
  name: AgentName,
  who: string,
): Promise<{ task: AnnouncedTask; approvalId: string; argsHash: string }> {
  const call = lookupAsTask(agent(name), who);
  call.catch(() => {}); // awaited below; a refusal must not count as unhandled meanwhile
  const approval = await pendingApproval(queue(), name, who);
  const task = await untilSettled(`${who}: a task while its approval is pending`, call, ANSWER_DEADLINE_MS);
  assert.equal((await queue().get(approval.id))?.status, 'pending', 'answered before anyone decided');
  return { task, approvalId: approval.id, argsHash: approval.argsHash };
}

const refusedWith = (airlock: string, code: number) => (err: Error & { code?: number; data?: unknown }) =>
  err.code === code && (err.data as { airlock?: string } | undefined)?.airlock === airlock;

async function auditEntries(): Promise<Record<string, unknown>[]> {
  const rows = await stack.tenant('acme').connector.store.audit.listAuditEntries({ limit: 100_000 });
  return rows.map((r) => JSON.parse(r.entry) as Record<string, unknown>);
}

describe('held as a task through the connector: decided by a supervisor', () => {
  it('answers a working task, tasks/get polls it, approval completes it, tasks/result is the tool’s, audited', async () => {
    const a = agent('agent-1');
    const { task, approvalId, argsHash } = await heldAsTask('agent-1', 'approved-1');
    assert.equal(task.status, 'working');
    assert.ok(typeof task.ttl === 'number' && task.ttl > 0, `ttl ${task.ttl}`);
    const polled = await taskRequest(a, 'tasks/get', task.taskId);
    assert.equal(polled.status, 'working');
    assert.match(String(polled.statusMessage), new RegExp(approvalId));
    await queue().approve(approvalId, SUPERVISOR, 'known customer');
    const done = await settledTask(a, task.taskId);
    assert.equal(done.status, 'completed');
    const result = await taskRequest(a, 'tasks/result', task.taskId);
    assert.notEqual(result.isError, true, JSON.stringify(result));
    assert.match(resultText(result), /^customer approved-1: contact /);
    const meta = result._meta as Record<string, { taskId?: string }> | undefined;
    assert.equal(meta?.['io.modelcontextprotocol/related-task']?.taskId, task.taskId);
    const entry = await until('the audit entry of the approved call', async () =>
      (await auditEntries()).find(
        (e) =>
          e.kind === 'request' &&
          e.tool === 'held.lookup' &&
          (e.arguments as { sha256?: string } | null)?.sha256 === argsHash,
      ),
    );
    assert.equal(entry.decision, 'allow');
    const stages = (entry.stages ?? []) as { stage: string; code?: string }[];
    assert.equal(stages.find((d) => d.stage === 'tier')?.code, 'AIRLOCK_APPROVED');
  });

  it('a denial ends the task failed, with the refusal the agent can read', async () => {
    const a = agent('agent-1');
    const { task, approvalId } = await heldAsTask('agent-1', 'denied-1');
    await queue().deny(approvalId, SUPERVISOR, 'not this customer');
    const done = await settledTask(a, task.taskId);
    assert.equal(done.status, 'failed');
    assert.match(String(done.statusMessage), /not this customer/);
    const result = await taskRequest(a, 'tasks/result', task.taskId);
    assert.equal(result.isError, true);
    assert.match(resultText(result), /denied by console:sam: not this customer/);
  });

  it('tasks/cancel withdraws the approval request: the queue no longer lists it, the trail says so', async () => {
    const a = agent('agent-1');
    const { task, approvalId } = await heldAsTask('agent-1', 'cancelled-1');
    const cancelled = await taskRequest(a, 'tasks/cancel', task.taskId);
    assert.equal(cancelled.status, 'cancelled');
    const pending = await queue().pending();
    assert.ok(!pending.some((r) => r.id === approvalId), 'the withdrawn request is still listed');
    const record = await queue().get(approvalId);
    assert.equal(record?.status, 'denied');
    assert.match(String(record?.decidedBy), /^agent:/);
    const withdrawal = await until('the withdrawal in the audit trail', async () =>
      (await auditEntries()).find(
        (e) =>
          e.action === 'approval.deny' && (e.detail as { approvalId?: string })?.approvalId === approvalId,
      ),
    );
    assert.equal((withdrawal.detail as { withdrawn?: boolean }).withdrawn, true);
    assert.equal((await taskRequest(a, 'tasks/get', task.taskId)).status, 'cancelled');
  });
});

describe('held as a task through the connector: another identity, the cap', () => {
  it('another certificate of the tenant cannot get, wait on, cancel or list the task: it looks unknown', async () => {
    const owner = agent('agent-1');
    const attacker = agent('agent-2');
    const { task, approvalId } = await heldAsTask('agent-1', 'private-1');
    const never = '00000000-0000-4000-8000-000000000000';
    for (const method of ['tasks/get', 'tasks/result', 'tasks/cancel']) {
      const theirs = await refusal(taskRequest(attacker, method, task.taskId));
      const unknown = await refusal(taskRequest(attacker, method, never));
      assert.equal(theirs.code, -32602, method);
      assert.equal(theirs.airlock, 'AIRLOCK_TASK_UNKNOWN', method);
      assert.deepEqual(theirs, { ...unknown, message: unknown.message.replace(never, task.taskId) }, method);
    }
    const listed = (await attacker.request(
      { method: 'tasks/list', params: {} },
      specTypeSchemas.ListTasksResult,
    )) as {
      tasks?: { taskId: string }[];
    };
    assert.ok(!(listed.tasks ?? []).some((t) => t.taskId === task.taskId), 'agent-2 lists agent-1’s task');
    // Nothing the attacker did reached the task or its approval request.
    assert.equal((await taskRequest(owner, 'tasks/get', task.taskId)).status, 'working');
    assert.equal((await queue().get(approvalId))?.status, 'pending');
    assert.equal((await taskRequest(owner, 'tasks/cancel', task.taskId)).status, 'cancelled');
  });

  it(`enforces approvals.maxHeldTasksPerIdentity (${CAP}) before any approval request is written`, async () => {
    const c = agent('agent-3');
    const first = await heldAsTask('agent-3', 'capped-1');
    await heldAsTask('agent-3', 'capped-2');
    await assert.rejects(lookupAsTask(c, 'capped-3'), refusedWith('AIRLOCK_LIMIT_HELD_TASKS', -32004));
    const mine = (await queue().pending()).filter((r) => r.identity === 'agent-3');
    assert.equal(mine.length, CAP, 'the refused call asked a supervisor');
    // Another identity is not counted against agent-3's cap.
    const other = await heldAsTask('agent-1', 'uncapped-1');
    await taskRequest(agent('agent-1'), 'tasks/cancel', other.task.taskId);
    await taskRequest(c, 'tasks/cancel', first.task.taskId);
    const again = await heldAsTask('agent-3', 'capped-3');
    assert.equal(again.task.status, 'working', 'room again once one was cancelled');
  });
});

/** The JSON-RPC error a request was refused with. */
async function refusal(
  request: Promise<unknown>,
): Promise<{ code?: number; airlock?: string; message: string }> {
  try {
    await request;
  } catch (err) {
    const e = err as Error & { code?: number; data?: { airlock?: string } };
    return { code: e.code, airlock: e.data?.airlock, message: e.message };
  }
  assert.fail('the request was answered');
}
