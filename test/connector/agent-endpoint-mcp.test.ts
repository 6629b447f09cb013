/**
 * The connector's agent side end to end: real TLS with a tenant CA and client certificates, the
 * AgentEndpoint, the MCP endpoint for both eras, the gateway pipeline, and two real upstreams over stdio
 * (the test fixture server and @modelcontextprotocol/server-everything). Agents are real SDK clients:
 * v2 (modern 2026-07-28 and legacy 2025-11-25) and v1.
 */
import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import { after, before, describe, it } from 'node:test';
import {
  Client,
  ProtocolError,
  SdkHttpError,
  StreamableHTTPClientTransport,
} from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { AgentEndpoint } from '../../src/connector/agent-endpoint.js';
import { gatewayStages } from '../../src/gateway/gateway-stages.js';
import { createCertificateAuthority, issueClientCertificate } from '../../src/identity/pki.js';
import { AgentMcpEndpoint } from '../../src/mcp/agent-mcp-endpoint.js';
import { UpstreamCatalog } from '../../src/mcp/upstream-catalog.js';
import {
  type AgentCredentials,
  createTenantKit,
  TENANT_HOST,
  type TenantKit,
  type TestFetch,
  tlsFetch,
} from '../fixtures/tenant-tls-kit.js';

const FIXTURE = new URL('../fixtures/fixture-mcp-server.js', import.meta.url).pathname;
const EVERYTHING = new URL(
  '../../../node_modules/@modelcontextprotocol/server-everything/dist/index.js',
  import.meta.url,
).pathname;

let kit: TenantKit;
let catalog: UpstreamCatalog;
let mcp: AgentMcpEndpoint;
let endpoint: AgentEndpoint;
let url: URL;
let port: number;
let bot: AgentCredentials;
const closers: (() => Promise<unknown>)[] = [];

function fetchFor(client?: { certPem: string; keyPem: string }, caPem = kit.ca.certPem): TestFetch {
  const f = tlsFetch({ caPem, client });
  closers.push(f.close);
  return f.fetch;
}

async function connectV2(
  mode: 'auto' | 'legacy',
  creds: AgentCredentials | undefined,
  options: ConstructorParameters<typeof Client>[1] = {},
) {
  const client = new Client(
    { name: `test-${mode}`, version: '1.0.0' },
    { ...options, versionNegotiation: { mode } },
  );
  const transport = new StreamableHTTPClientTransport(url, { fetch: fetchFor(creds) });
  await client.connect(transport);
  closers.push(() => client.close());
  return { client, transport };
}

function text(result: { content?: unknown }): string {
  const content = (result.content ?? []) as { type: string; text?: string }[];
  return content.map((c) => c.text ?? '').join('');
}

async function eventually<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await fn();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}: ${String(lastError)}`);
}

async function rawPost(fetch: TestFetch, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...headers,
    },
    body: JSON.stringify(body),
  });
  const raw = await response.text();
  return {
    status: response.status,
    raw,
    json: raw.startsWith('{')
      ? (JSON.parse(raw) as { error?: { code: number; data?: { airlock?: string } } })
      : undefined,
  };
}

const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};

before(async () => {
  // A secret in the connector's own environment must never reach an upstream child process.
  process.env.AIRLOCK_TEST_CONNECTOR_SECRET = 'connector-secret-value';
  kit = await createTenantKit();
  catalog = UpstreamCatalog.fromConfig(
    [
      { name: 'fixture', kind: 'stdio', command: process.execPath, args: [FIXTURE] },
      {
        name: 'everything',
        kind: 'stdio',
        command: process.execPath,
        args: [EVERYTHING, 'stdio'],
        protocol: 'legacy',
      },
    ],
    { upstream: { backoff: { initialDelayMs: 50, maxDelayMs: 500 } } },
  );
  await catalog.start();
  mcp = new AgentMcpEndpoint({ catalog, stages: gatewayStages({ identities: kit.store.identities }) });
  endpoint = new AgentEndpoint({
    tls: { keyPem: kit.server.keyPem, certPem: kit.server.certPem, caPem: kit.ca.certPem },
    identities: kit.store.identities,
    handler: mcp.nodeHandler,
  });
  port = (await endpoint.listen(0, '127.0.0.1')).port;
  url = new URL(`https://${TENANT_HOST}:${port}/mcp`);
  bot = await kit.issueAgent('claims-bot');
});

