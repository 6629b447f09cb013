/**
 * A relay cluster of real processes on loopback, for the cluster tests: N `airlock relay` processes on
 * one PostgreSQL schema (fresh per cluster) and one Redis prefix (unique), the identity directory
 * shared, HAProxy (Debian's /usr/sbin/haproxy, TCP mode, round-robin, health check on each node's
 * admin `/readyz`) in front, one in-process connector (2 tunnels) dialing HAProxy, and an agent
 * identity. Nothing is mocked.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/client';
import { Redis } from 'ioredis';
import pg from 'pg';
import { stringify } from 'yaml';
import { connectToTenant, type TenantConnection } from '../../src/agent/index.js';
import { loadOrCreateAuditKey } from '../../src/audit/audit-key.js';
import { type Connector, startConnector } from '../../src/connector/connector.js';
import { loadConnectorContext } from '../../src/connector/connector-context.js';
import { enrollFromConfig } from '../../src/connector/enroll-connector.js';
import { issueAgentIdentity } from '../../src/identity/tenant-pki.js';
import { loadOrCreateRelayIdentity } from '../../src/relay/relay-identity-files.js';
import type { RelayStatus } from '../../src/relay/relay-status.js';
import { addTenant, issueEnrollmentToken } from '../../src/relay/tenant-admin.js';
import { openStore } from '../../src/store/open-store.js';
import { everythingUpstream, OPEN_POLICY } from '../e2e/airlock-stack.js';
import { type Running, startCli } from '../e2e/cli-process.js';

const REDIS_URL = process.env.AIRLOCK_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PG_URL = process.env.AIRLOCK_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const HAPROXY = '/usr/sbin/haproxy';

export interface ClusterNodeProcess {
  id: string;
  port: number;
  adminPort: number;
  process: Running | undefined;
}

export interface ClusterUnderTest {
  dir: string;
  nodes: ClusterNodeProcess[];
  lbPort: number;
  connector: Connector;
  /** How an agent reaches the tenant through HAProxy. */
  conn: TenantConnection;
  /** `connectTo` one node directly (bypassing HAProxy). */
  connVia(node: ClusterNodeProcess): TenantConnection;
  startNode(node: ClusterNodeProcess): Promise<void>;
  status(node: ClusterNodeProcess): Promise<RelayStatus>;
  /** Nodes (ids) that hold at least one tunnel of the tenant, asking every running node. */
  nodesWithTunnels(): Promise<string[]>;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (${String(last ?? '')})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function haproxyConfig(lbPort: number, nodes: ClusterNodeProcess[]): string {
  return [
    'global',
    '  maxconn 4096',
    'defaults',
    '  mode tcp',
    '  timeout connect 1s',
    '  timeout client 120s',
    '  timeout server 120s',
    '  retries 3',
    '  option redispatch',
    'frontend agents',
    `  bind 127.0.0.1:${lbPort}`,
    '  default_backend relays',
    'backend relays',
    '  balance roundrobin',
    '  option httpchk',
    '  http-check send meth GET uri /readyz ver HTTP/1.1 hdr Host 127.0.0.1',
    '  http-check expect status 200',
    '  default-server inter 200 fall 1 rise 2',
    ...nodes.map((n) => `  server ${n.id} 127.0.0.1:${n.port} check port ${n.adminPort}`),
    '',
  ].join('\n');
}

/** Whether a TCP connection to 127.0.0.1:`port` is accepted (true), or undefined when refused. */
function accepts(port: number): Promise<true | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(undefined));
  });
}

