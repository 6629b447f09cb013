/**
 * The relay: ONE public TCP port for agents and connectors alike.
 *
 * Every connection starts with a TLS ClientHello; the relay reads its SNI (without decrypting) and
 * - for the relay host (`relay.<domain>`) terminates TLS itself: ALPN `airlock-tunnel/1` → a
 *   connector tunnel over TLS; otherwise HTTPS → `POST /v1/enroll`, `GET /v1/tunnel` (tunnel
 *   over WebSocket, for connectors behind HTTP proxies) or `/v1/audit/...` (the audit-checkpoint
 *   witness, for enrolled connectors; see audit-witness-api.ts);
 * - for `<tenant>.<domain>` opens a stream on one of the tenant's tunnels and pipes the agent's raw
 *   bytes (TLS ciphertext, end to end to the connector) both ways;
 * - for anything else answers with a TLS alert and closes.
 *
 * The relay-host HTTPS serves only requests whose `Host` is the relay host (any port) and whose
 * `Origin`, when present, is too (DNS-rebinding defence; 403 `AIRLOCK_RELAY_HOST_NOT_ALLOWED`). Slow
 * clients there are cut by header and request timeouts (checked every `connectionsCheckingIntervalMs`),
 * a connection without a request by `relayHostFirstRequestTimeoutMs`, and one source may hold at most
 * `maxRelayHostConnectionsPerSource` relay-host connections.
 *
 * @example
 * const store = await openStore({ url: 'sqlite::memory:' });
 * const identity = await createRelayIdentity({ relayHost: 'relay.localhost' });
 * const relay = await startRelay({ domain: 'localhost', store, identity, port: 8443 });
 * await relay.addTenant('acme');
 * const token = await relay.createEnrollmentToken('acme');
 */
import { EventEmitter } from 'node:events';
import http from 'node:http';
import type { ClientHttp2Stream } from 'node:http2';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { type Logger, pino } from 'pino';
import { createWebSocketStream, WebSocketServer } from 'ws';
import type { Store } from '../store/store.js';
import { DEFAULT_HEARTBEAT_INTERVAL_MS, DEFAULT_HEARTBEAT_TIMEOUT_MS } from '../tunnel/heartbeat.js';
import {
  ENROLL_PATH,
  encodeRejection,
  TUNNEL_ALPN,
  TUNNEL_WEBSOCKET_PATH,
  TunnelCodes,
} from '../tunnel/protocol.js';
import { startAdminServer } from './admin-server.js';
import { pipeAgent } from './agent-pipe.js';
import { createRelayAuditApi, isAuditWitnessPath } from './audit-witness-api.js';
import { DEFAULT_MAX_CLIENT_HELLO_BYTES, TlsAlert, tlsAlert } from './client-hello.js';
import { authenticateConnector, type ConnectorAuthResult } from './connector-auth.js';
import { DEFAULT_MAX_ENROLL_BODY_BYTES, handleEnroll, sendError } from './enrollment-api.js';
import { hostCheck } from './host-header-check.js';
import {
  DEFAULT_CONNECTIONS_CHECKING_INTERVAL_MS,
  FirstRequestDeadline,
  startConnectionChecks,
} from './http-connection-deadlines.js';
import { DEFAULT_CLIENT_HELLO_TIMEOUT_MS, readClientHello } from './read-client-hello.js';
import type { RelayIdentity } from './relay-identity.js';
import { type ByteDirection, RelayMetrics } from './relay-metrics.js';
import { RelayTunnel, type TunnelTransport } from './relay-tunnel.js';
import {
  DEFAULT_MAX_RELAY_HOST_CONNECTIONS_PER_SOURCE,
  SourceConnectionLimit,
} from './source-connection-limit.js';
import { addTenant, issueEnrollmentToken } from './tenant-admin.js';
import { TunnelRegistry, type TunnelSummary } from './tunnel-registry.js';

