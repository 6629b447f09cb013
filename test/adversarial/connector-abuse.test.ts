/**
 * Attacks on the connector's agent endpoint (tenant TLS termination + MCP at /mcp), reached the way the
 * relay reaches it (byte streams handed to `accept()`) and on its direct port: slowloris, JSON-RPC
 * batches, deep nesting, huge strings and headers, invalid UTF-8, an `Mcp-Session-Id` of another
 * identity, and DNS rebinding (`Host` / `Origin`). Each expects a clear refusal, and a well-behaved
 * agent keeps being served throughout. Real TLS, real SDK endpoint, a real stdio upstream.
 */
import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { AgentEndpoint } from '../../src/connector/agent-endpoint.js';
import { gatewayStages } from '../../src/gateway/gateway-stages.js';
import { AgentMcpEndpoint } from '../../src/mcp/agent-mcp-endpoint.js';
import { UpstreamCatalog } from '../../src/mcp/upstream-catalog.js';
import {
  type AgentCredentials,
  createTenantKit,
  TENANT_HOST,
  type TenantKit,
} from '../fixtures/tenant-tls-kit.js';
import { captureClientHello } from '../relay/capture-client-hello.js';
import { FIXTURE_UPSTREAM } from '../sandbox/sandbox-fixture.js';
import { closedWithin } from './raw-wire.js';

const HEADERS_TIMEOUT_MS = 500;
const REQUEST_TIMEOUT_MS = 1000;
const HANDSHAKE_TIMEOUT_MS = 500;
const MODERN = '2026-07-28';
const META = {
  'io.modelcontextprotocol/protocolVersion': MODERN,
  'io.modelcontextprotocol/clientCapabilities': {},
};

let kit: TenantKit;
let catalog: UpstreamCatalog;
let mcp: AgentMcpEndpoint;
let endpoint: AgentEndpoint;
let directPort: number;
/** Stand-in for the relay tunnel: every TCP connection is handed to `accept()` as a raw byte stream. */
let tunnel: net.Server;
let tunnelPort: number;
let alice: AgentCredentials;
let mallory: AgentCredentials;

before(async () => {
  kit = await createTenantKit();
  catalog = UpstreamCatalog.fromConfig([
    { name: 'fixture', kind: 'stdio', command: process.execPath, args: [FIXTURE_UPSTREAM] },
  ]);
  await catalog.start();
  mcp = new AgentMcpEndpoint({ catalog, stages: gatewayStages({ identities: kit.store.identities }) });
  endpoint = new AgentEndpoint({
    tls: { keyPem: kit.server.keyPem, certPem: kit.server.certPem, caPem: kit.ca.certPem },
    identities: kit.store.identities,
    handler: mcp.nodeHandler,
    limits: {
      headersTimeoutMs: HEADERS_TIMEOUT_MS,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
      handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS,
    },
  });
  directPort = (await endpoint.listen(0, '127.0.0.1')).port;
  tunnel = net.createServer((socket) => endpoint.accept(socket));
  await new Promise<void>((resolve) => tunnel.listen(0, '127.0.0.1', resolve));
  tunnelPort = (tunnel.address() as net.AddressInfo).port;
  alice = await kit.issueAgent('alice');
  mallory = await kit.issueAgent('mallory');
});

after(async () => {
  await endpoint.close();
  await new Promise((resolve) => tunnel.close(resolve));
  await mcp.close();
  await catalog.close();
  await kit.close();
});

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json:
    | { error?: { code: number; message: string; data?: { airlock?: string } }; result?: unknown }
    | undefined;
}

/** One HTTPS request with full control over headers and body bytes. */
function send(options: {
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  who?: AgentCredentials;
  port?: number;
}): Promise<RawResponse> {
  const who = options.who ?? alice;
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port: options.port ?? tunnelPort,
        path: '/mcp',
        method: options.method ?? 'POST',
        servername: TENANT_HOST,
        ca: kit.ca.certPem,
        cert: who.certPem,
        key: who.keyPem,
        agent: false,
        headers: {
          host: `${TENANT_HOST}:443`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          ...options.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          let json: RawResponse['json'];
          try {
            json = JSON.parse(body) as RawResponse['json'];
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** A modern (2026-07-28) tools/call of `fixture.echo`, with the headers the SDK requires. */
function modernCall(
  id: number,
  args: Record<string, unknown>,
): { headers: Record<string, string>; body: string } {
  return {
    headers: { 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': 'fixture.echo' },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id,
      method: 'tools/call',
      params: { name: 'fixture.echo', arguments: args, _meta: META },
    }),
  };
}

/** Opens a 2025-11-25 session as the raw client `name` (alice's certificate); returns how to address it. */
async function openLegacySession(
  name: string,
): Promise<{ session: string; headers: Record<string, string> }> {
  const init = await send({
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name, version: '1' } },
    }),
  });
  const session = String(init.headers['mcp-session-id'] ?? '');
  assert.ok(session, 'a legacy session was opened');
  const headers = { 'mcp-session-id': session, 'mcp-protocol-version': '2025-11-25' };
  await send({ headers, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) });
  return { session, headers };
}

