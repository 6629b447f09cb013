import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  type CallToolResult,
  Client,
  type Progress,
  StreamableHTTPClientTransport,
} from '@modelcontextprotocol/client';
import {
  type LocalForwarder,
  LocalForwarderError,
  startLocalForwarder,
} from '../../src/agent/local-forwarder.js';
import type { TenantConnection } from '../../src/agent/tenant-connection.js';
import {
  type EchoServer,
  nextChunk,
  openStream,
  raw,
  type Seen,
  startEchoServer,
} from './forwarder-echo-server.js';
import { createTenantPki, startTlsMcpServer, type TlsMcpServer } from './tls-mcp-server.js';

function text(result: CallToolResult): string {
  return result.content.map((c) => (c.type === 'text' ? c.text : '')).join('');
}

interface Rig {
  mcp: TlsMcpServer;
  echo: EchoServer;
  echoConn: TenantConnection;
  toMcp: LocalForwarder;
  toEcho: LocalForwarder;
}

/** The MCP and echo peers of the acme tenant, each behind a local forwarder; shared by the file's tests. */
const rig = {} as Rig;

before(async () => {
  const pki = await createTenantPki('acme');
  [rig.mcp, rig.echo] = await Promise.all([startTlsMcpServer(pki), startEchoServer(pki)]);
  const conn = (port: number): TenantConnection => ({
    url: `https://acme.localhost:${port}/mcp`,
    caPem: pki.ca.certPem,
    certPem: pki.agent.certPem,
    keyPem: pki.agent.keyPem,
    connectTo: { host: '127.0.0.1', port },
  });
  rig.echoConn = conn(rig.echo.port);
  [rig.toMcp, rig.toEcho] = await Promise.all([
    startLocalForwarder(conn(rig.mcp.port)),
    startLocalForwarder(rig.echoConn),
  ]);
});

after(async () => {
  await rig.toMcp?.close();
  await rig.toEcho?.close();
  await rig.mcp?.close();
  await rig.echo?.close();
});

