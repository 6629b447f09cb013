/**
 * Limits of the connector's tenant endpoint (agent TLS termination) and their secure defaults.
 *
 * @example
 * new AgentEndpoint({ ...options, limits: { headersTimeoutMs: 5_000, maxConnections: 1_000 } });
 */
import {
  DEFAULT_AGENT_REVALIDATE_INTERVAL_MS,
  DEFAULT_AGENT_REVOCATION_POLL_INTERVAL_MS,
} from './agent-connection-watch.js';

export { DEFAULT_AGENT_REVALIDATE_INTERVAL_MS, DEFAULT_AGENT_REVOCATION_POLL_INTERVAL_MS };

/**
 * The only TLS version the tenant endpoint speaks (not configurable): with TLS 1.2 the agent's client
 * certificate, and its SPIFFE id, would cross the relay in clear.
 */
export const AGENT_TLS_MIN_VERSION = 'TLSv1.3';
/** Default time to receive all request headers (slowloris defence). */
export const DEFAULT_AGENT_HEADERS_TIMEOUT_MS = 10_000;
/** Default time to receive a whole request (headers and body). SSE responses are not limited by it. */
export const DEFAULT_AGENT_REQUEST_TIMEOUT_MS = 30_000;
/** Default idle time of a keep-alive connection between requests. */
export const DEFAULT_AGENT_KEEP_ALIVE_TIMEOUT_MS = 5_000;
/** Default largest request header block. */
export const DEFAULT_AGENT_MAX_HEADER_SIZE = 16 * 1024;
/** Default time to complete the TLS handshake. */
export const DEFAULT_AGENT_HANDSHAKE_TIMEOUT_MS = 10_000;
/** Default most concurrent agent connections, per source (tunnel streams; local port). */
export const DEFAULT_AGENT_MAX_CONNECTIONS = 10_000;
/**
 * Default period of the check that enforces the header and request timeouts (Node's own default, 30 s,
 * lets a slow client hold a connection up to 30 s past its timeout).
 */
export const DEFAULT_AGENT_CONNECTIONS_CHECKING_INTERVAL_MS = 1_000;

export interface AgentEndpointLimits {
  /** Default {@link DEFAULT_AGENT_HEADERS_TIMEOUT_MS}. */
  headersTimeoutMs?: number;
  /** Default {@link DEFAULT_AGENT_REQUEST_TIMEOUT_MS}. */
  requestTimeoutMs?: number;
  /** Default {@link DEFAULT_AGENT_KEEP_ALIVE_TIMEOUT_MS}. */
  keepAliveTimeoutMs?: number;
  /** Default {@link DEFAULT_AGENT_MAX_HEADER_SIZE}. */
  maxHeaderSize?: number;
  /** Default {@link DEFAULT_AGENT_HANDSHAKE_TIMEOUT_MS}. */
  handshakeTimeoutMs?: number;
  /** Default {@link DEFAULT_AGENT_MAX_CONNECTIONS}. */
  maxConnections?: number;
  /**
   * Time from the end of the TLS handshake until the first request's headers are in; a connection that
   * says nothing is closed then (later idle time between requests is `keepAliveTimeoutMs`).
   * Default: `headersTimeoutMs`. `0` disables.
   *
   * @example
   * new AgentEndpoint({ ...options, limits: { headersTimeoutMs: 5_000, firstRequestTimeoutMs: 5_000 } });
   */
  firstRequestTimeoutMs?: number;
  /**
   * How often header and request timeouts are checked, on tunnel streams (`accept`) and on the direct
   * port alike. Default {@link DEFAULT_AGENT_CONNECTIONS_CHECKING_INTERVAL_MS} (1 s).
   */
  connectionsCheckingIntervalMs?: number;
  /**
   * Default {@link DEFAULT_AGENT_REVOCATION_POLL_INTERVAL_MS} (500 ms). Open connections of identities
   * revoked in the store since the last poll are closed (one `listRevokedSince` query per poll), which also
   * ends their SSE streams; bearer connections also close when their token expires. `0` disables
   * (requests are still checked one by one).
   */
  revocationPollIntervalMs?: number;
  /**
   * Default {@link DEFAULT_AGENT_REVALIDATE_INTERVAL_MS} (30 s). Every interval, the identity behind each
   * open connection is looked up again; connections of revoked, deleted or expired identities are closed.
   * `0` disables.
   */
  revalidateIntervalMs?: number;
}