async function startHaproxy(file: string): Promise<ChildProcess> {
  const child = spawn(HAPROXY, ['-db', '-f', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  await new Promise((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  if (child.exitCode !== null) throw new Error(`haproxy exited: ${err}`);
  return child;
}

async function relayConfig(
  dir: string,
  node: ClusterNodeProcess,
  storeUrl: string,
  prefix: string,
): Promise<string> {
  const file = join(dir, `${node.id}.yaml`);
  await writeFile(
    file,
    stringify({
      domain: 'localhost',
      listen: `127.0.0.1:${node.port}`,
      admin: { listen: `127.0.0.1:${node.adminPort}` },
      dataDir: join(dir, 'relay'),
      store: storeUrl,
      drainGraceMs: 10_000,
      // A node killed with -9 closes its sockets: its tunnels and links fail at once; heartbeats are
      // for half-open connections, which these tests do not make. On a busy machine a starved process
      // misses short deadlines, and a live tunnel declared dead fails the calls riding it: the relay's
      // tunnel heartbeat deadline is long, presence leases keep their defaults, routes are not cached.
      limits: { heartbeatTimeoutMs: 15_000 },
      cluster: {
        nodeId: node.id,
        presenceUrl: REDIS_URL,
        presencePrefix: prefix,
        peerListen: '127.0.0.1:0',
        routeCacheMs: 0,
      },
    }),
  );
  return file;
}

/** Where one cluster keeps its state: a temp directory, a PostgreSQL schema, a Redis key prefix. */
interface ClusterState {
  dir: string;
  schema: string;
  storeUrl: string;
  prefix: string;
  nodes: ClusterNodeProcess[];
  children: { haproxy?: ChildProcess; connector?: Connector };
}

async function planCluster(count: number): Promise<ClusterState> {
  const dir = await mkdtemp(join(tmpdir(), 'airlock-cluster-'));
  const schema = `cluster_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
  const nodes: ClusterNodeProcess[] = [];
  for (let i = 1; i <= count; i++) {
    nodes.push({ id: `node-${i}`, port: await freePort(), adminPort: await freePort(), process: undefined });
  }
  return {
    dir,
    schema,
    storeUrl: `${PG_URL}?schema=${schema}`,
    prefix: `airlock-test-cluster:${randomUUID()}:`,
    nodes,
    children: {},
  };
}

/** Stops every process and removes the Redis keys, the schema and the directory. */
async function closeCluster(state: ClusterState): Promise<void> {
  await state.children.connector?.close().catch(() => undefined);
  state.children.haproxy?.kill('SIGKILL');
  await Promise.all(state.nodes.map((n) => n.process?.kill('SIGKILL')));
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`${state.prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${state.schema} CASCADE`);
  await client.end();
  await rm(state.dir, { recursive: true, force: true });
}

/** The tenant `acme` in the shared store, and one enrollment token for its connector. */
async function seedTenant(storeUrl: string): Promise<string> {
  const store = await openStore({ url: storeUrl });
  try {
    await addTenant(store, 'acme', 'relay.localhost');
    return (await issueEnrollmentToken(store, 'acme', {})).token;
  } finally {
    await store.close();
  }
}

async function agentConnection(connector: Connector, dir: string, lbPort: number): Promise<TenantConnection> {
  const issued = await issueAgentIdentity(connector.pki, connector.store, 'agent-1', join(dir, 'agents'));
  return {
    url: `https://${connector.tenantHost}:${lbPort}/mcp`,
    caPem: connector.pki.caCertPem,
    certPem: await readFile(issued.certFile, 'utf8'),
    keyPem: await readFile(issued.keyFile, 'utf8'),
    connectTo: { host: '127.0.0.1', port: lbPort },
  };
}

/** Starts `count` relay nodes, HAProxy, a connector and an agent identity. */
export async function startCluster(count = 3): Promise<ClusterUnderTest> {
  const state = await planCluster(count);
  const { dir, nodes, children } = state;
  const relayDir = join(dir, 'relay');
  // One identity directory for every node (made once, as an operator copies it to each node).
  const identity = await loadOrCreateRelayIdentity(relayDir, 'relay.localhost');
  await loadOrCreateAuditKey(join(relayDir, 'identity', 'witness'));
  const lbPort = await freePort();
  const haproxyFile = join(dir, 'haproxy.cfg');
  await writeFile(haproxyFile, haproxyConfig(lbPort, nodes));
  const startNode = async (node: ClusterNodeProcess) => {
    const file = await relayConfig(dir, node, state.storeUrl, state.prefix);
    node.process = await startCli(['relay', '--config', file], 60_000);
  };
  const status = async (node: ClusterNodeProcess): Promise<RelayStatus> => {
    const res = await fetch(`http://127.0.0.1:${node.adminPort}/status`);
    return (await res.json()) as RelayStatus;
  };
  try {
    const token = await seedTenant(state.storeUrl);
    for (const node of nodes) await startNode(node);
    children.haproxy = await startHaproxy(haproxyFile);
    const up = (n: ClusterNodeProcess) => fetch(`http://127.0.0.1:${n.adminPort}/readyz`).then((r) => r.ok);
    await eventually('every node ready', async () =>
      (await Promise.all(nodes.map(up))).every(Boolean) ? true : undefined,
    );
    // `spawn` is not `listening`: on a busy machine HAProxy binds its port a moment later.
    await eventually('HAProxy listening', () => accepts(lbPort));
    const connector = await startTenantConnector(dir, lbPort, identity.ca.certPem, token);
    children.connector = connector;
    const conn = await agentConnection(connector, dir, lbPort);
    return {
      dir,
      nodes,
      lbPort,
      connector,
      conn,
      connVia: (node) => ({ ...conn, connectTo: { host: '127.0.0.1', port: node.port } }),
      startNode,
      status,
      async nodesWithTunnels() {
        const running = nodes.filter(
          (n) => n.process?.child.exitCode === null && !n.process.child.signalCode,
        );
        const all = await Promise.all(running.map((n) => status(n).catch(() => undefined)));
        return all.filter((s) => (s?.tunnelsPerTenant.acme ?? 0) > 0).map((s) => s?.node ?? '');
      },
      close: () => closeCluster(state),
    };
  } catch (err) {
    await closeCluster(state);
    throw err;
  }
}

async function startTenantConnector(dir: string, lbPort: number, caPem: string, token: string) {
  const caFile = join(dir, 'relay-ca.pem');
  await writeFile(caFile, caPem);
  await writeFile(join(dir, 'policy.yaml'), OPEN_POLICY);
  const configFile = join(dir, 'connector.yaml');
  await writeFile(
    configFile,
    stringify({
      dataDir: join(dir, 'connector'),
      relay: {
        url: `tls://relay.localhost:${lbPort}`,
        connect: `127.0.0.1:${lbPort}`,
        caFile,
        tunnels: 2,
      },
      admin: { listen: '127.0.0.1:0' },
      policy: { file: join(dir, 'policy.yaml') },
      upstreams: { everything: everythingUpstream() },
    }),
  );
  await enrollFromConfig(await loadConnectorContext(configFile), token);
  const connector = await startConnector(await loadConnectorContext(configFile));
  await connector.whenTunnelUp(10_000);
  return connector;
}

/** One agent call: a fresh client (new connection through HAProxy), one echo, closed. */
export async function oneCall(conn: TenantConnection, message: string): Promise<void> {
  const client = await connectToTenant(conn, { name: 'cluster-test', version: '1' });
  try {
    await echo(client, message);
  } finally {
    await client.close();
  }
}

async function echo(client: Client, message: string): Promise<void> {
  const result = (await client.callTool({ name: 'everything.echo', arguments: { message } })) as {
    content: Array<{ text?: string }>;
  };
  if (result.content[0]?.text !== `Echo: ${message}`) throw new Error('unexpected echo');
}

/**
 * Runs calls from `workers` loops until `stop()` or `maxCalls`; counts successes and failures (with the
 * start time of each). `fresh`: a new client (connection) per call; `reuse`: one client per worker.
 */
export function callLoop(
  conn: TenantConnection,
  workers: number,
  maxCalls = Number.POSITIVE_INFINITY,
  mode: 'fresh' | 'reuse' = 'fresh',
) {
  const stats = {
    ok: 0,
    failed: 0,
    failures: [] as Array<{ startedAt: number; at: number; error: string }>,
    lastOkAt: 0,
  };
  let stopped = false;
  let started = 0;
  const loops = Array.from({ length: workers }, async (_, w) => {
    const client =
      mode === 'reuse'
        ? await eventually(
            'a loop client',
            () => connectToTenant(conn, { name: 'loop', version: '1' }),
            60_000,
          )
        : undefined;
    while (!stopped && started < maxCalls) {
      started++;
      const startedAt = Date.now();
      try {
        if (client) await echo(client, `w${w}-${started}`);
        else await oneCall(conn, `w${w}-${started}`);
        stats.ok++;
        stats.lastOkAt = Date.now();
      } catch (err) {
        stats.failed++;
        stats.failures.push({ startedAt, at: Date.now(), error: errorChain(err) });
      }
    }
    await client?.close();
  });
  const done = Promise.all(loops);
  return {
    stats,
    done,
    async stop() {
      stopped = true;
      await done;
    },
  };
}

/** An error's message and those of its causes (`fetch failed ← read ECONNRESET`): what a failed call hit. */
function errorChain(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err; e instanceof Error && parts.length < 5; e = e.cause) parts.push(e.message);
  return parts.length > 0 ? parts.join(' ← ') : String(err);
}
