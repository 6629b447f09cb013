/**
 * Direct upstream calls (src/mcp/upstream-direct-call.ts): a plain 2026-07-28 `tools/call` to an HTTP
 * upstream posted without the SDK client's request machinery must be indistinguishable from the SDK
 * client's own call. Each case runs against the same real SDK server over HTTP through two `Upstream`s,
 * one with `directCalls` (default) and one without, and compares results, errors, what the upstream
 * received (headers and `_meta`) and the logs delivered on an SSE answer.
 */
import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { LoggingMessageNotificationParams } from '@modelcontextprotocol/client';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { createMcpHandler, inputRequired, McpServer, ProtocolError } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { Upstream } from '../../src/mcp/upstream.js';
import { UPSTREAM_DIRECT_CALL_CHANNEL } from '../../src/mcp/upstream-direct-call.js';
import { createUndiciFetch } from '../../src/net/undici-fetch.js';

interface Seen {
  headers: IncomingMessage['headers'];
  meta: Record<string, unknown>;
}

function buildServer(): McpServer {
  const server = new McpServer(
    { name: 'direct-fixture', version: '1.0.0' },
    { capabilities: { logging: {} } },
  );
  server.registerTool('echo', { inputSchema: z.object({ text: z.string() }) }, async ({ text }) => ({
    content: [{ type: 'text', text }],
    structuredContent: { text },
  }));
  server.registerTool('refuse', { inputSchema: z.object({}) }, async () => {
    throw new ProtocolError(-32602, 'refused on purpose', { why: 'test' });
  });
  server.registerTool('oops', { inputSchema: z.object({}) }, async () => ({
    content: [{ type: 'text', text: 'tool failed' }],
    isError: true,
  }));
  server.registerTool('ask', { inputSchema: z.object({}) }, async () =>
    inputRequired({
      inputRequests: {
        who: inputRequired.elicit({
          message: 'name?',
          requestedSchema: { type: 'object', properties: { name: { type: 'string' } } },
        }),
      },
    }),
  );
  server.registerTool('chatty', { inputSchema: z.object({}) }, async (_args, ctx) => {
    await ctx.mcpReq.log('info', { said: 'hello' });
    await ctx.mcpReq.log('debug', { said: 'details' });
    return { content: [{ type: 'text', text: 'done' }] };
  });
  server.registerTool('steps', { inputSchema: z.object({}) }, async (_args, ctx) => {
    const token = ctx.mcpReq._meta?.progressToken;
    for (let i = 1; i <= 3 && token !== undefined; i++) {
      await ctx.mcpReq.notify({
        method: 'notifications/progress',
        params: { progressToken: token, progress: i, total: 3, message: `step ${i}` },
      });
    }
    return { content: [{ type: 'text', text: token === undefined ? 'no token' : 'stepped' }] };
  });
  server.registerTool('slow', { inputSchema: z.object({}) }, async (_args, ctx) => {
    await new Promise((resolve) => ctx.mcpReq.signal.addEventListener('abort', resolve, { once: true }));
    return { content: [{ type: 'text', text: 'late' }] };
  });
  return server;
}

