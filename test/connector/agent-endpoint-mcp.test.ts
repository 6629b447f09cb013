/**
 * The connector's agent side end to end: real TLS with a tenant CA and client certificates, the
 * AgentEndpoint, the MCP endpoint for both eras, the gateway pipeline, and two real upstreams over stdio
 * (the test fixture server and @modelcontextprotocol/server-everything). Agents are real SDK clients:
 * v2 (modern 2026-07-28 and legacy 2025-11-25) and v1. Authentication at the endpoint:
 * agent-endpoint-auth.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Client, ProtocolError } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { gatewayStages } from '../../src/gateway/gateway-stages.js';
import type { AgentMcpEndpoint } from '../../src/mcp/agent-mcp-endpoint.js';
import type { UpstreamCatalog } from '../../src/mcp/upstream-catalog.js';
import type { AgentCredentials, TestFetch } from '../fixtures/tenant-tls-kit.js';
import { until } from '../fixtures/wait-until.js';
import { type AgentEndpointRig, startAgentEndpointRig, resultText as text } from './agent-endpoint-rig.js';

const FIXTURE = new URL('../fixtures/fixture-mcp-server.js', import.meta.url).pathname;
const EVERYTHING = new URL(
  '../../../node_modules/@modelcontextprotocol/server-everything/dist/index.js',
  import.meta.url,
).pathname;

let rig: AgentEndpointRig;
let catalog: UpstreamCatalog;
let mcp: AgentMcpEndpoint;
let url: URL;
let bot: AgentCredentials;

const fetchFor = (creds?: AgentCredentials): TestFetch =>
  creds ? rig.certFetch(creds) : rig.anonymousFetch();
const connectV2 = (
  mode: 'auto' | 'legacy',
  creds: AgentCredentials | undefined,
  options: ConstructorParameters<typeof Client>[1] = {},
) => rig.connectClient(fetchFor(creds), mode, options);

/** The fixture's counters of `wait` calls: started, cancelled, completed. */
async function waitStats(client: Client) {
  const result = await client.callTool({ name: 'fixture.stats', arguments: {} });
  return result.structuredContent as { started: number; cancelled: number; completed: number };
}

before(async () => {
  // A secret in the connector's own environment must never reach an upstream child process.
  process.env.AIRLOCK_TEST_CONNECTOR_SECRET = 'connector-secret-value';
  rig = await startAgentEndpointRig({
    upstreams: () => [
      { name: 'fixture', kind: 'stdio', command: process.execPath, args: [FIXTURE] },
      {
        name: 'everything',
        kind: 'stdio',
        command: process.execPath,
        args: [EVERYTHING, 'stdio'],
        protocol: 'legacy',
      },
    ],
    catalogOptions: { upstream: { backoff: { initialMs: 50, maxMs: 500 } } },
    stages: (kit) => gatewayStages({ identities: kit.store.identities }),
  });
  ({ catalog, mcp, url } = rig);
  bot = await rig.kit.issueAgent('claims-bot');
});

after(async () => {
  delete process.env.AIRLOCK_TEST_CONNECTOR_SECRET;
  await rig.close();
});