async function aliceIsServed(text = 'alice is fine'): Promise<void> {
  const call = modernCall(99, { text });
  const res = await send({ headers: call.headers, body: call.body });
  assert.equal(res.status, 200, res.body);
  assert.match(res.body, new RegExp(`"echoed":"${text}"`));
}

/** TLS through the tunnel stand-in (or the direct port), no HTTP yet. */
async function tlsTo(port: number, who?: AgentCredentials): Promise<tls.TLSSocket> {
  const socket = tls.connect({
    host: '127.0.0.1',
    port,
    servername: TENANT_HOST,
    ca: kit.ca.certPem,
    ...(who ? { cert: who.certPem, key: who.keyPem } : {}),
  });
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', () => resolve());
    socket.once('error', reject);
  });
  socket.resume();
  return socket;
}

describe('slowloris on the connector endpoint', () => {
  for (const [path, port] of [
    ['through the tunnel (accept)', () => tunnelPort],
    ['on the direct port (listen)', () => directPort],
  ] as const) {
    it(`headers trickled ${path} are cut by the header timeout; alice is served meanwhile`, async () => {
      const sockets = await Promise.all(Array.from({ length: 10 }, () => tlsTo(port())));
      for (const s of sockets) s.write(`POST /mcp HTTP/1.1\r\nHost: ${TENANT_HOST}\r\n`);
      const trickle = setInterval(() => {
        for (const s of sockets) if (!s.destroyed) s.write('X-Slow: 1\r\n');
      }, 100);
      try {
        await aliceIsServed('during the trickle');
        const closed = await Promise.all(sockets.map((s) => closedWithin(s, REQUEST_TIMEOUT_MS + 4000)));
        assert.equal(
          closed.filter(Boolean).length,
          sockets.length,
          `FINDING: header/request timeouts are not enforced ${path} (node checks them only on a listening server, every connectionsCheckingInterval = 30 s)`,
        );
      } finally {
        clearInterval(trickle);
        for (const s of sockets) s.destroy();
      }
    });
  }

  it('a connection that completes TLS and then says nothing is closed', async () => {
    const socket = await tlsTo(tunnelPort);
    assert.equal(
      await closedWithin(socket, REQUEST_TIMEOUT_MS + 4000),
      true,
      'FINDING: an idle connection before its first request is never closed through the tunnel',
    );
  });

  it('a TLS handshake left half done is cut at the handshake timeout', async () => {
    const hello = await captureClientHello({ servername: TENANT_HOST });
    const socket = net.connect(tunnelPort, '127.0.0.1');
    socket.on('error', () => {});
    socket.resume();
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(hello);
    assert.equal(await closedWithin(socket, HANDSHAKE_TIMEOUT_MS + 4000), true);
    await aliceIsServed();
  });
});

