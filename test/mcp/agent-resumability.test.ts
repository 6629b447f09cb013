/**
 * SSE resumability on 2025-11-25 agent sessions: event ids and `retry:` on the streams, replay of what
 * came after `Last-Event-ID` on a reconnect (GET), ids of another session or made up refused, and the
 * event store's bounds (events per stream, bytes, age).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { gatewayStages } from '../../src/gateway/gateway-stages.js';
import { authInfoForIdentity } from '../../src/mcp/agent-auth-info.js';
import { SessionEventStore } from '../../src/mcp/agent-event-store.js';
import type { AgentMcpEndpoint } from '../../src/mcp/agent-mcp-endpoint.js';
import { AGENT, type EndpointUnderTest, fixtureUpstream, startEndpoint } from './endpoint-under-test.js';

const URL_MCP = 'http://gateway.test/mcp';

let t: EndpointUnderTest;
let mcp: AgentMcpEndpoint;

before(async () => {
  t = await startEndpoint([fixtureUpstream()], ({ store }) => ({
    stages: gatewayStages({ identities: store.identities }),
    resumability: { retryMs: 750 },
  }));
  mcp = t.mcp;
});

after(() => t.close());

const send = (init: RequestInit) =>
  mcp.fetch(new Request(URL_MCP, init), { authInfo: authInfoForIdentity(AGENT) });

async function session(): Promise<{ client: Client; id: string }> {
  const transport = new StreamableHTTPClientTransport(new URL(URL_MCP), {
    fetch: (u, init) => mcp.fetch(new Request(u, init), { authInfo: authInfoForIdentity(AGENT) }),
  });
  const client = new Client({ name: 'resumer', version: '1' }, { versionNegotiation: { mode: 'legacy' } });
  await client.connect(transport);
  assert.ok(transport.sessionId);
  return { client, id: transport.sessionId };
}

const headers = (sessionId: string, extra: Record<string, string> = {}) => ({
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'mcp-session-id': sessionId,
  'mcp-protocol-version': '2025-11-25',
  ...extra,
});

/** `id:` of each SSE event with data, in order, and the data. */
function events(text: string): { id: string | undefined; data: string }[] {
  return text
    .split('\n\n')
    .filter((block) => /^data: ./m.test(block))
    .map((block) => ({ id: /^id: (.*)$/m.exec(block)?.[1], data: /^data: (.*)$/m.exec(block)?.[1] ?? '' }));
}

describe('SSE resumability on 2025-11-25 sessions', () => {
  it('numbers events, sends retry:, and replays what came after Last-Event-ID', async () => {
    const a = await session();
    const b = await session();
    try {
      const call = {
        jsonrpc: '2.0',
        id: 7,
        method: 'tools/call',
        params: { name: 'fixture.progress', arguments: { steps: 3 }, _meta: { progressToken: 'p' } },
      };
      const response = await send({ method: 'POST', headers: headers(a.id), body: JSON.stringify(call) });
      const text = await response.text();
      assert.match(text, /^retry: 750$/m);
      const seen = events(text);
      assert.ok(seen.length >= 4, text); // 3 progress + the result
      assert.ok(
        seen.every((e) => e.id !== undefined),
        text,
      );
      assert.match(seen.at(-1)?.data ?? '', /"id":7/);

      // The stream dropped after the first progress event: the agent resumes from there.
      const first = seen[0]?.id ?? '';
      const resumed = await send({ method: 'GET', headers: headers(a.id, { 'last-event-id': first }) });
      assert.equal(resumed.status, 200);
      const replayed = events(await resumed.text());
      assert.deepEqual(
        replayed.map((e) => e.id),
        seen.slice(1).map((e) => e.id),
      );
      assert.match(replayed.at(-1)?.data ?? '', /"id":7/);

      // Another session cannot replay a's events, and made-up ids replay nothing.
      const foreign = await send({ method: 'GET', headers: headers(b.id, { 'last-event-id': first }) });
      const foreignText = await foreign.text();
      assert.equal(foreign.status, 400);
      assert.doesNotMatch(foreignText, /progress/);
      const madeUp = await send({ method: 'GET', headers: headers(a.id, { 'last-event-id': '../../x' }) });
      assert.equal(madeUp.status, 400);
    } finally {
      await a.client.close();
      await b.client.close();
    }
  });

  it('keeps the event store within its bounds', async () => {
    let now = 0;
    const store = new SessionEventStore({ maxEventsPerStream: 3, maxBytes: 400, ttlMs: 1000 }, () => now);
    const msg = (n: number) => ({ jsonrpc: '2.0' as const, method: 'notifications/message', params: { n } });
    const ids: string[] = [];
    for (let n = 0; n < 5; n++) ids.push(await store.storeEvent('s1', msg(n)));
    // Per stream: only the last 3 are kept.
    assert.equal(await store.getStreamIdForEventId(ids[0] ?? ''), undefined);
    const replay: string[] = [];
    await store.replayEventsAfter(ids[2] ?? '', { send: async (id) => void replay.push(id) });
    assert.deepEqual(replay, [ids[3], ids[4]]);
    // Bytes: a large event pushes the oldest out.
    await store.storeEvent('s2', { jsonrpc: '2.0', method: 'x', params: { pad: 'p'.repeat(300) } });
    assert.ok(store.bytes <= 400, String(store.bytes));
    assert.equal(await store.getStreamIdForEventId(ids[2] ?? ''), undefined);
    // Age: everything expires.
    now += 1001;
    assert.equal(await store.getStreamIdForEventId(ids[4] ?? ''), undefined);
    assert.equal(store.bytes, 0);
  });
});
