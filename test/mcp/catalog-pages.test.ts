/**
 * Aggregated lists are paginated for agents (cursor over the aggregate, `listPageSize`): real SDK clients
 * of both eras walk the pages and get every tool once; forged cursors are -32602 AIRLOCK_CURSOR_INVALID.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { gatewayStages } from '../../src/gateway/gateway-stages.js';
import { authInfoForIdentity } from '../../src/mcp/agent-auth-info.js';
import type { AgentMcpEndpoint } from '../../src/mcp/agent-mcp-endpoint.js';
import { listPage } from '../../src/mcp/catalog-pages.js';
import type { UpstreamCatalog } from '../../src/mcp/upstream-catalog.js';
import { AGENT, type EndpointUnderTest, fixtureUpstream, startEndpoint } from './endpoint-under-test.js';

let t: EndpointUnderTest;
let catalog: UpstreamCatalog;
let mcp: AgentMcpEndpoint;

before(async () => {
  t = await startEndpoint([fixtureUpstream()], ({ store }) => ({
    stages: gatewayStages({ identities: store.identities }),
    listPageSize: 2,
  }));
  ({ catalog, mcp } = t);
});

after(() => t.close());

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
          fetch: (u, init) => mcp.fetch(new Request(u, init), { authInfo: authInfoForIdentity(AGENT) }),
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
