/**
 * What agents learn at connect time, with real SDK clients of both eras: capabilities as the upstreams
 * have them (nothing an upstream lacks), the methods of a missing capability answered "method not
 * found", and the upstreams' `instructions` merged after the gateway's own.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import type { GatewayIdentity } from '../../src/gateway/gateway-context.js';
import { gatewayStages } from '../../src/gateway/gateway-stages.js';
import { authInfoForIdentity } from '../../src/mcp/agent-auth-info.js';
import { AgentMcpEndpoint } from '../../src/mcp/agent-mcp-endpoint.js';
import { UpstreamCatalog } from '../../src/mcp/upstream-catalog.js';
import type { UpstreamConfig } from '../../src/mcp/upstream-config.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';

const FIXTURE = new URL('../fixtures/fixture-mcp-server.js', import.meta.url).pathname;
const who: GatewayIdentity = {
  name: 'alpha',
  spiffeId: 'spiffe://acme.localhost/agent/alpha',
  certSerial: 'a1',
  authenticatedBy: 'mtls',
};
const fixture: UpstreamConfig = {
  name: 'fixture',
  kind: 'stdio',
  command: process.execPath,
  args: [FIXTURE],
};
function everything(): UpstreamConfig {
  const pkg = createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/package.json');
  const entry = join(dirname(pkg), 'dist', 'index.js');
  return { name: 'everything', kind: 'stdio', command: process.execPath, args: [entry, 'stdio'] };
}

let store: Store;

before(async () => {
  store = await openStore({ url: 'sqlite::memory:' });
  await store.identities.addIdentity({
    ...who,
    certFingerprint: 'ab'.repeat(32),
    notAfter: Date.now() + 86_400_000,
    createdAt: Date.now(),
  });
});

after(async () => {
  await store.close();
});

async function withAgent(
  upstreams: UpstreamConfig[],
  mode: 'auto' | 'legacy',
  check: (client: Client) => Promise<void>,
): Promise<void> {
  const catalog = UpstreamCatalog.fromConfig(upstreams);
  await catalog.start();
  const mcp = new AgentMcpEndpoint({
    catalog,
    stages: gatewayStages({ identities: store.identities }),
    instructions: 'Calls pass through Airlock.',
  });
  const client = new Client({ name: `agent-${mode}`, version: '1' }, { versionNegotiation: { mode } });
  try {
    await client.connect(
      new StreamableHTTPClientTransport(new URL('http://gateway.test/mcp'), {
        fetch: (u, init) => mcp.fetch(new Request(u, init), { authInfo: authInfoForIdentity(who) }),
      }),
    );
    await check(client);
  } finally {
    await client.close();
    await mcp.close();
    await catalog.close();
  }
}

describe('capabilities and instructions from the upstreams', () => {
  it('advertises only what the upstreams have; the rest is "method not found"', async () => {
    for (const mode of ['legacy', 'auto'] as const) {
      await withAgent([fixture], mode, async (client) => {
        const caps = client.getServerCapabilities() ?? {};
        assert.ok(caps.tools && caps.prompts && caps.resources, `${mode}: ${JSON.stringify(caps)}`);
        assert.equal(caps.resources?.subscribe, false, mode);
        assert.equal(caps.logging, undefined, mode);
        assert.equal(caps.completions, undefined, mode);
        await assert.rejects(
          client.request({
            method: 'completion/complete',
            params: { ref: { type: 'ref/prompt', name: 'fixture.p' }, argument: { name: 'a', value: '' } },
          }),
          // 2025-11-25: a JSON-RPC error; 2026-07-28: the same error as the HTTP answer.
          (err: Error & { code?: unknown }) => err.code === -32601 || /"code":-32601/.test(err.message),
        );
        assert.ok((await client.listTools()).tools.some((t) => t.name === 'fixture.echo'));
        // No upstream gave instructions: the gateway's own only.
        assert.equal(client.getInstructions(), 'Calls pass through Airlock.');
      });
    }
  });

  it("merges the upstreams' instructions under their names and adds their capabilities", async () => {
    await withAgent([fixture, everything()], 'legacy', async (client) => {
      const text = client.getInstructions() ?? '';
      assert.ok(text.startsWith('Calls pass through Airlock.'), text.slice(0, 80));
      assert.match(text, /\n\n## everything\n/);
      const caps = client.getServerCapabilities() ?? {};
      assert.ok(caps.logging && caps.completions, JSON.stringify(caps));
      assert.equal(caps.resources?.subscribe, true);
    });
  });
});
