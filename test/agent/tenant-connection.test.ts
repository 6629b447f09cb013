import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { CallToolResult } from '@modelcontextprotocol/client';
import {
  connectToTenant,
  createTenantFetch,
  loadTenantConnection,
  parseConnectTarget,
  type TenantConnection,
  TenantConnectionError,
} from '../../src/agent/index.js';
import {
  createTenantPki,
  startTlsMcpServer,
  type TenantPki,
  type TlsMcpServer,
  tenantConnectionTo,
} from './tls-mcp-server.js';

/** Collects `code` / `message` along an error's cause chain. */
function causeChain(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e && depth < 8; depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    parts.push(`${String(code)}:${String(message)}`);
    e = (e as { cause?: unknown }).cause;
  }
  return parts.join(' <- ');
}

function text(result: CallToolResult): string {
  return result.content.map((c) => (c.type === 'text' ? c.text : '')).join('');
}

interface Rig {
  pki: TenantPki;
  other: TenantPki;
  server: TlsMcpServer;
  conn: TenantConnection;
}

/** The acme tenant's server and an agent connection to it, plus a foreign tenant's PKI; shared by the file. */
const rig = {} as Rig;

before(async () => {
  [rig.pki, rig.other] = await Promise.all([createTenantPki('acme'), createTenantPki('globex')]);
  rig.server = await startTlsMcpServer(rig.pki);
  rig.conn = tenantConnectionTo(rig.pki, rig.server);
});

after(async () => {
  await rig.server?.close();
});

describe('agent: pinned-TLS connection to a tenant', () => {
  test('connectToTenant works through connectTo with SNI and Host from the URL (2026 era by default)', async () => {
    const before = rig.server.seen.length;
    const client = await connectToTenant(rig.conn, { name: 'claims-bot', version: '1.0.0' });
    try {
      assert.equal(client.getProtocolEra(), 'modern');
      const { tools } = await client.listTools();
      assert.ok(tools.some((t) => t.name === 'echo'));
      const echoed = await client.callTool({ name: 'echo', arguments: { text: 'ping' } });
      assert.deepEqual(echoed.structuredContent, { echoed: 'ping' });
      const who = await client.callTool({ name: 'whoami', arguments: {} });
      assert.equal(text(who), 'claims-bot');
    } finally {
      await client.close();
    }
    const requests = rig.server.seen.slice(before);
    assert.ok(requests.length >= 3);
    for (const r of requests) {
      assert.equal(r.servername, 'acme.localhost');
      assert.equal(r.host, `acme.localhost:${rig.server.port}`);
      assert.equal(r.clientCn, 'claims-bot');
    }
  });

  test('a new agent connects and calls on one TLS connection (undici gives a connection back a loop turn late)', async () => {
    const before = rig.server.connections;
    const client = await connectToTenant(rig.conn, { name: 'claims-bot', version: '1.0.0' });
    try {
      const echoed = await client.callTool({ name: 'echo', arguments: { text: 'ping' } });
      assert.deepEqual(echoed.structuredContent, { echoed: 'ping' });
      await client.callTool({ name: 'echo', arguments: { text: 'pong' } });
    } finally {
      await client.close();
    }
    assert.equal(rig.server.connections - before, 1, 'discover and both calls on the same connection');
  });

  test('the 2025 initialize handshake works too', async () => {
    const client = await connectToTenant(rig.conn, undefined, {
      client: { versionNegotiation: { mode: 'legacy' } },
    });
    try {
      assert.equal(client.getProtocolEra(), 'legacy');
      const result = await client.callTool({ name: 'echo', arguments: { text: 'legacy' } });
      assert.equal(text(result), 'legacy');
    } finally {
      await client.close();
    }
  });
});

describe('agent: pinned-TLS connection to a tenant: refusals', () => {
  test('a server certificate from another CA fails the TLS handshake', async () => {
    const before = rig.server.seen.length;
    await assert.rejects(connectToTenant({ ...rig.conn, caPem: rig.other.ca.certPem }), (err: unknown) => {
      assert.match(
        causeChain(err),
        /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|unable to verify|certificate/i,
      );
      return true;
    });
    assert.equal(rig.server.seen.length, before, 'no HTTP request reached the server');
  });

  test('the certificate must name the URL host, even when dialling 127.0.0.1', async () => {
    await assert.rejects(
      connectToTenant({ ...rig.conn, url: `https://globex.localhost:${rig.server.port}/mcp` }),
      (err: unknown) => {
        assert.match(causeChain(err), /ERR_TLS_CERT_ALTNAME_INVALID|does not match certificate/);
        return true;
      },
    );
  });

  test('without a client certificate the server refuses the connection', async () => {
    const before = rig.server.seen.length;
    const { certPem: _c, keyPem: _k, ...anonymous } = rig.conn;
    await assert.rejects(connectToTenant(anonymous), (err: unknown) => {
      assert.match(causeChain(err), /UND_ERR_SOCKET|ECONNRESET|EPIPE|certificate required|alert/i);
      return true;
    });
    assert.equal(rig.server.seen.length, before, 'no HTTP request reached the server');
  });

  test('a client certificate from another tenant CA is refused', async () => {
    const before = rig.server.seen.length;
    await assert.rejects(
      connectToTenant({ ...rig.conn, certPem: rig.other.agent.certPem, keyPem: rig.other.agent.keyPem }),
    );
    assert.equal(rig.server.seen.length, before);
  });
});

