/**
 * The connector, assembled: tenant PKI on local disk, the store, upstream MCP servers, the gateway
 * pipeline, the agent endpoint (tenant TLS termination), tunnels to the relay and the admin surface.
 *
 * Agents' TLS arrives as opaque bytes on a tunnel stream (or on the optional direct listener) and is
 * decrypted only here, with the tenant key that was generated here and never leaves `dataDir`.
 *
 * @example
 * const ctx = await loadConnectorContext('connector.yaml');
 * const connector = await startConnector(ctx, { logger });
 * // ...
 * await connector.close();
 */
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type Logger, pino } from 'pino';
import type { AuditLedger } from '../audit/audit-ledger.js';
import type { ConnectorStatus } from '../console/connector-status.js';
import { ensureTenantPki, type TenantPki } from '../identity/tenant-pki.js';
import type { UpstreamCatalog } from '../mcp/upstream-catalog.js';
import { listenAddress } from '../net/listen-address.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/store.js';
import type { AcmeCertificate } from './acme/acme-certificate.js';
import { type ConnectorAcme, openConnectorAcme } from './acme/connector-acme.js';
import type { AgentEndpoint } from './agent-endpoint.js';
import { CloseStack } from './close-stack.js';
import { startConnectorAdmin } from './connector-admin.js';
import { openAgentSide } from './connector-agent-side.js';
import { openConnectorAudit } from './connector-audit.js';
import { type ConnectorContext, requireTenantHost } from './connector-context.js';
import { type Governance, openGovernance } from './connector-governance.js';
import { startConnectorTunnels, whenTunnelUp } from './connector-tunnels.js';
import { openUpstreamSigners, startUpstreamCatalog } from './connector-upstreams.js';
import type { ConnectorMetrics } from './health/connector-metrics.js';
import type { ReadinessReport } from './health/connector-readiness.js';
import { startMemberHeartbeat } from './pair/member-heartbeat.js';
import type { TunnelSupervisor } from './tunnel-supervisor.js';

export interface StartConnectorOptions {
  logger?: Logger;
  /** Override `admin.listen` (e.g. port 0 in tests). */
  adminListen?: string;
  /** Override `agents.listen`. */
  agentsListen?: string;
  /** HTTP CONNECT proxy for WebSocket tunnels (default: HTTPS_PROXY / NO_PROXY from the environment). */
  proxy?: string;
}

