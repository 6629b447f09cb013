/**
 * Where a connector's tunnels should be, when the relay is a cluster: the choices the tunnel
 * supervisor makes from the cluster views the relay nodes send (see `ClusterView` in
 * src/tunnel/protocol.ts). Pure functions, no I/O.
 *
 * @example
 * const target = pickNode(view.nodes, new Set(['node-a']), new Set(['node-b'])); // a node neither used nor excluded
 */
import type { ClusterView } from '../tunnel/protocol.js';

export type ClusterNodeAddress = ClusterView['nodes'][number];

/** A node of `nodes` not in `used` nor in `exclude` (first such), else undefined. */
export function pickNode(
  nodes: readonly ClusterNodeAddress[],
  used: ReadonlySet<string>,
  exclude: ReadonlySet<string>,
): ClusterNodeAddress | undefined {
  const free = nodes.filter((n) => !used.has(n.id) && !exclude.has(n.id));
  return free[Math.floor(Math.random() * free.length)];
}

/**
 * The index (into `placed`) of a tunnel to move so that tunnels cover more distinct nodes, or
 * undefined when they already cover min(tunnels, nodes) nodes. Among tunnels sharing a node, the one
 * with the fewest active streams moves.
 */
export function tunnelToSpread(
  placed: ReadonlyArray<{ node: string; activeStreams: number }>,
  nodeCount: number,
): number | undefined {
  const distinct = new Set(placed.map((p) => p.node));
  if (distinct.size >= Math.min(placed.length, nodeCount)) return undefined;
  const seen = new Map<string, number>();
  for (const p of placed) seen.set(p.node, (seen.get(p.node) ?? 0) + 1);
  let best: number | undefined;
  placed.forEach((p, i) => {
    if ((seen.get(p.node) ?? 0) < 2) return;
    if (best === undefined || p.activeStreams < (placed[best]?.activeStreams ?? 0)) best = i;
  });
  return best;
}

/** `host:port` / `[v6]:port` → connect target. */
export function parseNodeAddress(address: string): { host: string; port: number } | undefined {
  const at = address.lastIndexOf(':');
  const port = Number(address.slice(at + 1));
  if (at <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) return undefined;
  return { host: address.slice(0, at).replace(/^\[|\]$/g, ''), port };
}