/** The SDK server over HTTP, remembering what each `tools/call` carried. */
async function startFixture(): Promise<{ server: Server; url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const handle = toNodeHandler(createMcpHandler(() => buildServer()));
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString();
      const body = text ? (JSON.parse(text) as { method?: string; params?: { _meta?: object } }) : {};
      const moved = new URL(req.url ?? '/', 'http://x').searchParams.get('moved');
      if (body.method === 'tools/call' && moved) {
        // The endpoint moved: within the origin (followed by the SDK client) or to another host name.
        const port = (server.address() as AddressInfo).port;
        const location = moved === 'same' ? '/mcp' : `http://localhost:${port}/mcp`;
        return void res.writeHead(307, { location }).end();
      }
      if (body.method === 'tools/call') {
        seen.push({ headers: req.headers, meta: (body.params?._meta ?? {}) as Record<string, unknown> });
      }
      void handle(req, res, text ? JSON.parse(text) : undefined);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`, seen };
}

const HEADERS_COMPARED = [
  'content-type',
  'accept',
  'mcp-protocol-version',
  'mcp-method',
  'mcp-name',
  'x-static',
];

function comparable(seen: Seen): Record<string, unknown> {
  const headers = Object.fromEntries(HEADERS_COMPARED.map((h) => [h, seen.headers[h]]));
  return { headers, meta: seen.meta };
}

async function outcome(promise: Promise<unknown>): Promise<unknown> {
  try {
    return { result: await promise };
  } catch (err) {
    const e = err as Error;
    return { error: { class: e.constructor.name, ...e, message: e.message } };
  }
}

/** An outcome with the upstream's name and a connection failure's wording taken out. */
function named(outcome: unknown, name: string): string {
  return JSON.stringify(outcome)
    .replaceAll(`'${name}'`, "'<upstream>'")
    .replaceAll(`"${name}"`, '"<upstream>"')
    .replace(/connection failed: [^)]*/, 'connection failed: <why>');
}

/** Two `Upstream`s on the same fixture: `direct` (the default) and `sdk` (`directCalls: false`). */
interface Pair {
  fixture: Awaited<ReturnType<typeof startFixture>>;
  direct: Upstream;
  sdk: Upstream;
}

/** `query` is added to the fixture's URL (`?moved=...` makes it redirect calls). */
async function startPair(query = ''): Promise<Pair> {
  const fixture = await startFixture();
  const fetch = createUndiciFetch();
  const config = (name: string) => ({
    name,
    kind: 'http' as const,
    url: `${fixture.url}${query}`,
    protocol: '2026-07-28' as const,
    headers: { 'x-static': 'configured' },
    timeoutMs: 2_000,
  });
  const direct = new Upstream(config('direct'), { fetch });
  const sdk = new Upstream(config('sdk'), { fetch, directCalls: false });
  await direct.start();
  await sdk.start();
  assert.equal(direct.status().state, 'ready');
  assert.equal(sdk.status().era, 'modern');
  return { fixture, direct, sdk };
}

async function closePair(pair: Pair): Promise<void> {
  await pair.direct.close();
  await pair.sdk.close();
  await new Promise((resolve) => pair.fixture.server.close(resolve));
}

/** Runs the same call on both upstreams; returns both outcomes and what the fixture received. */
async function both(pair: Pair, params: Record<string, unknown>, logLevel?: 'debug' | 'info') {
  const logs: Record<string, LoggingMessageNotificationParams[]> = { direct: [], sdk: [] };
  const run = (upstream: Upstream) =>
    outcome(
      upstream.request('tools/call', params, {
        interaction: {
          clientCapabilities: { elicitation: { form: {} } },
          ...(logLevel ? { logLevel } : {}),
          onLog: (p) => logs[upstream.name]?.push(p),
        },
      }),
    );
  const first = pair.fixture.seen.length;
  const posted: unknown[] = [];
  const onPosted = (message: unknown) => posted.push(message);
  diagnosticsChannel.subscribe(UPSTREAM_DIRECT_CALL_CHANNEL, onPosted);
  try {
    const viaDirect = await run(pair.direct);
    assert.equal(posted.length, 1, 'the direct upstream posted the call itself');
    const viaSdk = await run(pair.sdk);
    assert.equal(posted.length, 1, 'the other upstream left it to the SDK client');
    return { viaDirect, viaSdk, seen: pair.fixture.seen.slice(first), logs };
  } finally {
    diagnosticsChannel.unsubscribe(UPSTREAM_DIRECT_CALL_CHANNEL, onPosted);
  }
}

describe('direct upstream calls: answers', () => {
  let pair: Pair;
  before(async () => {
    pair = await startPair();
  });
  after(() => closePair(pair));

  for (const [label, params] of [
    ['a result with structured content', { name: 'echo', arguments: { text: 'hi there' } }],
    ['an isError result', { name: 'oops', arguments: {} }],
    ['a JSON-RPC error from the tool', { name: 'refuse', arguments: {} }],
    ['an input_required answer', { name: 'ask', arguments: {} }],
    ['an unknown tool', { name: 'nope', arguments: {} }],
    ['invalid arguments', { name: 'echo', arguments: { text: 7 } }],
  ] as const) {
    test(`${label}: the same outcome and the same request on the wire`, async () => {
      const { viaDirect, viaSdk, seen } = await both(pair, params);
      assert.deepEqual(viaDirect, viaSdk);
      assert.equal(seen.length, 2);
      const [a, b] = seen as [Seen, Seen];
      assert.deepEqual(comparable(a), comparable(b));
      assert.equal(a.headers['x-static'], 'configured');
      assert.equal(a.headers['mcp-name'], params.name);
    });
  }

  test('logs sent on an SSE answer reach the request whose level asked for them, as through the SDK', async () => {
    const { viaDirect, viaSdk, logs } = await both(pair, { name: 'chatty', arguments: {} }, 'info');
    assert.deepEqual(viaDirect, viaSdk);
    assert.deepEqual(logs.direct, logs.sdk);
    assert.deepEqual(
      logs.direct?.map((l) => l.data),
      [{ said: 'hello' }],
    );
  });

  test('progress of a call reaches its callback in order, as through the SDK, and a progress token is sent', async () => {
    const progress: Record<string, unknown[]> = { direct: [], sdk: [] };
    const run = (upstream: Upstream) =>
      outcome(
        upstream.request(
          'tools/call',
          { name: 'steps', arguments: {} },
          { onprogress: (p) => progress[upstream.name]?.push(p) },
        ),
      );
    const viaDirect = await run(pair.direct);
    const viaSdk = await run(pair.sdk);
    assert.deepEqual(viaDirect, viaSdk);
    assert.match(JSON.stringify(viaDirect), /stepped/);
    assert.deepEqual(progress.direct, progress.sdk);
    assert.deepEqual(
      progress.direct?.map((p) => (p as { progress: number }).progress),
      [1, 2, 3],
    );
  });
});

describe('direct upstream calls to an upstream that redirects its endpoint', () => {
  for (const [label, query, outcomePattern] of [
    ['within its origin: followed, as the SDK client does', '?moved=same', /hi there/],
    ['to another origin: refused, as the SDK client does', '?moved=other', /AIRLOCK_UPSTREAM_FAILED/],
  ] as const) {
    test(label, async () => {
      const pair = await startPair(query);
      try {
        const params = { name: 'echo', arguments: { text: 'hi there' } };
        const { viaDirect, viaSdk } = await both(pair, params);
        assert.match(JSON.stringify(viaDirect), outcomePattern);
        assert.equal(named(viaDirect, 'direct'), named(viaSdk, 'sdk'));
        // Once redirected, the upstream's calls skip the direct attempt.
        const posted: unknown[] = [];
        const onPosted = (message: unknown) => posted.push(message);
        diagnosticsChannel.subscribe(UPSTREAM_DIRECT_CALL_CHANNEL, onPosted);
        try {
          const again = await outcome(pair.direct.request('tools/call', params));
          assert.equal(named(again, 'direct'), named(viaDirect, 'direct'));
          assert.equal(posted.length, 0);
        } finally {
          diagnosticsChannel.unsubscribe(UPSTREAM_DIRECT_CALL_CHANNEL, onPosted);
        }
      } finally {
        await closePair(pair);
      }
    });
  }
});

describe('direct upstream calls: timeouts and cancellation', () => {
  let pair: Pair;
  before(async () => {
    pair = await startPair();
  });
  after(() => closePair(pair));

  test('a call that outlives the timeout fails as the SDK path fails it, and the upstream stays ready', async () => {
    const { viaDirect, viaSdk } = await both(pair, { name: 'slow', arguments: {} });
    assert.equal(named(viaDirect, 'direct'), named(viaSdk, 'sdk'));
    assert.match(JSON.stringify(viaDirect), /AIRLOCK_UPSTREAM_TIMEOUT/);
    assert.equal(pair.direct.status().state, 'ready');
  });

  test('an aborted call is cancelled at the upstream and reported as cancelled', async () => {
    const controller = new AbortController();
    const seen = pair.fixture.seen;
    const before = seen.length;
    const call = outcome(
      pair.direct.request('tools/call', { name: 'slow', arguments: {} }, { signal: controller.signal }),
    );
    const deadline = Date.now() + 30_000;
    while (seen.length === before && Date.now() < deadline) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    controller.abort();
    assert.match(JSON.stringify(await call), /AIRLOCK_REQUEST_CANCELLED/);
  });
});

describe('direct upstream calls to an upstream that went away', () => {
  test('fail as unavailable and put the upstream into restart, as the SDK path does', async () => {
    const fixture = await startFixture();
    const config = (name: string) => ({
      name,
      kind: 'http' as const,
      url: fixture.url,
      protocol: '2026-07-28' as const,
    });
    const direct = new Upstream(config('direct'), { fetch: createUndiciFetch() });
    const sdk = new Upstream(config('sdk'), { fetch: createUndiciFetch(), directCalls: false });
    try {
      await direct.start();
      await sdk.start();
      fixture.server.closeAllConnections();
      await new Promise((resolve) => fixture.server.close(resolve));
      const params = { name: 'echo', arguments: { text: 'x' } };
      const viaDirect = await outcome(direct.request('tools/call', params));
      const viaSdk = await outcome(sdk.request('tools/call', params));
      assert.match(JSON.stringify(viaDirect), /AIRLOCK_UPSTREAM_UNAVAILABLE/);
      assert.equal(named(viaDirect, 'direct'), named(viaSdk, 'sdk'));
      assert.notEqual(direct.status().state, 'ready');
      assert.equal(direct.status().state, sdk.status().state);
    } finally {
      await direct.close();
      await sdk.close();
    }
  });
});