export interface Connector {
  readonly tenantHost: string;
  readonly pki: TenantPki;
  readonly store: Store;
  /** The audit trail: every request and admin action (`recordAdminAction`), hash chained and signed. */
  readonly audit: AuditLedger;
  readonly catalog: UpstreamCatalog;
  /** Policy, tool pinning and kill switch, approvals, PII vault. */
  readonly governance: Governance;
  /** `http://127.0.0.1:<port>`: console and admin API. */
  readonly adminUrl: string;
  /** Address of the direct agent listener, when configured. */
  readonly agentsAddress: AddressInfo | undefined;
  readonly supervisor: TunnelSupervisor | undefined;
  /** The publicly trusted tenant certificate (`tls.acme`), obtained after the first tunnel is up. */
  readonly acme: AcmeCertificate | undefined;
  status(): ConnectorStatus;
  /** What `/readyz` answers: tunnels, upstreams (sandboxed or not), approvals, audit; `ready` and why not. */
  readiness(): Promise<ReadinessReport>;
  /** Prometheus metrics served at `/metrics` on the admin address. */
  readonly metrics: ConnectorMetrics;
  /** Resolves once at least one tunnel is up (immediately when no relay is configured). */
  whenTunnelUp(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** What every assembly step shares: the context, the tenant and what is open so far. */
interface Assembly {
  ctx: ConnectorContext;
  options: StartConnectorOptions;
  logger: Logger;
  tenantHost: string;
  pki: TenantPki;
  store: Store;
  opened: CloseStack;
}

/**
 * Starts the connector from its loaded context: audit first (fail closed), upstreams, governance,
 * the agent side, the optional public certificate and direct listener, tunnels, then the admin
 * surface. If a step fails, what the earlier ones opened is closed and the error is thrown.
 *
 * @example
 * const connector = await startConnector(await loadConnectorContext('connector.yaml'), { logger });
 */
export async function startConnector(
  ctx: ConnectorContext,
  options: StartConnectorOptions = {},
): Promise<Connector> {
  const logger = options.logger ?? pino({ level: 'silent' });
  const tenantHost = requireTenantHost(ctx);
  const pki = await ensureTenantPki(join(ctx.dataDir, 'tenant'), tenantHost);
  const store = await openStore({ url: ctx.storeUrl });
  const opened = new CloseStack((err) => logger.warn({ err }, 'close failed'));
  opened.defer(() => store.close());
  try {
    return await assembleConnector({ ctx, options, logger, tenantHost, pki, store, opened });
  } catch (err) {
    await opened.close();
    throw err;
  }
}

async function assembleConnector(a: Assembly): Promise<Connector> {
  const { ctx, options, logger, tenantHost, pki, store, opened } = a;
  // Audit first: if the trail cannot be written, the connector does not start (fail closed).
  const audit = await openConnectorAudit(ctx, store, {
    logger,
    ...(options.proxy ? { proxy: options.proxy } : {}),
  });
  opened.defer(() => audit.close());
  const signers = await openUpstreamSigners(ctx, tenantHost);
  const catalog = await startUpstreamCatalog(ctx, logger, opened);

  const tenant = ctx.credential?.tenant ?? tenantHost.split('.')[0] ?? tenantHost;
  const governance = await openGovernance(ctx, store, catalog, { logger, tenant, audit: audit.ledger });
  opened.defer(() => governance.close());
  const agentSide = {
    ctx,
    store,
    pki,
    tenantHost,
    catalog,
    governance,
    audit: audit.ledger,
    signers,
    logger,
  };
  const { mcp, endpoint } = openAgentSide(agentSide, opened);
  const acme = await openPublicCertificate(a, endpoint);
  const agentsAddress = await listenForAgents(endpoint, options.agentsListen ?? ctx.config.agents.listen);

  const supervisor = startConnectorTunnels(
    { ctx, proxy: options.proxy, tenantHost, endpoint, acme, logger },
    opened,
  );
  acme?.start(() => whenTunnelUp(supervisor, 60_000));

  const admin = await startConnectorAdmin(
    { ...agentSide, adminListen: options.adminListen, tenant, mcp, supervisor },
    opened,
  );
  const heartbeat = await startMemberHeartbeat({
    store,
    id: ctx.credential?.connectorId ?? tenantHost,
    status: admin.status,
    readiness: () => admin.health.readiness(),
    auditSigner: () => audit.ledger.checkpointSigner,
    logger,
  });
  opened.defer(() => heartbeat.stop());
  return {
    tenantHost,
    pki,
    store,
    audit: audit.ledger,
    catalog,
    governance,
    adminUrl: admin.consoleUrl,
    agentsAddress,
    supervisor,
    acme: acme?.certificate,
    status: admin.status,
    readiness: () => admin.health.readiness(),
    metrics: admin.health.metrics,
    whenTunnelUp: (timeoutMs = 15_000) => whenTunnelUp(supervisor, timeoutMs),
    close: () => opened.close(),
  };
}

/** `tls.acme`: a public certificate for hosted agents; the tenant CA still checks client certificates. */
async function openPublicCertificate(
  a: Assembly,
  endpoint: AgentEndpoint,
): Promise<ConnectorAcme | undefined> {
  const acmeConfig = a.ctx.config.tls?.acme;
  if (!acmeConfig) return undefined;
  const acme = await openConnectorAcme(acmeConfig, {
    dataDir: a.ctx.dataDir,
    hostname: a.tenantHost,
    resolvePath: a.ctx.resolvePath,
    onCertificate: (c) => endpoint.setCertificate(c),
    logger: a.logger,
  });
  a.opened.defer(() => acme.stop());
  return acme;
}

/** The optional direct agent listener (`agents.listen`), beside the tunnels. */
async function listenForAgents(
  endpoint: AgentEndpoint,
  listen: string | undefined,
): Promise<AddressInfo | undefined> {
  if (!listen) return undefined;
  const { host, port } = listenAddress(listen);
  return endpoint.listen(port, host);
}
