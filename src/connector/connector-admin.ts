/**
 * The connector's admin surface: its status, health (`/healthz`, `/readyz`, `/metrics`) and the
 * console with its admin API, on the admin address (loopback by default, never reachable through
 * the tunnel).
 *
 * @example
 * const admin = await startConnectorAdmin({ ctx, adminListen, store, pki, tenant, tenantHost, ... }, opened);
 * admin.consoleUrl; // http://127.0.0.1:<port>
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { AuditLedger } from '../audit/audit-ledger.js';
import type { ConnectorStatus } from '../console/connector-status.js';
import { startConsole } from '../console/console-server.js';
import type { TenantPki } from '../identity/tenant-pki.js';
import type { AgentMcpEndpoint } from '../mcp/agent-mcp-endpoint.js';
import type { UpstreamCatalog } from '../mcp/upstream-catalog.js';
import { listenAddress } from '../net/listen-address.js';
import type { Store } from '../store/store.js';
import type { CloseStack } from './close-stack.js';
import type { ConnectorContext } from './connector-context.js';
import type { Governance } from './connector-governance.js';
import type { UpstreamSigners } from './connector-upstreams.js';
import { type ConnectorHealth, connectorHealth } from './health/connector-health.js';
import { consoleReportSource } from './report/console-report-source.js';
import type { TunnelSupervisor } from './tunnel-supervisor.js';

/** The running parts the admin surface reports on and acts on. */
export interface ConnectorAdminParts {
  ctx: ConnectorContext;
  /** Overrides `admin.listen`. */
  adminListen?: string | undefined;
  tenant: string;
  tenantHost: string;
  store: Store;
  pki: TenantPki;
  audit: AuditLedger;
  catalog: UpstreamCatalog;
  governance: Governance;
  mcp: AgentMcpEndpoint;
  supervisor: TunnelSupervisor | undefined;
  signers: UpstreamSigners;
  logger: Logger;
}

export interface ConnectorAdmin {
  status(): ConnectorStatus;
  health: ConnectorHealth;
  /** `http://127.0.0.1:<port>`: console and admin API. */
  consoleUrl: string;
}

/** What the console's overview shows: tunnels, upstreams and the number of sessions. */
function connectorStatus(p: ConnectorAdminParts): () => ConnectorStatus {
  return () => ({
    tenant: p.tenant,
    tenantHost: p.tenantHost,
    tunnels: (p.supervisor?.status().tunnels ?? []).map((t) => ({
      slot: t.slot,
      state: t.state,
      transport: t.transport ?? '-',
      since: t.since,
      ...(t.lastError ? { lastError: t.lastError.message } : {}),
    })),
    upstreams: p.catalog.status().map((u) => ({
      name: u.name,
      state: u.state,
      restarts: u.restarts,
      kind: u.kind,
      ...(u.sandboxed !== undefined ? { sandboxed: u.sandboxed } : {}),
      ...(u.lastError ? { lastError: u.lastError } : {}),
    })),
    sessions: p.mcp.sessions().length,
  });
}

/**
 * Starts health and the console (closes deferred on `opened`; from `close()` on, `/readyz` answers
 * 503) and logs `connector ready` with the console's URL.
 */
export async function startConnectorAdmin(
  p: ConnectorAdminParts,
  opened: CloseStack,
): Promise<ConnectorAdmin> {
  const { ctx, store, governance, catalog, mcp, logger } = p;
  const status = connectorStatus(p);
  const health = connectorHealth({
    tenant: p.tenant,
    tenantHost: p.tenantHost,
    supervisor: p.supervisor,
    catalog,
    sessions: () => mcp.sessions().length,
    store,
    audit: p.audit,
    logger,
  });
  opened.onClosing(() => health.beginDrain());
  opened.defer(() => health.close());

  const admin = listenAddress(p.adminListen ?? ctx.config.admin.listen);
  const consoleServer = await startConsole({
    host: admin.host,
    port: admin.port,
    store,
    approvals: governance.approvals,
    status,
    sessions: () => mcp.sessions(),
    ...(governance.watcher ? { policy: governance.watcher } : {}),
    audit: p.audit,
    auditPublicKeyPem: p.audit.publicKeyPem,
    pki: p.pki,
    identityOutDir: join(ctx.dataDir, 'agents'),
    onCatalogChange: () => governance.pinning.refresh(true).then(() => store.changes.publish('catalog')),
    upstreamTokenJwks: () => p.signers.jwks(),
    ...(ctx.config.console?.oidc ? { oidc: ctx.config.console.oidc } : {}),
    report: consoleReportSource({ ctx, store, tenant: p.tenant, live: () => catalog.status() }),
    logger,
    adminRoutes: health.routes,
  });
  opened.defer(() => consoleServer.close());
  health.logStartup({ console: consoleServer.url });
  return { status, health, consoleUrl: consoleServer.url };
}