describe('agents reach both upstreams through the gateway: both eras and the v1 SDK', () => {
  it('modern era (2026-07-28): namespaced tools of both upstreams, calls with structured results', async () => {
    const { client } = await connectV2('auto', bot);
    assert.equal(client.getProtocolEra(), 'modern');
    const names = (await client.listTools()).tools.map((t) => t.name);
    for (const expected of ['fixture.echo', 'fixture.progress', 'everything.echo', 'everything.get-sum']) {
      assert.ok(names.includes(expected), `${expected} in ${names.join(', ')}`);
    }
    const echoed = await client.callTool({ name: 'fixture.echo', arguments: { text: 'hello' } });
    assert.deepEqual(echoed.content, [{ type: 'text', text: 'hello' }]);
    assert.deepEqual(echoed.structuredContent, { echoed: 'hello' });
    const sum = await client.callTool({ name: 'everything.get-sum', arguments: { a: 2, b: 3 } });
    assert.match(text(sum), /5/);
    const prompts = (await client.listPrompts()).prompts.map((p) => p.name);
    assert.ok(prompts.includes('fixture.greet') && prompts.some((p) => p.startsWith('everything.')));
    const greeting = await client.getPrompt({ name: 'fixture.greet', arguments: { name: 'Ada' } });
    assert.deepEqual(greeting.messages[0]?.content, { type: 'text', text: 'Hello, Ada' });
  });

  it('legacy era (2025-11-25) with a v2 client: a session, same catalog, resources by URI and template', async () => {
    const { client, transport } = await connectV2('legacy', bot);
    assert.equal(client.getProtocolEra(), 'legacy');
    assert.equal(client.getNegotiatedProtocolVersion(), '2025-11-25');
    assert.ok(transport.sessionId, 'the endpoint assigned an Mcp-Session-Id');
    assert.ok(mcp.sessions().some((s) => s.id === transport.sessionId && s.identity === 'claims-bot'));
    const names = (await client.listTools()).tools.map((t) => t.name);
    assert.ok(names.includes('fixture.echo') && names.includes('everything.echo'));
    const echoed = await client.callTool({ name: 'everything.echo', arguments: { message: 'via legacy' } });
    assert.match(text(echoed), /via legacy/);
    const resources = (await client.listResources()).resources.map((r) => r.uri);
    assert.ok(resources.includes('fixture://info'));
    const info = await client.readResource({ uri: 'fixture://info' });
    assert.deepEqual(info.contents, [{ uri: 'fixture://info', text: 'fixture info' }]);
    const item = await client.readResource({ uri: 'fixture://items/42' });
    assert.equal((item.contents[0] as { text: string }).text, 'item 42');
    const templates = (await client.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate);
    assert.ok(templates.includes('fixture://items/{id}'));
  });

  it('v1 SDK client: session, GET SSE stream, and tools/list_changed forwarded from the upstream', async () => {
    const client = new V1Client({ name: 'v1-agent', version: '1.0.0' });
    const transport = new V1Transport(url, { fetch: fetchFor(bot) });
    let notified = 0;
    client.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
      notified++;
    });
    await client.connect(transport);
    rig.defer(() => client.close());
    assert.ok(transport.sessionId);
    const before = (await client.listTools()).tools.map((t) => t.name);
    assert.ok(before.includes('fixture.echo'));
    // Give the client a moment to open its standalone GET stream before the change happens.
    await until(
      'GET stream open',
      async () => (mcp.sessions().find((s) => s.id === transport.sessionId)?.open ?? 0) > 0 || undefined,
    );
    const added = await client.callTool({ name: 'fixture.add_tool', arguments: { name: 'from_v1' } });
    assert.equal(text(added as { content?: unknown }), 'added from_v1');
    await until('list_changed on the GET stream', async () => (notified > 0 ? true : undefined));
    const names = (await client.listTools()).tools.map((t) => t.name);
    assert.ok(names.includes('fixture.from_v1'));
    const dynamic = await client.callTool({ name: 'fixture.from_v1', arguments: {} });
    assert.equal(text(dynamic as { content?: unknown }), 'dynamic from_v1');
  });
});

describe('agents reach both upstreams through the gateway: notifications, environment and cancellation', () => {
  it('modern era: tools/list_changed reaches the agent through subscriptions/listen', async () => {
    let latest: string[] | undefined;
    const { client } = await connectV2('auto', bot, {
      listChanged: {
        tools: {
          debounceMs: 0,
          onChanged: (error, tools) => {
            if (!error && tools) latest = tools.map((t) => t.name);
          },
        },
      },
    });
    assert.ok(client.autoOpenedSubscription, 'the client opened subscriptions/listen');
    await client.callTool({ name: 'fixture.add_tool', arguments: { name: 'from_modern' } });
    const names = await until('refreshed tool list', async () =>
      latest?.includes('fixture.from_modern') ? latest : undefined,
    );
    assert.ok(names.includes('fixture.echo'));
  });

  it('upstream children get a minimal environment: no connector secrets, no agent credentials', async () => {
    const { client } = await connectV2('legacy', bot);
    const env = text(await client.callTool({ name: 'everything.get-env', arguments: {} }));
    assert.match(env, /PATH/);
    assert.doesNotMatch(env, /connector-secret-value|AIRLOCK_TEST_CONNECTOR_SECRET/);
    assert.doesNotMatch(env, /BEGIN (EC )?PRIVATE KEY|BEGIN CERTIFICATE/);
  });

  it('progress notifications are forwarded in both eras', async () => {
    for (const mode of ['auto', 'legacy'] as const) {
      const { client } = await connectV2(mode, bot);
      const seen: number[] = [];
      const result = await client.callTool(
        { name: 'fixture.progress', arguments: { steps: 3 } },
        { onprogress: (p) => seen.push(p.progress) },
      );
      assert.equal(text(result), 'done 3');
      assert.deepEqual(seen, [1, 2, 3], `progress in ${mode} era`);
    }
  });

  it('cancellation by the agent aborts the upstream request (both eras)', async () => {
    const { client } = await connectV2('legacy', bot);
    const stats = () => waitStats(client);
    const initial = (await stats()).cancelled;
    for (const mode of ['legacy', 'auto'] as const) {
      const { client: agent } = await connectV2(mode, bot);
      const controller = new AbortController();
      const started = (await stats()).started;
      const call = agent.callTool(
        { name: 'fixture.wait', arguments: { ms: 20_000 } },
        { signal: controller.signal },
      );
      await until('the upstream to run the call', async () => (await stats()).started > started);
      controller.abort();
      await assert.rejects(call);
    }
    await until('both upstream requests cancelled', async () =>
      (await stats()).cancelled >= initial + 2 ? true : undefined,
    );
  });
});

