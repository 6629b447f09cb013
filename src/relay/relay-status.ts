/**
 * What `GET /status` on a relay's admin port answers and `airlock relay status` prints: this node
 * (draining or not, presence lag), every live node of its cluster with the tenants and tunnels it held
 * at its last heartbeat, and the tunnels on this node per tenant.
 *
 * @example
 * const status = await relayStatus(ctx);
 * console.log(status.nodes.map((n) => `${n.id} tunnels=${n.tunnels}`).join('\n'));
 */
import type { RelayContext } from './relay-context.js';

export interface RelayNodeStatus {
  id: string;
  publicAddress: string;
  draining: boolean;
  tenants: number | undefined;
  tunnels: number | undefined;
  /** Milliseconds since the node's last heartbeat reached the presence store. */
  lagMs: number | undefined;
}

export interface RelayStatus {
  node: string | undefined;
  draining: boolean;
  /** This node's presence lag (ms since its last heartbeat reached the store); null without a cluster. */
  presenceLagMs: number | null;
  /** Every live node (only this one without a cluster). */
  nodes: RelayNodeStatus[];
  /** Tunnels on this node, per tenant. */
  tunnelsPerTenant: Record<string, number>;
}

export async function relayStatus(ctx: RelayContext): Promise<RelayStatus> {
  const tunnelsPerTenant = Object.fromEntries(ctx.registry.counts());
  const tunnelCount = Object.values(tunnelsPerTenant).reduce((a, b) => a + b, 0);
  const cluster = ctx.cluster;
  if (!cluster) {
    return {
      node: undefined,
      draining: ctx.draining,
      presenceLagMs: null,
      nodes: [
        {
          id: 'local',
          publicAddress: '',
          draining: ctx.draining,
          tenants: Object.keys(tunnelsPerTenant).length,
          tunnels: tunnelCount,
          lagMs: undefined,
        },
      ],
      tunnelsPerTenant,
    };
  }
  const live = await cluster.nodes();
  const now = Date.now(); // after the read: a heartbeat written meanwhile is not "in the future"
  const nodes = live.map((n) => ({
    id: n.id,
    publicAddress: n.publicAddress,
    draining: n.draining,
    tenants: n.tenants,
    tunnels: n.id === cluster.node.id ? tunnelCount : n.tunnels,
    lagMs: n.beatAt === undefined ? undefined : Math.max(0, now - n.beatAt),
  }));
  const lag = cluster.lagMs();
  return {
    node: cluster.node.id,
    draining: ctx.draining,
    presenceLagMs: Number.isFinite(lag) ? lag : null,
    nodes,
    tunnelsPerTenant,
  };
}
