/**
 * A connector's agent side and console, assembled from the real parts for the approval and console
 * tests: real TLS (tenant CA and client certificates), the MCP endpoint, the gateway stages
 * (audit → authenticate → catalog → tier with the approval queue), the fixture MCP server over stdio,
 * a watched policy file, the audit ledger, tool pinning with the kill switch, and the console served
 * over HTTP on 127.0.0.1. Agents are real SDK clients.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { ApprovalQueue, type ApprovalQueueOptions } from '../../src/approvals/approval-queue.js';
import { loadOrCreateAuditKey } from '../../src/audit/audit-key.js';
import { AuditLedger } from '../../src/audit/audit-ledger.js';
import { ToolPinning } from '../../src/catalog/tool-pinning.js';
import { AgentEndpoint } from '../../src/connector/agent-endpoint.js';
import { type ConsoleApp, type ConsoleAppOptions, createConsoleApp } from '../../src/console/console-app.js';
import { type ConsoleServer, serveConsole } from '../../src/console/console-server.js';
import { hashPassword } from '../../src/console/password-hash.js';
import { auditStage } from '../../src/gateway/stages/audit-stage.js';
import { authenticate } from '../../src/gateway/stages/authenticate-stage.js';
import { catalogStage } from '../../src/gateway/stages/catalog-stage.js';
import { tier } from '../../src/gateway/stages/tier-stage.js';
import { type CertifiedKey, issueClientCertificate } from '../../src/identity/pki.js';
import { ensureTenantPki } from '../../src/identity/tenant-pki.js';
import { AgentMcpEndpoint } from '../../src/mcp/agent-mcp-endpoint.js';
import { UpstreamCatalog } from '../../src/mcp/upstream-catalog.js';
import { type PolicyWatcher, watchPolicy } from '../../src/policy/policy-watcher.js';
import { openStore } from '../../src/store/open-store.js';
import type { AdminRole, Store } from '../../src/store/store.js';
import { TENANT_HOST, tlsFetch } from '../fixtures/tenant-tls-kit.js';

export const FIXTURE = new URL('../fixtures/fixture-mcp-server.js', import.meta.url).pathname;

/** `fixture.echo` waits for a human; `fixture.boom` is blocked; everything else runs. */
export const TEST_POLICY = `# Airlock test policy
defaultTier: auto
catalog:
  mode: tofu
identities:
  - name: claims-bot
    roles: [claims]
  - name: audit-bot
    roles: [claims]
  - subject: ops@acme.example
    issuer: https://idp.acme.example
    roles: [claims]
roles:
  claims:
    description: Claims handling agents
    tools: ["fixture.*"]
tools:
  - match: fixture.echo
    tier: approve
    description: Echoes go through a supervisor
  - match: fixture.boom
    tier: block
`;

export interface AgentCreds {
  name: string;
  certPem: string;
  keyPem: string;
}

export interface HarnessOptions {
  storeUrl: string;
  /** Working directory (policy file, tenant PKI for the identities page, issued identities). */
  dir: string;
  /** Tenant CA and server certificate (reuse them across a restart). */
  ca: CertifiedKey;
  server: CertifiedKey;
  queue?: Partial<ApprovalQueueOptions>;
  /** Where the audit key lives (default `dir`): reuse it across a restart, as a connector does. */
  auditKeyDir?: string;
  /** Extra console options (e.g. `oidc`). */
  console?: Partial<ConsoleAppOptions>;
}

export interface Harness {
  store: Store;
  queue: ApprovalQueue;
  watcher: PolicyWatcher;
  ledger: AuditLedger;
  mcp: AgentMcpEndpoint;
  /** `https://acme.localhost:<port>/mcp` */
  mcpUrl: URL;
  consoleApp: ConsoleApp;
  console: ConsoleServer;
  /** Registers an agent identity (client certificate from the tenant CA) in the store. */
  issueAgent(name: string): Promise<AgentCreds>;
  /** Creates a console account. */
  addAccount(name: string, password: string, role: AdminRole, revealPii?: boolean): Promise<void>;
  /** A connected SDK client (closed by `close`). */
  connect(creds: AgentCreds): Promise<Client>;
  close(): Promise<void>;
}

type Closers = Array<() => Promise<unknown>>;

/** Store, watched policy file and audit ledger. */
async function startGovernance(opts: HarnessOptions, closers: Closers) {
  const store = await openStore({ url: opts.storeUrl });
  closers.push(() => store.close());
  const policyFile = join(opts.dir, 'policy.yaml');
  await mkdir(opts.dir, { recursive: true });
  await writeFile(policyFile, TEST_POLICY);
  const watcher = await watchPolicy({
    file: policyFile,
    store: store.policyVersions,
    pollIntervalMs: 0,
    fsWatch: false,
  });
  closers.push(() => watcher.close());
  const ledger = await AuditLedger.open({
    repository: store.audit,
    tenant: 'acme',
    key: await loadOrCreateAuditKey(opts.auditKeyDir ?? opts.dir),
    checkpointEvery: 5,
  });
  closers.push(() => ledger.close());
  return { store, watcher, ledger };
}

type Governance = Awaited<ReturnType<typeof startGovernance>>;

