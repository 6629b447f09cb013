/**
 * The gateway's policy stages end to end, for tests: a tenant CA and real TLS (AgentEndpoint), the MCP
 * endpoint for both eras, the product's stage list in production order (`gatewayStages`: audit →
 * authenticate → budget → pii → authorize → catalog → validate → tier → upstream timing, with a real
 * audit ledger and a real PII vault, boundary and stage assembled as the connector does in
 * src/connector/connector-governance.ts) over a real stdio upstream (gateway-fixture-server), a policy
 * parsed from YAML, the catalog pinned in a real SQLite file store, and real SDK clients. Answers towards
 * agents pass the PII boundary, so personal data in them arrives tokenized (`[[NAME:…]]`).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { loadOrCreateAuditKey } from '../../src/audit/audit-key.js';
import { AuditLedger } from '../../src/audit/audit-ledger.js';
import { ToolPinning } from '../../src/catalog/tool-pinning.js';
import { AgentEndpoint } from '../../src/connector/agent-endpoint.js';
import type { ApprovalHook, ApprovalOutcome, ApprovalRequest } from '../../src/gateway/approval-hook.js';
import type { Stage } from '../../src/gateway/gateway-context.js';
import { gatewayStages } from '../../src/gateway/gateway-stages.js';
import { piiStage } from '../../src/gateway/stages/pii-stage.js';
import { AgentMcpEndpoint } from '../../src/mcp/agent-mcp-endpoint.js';
import { UpstreamCatalog } from '../../src/mcp/upstream-catalog.js';
import type { UpstreamConfig } from '../../src/mcp/upstream-config.js';
import { PiiBoundary } from '../../src/pii/pii-boundary.js';
import type { PiiPolicy } from '../../src/pii/pii-policy.js';
import { PiiVault } from '../../src/pii/pii-vault.js';
import { loadTenantPiiKeys } from '../../src/pii/tenant-pii-keys.js';
import type { PolicyEngine } from '../../src/policy/policy-engine.js';
import { parsePolicy } from '../../src/policy/policy-loader.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import {
  type AgentCredentials,
  createTenantKit,
  TENANT_HOST,
  type TenantKit,
  tlsFetch,
} from '../fixtures/tenant-tls-kit.js';

export const GATEWAY_FIXTURE = new URL('./gateway-fixture-server.js', import.meta.url).pathname;
/** The tenant the harness's audit ledger and PII vault belong to. */
export const HARNESS_TENANT = 'gateway-harness';

/**
 * A test approval queue: `to: alice` is approved, `to: mallory` denied, `to: patient-alice` approved
 * after `amount` milliseconds (a person taking their time), anything else pending.
 */
export class TestApprovals implements ApprovalHook {
  readonly requests: ApprovalRequest[] = [];
  async request(req: ApprovalRequest): Promise<ApprovalOutcome> {
    this.requests.push(req);
    const to = req.arguments.to;
    if (to === 'patient-alice') {
      await new Promise((resolve) => setTimeout(resolve, Number(req.arguments.amount)));
      return { decision: 'approved', approvalId: 'apr-late', approver: 'sam' };
    }
    if (to === 'alice') return { decision: 'approved', approvalId: 'apr-ok', approver: 'sam' };
    if (to === 'mallory') {
      return {
        decision: 'denied',
        approvalId: 'apr-no',
        approver: 'sam',
        reason: 'payee not on the allow list',
      };
    }
    return { decision: 'pending', approvalId: 'apr-wait', expiresAt: Date.UTC(2030, 0, 1) };
  }
}

export type Era = 'modern' | 'legacy';

export interface GatewayHarness {
  kit: TenantKit;
  /** The file-backed store holding the catalog (pins, kill switch), the audit trail and the PII vault. */
  catalogStore: Store;
  catalogStoreUrl: string;
  /** A temporary directory, deleted by `close`. */
  dir: string;
  upstreams: UpstreamCatalog;
  pinning: ToolPinning;
  mcp: AgentMcpEndpoint;
  agents: Record<string, AgentCredentials>;
  approvals: TestApprovals;
  /** The tenant's PII vault (resolve a token an answer carried). */
  vault: PiiVault;
  /** The policy in force (replace `engine` to simulate a reload; `pii` is its `pii:` section). */
  policy: { engine: PolicyEngine; pii: PiiPolicy | undefined };
  url: URL;
  connect(agent: string, era: Era, options?: ConstructorParameters<typeof Client>[1]): Promise<Client>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  policyYaml: string;
  agents: string[];
  /** Extra options for the catalog pinning. */
  pinning?: { pollIntervalMs?: number };
  /** Upstreams (default: the gateway fixture as `gw`). */
  upstreams?: UpstreamConfig[];
  /** Stage list override (default: the full policy pipeline, PII stage included). */
  stages?: (deps: {
    policy: () => PolicyEngine;
    pinning: ToolPinning;
    approvals: ApprovalHook;
    kit: TenantKit;
  }) => Stage[];
}

type Closers = (() => Promise<unknown>)[];

async function closeAll(closers: Closers): Promise<void> {
  for (const close of closers.reverse()) await close().catch(() => {});
}

