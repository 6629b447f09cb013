/**
 * The relay's configuration file (YAML). Every limit has a secure default.
 *
 * @example
 * ```yaml
 * domain: airlock.example.com     # tenants are <tenant>.airlock.example.com, connectors dial relay.airlock.example.com
 * listen: 0.0.0.0:443
 * admin:
 *   listen: 127.0.0.1:9090         # /metrics and /healthz
 * dataDir: /var/lib/airlock-relay
 * ```
 */
import { z } from 'zod';
import { DEFAULT_MAX_CLIENT_HELLO_BYTES } from '../net/client-hello.js';
import { DEFAULT_CLIENT_HELLO_TIMEOUT_MS } from '../net/read-client-hello.js';
import { DEFAULT_HEARTBEAT_INTERVAL_MS, DEFAULT_HEARTBEAT_TIMEOUT_MS } from '../tunnel/heartbeat.js';
import {
  DEFAULT_DRAIN_GRACE_MS,
  DEFAULT_MAX_AGENT_CONNECTIONS_PER_TENANT,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_CONNECTIONS_PER_SOURCE,
  DEFAULT_MAX_ENROLL_BODY_BYTES,
  DEFAULT_MAX_RELAY_HOST_CONNECTIONS_PER_SOURCE,
  DEFAULT_MAX_STREAMS_PER_TUNNEL,
  DEFAULT_MAX_TENANT_SHARE_PER_SOURCE,
  DEFAULT_MAX_TUNNELS_PER_CONNECTOR,
  DEFAULT_REFUSAL_LOG_INTERVAL_MS,
  DEFAULT_RELAY_HOST_HEADERS_TIMEOUT_MS,
  DEFAULT_RELAY_HOST_REQUEST_TIMEOUT_MS,
  DEFAULT_RELAY_TLS_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_TUNNEL_HELLO_TIMEOUT_MS,
  DEFAULT_WEBSOCKET_MAX_PAYLOAD,
} from './relay-options.js';

const hostPort = z.string().regex(/^[^\s:]+:\d{1,5}$/, 'expected "host:port", e.g. "0.0.0.0:443"');

/** An integer in [min, max]. */
function int(min: number, max = Number.MAX_SAFE_INTEGER) {
  return z.number().int().min(min).max(max);
}
/** A duration in milliseconds in [min, max]. */
const ms = int;

