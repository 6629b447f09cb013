/**
 * Unsolicited upstream log messages (sent outside any agent request) reach the 2025-11-25 sessions that
 * asked for logs at that level and were let through to that upstream — and no other session. The
 * upstream is the reference everything-server, whose `toggle-simulated-logging` logs every 5 s.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { gatewayStages } from '../../src/gateway/gateway-stages.js';
import { authInfoForIdentity } from '../../src/mcp/agent-auth-info.js';
import type { AgentMcpEndpoint } from '../../src/mcp/agent-mcp-endpoint.js';
import { until } from '../fixtures/wait-until.js';
import { AGENT, type EndpointUnderTest, everythingUpstream, startEndpoint } from './endpoint-under-test.js';

let t: EndpointUnderTest;
let mcp: AgentMcpEndpoint;

before(async () => {
  t = await startEndpoint([everythingUpstream()], ({ store }) => ({
    stages: gatewayStages({ identities: store.identities }),
  }));
  mcp = t.mcp;
});

after(() => t.close());

async function agent(name: string): Promise<{ client: Client; logs: string[] }> {
  const client = new Client({ name, version: '1' }, { versionNegotiation: { mode: 'legacy' } });
  const logs: string[] = [];
  client.setNotificationHandler('notifications/message', (n) => {
    logs.push(String(n.params.data));
  });
  await client.connect(
    new StreamableHTTPClientTransport(new URL('http://gateway.test/mcp'), {
      fetch: (u, init) => mcp.fetch(new Request(u, init), { authInfo: authInfoForIdentity(AGENT) }),
    }),
  );
  return { client, logs };
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
      await until('two unsolicited log messages', () => asked.logs.length >= before + 2);
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
