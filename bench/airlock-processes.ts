/**
 * Airlock as separate processes, set up the way an operator does it with the CLI: a relay, a tenant
 * per connector with a one-time enrollment token, `airlock connector enroll`, an agent identity from
 * `airlock identity issue`, and `airlock connector run` (which assembles the connector with
 * `startConnector`). The connectors serve the benchmark's HTTP upstream as upstream `bench`.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import type { TenantConnection } from '../src/agent/index.js';
import { AIRLOCK_CLI, type RunningChild, runAirlock, startChild } from './child-process.js';
import type { McpEndpointSpec } from './mcp-http-target.js';
import { BENCH_AGENT, type PipelineVariant, pipelineConfig } from './pipeline-variants.js';

const RELAY_PROCESS = fileURLToPath(new URL('./relay-process.js', import.meta.url));
/** Preload answering memory queries over IPC. */
export const MEMORY_PROBE = fileURLToPath(new URL('./memory-probe.js', import.meta.url));

export interface RelayProcessOptions {
  dataDir: string;
  port?: number;
  execArgv?: string[];
  /** Use the bench relay launcher with raised limits (idle-session measure) instead of the CLI. */
  raisedLimits?: boolean;
  ipc?: boolean;
}

export interface RelayProcess {
  running: RunningChild;
  port: number;
  caFile: string;
}

/** Starts a relay process (the CLI, or the raised-limits launcher) and waits until it listens. */
export async function startRelayProcess(options: RelayProcessOptions): Promise<RelayProcess> {
  const port = options.port ?? 0;
  const args = options.raisedLimits
    ? [RELAY_PROCESS, '--data-dir', options.dataDir, '--port', String(port)]
    : [
        AIRLOCK_CLI,
        'relay',
        '--domain',
        'localhost',
        '--listen',
        `127.0.0.1:${port}`,
        '--admin',
        '127.0.0.1:0',
        '--data-dir',
        options.dataDir,
        '--json',
      ];
  const running = await startChild(process.execPath, args, {
    execArgv: options.execArgv ?? [],
    ipc: options.ipc ?? false,
    env: { ...process.env, AIRLOCK_LOG_LEVEL: 'warn' },
  });
  return {
    running,
    port: running.ready.port as number,
    caFile: String(running.ready.caFile ?? join(options.dataDir, 'identity', 'ca.pem')),
  };
}

/**
 * Where `airlock tenant add` finds the relay's store: the relay's data directory (its SQLite store,
 * `--data-dir`), or the relay's config file (`--config`: a cluster node, whose store is PostgreSQL).
 */
export type RelayStoreRef =
  | { relayDataDir: string; relayConfigFile?: undefined }
  | { relayConfigFile: string; relayDataDir?: undefined };

export type ConnectorProcessOptions = RelayStoreRef & {
  /** The relay (or cluster node) the connector dials: all its tunnels start there. */
  relay: RelayProcess;
  tenant: string;
  dir: string;
  upstreamUrl: string;
  variant: PipelineVariant;
  tunnels?: number;
  maxSessions?: number;
  execArgv?: string[];
  ipc?: boolean;
};

export interface ConnectorProcess {
  running: RunningChild;
  tenant: string;
  tenantHost: string;
  configFile: string;
  connection: TenantConnection;
  /** How the load generator reaches this tenant through the relay. */
  endpoint: McpEndpointSpec;
  /** Starts the same connector again (after `running.stop`). */
  restart(execArgv?: string[]): Promise<ConnectorProcess>;
}

/**
 * Adds the tenant, enrolls and starts its connector, issues an agent identity.
 *
 * @example
 * await startConnectorProcess({ relay, relayDataDir, tenant: 'full', dir, upstreamUrl, variant: 'full' });
 * await startConnectorProcess({ relay: node.relay, relayConfigFile: node.configFile, tenant, dir, upstreamUrl, variant });
 */
export async function startConnectorProcess(options: ConnectorProcessOptions): Promise<ConnectorProcess> {
  const { relay, tenant, dir } = options;
  await mkdir(dir, { recursive: true });
  const store =
    options.relayConfigFile !== undefined
      ? ['--config', options.relayConfigFile]
      : ['--data-dir', options.relayDataDir];
  const added = await runAirlock(['tenant', 'add', tenant, ...store]);
  const token = added.trim().split('\n').pop() ?? '';
  const configFile = join(dir, 'connector.yaml');
  const dataDir = join(dir, 'data');
  const pipeline = await pipelineConfig(options.variant, dir);
  await writeFile(
    configFile,
    stringify({
      dataDir,
      relay: {
        url: `tls://relay.localhost:${relay.port}`,
        connect: `127.0.0.1:${relay.port}`,
        caFile: relay.caFile,
        tunnels: options.tunnels ?? 2,
      },
      admin: { listen: '127.0.0.1:0' },
      mcp: { maxSessions: options.maxSessions ?? 10_000 },
      upstreams: { bench: { url: options.upstreamUrl } },
      ...pipeline,
    }),
  );
  await runAirlock(['connector', 'enroll', '--config', configFile, '--token', token]);
  const agentDir = join(dir, 'agent');
  await runAirlock(['identity', 'issue', BENCH_AGENT, '--config', configFile, '--out', agentDir]);
  const start = async (execArgv: string[] | undefined): Promise<ConnectorProcess> => {
    const running = await startChild(
      process.execPath,
      [AIRLOCK_CLI, 'connector', 'run', '--config', configFile, '--json'],
      {
        execArgv: execArgv ?? options.execArgv ?? [],
        ipc: options.ipc ?? false,
        env: { ...process.env, AIRLOCK_LOG_LEVEL: 'warn' },
      },
    );
    const tenantHost = String(running.ready.tenantHost);
    const caPem = await readFile(String(running.ready.caFile), 'utf8');
    const certPem = await readFile(join(agentDir, `${BENCH_AGENT}.cert.pem`), 'utf8');
    const keyPem = await readFile(join(agentDir, `${BENCH_AGENT}.key.pem`), 'utf8');
    const url = `https://${tenantHost}:${relay.port}/mcp`;
    const connectTo = { host: '127.0.0.1', port: relay.port };
    const self: ConnectorProcess = {
      running,
      tenant,
      tenantHost,
      configFile,
      connection: { url, caPem, certPem, keyPem, connectTo },
      endpoint: {
        url,
        dial: connectTo,
        tls: { caPem, certPem, keyPem, servername: tenantHost },
        era: 'modern',
        toolPrefix: 'bench.',
      },
      restart: (again) => start(again),
    };
    return self;
  };
  return start(undefined);
}
