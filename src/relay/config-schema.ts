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

const hostPort = z.string().regex(/^[^\s:]+:\d{1,5}$/, 'expected "host:port", e.g. "0.0.0.0:443"');

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
   * agent streams to finish before the node closes (default 30000 ms).
   */
  drainGraceMs: z.number().int().min(0).max(600_000).optional(),
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
  limits: z
    .strictObject({
      clientHelloTimeoutMs: z.number().int().min(100).max(60_000).optional(),
      maxClientHelloBytes: z.number().int().min(512).max(65_536).optional(),
      /** Piped agent connections per tenant (default 1000). */
      maxAgentConnectionsPerTenant: z.number().int().min(1).optional(),
      /** Connections on the public port at once; more are dropped at accept (default 20000). */
      maxConnections: z.number().int().min(1).optional(),
      /** Connections from one source (IPv4 address, IPv6 /64), counted before the ClientHello (default 256; 0 = off). */
      maxConnectionsPerSource: z.number().int().min(0).optional(),
      /** Share of a tenant's agent slots one source may hold, 0 < share ≤ 1 (default 0.25). */
      maxTenantSharePerSource: z.number().gt(0).max(1).optional(),
      /** One summary log line of refused connections per this interval (default 10000 ms). */
      refusalLogIntervalMs: z.number().int().min(100).max(3_600_000).optional(),
      heartbeatIntervalMs: z.number().int().min(100).optional(),
      heartbeatTimeoutMs: z.number().int().min(100).optional(),
      relayHostHeadersTimeoutMs: z.number().int().min(100).max(300_000).optional(),
      relayHostRequestTimeoutMs: z.number().int().min(100).max(3_600_000).optional(),
      relayHostFirstRequestTimeoutMs: z.number().int().min(0).max(300_000).optional(),
      connectionsCheckingIntervalMs: z.number().int().min(100).max(60_000).optional(),
      maxRelayHostConnectionsPerSource: z.number().int().min(0).optional(),
    })
    .default({}),
});

export type RelayConfig = z.infer<typeof relayConfigSchema>;
