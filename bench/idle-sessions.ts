/**
 * Memory per idle agent session, at the relay and at the connector, each in its own process.
 *
 * An idle session is what a 2025-era MCP client leaves open between calls: its TLS connection
 * (through the relay: one agent socket and one tunnel stream at the relay; TLS termination, an HTTP
 * connection and the MCP session at the connector) with the `initialize` handshake done and the
 * standalone GET SSE stream open for server notifications.
 *
 * Method: relay and connector run with `--expose-gc` and the memory probe; after a warm-up (sessions
 * opened and closed) the baseline is taken after full GCs, then sessions are opened up to each count
 * and memory is taken again after the same GCs. Per session = (after − baseline) / sessions.
 */
import { join } from 'node:path';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { buildConnector, Client, request } from 'undici';
import {
  type ConnectorProcess,
  MEMORY_PROBE,
  type RelayProcess,
  startConnectorProcess,
  startRelayProcess,
} from './airlock-processes.js';
import type { RunningChild } from './child-process.js';
import { LEGACY_PROTOCOL_VERSION, type McpEndpointSpec } from './mcp-http-target.js';

export interface MemorySnapshot {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

export interface SessionMemoryPoint {
  /** Sessions requested and actually open (GET stream answered 200). */
  requested: number;
  open: number;
  /** Sessions the connector reports, and agent connections the relay reports. */
  connectorSessions: number | undefined;
  relayConnections: number | undefined;
  openSeconds: number;
  relay: MemorySnapshot;
  connector: MemorySnapshot;
  /** Bytes per session: (snapshot − baseline) / open. */
  relayPerSession: { rss: number; heap: number };
  connectorPerSession: { rss: number; heap: number };
  failures: number;
  firstFailure?: string;
}

export interface SessionMemoryResult {
  baseline: { relay: MemorySnapshot; connector: MemorySnapshot };
  points: SessionMemoryPoint[];
  notes: string[];
}

let probeId = 0;

/** Asks a child started with the memory probe and IPC for its memory after full GCs. */
export async function queryMemory(child: RunningChild): Promise<MemorySnapshot> {
  const id = ++probeId;
  const proc = child.child;
  const answer = new Promise<MemorySnapshot>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('memory probe did not answer')), 30_000);
    const onMessage = (msg: { type?: string; id?: number } & MemorySnapshot): void => {
      if (msg?.type !== 'memory' || msg.id !== id) return;
      clearTimeout(timer);
      proc.off('message', onMessage);
      resolve({
        rss: msg.rss,
        heapUsed: msg.heapUsed,
        heapTotal: msg.heapTotal,
        external: msg.external,
        arrayBuffers: msg.arrayBuffers,
      });
    };
    proc.on('message', onMessage);
  });
  proc.send({ type: 'memory', id });
  return answer;
}

interface IdleSession {
  client: Client;
}