describe('agent: pinned-TLS connection to a tenant: fetch and configuration', () => {
  test('the tenant fetch only talks to the tenant origin and checks its inputs', async () => {
    const tenantFetch = createTenantFetch(rig.conn);
    try {
      await assert.rejects(tenantFetch('https://evil.example/mcp'), (err: unknown) => {
        assert.ok(err instanceof TenantConnectionError);
        assert.equal(err.code, 'AIRLOCK_AGENT_FOREIGN_ORIGIN');
        return true;
      });
      const res = await tenantFetch(rig.conn.url, {
        method: 'GET',
        headers: { accept: 'text/event-stream' },
      });
      assert.ok(res.status >= 200 && res.status < 500, `got an HTTP answer (${res.status})`);
      await res.body?.cancel();
    } finally {
      await tenantFetch.close();
    }
    await assert.rejects(
      tenantFetch(rig.conn.url),
      (err: unknown) => (err as TenantConnectionError).code === 'AIRLOCK_AGENT_CLOSED',
    );
    assert.throws(
      () => createTenantFetch({ ...rig.conn, url: 'http://acme.localhost/mcp' }),
      (err: unknown) => err instanceof TenantConnectionError && err.code === 'AIRLOCK_AGENT_URL_INVALID',
    );
    assert.throws(
      () => createTenantFetch({ ...rig.conn, keyPem: undefined }),
      (err: unknown) =>
        err instanceof TenantConnectionError && err.code === 'AIRLOCK_AGENT_CREDENTIALS_INVALID',
    );
  });

  test('loadTenantConnection reads PEM files and the connect target', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agent-conn-'));
    try {
      const files = { ca: join(dir, 'ca.pem'), cert: join(dir, 'agent.pem'), key: join(dir, 'agent.key') };
      writeFileSync(files.ca, rig.pki.ca.certPem);
      writeFileSync(files.cert, rig.pki.agent.certPem);
      writeFileSync(files.key, rig.pki.agent.keyPem);
      const loaded = await loadTenantConnection({
        url: rig.conn.url,
        caFile: files.ca,
        certFile: files.cert,
        keyFile: files.key,
        connect: `127.0.0.1:${rig.server.port}`,
      });
      assert.deepEqual(loaded, rig.conn);
      const client = await connectToTenant(loaded);
      try {
        assert.equal(text(await client.callTool({ name: 'whoami', arguments: {} })), 'claims-bot');
      } finally {
        await client.close();
      }
      await assert.rejects(
        loadTenantConnection({ url: rig.conn.url, caFile: join(dir, 'missing.pem') }),
        (err: unknown) =>
          err instanceof TenantConnectionError && err.code === 'AIRLOCK_AGENT_FILE_UNREADABLE',
      );
      await assert.rejects(
        loadTenantConnection({ url: rig.conn.url, caFile: files.ca, certFile: files.cert }),
        (err: unknown) =>
          err instanceof TenantConnectionError && err.code === 'AIRLOCK_AGENT_CREDENTIALS_INVALID',
      );
      await assert.rejects(
        loadTenantConnection({ url: rig.conn.url, caFile: files.ca, connect: 'nonsense' }),
        (err: unknown) =>
          err instanceof TenantConnectionError && err.code === 'AIRLOCK_AGENT_CONNECT_INVALID',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('agent: pinned-TLS connection to a tenant: connect targets', () => {
  test('parseConnectTarget accepts names, IPv4 and bracketed IPv6', () => {
    assert.deepEqual(parseConnectTarget('relay.example:443'), { host: 'relay.example', port: 443 });
    assert.deepEqual(parseConnectTarget('127.0.0.1:8443'), { host: '127.0.0.1', port: 8443 });
    assert.deepEqual(parseConnectTarget('[::1]:8443'), { host: '::1', port: 8443 });
    for (const bad of ['127.0.0.1', ':443', 'host:0', 'host:70000', '::1:443']) {
      assert.throws(() => parseConnectTarget(bad), TenantConnectionError, bad);
    }
  });
});
