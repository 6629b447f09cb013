/**
 * The gateway's policy stages end to end, for tests: a tenant CA and real TLS (AgentEndpoint), the MCP
 * endpoint for both eras, the product's stage list (`gatewayStages`: audit → authenticate → budget →
 * authorize → catalog → validate → tier → upstream timing, with a real audit ledger) over a real stdio
 * upstream (gateway-fixture-server), a policy parsed from YAML, the catalog pinned in a real SQLite file
 * store, and real SDK clients. The PII stage is left out here (its own suites and the e2e tests cover
 * it): every answer below is compared as the upstream wrote it.
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
import { AgentMcpEndpoint } from '../../src/mcp/agent-mcp-endpoint.js';
import { UpstreamCatalog } from '../../src/mcp/upstream-catalog.js';
import type { UpstreamConfig } from '../../src/mcp/upstream-config.js';
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
  /** The file-backed store holding the catalog (pins, kill switch). */
  catalogStore: Store;
  catalogStoreUrl: string;
  /** A temporary directory, deleted by `close`. */
  dir: string;
  upstreams: UpstreamCatalog;
  pinning: ToolPinning;
  mcp: AgentMcpEndpoint;
  agents: Record<string, AgentCredentials>;
  approvals: TestApprovals;
  /** The policy in force (replace it to simulate a reload). */
  policy: { engine: PolicyEngine };
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
  /** Stage list override (default: the full policy pipeline). */
  stages?: (deps: {
    policy: () => PolicyEngine;
    pinning: ToolPinning;
    approvals: ApprovalHook;
    kit: TenantKit;
  }) => Stage[];
}

export async function startGateway(options: HarnessOptions): Promise<GatewayHarness> {
  const closers: (() => Promise<unknown>)[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'airlock-gateway-'));
  closers.push(() => rm(dir, { recursive: true, force: true }));
  try {
    const kit = await createTenantKit();
    closers.push(() => kit.close());
    const catalogStoreUrl = `sqlite:${join(dir, 'airlock.db')}`;
    const catalogStore = await openStore({ url: catalogStoreUrl });
    closers.push(() => catalogStore.close());
    const policy = { engine: parsePolicy(options.policyYaml, 'test-policy.yaml').engine };
    const upstreams = UpstreamCatalog.fromConfig(
      options.upstreams ?? [
        { name: 'gw', kind: 'stdio', command: process.execPath, args: [GATEWAY_FIXTURE] },
      ],
    );
    closers.push(() => upstreams.close());
    await upstreams.start();
    const pinning = new ToolPinning({
      store: catalogStore.catalog,
      catalog: upstreams,
      mode: () => policy.engine.catalogMode,
      pollIntervalMs: options.pinning?.pollIntervalMs ?? 100,
    });
    await pinning.start();
    closers.push(async () => pinning.close());
    const approvals = new TestApprovals();
    const policySource = () => policy.engine;
    const audit = await AuditLedger.open({
      repository: catalogStore.audit,
      tenant: 'gateway-harness',
      key: await loadOrCreateAuditKey(dir),
      checkpointIntervalMs: 0,
    });
    closers.push(() => audit.close());
    const stages = options.stages
      ? options.stages({ policy: policySource, pinning, approvals, kit })
      : gatewayStages({ identities: kit.store.identities, policy: policySource, pinning, approvals, audit });
    const mcp = new AgentMcpEndpoint({ catalog: upstreams, stages });
    closers.push(() => mcp.close());
    pinning.onChanged(() => mcp.notifyListChanged('tools'));
    const endpoint = new AgentEndpoint({
      tls: { keyPem: kit.server.keyPem, certPem: kit.server.certPem, caPem: kit.ca.certPem },
      identities: kit.store.identities,
      handler: mcp.nodeHandler,
    });
    closers.push(() => endpoint.close());
    const port = (await endpoint.listen(0, '127.0.0.1')).port;
    const url = new URL(`https://${TENANT_HOST}:${port}/mcp`);
    const agents: Record<string, AgentCredentials> = {};
    for (const name of options.agents) agents[name] = await kit.issueAgent(name);

    const clientClosers: (() => Promise<unknown>)[] = [];
    return {
      kit,
      catalogStore,
      catalogStoreUrl,
      dir,
      upstreams,
      pinning,
      mcp,
      agents,
      approvals,
      policy,
      url,
      async connect(agent, era, clientOptions = {}) {
        const creds = agents[agent];
        if (!creds) throw new Error(`no agent ${agent}`);
        const f = tlsFetch({ caPem: kit.ca.certPem, client: creds });
        clientClosers.push(f.close);
        const client = new Client(
          { name: `${agent}-${era}`, version: '1.0.0' },
          {
            ...clientOptions,
            versionNegotiation: { mode: era === 'modern' ? { pin: '2026-07-28' } : 'legacy' },
          },
        );
        await client.connect(new StreamableHTTPClientTransport(url, { fetch: f.fetch }));
        clientClosers.push(() => client.close());
        return client;
      },
      async close() {
        for (const close of clientClosers.reverse()) await close().catch(() => {});
        for (const close of closers.reverse()) await close().catch(() => {});
      },
    };
  } catch (err) {
    for (const close of closers.reverse()) await close().catch(() => {});
    throw err;
  }
}

/** Polls `fn` until it returns a value (not undefined). */
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
