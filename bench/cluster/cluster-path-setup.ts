/**
 * The processes of the cluster-path benchmark (bench/cluster/cluster-path.ts), all serving the SAME
 * upstream process (bench/upstream-server.ts):
 *
 * - one relay and one `full` connector, as in `npm run bench` (bench/airlock-processes.ts);
 * - a two-node relay cluster (bench/cluster/cluster-nodes.ts): node B holds the tenant's tunnels,
 *   node A advertises no public address to connectors, so it never holds one, and the agent dials A;
 * - the check that the cluster path was really spliced: node A holds no tunnel of the tenant, and
 *   its `/metrics` (`airlock_relay_splices_total{direction="out"}`) and node B's (`direction="in"`)
 *   count at least one splice per agent connection the path opened.
 */
import { join } from 'node:path';
import { startConnectorProcess, startRelayProcess } from '../airlock-processes.js';
import { directTlsEndpoint, startUpstream, waitUntilServing } from '../bench-paths.js';
import type { McpEndpointSpec } from '../mcp-http-target.js';
import { type BenchCluster, type BenchNode, counterValue, startBenchCluster } from './cluster-nodes.js';

export type ClusterPathId = 'direct-tls' | 'airlock-full' | 'cluster-splice';

export interface PathSpec {
  id: ClusterPathId;
  description: string;
  endpoint: McpEndpointSpec;
}

export interface SpliceCounts {
  outOnA: number;
  inOnB: number;
}

export interface SpliceCheck extends SpliceCounts {
  /** Agent connections the cluster path opened at least (each must be one splice). */
  expectedAtLeast: number;
  tunnelsOnA: number;
  tunnelsOnB: number;
}

export interface ClusterPathSetup {
  paths: PathSpec[];
  spliceCounts(): Promise<SpliceCounts>;
  /** Throws unless node A spliced at least `expectedAtLeast` connections since `before` and holds no tunnel. */
  verifySpliced(before: SpliceCounts, expectedAtLeast: number): Promise<SpliceCheck>;
  close(): Promise<void>;
}

const SPLICES = 'airlock_relay_splices_total';
const TENANT = 'cluster';

async function tunnelsOf(node: BenchNode): Promise<number> {
  return (await node.status()).tunnelsPerTenant[TENANT] ?? 0;
}

/** Waits until node B holds every tunnel of the connector and node A none (the placement under test). */
async function waitForPlacement(a: BenchNode, b: BenchNode, tunnels: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const [onA, onB] = await Promise.all([tunnelsOf(a), tunnelsOf(b)]);
    if (onA > 0) throw new Error(`node A holds ${onA} tunnel(s) of the tenant: the path would not splice`);
    if (onB === tunnels) return;
    if (Date.now() > deadline) throw new Error(`node B holds ${onB} of ${tunnels} tunnels after 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function spliceCounts(a: BenchNode, b: BenchNode): Promise<SpliceCounts> {
  const [ma, mb] = await Promise.all([a.metrics(), b.metrics()]);
  return {
    outOnA: counterValue(ma, SPLICES, 'direction="out"'),
    inOnB: counterValue(mb, SPLICES, 'direction="in"'),
  };
}

async function startCluster(
  dir: string,
  upstreamUrl: string,
  log: (line: string) => void,
): Promise<{ cluster: BenchCluster; a: BenchNode; b: BenchNode; endpoint: McpEndpointSpec }> {
  const cluster = await startBenchCluster(join(dir, 'cluster'), [
    { id: 'node-b' },
    { id: 'node-a', advertise: false },
  ]);
  const [b, a] = cluster.nodes as [BenchNode, BenchNode];
  try {
    const connector = await startConnectorProcess({
      relay: b.relay,
      relayConfigFile: b.configFile,
      tenant: TENANT,
      dir: join(dir, 'connector-cluster'),
      upstreamUrl,
      variant: 'full',
    });
    await waitForPlacement(a, b, 2);
    const viaA = { host: '127.0.0.1', port: a.relay.port };
    const endpoint: McpEndpointSpec = {
      ...connector.endpoint,
      url: `https://${connector.tenantHost}:${a.relay.port}/mcp`,
      dial: viaA,
    };
    await waitUntilServing(endpoint, 20_000);
    log(`cluster: node A :${a.relay.port} (no tunnel) → node B :${b.relay.port} (2 tunnels)`);
    const close = cluster.close;
    cluster.close = async () => {
      await connector.running.stop('SIGTERM', 10_000);
      await close();
    };
    return { cluster, a, b, endpoint };
  } catch (err) {
    await cluster.close().catch(() => undefined);
    throw err;
  }
}

/** Starts the upstream, the single-node relay and connector, and the cluster. */
export async function startClusterPathSetup(
  dir: string,
  log: (line: string) => void,
): Promise<ClusterPathSetup> {
  const closers: Array<() => Promise<void>> = [];
  const close = async (): Promise<void> => {
    for (const fn of closers.reverse()) await fn().catch(() => undefined);
  };
  try {
    const upstream = await startUpstream();
    closers.push(() => upstream.running.stop());
    const upstreamUrl = `http://127.0.0.1:${upstream.httpPort}/mcp`;
    const relayDataDir = join(dir, 'relay');
    const relay = await startRelayProcess({ dataDir: relayDataDir });
    closers.push(() => relay.running.stop());
    const single = await startConnectorProcess({
      relay,
      relayDataDir,
      tenant: 'full',
      dir: join(dir, 'connector-full'),
      upstreamUrl,
      variant: 'full',
    });
    closers.push(() => single.running.stop());
    await waitUntilServing(single.endpoint, 20_000);
    const { cluster, a, b, endpoint } = await startCluster(dir, upstreamUrl, log);
    closers.push(() => cluster.close());
    const paths: PathSpec[] = [
      {
        id: 'direct-tls',
        description: 'client → upstream, HTTPS on loopback',
        endpoint: directTlsEndpoint(upstream),
      },
      {
        id: 'airlock-full',
        description: 'agent → relay → tunnel → connector (whole pipeline) → upstream',
        endpoint: single.endpoint,
      },
      {
        id: 'cluster-splice',
        description:
          'agent → relay node A (no tunnel) → node-to-node splice → node B → tunnel → connector (whole pipeline) → upstream',
        endpoint,
      },
    ];
    return {
      paths,
      spliceCounts: () => spliceCounts(a, b),
      verifySpliced: async (before, expectedAtLeast) => {
        const now = await spliceCounts(a, b);
        const check: SpliceCheck = {
          outOnA: now.outOnA - before.outOnA,
          inOnB: now.inOnB - before.inOnB,
          expectedAtLeast,
          tunnelsOnA: await tunnelsOf(a),
          tunnelsOnB: await tunnelsOf(b),
        };
        if (check.tunnelsOnA > 0 || check.outOnA < expectedAtLeast || check.inOnB < expectedAtLeast)
          throw new Error(`the cluster path was not spliced as required: ${JSON.stringify(check)}`);
        return check;
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
