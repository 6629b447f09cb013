/**
 * The relay: ONE public TCP port for agents and connectors alike.
 *
 * Every connection starts with a TLS ClientHello; the relay reads its SNI (without decrypting) and
 * - for the relay host (`relay.<domain>`) terminates TLS itself: ALPN `airlock-tunnel/1` → a
 *   connector tunnel over TLS; otherwise HTTPS → `POST /v1/enroll`, `GET /v1/connectors`,
 *   `GET /v1/tunnel` (tunnel over WebSocket, for connectors behind HTTP proxies) or `/v1/audit/...`
 *   (the audit-checkpoint witness, for enrolled connectors; see audit-witness-api.ts);
 * - for `<tenant>.<domain>` opens a stream on one of the tenant's tunnels and pipes the agent's raw
 *   bytes (TLS ciphertext, end to end to the connector) both ways;
 * - for anything else answers with a TLS alert and closes.
 *
 * `startRelay` only wires the parts: public-listener.ts (global and per-source caps, ClientHello),
 * agent-router.ts (SNI routing, per-tenant slots and fairness), relay-host-tls.ts,
 * relay-host-https.ts (router), websocket-upgrade.ts, tunnel-handshake.ts, relay-shutdown.ts. Options
 * and defaults are in relay-options.ts.
 *
 * @example
 * const store = await openStore({ url: 'sqlite::memory:' });
 * const identity = await createRelayIdentity({ relayHost: 'relay.localhost' });
 * const relay = await startRelay({ domain: 'localhost', store, identity, port: 8443 });
 * await relay.addTenant('acme');
 * const token = await relay.createEnrollmentToken('acme');
 */
import { startAdminServer } from './admin-server.js';
import { acceptSplice } from './agent-router.js';
import { type ClusterViewPush, startClusterViewPush } from './cluster/cluster-view-push.js';
import { type RelayClusterOptions, startRelayCluster } from './cluster/relay-cluster.js';
import { createPublicListener, listen } from './public-listener.js';
import { createRelayContext, type RelayContext } from './relay-context.js';
import { drainRelay } from './relay-drain.js';
import { createRelayHostHttps } from './relay-host-https.js';
import { trackIdleRelayHostConnections } from './relay-host-idle.js';
import { createRelayHostTls } from './relay-host-tls.js';
import type { Relay, RelayOptions } from './relay-options.js';
import { closeRelay, revokeConnector } from './relay-shutdown.js';
import { relayStatus } from './relay-status.js';
import { addTenant, issueEnrollmentToken } from './tenant-admin.js';
import { listTenantConnectors } from './tenant-connectors.js';
import { serveWebSocketTunnels } from './websocket-upgrade.js';

export * from './relay-options.js';

/**
 * Joins the cluster: presence in Redis, the node link; tunnel changes are announced at once, and
 * connectors are told which node they reached and which others exist (cluster views).
 */
async function joinCluster(ctx: RelayContext, options: RelayClusterOptions, publicPort: number) {
  const logger = ctx.logger.child({ part: 'cluster' });
  const cluster = await startRelayCluster({
    identity: ctx.identity,
    relayHost: ctx.relayHost,
    options: { publicAdvertise: `${ctx.options.host ?? '0.0.0.0'}:${publicPort}`, ...options },
    tenants: () => ctx.registry.availableTenants(),
    tunnelCount: () => ctx.liveTunnels.size,
    onSplice: (request) => acceptSplice(ctx, request),
    logger,
  });
  const views = startClusterViewPush({
    cluster,
    tunnels: () => ctx.liveTunnels,
    intervalMs: options.presenceHeartbeatMs,
    logger,
  });
  ctx.events.on('tunnel-up', () => {
    cluster.tenantsChanged();
    void views.pushNow();
  });
  ctx.events.on('tunnel-down', () => cluster.tenantsChanged());
  const close = cluster.close.bind(cluster);
  const leave = (): Promise<void> => {
    views.stop();
    return close();
  };
  return { cluster: Object.assign(cluster, { close: leave }), views };
}

/**
 * Starts the relay and resolves once both listeners are bound.
 *
 * @example
 * const relay = await startRelay({ domain: 'localhost', host: '127.0.0.1', port: 0, store, identity });
 * console.log(`agents: https://acme.localhost:${relay.port}/mcp`);
 */
export async function startRelay(options: RelayOptions): Promise<Relay> {
  const ctx = createRelayContext(options);
  const https = createRelayHostHttps(ctx);
  const wss = serveWebSocketTunnels(ctx, https);
  const closeIdle = trackIdleRelayHostConnections(https.server, () => ctx.draining);
  const server = createPublicListener(ctx, createRelayHostTls(ctx, https));
  const address = await listen(server, options.port ?? 443, options.host ?? '0.0.0.0');
  let admin: Awaited<ReturnType<typeof startAdminServer>>;
  try {
    admin = await startAdminServer({
      host: options.adminHost ?? '127.0.0.1',
      port: options.adminPort ?? 0,
      registry: ctx.metrics.registry,
      healthy: () => !ctx.closing,
      ready: () => !ctx.closing && !ctx.draining,
      onDrain: () => void drain(),
      status: () => relayStatus(ctx),
      ...(options.adminHostnames ? { hostnames: options.adminHostnames } : {}),
    });
  } catch (err) {
    server.close();
    https.server.close();
    throw err;
  }
  const { store, relayHost, domain } = ctx;
  let views: ClusterViewPush | undefined;
  try {
    const joined = options.cluster ? await joinCluster(ctx, options.cluster, address.port) : undefined;
    ctx.cluster = joined?.cluster;
    views = joined?.views;
  } catch (err) {
    server.close();
    https.server.close();
    await admin.close();
    throw err;
  }
  ctx.logger.info({ port: address.port, relayHost, domain }, 'relay listening');
  const close = () => closeRelay(ctx, { server, https: https.server, wss, admin });
  const drain = (): Promise<void> =>
    drainRelay(ctx, {
      ...(options.drainGraceMs !== undefined ? { graceMs: options.drainGraceMs } : {}),
      ...(views ? { pushViews: views.pushNow } : {}),
      closeIdle,
      close,
    });
  return {
    cluster: ctx.cluster,
    host: address.address,
    port: address.port,
    adminPort: admin.port,
    domain,
    relayHost,
    caPem: options.identity.ca.certPem,
    metrics: ctx.metrics,
    events: ctx.events,
    addTenant: (name: string) => addTenant(store, name, relayHost),
    createEnrollmentToken: async (tenant: string, tokenOptions: { ttlMs?: number } = {}) =>
      (await issueEnrollmentToken(store, tenant, tokenOptions)).token,
    revokeConnector: (connectorId: string) => revokeConnector(ctx, connectorId),
    connectors: (tenant: string) => listTenantConnectors(store, ctx.registry, tenant),
    tunnels: () => ctx.registry.summary(),
    drain,
    status: () => relayStatus(ctx),
    close,
  };
}