after(async () => {
  delete process.env.AIRLOCK_TEST_CONNECTOR_SECRET;
  for (const close of closers.reverse()) await close().catch(() => {});
  await endpoint.close();
  await mcp.close();
  await catalog.close();
  await kit.close();
});

describe('agents reach both upstreams through the gateway', () => {
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
    closers.push(() => client.close());
    assert.ok(transport.sessionId);
    const before = (await client.listTools()).tools.map((t) => t.name);
    assert.ok(before.includes('fixture.echo'));
    // Give the client a moment to open its standalone GET stream before the change happens.
    await eventually(
      'GET stream open',
      async () => (mcp.sessions().find((s) => s.id === transport.sessionId)?.open ?? 0) > 0 || undefined,
    );
    const added = await client.callTool({ name: 'fixture.add_tool', arguments: { name: 'from_v1' } });
    assert.equal(text(added as { content?: unknown }), 'added from_v1');
    await eventually('list_changed on the GET stream', async () => (notified > 0 ? true : undefined));
    const names = (await client.listTools()).tools.map((t) => t.name);
    assert.ok(names.includes('fixture.from_v1'));
    const dynamic = await client.callTool({ name: 'fixture.from_v1', arguments: {} });
    assert.equal(text(dynamic as { content?: unknown }), 'dynamic from_v1');
  });

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
    const names = await eventually('refreshed tool list', async () =>
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
    const stats = async () =>
      (await client.callTool({ name: 'fixture.stats', arguments: {} })).structuredContent as {
        cancelled: number;
      };
    const initial = (await stats()).cancelled;
    for (const mode of ['legacy', 'auto'] as const) {
      const { client: agent } = await connectV2(mode, bot);
      const controller = new AbortController();
      const call = agent.callTool(
        { name: 'fixture.wait', arguments: { ms: 20_000 } },
        { signal: controller.signal },
      );
      await new Promise((r) => setTimeout(r, 200));
      controller.abort();
      await assert.rejects(call);
    }
    await eventually('both upstream requests cancelled', async () =>
      (await stats()).cancelled >= initial + 2 ? true : undefined,
    );
  });

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
    const inFlight = client.callTool({ name: 'fixture.wait', arguments: { ms: 30_000 } });
    await new Promise((r) => setTimeout(r, 200));
    const started = Date.now();
    const crash = client.callTool({ name: 'fixture.crash', arguments: {} });
    await assert.rejects(inFlight, (err: unknown) => {
      assert.ok(err instanceof ProtocolError);
      assert.equal(err.code, -32603);
      assert.equal((err.data as { airlock: string }).airlock, 'AIRLOCK_UPSTREAM_UNAVAILABLE');
      assert.match(err.message, /'fixture'/);
      assert.match(err.message, /restarting/);
      return true;
    });
    assert.ok(Date.now() - started < 10_000, 'failed at once, not after the 30 s the tool would take');
    await assert.rejects(crash);
    const echoed = await eventually('fixture back after restart', async () =>
      client.callTool({ name: 'fixture.echo', arguments: { text: 'back' } }),
    );
    assert.equal(text(echoed), 'back');
    const status = catalog.status().find((s) => s.name === 'fixture');
    assert.equal(status?.state, 'ready');
    assert.ok((status?.restarts ?? 0) > restartsBefore);
  });
});

