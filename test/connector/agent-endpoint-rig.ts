/**
 * The connector's agent side for tests: the tenant TLS kit, the loopback IdP, real upstreams (the stdio
 * fixture unless told otherwise), the real MCP endpoint behind the authenticate stage and the real
 * `AgentEndpoint` in front of it on 127.0.0.1, plus TLS fetches an agent would use. Everything it
 * opened (and whatever the test `defer`s) closes with `close()`, last opened first.
 *
 * @example
 * const rig = await startAgentEndpointRig({ auth: (ids) => ({ oauth: { verifier: ids.verifier, … } }) });
 * const client = await rig.connectClient(rig.bearer(await rig.ids.token()));
 * await rig.close();
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import type { AuthInfo } from '@modelcontextprotocol/server';
import { AgentEndpoint, type AgentEndpointOptions } from '../../src/connector/agent-endpoint.js';
import type { Stage } from '../../src/gateway/gateway-context.js';
import { authenticate } from '../../src/gateway/stages/authenticate-stage.js';
import { endUserFromAuthInfo, identityFromAuthInfo } from '../../src/mcp/agent-auth-info.js';
import { AgentMcpEndpoint } from '../../src/mcp/agent-mcp-endpoint.js';
import { UpstreamCatalog } from '../../src/mcp/upstream-catalog.js';
import type { UpstreamConfig } from '../../src/mcp/upstream-config.js';
import {
  createTenantKit,
  TENANT_HOST,
  type TenantKit,
  type TestFetch,
  tlsFetch,
} from '../fixtures/tenant-tls-kit.js';
import { type IdpKit, startIdp, withHeaders } from './agent-token-kit.js';

const FIXTURE = new URL('../fixtures/fixture-mcp-server.js', import.meta.url).pathname;

/** The endpoint's options a test chooses; TLS, identities and handler come from the rig. */
type EndpointChoice = Omit<AgentEndpointOptions, 'tls' | 'identities' | 'handler'>;

export interface AgentEndpointRigOptions {
  /** Default: the stdio fixture server as `fixture`. What `defer` gets closes after the catalog. */
  upstreams?: (rig: {
    kit: TenantKit;
    ids: IdpKit;
    defer: AgentEndpointRig['defer'];
  }) => Promise<UpstreamConfig[]> | UpstreamConfig[];
  /** Options of the upstream catalog (backoff, …). */
  catalogOptions?: Parameters<typeof UpstreamCatalog.fromConfig>[1];
  /** The gateway stages. Default: authenticate only. */
  stages?: (kit: TenantKit) => Stage[];
  /** OAuth, end-user, revocation callback … for the endpoint. Default: mTLS only. */
  endpoint?: (rig: { kit: TenantKit; ids: IdpKit; mcp: AgentMcpEndpoint }) => EndpointChoice;
}

export interface AgentEndpointRig {
  kit: TenantKit;
  ids: IdpKit;
  catalog: UpstreamCatalog;
  mcp: AgentMcpEndpoint;
  endpoint: AgentEndpoint;
  /** `https://acme.localhost:<port>/mcp` (reached through `connectTo` of the TLS fetches). */
  url: URL;
  /** A TLS fetch that trusts the tenant CA and presents no certificate. */
  anonymousFetch(): TestFetch;
  /** A TLS fetch presenting an agent certificate. */
  certFetch(creds: { certPem: string; keyPem: string }): TestFetch;
  /** `Authorization: Bearer <token>` on every request of an anonymous fetch. */
  bearer(token: string): TestFetch;
  /** Connects an SDK v2 client through `fetch` (closed with the rig). */
  connectClient(
    fetch: TestFetch,
    mode?: 'auto' | 'legacy',
    options?: ConstructorParameters<typeof Client>[1],
  ): Promise<{ client: Client; transport: StreamableHTTPClientTransport }>;
  /** Another `AgentEndpoint` with the tenant's TLS and identities, listening (closed with the rig). */
  startEndpoint(options: EndpointChoice & Pick<AgentEndpointOptions, 'handler'>): Promise<URL>;
  /** Runs `close` when the rig closes (before the rig's own parts). */
  defer(close: () => Promise<unknown>): void;
  close(): Promise<void>;
}

