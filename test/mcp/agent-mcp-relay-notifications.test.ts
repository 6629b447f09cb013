/**
 * Logging and resource subscriptions through the gateway, end to end over real TLS with real SDK agents
 * and upstreams of both eras (test/mcp/relayed-agents.ts): levels per 2025-11-25 session and per
 * 2026-07-28 request, subscribe/unsubscribe in sessions and `subscriptions/listen` held at the upstreams.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LOG_LEVEL_META_KEY } from '@modelcontextprotocol/client';
import { until } from '../fixtures/wait-until.js';
import { type RelayWorld, text, useRelayWorld } from './relayed-agents.js';

const world = useRelayWorld();
const serve = (options?: Parameters<RelayWorld['serve']>[0]) => world().serve(options);
const agent = (...args: Parameters<RelayWorld['agent']>) => world().agent(...args);

describe('gateway relay: logging', () => {
  it('2025-11-25: logging/setLevel passes the pipeline, is kept per session and filters relayed logs', async () => {
    const { url } = await serve();
    const a = await agent(url, 'legacy', world().alice);
    const quiet = await agent(url, 'legacy', world().bob);
    const caps = a.client.getServerCapabilities();
    assert.ok(caps?.logging, 'the gateway advertises logging');
    const before = world().seen.length;
    assert.deepEqual(await a.client.setLoggingLevel('warning'), {});
    assert.ok(world().seen.slice(before).includes('logging/setLevel'));
    for (const up of ['modern', 'legacy']) {
      const count = a.logs.length;
      assert.equal(text(await a.client.callTool({ name: `${up}.chatty`, arguments: {} })), 'chatted');
      // Relayed logs arrive before the answer, filtered by this session's level.
      assert.deepEqual(
        a.logs.slice(count).map((l) => [l.level, l.data, l.logger]),
        [
          ['warning', 'warning message', 'chatty'],
          ['error', 'error message', 'chatty'],
        ],
        up,
      );
    }
    // A session without a level gets everything a 2026-07-28 upstream sends for its own calls only.
    assert.equal(quiet.logs.length, 0);
    await quiet.client.callTool({ name: 'modern.chatty', arguments: {} });
    assert.deepEqual(
      quiet.logs.map((l) => l.level),
      ['debug', 'info', 'warning', 'error'],
    );
    assert.equal(a.logs.length, 4);
  });

  it('2026-07-28: the level of each request (envelope) reaches the upstream; none means no logs', async () => {
    const { url } = await serve();
    const a = await agent(url, 'auto', world().alice);
    await a.client.callTool({ name: 'modern.chatty', arguments: {} });
    assert.equal(a.logs.length, 0);
    await a.client.callTool({
      name: 'modern.chatty',
      arguments: {},
      _meta: { [LOG_LEVEL_META_KEY]: 'info' },
    });
    assert.deepEqual(
      a.logs.map((l) => l.level),
      ['info', 'warning', 'error'],
    );
  });
});

describe('gateway relay: resource subscriptions', () => {
  it('2025-11-25 sessions: subscribe/unsubscribe pass the pipeline, reach the owning upstream, updates reach subscribers', async () => {
    const { url } = await serve();
    const a = await agent(url, 'legacy', world().alice);
    const other = await agent(url, 'legacy', world().bob);
    assert.equal(a.client.getServerCapabilities()?.resources?.subscribe, true);
    const before = world().seen.length;
    for (const uri of ['legacy://doc/1', 'legacy://doc/2', 'modern://doc/1'])
      assert.deepEqual(await a.client.subscribeResource({ uri }), {});
    assert.ok(world().seen.slice(before).includes('resources/subscribe'));
    const [modern, legacy] = world().catalog.upstreams;
    assert.deepEqual(legacy?.subscribedResources().sort(), ['legacy://doc/1', 'legacy://doc/2']);
    assert.deepEqual(modern?.subscribedResources(), ['modern://doc/1']);

    await a.client.callTool({ name: 'legacy.touch', arguments: { uri: 'legacy://doc/1' } });
    await a.client.callTool({ name: 'modern.touch', arguments: { uri: 'modern://doc/1' } });
    await until('both updates', () => a.updated.length === 2);
    assert.deepEqual([...a.updated].sort(), ['legacy://doc/1', 'modern://doc/1']);

    await a.client.unsubscribeResource({ uri: 'legacy://doc/1' });
    assert.ok(world().seen.includes('resources/unsubscribe'));
    assert.deepEqual(legacy?.subscribedResources(), ['legacy://doc/2']);
    a.updated.length = 0;
    await a.client.callTool({ name: 'legacy.touch', arguments: { uri: 'legacy://doc/1' } });
    await a.client.callTool({ name: 'legacy.touch', arguments: { uri: 'legacy://doc/2' } });
    await until('the doc/2 update', () => a.updated.includes('legacy://doc/2'));
    assert.deepEqual(a.updated, ['legacy://doc/2']);
    assert.deepEqual(other.updated, []);

    await assert.rejects(a.client.subscribeResource({ uri: 'nowhere://x' }), /nowhere:\/\/x/);
    // Ending the session releases its subscriptions at the upstreams.
    await a.transport.terminateSession();
    await a.client.close();
    await until(
      'subscriptions released',
      () => legacy?.subscribedResources().length === 0 && modern?.subscribedResources().length === 0,
    );
  });

  it('2026-07-28 agents: subscriptions/listen with resourceSubscriptions, held at the upstreams while open', async () => {
    const { url } = await serve();
    const a = await agent(url, 'auto', world().alice);
    const listen = await a.client.listen({ resourceSubscriptions: ['modern://doc/2', 'legacy://doc/1'] });
    assert.deepEqual(listen.honoredFilter.resourceSubscriptions, ['modern://doc/2', 'legacy://doc/1']);
    const [modern, legacy] = world().catalog.upstreams;
    assert.deepEqual(modern?.subscribedResources(), ['modern://doc/2']);
    assert.deepEqual(legacy?.subscribedResources(), ['legacy://doc/1']);
    await a.client.callTool({ name: 'modern.touch', arguments: { uri: 'modern://doc/2' } });
    await a.client.callTool({ name: 'legacy.touch', arguments: { uri: 'legacy://doc/1' } });
    await until('both updates', () => a.updated.length === 2);
    assert.deepEqual([...a.updated].sort(), ['legacy://doc/1', 'modern://doc/2']);
    await listen.close();
    await until(
      'subscriptions released',
      () => modern?.subscribedResources().length === 0 && legacy?.subscribedResources().length === 0,
    );
  });
});