/** A promise's outcome, never rejecting (so no rejection goes unhandled while a test awaits something else). */
function outcomeOf<T>(promise: Promise<T>): Promise<{ value?: T; error?: unknown }> {
  return promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
}

describe('agents reach both upstreams through the gateway: upstream errors and crashes', () => {
  it('upstream errors pass through: JSON-RPC error code/message/data, tool isError results, unknown names', async () => {
    const { client } = await connectV2('auto', bot);
    await assert.rejects(client.getPrompt({ name: 'fixture.refuse' }), (err: unknown) => {
      assert.ok(err instanceof ProtocolError);
      assert.equal(err.code, -32050);
      assert.equal(err.message, 'fixture prompt refused');
      assert.deepEqual(err.data, { reason: 'testing' });
      return true;
    });
    const boom = await client.callTool({ name: 'fixture.boom', arguments: {} });
    assert.equal(boom.isError, true);
    assert.match(text(boom), /kaboom/);
    await assert.rejects(client.callTool({ name: 'fixture.nope', arguments: {} }), (err: unknown) => {
      assert.ok(err instanceof ProtocolError);
      assert.equal(err.code, -32602);
      assert.equal((err.data as { airlock: string }).airlock, 'AIRLOCK_TOOL_UNKNOWN');
      return true;
    });
    await assert.rejects(
      client.readResource({ uri: 'nowhere://x' }),
      (err: unknown) => err instanceof ProtocolError && err.code === -32602,
    );
  });

  it('upstream crash: the in-flight call fails at once with a clear error, the upstream restarts, the next call works', async () => {
    const { client } = await connectV2('legacy', bot);
    const restartsBefore = catalog.status().find((s) => s.name === 'fixture')?.restarts ?? 0;
    const startedBefore = (await waitStats(client)).started;
    // The call would take ten minutes: only the crash can end it while the test runs.
    // Outcomes are taken at once, so that whichever fails first is reported as itself.
    const inFlight = outcomeOf(client.callTool({ name: 'fixture.wait', arguments: { ms: 600_000 } }));
    await until(
      'the upstream to run the call',
      async () => (await waitStats(client)).started > startedBefore,
    );
    const crash = outcomeOf(client.callTool({ name: 'fixture.crash', arguments: {} }));
    const err = (await inFlight).error;
    assert.ok(
      err instanceof ProtocolError,
      `the in-flight call failed with a protocol error: ${String(err)}`,
    );
    assert.equal(err.code, -32603);
    assert.equal((err.data as { airlock: string }).airlock, 'AIRLOCK_UPSTREAM_UNAVAILABLE');
    assert.match(err.message, /'fixture'/);
    assert.match(err.message, /restarting/);
    assert.ok((await crash).error, 'the crashing call fails too');
    const echoed = await until('fixture back after restart', () =>
      client.callTool({ name: 'fixture.echo', arguments: { text: 'back' } }).catch(() => undefined),
    );
    assert.equal(text(echoed), 'back');
    const status = catalog.status().find((s) => s.name === 'fixture');
    assert.equal(status?.state, 'ready');
    assert.ok((status?.restarts ?? 0) > restartsBefore);
  });
});
