/**
 * Tells connectors about the cluster: every tunnel on this node gets a {@link ClusterView} (this node's
 * id, whether it drains, every live non-draining node's public address) after it comes up and whenever
 * the nodes change. Connectors use it to keep their tunnels on distinct nodes and to move off a
 * draining node. One presence read per interval, whatever the number of tunnels; a tunnel is only
 * sent a view that differs from the last one it got.
 *
 * @example
 * const push = startClusterViewPush({ cluster, tunnels: () => ctx.liveTunnels, intervalMs: 1000, logger });
 * await push.pushNow(); // e.g. right after the node started draining
 * push.stop();
 */
import type { Logger } from 'pino';
import type { ClusterView } from '../../tunnel/protocol.js';
import type { RelayTunnel } from '../../tunnel/relay-tunnel.js';
import type { ClusterNode } from './cluster-presence.js';
import type { RelayCluster } from './relay-cluster.js';

/** How often a node re-reads the live nodes and sends changed views to its tunnels. */
export const DEFAULT_CLUSTER_VIEW_INTERVAL_MS = 1000;

export interface ClusterViewPush {
  /** Reads the nodes now and sends the view to every tunnel that has not got it yet. */
  pushNow(): Promise<void>;
  stop(): void;
}

/** The view of `self` given the live `nodes` (nodes without a dialable public address are left out). */
export function clusterViewOf(self: ClusterNode, nodes: ClusterNode[]): ClusterView {
  return {
    node: self.id,
    draining: self.draining,
    nodes: nodes
      .filter((n) => !n.draining && dialable(n.publicAddress))
      .map((n) => ({ id: n.id, address: n.publicAddress })),
  };
}

function dialable(address: string): boolean {
  return address !== '' && !address.startsWith('0.0.0.0:') && !address.startsWith('[::]:');
}

export function startClusterViewPush(options: {
  cluster: RelayCluster;
  tunnels: () => Iterable<RelayTunnel>;
  intervalMs?: number;
  logger: Logger;
}): ClusterViewPush {
  const { cluster, logger } = options;
  let busy = false;
  const pushNow = async (): Promise<void> => {
    try {
      const view = clusterViewOf(cluster.node, await cluster.nodes());
      for (const tunnel of options.tunnels()) tunnel.sendClusterView(view);
    } catch (err) {
      logger.debug({ err: (err as Error).message }, 'cluster view not sent; the next interval retries');
    }
  };
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void pushNow().finally(() => {
      busy = false;
    });
  }, options.intervalMs ?? DEFAULT_CLUSTER_VIEW_INTERVAL_MS);
  timer.unref();
  return { pushNow, stop: () => clearInterval(timer) };
}
