/**
 * A relay cluster for the benchmark, set up as an operator does it: `airlock relay --config` processes
 * on one PostgreSQL schema (fresh per run) and one Redis prefix (unique per run), the identity
 * directory shared (made by the first node, read by the others), each node with its default presence
 * settings. `advertise: false` keeps a node's public address out of the views sent to connectors, so
 * that connectors never place a tunnel there (the benchmark's "node without the tenant's tunnel").
 *
 * @example
 * const cluster = await startBenchCluster(dir, [{ id: 'node-b' }, { id: 'node-a', advertise: false }]);
 * const metrics = await cluster.nodes[1].metrics();
 * await cluster.close();
 */
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { stringify } from 'yaml';
import type { RelayStatus } from '../../src/relay/relay-status.js';
import type { RelayProcess } from '../airlock-processes.js';
import { AIRLOCK_CLI, type RunningChild, startChild } from '../child-process.js';

/** Presence store of the benchmark cluster. */
export const BENCH_REDIS_URL = process.env.AIRLOCK_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** Database the benchmark cluster makes its schema in. */
export const BENCH_PG_URL = process.env.AIRLOCK_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface BenchNodeSpec {
  id: string;
  /** Tell connectors this node's public address (default true). */
  advertise?: boolean;
}

export interface BenchNode {
  id: string;
  configFile: string;
  /** Port, CA file and process, in the shape the single-node helpers use. */
  relay: RelayProcess;
  adminPort: number;
  status(): Promise<RelayStatus>;
  /** The node's Prometheus text (`/metrics` on its admin port). */
  metrics(): Promise<string>;
}

export interface BenchCluster {
  relayDataDir: string;
  nodes: BenchNode[];
  close(): Promise<void>;
}

function nodeConfig(
  spec: BenchNodeSpec,
  dataDir: string,
  storeUrl: string,
  prefix: string,
): Record<string, unknown> {
  return {
    domain: 'localhost',
    listen: '127.0.0.1:0',
    admin: { listen: '127.0.0.1:0' },
    dataDir,
    store: storeUrl,
    cluster: {
      nodeId: spec.id,
      presenceUrl: BENCH_REDIS_URL,
      presencePrefix: prefix,
      peerListen: '127.0.0.1:0',
      // An address `clusterViewOf` leaves out of connectors' views: no tunnel is ever moved here.
      ...(spec.advertise === false ? { publicAdvertise: '0.0.0.0:9' } : {}),
    },
  };
}

async function startNode(
  dir: string,
  spec: BenchNodeSpec,
  dataDir: string,
  storeUrl: string,
  prefix: string,
): Promise<BenchNode> {
  const configFile = join(dir, `${spec.id}.yaml`);
  await writeFile(configFile, stringify(nodeConfig(spec, dataDir, storeUrl, prefix)));
  const running: RunningChild = await startChild(
    process.execPath,
    [AIRLOCK_CLI, 'relay', '--config', configFile, '--json'],
    { env: { ...process.env, AIRLOCK_LOG_LEVEL: 'warn' }, readyTimeoutMs: 60_000 },
  );
  const adminPort = running.ready.adminPort as number;
  const admin = (path: string) => fetch(`http://127.0.0.1:${adminPort}${path}`);
  return {
    id: spec.id,
    configFile,
    relay: { running, port: running.ready.port as number, caFile: String(running.ready.caFile) },
    adminPort,
    status: async () => (await (await admin('/status')).json()) as RelayStatus,
    metrics: async () => (await admin('/metrics')).text(),
  };
}

/** Removes the run's Redis keys and PostgreSQL schema. */
async function dropClusterState(schema: string, prefix: string): Promise<void> {
  const redis = new Redis(BENCH_REDIS_URL);
  try {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
  const client = new pg.Client({ connectionString: BENCH_PG_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}

/** Starts the nodes one after the other (the first one makes the shared identity). */
export async function startBenchCluster(dir: string, specs: BenchNodeSpec[]): Promise<BenchCluster> {
  const schema = `bench_cluster_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
  const storeUrl = `${BENCH_PG_URL}?schema=${schema}`;
  const prefix = `airlock-bench-cluster:${randomUUID()}:`;
  const relayDataDir = join(dir, 'relay');
  await mkdir(dir, { recursive: true });
  const nodes: BenchNode[] = [];
  const close = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => n.relay.running.stop('SIGTERM', 10_000)));
    await dropClusterState(schema, prefix);
  };
  try {
    for (const spec of specs) nodes.push(await startNode(dir, spec, relayDataDir, storeUrl, prefix));
    return { relayDataDir, nodes, close };
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
}

/** The value of a Prometheus counter (sum over the series matching `labels`), 0 when absent. */
export function counterValue(metricsText: string, name: string, labels = ''): number {
  let sum = 0;
  for (const line of metricsText.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (labels !== '' && !line.includes(labels)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1)) || 0;
  }
  return sum;
}
