/**
 * A relay node's membership in a cluster: its presence in Redis (which tenants it holds tunnels of),
 * the node-to-node link (mutual TLS 1.3, HTTP/2), and splicing — an agent connection that lands on
 * this node for a tenant whose tunnels are elsewhere is piped, as the raw TLS bytes it is, to a node
 * that holds one. Nothing is decrypted on either node.
 *
 * @example
 * const cluster = await startRelayCluster({ identity, relayHost, options: { presenceUrl: 'redis://…',
 *   peerListen: '0.0.0.0:8444', peerAdvertise: '10.0.0.5:8444', publicAdvertise: '10.0.0.5:443' },
 *   tenants: () => registry.availableTenants(), onSplice: (request) => acceptSplice(ctx, request) });
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { RelayIdentity } from '../relay-identity.js';
import {
  type ClusterNode,
  DEFAULT_PRESENCE_HEARTBEAT_MS,
  DEFAULT_PRESENCE_TTL_MS,
  DEFAULT_ROUTE_CACHE_MS,
  RedisPresence,
} from './cluster-presence.js';
import {
  NodeLinkClient,
  type NodeLinkServer,
  nodeLinkCredentials,
  type SpliceRequest,
  startNodeLinkServer,
} from './node-link.js';

/** The `cluster:` section of relay.yaml (see the README for every key and default). */
export interface RelayClusterOptions {
  /** Stable id of this node (default: host name + a random suffix, new at every start). */
  nodeId?: string;
  /** Redis URL of the presence store. */
  presenceUrl: string;
  /** Key prefix in Redis (default `airlock:`); one prefix per cluster. */
  presencePrefix?: string;
  /** `host:port` of the node-to-node link listener. */
  peerListen: string;
  /** `host:port` other nodes dial to reach this node's link (default: `peerListen` with the bound port). */
  peerAdvertise?: string;
  /** `host:port` of this node's own public port, for connectors that spread tunnels over nodes. */
  publicAdvertise?: string;
  presenceTtlMs?: number;
  presenceHeartbeatMs?: number;
  routeCacheMs?: number;
}

export interface RelayCluster {
  readonly node: ClusterNode;
  readonly linkPort: number;
  /** Live nodes holding a tunnel of `tenant` (this node excluded). */
  nodesFor(tenant: string): Promise<ClusterNode[]>;
  /** Every live node (this one included). */
  nodes(): Promise<ClusterNode[]>;
  /** Opens a splice stream to `node` for an agent connection (the caller pipes it). */
  openSplice(node: ClusterNode, sni: string, peer: string): ReturnType<NodeLinkClient['openSplice']>;
  /** Publishes this node's tenants now (a tunnel came or went). */
  tenantsChanged(): void;
  /** Milliseconds since the last heartbeat reached the presence store. */
  lagMs(): number;
  setDraining(draining: boolean): Promise<void>;
  close(): Promise<void>;
}

export interface StartRelayClusterOptions {
  identity: RelayIdentity;
  relayHost: string;
  options: RelayClusterOptions;
  /** Tenants this node holds at least one available tunnel of. */
  tenants: () => Iterable<string>;
  /** Live tunnels on this node (shown by `airlock relay status`). */
  tunnelCount?: () => number;
  /** Handles a splice from another node (must answer the stream). */
  onSplice: (request: SpliceRequest) => void;
  logger: Logger;
}

export { DEFAULT_PRESENCE_HEARTBEAT_MS, DEFAULT_PRESENCE_TTL_MS, DEFAULT_ROUTE_CACHE_MS };

export async function startRelayCluster(start: StartRelayClusterOptions): Promise<RelayCluster> {
  const { options, logger } = start;
  const nodeId = options.nodeId ?? `${hostname()}-${randomBytes(3).toString('hex')}`;
  const credentials = await nodeLinkCredentials(start.identity, start.relayHost, nodeId);
  const [peerHost, peerPort] = splitHostPort(options.peerListen);
  const link: NodeLinkServer = await startNodeLinkServer({
    host: peerHost,
    port: peerPort,
    credentials,
    onSplice: start.onSplice,
    logger,
  });
  const self: ClusterNode = {
    id: nodeId,
    peerAddress: options.peerAdvertise ?? `${peerHost}:${link.port}`,
    publicAddress: options.publicAdvertise ?? '',
    draining: false,
    startedAt: Date.now(),
  };
  let presence: RedisPresence;
  try {
    presence = await RedisPresence.connect({
      url: options.presenceUrl,
      self,
      ...(options.presencePrefix ? { prefix: options.presencePrefix } : {}),
      ...(options.presenceTtlMs ? { ttlMs: options.presenceTtlMs } : {}),
      ...(options.presenceHeartbeatMs ? { heartbeatMs: options.presenceHeartbeatMs } : {}),
      ...(options.routeCacheMs !== undefined ? { routeCacheMs: options.routeCacheMs } : {}),
      ...(start.tunnelCount ? { tunnelCount: start.tunnelCount } : {}),
      logger,
    });
  } catch (err) {
    await link.close();
    throw err;
  }
  presence.start(start.tenants);
  const client = new NodeLinkClient(credentials);
  logger.info({ nodeId, peer: self.peerAddress }, 'relay node joined the cluster');
  return {
    get node() {
      return presence.node;
    },
    linkPort: link.port,
    nodesFor: (tenant) => presence.nodesFor(tenant),
    nodes: () => presence.nodes(),
    openSplice: (node, sni, peer) => client.openSplice(node.peerAddress, sni, peer),
    tenantsChanged: () => {
      presence.heartbeat(start.tenants).catch((err: unknown) => {
        logger.warn({ err: (err as Error).message }, 'presence update failed; the next heartbeat retries');
      });
    },
    lagMs: () => presence.lagMs(),
    setDraining: (draining) => presence.setDraining(draining),
    async close() {
      client.close();
      await presence.close();
      await link.close();
    },
  };
}

function splitHostPort(value: string): [string, number] {
  const at = value.lastIndexOf(':');
  return [value.slice(0, at).replace(/^\[|\]$/g, ''), Number(value.slice(at + 1))];
}
