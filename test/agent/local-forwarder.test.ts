import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { createServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { TLSSocket } from 'node:tls';
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
import { createTenantPki, startTlsMcpServer, type TenantPki, type TlsMcpServer } from './tls-mcp-server.js';

function text(result: CallToolResult): string {
  return result.content.map((c) => (c.type === 'text' ? c.text : '')).join('');
}

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  body: string;
  clientCn: string | undefined;
}

/**
 * A raw HTTPS peer with the tenant certificate that requires the agent's client certificate and
 * records what reached it. `/sse` streams one event, waits for `releaseSecond()`, then a second one;
 * `/hold` keeps the response open until the client goes away (`heldClosed` resolves).
 */
interface EchoServer {
  port: number;
  seen: Seen[];
  releaseSecond: () => void;
  heldClosed: Promise<void>;
  close(): Promise<void>;
}

async function startEchoServer(pki: TenantPki): Promise<EchoServer> {
  const seen: Seen[] = [];
  let releaseSecond: () => void = () => {};
  const second = new Promise<void>((resolve) => {
    releaseSecond = resolve;
  });
  let heldClosedResolve: () => void = () => {};
  const heldClosed = new Promise<void>((resolve) => {
    heldClosedResolve = resolve;
  });
  const server: HttpsServer = createServer(
    {
      key: pki.server.keyPem,
      cert: pki.server.certPem,
      ca: pki.ca.certPem,
      requestCert: true,
      rejectUnauthorized: true,
    },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const cn = (req.socket as TLSSocket).getPeerCertificate().subject?.CN;
        seen.push({
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          rawHeaders: req.rawHeaders,
          body: Buffer.concat(chunks).toString('utf8'),
          clientCn: Array.isArray(cn) ? cn[0] : cn,
        });
        if (req.url === '/sse') {
          res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
          res.write('id: 1\ndata: first\n\n');
          void second.then(() => res.end('id: 2\ndata: second\n\n'));
          return;
        }
        if (req.url === '/hold') {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          res.write(': held\n\n');
          res.once('close', () => heldClosedResolve());
          return;
        }
        res.writeHead(201, {
          'content-type': 'application/json',
          'set-cookie': ['a=1', 'b=2'],
          'x-upstream': 'yes',
          connection: 'keep-alive, x-upstream',
        });
        res.end(JSON.stringify({ ok: true }));
      });
    },
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    releaseSecond: () => releaseSecond(),
    heldClosed,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A plain HTTP/1.1 request with full control over Host (fetch cannot set it). */
function raw(
  port: number,
  path: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: opts.headers ?? {} },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

function openStream(port: number, path: string): Promise<{ res: IncomingMessage; destroy: () => void }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path }, (res) =>
      resolve({ res, destroy: () => req.destroy() }),
    );
    req.on('error', reject);
    req.end();
  });
}

function nextChunk(res: IncomingMessage): Promise<string> {
  return new Promise((resolve) => res.once('data', (c: Buffer) => resolve(c.toString('utf8'))));
}