/** At most this many agent connections per tenant at once. */
export const DEFAULT_MAX_AGENT_CONNECTIONS_PER_TENANT = 1000;
/** At most this many TCP connections on the public port (handshakes included). */
export const DEFAULT_MAX_CONNECTIONS = 20_000;
/** A connector may keep this many tunnels (slots 0..n-1). */
export const DEFAULT_MAX_TUNNELS_PER_CONNECTOR = 8;
/** At most this many concurrent agent streams on one tunnel. */
export const DEFAULT_MAX_STREAMS_PER_TUNNEL = 1000;
/** Largest WebSocket message on a WebSocket tunnel (HTTP/2 frames are at most 16 KiB + header by default). */
export const DEFAULT_WEBSOCKET_MAX_PAYLOAD = 1024 * 1024;
/** Time a new tunnel has to answer the hello. */
export const DEFAULT_TUNNEL_HELLO_TIMEOUT_MS = 10_000;
/** Time for the TLS handshake on the relay host. */
export const DEFAULT_RELAY_TLS_HANDSHAKE_TIMEOUT_MS = 10_000;
/** Time to receive a request's headers on the relay-host HTTPS (enrollment, witness, WebSocket upgrade). */
export const DEFAULT_RELAY_HOST_HEADERS_TIMEOUT_MS = 10_000;
/** Time to receive a whole request (headers and body) on the relay-host HTTPS. */
export const DEFAULT_RELAY_HOST_REQUEST_TIMEOUT_MS = 15_000;
export { DEFAULT_CONNECTIONS_CHECKING_INTERVAL_MS, DEFAULT_MAX_RELAY_HOST_CONNECTIONS_PER_SOURCE };

export interface RelayLimits {
  /** Time a connection has to send its ClientHello (default 5000 ms). */
  clientHelloTimeoutMs?: number;
  /** Bound on ClientHello bytes (default 16 KiB). */
  maxClientHelloBytes?: number;
  maxAgentConnectionsPerTenant?: number;
  maxConnections?: number;
  maxTunnelsPerConnector?: number;
  maxStreamsPerTunnel?: number;
  /** PING interval on every tunnel (default 2000 ms). */
  heartbeatIntervalMs?: number;
  /** Missing PING acknowledgement after this long ends the tunnel (default 4000 ms). */
  heartbeatTimeoutMs?: number;
  websocketMaxPayload?: number;
  tunnelHelloTimeoutMs?: number;
  tlsHandshakeTimeoutMs?: number;
  maxEnrollBodyBytes?: number;
  /** Relay-host HTTPS header timeout. Default {@link DEFAULT_RELAY_HOST_HEADERS_TIMEOUT_MS}. */
  relayHostHeadersTimeoutMs?: number;
  /** Relay-host HTTPS request timeout. Default {@link DEFAULT_RELAY_HOST_REQUEST_TIMEOUT_MS}. */
  relayHostRequestTimeoutMs?: number;
  /**
   * Time from the end of the relay-host TLS handshake (HTTPS, not tunnels: those have the tunnel hello
   * timeout) to the first request's headers; a connection that says nothing is closed then.
   * Default: `relayHostHeadersTimeoutMs`. `0` disables.
   */
  relayHostFirstRequestTimeoutMs?: number;
  /**
   * How often the relay-host header and request timeouts are checked.
   * Default {@link DEFAULT_CONNECTIONS_CHECKING_INTERVAL_MS} (1 s; Node's own default is 30 s).
   */
  connectionsCheckingIntervalMs?: number;
  /**
   * Most concurrent relay-host connections (tunnels, HTTPS, handshakes) from one source address (an
   * IPv6 /64 counts as one source), so one source cannot use up `maxConnections`.
   * Default {@link DEFAULT_MAX_RELAY_HOST_CONNECTIONS_PER_SOURCE}; `0` disables.
   *
   * @example
   * await startRelay({ ...options, limits: { maxRelayHostConnectionsPerSource: 64 } });
   */
  maxRelayHostConnectionsPerSource?: number;
}

export interface RelayOptions extends RelayLimits {
  /** Tenants are `<tenant>.<domain>`. */
  domain: string;
  /** Host name the relay terminates TLS for (default `relay.<domain>`). */
  relayHost?: string;
  /** Public listener (default 0.0.0.0:443; tests use 127.0.0.1:0). */
  host?: string;
  port?: number;
  /** Admin listener for /metrics and /healthz (default 127.0.0.1:0). */
  adminHost?: string;
  adminPort?: number;
  /**
   * `Host` names the admin listener answers besides loopback names and IP literals (DNS-rebinding
   * defence). Default none.
   */
  adminHostnames?: string[];
  store: Store;
  identity: RelayIdentity;
  /** Also nested form, same fields as the top-level limits. */
  limits?: RelayLimits;
  logger?: Logger;
  /** Test hook: sees every byte the relay pipes (to prove it only ever sees ciphertext). */
  onPipe?: (tenant: string, direction: ByteDirection, chunk: Buffer) => void;
}

