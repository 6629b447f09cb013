/**
 * The direct path with the official SDK client (2026-07-28 era, over real HTTP): a plain `callTool` takes
 * it (seen on the `airlock:mcp:direct-call` diagnostics channel) and returns what the SDK path returns;
 * a call with a progress callback, a list and the era negotiation are served by the SDK path.
 */
import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import { after, before, describe, it } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { DIRECT_CALL_CHANNEL, type DirectCallMessage } from '../../src/mcp/direct-calls.js';
import { type EndpointPair, scriptedCatalog, startPair } from './direct-calls-rig.js';

const catalog = scriptedCatalog([{ name: 'echo', inputSchema: { type: 'object' } }], async (params) => ({
  content: [{ type: 'text', text: JSON.stringify(params.arguments ?? {}) }],
  structuredContent: { echoed: params.arguments ?? {} },
}));

async function modernClient(url: string): Promise<Client> {
  const client = new Client(
    { name: 'sdk-agent', version: '1.0.0' },
    { versionNegotiation: { mode: 'auto' } },
  );
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

describe('direct path with the official SDK client', () => {
  let pair: EndpointPair;
  const seen: DirectCallMessage[] = [];
  const onCall = (message: unknown) => seen.push(message as DirectCallMessage);
  before(async () => {
    diagnosticsChannel.subscribe(DIRECT_CALL_CHANNEL, onCall);
    pair = await startPair(catalog);
  });
  after(async () => {
    diagnosticsChannel.unsubscribe(DIRECT_CALL_CHANNEL, onCall);
    await pair.close();
  });

  it('a plain callTool takes the direct path and returns what the SDK path returns', async () => {
    const [direct, sdk] = await Promise.all([modernClient(pair.direct), modernClient(pair.sdk)]);
    try {
      assert.equal(direct.getNegotiatedProtocolVersion(), '2026-07-28');
      seen.length = 0;
      const viaDirect = await direct.callTool({ name: 'echo', arguments: { a: 1 } });
      assert.deepEqual(
        seen.map((m) => ({ identity: m.identity, tool: m.tool })),
        [{ identity: 'alpha', tool: 'echo' }],
      );
      const viaSdk = await sdk.callTool({ name: 'echo', arguments: { a: 1 } });
      assert.equal(seen.length, 1, 'the endpoint without the direct path never publishes');
      assert.deepEqual(viaDirect, viaSdk);
      assert.deepEqual(viaDirect.structuredContent, { echoed: { a: 1 } });
    } finally {
      await Promise.all([direct.close(), sdk.close()]);
    }
  });

  it('a call with a progress callback and a list go the SDK way on the same endpoint', async () => {
    const client = await modernClient(pair.direct);
    try {
      seen.length = 0;
      const tools = await client.listTools();
      assert.deepEqual(
        tools.tools.map((t) => t.name),
        ['echo'],
      );
      const result = await client.callTool({ name: 'echo', arguments: { b: 2 } }, { onprogress: () => {} });
      assert.deepEqual(result.structuredContent, { echoed: { b: 2 } });
      assert.equal(seen.length, 0, 'neither took the direct path');
    } finally {
      await client.close();
    }
  });
});