/** The fixture upstream, pinning, the approval queue, the MCP endpoint and its TLS listener. */
async function startAgentSide(opts: HarnessOptions, gov: Governance, closers: Closers) {
  const { store, watcher, ledger } = gov;
  const catalog = UpstreamCatalog.fromConfig(
    [{ name: 'fixture', kind: 'stdio', command: process.execPath, args: [FIXTURE] }],
    { upstream: { backoff: { initialMs: 50, maxMs: 500 } } },
  );
  closers.push(() => catalog.close());
  await catalog.start();
  const pinning = new ToolPinning({
    store: store.catalog,
    catalog,
    mode: () => watcher.engine.catalogMode,
    pollIntervalMs: 200,
  });
  await pinning.start();
  closers.push(async () => pinning.close());
  const queue = new ApprovalQueue({
    repository: store.approvals,
    pollIntervalMs: 100,
    progressIntervalMs: 1_000,
    audit: ledger,
    ...opts.queue,
  });
  closers.push(() => queue.close());
  const mcp = new AgentMcpEndpoint({
    catalog,
    stages: [
      auditStage({ ledger }),
      authenticate({ identities: store.identities }),
      catalogStage({ pinning }),
      tier({ policy: () => watcher.engine, approvals: queue }),
    ],
  });
  closers.push(() => mcp.close());
  pinning.onChanged(() => mcp.notifyListChanged('tools'));
  const endpoint = new AgentEndpoint({
    tls: { keyPem: opts.server.keyPem, certPem: opts.server.certPem, caPem: opts.ca.certPem },
    identities: store.identities,
    handler: mcp.nodeHandler,
  });
  closers.push(() => endpoint.close());
  const port = (await endpoint.listen(0, '127.0.0.1')).port;
  return { catalog, pinning, queue, mcp, mcpUrl: new URL(`https://${TENANT_HOST}:${port}/mcp`) };
}

type AgentSide = Awaited<ReturnType<typeof startAgentSide>>;

/** The console on 127.0.0.1, on the product's own parts. */
async function startConsole(opts: HarnessOptions, gov: Governance, side: AgentSide, closers: Closers) {
  const pki = await ensureTenantPki(join(opts.dir, 'tenant'), TENANT_HOST);
  const { catalog, mcp, pinning } = side;
  const consoleApp = createConsoleApp({
    store: gov.store,
    approvals: side.queue,
    status: () => ({
      tenant: 'acme',
      tenantHost: TENANT_HOST,
      tunnels: [{ slot: 0, state: 'up', transport: 'tls', since: Date.now() - 90_000 }],
      upstreams: catalog.status().map((u) => ({ name: u.name, state: u.state, restarts: u.restarts })),
      sessions: mcp.sessions().length,
    }),
    sessions: () => mcp.sessions(),
    policy: gov.watcher,
    audit: gov.ledger,
    auditPublicKeyPem: gov.ledger.publicKeyPem,
    pki,
    identityOutDir: join(opts.dir, 'agents'),
    onCatalogChange: () => pinning.refresh(true),
    ...opts.console,
  });
  const server = await serveConsole(consoleApp, { host: '127.0.0.1', port: 0 });
  closers.push(() => server.close());
  return { consoleApp, server };
}

export async function startHarness(opts: HarnessOptions): Promise<Harness> {
  const closers: Closers = [];
  const close = async () => {
    for (const fn of closers.reverse()) await fn().catch(() => {});
  };
  try {
    const gov = await startGovernance(opts, closers);
    const side = await startAgentSide(opts, gov, closers);
    const { consoleApp, server } = await startConsole(opts, gov, side, closers);
    const { store } = gov;
    return {
      ...gov,
      queue: side.queue,
      mcp: side.mcp,
      mcpUrl: side.mcpUrl,
      consoleApp,
      console: server,
      async issueAgent(name) {
        const issued = await issueClientCertificate(opts.ca, {
          commonName: name,
          uris: [`spiffe://${TENANT_HOST}/agent/${name}`],
        });
        await store.identities.addIdentity({
          name,
          spiffeId: `spiffe://${TENANT_HOST}/agent/${name}`,
          certSerial: issued.serial,
          certFingerprint: issued.fingerprint,
          notAfter: issued.notAfter.getTime(),
          createdAt: Date.now(),
        });
        return { name, certPem: issued.certPem, keyPem: issued.keyPem };
      },
      async addAccount(name, password, role, revealPii = false) {
        await store.adminAccounts.putAdminAccount(
          { name, passwordHash: await hashPassword(password), role, revealPii },
          Date.now(),
        );
      },
      async connect(creds) {
        const f = tlsFetch({ caPem: opts.ca.certPem, client: creds });
        closers.push(f.close);
        const client = new Client({ name: `${creds.name}-client`, version: '1.0.0' });
        await client.connect(new StreamableHTTPClientTransport(side.mcpUrl, { fetch: f.fetch }));
        closers.push(() => client.close());
        return client;
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** The text of a tool result. */
export function resultText(result: { content?: unknown }): string {
  const content = (result.content ?? []) as Array<{ type: string; text?: string }>;
  return content.map((c) => c.text ?? '').join('');
}
