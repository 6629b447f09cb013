/**
 * A real SDK client (@modelcontextprotocol/client, both eras) talking to a real SDK server (the
 * conformance fixture) through createUndiciFetch, as the connector's upstream clients do: progress on
 * the SSE answer, a sampling request the tool waits on (it only completes if the SSE answer is read as
 * it arrives), a stream the server closes mid-call (the client resumes with a GET), and an upstream
 * that redirects to another origin (not followed: its per-call headers never leave for that host).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import {
  fetchWithUpstreamHeaders,
  runWithUpstreamHeaders,
} from '../../src/identity/upstream-token-context.js';
import { createUndiciFetch, type UndiciFetch } from '../../src/net/undici-fetch.js';
import { type ConformanceServer, startConformanceServer } from '../fixtures/conformance-server.js';

type Mode = 'legacy' | 'auto';

async function listen(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

describe('the MCP SDK client over createUndiciFetch', { timeout: 60_000 }, () => {
  let upstream: ConformanceServer;
  let pooled: UndiciFetch;
  const clients: Client[] = [];
  before(async () => {
    upstream = await startConformanceServer();
    pooled = createUndiciFetch();
  });
  after(async () => {
    for (const client of clients) await client.close();
    await pooled.close();
    await upstream.close();
  });

  async function connect(mode: Mode, url = upstream.url): Promise<Client> {
    const client = new Client(
      { name: `undici-${mode}`, version: '1.0.0' },
      { versionNegotiation: { mode }, capabilities: { sampling: {} } },
    );
    client.setRequestHandler('sampling/createMessage', async () => ({
      role: 'assistant',
      content: { type: 'text', text: 'sampled' },
      model: 'm',
    }));
    await client.connect(
      new StreamableHTTPClientTransport(new URL(url), { fetch: fetchWithUpstreamHeaders(pooled) }),
    );
    clients.push(client);
    return client;
  }

  for (const mode of ['legacy', 'auto'] as const) {
    it(`lists, calls with progress and answers sampling (${mode})`, async () => {
      const client = await connect(mode);
      const { tools } = await client.listTools();
      assert.ok(tools.some((t) => t.name === 'test_tool_with_progress'));
      const progress: number[] = [];
      const result = await client.callTool(
        { name: 'test_tool_with_progress', arguments: {} },
        { onprogress: (p) => progress.push(p.progress) },
      );
      assert.deepEqual(progress, [0, 50, 100]);
      assert.match(JSON.stringify(result.content), /Progress reported/);
      const sampled = await runWithUpstreamHeaders({ authorization: 'Bearer per-call' }, () =>
        client.callTool({ name: 'test_sampling', arguments: { prompt: 'hi' } }),
      );
      assert.match(JSON.stringify(sampled.content), /LLM response: sampled/);
    });
  }

  it('resumes a call whose SSE stream the server closed mid-way (legacy)', async () => {
    const client = await connect('legacy');
    const result = await client.callTool({ name: 'test_reconnection', arguments: {} });
    assert.match(JSON.stringify(result.content), /properly reconnected/);
  });

  it('does not follow an upstream redirect to another origin', async () => {
    const elsewhere: string[] = [];
    const other = await listen((req, res) => {
      elsewhere.push(String(req.headers.authorization));
      res.writeHead(500).end();
    });
    const redirecting = await listen((_req, res) => {
      res.writeHead(307, { location: `${other.url}/mcp` }).end();
    });
    try {
      await assert.rejects(
        runWithUpstreamHeaders({ authorization: 'Bearer secret' }, () =>
          connect('legacy', `${redirecting.url}/mcp`),
        ),
        /not followed/,
      );
      assert.deepEqual(elsewhere, [], 'nothing reached the other origin');
    } finally {
      await closeServer(redirecting.server);
      await closeServer(other.server);
    }
  });
});
