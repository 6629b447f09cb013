/**
 * `caFile` of an HTTP upstream in connector.yaml: the upstream's private CA is trusted for that upstream
 * only. Real HTTPS MCP upstream (SDK v2 server, certificate from a CA made in the test), the real config
 * loader and the connector's upstream catalog: the upstream with the CA file serves calls, the same URL
 * without it never becomes ready, and a CA file that cannot be read or holds no certificate is a config
 * error naming the file and the upstream.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { createMcpHandler, McpServer } from '@modelcontextprotocol/server';
import { pino } from 'pino';
import { z } from 'zod';
import { CloseStack } from '../../src/connector/close-stack.js';
import { loadConnectorContext } from '../../src/connector/connector-context.js';
import { startUpstreamCatalog } from '../../src/connector/connector-upstreams.js';
import { AirlockError } from '../../src/errors/airlock-error.js';
import { createCertificateAuthority, issueServerCertificate } from '../../src/identity/pki.js';

const log = pino({ level: 'silent' });

async function httpsUpstream(): Promise<{ server: Server; url: string; caPem: string }> {
  const ca = await createCertificateAuthority({ commonName: 'upstream private CA' });
  const cert = await issueServerCertificate(ca, {
    commonName: 'erp',
    dnsNames: ['erp.internal'],
    ipAddresses: ['127.0.0.1'],
  });
  const handle = toNodeHandler(
    createMcpHandler(() => {
      const server = new McpServer({ name: 'private-erp', version: '1.0.0' });
      server.registerTool('echo', { inputSchema: z.object({ text: z.string() }) }, async ({ text }) => ({
        content: [{ type: 'text', text }],
      }));
      return server;
    }),
  );
  const server = createServer({ key: cert.keyPem, cert: cert.certPem }, (req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`,
    caPem: ca.certPem,
  };
}

describe('an HTTP upstream with its own caFile', () => {
  let dir: string;
  let upstream: Awaited<ReturnType<typeof httpsUpstream>>;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airlock-ca-file-'));
    upstream = await httpsUpstream();
    await writeFile(join(dir, 'erp-ca.pem'), upstream.caPem);
    await writeFile(join(dir, 'not-a-ca.pem'), 'hello');
  });

  after(async () => {
    upstream.server.closeAllConnections();
    await new Promise((resolve) => upstream.server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  /** Loads a connector.yaml with `upstreams` through the real loader and starts the catalog. */
  async function catalogOf(upstreams: string) {
    const file = join(dir, 'connector.yaml');
    await writeFile(file, `dataDir: ./data\nupstreams:\n${upstreams}`);
    const ctx = await loadConnectorContext(file);
    const opened = new CloseStack();
    try {
      return { catalog: await startUpstreamCatalog(ctx, log, opened), opened };
    } catch (err) {
      await opened.close();
      throw err;
    }
  }

  it('trusts the CA for that upstream only', async () => {
    const { catalog, opened } = await catalogOf(
      `  erp:\n    url: ${upstream.url}\n    caFile: ./erp-ca.pem\n  plain:\n    url: ${upstream.url}\n`,
    );
    try {
      const states = Object.fromEntries(catalog.status().map((s) => [s.name, s.state]));
      assert.equal(states.erp, 'ready');
      assert.notEqual(states.plain, 'ready', 'the system roots do not know the private CA');
      const result = await catalog.callTool({ name: 'erp.echo', arguments: { text: 'over TLS' } });
      assert.deepEqual(result.content, [{ type: 'text', text: 'over TLS' }]);
    } finally {
      await opened.close();
    }
  });

  it('refuses a CA file that cannot be read or holds no certificate, naming the upstream and the file', async () => {
    for (const caFile of ['./missing.pem', './not-a-ca.pem']) {
      await assert.rejects(catalogOf(`  erp:\n    url: ${upstream.url}\n    caFile: ${caFile}\n`), (err) => {
        assert.ok(err instanceof AirlockError);
        assert.equal(err.code, 'AIRLOCK_CONFIG_INVALID');
        assert.match(err.message, /connector\.yaml: upstreams\.erp\.caFile: /);
        assert.ok(err.message.includes(caFile));
        return true;
      });
    }
  });

  it('is refused on a stdio upstream', async () => {
    await assert.rejects(
      catalogOf('  erp:\n    command: node\n    caFile: ./erp-ca.pem\n'),
      /"headers" and "caFile" only apply to an HTTP upstream/,
    );
  });
});