/** The governance parts the stages consult: policy, upstreams, pinning, approvals, audit ledger. */
async function openGovernance(options: HarnessOptions, dir: string, store: Store, closers: Closers) {
  const loaded = parsePolicy(options.policyYaml, 'test-policy.yaml');
  const policy = { engine: loaded.engine, pii: loaded.policy.pii };
  const upstreams = UpstreamCatalog.fromConfig(
    options.upstreams ?? [{ name: 'gw', kind: 'stdio', command: process.execPath, args: [GATEWAY_FIXTURE] }],
  );
  closers.push(() => upstreams.close());
  await upstreams.start();
  const pinning = new ToolPinning({
    store: store.catalog,
    catalog: upstreams,
    mode: () => policy.engine.catalogMode,
    pollIntervalMs: options.pinning?.pollIntervalMs ?? 100,
  });
  await pinning.start();
  closers.push(async () => pinning.close());
  const audit = await AuditLedger.open({
    repository: store.audit,
    tenant: HARNESS_TENANT,
    key: await loadOrCreateAuditKey(dir),
    checkpointIntervalMs: 0,
  });
  closers.push(() => audit.close());
  return { policy, upstreams, pinning, audit, approvals: new TestApprovals() };
}

/** The PII vault, boundary and stage, assembled as src/connector/connector-governance.ts does. */
async function openPii(dir: string, store: Store, policy: { pii: PiiPolicy | undefined }) {
  const keys = await loadTenantPiiKeys({
    path: join(dir, 'pii', 'vault-key.json'),
    tenant: HARNESS_TENANT,
    create: true,
  });
  const vault = new PiiVault({ tenant: HARNESS_TENANT, keys, repository: store.vault });
  const outbound = new PiiBoundary({ vault, policy: () => policy.pii });
  return { vault, outbound, stage: piiStage({ vault, boundary: outbound }) };
}

/** A `connect` that opens an SDK client of `agent` on `era` over mutual TLS (closed by `clientClosers`). */
function clientConnector(
  kit: TenantKit,
  agents: Record<string, AgentCredentials>,
  url: URL,
  closers: Closers,
) {
  return async (agent: string, era: Era, clientOptions: ConstructorParameters<typeof Client>[1] = {}) => {
    const creds = agents[agent];
    if (!creds) throw new Error(`no agent ${agent}`);
    const f = tlsFetch({ caPem: kit.ca.certPem, client: creds });
    closers.push(f.close);
    const client = new Client(
      { name: `${agent}-${era}`, version: '1.0.0' },
      { ...clientOptions, versionNegotiation: { mode: era === 'modern' ? { pin: '2026-07-28' } : 'legacy' } },
    );
    await client.connect(new StreamableHTTPClientTransport(url, { fetch: f.fetch }));
    closers.push(() => client.close());
    return client;
  };
}

/** Opens the tenant kit, the store, the governance parts, the PII assembly and the `/mcp` endpoint. */
async function openGateway(options: HarnessOptions, dir: string, closers: Closers) {
  const kit = await createTenantKit();
  closers.push(() => kit.close());
  const catalogStoreUrl = `sqlite:${join(dir, 'airlock.db')}`;
  const catalogStore = await openStore({ url: catalogStoreUrl });
  closers.push(() => catalogStore.close());
  const gov = await openGovernance(options, dir, catalogStore, closers);
  const pii = await openPii(dir, catalogStore, gov.policy);
  const policy = () => gov.policy.engine;
  const { pinning, approvals } = gov;
  const stages = options.stages
    ? options.stages({ policy, pinning, approvals, kit })
    : gatewayStages({
        identities: kit.store.identities,
        policy,
        pinning,
        approvals,
        audit: gov.audit,
        pii: pii.stage,
      });
  const mcp = new AgentMcpEndpoint({ catalog: gov.upstreams, stages, outbound: pii.outbound });
  closers.push(() => mcp.close());
  pinning.onChanged(() => mcp.notifyListChanged('tools'));
  const { upstreams } = gov;
  return {
    kit,
    catalogStore,
    catalogStoreUrl,
    policy: gov.policy,
    upstreams,
    pinning,
    approvals,
    vault: pii.vault,
    mcp,
  };
}

export async function startGateway(options: HarnessOptions): Promise<GatewayHarness> {
  const closers: Closers = [];
  const dir = await mkdtemp(join(tmpdir(), 'airlock-gateway-'));
  closers.push(() => rm(dir, { recursive: true, force: true }));
  try {
    const parts = await openGateway(options, dir, closers);
    const { kit } = parts;
    const endpoint = new AgentEndpoint({
      tls: { keyPem: kit.server.keyPem, certPem: kit.server.certPem, caPem: kit.ca.certPem },
      identities: kit.store.identities,
      handler: parts.mcp.nodeHandler,
    });
    closers.push(() => endpoint.close());
    const port = (await endpoint.listen(0, '127.0.0.1')).port;
    const url = new URL(`https://${TENANT_HOST}:${port}/mcp`);
    const agents: Record<string, AgentCredentials> = {};
    for (const name of options.agents) agents[name] = await kit.issueAgent(name);
    const clientClosers: Closers = [];
    return {
      ...parts,
      dir,
      agents,
      url,
      connect: clientConnector(kit, agents, url, clientClosers),
      async close() {
        await closeAll(clientClosers);
        await closeAll(closers);
      },
    };
  } catch (err) {
    await closeAll(closers);
    throw err;
  }
}

/** Polls `fn` until it returns a value (not undefined); a 25 ms poll inside a `timeoutMs` deadline. */
export async function eventually<T>(
  what: string,
  fn: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await fn();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
}

/** The text of a tool result. */
export function resultText(result: { content?: unknown }): string {
  const content = (result.content ?? []) as { type: string; text?: string }[];
  return content.map((c) => c.text ?? '').join('');
}
