/**
 * What the gateway relay tests (and test/adversarial/pii-boundary-paths.test.ts) share: a gateway
 * (AgentMcpEndpoint behind a real TLS AgentEndpoint with the tenant CA) over a catalog, real SDK agents
 * with their client certificates (`connectSdkAgent`), and agents that answer elicitation and sampling
 * with their own name, recording what they were asked (`relayedAgent`).
 */
import {
  type CallToolResult,
  Client,
  type ClientCapabilities,
  StreamableHTTPClientTransport,
} from '@modelcontextprotocol/client';
import { AgentEndpoint } from '../../src/connector/agent-endpoint.js';
import { AgentMcpEndpoint, type AgentMcpEndpointOptions } from '../../src/mcp/agent-mcp-endpoint.js';
import { type AgentCredentials, TENANT_HOST, type TenantKit, tlsFetch } from '../fixtures/tenant-tls-kit.js';

export type Closer = () => Promise<unknown>;

/** Serves `options` behind TLS (the tenant key, client certificates of the tenant CA); closers go to `closers`. */
export async function serveGateway(
  kit: TenantKit,
  options: AgentMcpEndpointOptions,
  closers: Closer[],
): Promise<{ mcp: AgentMcpEndpoint; url: URL }> {
  const mcp = new AgentMcpEndpoint(options);
  const { server, ca, store } = kit;
  const tls = { keyPem: server.keyPem, certPem: server.certPem, caPem: ca.certPem };
  const endpoint = new AgentEndpoint({ tls, identities: store.identities, handler: mcp.nodeHandler });
  const { port } = await endpoint.listen(0, '127.0.0.1');
  closers.push(async () => {
    await endpoint.close();
    await mcp.close();
  });
  return { mcp, url: new URL(`https://${TENANT_HOST}:${port}/mcp`) };
}

export interface RelayedAgent {
  client: Client;
  /** What the gateway asked this agent, in order (`elicit:<message>`, `sample:<first text>`). */
  asked: string[];
}

/**
 * A real SDK agent (era `mode`) with its client certificate. It answers elicitation with
 * `{ name: <answer> }` and sampling with `<answer> says hi`, after `gate()` resolves (default: at once).
 */
export async function relayedAgent(
  kit: TenantKit,
  url: URL,
  mode: 'legacy' | 'auto',
  creds: AgentCredentials,
  closers: Closer[],
  options: { gate?: () => Promise<void>; capabilities?: ClientCapabilities } = {},
): Promise<RelayedAgent> {
  const capabilities = options.capabilities ?? { sampling: {}, elicitation: { form: {} } };
  const asked: string[] = [];
  const gate = options.gate ?? (async () => {});
  const { client } = await connectSdkAgent(kit, url, mode, creds, closers, {
    capabilities,
    handlers: (c) => {
      c.setRequestHandler('elicitation/create', async (r) => {
        asked.push(`elicit:${String((r.params as { message?: unknown }).message)}`);
        await gate();
        return { action: 'accept', content: { name: `${creds.name}-answer` } };
      });
      c.setRequestHandler('sampling/createMessage', async (r) => {
        const first = r.params.messages[0]?.content;
        asked.push(`sample:${first && 'text' in first ? first.text : '?'}`);
        await gate();
        return {
          role: 'assistant',
          content: { type: 'text', text: `${creds.name}-answer says hi` },
          model: 'm',
        };
      });
    },
  });
  return { client, asked };
}

/** How `connectSdkAgent` sets up its client. */
export interface SdkAgentOptions {
  capabilities: ClientCapabilities;
  /** Input-required requests are left to the test (`inputRequired.autoFulfill: false`). */
  manual?: boolean;
  /** Sets the client's request and notification handlers before it connects. */
  handlers?: (client: Client) => void;
}

/**
 * A real SDK client `agent-<name>` of era `mode` with `creds`' client certificate, connected to `url`
 * over TLS pinned to the tenant CA; its fetch and the client close with `closers`.
 */
export async function connectSdkAgent(
  kit: TenantKit,
  url: URL,
  mode: 'legacy' | 'auto',
  creds: AgentCredentials,
  closers: Closer[],
  options: SdkAgentOptions,
): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const client = new Client(
    { name: `agent-${creds.name}`, version: '1.0.0' },
    {
      versionNegotiation: { mode },
      capabilities: options.capabilities,
      ...(options.manual ? { inputRequired: { autoFulfill: false } } : {}),
    },
  );
  options.handlers?.(client);
  const f = tlsFetch({ caPem: kit.ca.certPem, client: creds });
  closers.push(f.close);
  const transport = new StreamableHTTPClientTransport(url, { fetch: f.fetch });
  await client.connect(transport);
  closers.push(() => client.close());
  return { client, transport };
}

/** A barrier for `n` parties: each `wait()` resolves once all `n` arrived (every question open at once). */
export function barrier(n: number): () => Promise<void> {
  let arrived = 0;
  let open: () => void = () => {};
  const all = new Promise<void>((resolve) => {
    open = resolve;
  });
  return () => {
    if (++arrived >= n) open();
    return all;
  };
}

/** The text of a tool result. */
export function resultText(result: unknown): string {
  const content = ((result as CallToolResult).content ?? []) as { type: string; text?: string }[];
  return content.map((c) => c.text ?? '').join('');
}
