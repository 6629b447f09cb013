/**
 * The 2025-11-25 tasks utility through the gateway, end to end over real TLS with real SDK agents and a
 * real v1-SDK task server over stdio (test/mcp/tasks-fixture-server.ts): task-augmented calls return the
 * upstream's CreateTaskResult, tasks/get|result|list|cancel reach the upstream that holds the task for
 * its owner only, results pass the PII boundary, and a task's elicitation reaches its owner exactly even
 * with several agents waiting on the same stdio upstream.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { type Client, specTypeSchemas } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { gatewayStages } from '../../src/gateway/gateway-stages.js';
import { piiStage } from '../../src/gateway/stages/pii-stage.js';
import { UpstreamCatalog } from '../../src/mcp/upstream-catalog.js';
import { PiiBoundary } from '../../src/pii/pii-boundary.js';
import { PiiVault } from '../../src/pii/pii-vault.js';
import { deriveTenantPiiKeys } from '../../src/pii/tenant-pii-keys.js';
import {
  type AgentCredentials,
  createTenantKit,
  type TenantKit,
  tlsFetch,
} from '../fixtures/tenant-tls-kit.js';
import {
  type Closer,
  type RelayedAgent,
  relayedAgent,
  resultText,
  serveGateway,
} from './relayed-agent-kit.js';

const FIXTURE = new URL('./tasks-fixture-server.js', import.meta.url).pathname;
const TOKEN = /\[\[[A-Z]+:[0-9a-f]{8,}\]\]/;

let kit: TenantKit;
let catalog: UpstreamCatalog;
let alice: AgentCredentials;
let bob: AgentCredentials;
let url: URL;
let vault: PiiVault;
const closers: Closer[] = [];

before(async () => {
  kit = await createTenantKit();
  catalog = UpstreamCatalog.fromConfig([
    { name: 'tasks', kind: 'stdio', command: process.execPath, args: [FIXTURE], protocol: 'legacy' },
  ]);
  await catalog.start();
  assert.equal(catalog.status()[0]?.state, 'ready');
  alice = await kit.issueAgent('alice');
  bob = await kit.issueAgent('bob');
  vault = new PiiVault({
    tenant: 'acme',
    keys: deriveTenantPiiKeys('acme', randomBytes(32)),
    repository: kit.store.vault,
  });
  const boundary = new PiiBoundary({ vault });
  const stages = gatewayStages({ identities: kit.store.identities, pii: piiStage({ vault, boundary }) });
  ({ url } = await serveGateway(kit, { catalog, stages, outbound: boundary }, closers));
});

after(async () => {
  for (const close of closers.reverse()) await close().catch(() => {});
  await catalog.close();
  await kit.close();
});

type TaskAnswer = { task?: { taskId: string; status: string }; taskId?: string; status?: string };

function startTask(client: Client, name: string, args: Record<string, unknown>): Promise<TaskAnswer> {
  return client.request(
    { method: 'tools/call', params: { name, arguments: args, task: { ttl: 60_000 } } },
    specTypeSchemas.CreateTaskResult,
  ) as Promise<TaskAnswer>;
}

function taskRequest(client: Client, method: string, taskId: string): Promise<Record<string, unknown>> {
  const schema = {
    'tasks/get': specTypeSchemas.GetTaskResult,
    'tasks/result': specTypeSchemas.GetTaskPayloadResult,
    'tasks/cancel': specTypeSchemas.CancelTaskResult,
  }[method];
  assert.ok(schema, method);
  return client.request({ method, params: { taskId } }, schema) as Promise<Record<string, unknown>>;
}

async function statusOf(client: Client, taskId: string, want: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const got = await taskRequest(client, 'tasks/get', taskId);
    if (got.status === want) return;
    if (Date.now() > deadline) throw new Error(`task ${taskId} stayed ${String(got.status)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const refusedAsUnknown = (err: Error & { code?: number; data?: { airlock?: string } }) =>
  err.code === -32602 && err.data?.airlock === 'AIRLOCK_TASK_UNKNOWN';

describe('tasks through the gateway (2025-11-25)', () => {
  it('a task-required tool: CreateTaskResult, tasks/get until completed, tasks/result through the PII boundary', async () => {
    const a = await relayedAgent(kit, url, 'legacy', alice, closers);
    const tools = await a.client.listTools();
    const report = tools.tools.find((t) => t.name === 'tasks.report');
    assert.equal(report?.execution?.taskSupport, 'required');
    assert.ok(a.client.getServerCapabilities()?.tasks, 'the gateway advertises tasks like its upstream');
    const created = await startTask(a.client, 'tasks.report', { who: 'alice' });
    const taskId = created.task?.taskId ?? '';
    assert.ok(taskId, 'the upstream’s task id reaches the agent');
    await statusOf(a.client, taskId, 'completed');
    const result = await taskRequest(a.client, 'tasks/result', taskId);
    const text = resultText(result);
    assert.match(text, /^report for alice: no question; contact /);
    assert.ok(!text.includes('alice@example.com'), `raw e-mail reached the agent: ${text}`);
    assert.match(text, TOKEN);
    const listed = (await a.client.request(
      { method: 'tasks/list', params: {} },
      specTypeSchemas.ListTasksResult,
    )) as {
      tasks: { taskId: string }[];
    };
    assert.ok(listed.tasks.some((t) => t.taskId === taskId));
  });

  it('a value de-tokenized for the call that created a task is re-tokenized in tasks/result', async () => {
    const a = await relayedAgent(kit, url, 'legacy', alice, closers);
    // A value no detector knows: only the request's taint can catch it when the upstream reflects it.
    const token = await vault.tokenize('NAME', 'Zorblax Quintavious');
    const created = await startTask(a.client, 'tasks.report', { who: token });
    const taskId = created.task?.taskId ?? '';
    await statusOf(a.client, taskId, 'completed');
    const text = resultText(await taskRequest(a.client, 'tasks/result', taskId));
    assert.ok(text.startsWith(`report for ${token}: no question`), text);
    assert.ok(!text.includes('Zorblax'), `the de-tokenized value reached the agent: ${text}`);
  });
});

describe('tasks through the gateway (2025-11-25): ownership', () => {
  it('another identity can neither read, wait on, cancel nor list someone else’s task', async () => {
    const a = await relayedAgent(kit, url, 'legacy', alice, closers);
    const b = await relayedAgent(kit, url, 'legacy', bob, closers);
    const created = await startTask(a.client, 'tasks.slow', { ms: 60_000 });
    const taskId = created.task?.taskId ?? '';
    for (const method of ['tasks/get', 'tasks/result', 'tasks/cancel'])
      await assert.rejects(taskRequest(b.client, method, taskId), refusedAsUnknown, method);
    await assert.rejects(taskRequest(b.client, 'tasks/get', 'no-such-task'), refusedAsUnknown);
    const bobs = (await b.client.request(
      { method: 'tasks/list', params: {} },
      specTypeSchemas.ListTasksResult,
    )) as {
      tasks: { taskId: string }[];
    };
    assert.ok(!bobs.tasks.some((t) => t.taskId === taskId), 'bob lists alice’s task');
    // Still alice's, still running: bob's cancel never reached the upstream.
    assert.equal((await taskRequest(a.client, 'tasks/get', taskId)).status, 'working');
    assert.equal((await taskRequest(a.client, 'tasks/cancel', taskId)).status, 'cancelled');
    await statusOf(a.client, taskId, 'cancelled');
  });

  it('each task’s elicitation reaches its owner only, with two agents waiting on one stdio upstream', async () => {
    const agents: [string, RelayedAgent][] = [
      ['alice', await relayedAgent(kit, url, 'legacy', alice, closers)],
      ['bob', await relayedAgent(kit, url, 'legacy', bob, closers)],
    ];
    const tasks = await Promise.all(
      agents.map(([who, a]) => startTask(a.client, 'tasks.report', { who, ask: true })),
    );
    // Both wait in tasks/result at once: the pipe says nothing, the request's related-task does.
    const results = await Promise.all(
      agents.map(([, a], i) => taskRequest(a.client, 'tasks/result', tasks[i]?.task?.taskId ?? '')),
    );
    agents.forEach(([who, a], i) => {
      assert.match(resultText(results[i]), new RegExp(`^report for ${who}: ${who}-answer; contact `));
      assert.deepEqual(a.asked, [`elicit:Name for ${who}?`], who);
    });
  });
});

describe('tasks through the gateway (2025-11-25): other clients', () => {
  it('an independent v1-SDK agent drives a task-required tool with callToolStream, answering its elicitation', async () => {
    const f = tlsFetch({ caPem: kit.ca.certPem, client: alice });
    closers.push(f.close);
    const v1 = new V1Client({ name: 'v1-agent', version: '1.0.0' }, { capabilities: { elicitation: {} } });
    const asked: string[] = [];
    v1.setRequestHandler(ElicitRequestSchema, async (r) => {
      asked.push(String(r.params.message));
      return { action: 'accept', content: { name: 'v1-alice' } };
    });
    await v1.connect(new V1Transport(url, { fetch: f.fetch }));
    closers.push(() => v1.close());
    await v1.listTools(); // the client learns which tools need a task
    const kinds: string[] = [];
    let final: unknown;
    for await (const message of v1.experimental.tasks.callToolStream({
      name: 'tasks.report',
      arguments: { who: 'v1', ask: true },
    })) {
      kinds.push(message.type);
      if (message.type === 'result') final = message.result;
      if (message.type === 'error') throw message.error;
    }
    assert.equal(kinds[0], 'taskCreated');
    assert.equal(kinds.at(-1), 'result');
    assert.match(resultText(final), /^report for v1: v1-alice; contact /);
    assert.deepEqual(asked, ['Name for v1?']);
  });

  it('a 2026-07-28 agent’s `task` is not sent (the server decides); it is offered no 2025-11-25 tasks', async () => {
    const m = await relayedAgent(kit, url, 'auto', alice, closers);
    assert.equal(m.client.getProtocolEra(), 'modern');
    const result = await m.client.callTool({ name: 'tasks.slow', arguments: { ms: 1 }, task: { ttl: 1000 } });
    assert.equal(resultText(result), 'slept 1');
    assert.equal(m.client.getServerCapabilities()?.tasks, undefined, 'no 2025-11-25 tasks on 2026-07-28');
  });
});
