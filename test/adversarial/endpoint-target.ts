/**
 * A fast-check target for the JSON-RPC handling of the connector's /mcp: a real AgentEndpoint (TLS,
 * client certificate) in front of the real AgentMcpEndpoint and gateway stages, with the fixture MCP
 * server over stdio. Inputs are random JSON, JSON-RPC-shaped messages in both eras, batches and raw
 * bytes, with random protocol headers. Invariants: an answer within 10 s, never a 5xx other than the
 * documented session limit, and every JSON answer is a JSON-RPC message.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AgentEndpoint } from '../../src/connector/agent-endpoint.js';
import { gatewayStages } from '../../src/gateway/gateway-stages.js';
import { AgentMcpEndpoint } from '../../src/mcp/agent-mcp-endpoint.js';
import { UpstreamCatalog } from '../../src/mcp/upstream-catalog.js';
import { createTenantKit, TENANT_HOST, tlsFetch } from '../fixtures/tenant-tls-kit.js';
import { FIXTURE_UPSTREAM } from '../sandbox/sandbox-fixture.js';

export interface EndpointInput {
  headers: Record<string, string>;
  body: string | Uint8Array;
}

export interface EndpointFuzz {
  arbitrary: fc.Arbitrary<EndpointInput>;
  /** Sends one input; throws when an invariant is violated. */
  check(input: EndpointInput): Promise<void>;
  /** A well-formed modern call still works (throws otherwise). */
  healthy(): Promise<void>;
  close(): Promise<void>;
}

const MODERN = '2026-07-28';
const META = {
  'io.modelcontextprotocol/protocolVersion': MODERN,
  'io.modelcontextprotocol/clientCapabilities': {},
};
const METHODS = [
  'tools/call',
  'tools/list',
  'initialize',
  'server/discover',
  'notifications/initialized',
  'prompts/get',
  'prompts/list',
  'resources/read',
  'resources/list',
  'completion/complete',
  'ping',
  'logging/setLevel',
];
const TOOL_NAMES = ['fixture.echo', 'fixture.boom', 'fixture.stats', 'unknown.tool', '', 'fixture.'];

const message = fc.record(
  {
    jsonrpc: fc.oneof(fc.constant('2.0'), fc.jsonValue({ maxDepth: 1 })),
    id: fc.oneof(fc.nat(), fc.string({ maxLength: 20 }), fc.constant(null), fc.jsonValue({ maxDepth: 1 })),
    method: fc.oneof(fc.constantFrom(...METHODS), fc.string({ maxLength: 30 })),
    params: fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.record(
        {
          name: fc.oneof(fc.constantFrom(...TOOL_NAMES), fc.string({ maxLength: 30 })),
          arguments: fc.oneof(
            fc.record({ text: fc.string({ maxLength: 50 }) }),
            fc.jsonValue({ maxDepth: 3 }),
          ),
          _meta: fc.oneof(fc.constant(META), fc.jsonValue({ maxDepth: 2 })),
          protocolVersion: fc.constantFrom(MODERN, '2025-11-25', 'bogus'),
          capabilities: fc.jsonValue({ maxDepth: 2 }),
          clientInfo: fc.record({ name: fc.string({ maxLength: 10 }), version: fc.string({ maxLength: 5 }) }),
          uri: fc.string({ maxLength: 40 }),
        },
        { requiredKeys: [] },
      ),
    ),
  },
  { requiredKeys: [] },
);

const body: fc.Arbitrary<string | Uint8Array> = fc.oneof(
  message.map((m) => JSON.stringify(m)),
  fc.array(message, { maxLength: 5 }).map((m) => JSON.stringify(m)),
  fc.json({ maxDepth: 4 }),
  fc.string({ maxLength: 200 }),
  fc.uint8Array({ maxLength: 300 }),
);

const headers: fc.Arbitrary<Record<string, string>> = fc
  .record(
    {
      'mcp-protocol-version': fc.constantFrom(MODERN, '2025-11-25', '2024-01-01', 'x'),
      'mcp-method': fc.oneof(fc.constantFrom(...METHODS), fc.string({ maxLength: 20 })),
      'mcp-name': fc.oneof(fc.constantFrom(...TOOL_NAMES), fc.string({ maxLength: 20 })),
      'mcp-session-id': fc.oneof(fc.uuid(), fc.string({ maxLength: 40 })),
      'content-type': fc.constantFrom(
        'application/json',
        'text/plain',
        'application/json; charset=latin1',
        '',
      ),
      accept: fc.constantFrom(
        'application/json, text/event-stream',
        'application/json',
        'text/event-stream',
        '*/*',
      ),
    },
    { requiredKeys: [] },
  )
  .map((h) => Object.fromEntries(Object.entries(h).filter(([, v]) => /^[\t\x20-\x7e]*$/.test(v))));

/**
 * Starts the endpoint the target talks to.
 *
 * @example
 * const fuzz = await startEndpointFuzz();
 * await fc.assert(fc.asyncProperty(fuzz.arbitrary, fuzz.check), { numRuns: 50 });
 * await fuzz.close();
 */
export async function startEndpointFuzz(): Promise<EndpointFuzz> {
  const kit = await createTenantKit();
  const catalog = UpstreamCatalog.fromConfig([
    { name: 'fixture', kind: 'stdio', command: process.execPath, args: [FIXTURE_UPSTREAM] },
  ]);
  await catalog.start();
  const mcp = new AgentMcpEndpoint({
    catalog,
    stages: gatewayStages({ identities: kit.store.identities }),
    sessionIdleTimeoutMs: 2000,
  });
  const endpoint = new AgentEndpoint({
    tls: { keyPem: kit.server.keyPem, certPem: kit.server.certPem, caPem: kit.ca.certPem },
    identities: kit.store.identities,
    handler: mcp.nodeHandler,
  });
  const { port } = await endpoint.listen(0, '127.0.0.1');
  const agent = await kit.issueAgent('fuzzer');
  const client = tlsFetch({ caPem: kit.ca.certPem, client: agent });
  const url = `https://${TENANT_HOST}:${port}/mcp`;

  const send = async (input: EndpointInput) => {
    const res = await client.fetch(url, {
      method: 'POST',
      headers: input.headers,
      body: input.body as string,
      signal: AbortSignal.timeout(10_000),
    });
    return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
  };

  return {
    arbitrary: fc.record({ headers, body }),
    async check(input) {
      const res = await send(input);
      if (res.status >= 500) {
        assert.equal(res.status, 503, `HTTP ${res.status}: ${res.text.slice(0, 300)}`);
        assert.match(res.text, /AIRLOCK_SESSION_LIMIT/);
      }
      if (res.type.includes('application/json') && res.text.length > 0) {
        const parsed = JSON.parse(res.text) as unknown;
        const messages = Array.isArray(parsed) ? parsed : [parsed];
        for (const m of messages)
          assert.equal((m as { jsonrpc?: unknown }).jsonrpc, '2.0', res.text.slice(0, 300));
      }
    },
    async healthy() {
      const res = await send({
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': MODERN,
          'mcp-method': 'tools/call',
          'mcp-name': 'fixture.echo',
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'tools/call',
          params: { name: 'fixture.echo', arguments: { text: 'healthy' }, _meta: META },
        }),
      });
      assert.equal(res.status, 200, res.text);
      assert.match(res.text, /"echoed":"healthy"/);
    },
    async close() {
      await client.close();
      await endpoint.close();
      await mcp.close();
      await catalog.close();
      await kit.close();
    },
  };
}
