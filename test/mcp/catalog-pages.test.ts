/**
 * Aggregated lists are paginated for agents (cursor over the aggregate, `listPageSize`): real SDK clients
 * of both eras walk the pages and get every tool once; forged cursors are -32602 AIRLOCK_CURSOR_INVALID.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import type { GatewayIdentity } from '../../src/gateway/gateway-context.js';
import { gatewayStages } from '../../src/gateway/gateway-stages.js';
import { authInfoForIdentity } from '../../src/mcp/agent-auth-info.js';
import { AgentMcpEndpoint } from '../../src/mcp/agent-mcp-endpoint.js';
import { listPage } from '../../src/mcp/catalog-pages.js';
import { UpstreamCatalog } from '../../src/mcp/upstream-catalog.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';

const FIXTURE = new URL('../fixtures/fixture-mcp-server.js', import.meta.url).pathname;
const who: GatewayIdentity = {
  name: 'alpha',
  spiffeId: 'spiffe://acme.localhost/agent/alpha',
  certSerial: 'a1',
  authenticatedBy: 'mtls',
};

let store: Store;
let catalog: UpstreamCatalog;
let mcp: AgentMcpEndpoint;

before(async () => {
  store = await openStore({ url: 'sqlite::memory:' });
  await store.identities.addIdentity({
    ...who,
    certFingerprint: 'ab'.repeat(32),
    notAfter: Date.now() + 86_400_000,
    createdAt: Date.now(),
  });
  catalog = UpstreamCatalog.fromConfig([
    { name: 'fixture', kind: 'stdio', command: process.execPath, args: [FIXTURE], protocol: 'legacy' },
  ]);
  await catalog.start();
  mcp = new AgentMcpEndpoint({
    catalog,
    stages: gatewayStages({ identities: store.identities }),
    listPageSize: 2,
  });
});

after(async () => {
  await mcp.close();
  await catalog.close();
  await store.close();
});

const isCursorRefusal = (err: Error & { code?: unknown }) =>
  err.code === -32602 || /AIRLOCK_CURSOR_INVALID|-32602/.test(err.message);

describe('pagination of aggregated lists', () => {
  it('walks every page in both eras; forged cursors are refused', async () => {
    const all = catalog.tools().map((t) => t.name);
    assert.ok(all.length > 4, 'the fixture serves several tools');
    for (const mode of ['legacy', 'auto'] as const) {
      const client = new Client({ name: `pager-${mode}`, version: '1' }, { versionNegotiation: { mode } });
      await client.connect(
        new StreamableHTTPClientTransport(new URL('http://gateway.test/mcp'), {
          fetch: (u, init) => mcp.fetch(new Request(u, init), { authInfo: authInfoForIdentity(who) }),
        }),
      );
      try {
        const seen: string[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          // A raw request: the SDK's `listTools` may follow the cursors itself (its cache).
          const page = (await client.request({
            method: 'tools/list',
            params: cursor === undefined ? {} : { cursor },
          })) as { tools: { name: string }[]; nextCursor?: string };
          assert.ok(page.tools.length <= 2, `${mode}: page of ${page.tools.length}`);
          seen.push(...page.tools.map((t) => t.name));
          cursor = page.nextCursor;
          pages++;
        } while (cursor !== undefined && pages < 100);
        assert.deepEqual(seen, all, mode);
        assert.equal(pages, Math.ceil(all.length / 2));
        const promptsCursor = Buffer.from('prompts:2').toString('base64url');
        for (const forged of ['nope', promptsCursor, Buffer.from('tools:99999').toString('base64url')]) {
          await assert.rejects(
            client.request({ method: 'tools/list', params: { cursor: forged } }),
            isCursorRefusal,
            `${mode}: ${forged}`,
          );
        }
      } finally {
        await client.close();
      }
    }
  });

  it('answers a list that fits in one page as it is', () => {
    assert.deepEqual(listPage('tools', [1, 2], undefined, 2), { tools: [1, 2] });
    assert.deepEqual(
      listPage('tools', [1, 2, 3], undefined, 2).nextCursor,
      Buffer.from('tools:2').toString('base64url'),
    );
  });
});
