/**
 * Approvals as a protocol citizen: a 2025-11-25 agent's task-augmented call that needs a human approval
 * is answered at once with a task, which a supervisor's decision (through the real approval queue)
 * completes, fails or which the agent cancels — over real TLS with real SDK clients, the real pipeline
 * (audit, pii, tier) and a real stdio upstream (held-task-rig.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { specTypeSchemas } from '@modelcontextprotocol/client';
import { APPROVAL_ERROR_CODES, ApprovalError } from '../../src/approvals/approval-error.js';
import { until } from '../fixtures/wait-until.js';
import { resultText } from '../mcp/relayed-agent-kit.js';
import {
  type HeldTaskRig,
  lookupAsTask,
  pendingApproval,
  SUPERVISOR,
  settledTask,
  startHeldTaskRig,
  taskRequest,
} from './held-task-rig.js';

let rig: HeldTaskRig;
const listSchema = specTypeSchemas.ListTasksResult;

before(async () => {
  rig = await startHeldTaskRig();
});

after(async () => {
  await rig?.close();
});

const refusedWith = (airlock: string, code: number) => (err: Error & { code?: number; data?: unknown }) =>
  err.code === code && (err.data as { airlock?: string } | undefined)?.airlock === airlock;

async function auditedLookups(): Promise<Record<string, unknown>[]> {
  const rows = await rig.kit.store.audit.listAuditEntries({ limit: 100_000 });
  return rows
    .map((r) => JSON.parse(r.entry) as Record<string, unknown>)
    .filter((e) => e.kind === 'request' && e.tool === 'held.lookup');
}

describe('a held call as a task: approved', () => {
  it('answers at once with a working task, completes once approved, and tasks/result is tokenized and audited', async () => {
    const a = await rig.agent('alice');
    const statuses: string[] = [];
    a.client.fallbackNotificationHandler = async (n) => {
      if (n.method === 'notifications/tasks/status') statuses.push(String(n.params?.status));
    };
    const task = await lookupAsTask(a.client, 'approved-alice');
    assert.equal(task.status, 'working');
    assert.ok(
      typeof task.ttl === 'number' && task.ttl > 0 && task.ttl <= rig.queue.holdMs,
      `ttl ${task.ttl}`,
    );
    assert.ok((task.pollInterval ?? 0) > 0);
    const approval = await pendingApproval(rig.queue, 'alice', 'approved-alice');
    const polled = await taskRequest(a.client, 'tasks/get', task.taskId);
    assert.equal(polled.status, 'working');
    assert.match(String(polled.statusMessage), new RegExp(approval.id));
    await rig.queue.approve(approval.id, SUPERVISOR, 'known customer');
    const done = await settledTask(a.client, task.taskId);
    assert.equal(done.status, 'completed');
    const result = await taskRequest(a.client, 'tasks/result', task.taskId);
    const token = await rig.vault.tokenize('EMAIL', 'approved-alice@example.com');
    assert.equal(resultText(result), `customer approved-alice: contact ${token}`);
    const meta = result._meta as Record<string, { taskId?: string }> | undefined;
    assert.equal(meta?.['io.modelcontextprotocol/related-task']?.taskId, task.taskId);
    // One audit entry for the call, written when it finished: approved, the result redacted.
    const entry = (await auditedLookups()).find(
      (e) => (e.arguments as { sha256?: string } | null)?.sha256 === approval.argsHash,
    );
    assert.equal(entry?.decision, 'allow');
    const tier = ((entry?.stages ?? []) as { stage: string; code?: string }[]).find(
      (d) => d.stage === 'tier',
    );
    assert.equal(tier?.code, 'AIRLOCK_APPROVED');
    assert.ok(!JSON.stringify(entry).includes('approved-alice@example.com'), 'raw e-mail in the audit entry');
    await until('notifications/tasks/status completed', () => statuses.includes('completed'));
  });

  it('a call without `task` is held open as before and answers the tool result', async () => {
    const a = await rig.agent('alice');
    const call = a.client.callTool(
      { name: 'held.lookup', arguments: { who: 'plain-alice' } },
      { timeout: 60_000 },
    );
    const approval = await pendingApproval(rig.queue, 'alice', 'plain-alice');
    await rig.queue.approve(approval.id, SUPERVISOR, 'fine');
    const token = await rig.vault.tokenize('EMAIL', 'plain-alice@example.com');
    assert.equal(resultText(await call), `customer plain-alice: contact ${token}`);
  });
});

describe('a held call kept open: the upstream requires a task', () => {
  it('is held until approved, then answers the upstream’s own task', async () => {
    const a = await rig.agent('alice');
    const params = { name: 'held.export', arguments: { who: 'export-alice' }, task: { ttl: 60_000 } };
    const call = a.client.request({ method: 'tools/call', params }, specTypeSchemas.CreateTaskResult, {
      timeout: 60_000,
    }) as Promise<{ task: { taskId: string } }>;
    const approval = await until('the export approval', async () =>
      (await rig.queue.pending()).find((r) => r.tool === 'held.export'),
    );
    await rig.queue.approve(approval.id, SUPERVISOR, 'fine');
    const { task } = await call;
    await settledTask(a.client, task.taskId);
    assert.equal(
      resultText(await taskRequest(a.client, 'tasks/result', task.taskId)),
      'exported export-alice',
    );
  });
});

describe('a held call as a task: denied or cancelled', () => {
  it('a denial ends the task failed with the reason; tasks/result is the tool error', async () => {
    const a = await rig.agent('alice');
    const task = await lookupAsTask(a.client, 'denied-alice');
    const approval = await pendingApproval(rig.queue, 'alice', 'denied-alice');
    await rig.queue.deny(approval.id, SUPERVISOR, 'not this customer');
    const done = await settledTask(a.client, task.taskId);
    assert.equal(done.status, 'failed');
    assert.match(String(done.statusMessage), /not this customer/);
    const result = await taskRequest(a.client, 'tasks/result', task.taskId);
    assert.equal(result.isError, true);
    assert.match(resultText(result), /denied by console:sam: not this customer/);
  });

  it('tasks/cancel withdraws the pending approval: no supervisor can approve it any more', async () => {
    const a = await rig.agent('alice');
    const task = await lookupAsTask(a.client, 'cancelled-alice');
    const approval = await pendingApproval(rig.queue, 'alice', 'cancelled-alice');
    const cancelled = await taskRequest(a.client, 'tasks/cancel', task.taskId);
    assert.equal(cancelled.status, 'cancelled');
    const withdrawn = await rig.queue.get(approval.id);
    assert.equal(withdrawn?.status, 'denied');
    assert.match(String(withdrawn?.decidedBy), /^agent:/);
    await assert.rejects(
      rig.queue.approve(approval.id, SUPERVISOR, 'too late'),
      (err) => err instanceof ApprovalError && err.code === APPROVAL_ERROR_CODES.decided,
    );
    assert.equal((await taskRequest(a.client, 'tasks/get', task.taskId)).status, 'cancelled');
    await assert.rejects(
      taskRequest(a.client, 'tasks/cancel', task.taskId),
      refusedWith('AIRLOCK_TASK_FINISHED', -32602),
    );
    await assert.rejects(
      taskRequest(a.client, 'tasks/result', task.taskId),
      refusedWith('AIRLOCK_TASK_CANCELLED', -32602),
    );
  });
});

describe('a held call as a task: other identities and the cap', () => {
  it('another identity can neither read, wait on, cancel nor list it', async () => {
    const a = await rig.agent('alice');
    const b = await rig.agent('bob');
    const task = await lookupAsTask(a.client, 'private-alice');
    await pendingApproval(rig.queue, 'alice', 'private-alice');
    for (const method of ['tasks/get', 'tasks/result', 'tasks/cancel'])
      await assert.rejects(
        taskRequest(b.client, method, task.taskId),
        refusedWith('AIRLOCK_TASK_UNKNOWN', -32602),
        method,
      );
    const listed = async (client: typeof a.client) =>
      (
        (await client.request({ method: 'tasks/list', params: {} }, listSchema)) as {
          tasks: { taskId: string }[];
        }
      ).tasks;
    assert.ok(!(await listed(b.client)).some((t) => t.taskId === task.taskId), 'bob lists alice’s task');
    assert.ok(
      (await listed(a.client)).some((t) => t.taskId === task.taskId),
      'alice lists her task',
    );
    assert.equal((await taskRequest(a.client, 'tasks/get', task.taskId)).status, 'working');
    assert.equal((await taskRequest(a.client, 'tasks/cancel', task.taskId)).status, 'cancelled');
  });

  it('refuses more held tasks than the cap, before any approval request is written', async () => {
    const c = await rig.agent('carol');
    const first = await lookupAsTask(c.client, 'carol-1');
    await lookupAsTask(c.client, 'carol-2');
    await pendingApproval(rig.queue, 'carol', 'carol-2');
    await assert.rejects(lookupAsTask(c.client, 'carol-3'), refusedWith('AIRLOCK_LIMIT_HELD_TASKS', -32004));
    const carols = (await rig.queue.pending()).filter((r) => r.identity === 'carol');
    assert.equal(carols.length, 2, 'the refused call asked no one');
    await taskRequest(c.client, 'tasks/cancel', first.taskId);
    const again = await lookupAsTask(c.client, 'carol-3');
    assert.equal(again.status, 'working', 'room again once one was cancelled');
  });
});

describe('a held call as a task: no decision within the hold', () => {
  let short: HeldTaskRig;
  before(async () => {
    short = await startHeldTaskRig({ holdMs: 1_500 });
  });
  after(async () => {
    await short?.close();
  });

  it('an agent’s shorter ttl bounds the wait: the task fails when it runs out', async () => {
    const a = await rig.agent('bob');
    const task = await lookupAsTask(a.client, 'brief-bob', 400);
    assert.equal(task.ttl, 400);
    const done = await settledTask(a.client, task.taskId);
    assert.equal(done.status, 'failed');
    assert.match(String(done.statusMessage), /waiting for a human approval/);
  });

  it('fails with the pending answer; the request stays for a retry, which runs once approved', async () => {
    const a = await short.agent('alice');
    const task = await lookupAsTask(a.client, 'slow-alice');
    assert.ok(task.ttl !== null && task.ttl <= 1_500, `ttl ${task.ttl}`);
    const done = await settledTask(a.client, task.taskId);
    assert.equal(done.status, 'failed');
    assert.match(String(done.statusMessage), /waiting for a human approval/);
    const approval = await pendingApproval(short.queue, 'alice', 'slow-alice');
    await short.queue.approve(approval.id, SUPERVISOR, 'later, but fine');
    const retried = await a.client.callTool({ name: 'held.lookup', arguments: { who: 'slow-alice' } });
    const token = await short.vault.tokenize('EMAIL', 'slow-alice@example.com');
    assert.equal(resultText(retried), `customer slow-alice: contact ${token}`);
  });
});
