/**
 * Rig for the 2026-07-28 tasks extension through the gateway: the extension fixture upstream over real
 * HTTP (tasks-ext-fixture-server.ts), the connector's agent endpoint with the held-task stage in front
 * of the full `gatewayStages` (audit, authenticate, budget, pii, authorize, catalog, validate, tier with
 * the real approval queue, upstream timing) on a real SQLite store, audit ledger, PII vault and
 * boundary, behind a real HTTP server on loopback that hands the endpoint the identity named by the
 * test header `x-agent` as the TLS termination would. Agents speak raw 2026-07-28 JSON-RPC (headers as
 * the SDK client sets them).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { consoleApprover } from '../../src/approvals/approval-principal.js';
import { ApprovalQueue } from '../../src/approvals/approval-queue.js';
import { generateAuditKey } from '../../src/audit/audit-key.js';
import { AuditLedger } from '../../src/audit/audit-ledger.js';
import { ToolPinning } from '../../src/catalog/tool-pinning.js';
import type { GatewayIdentity, Stage } from '../../src/gateway/gateway-context.js';
import { gatewayStages } from '../../src/gateway/gateway-stages.js';
import { piiStage } from '../../src/gateway/stages/pii-stage.js';
import { authInfoForIdentity } from '../../src/mcp/agent-auth-info.js';
import { AgentMcpEndpoint } from '../../src/mcp/agent-mcp-endpoint.js';
import { heldTaskStage, toolTaskSupport } from '../../src/mcp/held-task-stage.js';
import { UpstreamCatalog } from '../../src/mcp/upstream-catalog.js';
import { PiiBoundary } from '../../src/pii/pii-boundary.js';
import { PiiVault } from '../../src/pii/pii-vault.js';
import { deriveTenantPiiKeys } from '../../src/pii/tenant-pii-keys.js';
import { parsePolicy } from '../../src/policy/policy-loader.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import { type Answer, post } from './direct-calls-rig.js';
import { startTasksExtServer, TASKS_EXTENSION, type TasksExtServer } from './tasks-ext-fixture-server.js';

export const SUPERVISOR = consoleApprover({ name: 'sam', role: 'supervisor' });

const POLICY = `
catalog: { mode: tofu }
identities: [{ name: alice, roles: [agent] }, { name: bob, roles: [agent] }]
roles: { agent: { tools: ["ext.*"] } }
tools:
  - name: a-person-decides
    match: "ext.lookup"
    tier: approve
defaultTier: auto
limits: { rate: { perSecond: 1000, burst: 1000 }, concurrencyPerTool: 50 }
`;

export type AgentName = 'alice' | 'bob';

export interface TasksExtRig {
  upstream: TasksExtServer;
  endpoint: AgentMcpEndpoint;
  queue: ApprovalQueue;
  url: string;
  /** POSTs one 2026-07-28 request as `agent` (`extension`: declare the tasks extension). */
  send(
    agent: AgentName,
    method: string,
    params: Record<string, unknown>,
    options?: SendOptions,
  ): Promise<Answer>;
  close(): Promise<void>;
}

export interface SendOptions {
  /** Declare `io.modelcontextprotocol/tasks` in the request's client capabilities. Default true. */
  extension?: boolean;
  /** The `Mcp-Name` header (default: what the SDK client derives from the params). */
  mcpName?: string;
}

function identity(name: string): GatewayIdentity {
  return {
    name,
    spiffeId: `spiffe://acme.localhost/agent/${name}`,
    certSerial: name,
    authenticatedBy: 'mtls',
  };
}

type Closers = (() => Promise<unknown> | unknown)[];

async function closeAll(closers: Closers): Promise<void> {
  for (const close of closers.reverse()) await Promise.resolve(close()).catch(() => {});
}

/**
 * Starts upstream, store, governance and endpoint (whatever started is closed again when a step fails).
 * `upstreamDirectCalls`: whether the upstream leg posts plain calls itself (upstream-direct-call.ts, the
 * default) or leaves them to the SDK client (task-extension.ts's widened decode).
 */
export async function startTasksExtRig(upstreamDirectCalls = true): Promise<TasksExtRig> {
  const closers: Closers = [];
  try {
    return await startParts(closers, upstreamDirectCalls);
  } catch (err) {
    await closeAll(closers);
    throw err;
  }
}

