/**
 * Time to a first tool call for a NEW agent: a fresh official SDK client with its own connection pool
 * (TCP + TLS where the path has it), the protocol negotiation (`server/discover` for the 2026 era, the
 * `initialize` handshake for 2025), then one `tools/call`. TLS paths go through the agent helper
 * (`connectToTenant`: pinned CA, client certificate when the path needs one, SNI).
 */
import { performance } from 'node:perf_hooks';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Agent, fetch as undiciFetch } from 'undici';
import { connectToTenant } from '../src/agent/index.js';
import type { McpEndpointSpec } from './mcp-http-target.js';
import { ECHO_TEXT } from './measure-calls.js';

const CLIENT_INFO = { name: 'airlock-bench-agent', version: '1.0.0' };

/** Milliseconds from nothing to the first tool result. The client is closed afterwards (not timed). */
export async function firstToolCall(spec: McpEndpointSpec): Promise<number> {
  const mode = spec.era === 'modern' ? ('auto' as const) : ('legacy' as const);
  const t0 = performance.now();
  let client: Client;
  let dispatcher: Agent | undefined;
  if (spec.tls) {
    client = await connectToTenant(
      {
        url: spec.url,
        caPem: spec.tls.caPem,
        ...(spec.tls.certPem && spec.tls.keyPem
          ? { certPem: spec.tls.certPem, keyPem: spec.tls.keyPem }
          : {}),
        ...(spec.dial ? { connectTo: spec.dial } : {}),
      },
      CLIENT_INFO,
      { client: { versionNegotiation: { mode } } },
    );
  } else {
    const agent = new Agent();
    dispatcher = agent;
    const transport = new StreamableHTTPClientTransport(new URL(spec.url), {
      fetch: (url, init) =>
        undiciFetch(url, { ...(init as object), dispatcher: agent }) as unknown as Promise<Response>,
    });
    client = new Client(CLIENT_INFO, { versionNegotiation: { mode } });
    await client.connect(transport);
  }
  try {
    const result = (await client.callTool({
      name: `${spec.toolPrefix}echo`,
      arguments: { text: ECHO_TEXT },
    })) as { content?: Array<{ text?: string }> };
    const ms = performance.now() - t0;
    if (result.content?.[0]?.text !== ECHO_TEXT) throw new Error('first call: unexpected echo result');
    return ms;
  } finally {
    await client.close().catch(() => undefined);
    await dispatcher?.destroy();
  }
}
