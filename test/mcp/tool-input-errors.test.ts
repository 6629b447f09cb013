/**
 * SEP-1303 through the agent endpoint with real SDK clients: arguments that fail the validate stage come
 * back as a tool result `isError: true` that tells the model what to fix on 2025-11-25 and 2026-07-28;
 * a 2025-06-18 agent (whose spec asks for a protocol error) still gets -32602 AIRLOCK_ARGUMENTS_INVALID,
 * and an unknown tool stays -32602 for everyone.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { gatewayStages } from '../../src/gateway/gateway-stages.js';
import { validate } from '../../src/gateway/stages/validate-stage.js';
import { authInfoForIdentity } from '../../src/mcp/agent-auth-info.js';
import type { AgentMcpEndpoint } from '../../src/mcp/agent-mcp-endpoint.js';
import { parsePolicy } from '../../src/policy/policy-loader.js';
import { AGENT, type EndpointUnderTest, fixtureUpstream, startEndpoint } from './endpoint-under-test.js';

const URL_MCP = new URL('http://gateway.test/mcp');
const POLICY = `
identities: [{ name: alpha, roles: [r] }]
roles: { r: { tools: ["fixture.*"] } }
tools:
  - { match: "**", tier: auto }
`;

let t: EndpointUnderTest;
let mcp: AgentMcpEndpoint;

before(async () => {
  const engine = parsePolicy(POLICY, 'inline.yaml').engine;
  t = await startEndpoint([fixtureUpstream()], ({ catalog, store }) => {
    // The served definitions stand in for the pinned ones (pinning is not under test here).
    const definitionOf = (name: string) => {
      const tool = catalog.tools().find((x) => x.name === name);
      return tool ? { tool, hash: 'served' } : undefined;
    };
    return {
      stages: [
        ...gatewayStages({ identities: store.identities }),
        validate({ policy: () => engine, definitions: { definitionOf } }),
      ],
    };
  });
  mcp = t.mcp;
});

after(() => t.close());

const viaEndpoint = (url: string | URL, init?: RequestInit) =>
  mcp.fetch(new Request(url, init), { authInfo: authInfoForIdentity(AGENT) });

async function v2Client(mode: 'auto' | 'legacy'): Promise<Client> {
  const client = new Client({ name: `agent-${mode}`, version: '1' }, { versionNegotiation: { mode } });
  await client.connect(new StreamableHTTPClientTransport(URL_MCP, { fetch: viaEndpoint }));
  return client;
}

describe('argument validation failures (SEP-1303)', () => {
  it('are tool error results the model can read on 2025-11-25 and 2026-07-28', async () => {
    for (const mode of ['legacy', 'auto'] as const) {
      const client = await v2Client(mode);
      try {
        const result = await client.callTool({ name: 'fixture.echo', arguments: { text: 42 } });
        assert.equal(result.isError, true, `${mode}: ${JSON.stringify(result)}`);
        const text = JSON.stringify(result.content);
        assert.match(text, /arguments\.text/);
        assert.match(text, /Correct the arguments/);
        // Valid arguments still run; an unknown tool is still a protocol error.
        const ok = await client.callTool({ name: 'fixture.echo', arguments: { text: 'fine' } });
        assert.notEqual(ok.isError, true);
        await assert.rejects(
          client.callTool({ name: 'fixture.nope', arguments: {} }),
          (err: { code?: number }) => err.code === -32602,
        );
      } finally {
        await client.close();
      }
    }
  });

  it('stay -32602 AIRLOCK_ARGUMENTS_INVALID for a 2025-06-18 agent', async () => {
    const client = new ClientV1({ name: 'agent-2025-06-18', version: '1' });
    const transport = new TransportV1(URL_MCP, { fetch: viaEndpoint });
    // An agent of the earlier revision: it offers 2025-06-18 in `initialize`.
    transport.setProtocolVersion('2025-06-18');
    const send = transport.send.bind(transport);
    transport.send = async (message, options) => {
      const m = message as { method?: string; params?: { protocolVersion?: string } };
      if (m.method === 'initialize' && m.params) m.params.protocolVersion = '2025-06-18';
      return send(message, options);
    };
    await client.connect(transport);
    try {
      await assert.rejects(
        client.callTool({ name: 'fixture.echo', arguments: { text: 42 } }),
        (err: { code?: number; data?: { airlock?: string } }) =>
          err.code === -32602 && err.data?.airlock === 'AIRLOCK_ARGUMENTS_INVALID',
      );
    } finally {
      await client.close();
    }
  });
});
