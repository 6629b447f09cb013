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
import { ApprovalTokenSigner, approvalTokenHeaders } from '../approvals/approval-token.js';
import type { AuditLedger } from '../audit/audit-ledger.js';
import type { ConnectorStatus } from '../console/connector-status.js';
import { startConsole } from '../console/console-server.js';
import { AirlockError } from '../errors/airlock-error.js';
import { gatewayStages } from '../gateway/gateway-stages.js';
import { ensureTenantPki, type TenantPki } from '../identity/tenant-pki.js';
import { fetchWithUpstreamHeaders } from '../identity/upstream-token-context.js';
import { UpstreamTokenMinter } from '../identity/upstream-token-minter.js';
import { AgentMcpEndpoint } from '../mcp/agent-mcp-endpoint.js';
import { Upstream } from '../mcp/upstream.js';
import { UpstreamCatalog } from '../mcp/upstream-catalog.js';
import { DEFAULT_UPSTREAM_PROTOCOL, type UpstreamConfig } from '../mcp/upstream-config.js';
import { listenAddress } from '../net/listen-address.js';
import { sandboxFromYaml } from '../sandbox/sandbox-config.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/store.js';
import type { AcmeCertificate } from './acme/acme-certificate.js';
import { divertAcmeValidation } from './acme/acme-validation-divert.js';
import { openConnectorAcme } from './acme/connector-acme.js';
import { AgentEndpoint } from './agent-endpoint.js';
import type { UpstreamEntry } from './config-schema.js';
import { agentAuthFromConfig } from './connector-agent-auth.js';
import { openConnectorAudit } from './connector-audit.js';
import { type ConnectorContext, requireTenantHost } from './connector-context.js';
import { type Governance, openGovernance } from './connector-governance.js';
import { connectorHealth } from './health/connector-health.js';
import type { ConnectorMetrics } from './health/connector-metrics.js';
import type { ReadinessReport } from './health/connector-readiness.js';
import { followPairChanges } from './pair/pair-changes.js';
import { consoleReportSource } from './report/console-report-source.js';
import { TunnelSupervisor } from './tunnel-supervisor.js';

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

function toUpstreamConfig(name: string, entry: UpstreamEntry, ctx: ConnectorContext): UpstreamConfig {
  const timeoutMs = ctx.config.mcp.upstreamTimeoutMs;
  const protocol = entry.protocol ?? DEFAULT_UPSTREAM_PROTOCOL;
  if (entry.url !== undefined)
    return { name, kind: 'http', url: entry.url, headers: entry.headers ?? {}, timeoutMs, protocol };
  return {
    name,
    kind: 'stdio',
    command: entry.command ?? '',
    args: entry.args ?? [],
    env: entry.env ?? {},
    // Every stdio upstream runs in the sandbox unless its config says otherwise; the connector's own
    // data (keys, credential, store) and config are never visible inside.
    sandbox: sandboxFromYaml(entry.sandbox, {
      resolvePath: ctx.resolvePath,
      hiddenPaths: [
        ctx.dataDir,
        ctx.configFile,
        ...(ctx.storeUrl.startsWith('sqlite:') ? [ctx.storeUrl.slice('sqlite:'.length)] : []),
      ],
    }),
    ...(entry.cwd ? { cwd: ctx.resolvePath(entry.cwd) } : {}),
    timeoutMs,
    protocol,
  };
}