describe('agent: local forwarder (plain HTTP on loopback → pinned mTLS to the tenant)', () => {
  test('a plain SDK client reaches the TLS MCP server with the agent identity (both eras)', async () => {
    assert.match(rig.toMcp.url, /^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    for (const mode of ['auto', 'legacy'] as const) {
      const before = rig.mcp.seen.length;
      const client = new Client({ name: 'plain-client', version: '1.0.0' }, { versionNegotiation: { mode } });
      await client.connect(new StreamableHTTPClientTransport(new URL(rig.toMcp.url)));
      try {
        assert.equal(client.getProtocolEra(), mode === 'auto' ? 'modern' : 'legacy');
        const { tools } = await client.listTools();
        assert.ok(tools.some((t) => t.name === 'echo'));
        assert.equal(text(await client.callTool({ name: 'whoami', arguments: {} })), 'claims-bot');
        const progress: Progress[] = [];
        const counted = await client.callTool(
          { name: 'count_with_progress', arguments: {} },
          { onprogress: (p) => progress.push(p) },
        );
        assert.equal(text(counted), 'counted');
        assert.deepEqual(
          progress.map((p) => p.progress),
          [1, 2, 3],
        );
      } finally {
        await client.close();
      }
      const requests = rig.mcp.seen.slice(before);
      assert.ok(requests.length >= 3);
      for (const r of requests) {
        assert.equal(r.servername, 'acme.localhost');
        assert.equal(r.host, `acme.localhost:${rig.mcp.port}`);
        assert.equal(r.clientCn, 'claims-bot');
      }
    }
  });

  test('method, path, query, body and headers are forwarded; own Host/Origin map to the tenant', async () => {
    const before = rig.echo.seen.length;
    const res = await raw(rig.toEcho.port, '/mcp?x=1&y=two', {
      method: 'PUT',
      headers: {
        host: `127.0.0.1:${rig.toEcho.port}`,
        origin: `http://localhost:${rig.toEcho.port}`,
        'content-type': 'text/plain',
        'x-trace': 'abc',
        'x-private-hop': 'drop me',
        connection: 'keep-alive, x-private-hop',
        'keep-alive': 'timeout=5',
      },
      body: 'hello tenant',
    });
    assert.equal(res.status, 201);
    assert.deepEqual(JSON.parse(res.body), { ok: true });
    assert.deepEqual(res.headers['set-cookie'], ['a=1', 'b=2']);
    assert.equal(res.headers['x-upstream'], undefined, 'named in the tenant Connection header: hop-by-hop');
    const seen = rig.echo.seen.slice(before);
    assert.equal(seen.length, 1);
    const s = seen[0] as Seen;
    assert.equal(s.method, 'PUT');
    assert.equal(s.url, '/mcp?x=1&y=two');
    assert.equal(s.body, 'hello tenant');
    assert.equal(s.clientCn, 'claims-bot');
    assert.equal(s.headers.host, `acme.localhost:${rig.echo.port}`);
    assert.equal(s.headers.origin, `https://acme.localhost:${rig.echo.port}`);
    assert.equal(s.headers['x-trace'], 'abc');
    assert.equal(s.headers['content-type'], 'text/plain');
    assert.equal(s.headers['x-private-hop'], undefined);
    assert.equal(s.headers['keep-alive'], undefined);
  });
});

describe('agent: local forwarder: Host and Origin', () => {
  test('another loopback Host or Origin is passed through unchanged', async () => {
    const before = rig.echo.seen.length;
    const res = await raw(rig.toEcho.port, '/mcp', {
      headers: { host: 'localhost:9', origin: 'http://127.0.0.1:3000' },
    });
    assert.equal(res.status, 201);
    const s = rig.echo.seen[before] as Seen;
    assert.equal(s.headers.host, 'localhost:9');
    assert.equal(s.headers.origin, 'http://127.0.0.1:3000');
  });

  test('DNS rebinding: a foreign Host or Origin gets 403 and never reaches the tenant', async () => {
    const before = rig.echo.seen.length;
    const badHost = await raw(rig.toEcho.port, '/mcp', { headers: { host: 'evil.example.com' } });
    assert.equal(badHost.status, 403);
    const badOrigin = await raw(rig.toEcho.port, '/mcp', {
      headers: { host: `127.0.0.1:${rig.toEcho.port}`, origin: 'http://evil.example.com' },
    });
    assert.equal(badOrigin.status, 403);
    assert.equal(rig.echo.seen.length, before);
  });

  test("allowedHostnames: 'any' forwards a foreign Host and Origin to the tenant as they are", async () => {
    const transparent = await startLocalForwarder(rig.echoConn, { allowedHostnames: 'any' });
    try {
      const before = rig.echo.seen.length;
      const res = await raw(transparent.port, '/mcp', {
        headers: { host: 'evil.example.com', origin: 'http://evil.example.com' },
      });
      assert.equal(res.status, 201);
      const s = rig.echo.seen[before] as Seen;
      assert.equal(s.headers.host, 'evil.example.com');
      assert.equal(s.headers.origin, 'http://evil.example.com');
    } finally {
      await transparent.close();
    }
  });
});

describe('agent: local forwarder: streams and failures', () => {
  test('SSE is streamed: the first event arrives before the tenant writes the second', async () => {
    const { res, destroy } = await openStream(rig.toEcho.port, '/sse');
    try {
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['content-type'], 'text/event-stream');
      const first = await nextChunk(res);
      assert.match(first, /data: first/);
      assert.doesNotMatch(first, /second/);
      const rest = new Promise<string>((resolve) => {
        let buf = '';
        res.on('data', (c: Buffer) => {
          buf += c.toString('utf8');
        });
        res.on('end', () => resolve(buf));
      });
      rig.echo.releaseSecond();
      assert.match(await rest, /data: second/);
    } finally {
      destroy();
    }
  });

  test('a client that goes away aborts the request to the tenant', { timeout: 10_000 }, async () => {
    const { res, destroy } = await openStream(rig.toEcho.port, '/hold');
    assert.match(await nextChunk(res), /held/);
    destroy();
    await rig.echo.heldClosed; // the tenant-side response closed because the forwarder aborted it
  });

  test('a tenant that cannot be verified gives 502 with the reason', async () => {
    const other = await createTenantPki('acme');
    const wrongCa = await startLocalForwarder({ ...rig.echoConn, caPem: other.ca.certPem });
    try {
      const before = rig.echo.seen.length;
      const res = await raw(wrongCa.port, '/mcp');
      assert.equal(res.status, 502);
      const body = JSON.parse(res.body) as { error: { message: string } };
      assert.match(body.error.message, /certificate/i);
      assert.equal(rig.echo.seen.length, before);
    } finally {
      await wrongCa.close();
    }
  });

  test('listens on loopback only; a taken port is a clear error', async () => {
    await assert.rejects(
      startLocalForwarder(rig.echoConn, { host: '0.0.0.0' }),
      (err: unknown) =>
        err instanceof LocalForwarderError && err.code === 'AIRLOCK_AGENT_FORWARD_NOT_LOOPBACK',
    );
    await assert.rejects(
      startLocalForwarder(rig.echoConn, { port: rig.toEcho.port }),
      (err: unknown) =>
        err instanceof LocalForwarderError && err.code === 'AIRLOCK_AGENT_FORWARD_LISTEN_FAILED',
    );
  });
});
