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
  /** PEM files of a publicly trusted certificate for `relay.<domain>`; default: self-made CA in dataDir. */
  tls: z.strictObject({ certFile: z.string(), keyFile: z.string() }).optional(),
  limits: z
    .strictObject({
      clientHelloTimeoutMs: z.number().int().min(100).max(60_000).optional(),
      maxClientHelloBytes: z.number().int().min(512).max(65_536).optional(),
      maxAgentConnectionsPerTenant: z.number().int().min(1).optional(),
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