describe('agent authentication at the TLS endpoint', () => {
  it('no client certificate → 401 naming the reason (raw HTTP and SDK client)', async () => {
    const anonymous = fetchFor(undefined);
    const { status, json } = await rawPost(anonymous, INITIALIZE);
    assert.equal(status, 401);
    assert.equal(json?.error?.data?.airlock, 'AIRLOCK_IDENTITY_NO_CERT');
    const client = new Client({ name: 'anon', version: '1' });
    await assert.rejects(
      client.connect(new StreamableHTTPClientTransport(url, { fetch: anonymous })),
      (err: unknown) => {
        assert.ok(err instanceof Error);
        assert.match(
          `${err.message} ${err instanceof SdkHttpError ? err.status : ''}`,
          /401|NO_CERT|client certificate/,
        );
        return true;
      },
    );
  });

  it('a certificate from a foreign CA (another tenant) → 401 foreign certificate', async () => {
    const otherCa = await createCertificateAuthority({ commonName: 'globex CA' });
    const foreign = await issueClientCertificate(otherCa, {
      commonName: 'claims-bot',
      uris: ['spiffe://globex/agent/claims-bot'],
    });
    const { status, json } = await rawPost(fetchFor(foreign), INITIALIZE);
    assert.equal(status, 401);
    assert.equal(json?.error?.data?.airlock, 'AIRLOCK_IDENTITY_FOREIGN_CERT');
  });

  it('a certificate of the tenant CA with no identity in the store → 401 unknown', async () => {
    const stray = await issueClientCertificate(kit.ca, {
      commonName: 'stray',
      uris: ['spiffe://acme.localhost/agent/stray'],
    });
    const { status, json } = await rawPost(fetchFor(stray), INITIALIZE);
    assert.equal(status, 401);
    assert.equal(json?.error?.data?.airlock, 'AIRLOCK_IDENTITY_UNKNOWN');
  });

  it('a revoked identity is refused on its next request, inside a live session', async () => {
    const temp = await kit.issueAgent('temp-bot');
    const { client } = await connectV2('legacy', temp);
    assert.equal(text(await client.callTool({ name: 'fixture.echo', arguments: { text: 'ok' } })), 'ok');
    assert.equal(await kit.store.identities.revokeIdentity('temp-bot', Date.now()), true);
    await assert.rejects(
      client.callTool({ name: 'fixture.echo', arguments: { text: 'again' } }),
      (err: unknown) => {
        assert.ok(err instanceof Error);
        assert.match(`${err.message} ${err instanceof SdkHttpError ? err.status : ''}`, /401|revoked/);
        return true;
      },
    );
    const { status, json } = await rawPost(fetchFor(temp), INITIALIZE);
    assert.equal(status, 401);
    assert.equal(json?.error?.data?.airlock, 'AIRLOCK_IDENTITY_REVOKED');
  });

  it('a session id is bound to its identity: another identity presenting it gets 404', async () => {
    const other = await kit.issueAgent('other-bot');
    const { client, transport } = await connectV2('legacy', bot);
    const sessionId = transport.sessionId;
    assert.ok(sessionId);
    const hijack = await rawPost(
      fetchFor(other),
      { jsonrpc: '2.0', id: 7, method: 'tools/list', params: {} },
      { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' },
    );
    assert.equal(hijack.status, 404);
    assert.equal(hijack.json?.error?.data?.airlock, 'AIRLOCK_SESSION_NOT_FOUND');
    const own = await client.listTools();
    assert.ok(own.tools.length > 0, 'the owner keeps using its session');
  });

  it('the Host header must name the tenant (DNS rebinding)', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpsRequest(
        {
          host: '127.0.0.1',
          port,
          path: '/mcp',
          method: 'POST',
          servername: TENANT_HOST,
          ca: kit.ca.certPem,
          cert: bot.certPem,
          key: bot.keyPem,
          headers: { host: 'evil.example', 'content-type': 'application/json' },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify(INITIALIZE));
    });
    assert.equal(status, 403);
  });
});
