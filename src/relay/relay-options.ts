/**
 * The relay's options, limits and their secure defaults, and the {@link Relay} handle `startRelay`
 * returns. Every limit is also a `limits:` key of relay.yaml (see config-schema.ts) and is listed in the
 * README's configuration reference.
 *
 * @example
 * await startRelay({ domain: 'example.com', store, identity, limits: { maxConnectionsPerSource: 64 } });
 */

import type { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { AuditSigningKey } from '../audit/audit-key.js';
import { DEFAULT_MAX_CLIENT_HELLO_BYTES } from '../net/client-hello.js';
import type { Store } from '../store/store.js';
import type { TenantConnectorView } from '../tunnel/enrollment-protocol.js';
import { DEFAULT_HEARTBEAT_INTERVAL_MS, DEFAULT_HEARTBEAT_TIMEOUT_MS } from '../tunnel/heartbeat.js';
import type { RelayCluster, RelayClusterOptions } from './cluster/relay-cluster.js';
import type { RelayStatus } from './relay-status.js';

export { DEFAULT_DRAIN_GRACE_MS } from './relay-drain.js';
export type { RelayStatus } from './relay-status.js';
export { DEFAULT_MAX_ENROLL_BODY_BYTES };

import { DEFAULT_CLIENT_HELLO_TIMEOUT_MS } from '../net/read-client-hello.js';
import { DEFAULT_MAX_ENROLL_BODY_BYTES } from './enrollment-api.js';
import type { RelayIdentity } from './relay-identity.js';
import type { ByteDirection, RelayMetrics } from './relay-metrics.js';
import { DEFAULT_MAX_RELAY_HOST_CONNECTIONS_PER_SOURCE } from './source-connection-limit.js';
import type { TunnelSummary } from './tunnel-registry.js';

/** At most this many agent connections per tenant at once. */
export const DEFAULT_MAX_AGENT_CONNECTIONS_PER_TENANT = 1000;
/** At most this many TCP connections on the public port (handshakes included); more are dropped. */
export const DEFAULT_MAX_CONNECTIONS = 20_000;
/**
 * At most this many connections from one source (IPv4 address, IPv6 /64) on the public port, counted
 * from accept, BEFORE the ClientHello is read. Room for many agents behind one NAT.
 */
export const DEFAULT_MAX_CONNECTIONS_PER_SOURCE = 256;
/**
 * One source may hold at most this share of a tenant's agent slots (`maxAgentConnectionsPerTenant`),
 * so a stranger cannot fill a tenant's slots alone. At least one slot per source.
 */
export const DEFAULT_MAX_TENANT_SHARE_PER_SOURCE = 0.25;
/** Refused connections are logged as one summary line (counts per reason) per this interval. */
export const DEFAULT_REFUSAL_LOG_INTERVAL_MS = 10_000;
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
export { DEFAULT_MAX_RELAY_HOST_CONNECTIONS_PER_SOURCE };

export interface RelayLimits {
  /** Time a connection has to send its ClientHello (default 5000 ms). */
  clientHelloTimeoutMs?: number;
  /** Bound on ClientHello bytes (default 16 KiB). */
  maxClientHelloBytes?: number;
  /** Default {@link DEFAULT_MAX_AGENT_CONNECTIONS_PER_TENANT}. */
  maxAgentConnectionsPerTenant?: number;
  /** Connections on the public port at once; more are dropped at accept. Default {@link DEFAULT_MAX_CONNECTIONS}. */
  maxConnections?: number;
  /**
   * Connections from one source on the public port at once, counted before the ClientHello.
   * Default {@link DEFAULT_MAX_CONNECTIONS_PER_SOURCE}; `0` disables.
   *
   * @example
   * await startRelay({ ...options, limits: { maxConnectionsPerSource: 64 } });
   */
  maxConnectionsPerSource?: number;
  /**
   * Share (0 < share ≤ 1) of a tenant's agent slots one source may hold.
   * Default {@link DEFAULT_MAX_TENANT_SHARE_PER_SOURCE}.
   */
  maxTenantSharePerSource?: number;
  /** Interval of the refusal summary log line. Default {@link DEFAULT_REFUSAL_LOG_INTERVAL_MS}. */
  refusalLogIntervalMs?: number;
  /** Tunnels one connector may keep. Default {@link DEFAULT_MAX_TUNNELS_PER_CONNECTOR}. */
  maxTunnelsPerConnector?: number;
  /** Concurrent agent streams on one tunnel. Default {@link DEFAULT_MAX_STREAMS_PER_TUNNEL}. */
  maxStreamsPerTunnel?: number;
  /** PING interval on every tunnel (default 2000 ms). */
  heartbeatIntervalMs?: number;
  /** Missing PING acknowledgement after this long ends the tunnel (default 4000 ms). */
  heartbeatTimeoutMs?: number;
  /** Largest WebSocket message on a WebSocket tunnel. Default {@link DEFAULT_WEBSOCKET_MAX_PAYLOAD}. */
  websocketMaxPayload?: number;
  /** Time a new tunnel has to answer the hello. Default {@link DEFAULT_TUNNEL_HELLO_TIMEOUT_MS}. */
  tunnelHelloTimeoutMs?: number;
  /** Relay-host TLS handshake time. Default {@link DEFAULT_RELAY_TLS_HANDSHAKE_TIMEOUT_MS}. */
  tlsHandshakeTimeoutMs?: number;
  /** Largest enrollment request body. Default {@link DEFAULT_MAX_ENROLL_BODY_BYTES} (32 KiB). */
  maxEnrollBodyBytes?: number;
  /** Relay-host HTTPS header timeout. Default {@link DEFAULT_RELAY_HOST_HEADERS_TIMEOUT_MS}. */
  relayHostHeadersTimeoutMs?: number;
  /** Relay-host HTTPS request timeout. Default {@link DEFAULT_RELAY_HOST_REQUEST_TIMEOUT_MS}. */
  relayHostRequestTimeoutMs?: number;
  /**
   * Time from the end of the relay-host TLS handshake (HTTPS, not tunnels: those have the tunnel hello
   * timeout) to the first request's headers. Default: `relayHostHeadersTimeoutMs`; `0` means the same.
   */
  relayHostFirstRequestTimeoutMs?: number;
  /**
   * Accepted for compatibility, no longer used: relay-host deadlines are per-connection timers (see
   * src/tunnel/http-connection-deadlines.ts), not Node's periodic check.
   */
  connectionsCheckingIntervalMs?: number;
  /**
   * Most concurrent relay-host connections (tunnels, HTTPS, handshakes) from one source address (an
   * IPv6 /64 counts as one source). Default {@link DEFAULT_MAX_RELAY_HOST_CONNECTIONS_PER_SOURCE}; `0` disables.
   */
  maxRelayHostConnectionsPerSource?: number;
}

export interface RelayOptions extends RelayLimits {
  /** Tenants are `<tenant>.<domain>`. */
  domain: string;
  /**
   * Join a relay cluster: presence in Redis, node-to-node splicing of agents whose tenant's tunnels
   * are on another node (see src/relay/cluster/ and docs/scaling.md). Default: a single node.
   */
  cluster?: RelayClusterOptions;
  /**
   * Longest a drain (`drain()`, SIGTERM on `airlock relay`) waits for tunnels to move and agent
   * streams to finish before the node closes. Default {@link DEFAULT_DRAIN_GRACE_MS} (30 s).
   */
  drainGraceMs?: number;
  /**
   * The audit witness's signing key (its cosignatures). Default: a new key per process, so
   * cosignatures cannot be checked across restarts; `airlock relay` keeps one in
   * `<dataDir>/identity/witness/` (cluster nodes share the identity directory, hence the key).
   */
  witnessKey?: AuditSigningKey;
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
  /** This node in the cluster, when `cluster` is configured. */
  readonly cluster: RelayCluster | undefined;
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
  /** Every connector of `tenant` with its state (online / offline / unbound / revoked) and last seen. */
  connectors(tenant: string): Promise<TenantConnectorView[]>;
  tunnels(): TunnelSummary[];
  /**
   * Takes the node out of service, then closes it: `/readyz` 503, connectors move their tunnels to
   * other nodes, open agent streams finish within `drainGraceMs` (see relay-drain.ts).
   */
  drain(): Promise<void>;
  /** This node, the cluster's nodes and the tunnels here (what `GET /status` on the admin port answers). */
  status(): Promise<RelayStatus>;
  close(): Promise<void>;
}

/** Every limit with its default applied. */
export type ResolvedRelayLimits = Required<Omit<RelayLimits, 'connectionsCheckingIntervalMs'>>;

/** Merges top-level and nested limits (top level wins) and applies the defaults. */
export function resolveRelayLimits(options: RelayOptions): ResolvedRelayLimits {
  const given: RelayLimits = { ...options.limits, ...definedOnly(options) };
  const headers = given.relayHostHeadersTimeoutMs ?? DEFAULT_RELAY_HOST_HEADERS_TIMEOUT_MS;
  return {
    clientHelloTimeoutMs: given.clientHelloTimeoutMs ?? DEFAULT_CLIENT_HELLO_TIMEOUT_MS,
    maxClientHelloBytes: given.maxClientHelloBytes ?? DEFAULT_MAX_CLIENT_HELLO_BYTES,
    maxAgentConnectionsPerTenant:
      given.maxAgentConnectionsPerTenant ?? DEFAULT_MAX_AGENT_CONNECTIONS_PER_TENANT,
    maxConnections: given.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
    maxConnectionsPerSource: given.maxConnectionsPerSource ?? DEFAULT_MAX_CONNECTIONS_PER_SOURCE,
    maxTenantSharePerSource: given.maxTenantSharePerSource ?? DEFAULT_MAX_TENANT_SHARE_PER_SOURCE,
    refusalLogIntervalMs: given.refusalLogIntervalMs ?? DEFAULT_REFUSAL_LOG_INTERVAL_MS,
    maxTunnelsPerConnector: given.maxTunnelsPerConnector ?? DEFAULT_MAX_TUNNELS_PER_CONNECTOR,
    maxStreamsPerTunnel: given.maxStreamsPerTunnel ?? DEFAULT_MAX_STREAMS_PER_TUNNEL,
    heartbeatIntervalMs: given.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS,
    heartbeatTimeoutMs: given.heartbeatTimeoutMs ?? DEFAULT_HEARTBEAT_TIMEOUT_MS,
    websocketMaxPayload: given.websocketMaxPayload ?? DEFAULT_WEBSOCKET_MAX_PAYLOAD,
    tunnelHelloTimeoutMs: given.tunnelHelloTimeoutMs ?? DEFAULT_TUNNEL_HELLO_TIMEOUT_MS,
    tlsHandshakeTimeoutMs: given.tlsHandshakeTimeoutMs ?? DEFAULT_RELAY_TLS_HANDSHAKE_TIMEOUT_MS,
    maxEnrollBodyBytes: given.maxEnrollBodyBytes ?? DEFAULT_MAX_ENROLL_BODY_BYTES,
    relayHostHeadersTimeoutMs: headers,
    relayHostRequestTimeoutMs: given.relayHostRequestTimeoutMs ?? DEFAULT_RELAY_HOST_REQUEST_TIMEOUT_MS,
    relayHostFirstRequestTimeoutMs: given.relayHostFirstRequestTimeoutMs || headers,
    maxRelayHostConnectionsPerSource:
      given.maxRelayHostConnectionsPerSource ?? DEFAULT_MAX_RELAY_HOST_CONNECTIONS_PER_SOURCE,
  };
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
