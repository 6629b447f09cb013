/**
 * The paths under comparison, all serving the SAME upstream process (bench/upstream-server.ts) and
 * answering the same calls:
 *
 * - `direct-http`, `direct-tls`: straight to the upstream over loopback HTTP, and over TLS;
 * - `airlock-full`, `airlock-tunnel`: agent → relay → tunnel → connector → upstream, relay and
 *   connectors as separate `airlock` CLI processes (see pipeline-variants.ts for what differs);
 * - `ssh-R`: an OpenSSH reverse tunnel (ssh-tunnel.ts);
 * - `mcp-proxy`: supergateway over the stdio build of the same server (mcp-proxy.ts).
 *
 * A path that cannot be set up (no sshd, say) is kept with a `skipped` reason, never faked.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type ConnectorProcess,
  type RelayProcess,
  startConnectorProcess,
  startRelayProcess,
} from './airlock-processes.js';
import { type RunningChild, startChild } from './child-process.js';
import { type McpEndpointSpec, McpHttpTarget } from './mcp-http-target.js';
import { type McpProxy, startMcpProxy } from './mcp-proxy.js';
import { ensureOpenSsh, type SshTunnel, startSshTunnel } from './ssh-tunnel.js';

export const PATH_IDS = [
  'direct-http',
  'direct-tls',
  'airlock-full',
  'airlock-tunnel',
  'ssh-R',
  'mcp-proxy',
] as const;
export type PathId = (typeof PATH_IDS)[number];

export interface BenchPath {
  id: PathId;
  description: string;
  /** How the load generator reaches it; absent when skipped. */
  endpoint?: McpEndpointSpec;
  skipped?: string;
  /** The server-side processes of this path (name → root pids of process trees), for CPU accounting. */
  processes?: () => Record<string, number[]>;
}

export interface UpstreamProcess {
  running: RunningChild;
  httpPort: number;
  httpsPort: number;
  tlsHost: string;
  caPem: string;
}

export interface AirlockProcesses {
  relayDataDir: string;
  relay: RelayProcess;
  connectors: ConnectorProcess[];
}

export interface BenchPaths {
  paths: BenchPath[];
  upstream: UpstreamProcess;
  airlock: AirlockProcesses;
  ssh: SshTunnel | undefined;
  proxy: McpProxy | undefined;
  close(): Promise<void>;
}

const UPSTREAM = fileURLToPath(new URL('./upstream-server.js', import.meta.url));

/** Starts the upstream server process (HTTP and HTTPS listeners). */
export async function startUpstream(): Promise<UpstreamProcess> {
  const running = await startChild(process.execPath, [UPSTREAM, 'http']);
  return {
    running,
    httpPort: running.ready.httpPort as number,
    httpsPort: running.ready.httpsPort as number,
    tlsHost: running.ready.tlsHost as string,
    caPem: running.ready.caPem as string,
  };
}

