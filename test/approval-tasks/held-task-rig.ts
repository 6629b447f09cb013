/**
 * The connector's agent side for the held-task tests, assembled as the connector does: the held-task
 * stage in front of `gatewayStages` (audit → authenticate → budget → pii → authorize → catalog →
 * validate → tier with the real approval queue → upstream timing) on a real audit ledger, PII vault
 * and boundary, tool pinning and a policy parsed from YAML, over a real stdio upstream offering tasks,
 * behind real TLS. Agents are real SDK v2 clients on 2025-11-25; supervisors decide through the
 * queue's own API, as the console and the CLI do.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { type Client, specTypeSchemas } from '@modelcontextprotocol/client';
import { consoleApprover } from '../../src/approvals/approval-principal.js';
import { ApprovalQueue } from '../../src/approvals/approval-queue.js';
import { generateAuditKey } from '../../src/audit/audit-key.js';
import { AuditLedger } from '../../src/audit/audit-ledger.js';
import { ToolPinning } from '../../src/catalog/tool-pinning.js';
import { gatewayStages } from '../../src/gateway/gateway-stages.js';
import { piiStage } from '../../src/gateway/stages/pii-stage.js';
import { heldTaskStage, toolTaskSupport } from '../../src/mcp/held-task-stage.js';
import { UpstreamCatalog } from '../../src/mcp/upstream-catalog.js';
import { PiiBoundary } from '../../src/pii/pii-boundary.js';
import { PiiVault } from '../../src/pii/pii-vault.js';
import { deriveTenantPiiKeys } from '../../src/pii/tenant-pii-keys.js';
import { parsePolicy } from '../../src/policy/policy-loader.js';
import type { ApprovalRecord } from '../../src/store/store.js';
import { createTenantKit, type TenantKit } from '../fixtures/tenant-tls-kit.js';
import { until } from '../fixtures/wait-until.js';
import { type Closer, type RelayedAgent, relayedAgent, serveGateway } from '../mcp/relayed-agent-kit.js';

const FIXTURE = new URL('./held-fixture-server.js', import.meta.url).pathname;
/** Most calls one identity may have waiting as tasks in these tests. */
export const HELD_CAP = 2;
/** The supervisor who decides. */
export const SUPERVISOR = consoleApprover({ name: 'sam', role: 'supervisor' });

const POLICY = `
catalog: { mode: tofu }
identities: [{ name: alice, roles: [agent] }, { name: bob, roles: [agent] }, { name: carol, roles: [agent] }]
roles: { agent: { tools: ["held.*"] } }
tools:
  - name: everything-needs-a-person
    match: "held.*"
    tier: approve
limits: { rate: { perSecond: 1000, burst: 1000 }, concurrencyPerTool: 50 }
`;

export interface HeldTaskRig {
  kit: TenantKit;
  queue: ApprovalQueue;
  vault: PiiVault;
  url: URL;
  agent(name: 'alice' | 'bob' | 'carol'): Promise<RelayedAgent>;
  close(): Promise<void>;
}

/** Starts the rig; `holdMs` is the approval queue's hold (its default unless given). */
export async function startHeldTaskRig(options: { holdMs?: number } = {}): Promise<HeldTaskRig> {
  const closers: Closer[] = [];
  const kit = await createTenantKit();
  closers.push(() => kit.close());
  const catalog = UpstreamCatalog.fromConfig([
    { name: 'held', kind: 'stdio', command: process.execPath, args: [FIXTURE], protocol: 'legacy' },
  ]);
  closers.push(() => catalog.close());
  await catalog.start();
  const { engine } = parsePolicy(POLICY, 'held-policy.yaml');
  const pinning = new ToolPinning({ store: kit.store.catalog, catalog, mode: () => engine.catalogMode });
  await pinning.start();
  closers.push(async () => pinning.close());
  const key = generateAuditKey();
  const ledger = await AuditLedger.open({
    repository: kit.store.audit,
    tenant: 'acme',
    key,
    checkpointIntervalMs: 0,
  });
  closers.push(() => ledger.close());
  const queue = new ApprovalQueue({
    repository: kit.store.approvals,
    pollIntervalMs: 50,
    sweepIntervalMs: 0,
    audit: ledger,
    ...(options.holdMs !== undefined ? { holdMs: options.holdMs } : {}),
  });
  closers.push(() => queue.close());
  const keys = deriveTenantPiiKeys('acme', randomBytes(32));
  const vault = new PiiVault({ tenant: 'acme', keys, repository: kit.store.vault });
  const boundary = new PiiBoundary({ vault });
  const stages = [
    heldTaskStage({ maxPendingPerIdentity: HELD_CAP, taskSupport: toolTaskSupport(catalog) }),
    ...gatewayStages({
      identities: kit.store.identities,
      policy: () => engine,
      pinning,
      approvals: queue,
      audit: ledger,
      pii: piiStage({ vault, boundary }),
    }),
  ];
  const { url } = await serveGateway(kit, { catalog, stages, outbound: boundary }, closers);
  const creds = new Map<string, Awaited<ReturnType<TenantKit['issueAgent']>>>();
  for (const name of ['alice', 'bob', 'carol']) creds.set(name, await kit.issueAgent(name));
  return {
    kit,
    queue,
    vault,
    url,
    agent: (name) => relayedAgent(kit, url, 'legacy', creds.get(name) as never, closers),
    async close() {
      for (const close of closers.reverse()) await close().catch(() => {});
    },
  };
}

/** The task a call announced. */
export interface AnnouncedTask {
  taskId: string;
  status: string;
  statusMessage?: string;
  ttl: number | null;
  pollInterval?: number;
}

/** A task-augmented `tools/call` of `held.lookup` for `who`. */
export async function lookupAsTask(client: Client, who: string, ttl = 600_000): Promise<AnnouncedTask> {
  const created = (await client.request(
    { method: 'tools/call', params: { name: 'held.lookup', arguments: { who }, task: { ttl } } },
    specTypeSchemas.CreateTaskResult,
  )) as { task: AnnouncedTask };
  return created.task;
}

const TASK_SCHEMAS: Record<string, (typeof specTypeSchemas)[keyof typeof specTypeSchemas]> = {
  'tasks/get': specTypeSchemas.GetTaskResult,
  'tasks/result': specTypeSchemas.GetTaskPayloadResult,
  'tasks/cancel': specTypeSchemas.CancelTaskResult,
};

/** `tasks/get`, `tasks/result` or `tasks/cancel` of `taskId`. */
export function taskRequest(
  client: Client,
  method: string,
  taskId: string,
): Promise<Record<string, unknown>> {
  const schema = TASK_SCHEMAS[method];
  assert.ok(schema, method);
  return client.request({ method, params: { taskId } }, schema) as Promise<Record<string, unknown>>;
}

/** Polls `tasks/get` until the task leaves `working`; returns its state then. */
export function settledTask(client: Client, taskId: string): Promise<Record<string, unknown>> {
  return until(`task ${taskId} to finish`, async () => {
    const got = await taskRequest(client, 'tasks/get', taskId);
    return got.status === 'working' ? undefined : got;
  });
}

/** The pending approval request of `identity` for `who` (once the queue wrote it). */
export function pendingApproval(
  queue: ApprovalQueue,
  identity: string,
  who: string,
): Promise<ApprovalRecord> {
  return until(`the approval request for ${who}`, async () =>
    (await queue.pending()).find((r) => r.identity === identity && JSON.parse(r.arguments).who === who),
  );
}
