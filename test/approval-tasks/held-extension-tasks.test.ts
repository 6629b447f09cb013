/**
 * Approvals as a protocol citizen for 2026-07-28 agents: a call held for a human approval, of an agent
 * that declared the tasks extension (SEP-2663), is answered at once with the gateway's own task
 * (`resultType: "task"`, `working`) that the agent polls with `tasks/get` until a person decides —
 * approved: the call runs and `tasks/get` carries its (redacted) result; denied: `failed` with the error.
 * The task is its owner's only; the upstream never sees the extension for a held call. Real approval
 * queue, audit ledger, PII vault, extension upstream over HTTP (test/mcp/tasks-ext-rig.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { until } from '../fixtures/wait-until.js';
import { resultOf, SUPERVISOR, startTasksExtRig, type TasksExtRig } from '../mcp/tasks-ext-rig.js';
import { pendingApproval } from './held-task-rig.js';

let rig: TasksExtRig;

before(async () => {
  rig = await startTasksExtRig();
});

after(async () => {
  await rig.close();
});

async function heldLookup(who: string): Promise<Record<string, unknown>> {
  const created = resultOf(await rig.send('alice', 'tools/call', { name: 'ext.lookup', arguments: { who } }));
  assert.equal(created.resultType, 'task');
  assert.equal(created.status, 'working');
  assert.equal(typeof created.ttlMs, 'number');
  assert.equal(typeof created.pollIntervalMs, 'number');
  return created;
}

function finished(taskId: string): Promise<Record<string, unknown>> {
  return until(`held task ${taskId} to finish`, async () => {
    const got = resultOf(await rig.send('alice', 'tasks/get', { taskId }));
    return got.status === 'working' ? undefined : got;
  });
}

describe('a held call as a tasks-extension task', () => {
  it('is polled with tasks/get until approved, then carries the redacted result', async () => {
    const calls = rig.upstream.callCapabilities.length;
    const task = await heldLookup('amy');
    const taskId = String(task.taskId);
    const polled = resultOf(await rig.send('alice', 'tasks/get', { taskId }));
    assert.equal(polled.status, 'working');
    assert.equal(polled.resultType, 'complete');
    assert.equal(
      rig.upstream.callCapabilities.length,
      calls,
      'nothing reached the upstream before a decision',
    );
    const approval = await pendingApproval(rig.queue, 'alice', 'amy');
    await rig.queue.approve(approval.id, SUPERVISOR, 'known customer');
    const done = await finished(taskId);
    assert.equal(done.status, 'completed');
    const text = JSON.stringify(done.result);
    assert.match(text, /amy: contact \[\[EMAIL:[0-9a-f]{8,}\]\]/);
    assert.doesNotMatch(text, /amy@example\.com/);
    const caps = rig.upstream.callCapabilities.at(-1) as { extensions?: Record<string, unknown> };
    assert.deepEqual(caps.extensions ?? {}, {}, 'the held call reached the upstream without the extension');
  });

  it('turns failed with an error when the person denies it', async () => {
    const task = await heldLookup('dan');
    const approval = await pendingApproval(rig.queue, 'alice', 'dan');
    await rig.queue.deny(approval.id, SUPERVISOR, 'not this customer');
    const done = await finished(String(task.taskId));
    assert.equal(done.status, 'failed');
    const error = done.error as { code: number; message: string };
    assert.equal(typeof error.code, 'number');
    assert.ok(error.message.length > 0);
    assert.equal(done.result, undefined);
  });

  it('is its owner’s only: another identity gets "unknown task" and cannot cancel it', async () => {
    const task = await heldLookup('eve');
    const taskId = String(task.taskId);
    for (const method of ['tasks/get', 'tasks/cancel', 'tasks/update']) {
      const stolen = await rig.send('bob', method, { taskId, inputResponses: {} });
      const error = stolen.message.error as { data?: { airlock?: string } };
      assert.equal(error?.data?.airlock, 'AIRLOCK_TASK_UNKNOWN', method);
    }
    assert.equal(resultOf(await rig.send('alice', 'tasks/get', { taskId })).status, 'working');
    assert.equal(resultOf(await rig.send('alice', 'tasks/cancel', { taskId })).resultType, 'complete');
    assert.equal(resultOf(await rig.send('alice', 'tasks/get', { taskId })).status, 'cancelled');
  });
});