async function startParts(closers: Closers, upstreamDirectCalls: boolean): Promise<TasksExtRig> {
  const upstream = await startTasksExtServer();
  closers.push(() => upstream.close());
  const store = await openStore({ url: 'sqlite::memory:' });
  closers.push(() => store.close());
  for (const name of ['alice', 'bob']) {
    await store.identities.addIdentity({
      ...identity(name),
      certFingerprint: name.padEnd(64, '0'),
      notAfter: Date.now() + 86_400_000,
      createdAt: Date.now(),
    });
  }
  const catalog = UpstreamCatalog.fromConfig(
    [{ name: 'ext', kind: 'http', url: upstream.url, protocol: '2026-07-28' }],
    { upstream: { directCalls: upstreamDirectCalls } },
  );
  closers.push(() => catalog.close());
  await catalog.start();
  const { stages, queue, boundary } = await governedStages(store, catalog, closers);
  const endpoint = new AgentMcpEndpoint({ catalog, stages, outbound: boundary });
  closers.push(() => endpoint.close());
  const server: Server = createServer((req, res) => {
    const agent = String(req.headers['x-agent'] ?? '');
    if (agent) (req as IncomingMessage & { auth?: unknown }).auth = authInfoForIdentity(identity(agent));
    void endpoint.nodeHandler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(
    () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }),
  );
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
  let id = 0;
  return {
    upstream,
    endpoint,
    queue,
    url,
    send: (agent, method, params, options = {}) =>
      post(url, modernBody(++id, method, params, options.extension ?? true), {
        ...modernHeaders(method, options.mcpName ?? nameOf(method, params)),
        'x-agent': agent,
      }),
    close: () => closeAll(closers),
  };
}

/** The held-task stage and the full `gatewayStages` over `store` and `catalog`, as the connector assembles them. */
async function governedStages(
  store: Store,
  catalog: UpstreamCatalog,
  closers: Closers,
): Promise<{ stages: Stage[]; queue: ApprovalQueue; boundary: PiiBoundary }> {
  const { engine } = parsePolicy(POLICY, 'tasks-ext-policy.yaml');
  const pinning = new ToolPinning({ store: store.catalog, catalog, mode: () => engine.catalogMode });
  await pinning.start();
  closers.push(() => pinning.close());
  const ledger = await AuditLedger.open({
    repository: store.audit,
    tenant: 'acme',
    key: generateAuditKey(),
    checkpointIntervalMs: 0,
  });
  closers.push(() => ledger.close());
  const queue = new ApprovalQueue({
    repository: store.approvals,
    pollIntervalMs: 50,
    sweepIntervalMs: 0,
    audit: ledger,
  });
  closers.push(() => queue.close());
  const vault = new PiiVault({
    tenant: 'acme',
    keys: deriveTenantPiiKeys('acme', randomBytes(32)),
    repository: store.vault,
  });
  const boundary = new PiiBoundary({ vault });
  const stages = [
    heldTaskStage({ maxPendingPerIdentity: 4, taskSupport: toolTaskSupport(catalog) }),
    ...gatewayStages({
      identities: store.identities,
      policy: () => engine,
      pinning,
      approvals: queue,
      audit: ledger,
      pii: piiStage({ vault, boundary }),
    }),
  ];
  return { stages, queue, boundary };
}

/** The JSON-RPC result of an answer (fails the test on an error answer). */
export function resultOf(answer: Answer): Record<string, unknown> {
  assert.equal(answer.message.error, undefined, JSON.stringify(answer.message.error));
  return answer.message.result as Record<string, unknown>;
}

/** A 2026-07-28 request body with the per-request envelope (declaring the extension or not). */
export function modernBody(
  id: number,
  method: string,
  params: Record<string, unknown>,
  extension: boolean,
): Record<string, unknown> {
  const capabilities = extension ? { extensions: { [TASKS_EXTENSION]: {} } } : {};
  const meta = {
    'io.modelcontextprotocol/protocolVersion': '2026-07-28',
    'io.modelcontextprotocol/clientInfo': { name: 'probe', version: '1.0.0' },
    'io.modelcontextprotocol/clientCapabilities': capabilities,
  };
  return { jsonrpc: '2.0', id, method, params: { ...params, _meta: meta } };
}

/** The standard headers of a 2026-07-28 request. */
export function modernHeaders(method: string, mcpName: string | undefined): Record<string, string> {
  return {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-method': method,
    'mcp-protocol-version': '2026-07-28',
    ...(mcpName !== undefined ? { 'mcp-name': mcpName } : {}),
  };
}

function nameOf(method: string, params: Record<string, unknown>): string | undefined {
  if (method === 'tools/call') return String(params.name);
  return method.startsWith('tasks/') && typeof params.taskId === 'string' ? params.taskId : undefined;
}