describe('agent: local forwarder (plain HTTP on loopback → pinned mTLS to the tenant)', () => {
  let pki: TenantPki;
  let mcp: TlsMcpServer;
  let echo: EchoServer;
  let mcpConn: TenantConnection;
  let echoConn: TenantConnection;
  let toMcp: LocalForwarder;
  let toEcho: LocalForwarder;

  before(async () => {
    pki = await createTenantPki('acme');
    [mcp, echo] = await Promise.all([startTlsMcpServer(pki), startEchoServer(pki)]);
    const conn = (port: number): TenantConnection => ({
      url: `https://acme.localhost:${port}/mcp`,
      caPem: pki.ca.certPem,
      certPem: pki.agent.certPem,
      keyPem: pki.agent.keyPem,
      connectTo: { host: '127.0.0.1', port },
    });
    mcpConn = conn(mcp.port);
    echoConn = conn(echo.port);
    [toMcp, toEcho] = await Promise.all([startLocalForwarder(mcpConn), startLocalForwarder(echoConn)]);
  });

  after(async () => {
    await toMcp?.close();
    await toEcho?.close();
    await mcp?.close();
    await echo?.close();
  });

  test('a plain SDK client reaches the TLS MCP server with the agent identity (both eras)', async () => {
    assert.match(toMcp.url, /^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    for (const mode of ['auto', 'legacy'] as const) {
      const before = mcp.seen.length;
      const client = new Client({ name: 'plain-client', version: '1.0.0' }, { versionNegotiation: { mode } });
      await client.connect(new StreamableHTTPClientTransport(new URL(toMcp.url)));
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
      const requests = mcp.seen.slice(before);
      assert.ok(requests.length >= 3);
      for (const r of requests) {
        assert.equal(r.servername, 'acme.localhost');
        assert.equal(r.host, `acme.localhost:${mcp.port}`);
        assert.equal(r.clientCn, 'claims-bot');
      }
    }
  });

  test('method, path, query, body and headers are forwarded; own Host/Origin map to the tenant', async () => {
    const before = echo.seen.length;
    const res = await raw(toEcho.port, '/mcp?x=1&y=two', {
      method: 'PUT',
      headers: {
        host: `127.0.0.1:${toEcho.port}`,
        origin: `http://localhost:${toEcho.port}`,
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
    const seen = echo.seen.slice(before);
    assert.equal(seen.length, 1);
    const s = seen[0] as Seen;
    assert.equal(s.method, 'PUT');
    assert.equal(s.url, '/mcp?x=1&y=two');
    assert.equal(s.body, 'hello tenant');
    assert.equal(s.clientCn, 'claims-bot');
    assert.equal(s.headers.host, `acme.localhost:${echo.port}`);
    assert.equal(s.headers.origin, `https://acme.localhost:${echo.port}`);
    assert.equal(s.headers['x-trace'], 'abc');
    assert.equal(s.headers['content-type'], 'text/plain');
    assert.equal(s.headers['x-private-hop'], undefined);
    assert.equal(s.headers['keep-alive'], undefined);
  });

  test('another loopback Host or Origin is passed through unchanged', async () => {
    const before = echo.seen.length;
    const res = await raw(toEcho.port, '/mcp', {
      headers: { host: 'localhost:9', origin: 'http://127.0.0.1:3000' },
    });
    assert.equal(res.status, 201);
    const s = echo.seen[before] as Seen;
    assert.equal(s.headers.host, 'localhost:9');
    assert.equal(s.headers.origin, 'http://127.0.0.1:3000');
  });

  test('DNS rebinding: a foreign Host or Origin gets 403 and never reaches the tenant', async () => {
    const before = echo.seen.length;
    const badHost = await raw(toEcho.port, '/mcp', { headers: { host: 'evil.example.com' } });
    assert.equal(badHost.status, 403);
    const badOrigin = await raw(toEcho.port, '/mcp', {
      headers: { host: `127.0.0.1:${toEcho.port}`, origin: 'http://evil.example.com' },
    });
    assert.equal(badOrigin.status, 403);
    assert.equal(echo.seen.length, before);
  });

  test("allowedHostnames: 'any' forwards a foreign Host and Origin to the tenant as they are", async () => {
    const transparent = await startLocalForwarder(echoConn, { allowedHostnames: 'any' });
    try {
      const before = echo.seen.length;
      const res = await raw(transparent.port, '/mcp', {
        headers: { host: 'evil.example.com', origin: 'http://evil.example.com' },
      });
      assert.equal(res.status, 201);
      const s = echo.seen[before] as Seen;
      assert.equal(s.headers.host, 'evil.example.com');
      assert.equal(s.headers.origin, 'http://evil.example.com');
    } finally {
      await transparent.close();
    }
  });

  test('SSE is streamed: the first event arrives before the tenant writes the second', async () => {
    const { res, destroy } = await openStream(toEcho.port, '/sse');
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
      echo.releaseSecond();
      assert.match(await rest, /data: second/);
    } finally {
      destroy();
    }
  });

  test('a client that goes away aborts the request to the tenant', { timeout: 10_000 }, async () => {
    const { res, destroy } = await openStream(toEcho.port, '/hold');
    assert.match(await nextChunk(res), /held/);
    destroy();
    await echo.heldClosed; // the tenant-side response closed because the forwarder aborted it
  });

  test('a tenant that cannot be verified gives 502 with the reason', async () => {
    const other = await createTenantPki('acme');
    const wrongCa = await startLocalForwarder({ ...echoConn, caPem: other.ca.certPem });
    try {
      const before = echo.seen.length;
      const res = await raw(wrongCa.port, '/mcp');
      assert.equal(res.status, 502);
      const body = JSON.parse(res.body) as { error: { message: string } };
      assert.match(body.error.message, /certificate/i);
      assert.equal(echo.seen.length, before);
    } finally {
      await wrongCa.close();
    }
  });

  test('listens on loopback only; a taken port is a clear error', async () => {
    await assert.rejects(
      startLocalForwarder(echoConn, { host: '0.0.0.0' }),
      (err: unknown) =>
        err instanceof LocalForwarderError && err.code === 'AIRLOCK_AGENT_FORWARD_NOT_LOOPBACK',
    );
    await assert.rejects(
      startLocalForwarder(echoConn, { port: toEcho.port }),
      (err: unknown) =>
        err instanceof LocalForwarderError && err.code === 'AIRLOCK_AGENT_FORWARD_LISTEN_FAILED',
    );
  });
});