export async function startConnector(
  ctx: ConnectorContext,
  options: StartConnectorOptions = {},
): Promise<Connector> {
  const logger = options.logger ?? pino({ level: 'silent' });
  const tenantHost = requireTenantHost(ctx);
  const pki = await ensureTenantPki(join(ctx.dataDir, 'tenant'), tenantHost);
  const store = await openStore({ url: ctx.storeUrl });
  const cleanups: Array<() => Promise<unknown>> = [() => store.close()];
  let beginDrain = () => {};
  let beginStop = () => {}; // upstreams: a child lost from now on is expected (no restart, no warning)
  const closeAll = async () => {
    beginStop();
    beginDrain();
    for (const fn of cleanups.reverse()) await fn().catch((err) => logger.warn({ err }, 'close failed'));
  };

  try {
    // Audit first: if the trail cannot be written, the connector does not start (fail closed).
    const audit = await openConnectorAudit(ctx, store, {
      logger,
      ...(options.proxy ? { proxy: options.proxy } : {}),
    });
    cleanups.push(() => audit.close());

    // Short-lived tokens for HTTP upstreams (sub = end user, act = agent), when configured.
    const tokens = ctx.config.upstreamTokens;
    const minter = tokens
      ? await UpstreamTokenMinter.open({
          dataDir: ctx.dataDir,
          issuer: tokens.issuer ?? `https://${tenantHost}`,
          alg: tokens.alg,
          ttlSec: tokens.ttlSec,
          header: tokens.header,
        })
      : undefined;
    // Approved calls carry a signed approval token to their upstream (same key and JWKS as the minter).
    const approvalTokens = await ApprovalTokenSigner.open({
      dataDir: ctx.dataDir,
      issuer: tokens?.issuer ?? `https://${tenantHost}`,
      ...(tokens?.alg ? { alg: tokens.alg } : {}),
    });
    const upstreamFetch = fetchWithUpstreamHeaders();

    const upstreams = Object.entries(ctx.config.upstreams).map(
      ([name, entry]) =>
        new Upstream(toUpstreamConfig(name, entry, ctx), {
          logger, // Upstream adds { upstream: name } itself.
          serverRequests: ctx.config.mcp.allowServerRequests,
          fetch: upstreamFetch,
        }),
    );
    const catalog = new UpstreamCatalog(upstreams, {
      separator: ctx.config.mcp.namespaceSeparator,
      prefix: ctx.config.mcp.namespace !== 'none',
      logger,
    });
    cleanups.push(() => catalog.close());
    beginStop = () => catalog.beginStop();
    await catalog.start();

    const tenant = ctx.credential?.tenant ?? tenantHost.split('.')[0] ?? tenantHost;
    const governance = await openGovernance(ctx, store, catalog, {
      logger,
      tenant,
      audit: audit.ledger,
    });
    cleanups.push(() => governance.close());

    const mcp = new AgentMcpEndpoint({
      catalog,
      stages: gatewayStages({
        identities: store.identities,
        audit: audit.ledger,
        approvalTokens,
        ...governance.stageDeps,
      }),
      maxRequestBodyBytes: ctx.config.mcp.maxRequestBytes,
      allowServerRequests: ctx.config.mcp.allowServerRequests,
      outbound: governance.outbound,
      upstreamHeaders: async (c, upstream) => ({
        ...(minter ? await minter.mintUpstreamHeaders(c, upstream) : {}),
        ...approvalTokenHeaders(c),
      }),
      maxSessions: ctx.config.mcp.maxSessions,
      sessionIdleTimeoutMs: ctx.config.mcp.sessionIdleMs,
      logger,
    });
    cleanups.push(() => mcp.close());
    // Approvals, quarantines and the kill switch change what agents may see: tell connected sessions.
    const offPinning = governance.pinning.onChanged(() => mcp.notifyListChanged('tools'));
    cleanups.push(async () => offPinning());

    const endpoint = new AgentEndpoint({
      tls: { keyPem: pki.serverKeyPem, certPem: pki.serverCertPem, caPem: pki.caCertPem },
      handler: mcp.nodeHandler,
      identities: store.identities,
      ...agentAuthFromConfig(ctx.config, tenantHost),
      limits: { revocationPollIntervalMs: ctx.config.agents.revocationPollMs },
      // A revoked identity loses its open sessions and streams too, not only its next request.
      onConnectionsClosed: (identity, reason) => {
        if (reason !== 'expired') void mcp.closeSessionsOf(identity.name);
      },
      logger,
    });
    cleanups.push(() => endpoint.close());
    // Members of a pair share the store: apply the others' changes at once (src/connector/pair/).
    const { watcher, pinning, approvals } = governance;
    const stopPair = followPairChanges({ store, watcher, pinning, approvals, endpoint, logger });
    cleanups.push(async () => stopPair());
    // tls.acme: a public certificate for hosted agents; the tenant CA still checks client certificates.
    const acmeConfig = ctx.config.tls?.acme;
    const acme = acmeConfig
      ? await openConnectorAcme(acmeConfig, {
          dataDir: ctx.dataDir,
          hostname: tenantHost,
          resolvePath: ctx.resolvePath,
          onCertificate: (c) => endpoint.setCertificate(c),
          logger,
        })
      : undefined;
    if (acme) cleanups.push(async () => acme.stop());

    let agentsAddress: AddressInfo | undefined;
    const agentsListen = options.agentsListen ?? ctx.config.agents.listen;
    if (agentsListen) {
      const { host, port } = listenAddress(agentsListen);
      agentsAddress = await endpoint.listen(port, host);
    }

    let supervisor: TunnelSupervisor | undefined;
    const relay = ctx.config.relay;
    if (relay) {
      const cred = ctx.credential;
      if (!cred) {
        throw new AirlockError(
          'AIRLOCK_CONNECTOR_NOT_ENROLLED',
          `this connector has not enrolled yet: run "airlock connector enroll --config ${ctx.configFile} --token <token>"`,
        );
      }
      supervisor = new TunnelSupervisor({
        relayUrl: relay.url,
        ...(relay.connect ? { connectTo: listenAddress(relay.connect) } : {}),
        ...(cred.relayCaPem ? { relayCaPem: cred.relayCaPem } : {}),
        credential: { keyPem: cred.keyPem, certPem: cred.certPem },
        connectorId: cred.connectorId,
        tunnels: relay.tunnels,
        transport: relay.url.startsWith('wss:') ? 'websocket' : 'tls',
        ...(options.proxy ? { proxy: options.proxy } : {}),
        logger: logger.child({ part: 'tunnel' }),
        onStream: (stream, meta) => {
          if (meta.sni.toLowerCase() !== tenantHost) {
            logger.warn({ sni: meta.sni }, 'stream for another hostname refused');
            stream.destroy();
            return;
          }
          // TLS-ALPN-01 validations of the ACME CA are answered here; agents go on to the endpoint.
          if (!acme || acme.dns01) endpoint.accept(stream);
          else
            void divertAcmeValidation(stream, acme.certificate.challenges).then(
              (t) => t || endpoint.accept(stream),
            );
        },
      });
      const sup = supervisor;
      cleanups.push(() => sup.stop());
      supervisor.start();
    }
    acme?.start(() => whenTunnelUp(supervisor, 60_000));

    const status = (): ConnectorStatus => ({
      tenant,
      tenantHost,
      tunnels: (supervisor?.status().tunnels ?? []).map((t) => ({
        slot: t.slot,
        state: t.state,
        transport: t.transport ?? '-',
        since: t.since,
        ...(t.lastError ? { lastError: t.lastError.message } : {}),
      })),
      upstreams: catalog.status().map((u) => ({
        name: u.name,
        state: u.state,
        restarts: u.restarts,
        kind: u.kind,
        ...(u.sandboxed !== undefined ? { sandboxed: u.sandboxed } : {}),
        ...(u.lastError ? { lastError: u.lastError } : {}),
      })),
      sessions: mcp.sessions().length,
    });

    const health = connectorHealth({
      tenant,
      tenantHost,
      supervisor,
      catalog,
      sessions: () => mcp.sessions().length,
      store,
      audit: audit.ledger,
      logger,
    });
    beginDrain = () => health.beginDrain();
    cleanups.push(async () => health.close());

    // The console and admin API (with /healthz, /readyz, /metrics): loopback by default, never
    // reachable through the tunnel.
    const admin = listenAddress(options.adminListen ?? ctx.config.admin.listen);
    const consoleServer = await startConsole({
      host: admin.host,
      port: admin.port,
      store,
      approvals: governance.approvals,
      status,
      sessions: () => mcp.sessions(),
      ...(governance.watcher ? { policy: governance.watcher } : {}),
      audit: audit.ledger,
      auditPublicKeyPem: audit.ledger.publicKeyPem,
      pki,
      identityOutDir: join(ctx.dataDir, 'agents'),
      onCatalogChange: () => governance.pinning.refresh(true).then(() => store.changes.publish('catalog')),
      upstreamTokenJwks: () => (minter ?? approvalTokens).jwks(),
      ...(ctx.config.console?.oidc ? { oidc: ctx.config.console.oidc } : {}),
      report: consoleReportSource({ ctx, store, tenant, live: () => catalog.status() }),
      logger,
      adminRoutes: health.routes,
    });
    cleanups.push(() => consoleServer.close());
    health.logStartup({ console: consoleServer.url });

    return {
      tenantHost,
      pki,
      store,
      audit: audit.ledger,
      catalog,
      governance,
      adminUrl: consoleServer.url,
      agentsAddress,
      supervisor,
      acme: acme?.certificate,
      status,
      readiness: () => health.readiness(),
      metrics: health.metrics,
      whenTunnelUp: (timeoutMs = 15_000) => whenTunnelUp(supervisor, timeoutMs),
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

function whenTunnelUp(supervisor: TunnelSupervisor | undefined, timeoutMs: number): Promise<void> {
  if (!supervisor || supervisor.status().tunnels.some((t) => t.state === 'up')) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      supervisor.off('status', onStatus);
      const last = supervisor.status().tunnels.find((t) => t.lastError)?.lastError;
      reject(
        new AirlockError(
          'AIRLOCK_TUNNEL_TIMEOUT',
          `no tunnel to the relay came up within ${timeoutMs} ms${last ? `: ${last.message}` : ''}`,
          { retryable: true },
        ),
      );
    }, timeoutMs);
    const onStatus = (s: { tunnels: Array<{ state: string }> }) => {
      if (s.tunnels.some((t) => t.state === 'up')) {
        clearTimeout(timer);
        supervisor.off('status', onStatus);
        resolve();
      }
    };
    supervisor.on('status', onStatus);
  });
}