export const relayConfigSchema = z.strictObject({
  /** Tenants are served at `<tenant>.<domain>`; connectors dial `relay.<domain>`. */
  domain: z
    .string()
    .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/, 'expected a DNS name'),
  /** The one public port, for agents and connectors alike. */
  listen: hostPort.default('0.0.0.0:443'),
  admin: z
    .strictObject({
      listen: hostPort.default('127.0.0.1:9090'),
      /**
       * `Host` names the admin listener answers besides loopback names and IP literals (DNS-rebinding
       * defence), e.g. the name Prometheus scrapes by. Default none.
       */
      hostnames: z.array(z.string().min(1)).optional(),
    })
    .default({ listen: '127.0.0.1:9090' }),
  /** Relay CA, relay TLS certificate, connector CA and the SQLite store. */
  dataDir: z.string().default('./.airlock/relay'),
  /** `sqlite:<file>` (default `<dataDir>/relay.db`) or `postgres://...` for several relay nodes. */
  store: z.string().optional(),
  /**
   * Longest a drain (SIGTERM, `airlock relay drain`) waits for connectors to move their tunnels and
   * agent streams to finish before the node closes.
   */
  drainGraceMs: ms(0, 600_000).default(DEFAULT_DRAIN_GRACE_MS),
  /** PEM files of a publicly trusted certificate for `relay.<domain>`; default: self-made CA in dataDir. */
  tls: z.strictObject({ certFile: z.string(), keyFile: z.string() }).optional(),
  /**
   * Join a relay cluster (several nodes behind a TCP load balancer or DNS). Nodes share the store
   * (`store: postgres://…`) and the identity directory (`<dataDir>/identity/`, made on one node and
   * copied to the others); presence lives in Redis. Default: a single node.
   */
  cluster: z
    .strictObject({
      /** Stable id of this node (default: host name + random suffix per start). */
      nodeId: z
        .string()
        .regex(/^[A-Za-z0-9._-]{1,64}$/)
        .optional(),
      /** Redis URL of the presence store, e.g. `redis://10.0.0.9:6379`. */
      presenceUrl: z.string().regex(/^rediss?:\/\//, 'expected a redis:// or rediss:// URL'),
      /** Key prefix in Redis (default `airlock:`); one per cluster. */
      presencePrefix: z.string().min(1).max(64).optional(),
      /** Node-to-node link listener (mutual TLS 1.3), e.g. `0.0.0.0:8444`. */
      peerListen: hostPort,
      /** `host:port` other nodes dial for this node's link (default: `peerListen`). */
      peerAdvertise: hostPort.optional(),
      /** `host:port` of this node's public port, told to connectors to spread their tunnels. */
      publicAdvertise: hostPort.optional(),
      /** A node's presence expires this long after its last heartbeat (default 3000 ms). */
      presenceTtlMs: z.number().int().min(500).max(60_000).optional(),
      /** Heartbeat interval (default 1000 ms; keep it well under the TTL). */
      presenceHeartbeatMs: z.number().int().min(100).max(30_000).optional(),
      /** Route look-ups are cached this long (default 1000 ms; 0 disables). */
      routeCacheMs: z.number().int().min(0).max(60_000).optional(),
    })
    .optional(),
  /** Every limit of the relay (`RelayLimits`), each defaulting to the component's `DEFAULT_*` constant. */
  limits: z
    .strictObject({
      /** Total time a connection has to send its ClientHello. */
      clientHelloTimeoutMs: ms(100, 60_000).default(DEFAULT_CLIENT_HELLO_TIMEOUT_MS),
      maxClientHelloBytes: int(512, 65_536).default(DEFAULT_MAX_CLIENT_HELLO_BYTES),
      /** Piped agent connections per tenant. */
      maxAgentConnectionsPerTenant: int(1).default(DEFAULT_MAX_AGENT_CONNECTIONS_PER_TENANT),
      /** Connections on the public port at once; more are dropped at accept. */
      maxConnections: int(1).default(DEFAULT_MAX_CONNECTIONS),
      /** Connections from one source (IPv4 address, IPv6 /64), counted before the ClientHello (0 = off). */
      maxConnectionsPerSource: int(0).default(DEFAULT_MAX_CONNECTIONS_PER_SOURCE),
      /** Share of a tenant's agent slots one source may hold, 0 < share ≤ 1. */
      maxTenantSharePerSource: z.number().gt(0).max(1).default(DEFAULT_MAX_TENANT_SHARE_PER_SOURCE),
      /** One summary log line of refused connections per this interval. */
      refusalLogIntervalMs: ms(100, 3_600_000).default(DEFAULT_REFUSAL_LOG_INTERVAL_MS),
      /** Tunnels one connector may keep (slots 0..n-1). */
      maxTunnelsPerConnector: int(1, 64).default(DEFAULT_MAX_TUNNELS_PER_CONNECTOR),
      /** Concurrent agent streams on one tunnel. */
      maxStreamsPerTunnel: int(1, 100_000).default(DEFAULT_MAX_STREAMS_PER_TUNNEL),
      heartbeatIntervalMs: ms(100).default(DEFAULT_HEARTBEAT_INTERVAL_MS),
      heartbeatTimeoutMs: ms(100).default(DEFAULT_HEARTBEAT_TIMEOUT_MS),
      /** Largest WebSocket message on a WebSocket tunnel (an HTTP/2 frame must fit). */
      websocketMaxPayload: int(32_768, 16 * 1024 * 1024).default(DEFAULT_WEBSOCKET_MAX_PAYLOAD),
      /** Time a new tunnel has to answer the hello. */
      tunnelHelloTimeoutMs: ms(100, 300_000).default(DEFAULT_TUNNEL_HELLO_TIMEOUT_MS),
      /** Time for the TLS handshake on the relay host (tunnels, enrollment, witness). */
      tlsHandshakeTimeoutMs: ms(100, 300_000).default(DEFAULT_RELAY_TLS_HANDSHAKE_TIMEOUT_MS),
      /** Largest enrollment request body. */
      maxEnrollBodyBytes: int(1024, 1024 * 1024).default(DEFAULT_MAX_ENROLL_BODY_BYTES),
      relayHostHeadersTimeoutMs: ms(100, 300_000).default(DEFAULT_RELAY_HOST_HEADERS_TIMEOUT_MS),
      relayHostRequestTimeoutMs: ms(100, 3_600_000).default(DEFAULT_RELAY_HOST_REQUEST_TIMEOUT_MS),
      /** Default: `relayHostHeadersTimeoutMs` (so no constant of its own); 0 means the same. */
      relayHostFirstRequestTimeoutMs: ms(0, 300_000).optional(),
      /** Accepted for compatibility, no longer used. */
      connectionsCheckingIntervalMs: ms(100, 60_000).optional(),
      maxRelayHostConnectionsPerSource: int(0).default(DEFAULT_MAX_RELAY_HOST_CONNECTIONS_PER_SOURCE),
    })
    .prefault({}),
});

export type RelayConfig = z.infer<typeof relayConfigSchema>;
