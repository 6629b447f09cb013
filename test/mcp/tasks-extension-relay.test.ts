/**
 * The 2026-07-28 tasks extension (SEP-2663) through the gateway, end to end over real HTTP: a real
 * extension upstream (tasks-ext-fixture-server.ts: SDK v2 server, task methods at its HTTP entry), the
 * connector's agent endpoint with the full pipeline (tasks-ext-rig.ts), raw 2026-07-28 agents. A call of
 * an agent that declared the extension returns the upstream's task, polled to completion with its
 * result redacted; the task is reachable by its owner only; the binding's `Mcp-Name` is enforced;
 * `tasks/update` and `tasks/cancel` reach the upstream that holds the task; an agent that did not declare
 * the extension never gets a task.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { until } from '../fixtures/wait-until.js';
import { TASKS_EXTENSION } from './tasks-ext-fixture-server.js';
import { type AgentName, resultOf, startTasksExtRig, type TasksExtRig } from './tasks-ext-rig.js';

const TOKEN = /\[\[EMAIL:[0-9a-f]{8,}\]\]/;

let rig: TasksExtRig;

async function startTask(agent: AgentName, tool: string, args: Record<string, unknown>): Promise<string> {
  const created = resultOf(await rig.send(agent, 'tools/call', { name: tool, arguments: args }));
  assert.equal(created.resultType, 'task');
  assert.equal(typeof created.taskId, 'string');
  return created.taskId as string;
}

function settled(agent: AgentName, taskId: string, want: string): Promise<Record<string, unknown>> {
  return until(`task ${taskId} ${want}`, async () => {
    const got = resultOf(await rig.send(agent, 'tasks/get', { taskId }));
    return got.status === want ? got : undefined;
  });
}

// The upstream leg both ways: posted directly (upstream-direct-call.ts, the default) and by the SDK client.
for (const upstreamDirectCalls of [true, false]) {
  const leg = upstreamDirectCalls
    ? 'upstream calls posted directly'
    : 'upstream calls through the SDK client';

  describe(`the 2026-07-28 tasks extension relayed to a modern upstream (${leg})`, () => {
    before(async () => {
      rig = await startTasksExtRig(upstreamDirectCalls);
    });
    after(() => rig.close());

    it('is advertised to 2026-07-28 agents when an upstream offers it', async () => {
      const discover = resultOf(await rig.send('alice', 'server/discover', {}));
      const caps = discover.capabilities as { extensions?: Record<string, unknown> };
      assert.deepEqual(caps.extensions?.[TASKS_EXTENSION], {});
    });

    it('returns the upstream task and serves tasks/get until completed, the result redacted', async () => {
      const taskId = await startTask('alice', 'ext.report', { who: 'ann' });
      const caps = rig.upstream.callCapabilities.at(-1) as { extensions?: Record<string, unknown> };
      assert.deepEqual(caps.extensions?.[TASKS_EXTENSION], {}, 'the declaration reached the upstream');
      const done = await settled('alice', taskId, 'completed');
      assert.equal(done.resultType, 'complete');
      const text = JSON.stringify(done.result);
      assert.match(text, /report for ann; contact /);
      assert.match(text, TOKEN, 'the e-mail address is tokenized');
      assert.doesNotMatch(text, /ann@example\.com/);
      const polled = rig.upstream.taskCalls.filter((c) => c.method === 'tasks/get' && c.taskId === taskId);
      assert.ok(polled.length > 0);
      const pollMeta = polled[0]?.params._meta as Record<string, { extensions?: Record<string, unknown> }>;
      assert.deepEqual(
        pollMeta?.['io.modelcontextprotocol/clientCapabilities']?.extensions?.[TASKS_EXTENSION],
        {},
        'tasks/get carries the agent’s declaration of the extension',
      );
      assert.ok(
        polled.every((c) => c.mcpName === taskId),
        'Mcp-Name = taskId towards the upstream',
      );
    });

    it('answers another identity exactly as for an unknown task id, and never asks the upstream', async () => {
      const taskId = await startTask('alice', 'ext.slow', { ms: 60_000 });
      const before = rig.upstream.taskCalls.length;
      for (const [method, extra] of [
        ['tasks/get', {}],
        ['tasks/update', { inputResponses: {} }],
        ['tasks/cancel', {}],
      ] as const) {
        const stolen = await rig.send('bob', method, { taskId, ...extra });
        const unknown = await rig.send('bob', method, { taskId: 'no-such-task', ...extra });
        const error = stolen.message.error as { code: number; message: string; data: unknown };
        const other = unknown.message.error as { code: number; message: string; data: unknown };
        assert.ok(error, `${method} of another identity's task is refused`);
        assert.equal(error.code, other.code);
        assert.deepEqual(error.data, other.data);
        assert.equal(error.message.replace(taskId, 'ID'), other.message.replace('no-such-task', 'ID'));
        assert.equal(stolen.status, unknown.status);
      }
      assert.equal(rig.upstream.taskCalls.length, before, 'the upstream never saw the other identity');
      assert.equal(resultOf(await rig.send('alice', 'tasks/get', { taskId })).status, 'working');
    });
  });

  describe(`the 2026-07-28 tasks extension: refusals and the other task methods (${leg})`, () => {
    before(async () => {
      rig = await startTasksExtRig(upstreamDirectCalls);
    });
    after(() => rig.close());

    it('refuses an Mcp-Name that is not params.taskId', async () => {
      const taskId = await startTask('alice', 'ext.slow', { ms: 60_000 });
      const before = rig.upstream.taskCalls.length;
      const refused = await rig.send('alice', 'tasks/get', { taskId }, { mcpName: 'another-task' });
      assert.equal(refused.status, 400);
      assert.equal((refused.message.error as { code: number }).code, -32020);
      assert.equal(rig.upstream.taskCalls.length, before);
    });

    it('never gives a task to an agent that did not declare the extension', async () => {
      const plain = resultOf(
        await rig.send(
          'alice',
          'tools/call',
          { name: 'ext.report', arguments: { who: 'bo' } },
          { extension: false },
        ),
      );
      assert.equal(plain.resultType, 'complete');
      assert.equal(plain.taskId, undefined);
      assert.match(JSON.stringify(plain.content), /report for bo; contact /);
      const caps = rig.upstream.callCapabilities.at(-1) as { extensions?: unknown };
      assert.equal(caps.extensions, undefined, 'no declaration forwarded');
    });

    it('delivers tasks/update input responses to the upstream task', async () => {
      const taskId = await startTask('alice', 'ext.ask', { who: 'zed' });
      const waiting = await settled('alice', taskId, 'input_required');
      assert.ok((waiting.inputRequests as Record<string, unknown>).name, 'the input request is relayed');
      const inputResponses = { name: { action: 'accept', content: { name: 'Zoe' } } };
      const ack = resultOf(await rig.send('alice', 'tasks/update', { taskId, inputResponses }));
      assert.equal(ack.resultType, 'complete');
      const update = rig.upstream.taskCalls.find((c) => c.method === 'tasks/update' && c.taskId === taskId);
      assert.deepEqual(update?.params.inputResponses, inputResponses);
      const done = await settled('alice', taskId, 'completed');
      // The name came back from the upstream: tokenized like any personal data in a result.
      assert.match(JSON.stringify(done.result), /hello \[\[NAME:[0-9a-f]{8,}\]\]/);
    });

    it('sends tasks/cancel to the upstream that holds the task', async () => {
      const taskId = await startTask('alice', 'ext.slow', { ms: 60_000 });
      const ack = resultOf(await rig.send('alice', 'tasks/cancel', { taskId }));
      assert.equal(ack.resultType, 'complete');
      const cancel = rig.upstream.taskCalls.find((c) => c.method === 'tasks/cancel' && c.taskId === taskId);
      assert.equal(cancel?.mcpName, taskId);
      await settled('alice', taskId, 'cancelled');
    });
  });
}

describe('the tasks extension when the agent endpoint closes', () => {
  before(async () => {
    rig = await startTasksExtRig();
  });
  after(() => rig.close());

  it('aborts a tasks/get in flight: the agent gets no answer and the endpoint does not wait for the upstream', async () => {
    const taskId = await startTask('alice', 'ext.slow', { ms: 60_000 });
    rig.upstream.holdTaskMethods = true;
    const asked = rig.upstream.taskCalls.length;
    const get = rig.send('alice', 'tasks/get', { taskId });
    await until('the tasks/get reached the upstream', () => rig.upstream.taskCalls.length > asked);
    await rig.endpoint.close();
    await assert.rejects(get, 'the connection is closed without an answer');
  });
});