describe('hostile JSON-RPC at /mcp (valid client certificate)', () => {
  it('a batch is refused with -32600', async () => {
    const one = JSON.parse(modernCall(1, { text: 'x' }).body) as unknown;
    for (const size of [2, 1000]) {
      const res = await send({
        headers: modernCall(1, {}).headers,
        body: JSON.stringify(Array.from({ length: size }, () => one)),
      });
      assert.equal(res.status, 400);
      assert.equal(res.json?.error?.code, -32600);
    }
    await aliceIsServed();
  });

  it('a legacy (2025-11-25) batch inside a session above 100 messages is refused (the SDK bound)', async () => {
    const { headers } = await openLegacySession('raw');
    const batch = Array.from({ length: 500 }, (_, i) => ({
      jsonrpc: '2.0',
      id: 100 + i,
      method: 'tools/call',
      params: { name: 'fixture.echo', arguments: { text: `b${i}` } },
    }));
    const res = await send({ headers, body: JSON.stringify(batch) });
    assert.equal(res.status, 400);
    assert.equal(res.json?.error?.code, -32600);
    assert.match(res.json?.error?.message ?? '', /Batch must not exceed 100/);
    await send({ method: 'DELETE', headers });
    await aliceIsServed();
  });

  it('deeply nested arguments are refused with a client error, not an internal one', async () => {
    let nested = '"leaf"';
    for (let i = 0; i < 100_000; i++) nested = `[${nested}]`;
    const call = modernCall(2, { text: 'deep' });
    const body = call.body.replace('"text":"deep"', `"text":"deep","nested":${nested}`);
    const res = await send({ headers: call.headers, body });
    assert.ok(res.json?.error, `refused: ${res.body.slice(0, 200)}`);
    assert.ok(
      [-32600, -32602].includes(res.json.error.code),
      `FINDING: no nesting limit at the endpoint; depth 100000 reaches the upstream call and fails as ${res.json.error.code} "${res.json.error.message}"`,
    );
    await aliceIsServed();
  });

  it('a body above the limit is refused with 413 before it is parsed; a huge header with 431', async () => {
    const call = modernCall(3, { text: 'x'.repeat(5 * 1024 * 1024) });
    const big = await send({ headers: call.headers, body: call.body });
    assert.equal(big.status, 413);
    const header = await send({
      headers: { ...call.headers, 'x-huge': 'y'.repeat(64 * 1024) },
      body: '{}',
    }).catch((err: Error) => ({ status: -1, body: err.message }) as RawResponse);
    assert.ok(header.status === 431 || header.status === -1, `status ${header.status}`);
    await aliceIsServed();
  });

  it('invalid UTF-8 in the body is refused as a parse error', async () => {
    const call = modernCall(4, { text: 'PLACEHOLDER' });
    const [head, tail] = call.body.split('PLACEHOLDER') as [string, string];
    const body = Buffer.concat([Buffer.from(head), Buffer.from([0xff, 0xfe, 0xc3, 0x28]), Buffer.from(tail)]);
    const res = await send({ headers: call.headers, body });
    assert.equal(
      res.json?.error?.code,
      -32700,
      `FINDING: invalid UTF-8 is accepted (decoded with U+FFFD replacement) and forwarded: ${res.body.slice(0, 160)}`,
    );
    await aliceIsServed();
  });

  it('garbage and non-JSON bodies are refused with -32700', async () => {
    for (const body of [Buffer.from([0, 1, 2, 0xff]), '{"jsonrpc":"2.0",', 'null', '"just a string"']) {
      const res = await send({ headers: modernCall(5, {}).headers, body });
      assert.equal(res.status, 400, `status for ${String(body)}`);
      assert.ok(res.json?.error && res.json.error.code <= -32600, res.body);
    }
    await aliceIsServed();
  });
});

describe("another identity's session", () => {
  it("mallory presenting alice's Mcp-Session-Id is refused for POST, GET and DELETE; alice keeps it", async () => {
    const { session, headers } = await openLegacySession('alice');
    const list = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} });
    for (const method of ['POST', 'GET', 'DELETE']) {
      const res = await send({
        who: mallory,
        method,
        headers: method === 'GET' ? { ...headers, accept: 'text/event-stream' } : headers,
        ...(method === 'POST' ? { body: list } : {}),
      });
      assert.equal(res.status, 404, `${method}: ${res.body}`);
      assert.equal(res.json?.error?.data?.airlock, 'AIRLOCK_SESSION_NOT_FOUND');
    }
    const own = await send({ headers, body: list });
    assert.equal(own.status, 200);
    assert.match(own.body, /fixture\.echo/);
    assert.ok(mcp.sessions().some((s) => s.id === session && s.identity === 'alice'));
    await send({ method: 'DELETE', headers });
  });
});

describe('DNS rebinding at /mcp', () => {
  it('a foreign Host or Origin is refused with 403 on both paths; the tenant host is served', async () => {
    const call = modernCall(6, { text: 'rebinding' });
    for (const port of [tunnelPort, directPort]) {
      const foreign: Record<string, string>[] = [
        { host: 'evil.example' },
        { host: `evil.example:${port}` },
        { host: '127.0.0.1' },
        { origin: 'https://evil.example' },
        { origin: 'null' },
      ];
      for (const headers of foreign) {
        const res = await send({ port, headers: { ...call.headers, ...headers }, body: call.body });
        assert.equal(res.status, 403, JSON.stringify(headers));
        assert.equal(res.json?.error?.data?.airlock, 'AIRLOCK_HOST_NOT_ALLOWED');
      }
      const ok = await send({
        port,
        headers: { ...call.headers, origin: `https://${TENANT_HOST}` },
        body: call.body,
      });
      assert.equal(ok.status, 200);
    }
  });
});