export interface Relay {
  readonly host: string;
  readonly port: number;
  readonly adminPort: number;
  readonly domain: string;
  readonly relayHost: string;
  /** PEM of the relay's CA: connectors pin it. */
  readonly caPem: string;
  readonly metrics: RelayMetrics;
  /** Emits `tunnel-up` / `tunnel-down` with a {@link TunnelSummary}-like object. */
  readonly events: EventEmitter;
  addTenant(name: string): Promise<void>;
  createEnrollmentToken(tenant: string, options?: { ttlMs?: number }): Promise<string>;
  /** Revokes a connector and ends its live tunnels at once. */
  revokeConnector(connectorId: string): Promise<boolean>;
  tunnels(): TunnelSummary[];
  close(): Promise<void>;
}

/** The label left of `.<domain>` in an agent's SNI (tenant names are validated in tenant-admin.ts). */
const TENANT_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

type RoutingFailure =
  | 'hello_timeout'
  | 'hello_closed'
  | 'invalid_hello'
  | 'no_sni'
  | 'unknown_host'
  | 'unknown_tenant'
  | 'no_tunnel'
  | 'tenant_connection_limit'
  | 'source_connection_limit'
  | 'stream_refused'
  | 'relay_closing'
  | 'internal';

/**
 * Starts the relay and resolves once both listeners are bound.
 *
 * @example
 * const relay = await startRelay({ domain: 'localhost', host: '127.0.0.1', port: 0, store, identity });
 * console.log(`agents: https://acme.localhost:${relay.port}/mcp`);
 */