/** Starts the rig; see the module comment. */
export async function startAgentEndpointRig(
  options: AgentEndpointRigOptions = {},
): Promise<AgentEndpointRig> {
  const closers: (() => Promise<unknown>)[] = [];
  const defer = (close: () => Promise<unknown>) => void closers.push(close);
  const kit = await createTenantKit();
  defer(() => kit.close());
  const ids = await startIdp();
  defer(() => ids.close());
  const upstreams = options.upstreams
    ? await options.upstreams({ kit, ids, defer })
    : [{ name: 'fixture', kind: 'stdio' as const, command: process.execPath, args: [FIXTURE] }];
  const catalog = UpstreamCatalog.fromConfig(upstreams, options.catalogOptions);
  defer(() => catalog.close());
  await catalog.start();
  const stages = options.stages?.(kit) ?? [authenticate({ identities: kit.store.identities })];
  const mcp = new AgentMcpEndpoint({ catalog, stages });
  defer(() => mcp.close());
  const tls = { keyPem: kit.server.keyPem, certPem: kit.server.certPem, caPem: kit.ca.certPem };
  const startEndpoint = async (choice: EndpointChoice & Pick<AgentEndpointOptions, 'handler'>) => {
    const endpoint = new AgentEndpoint({ tls, identities: kit.store.identities, ...choice });
    defer(() => endpoint.close());
    const { port } = await endpoint.listen(0, '127.0.0.1');
    return { endpoint, url: new URL(`https://${TENANT_HOST}:${port}/mcp`) };
  };
  const main = await startEndpoint({ ...options.endpoint?.({ kit, ids, mcp }), handler: mcp.nodeHandler });
  const certFetch = (client?: { certPem: string; keyPem: string }) => {
    const f = tlsFetch({ caPem: kit.ca.certPem, ...(client ? { client } : {}) });
    defer(f.close);
    return f.fetch;
  };
  return {
    kit,
    ids,
    catalog,
    mcp,
    endpoint: main.endpoint,
    url: main.url,
    anonymousFetch: () => certFetch(),
    certFetch,
    bearer: (token) => withHeaders(certFetch(), () => ({ authorization: `Bearer ${token}` })),
    async connectClient(fetch, mode = 'auto', clientOptions = {}) {
      const client = new Client(
        { name: `agent-${mode}`, version: '1.0.0' },
        { ...clientOptions, versionNegotiation: { mode } },
      );
      const transport = new StreamableHTTPClientTransport(main.url, { fetch });
      await client.connect(transport);
      defer(() => client.close());
      return { client, transport };
    },
    startEndpoint: async (choice) => (await startEndpoint(choice)).url,
    defer,
    async close() {
      for (const close of closers.reverse()) await close().catch(() => {});
    },
  };
}

/**
 * A handler that answers with what reached it: the identity and end user the endpoint established,
 * the token `AuthInfo` carries, and the request headers (to show which credentials were stripped).
 */
export function reflectingHandler(req: IncomingMessage, res: ServerResponse): void {
  const auth = (req as IncomingMessage & { auth?: AuthInfo }).auth;
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(
    JSON.stringify({
      identity: identityFromAuthInfo(auth),
      endUser: endUserFromAuthInfo(auth),
      token: auth?.token,
      headers: req.headers,
      rawHeaders: req.rawHeaders,
    }),
  );
}

/** The text of a tool result's content. */
export function resultText(result: { content?: unknown }): string {
  return ((result.content ?? []) as { text?: string }[]).map((c) => c.text ?? '').join('');
}

/** A 2025-11-25 `initialize` request from a raw client. */
export const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};

/** What a raw JSON-RPC POST got back. */
export interface RawReply {
  status: number;
  /** The `WWW-Authenticate` header ('' when absent). */
  challenge: string;
  /** `error.data.airlock` of a JSON error body. */
  airlock: string | undefined;
  text: string;
  json: { error?: { code: number; data?: { airlock?: string } } } | undefined;
}

/** POSTs `body` (default an `initialize`) through `fetch` as an agent's transport would. */
export async function rawRpc(
  fetch: TestFetch,
  target: URL,
  headers: Record<string, string> = {},
  body: unknown = INITIALIZE,
): Promise<RawReply> {
  const response = await fetch(target, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...headers,
    },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  const json = text.startsWith('{') ? (JSON.parse(text) as RawReply['json']) : undefined;
  return {
    status: response.status,
    challenge: response.headers.get('www-authenticate') ?? '',
    airlock: json?.error?.data?.airlock,
    text,
    json,
  };
}
