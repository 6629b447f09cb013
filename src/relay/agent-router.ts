/**
 * SNI routing of agent connections: `<tenant>.<domain>` → a slot of the tenant (admission) → a stream
 * on one of the tenant's live tunnels → the agent's raw bytes (TLS ciphertext) piped both ways.
 */
import http2, { type ClientHttp2Stream, type ServerHttp2Stream } from 'node:http2';
import type net from 'node:net';
import { TlsAlert } from '../net/client-hello.js';
import type { RelayTunnel } from '../tunnel/relay-tunnel.js';
import { pipeAgent } from './agent-pipe.js';
import type { SpliceRequest } from './cluster/node-link.js';
import type { RelayCluster } from './cluster/relay-cluster.js';
import { countRefusal, peerOf, type RelayContext, refuse } from './relay-context.js';

/** The label left of `.<domain>` in an agent's SNI (tenant names are validated in tenant-admin.ts). */
const TENANT_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** The tenant an SNI names, or undefined. */
export function tenantOfSni(sni: string, domain: string): string | undefined {
  const suffix = `.${domain}`;
  if (!sni.endsWith(suffix)) return undefined;
  const label = sni.slice(0, -suffix.length);
  return TENANT_LABEL.test(label) ? label : undefined;
}

function openStream(ctx: RelayContext, tenant: string, tunnel: RelayTunnel, sni: string, peer: string) {
  try {
    return tunnel.openStream(sni, peer);
  } catch (err) {
    ctx.logger.warn(
      { tenant, err: (err as Error).message },
      'could not open a stream on a tunnel; trying another',
    );
    const other = ctx.registry.pick(tenant);
    return other ? other.openStream(sni, peer) : undefined;
  }
}

/** Routes one agent connection whose ClientHello (`bytes`) named `sni`. */
export async function routeAgent(
  ctx: RelayContext,
  socket: net.Socket,
  sni: string,
  bytes: Buffer,
): Promise<void> {
  const tenant = tenantOfSni(sni, ctx.domain);
  if (tenant === undefined) return refuse(ctx, socket, 'unknown_host', TlsAlert.unrecognized_name, sni);
  // A draining node sends agents to other nodes first, and serves them itself while its tunnels last.
  if (ctx.draining && ctx.cluster && (await spliceToPeer(ctx, ctx.cluster, { socket, tenant, sni, bytes })))
    return;
  const tunnel = ctx.registry.pick(tenant);
  if (!tunnel) {
    if (
      ctx.cluster &&
      !ctx.draining &&
      (await spliceToPeer(ctx, ctx.cluster, { socket, tenant, sni, bytes }))
    )
      return;
    // The same alert either way, so that probing names from outside does not reveal which tenants
    // exist; the metric and the log summary keep the distinction for the operator.
    const known = await ctx.store.relay.getTenant(tenant);
    return refuse(ctx, socket, known ? 'no_tunnel' : 'unknown_tenant', TlsAlert.unrecognized_name, sni);
  }
  if (socket.destroyed) return;
  const slot = ctx.admission.admitTenant(tenant, socket);
  if (!slot.ok) return refuse(ctx, socket, slot.reason, TlsAlert.internal_error, sni);
  const stream = openStream(ctx, tenant, tunnel, sni, peerOf(socket));
  if (!stream) {
    slot.release();
    return refuse(ctx, socket, 'no_tunnel', TlsAlert.internal_error, sni);
  }
  pipe(ctx, { socket, stream, tenant, sni, peer: peerOf(socket), bytes, release: slot.release });
}

/** Longest a node waits for another node to accept a splice before it tries the next one. */
export const DEFAULT_SPLICE_ACCEPT_TIMEOUT_MS = 5_000;

/** Waits for the peer node's answer on a splice stream: its status, or undefined (error, timeout). */
function spliceAnswer(stream: ClientHttp2Stream, timeoutMs: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => done(undefined), timeoutMs);
    const done = (status: number | undefined): void => {
      clearTimeout(timer);
      stream.off('error', onError);
      stream.off('close', onError);
      resolve(status);
    };
    const onError = (): void => done(undefined);
    stream.once('response', (headers) => done(Number(headers[':status'])));
    stream.once('error', onError);
    stream.once('close', onError);
  });
}

/**
 * No usable tunnel of the tenant here: pipe the agent's raw bytes to a live node that has one
 * (cluster). Nodes are tried in random order until one accepts (a node killed a moment ago is still in
 * presence until its lease expires: the next one takes the agent). False when none accepts. The other
 * node does the tenant's admission.
 */