export async function startRelay(options: RelayOptions): Promise<Relay> {
  const limits = { ...options.limits, ...stripUndefined(options) };
  const domain = options.domain.toLowerCase();
  const relayHost = (options.relayHost ?? `relay.${domain}`).toLowerCase();
  const logger = options.logger ?? pino({ level: 'silent' });
  const store = options.store;
  const helloTimeoutMs = limits.clientHelloTimeoutMs ?? DEFAULT_CLIENT_HELLO_TIMEOUT_MS;
  const maxHelloBytes = limits.maxClientHelloBytes ?? DEFAULT_MAX_CLIENT_HELLO_BYTES;
  const maxPerTenant = limits.maxAgentConnectionsPerTenant ?? DEFAULT_MAX_AGENT_CONNECTIONS_PER_TENANT;
  const maxTunnelsPerConnector = limits.maxTunnelsPerConnector ?? DEFAULT_MAX_TUNNELS_PER_CONNECTOR;
  const tunnelOptions = {
    heartbeatIntervalMs: limits.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS,
    heartbeatTimeoutMs: limits.heartbeatTimeoutMs ?? DEFAULT_HEARTBEAT_TIMEOUT_MS,
    maxStreamsPerTunnel: limits.maxStreamsPerTunnel ?? DEFAULT_MAX_STREAMS_PER_TUNNEL,
  };
  const tunnelHelloTimeoutMs = limits.tunnelHelloTimeoutMs ?? DEFAULT_TUNNEL_HELLO_TIMEOUT_MS;
  const relayHostHeadersTimeoutMs = limits.relayHostHeadersTimeoutMs ?? DEFAULT_RELAY_HOST_HEADERS_TIMEOUT_MS;
  const relayHostPerSource = new SourceConnectionLimit(
    limits.maxRelayHostConnectionsPerSource ?? DEFAULT_MAX_RELAY_HOST_CONNECTIONS_PER_SOURCE,
  );

  const registry = new TunnelRegistry();
  const liveTunnels = new Set<RelayTunnel>();
  const metrics = new RelayMetrics(() => registry.counts());
  const events = new EventEmitter();
  const sockets = new Set<net.Socket>();
  const activePerTenant = new Map<string, number>();
  let closing = false;

  // ---- routing failures --------------------------------------------------------------------
  const refuse = (socket: net.Socket, reason: RoutingFailure, alert: number, sni?: string): void => {
    metrics.routingFailures.inc({ reason });
    logger.info({ reason, sni, peer: peerOf(socket) }, 'agent connection refused');
    if (socket.destroyed) return;
    socket.end(tlsAlert(alert));
    socket.resume(); // drain whatever else arrives so the close is a clean FIN, not a RST
    setTimeout(() => socket.destroy(), 2000).unref();
  };

  // ---- relay-host TLS: tunnels over TLS, enrollment and WebSocket tunnels over HTTPS ----------
  const relayTls = tls.createServer({
    key: options.identity.server.keyPem,
    cert: options.identity.server.certPem,
    ca: [options.identity.connectorCa.certPem],
    requestCert: true,
    rejectUnauthorized: false,
    ALPNProtocols: [TUNNEL_ALPN, 'http/1.1'],
    handshakeTimeout: limits.tlsHandshakeTimeoutMs ?? DEFAULT_RELAY_TLS_HANDSHAKE_TIMEOUT_MS,
    minVersion: 'TLSv1.2',
  });
  relayTls.on('tlsClientError', (err, socket) => {
    logger.debug({ err: err.message }, 'relay host TLS handshake failed');
    socket.destroy();
  });
  relayTls.on('secureConnection', (socket: tls.TLSSocket) => {
    socket.on('error', (err) => logger.debug({ err: err.message }, 'relay host socket error'));
    if (socket.alpnProtocol === TUNNEL_ALPN) {
      void acceptTlsTunnel(socket).catch((err: unknown) => {
        logger.warn({ err: (err as Error).message }, 'tunnel setup failed');
        socket.destroy();
      });
    } else {
      firstRequest.watch(socket);
      https.emit('connection', socket);
    }
  });

  const auditApi = createRelayAuditApi({ store, logger: logger.child({ part: 'audit-witness' }) });
  const https = http.createServer({
    headersTimeout: relayHostHeadersTimeoutMs,
    requestTimeout: limits.relayHostRequestTimeoutMs ?? DEFAULT_RELAY_HOST_REQUEST_TIMEOUT_MS,
    connectionsCheckingInterval:
      limits.connectionsCheckingIntervalMs ?? DEFAULT_CONNECTIONS_CHECKING_INTERVAL_MS,
  });
  const firstRequest = new FirstRequestDeadline(
    limits.relayHostFirstRequestTimeoutMs ?? relayHostHeadersTimeoutMs,
    (socket) =>
      logger.debug({ peer: peerOf(socket as net.Socket) }, 'relay host connection without a request closed'),
  );
  const relayHostRefusal = hostCheck({ hostnames: [relayHost] });
  https.on('request', (req, res) => {
    firstRequest.seen(req.socket);
    const refusal = relayHostRefusal(req);
    if (refusal !== undefined) {
      logger.info({ peer: peerOf(req.socket), refusal }, 'relay host request refused');
      sendError(res, 403, 'AIRLOCK_RELAY_HOST_NOT_ALLOWED', refusal);
      return;
    }
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (isAuditWitnessPath(path)) {
      void auditApi.handle(req, res);
      return;
    }
    if (req.method === 'POST' && path === ENROLL_PATH) {
      handleEnroll(req, res, {
        store,
        connectorCa: options.identity.connectorCa,
        domain,
        logger,
        maxBodyBytes: limits.maxEnrollBodyBytes ?? DEFAULT_MAX_ENROLL_BODY_BYTES,
        registerAuditKey: (tenant, pem) => auditApi.witness.registerKey(tenant, pem),
      }).catch((err: unknown) => {
        logger.error({ err: (err as Error).message }, 'enrollment failed');
        if (!res.headersSent)
          sendError(res, 500, 'AIRLOCK_ENROLL_INTERNAL', 'enrollment failed on the relay');
        else res.destroy();
      });
      return;
    }
    sendError(res, 404, 'AIRLOCK_RELAY_NOT_FOUND', `no route for ${req.method} ${path}`);
  });
  https.on('clientError', (_err, socket) => socket.destroy());

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: limits.websocketMaxPayload ?? DEFAULT_WEBSOCKET_MAX_PAYLOAD,
    perMessageDeflate: false,
  });
  https.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    firstRequest.seen(socket);
    const refusal = relayHostRefusal(req);
    if (refusal !== undefined) {
      logger.info({ peer: peerOf(socket), refusal }, 'relay host upgrade refused');
      writeUpgradeError(socket, 403, { code: 'AIRLOCK_RELAY_HOST_NOT_ALLOWED', message: refusal });
      return;
    }
    const path = (req.url ?? '/').split('?')[0];
    if (path !== TUNNEL_WEBSOCKET_PATH || closing) {
      writeUpgradeError(socket, closing ? 503 : 404, {
        code: closing ? TunnelCodes.RELAY_CLOSING : 'AIRLOCK_RELAY_NOT_FOUND',
        message: closing ? 'relay is shutting down' : `no WebSocket endpoint at ${path}`,
      });
      return;
    }
    const tlsSocket = req.socket as tls.TLSSocket;
    authenticateConnector(tlsSocket, store)
      .then((auth) => {
        if (!auth.ok) {
          logger.info({ code: auth.rejection.code, peer: peerOf(tlsSocket) }, 'tunnel refused');
          writeUpgradeError(socket, 403, auth.rejection);
          return;
        }
        wss.handleUpgrade(req, socket, head, (ws) => {
          const duplex = createWebSocketStream(ws);
          duplex.on('error', () => duplex.destroy());
          void setUpTunnel(auth, duplex, 'websocket', peerOf(tlsSocket)).catch(() => duplex.destroy());
        });
      })
      .catch((err: unknown) => {
        logger.error({ err: (err as Error).message }, 'tunnel authentication failed');
        writeUpgradeError(socket, 500, { code: 'AIRLOCK_RELAY_INTERNAL', message: 'relay failed' });
      });
  });

  async function acceptTlsTunnel(socket: tls.TLSSocket): Promise<void> {
    const auth = await authenticateConnector(socket, store);
    if (!auth.ok) {
      logger.info({ code: auth.rejection.code, peer: peerOf(socket) }, 'tunnel refused');
      new RelayTunnel(
        { tenant: '', connectorId: '', transport: 'tls', remoteAddress: peerOf(socket) },
        socket,
        tunnelOptions,
      ).reject(auth.rejection);
      return;
    }
    await setUpTunnel(auth, socket, 'tls', peerOf(socket));
  }

  async function setUpTunnel(
    auth: Extract<ConnectorAuthResult, { ok: true }>,
    duplex: Duplex,
    transport: TunnelTransport,
    remoteAddress: string,
  ): Promise<void> {
    const tunnel = new RelayTunnel(
      { tenant: auth.tenant, connectorId: auth.connectorId, transport, remoteAddress },
      duplex,
      tunnelOptions,
    );
    liveTunnels.add(tunnel);
    tunnel.once('close', (reason: string) => {
      liveTunnels.delete(tunnel);
      registry.remove(tunnel);
      if (tunnel.hello) {
        logger.info(
          { tenant: auth.tenant, connectorId: auth.connectorId, slot: tunnel.hello.slot, reason },
          'tunnel down',
        );
        events.emit('tunnel-down', {
          tenant: auth.tenant,
          connectorId: auth.connectorId,
          slot: tunnel.hello.slot,
          reason,
        });
      }
    });
    tunnel.on('draining', () => registry.remove(tunnel));
    let hello: Awaited<ReturnType<RelayTunnel['requestHello']>>;
    try {
      hello = await tunnel.requestHello(tunnelHelloTimeoutMs);
    } catch (err) {
      logger.info({ connectorId: auth.connectorId, err: (err as Error).message }, 'tunnel hello failed');
      tunnel.reject({ code: TunnelCodes.PROTOCOL, message: `hello failed: ${(err as Error).message}` });
      return;
    }
    if (hello.connectorId !== auth.connectorId) {
      tunnel.reject({
        code: TunnelCodes.HELLO_INVALID,
        message: 'hello names another connector than the certificate',
      });
      return;
    }
    if (hello.slot >= maxTunnelsPerConnector) {
      tunnel.reject({
        code: TunnelCodes.SLOT_INVALID,
        message: `tunnel slot ${hello.slot} is outside 0..${maxTunnelsPerConnector - 1}`,
      });
      return;
    }
    if (closing) {
      tunnel.reject({ code: TunnelCodes.RELAY_CLOSING, message: 'relay is shutting down' }, 0);
      return;
    }
    const replaced = registry.add(tunnel);
    if (replaced) {
      replaced.reject(
        { code: TunnelCodes.REPLACED, message: 'a newer tunnel with the same slot replaced this one' },
        0,
      );
      logger.info(
        { tenant: auth.tenant, connectorId: auth.connectorId, slot: hello.slot },
        'tunnel replaced',
      );
    }
    tunnel.startHeartbeat();
    tunnel.sendReady();
    logger.info(
      { tenant: auth.tenant, connectorId: auth.connectorId, slot: hello.slot, transport },
      'tunnel up',
    );
    events.emit('tunnel-up', {
      tenant: auth.tenant,
      connectorId: auth.connectorId,
      slot: hello.slot,
      transport,
    });
  }

  // ---- agent connections ----------------------------------------------------------------------
  function tenantOf(sni: string): string | undefined {
    const suffix = `.${domain}`;
    if (!sni.endsWith(suffix)) return undefined;
    const label = sni.slice(0, -suffix.length);
    return TENANT_LABEL.test(label) ? label : undefined;
  }

  async function routeAgent(socket: net.Socket, sni: string, bytes: Buffer): Promise<void> {
    const tenant = tenantOf(sni);
    if (tenant === undefined) return refuse(socket, 'unknown_host', TlsAlert.unrecognized_name, sni);
    let tunnel = registry.pick(tenant);
    if (!tunnel) {
      // The same alert either way, so that probing names from outside does not reveal which tenants
      // exist; the metric and the log line keep the distinction for the operator.
      const known = await store.relay.getTenant(tenant);
      return refuse(socket, known ? 'no_tunnel' : 'unknown_tenant', TlsAlert.unrecognized_name, sni);
    }
    if (socket.destroyed) return;
    const active = activePerTenant.get(tenant) ?? 0;
    if (active >= maxPerTenant)
      return refuse(socket, 'tenant_connection_limit', TlsAlert.internal_error, sni);
    let stream: ClientHttp2Stream;
    try {
      stream = tunnel.openStream(sni, peerOf(socket));
    } catch (err) {
      logger.warn(
        { tenant, err: (err as Error).message },
        'could not open a stream on a tunnel; trying another',
      );
      tunnel = registry.pick(tenant);
      if (!tunnel) return refuse(socket, 'no_tunnel', TlsAlert.internal_error, sni);
      stream = tunnel.openStream(sni, peerOf(socket));
    }
    activePerTenant.set(tenant, active + 1);
    metrics.agentConnectionsTotal.inc({ tenant });
    metrics.agentConnectionsActive.inc({ tenant });
    // Label lookups once per connection, not once per chunk (this is the byte pump).
    const byteCounters = {
      to_agent: metrics.bytesTotal.labels({ tenant, direction: 'to_agent' }),
      to_connector: metrics.bytesTotal.labels({ tenant, direction: 'to_connector' }),
    };
    const onPipe = options.onPipe;
    pipeAgent({
      socket,
      stream,
      firstBytes: bytes,
      onBytes: (direction, chunk) => {
        byteCounters[direction].inc(chunk.length);
        onPipe?.(tenant, direction, chunk);
      },
      onRefused: (status) => {
        metrics.routingFailures.inc({ reason: 'stream_refused' });
        logger.info({ tenant, sni, status }, 'connector refused the agent stream');
      },
      onClose: () => {
        const now = (activePerTenant.get(tenant) ?? 1) - 1;
        if (now <= 0) activePerTenant.delete(tenant);
        else activePerTenant.set(tenant, now);
        metrics.agentConnectionsActive.dec({ tenant });
      },
    });
  }

  async function onConnection(socket: net.Socket): Promise<void> {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', (err) => logger.debug({ err: err.message }, 'connection error'));
    socket.setNoDelay(true);
    if (closing) {
      socket.destroy();
      return;
    }
    const hello = await readClientHello(socket, { timeoutMs: helloTimeoutMs, maxBytes: maxHelloBytes });
    if (closing) return refuse(socket, 'relay_closing', TlsAlert.internal_error);
    switch (hello.kind) {
      case 'closed':
        metrics.routingFailures.inc({ reason: 'hello_closed' });
        socket.destroy();
        return;
      case 'timeout':
        return refuse(socket, 'hello_timeout', TlsAlert.handshake_failure);
      case 'invalid':
        logger.debug({ reason: hello.reason }, 'invalid ClientHello');
        return refuse(socket, 'invalid_hello', TlsAlert.handshake_failure);
      case 'ok':
        break;
    }
    const sni = hello.sni;
    if (sni === undefined) return refuse(socket, 'no_sni', TlsAlert.unrecognized_name);
    if (sni === relayHost) {
      if (!relayHostPerSource.tryAdd(socket))
        return refuse(socket, 'source_connection_limit', TlsAlert.internal_error, sni);
      socket.unshift(hello.bytes);
      relayTls.emit('connection', socket);
      return;
    }
    await routeAgent(socket, sni, hello.bytes);
  }

  // ---- listeners --------------------------------------------------------------------------------
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    onConnection(socket).catch((err: unknown) => {
      logger.error({ err: (err as Error).message }, 'routing failed');
      refuse(socket, 'internal', TlsAlert.internal_error);
    });
  });
  server.maxConnections = limits.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  server.on('error', (err) => logger.error({ err: err.message }, 'relay listener error'));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 443, options.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
  startConnectionChecks(https);
  let admin: Awaited<ReturnType<typeof startAdminServer>>;
  try {
    admin = await startAdminServer({
      host: options.adminHost ?? '127.0.0.1',
      port: options.adminPort ?? 0,
      registry: metrics.registry,
      healthy: () => !closing,
      ...(options.adminHostnames ? { hostnames: options.adminHostnames } : {}),
    });
  } catch (err) {
    server.close();
    https.close();
    throw err;
  }
  const address = server.address() as net.AddressInfo;
  logger.info({ port: address.port, relayHost, domain }, 'relay listening');

  return {
    host: address.address,
    port: address.port,
    adminPort: admin.port,
    domain,
    relayHost,
    caPem: options.identity.ca.certPem,
    metrics,
    events,
    addTenant: (name: string) => addTenant(store, name, relayHost),
    createEnrollmentToken: async (tenant: string, tokenOptions: { ttlMs?: number } = {}) =>
      (await issueEnrollmentToken(store, tenant, tokenOptions)).token,
    async revokeConnector(connectorId: string): Promise<boolean> {
      const revoked = await store.relay.revokeConnector(connectorId, Date.now());
      for (const tunnel of [...liveTunnels]) {
        if (tunnel.info.connectorId !== connectorId) continue;
        registry.remove(tunnel);
        tunnel.reject({
          code: TunnelCodes.CONNECTOR_REVOKED,
          message: `connector ${connectorId} was revoked`,
        });
      }
      return revoked;
    },
    tunnels: () => registry.summary(),
    async close(): Promise<void> {
      if (closing) return;
      closing = true;
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      const tunnelsClosed = [...liveTunnels].map(
        (tunnel) =>
          new Promise<void>((resolve) => {
            tunnel.once('close', () => resolve());
            tunnel.reject({ code: TunnelCodes.RELAY_CLOSING, message: 'relay is shutting down' }, 0);
          }),
      );
      await Promise.all(tunnelsClosed);
      for (const socket of sockets) socket.destroy();
      for (const client of wss.clients) client.terminate();
      wss.close();
      https.close();
      await serverClosed;
      await admin.close();
      logger.info('relay closed');
    },
  };
}

function peerOf(socket: net.Socket): string {
  const address = socket.remoteAddress ?? 'unknown';
  return address.includes(':') ? `[${address}]:${socket.remotePort}` : `${address}:${socket.remotePort}`;
}

function writeUpgradeError(
  socket: net.Socket,
  status: number,
  body: { code: string; message: string },
): void {
  if (socket.destroyed) return;
  const text = encodeRejection(body);
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Error'}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${text.length}\r\nConnection: close\r\n\r\n${text.toString()}`,
  );
  setTimeout(() => socket.destroy(), 1000).unref();
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
