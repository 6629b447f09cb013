/**
 * A connector of the benchmark cluster, set up with the CLI as an operator does it: the tenant and its
 * enrollment token from `airlock tenant add --config <node.yaml>` (the cluster's PostgreSQL store),
 * then `airlock connector enroll`, `airlock identity issue` and `airlock connector run`, dialing ONE
 * node. Same connector settings as the single-node paths (bench/airlock-processes.ts: pipeline
 * variant, tunnels, upstream `bench`).
 *
 * `startConnectorProcess` (bench/airlock-processes.ts) adds its tenant with `--data-dir` (a SQLite
 * store); the cluster's store is PostgreSQL, named by the node's config file, hence this file.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { ConnectorProcess } from '../airlock-processes.js';
import { AIRLOCK_CLI, runAirlock, startChild } from '../child-process.js';
import { BENCH_AGENT, type PipelineVariant, pipelineConfig } from '../pipeline-variants.js';
import type { BenchNode } from './cluster-nodes.js';

export interface ClusterConnectorOptions {
  /** The node the connector dials (all its tunnels start there). */
  node: BenchNode;
  tenant: string;
  dir: string;
  upstreamUrl: string;
  variant: PipelineVariant;
  tunnels?: number;
}

/** Enrolls and starts the connector; `endpoint` reaches the tenant through `node` (change `dial` to enter elsewhere). */
export async function startClusterConnector(options: ClusterConnectorOptions): Promise<ConnectorProcess> {
  const { node, tenant, dir } = options;
  await mkdir(dir, { recursive: true });
  const added = await runAirlock(['tenant', 'add', tenant, '--config', node.configFile]);
  const token = added.trim().split('\n').pop() ?? '';
  const configFile = join(dir, 'connector.yaml');
  const relay = {
    url: `tls://relay.localhost:${node.relay.port}`,
    connect: `127.0.0.1:${node.relay.port}`,
    caFile: node.relay.caFile,
    tunnels: options.tunnels ?? 2,
  };
  const pipeline = await pipelineConfig(options.variant, dir);
  const config = {
    dataDir: join(dir, 'data'),
    relay,
    admin: { listen: '127.0.0.1:0' },
    mcp: { maxSessions: 10_000 },
    upstreams: { bench: { url: options.upstreamUrl } },
    ...pipeline,
  };
  await writeFile(configFile, stringify(config));
  await runAirlock(['connector', 'enroll', '--config', configFile, '--token', token]);
  const agentDir = join(dir, 'agent');
  await runAirlock(['identity', 'issue', BENCH_AGENT, '--config', configFile, '--out', agentDir]);
  const start = async (): Promise<ConnectorProcess> => {
    const running = await startChild(
      process.execPath,
      [AIRLOCK_CLI, 'connector', 'run', '--config', configFile, '--json'],
      { env: { ...process.env, AIRLOCK_LOG_LEVEL: 'warn' } },
    );
    const tenantHost = String(running.ready.tenantHost);
    const [caPem, certPem, keyPem] = await Promise.all([
      readFile(String(running.ready.caFile), 'utf8'),
      readFile(join(agentDir, `${BENCH_AGENT}.cert.pem`), 'utf8'),
      readFile(join(agentDir, `${BENCH_AGENT}.key.pem`), 'utf8'),
    ]);
    const url = `https://${tenantHost}:${node.relay.port}/mcp`;
    const connectTo = { host: '127.0.0.1', port: node.relay.port };
    const tls = { caPem, certPem, keyPem, servername: tenantHost };
    return {
      running,
      tenant,
      tenantHost,
      configFile,
      connection: { url, caPem, certPem, keyPem, connectTo },
      endpoint: { url, dial: connectTo, tls, era: 'modern', toolPrefix: 'bench.' },
      restart: () => start(),
    };
  };
  return start();
}
