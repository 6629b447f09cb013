/**
 * Unsolicited upstream log messages (sent outside any agent request) reach the 2025-11-25 sessions that
 * asked for logs at that level and were let through to that upstream — and no other session. The
 * upstream is the reference everything-server, whose `toggle-simulated-logging` logs every 5 s.
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
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';

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
  const pkg = createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/package.json');
  const entry = join(dirname(pkg), 'dist', 'index.js');
  catalog = UpstreamCatalog.fromConfig([
    {
      name: 'everything',
      kind: 'stdio',
      command: process.execPath,
      args: [entry, 'stdio'],
      protocol: '2025-11-25',
    },
  ]);
  await catalog.start();
  mcp = new AgentMcpEndpoint({ catalog, stages: gatewayStages({ identities: store.identities }) });
});

after(async () => {
  await mcp.close();
  await catalog.close();
  await store.close();
});

async function agent(name: string): Promise<{ client: Client; logs: string[] }> {
  const client = new Client({ name, version: '1' }, { versionNegotiation: { mode: 'legacy' } });
  const logs: string[] = [];
  client.setNotificationHandler('notifications/message', (n) => {
    logs.push(String(n.params.data));
  });
  await client.connect(
    new StreamableHTTPClientTransport(new URL('http://gateway.test/mcp'), {
      fetch: (u, init) => mcp.fetch(new Request(u, init), { authInfo: authInfoForIdentity(who) }),
    }),
  );
  return { client, logs };
}

async function until(what: string, check: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('unsolicited upstream logs', () => {
  it('reach the sessions that asked and used the upstream, no other', async () => {
    const asked = await agent('asked'); // sets a level and uses the upstream
    const neverUsed = await agent('never-used'); // sets a level, never called the upstream
    const noLevel = await agent('no-level'); // used the upstream, asked for no logs
    try {
      await asked.client.setLoggingLevel('debug');
      await neverUsed.client.setLoggingLevel('debug');
      await noLevel.client.callTool({ name: 'everything.echo', arguments: { message: 'hi' } });
      const started = await asked.client.callTool({
        name: 'everything.toggle-simulated-logging',
        arguments: {},
      });
      assert.match(JSON.stringify(started.content), /Started simulated/);
      const before = asked.logs.length;
      await until('two unsolicited log messages', () => asked.logs.length >= before + 2, 20_000);
      assert.match(asked.logs.at(-1) ?? '', /-level message|level-message/);
      assert.deepEqual(neverUsed.logs, []);
      assert.deepEqual(noLevel.logs, []);
      await asked.client.callTool({ name: 'everything.toggle-simulated-logging', arguments: {} });
    } finally {
      await asked.client.close();
      await neverUsed.client.close();
      await noLevel.client.close();
    }
  });
});
