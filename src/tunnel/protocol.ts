/**
 * The tunnel protocol shared by relay and connector.
 *
 * A tunnel is one HTTP/2 connection with the roles reversed: the connector dials out (TLS with ALPN
 * `airlock-tunnel/1`, or a WebSocket at `/v1/tunnel` for networks that only allow HTTPS through a
 * proxy) and then acts as the HTTP/2 *server*; the relay is the HTTP/2 *client* and opens one stream
 * per agent connection. HTTP/2 gives multiplexing and per-stream flow control, so no hand-written
 * multiplexer is needed.
 *
 * - `GET /_airlock/hello` (relay → connector, first request): JSON {@link TunnelHello}.
 * - `POST /_airlock/ready` (relay → connector): the relay checked the hello and registered the
 *   tunnel; from now on agent streams may arrive. A refused tunnel gets GOAWAY instead.
 * - `POST /_airlock/stream` with `x-airlock-sni` and `x-airlock-peer`: raw bytes of one agent
 *   connection (still TLS ciphertext, the relay never decrypts it) in both directions.
 * - `POST /_airlock/cluster` (relay → connector, clustered relays only): JSON {@link ClusterView}, the
 *   node this tunnel reached and every live node's public address; sent after ready, when the nodes
 *   change, and with `draining: true` when the node is about to close (the connector then opens a
 *   tunnel on another node first and lets this one go with GOAWAY).
 * - A relay that refuses a tunnel sends GOAWAY whose debug data is JSON {@link TunnelRejection}; over
 *   WebSocket it answers the upgrade with an HTTP error carrying the same JSON.
 */
import { z } from 'zod';

/** ALPN protocol id of a tunnel over plain TLS. */
export const TUNNEL_ALPN = 'airlock-tunnel/1';
/** Path of the WebSocket tunnel endpoint on the relay host. */
export const TUNNEL_WEBSOCKET_PATH = '/v1/tunnel';
/** Path of the enrollment API on the relay host. */
export const ENROLL_PATH = '/v1/enroll';
/** First request of the relay on a new tunnel. */
export const HELLO_PATH = '/_airlock/hello';
/** Second request of the relay: the tunnel is registered. */
export const READY_PATH = '/_airlock/ready';
/** One agent connection per stream. */
export const STREAM_PATH = '/_airlock/stream';
/** Relay → connector: which cluster node this tunnel reached, and the others (JSON {@link ClusterView}). */
export const CLUSTER_PATH = '/_airlock/cluster';
/** Header: the SNI the agent asked for. */
export const SNI_HEADER = 'x-airlock-sni';
/** Header: the agent's remote address as seen by the relay (`ip:port`). */
export const PEER_HEADER = 'x-airlock-peer';
/** Version of this protocol, sent in the hello. */
export const TUNNEL_PROTOCOL_VERSION = 1;

/** What the connector tells the relay about a tunnel. */
export interface TunnelHello {
  connectorId: string;
  /** Which of the connector's tunnels this is (0-based). (tenant, connectorId, slot) keys the relay's registry. */
  slot: number;
  version: number;
}

const helloSchema = z.object({
  connectorId: z.string().min(1).max(128),
  slot: z.number().int().min(0).max(1024),
  version: z.number().int().min(1),
});

/** Parses and validates a hello body; returns undefined when it is not a valid hello. */
export function parseTunnelHello(text: string): TunnelHello | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = helloSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/** What a clustered relay node tells a connector about the cluster (body of `POST /_airlock/cluster`). */
export interface ClusterView {
  /** Id of the node this tunnel is on. */
  node: string;
  /** True when that node is draining: move this tunnel to another node, then let it go. */
  draining: boolean;
  /** Live, non-draining nodes (this one included unless draining) and their public `host:port`. */
  nodes: Array<{ id: string; address: string }>;
}

/** Bound on a cluster view body. */
export const MAX_CLUSTER_VIEW_BYTES = 64 * 1024;

const clusterViewSchema = z.object({
  node: z.string().min(1).max(128),
  draining: z.boolean(),
  nodes: z.array(z.object({ id: z.string().min(1).max(128), address: z.string().min(3).max(300) })).max(1000),
});