async function openIdleSession(spec: McpEndpointSpec): Promise<IdleSession> {
  const tls = spec.tls;
  if (!tls || !spec.dial) throw new Error('idle sessions need a TLS endpoint with a dial address');
  const connector = buildConnector({
    ca: tls.caPem,
    ...(tls.certPem && tls.keyPem ? { cert: tls.certPem, key: tls.keyPem } : {}),
    rejectUnauthorized: true,
    servername: tls.servername,
    checkServerIdentity: (_h: string, cert: PeerCertificate) => checkServerIdentity(tls.servername, cert),
  });
  const dial = spec.dial;
  const url = new URL(spec.url);
  const client = new Client(url.origin, {
    pipelining: 1,
    keepAliveTimeout: 3_600_000,
    bodyTimeout: 0,
    headersTimeout: 60_000,
    connect: (options, callback) =>
      connector(
        { ...options, hostname: dial.host, port: String(dial.port), servername: tls.servername },
        callback,
      ),
  });
  try {
    const init = await request(spec.url, {
      dispatcher: client,
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: {
          protocolVersion: LEGACY_PROTOCOL_VERSION,
          capabilities: {},
          clientInfo: { name: 'idle-agent', version: '1.0.0' },
        },
      }),
    });
    const sid = init.headers['mcp-session-id'];
    await init.body.text();
    if (init.statusCode !== 200 || typeof sid !== 'string') {
      throw new Error(`initialize answered ${init.statusCode} without a session`);
    }
    const headers = {
      'mcp-session-id': sid,
      'mcp-protocol-version': LEGACY_PROTOCOL_VERSION,
    };
    const note = await request(spec.url, {
      dispatcher: client,
      method: 'POST',
      headers: {
        ...headers,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
    });
    await note.body.dump();
    // The standalone SSE stream: its headers may only come with the first event (a keep-alive after
    // seconds), so the request is left running rather than awaited.
    request(spec.url, {
      dispatcher: client,
      method: 'GET',
      headers: { ...headers, accept: 'text/event-stream' },
    })
      .then((stream) => {
        stream.body.on('error', () => undefined);
        stream.body.resume();
      })
      .catch(() => undefined);
    return { client };
  } catch (err) {
    await client.destroy().catch(() => undefined);
    throw err;
  }
}

async function connectorSessions(adminUrl: string): Promise<number | undefined> {
  try {
    const res = await request(`${adminUrl}/api/status`);
    const body = (await res.body.json()) as { sessions?: number };
    return body.sessions;
  } catch {
    return undefined;
  }
}

async function relayConnections(adminPort: number, tenant: string): Promise<number | undefined> {
  try {
    const res = await request(`http://127.0.0.1:${adminPort}/metrics`);
    const text = await res.body.text();
    const line = text
      .split('\n')
      .find((l) => l.startsWith(`airlock_relay_agent_connections_active{tenant="${tenant}"}`));
    return line ? Number(line.split(' ').pop()) : 0;
  } catch {
    return undefined;
  }
}

function perSession(
  after: MemorySnapshot,
  before: MemorySnapshot,
  open: number,
): { rss: number; heap: number } {
  const n = Math.max(1, open);
  return {
    rss: Math.round((after.rss - before.rss) / n),
    heap: Math.round((after.heapUsed + after.external - before.heapUsed - before.external) / n),
  };
}

/** Sessions opened so far (they accumulate over the counts) and the failures met opening them. */
interface OpenSessions {
  sessions: IdleSession[];
  failures: number;
  firstFailure?: string;
}

/** Failures tolerated while opening sessions up to `count`, before the measure stops. */
function failureBudget(count: number): number {
  return Math.max(50, count * 0.02);
}