/** Polls until one `echo` call through `endpoint` succeeds; returns the ms it took. */
export async function waitUntilServing(
  endpoint: McpEndpointSpec,
  timeoutMs: number,
  intervalMs = 25,
): Promise<number> {
  const start = Date.now();
  let last: unknown;
  for (;;) {
    const target = new McpHttpTarget(endpoint, 1);
    try {
      await target.init();
      await target.callTool('echo', { text: 'serving?' });
      return Date.now() - start;
    } catch (err) {
      last = err;
    } finally {
      await target.close().catch(() => undefined);
    }
    if (Date.now() - start > timeoutMs) {
      throw new Error(`not serving after ${timeoutMs} ms: ${(last as Error)?.message ?? last}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** The upstream's HTTPS listener, dialed on loopback and trusted through its test CA. */
export function directTlsEndpoint(upstream: UpstreamProcess): McpEndpointSpec {
  return {
    url: `https://${upstream.tlsHost}:${upstream.httpsPort}/mcp`,
    dial: { host: '127.0.0.1', port: upstream.httpsPort },
    tls: { caPem: upstream.caPem, servername: upstream.tlsHost },
    era: 'modern',
    toolPrefix: '',
  };
}

/** Shutdown steps, run last-in first-out; a failing step does not stop the others. */
type Closers = Array<() => Promise<void>>;

function directPaths(upstream: UpstreamProcess, upstreamUrl: string): BenchPath[] {
  return [
    {
      id: 'direct-http',
      description: 'client → upstream, HTTP on loopback',
      endpoint: { url: upstreamUrl, era: 'modern', toolPrefix: '' },
      processes: () => ({ upstream: [upstream.running.pid] }),
    },
    {
      id: 'direct-tls',
      description: 'client → upstream, HTTPS on loopback',
      endpoint: directTlsEndpoint(upstream),
      processes: () => ({ upstream: [upstream.running.pid] }),
    },
  ];
}

/** The relay and one connector per pipeline variant (`airlock-full`, `airlock-tunnel`). */
async function startAirlockPaths(
  dir: string,
  upstream: UpstreamProcess,
  upstreamUrl: string,
  closers: Closers,
  log: (line: string) => void,
): Promise<{ airlock: AirlockProcesses; paths: BenchPath[] }> {
  const relayDataDir = join(dir, 'relay');
  const relay = await startRelayProcess({ dataDir: relayDataDir });
  const airlock: AirlockProcesses = { relayDataDir, relay, connectors: [] };
  closers.push(() => airlock.relay.running.stop());
  log(`relay: :${relay.port} (pid ${relay.running.pid})`);
  const paths: BenchPath[] = [];
  for (const variant of ['full', 'tunnel'] as const) {
    const connector = await startConnectorProcess({
      relay,
      relayDataDir,
      tenant: variant,
      dir: join(dir, `connector-${variant}`),
      upstreamUrl,
      variant,
    });
    airlock.connectors.push(connector);
    closers.push(() => connector.running.stop());
    await waitUntilServing(connector.endpoint, 20_000);
    log(`connector ${variant}: ${connector.tenantHost} (pid ${connector.running.pid})`);
    paths.push({
      id: variant === 'full' ? 'airlock-full' : 'airlock-tunnel',
      description:
        variant === 'full'
          ? 'agent → relay → tunnel → connector (whole pipeline) → upstream'
          : 'agent → relay → tunnel → connector (stages given the least work) → upstream',
      endpoint: connector.endpoint,
      processes: () => ({
        relay: [airlock.relay.running.pid],
        connector: [connector.running.pid],
        upstream: [upstream.running.pid],
      }),
    });
  }
  return { airlock, paths };
}

/** The OpenSSH reverse tunnel, or the path kept with the reason it could not be set up. */
async function startSshPath(
  dir: string,
  upstream: UpstreamProcess,
  closers: Closers,
  log: (line: string) => void,
  installOpenSsh: boolean,
): Promise<{ ssh: SshTunnel | undefined; path: BenchPath }> {
  const description = 'client → sshd → ssh -R tunnel → upstream';
  try {
    if (installOpenSsh) await ensureOpenSsh(log);
    const ssh = await startSshTunnel(join(dir, 'ssh'), upstream.httpPort);
    closers.push(() => ssh.close());
    const endpoint: McpEndpointSpec = {
      url: `http://127.0.0.1:${ssh.publicPort}/mcp`,
      era: 'modern',
      toolPrefix: '',
    };
    await waitUntilServing(endpoint, 10_000);
    log(`ssh -R: :${ssh.publicPort} (${ssh.version}; cipher ${ssh.cipher ?? '?'})`);
    const processes = () => ({ sshd: [ssh.sshd.pid], ssh: [ssh.ssh.pid], upstream: [upstream.running.pid] });
    return { ssh, path: { id: 'ssh-R', description, endpoint, processes } };
  } catch (err) {
    const reason = (err as Error).message;
    log(`ssh -R: SKIPPED: ${reason}`);
    return { ssh: undefined, path: { id: 'ssh-R', description, skipped: reason } };
  }
}

/** supergateway over the stdio build of the upstream, or the path kept with the reason it could not start. */
async function startProxyPath(
  closers: Closers,
  log: (line: string) => void,
): Promise<{ proxy: McpProxy | undefined; path: BenchPath }> {
  try {
    const proxy = await startMcpProxy();
    closers.push(() => proxy.close());
    log(`mcp-proxy: ${proxy.name} ${proxy.version} :${proxy.port}`);
    const path: BenchPath = {
      id: 'mcp-proxy',
      description: `client → ${proxy.name} ${proxy.version} (Streamable HTTP, stateful) → stdio upstream`,
      endpoint: { url: `http://127.0.0.1:${proxy.port}/mcp`, era: 'legacy', toolPrefix: '' },
      processes: () => ({ 'supergateway + stdio server': [proxy.running.pid] }),
    };
    return { proxy, path };
  } catch (err) {
    const reason = (err as Error).message;
    log(`mcp-proxy: SKIPPED: ${reason}`);
    return {
      proxy: undefined,
      path: { id: 'mcp-proxy', description: 'client → supergateway → stdio upstream', skipped: reason },
    };
  }
}

/** Starts every path; logs progress with `log`. */
export async function startPaths(
  dir: string,
  log: (line: string) => void,
  options: { installOpenSsh?: boolean } = {},
): Promise<BenchPaths> {
  const closers: Closers = [];
  const close = async (): Promise<void> => {
    for (const fn of closers.reverse()) await fn().catch(() => undefined);
  };
  try {
    const upstream = await startUpstream();
    closers.push(() => upstream.running.stop());
    log(`upstream: http :${upstream.httpPort}, https :${upstream.httpsPort}`);
    const upstreamUrl = `http://127.0.0.1:${upstream.httpPort}/mcp`;
    const airlock = await startAirlockPaths(dir, upstream, upstreamUrl, closers, log);
    const ssh = await startSshPath(dir, upstream, closers, log, options.installOpenSsh !== false);
    const proxy = await startProxyPath(closers, log);
    return {
      paths: [...directPaths(upstream, upstreamUrl), ...airlock.paths, ssh.path, proxy.path],
      upstream,
      airlock: airlock.airlock,
      ssh: ssh.ssh,
      proxy: proxy.proxy,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
