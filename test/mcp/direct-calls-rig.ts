/**
 * Test rig for the direct path: two agent endpoints over one catalog and one stage list, one with the
 * direct path (the default) and one with `directCalls: false` (every request through the SDK), each behind
 * a real HTTP server on loopback that hands the endpoint an identity as the TLS termination does. The
 * same raw request sent to both must get the same answer.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Tool } from '@modelcontextprotocol/server';
import { request } from 'undici';
import type { GatewayIdentity, Stage } from '../../src/gateway/gateway-context.js';
import { authInfoForIdentity } from '../../src/mcp/agent-auth-info.js';
import type { AgentCatalog, AgentMcpEndpointOptions } from '../../src/mcp/agent-endpoint-options.js';
import { AgentMcpEndpoint } from '../../src/mcp/agent-mcp-endpoint.js';

export const AGENT: GatewayIdentity = {
  name: 'alpha',
  spiffeId: 'spiffe://acme.localhost/agent/alpha',
  certSerial: 'a1',
  authenticatedBy: 'mtls',
};

export const ENVELOPE = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientInfo': { name: 'probe', version: '1.0.0' },
  'io.modelcontextprotocol/clientCapabilities': {},
};

/** What the catalog's `callTool` answers: a value, or a function of the params it was given. */
export type CallAnswer = (
  params: Record<string, unknown>,
  signal: AbortSignal | undefined,
) => Promise<unknown>;

/** A catalog with the given tools whose calls are answered by `answer`; it records every call's params. */
export function scriptedCatalog(tools: Tool[], answer: CallAnswer): AgentCatalog & { calls: unknown[] } {
  const none = () => () => {};
  const calls: unknown[] = [];
  const catalog = {
    calls,
    tools: () => tools,
    prompts: () => [],
    resources: () => [],
    resourceTemplates: () => [],
    callTool: async (params: Record<string, unknown>, options: { signal?: AbortSignal } = {}) => {
      calls.push(params);
      return answer(params, options.signal);
    },
    onChanged: none,
    onResourceUpdated: none,
  };
  return catalog as unknown as AgentCatalog & { calls: unknown[] };
}

export interface Answer {
  status: number;
  contentType: string;
  text: string;
  /** The JSON-RPC message: the body, or the last `data:` of an SSE answer. */
  message: Record<string, unknown>;
}

export interface EndpointPair {
  direct: string;
  sdk: string;
  endpoints: AgentMcpEndpoint[];
  close(): Promise<void>;
}

async function serve(endpoint: AgentMcpEndpoint, identity: GatewayIdentity | null): Promise<Server> {
  const auth = identity ? authInfoForIdentity(identity) : undefined;
  const server = createServer((req, res) => {
    if (auth) (req as IncomingMessage & { auth?: unknown }).auth = auth;
    void endpoint.nodeHandler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

/** The two endpoints (direct path on / off) over `catalog` and `stages`, each behind its own server (`null`: no identity). */
export async function startPair(
  catalog: AgentCatalog,
  stages: Stage[] = [],
  extra: Partial<AgentMcpEndpointOptions> = {},
  identity: GatewayIdentity | null = AGENT,
): Promise<EndpointPair> {
  const endpoints = [true, false].map(
    (directCalls) => new AgentMcpEndpoint({ catalog, stages, directCalls, ...extra }),
  );
  const servers = await Promise.all(endpoints.map((e) => serve(e, identity)));
  const url = (s: Server) => `http://127.0.0.1:${(s.address() as AddressInfo).port}/mcp`;
  return {
    direct: url(servers[0] as Server),
    sdk: url(servers[1] as Server),
    endpoints,
    close: async () => {
      for (const s of servers) s.closeAllConnections();
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
      await Promise.all(endpoints.map((e) => e.close()));
    },
  };
}

/** The standard headers of a 2026-07-28 `tools/call` of `name`, as the SDK client sends them. */
export function callHeaders(name: string): Record<string, string> {
  return {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-method': 'tools/call',
    'mcp-name': name,
    'mcp-protocol-version': '2026-07-28',
  };
}

/** A 2026-07-28 `tools/call` body. */
export function callBody(id: number | string, params: Record<string, unknown>): Record<string, unknown> {
  return { jsonrpc: '2.0', id, method: 'tools/call', params: { _meta: ENVELOPE, ...params } };
}

/** POSTs `body` with `headers` and reads the whole answer. */
export async function post(
  url: string,
  body: unknown,
  headers: Record<string, string>,
  signal?: AbortSignal,
): Promise<Answer> {
  const res = await request(url, {
    method: 'POST',
    headers,
    body: JSON.stringify(body),
    ...(signal ? { signal } : {}),
  });
  const text = await res.body.text();
  const contentType = String(res.headers['content-type'] ?? '');
  const data = contentType.startsWith('text/event-stream')
    ? (text
        .split('\n')
        .filter((line) => line.startsWith('data: '))
        .pop()
        ?.slice(6) ?? '{}')
    : text;
  return { status: res.statusCode, contentType, text, message: JSON.parse(data) as Record<string, unknown> };
}