async function spliceToPeer(
  ctx: RelayContext,
  cluster: RelayCluster,
  c: { socket: net.Socket; tenant: string; sni: string; bytes: Buffer },
): Promise<boolean> {
  let nodes: Awaited<ReturnType<RelayCluster['nodesFor']>>;
  try {
    nodes = [...(await cluster.nodesFor(c.tenant))].sort(() => Math.random() - 0.5);
  } catch (err) {
    ctx.logger.warn({ err: (err as Error).message }, 'presence store unavailable; cannot splice');
    return false;
  }
  for (const node of nodes) {
    if (c.socket.destroyed) return true;
    const stream = cluster.openSplice(node, c.sni, peerOf(c.socket));
    stream.on('error', () => {});
    const status = await spliceAnswer(stream, DEFAULT_SPLICE_ACCEPT_TIMEOUT_MS);
    if (status !== 200) {
      if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_CANCEL);
      countRefusal(ctx, c.socket, 'splice_refused', c.sni);
      ctx.logger.debug({ tenant: c.tenant, node: node.id, status }, 'peer node refused the splice');
      continue;
    }
    ctx.metrics.splicesTotal.inc({ direction: 'out' });
    pipeAgent({
      socket: c.socket,
      stream,
      firstBytes: c.bytes,
      responded: true,
      onBytes: () => {},
      onRefused: () => {},
      onClose: () => {},
    });
    return true;
  }
  return false;
}

/**
 * A splice from another node of the cluster: the agent's raw bytes for a tenant whose tunnel is here.
 * Admission and metrics as for a direct agent; no second hop (a node never re-splices).
 */
export function acceptSplice(ctx: RelayContext, request: SpliceRequest): void {
  const { stream, sni } = request;
  const tenant = tenantOfSni(sni, ctx.domain);
  const tunnel = tenant === undefined ? undefined : ctx.registry.pick(tenant);
  if (tenant === undefined || !tunnel || ctx.closing) {
    stream.respond({ ':status': 503 }, { endStream: true });
    return;
  }
  const slot = ctx.admission.admitTenant(tenant, { remoteAddress: hostOf(request.peer) });
  if (!slot.ok) {
    ctx.metrics.routingFailures.inc({ reason: slot.reason });
    stream.respond({ ':status': 503 }, { endStream: true });
    return;
  }
  const tunnelStream = openStream(ctx, tenant, tunnel, sni, request.peer);
  if (!tunnelStream) {
    slot.release();
    stream.respond({ ':status': 503 }, { endStream: true });
    return;
  }
  ctx.metrics.splicesTotal.inc({ direction: 'in' });
  stream.respond({ ':status': 200 });
  pipe(ctx, {
    socket: stream,
    stream: tunnelStream,
    tenant,
    sni,
    peer: request.peer,
    bytes: Buffer.alloc(0),
    release: slot.release,
  });
}

/** The address part of `ip:port` / `[v6]:port`. */
function hostOf(peer: string): string | undefined {
  const at = peer.lastIndexOf(':');
  return at <= 0 ? undefined : peer.slice(0, at).replace(/^\[|\]$/g, '');
}

/** Reroutes of one agent connection, at most: a tenant's tunnels are few, and a refusal is rare. */
export const MAX_STREAM_REROUTES = 2;

/**
 * Another stream of the tenant for an agent whose stream was refused before any answer (its tunnel
 * is draining, or went away), on a tunnel still open; at most `MAX_STREAM_REROUTES` times.
 */
function rerouter(ctx: RelayContext, tenant: string, sni: string, peer: string) {
  let left = MAX_STREAM_REROUTES;
  return (): ClientHttp2Stream | undefined => {
    if (left-- <= 0) return undefined;
    const tunnel = ctx.registry.pick(tenant);
    const stream = tunnel ? openStream(ctx, tenant, tunnel, sni, peer) : undefined;
    if (stream) ctx.metrics.streamReroutesTotal.inc({ tenant });
    ctx.logger.debug({ tenant, rerouted: stream !== undefined }, 'agent stream refused before any answer');
    return stream;
  };
}

function pipe(
  ctx: RelayContext,
  c: {
    socket: net.Socket | ServerHttp2Stream;
    stream: ClientHttp2Stream;
    tenant: string;
    sni: string;
    peer: string;
    bytes: Buffer;
    release: () => void;
  },
): void {
  const { metrics } = ctx;
  const tenant = c.tenant;
  metrics.agentConnectionsTotal.inc({ tenant });
  metrics.agentConnectionsActive.inc({ tenant });
  // Label lookups once per connection, not once per chunk (this is the byte pump).
  const byteCounters = {
    to_agent: metrics.bytesTotal.labels({ tenant, direction: 'to_agent' }),
    to_connector: metrics.bytesTotal.labels({ tenant, direction: 'to_connector' }),
  };
  const onPipe = ctx.options.onPipe;
  pipeAgent({
    socket: c.socket,
    stream: c.stream,
    firstBytes: c.bytes,
    reroute: rerouter(ctx, tenant, c.sni, c.peer),
    maxReplayBytes: ctx.limits.maxClientHelloBytes,
    onBytes: (direction, chunk) => {
      byteCounters[direction].inc(chunk.length);
      onPipe?.(tenant, direction, chunk);
    },
    onRefused: (status) => {
      countRefusal(
        ctx,
        'session' in c.socket ? { remoteAddress: 'relay-node' } : c.socket,
        'stream_refused',
        c.sni,
      );
      ctx.logger.debug({ tenant, status }, 'connector refused the agent stream');
    },
    onClose: () => {
      c.release();
      metrics.agentConnectionsActive.dec({ tenant });
    },
  });
}
