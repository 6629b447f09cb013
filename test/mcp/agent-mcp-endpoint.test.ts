/**
 * The MCP endpoint's own limits and session rules, driven through its web-standard `fetch` face with the
 * identity supplied as `authInfo` (what the TLS termination does), by real SDK clients.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import type { AuthInfo } from '@modelcontextprotocol/server';
import type { GatewayIdentity } from '../../src/gateway/gateway-context.js';
import { gatewayStages } from '../../src/gateway/gateway-stages.js';
import { authInfoForIdentity } from '../../src/mcp/agent-auth-info.js';
import { AgentMcpEndpoint } from '../../src/mcp/agent-mcp-endpoint.js';
import { UpstreamCatalog } from '../../src/mcp/upstream-catalog.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import { until } from '../fixtures/wait-until.js';

const FIXTURE = new URL('../fixtures/fixture-mcp-server.js', import.meta.url).pathname;
const URL_MCP = new URL('http://gateway.test/mcp');

let store: Store;
let catalog: UpstreamCatalog;
const identities: Record<string, GatewayIdentity> = {};

before(async () => {
  store = await openStore({ url: 'sqlite::memory:' });
  for (const [name, serial] of [
    ['alpha', 'a1'],
    ['beta', 'b2'],
  ] as const) {
    identities[name] = {
      name,
      spiffeId: `spiffe://acme.localhost/agent/${name}`,
      certSerial: serial,
      authenticatedBy: 'mtls',
    };
    await store.identities.addIdentity({
      name,
      spiffeId: `spiffe://acme.localhost/agent/${name}`,
      certSerial: serial,
      certFingerprint: 'ab'.repeat(32),
      notAfter: Date.now() + 86_400_000,
      createdAt: Date.now(),
    });
  }
  catalog = UpstreamCatalog.fromConfig([
    { name: 'fixture', kind: 'stdio', command: process.execPath, args: [FIXTURE], protocol: 'legacy' },
  ]);
  await catalog.start();
});

after(async () => {
  await catalog.close();
  await store.close();
});

function endpoint(options: Partial<ConstructorParameters<typeof AgentMcpEndpoint>[0]> = {}) {
  return new AgentMcpEndpoint({
    catalog,
    stages: gatewayStages({ identities: store.identities }),
    ...options,
  });
}

async function connect(mcp: AgentMcpEndpoint, who: GatewayIdentity | undefined, mode: 'auto' | 'legacy') {
  const authInfo = who ? authInfoForIdentity(who) : undefined;
  const client = new Client({ name: `t-${who?.name}`, version: '1' }, { versionNegotiation: { mode } });
  const transport = new StreamableHTTPClientTransport(URL_MCP, {
    fetch: (url, init) => mcp.fetch(new Request(url, init), { authInfo }),
  });
  await client.connect(transport);
  return { client, transport };
}

describe('AgentMcpEndpoint: identity and session limits', () => {
  it('refuses requests without an identity with 401', async () => {
    const mcp = endpoint();
    try {
      const response = await mcp.fetch(
        new Request(URL_MCP, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }),
      );
      assert.equal(response.status, 401);
      const body = (await response.json()) as { error: { code: number; data: { airlock: string } } };
      assert.equal(body.error.code, -32001);
      assert.equal(body.error.data.airlock, 'AIRLOCK_IDENTITY_MISSING');
      await assert.rejects(connect(mcp, undefined, 'legacy'));
    } finally {
      await mcp.close();
    }
  });

  it('limits legacy sessions (503 beyond maxSessions); modern requests are stateless and unaffected', async () => {
    const mcp = endpoint({ maxSessions: 1 });
    const alpha = identities.alpha as GatewayIdentity;
    const first = await connect(mcp, alpha, 'legacy');
    try {
      assert.equal(mcp.sessions().length, 1);
      await assert.rejects(connect(mcp, alpha, 'legacy'), /503|Too many sessions/);
      const modern = await connect(mcp, alpha, 'auto');
      assert.equal(modern.client.getProtocolEra(), 'modern');
      assert.ok((await modern.client.listTools()).tools.length > 0);
      await modern.client.close();
    } finally {
      await first.client.close();
      await mcp.close();
    }
  });

  it('closes idle legacy sessions; the old session id is then unknown (404)', async () => {
    const mcp = endpoint({ sessionIdleTimeoutMs: 200 });
    const { client, transport } = await connect(mcp, identities.alpha, 'legacy');
    try {
      const sessionId = transport.sessionId;
      assert.ok(sessionId);
      await until('the idle session closed', () => mcp.sessions().length === 0);
      const response = await mcp.fetch(
        new Request(URL_MCP, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            'mcp-session-id': sessionId,
            'mcp-protocol-version': '2025-11-25',
          },
          body: JSON.stringify({ jsonrpc: '2.0', id: 5, method: 'tools/list', params: {} }),
        }),
        { authInfo: authInfoForIdentity(identities.alpha as GatewayIdentity) },
      );
      assert.equal(response.status, 404);
    } finally {
      await client.close().catch(() => {});
      await mcp.close();
    }
  });
});

describe('AgentMcpEndpoint: closing sessions and body limits', () => {
  it('closeSessionsOf(identity) ends only that identity’s sessions', async () => {
    const mcp = endpoint();
    const a = await connect(mcp, identities.alpha, 'legacy');
    const b = await connect(mcp, identities.beta, 'legacy');
    try {
      assert.deepEqual(
        mcp
          .sessions()
          .map((s) => s.identity)
          .sort(),
        ['alpha', 'beta'],
      );
      assert.equal(await mcp.closeSessionsOf('alpha'), 1);
      assert.deepEqual(
        mcp.sessions().map((s) => s.identity),
        ['beta'],
      );
      assert.ok((await b.client.listTools()).tools.length > 0);
      await assert.rejects(a.client.listTools());
    } finally {
      await a.client.close().catch(() => {});
      await b.client.close();
      await mcp.close();
    }
  });

  it('refuses bodies over maxRequestBodyBytes (413) and serves only its path', async () => {
    const mcp = endpoint({ maxRequestBodyBytes: 1024 });
    const alpha = identities.alpha as GatewayIdentity;
    const http = createServer((req, res) => {
      (req as IncomingMessage & { auth?: AuthInfo }).auth = authInfoForIdentity(alpha);
      void mcp.nodeHandler(req, res);
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    try {
      const big = await fetch(`${base}/mcp`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'tools/list',
          params: { pad: 'x'.repeat(4096) },
        }),
      });
      assert.equal(big.status, 413);
      await big.arrayBuffer();
      const elsewhere = await fetch(`${base}/admin`);
      assert.equal(elsewhere.status, 404);
      await elsewhere.arrayBuffer();
    } finally {
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
      await mcp.close();
    }
  });
});
