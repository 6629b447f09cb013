/**
 * What the parts of a running relay share: options with defaults applied, the store, the live tunnels,
 * metrics, events, the refusal log and the closing flag. `startRelay` makes one and hands it to each
 * part (public listener, agent router, relay-host TLS and HTTPS, tunnel handshake, shutdown).
 */
import { EventEmitter } from 'node:events';
import type net from 'node:net';
import { type Logger, pino } from 'pino';
import { TlsAlert, tlsAlert } from '../net/client-hello.js';
import type { Store } from '../store/store.js';
import type { RelayTunnel } from '../tunnel/relay-tunnel.js';
import { AgentAdmission } from './agent-admission.js';
import type { RelayCluster } from './cluster/relay-cluster.js';
import { RefusalLog } from './refusal-log.js';
import type { RelayIdentity } from './relay-identity.js';
import { RelayMetrics } from './relay-metrics.js';
import { type RelayOptions, type ResolvedRelayLimits, resolveRelayLimits } from './relay-options.js';
import { TunnelRegistry } from './tunnel-registry.js';

export type RoutingFailure =
  | 'hello_timeout'
  | 'hello_closed'
  | 'invalid_hello'
  | 'no_sni'
  | 'unknown_host'
  | 'unknown_tenant'
  | 'no_tunnel'
  | 'tenant_connection_limit'
  | 'tenant_source_share'
  | 'source_connection_limit'
  | 'relay_host_source_limit'
  | 'relay_host_refused'
  | 'tunnel_refused'
  | 'enrollment_refused'
  | 'global_connection_limit'
  | 'stream_refused'
  | 'splice_refused'
  | 'relay_closing'
  | 'internal';

export interface RelayContext {
  readonly options: RelayOptions;
  readonly limits: ResolvedRelayLimits;
  readonly domain: string;
  readonly relayHost: string;
  readonly store: Store;
  readonly identity: RelayIdentity;
  readonly logger: Logger;
  readonly metrics: RelayMetrics;
  readonly registry: TunnelRegistry;
  readonly liveTunnels: Set<RelayTunnel>;
  /** Every socket accepted on the public port, until it closes. */
  readonly sockets: Set<net.Socket>;
  readonly events: EventEmitter;
  readonly admission: AgentAdmission;
  readonly refusals: RefusalLog;
  /** Set once the node has joined its cluster (`options.cluster`). */
  cluster: RelayCluster | undefined;
  /** The node is draining (`drain()`): /readyz answers 503, no new tunnels, agents go to other nodes first. */
  draining: boolean;
  closing: boolean;
}

export function createRelayContext(options: RelayOptions): RelayContext {
  const limits = resolveRelayLimits(options);
  const domain = options.domain.toLowerCase();
  const registry = new TunnelRegistry();
  const logger = options.logger ?? pino({ level: 'silent' });
  return {
    options,
    limits,
    domain,
    relayHost: (options.relayHost ?? `relay.${domain}`).toLowerCase(),
    store: options.store,
    identity: options.identity,
    logger,
    metrics: new RelayMetrics(() => registry.counts()),
    registry,
    liveTunnels: new Set(),
    sockets: new Set(),
    events: new EventEmitter(),
    admission: new AgentAdmission(limits),
    refusals: new RefusalLog(logger, limits.refusalLogIntervalMs),
    cluster: undefined,
    draining: false,
    closing: false,
  };
}

/** Counts a refusal (metric + rate-limited log) without touching the socket. */
export function countRefusal(
  ctx: RelayContext,
  socket: net.Socket | { remoteAddress?: string | undefined; remotePort?: number | undefined },
  reason: RoutingFailure,
  sni?: string,
): void {
  ctx.metrics.routingFailures.inc({ reason });
  ctx.refusals.note(reason, { peer: peerOf(socket), ...(sni ? { sni } : {}) });
}

/**
 * Refuses a connection on the public port: counts it, answers with a TLS alert and closes (draining
 * what else arrives so the close is a clean FIN, not a RST).
 */
export function refuse(
  ctx: RelayContext,
  socket: net.Socket,
  reason: RoutingFailure,
  alert: number = TlsAlert.internal_error,
  sni?: string,
): void {
  countRefusal(ctx, socket, reason, sni);
  if (socket.destroyed) return;
  socket.end(tlsAlert(alert));
  socket.resume();
  setTimeout(() => socket.destroy(), 2000).unref();
}

/** `ip:port` (IPv6 in brackets) of the socket's peer. */
export function peerOf(socket: {
  remoteAddress?: string | undefined;
  remotePort?: number | undefined;
}): string {
  const address = socket.remoteAddress ?? 'unknown';
  return address.includes(':') ? `[${address}]:${socket.remotePort}` : `${address}:${socket.remotePort}`;
}
