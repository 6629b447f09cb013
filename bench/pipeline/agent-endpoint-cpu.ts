/**
 * Agent-endpoint benchmark: the CPU one 2026-07-28 `tools/call` costs in the connector's agent-facing MCP
 * endpoint (HTTP parsing, body checks, era classification, the SDK's request handling, the answer), with
 * no gateway stages and a catalog that answers at once, against a bare HTTP server that parses the same
 * JSON and writes an answer of the same shape. Load generator and servers share one process: both paths
 * carry the same generator cost, so the difference per call is the endpoint's own.
 *
 * Usage: npm run build && node dist/bench/pipeline/agent-endpoint-cpu.js [--calls 20000] [--concurrency 16]
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import type { GatewayIdentity } from '../../src/gateway/gateway-context.js';
import { authInfoForIdentity } from '../../src/mcp/agent-auth-info.js';
import type { AgentCatalog } from '../../src/mcp/agent-endpoint-options.js';
import { AgentMcpEndpoint } from '../../src/mcp/agent-mcp-endpoint.js';

const AGENT: GatewayIdentity = {
  name: 'bench',
  spiffeId: 'spiffe://bench.localhost/agent/bench',
  certSerial: 'b1',
  authenticatedBy: 'mtls',
};

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : Number.NaN;
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

const CALLS = arg('calls', 20_000);
const CONCURRENCY = arg('concurrency', 16);
const ECHO_TOOL = { name: 'echo', inputSchema: { type: 'object' as const } };

/** A catalog with one tool that answers at once (the upstream is out of this measure). */
function instantCatalog(): AgentCatalog {
  const none = () => () => {};
  const catalog = {
    tools: () => [ECHO_TOOL],
    prompts: () => [],
    resources: () => [],
    resourceTemplates: () => [],
    callTool: async (params: Record<string, unknown>) => ({
      content: [{ type: 'text', text: JSON.stringify(params.arguments ?? {}) }],
    }),
    onChanged: none,
    onResourceUpdated: none,
  };
  return catalog as unknown as AgentCatalog;
}

function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Server> {
  const server = createServer({ keepAliveTimeout: 60_000 }, handler);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** A bare server: reads the body, parses it, answers `{ jsonrpc, id, result }` as JSON. */
function bareHandler(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const msg = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
      id: number;
      params: { arguments: unknown };
    };
    const text = JSON.stringify(msg.params.arguments);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: { content: [{ type: 'text', text }] } }));
  });
}

function callBody(id: number): string {
  return JSON.stringify({
    jsonrpc: '2.0',
    id,
    method: 'tools/call',
    params: {
      name: 'echo',
      arguments: { text: 'x'.repeat(128) },
      _meta: {
        'io.modelcontextprotocol/protocolVersion': '2026-07-28',
        'io.modelcontextprotocol/clientInfo': { name: 'bench', version: '1' },
        'io.modelcontextprotocol/clientCapabilities': {},
      },
    },
  });
}

const HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'mcp-method': 'tools/call',
  'mcp-name': 'echo',
  'mcp-protocol-version': '2026-07-28',
};

/** `calls` tool calls from `concurrency` callers; returns CPU µs per call of this whole process. */
async function drive(server: Server, calls: number): Promise<number> {
  const { port } = server.address() as AddressInfo;
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: CONCURRENCY });
  let next = 0;
  const caller = async () => {
    while (next < calls) {
      const id = next++;
      const res = await pool.request({ path: '/mcp', method: 'POST', headers: HEADERS, body: callBody(id) });
      const text = await res.body.text();
      if (res.statusCode !== 200 || !text.includes('"result"'))
        throw new Error(`bad answer: ${text.slice(0, 200)}`);
    }
  };
  const before = process.cpuUsage();
  await Promise.all(Array.from({ length: CONCURRENCY }, caller));
  const used = process.cpuUsage(before);
  await pool.close();
  return (used.user + used.system) / calls;
}

async function measurePath(name: string, server: Server): Promise<number> {
  await drive(server, Math.min(2000, CALLS)); // warm-up
  const perCall = await drive(server, CALLS);
  console.log(`${name}: ${perCall.toFixed(1)} µs CPU per call (${CALLS} calls, concurrency ${CONCURRENCY})`);
  return perCall;
}

async function main(): Promise<void> {
  const endpoint = new AgentMcpEndpoint({ catalog: instantCatalog(), stages: [] });
  const auth = authInfoForIdentity(AGENT);
  const agentServer = await listen((req, res) => {
    (req as IncomingMessage & { auth?: unknown }).auth = auth;
    void endpoint.nodeHandler(req, res);
  });
  const bare = await listen(bareHandler);
  const bareCost = await measurePath('bare JSON server', bare);
  const endpointCost = await measurePath('agent endpoint', agentServer);
  console.log(`agent endpoint adds ${(endpointCost - bareCost).toFixed(1)} µs CPU per call`);
  agentServer.closeAllConnections();
  bare.closeAllConnections();
  await Promise.all([agentServer, bare].map((s) => new Promise((r) => s.close(r))));
  await endpoint.close();
}

await main();