/** Exercises every code path once (32 sessions opened and closed), retrying while the tunnels come up. */
async function warmUp(endpoint: McpEndpointSpec): Promise<void> {
  for (let tries = 0; ; tries++) {
    try {
      const warm = await Promise.all(Array.from({ length: 32 }, () => openIdleSession(endpoint)));
      await Promise.all(warm.map((s) => s.client.destroy()));
      return;
    } catch (err) {
      if (tries > 100) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** Opens sessions with 48 workers until `count` are open or the failure budget is spent. */
async function openUpTo(endpoint: McpEndpointSpec, open: OpenSessions, count: number): Promise<void> {
  let next = open.sessions.length;
  const worker = async (): Promise<void> => {
    while (next < count) {
      next++;
      try {
        open.sessions.push(await openIdleSession(endpoint));
      } catch (err) {
        open.failures++;
        open.firstFailure ??= (err as Error).message;
        if (open.failures > failureBudget(count)) return;
      }
    }
  };
  await Promise.all(Array.from({ length: 48 }, worker));
}

interface MeasuredProcesses {
  relay: RelayProcess;
  connector: ConnectorProcess;
  baseline: SessionMemoryResult['baseline'];
}

/** Memory of both processes with `open.sessions` open, per session against the baseline. */
async function takePoint(
  processes: MeasuredProcesses,
  open: OpenSessions,
  count: number,
  openSeconds: number,
): Promise<SessionMemoryPoint> {
  const { relay, connector, baseline } = processes;
  const relayMem = await queryMemory(relay.running);
  const connectorMem = await queryMemory(connector.running);
  const n = open.sessions.length;
  return {
    requested: count,
    open: n,
    connectorSessions: await connectorSessions(String(connector.running.ready.adminUrl)),
    relayConnections: await relayConnections(relay.running.ready.adminPort as number, connector.tenant),
    openSeconds,
    relay: relayMem,
    connector: connectorMem,
    relayPerSession: perSession(relayMem, baseline.relay, n),
    connectorPerSession: perSession(connectorMem, baseline.connector, n),
    failures: open.failures,
    ...(open.firstFailure ? { firstFailure: open.firstFailure } : {}),
  };
}

function describePoint(point: SessionMemoryPoint): string {
  const failed = point.failures ? `; ${point.failures} failed: ${point.firstFailure}` : '';
  return (
    `idle sessions ${point.open}/${point.requested} (${point.openSeconds.toFixed(1)} s): relay ${kb(point.relayPerSession.rss)} KB rss, ` +
    `${kb(point.relayPerSession.heap)} KB heap per session; connector ${kb(point.connectorPerSession.rss)} KB rss, ` +
    `${kb(point.connectorPerSession.heap)} KB heap${failed}`
  );
}

/**
 * Runs the idle-session measure at each count in `counts` (ascending; sessions accumulate).
 *
 * @example
 * const result = await measureIdleSessions(dir, upstreamUrl, [1000, 10000], log);
 */
export async function measureIdleSessions(
  dir: string,
  upstreamUrl: string,
  counts: number[],
  log: (line: string) => void,
): Promise<SessionMemoryResult> {
  const execArgv = ['--expose-gc', '--import', MEMORY_PROBE];
  const relayDataDir = join(dir, 'relay');
  const max = Math.max(...counts);
  const relay = await startRelayProcess({ dataDir: relayDataDir, raisedLimits: true, ipc: true, execArgv });
  const open: OpenSessions = { sessions: [], failures: 0 };
  const notes: string[] = [
    'relay: bench/relay-process.ts (what `airlock relay` runs, with tunnels per connector raised to 16 ' +
      'and agent connections per tenant to 12,000: the relay config file does not expose these limits yet)',
  ];
  let connectorRunning: RunningChild | undefined;
  try {
    const connector = await startConnectorProcess({
      relay,
      relayDataDir,
      tenant: 'mem',
      dir: join(dir, 'connector'),
      upstreamUrl,
      variant: 'full',
      tunnels: Math.min(16, Math.max(2, Math.ceil(max / 900))),
      maxSessions: max + 1000,
      ipc: true,
      execArgv,
    });
    connectorRunning = connector.running;
    await warmUp(connector.endpoint);
    await new Promise((resolve) => setTimeout(resolve, 1500)); // settle before the baseline
    const baseline = {
      relay: await queryMemory(relay.running),
      connector: await queryMemory(connector.running),
    };
    const points: SessionMemoryPoint[] = [];
    for (const count of counts) {
      const t0 = Date.now();
      await openUpTo(connector.endpoint, open, count);
      const openSeconds = (Date.now() - t0) / 1000;
      await new Promise((resolve) => setTimeout(resolve, 2000)); // settle before measuring
      const point = await takePoint({ relay, connector, baseline }, open, count, openSeconds);
      points.push(point);
      log(describePoint(point));
      if (open.failures > failureBudget(count)) break;
    }
    return { baseline, points, notes };
  } finally {
    await Promise.all(open.sessions.map((s) => s.client.destroy().catch(() => undefined)));
    await connectorRunning?.stop('SIGTERM', 5000);
    await relay.running.stop('SIGTERM', 5000);
  }
}

function kb(bytes: number): string {
  return (bytes / 1024).toFixed(1);
}