/** Parses a cluster view; undefined when the text is not one. */
export function parseClusterView(text: string): ClusterView | undefined {
  try {
    const parsed = clusterViewSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Why the relay refused or ended a tunnel (GOAWAY debug data / WebSocket error body). */
export interface TunnelRejection {
  code: string;
  message: string;
}

/** Codes a relay sends when it refuses or ends a tunnel. */
export const TunnelCodes = {
  /** The connector presented no client certificate. */
  CERT_MISSING: 'AIRLOCK_TUNNEL_CERT_MISSING',
  /** The client certificate was not issued by the relay's connector CA, expired, or names no connector. */
  CERT_REJECTED: 'AIRLOCK_TUNNEL_CERT_REJECTED',
  /** The connector is unknown to the relay (or its key does not match the enrolled one). */
  CONNECTOR_UNKNOWN: 'AIRLOCK_TUNNEL_CONNECTOR_UNKNOWN',
  /** The connector was revoked. */
  CONNECTOR_REVOKED: 'AIRLOCK_TUNNEL_CONNECTOR_REVOKED',
  /**
   * The connector is not bound to its tenant's pinned CA (enrolled with a token alone): enroll it again
   * with a binding from `airlock connector add` on an existing connector of the tenant.
   */
  CONNECTOR_UNBOUND: 'AIRLOCK_TUNNEL_CONNECTOR_UNBOUND',
  /** The hello was malformed or named another connector than the certificate. */
  HELLO_INVALID: 'AIRLOCK_TUNNEL_HELLO_INVALID',
  /** The slot is outside 0..maxTunnelsPerConnector-1. */
  SLOT_INVALID: 'AIRLOCK_TUNNEL_SLOT_INVALID',
  /** A newer tunnel with the same (connector, slot) replaced this one. */
  REPLACED: 'AIRLOCK_TUNNEL_REPLACED',
  /** The relay is shutting down. */
  RELAY_CLOSING: 'AIRLOCK_TUNNEL_RELAY_CLOSING',
  /** The relay node is draining and takes no new tunnels (retry on another node). */
  RELAY_DRAINING: 'AIRLOCK_TUNNEL_RELAY_DRAINING',
  /** The relay's certificate did not verify against the pinned CA or host name. */
  RELAY_UNTRUSTED: 'AIRLOCK_TUNNEL_RELAY_UNTRUSTED',
  /** The relay (or the proxy) could not be reached. */
  CONNECT_FAILED: 'AIRLOCK_TUNNEL_CONNECT_FAILED',
  /** The relay did not speak the tunnel protocol (wrong ALPN, no hello in time...). */
  PROTOCOL: 'AIRLOCK_TUNNEL_PROTOCOL',
  /** No PING acknowledgement within the heartbeat timeout: the tunnel is half-open or dead. */
  HEARTBEAT_TIMEOUT: 'AIRLOCK_TUNNEL_HEARTBEAT_TIMEOUT',
  /** The tunnel closed. */
  CLOSED: 'AIRLOCK_TUNNEL_CLOSED',
} as const;

const PERMANENT_CODES: ReadonlySet<string> = new Set([
  TunnelCodes.CERT_MISSING,
  TunnelCodes.CERT_REJECTED,
  TunnelCodes.CONNECTOR_UNKNOWN,
  TunnelCodes.CONNECTOR_REVOKED,
  TunnelCodes.CONNECTOR_UNBOUND,
  TunnelCodes.HELLO_INVALID,
  TunnelCodes.SLOT_INVALID,
  TunnelCodes.RELAY_UNTRUSTED,
]);

/** True for codes where retrying cannot help (the credential or the configuration must change). */
export function isPermanentTunnelCode(code: string): boolean {
  return PERMANENT_CODES.has(code);
}

const rejectionSchema = z.object({ code: z.string().max(100), message: z.string().max(1000) });

/** Encodes a rejection as GOAWAY debug data / response body. */
export function encodeRejection(rejection: TunnelRejection): Buffer {
  return Buffer.from(JSON.stringify(rejection));
}

/** Decodes a rejection; undefined when the bytes are not one. */
export function decodeRejection(data: Buffer | string | undefined): TunnelRejection | undefined {
  if (data === undefined || data.length === 0 || data.length > 2048) return undefined;
  try {
    const parsed = rejectionSchema.safeParse(JSON.parse(data.toString()));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** URI SAN of a connector certificate: `airlock://connector/<tenant>/<connectorId>`. */
export function connectorUri(tenant: string, connectorId: string): string {
  return `airlock://connector/${tenant}/${connectorId}`;
}

/** Parses a connector URI SAN; undefined for anything else. */
export function parseConnectorUri(uri: string): { tenant: string; connectorId: string } | undefined {
  const match = /^airlock:\/\/connector\/([a-z0-9-]{1,63})\/([A-Za-z0-9_-]{1,128})$/.exec(uri);
  if (!match) return undefined;
  return { tenant: match[1]!, connectorId: match[2]! };
}
