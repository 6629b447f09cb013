/**
 * Transparency of the gateway beyond request/response, end to end over real TLS (tenant CA, client
 * certificates, AgentEndpoint) with real SDK agents of both eras and real upstreams of both eras
 * (test/mcp/relayed-agents.ts): server→client requests (sampling, elicitation, roots) reach the agent
 * whose call they serve, 2026-07-28 agents see `input_required`, parked calls expire or are cancelled,
 * and a request that cannot be attributed is refused. Logging and subscriptions:
 * agent-mcp-relay-notifications.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RELAY_STATE_PREFIX } from '../../src/mcp/relayed-call.js';
import { until } from '../fixtures/wait-until.js';
import { gate, type RelayWorld, text, useRelayWorld } from './relayed-agents.js';

const world = useRelayWorld();
const serve = (options?: Parameters<RelayWorld['serve']>[0]) => world().serve(options);
const agent = (...args: Parameters<RelayWorld['agent']>) => world().agent(...args);

describe('gateway relay: server→client requests', () => {
  for (const mode of ['legacy', 'auto'] as const) {
    const era = mode === 'legacy' ? '2025-11-25' : '2026-07-28';
    it(`reach a ${era} agent from upstreams of both eras (sampling, elicitation, roots, two rounds)`, async () => {
      const { url } = await serve();
      const a = await agent(url, mode, world().alice);
      assert.equal(a.client.getProtocolEra(), mode === 'legacy' ? 'legacy' : 'modern');
      for (const up of ['modern', 'legacy']) {
        const before = world().seen.filter((m) => m === 'tools/call').length;
        assert.equal(text(await a.client.callTool({ name: `${up}.ask_name`, arguments: {} })), 'hello alice');
        // The answer came back as a second round, which passed the pipeline too.
        assert.equal(world().seen.filter((m) => m === 'tools/call').length - before, 2);
        assert.equal(
          text(await a.client.callTool({ name: `${up}.ask_model`, arguments: { prompt: 'hi' } })),
          'model said: beep from alice',
        );
        assert.equal(
          text(await a.client.callTool({ name: `${up}.ask_roots`, arguments: {} })),
          'roots: file:///home/alice',
        );
        assert.equal(
          text(await a.client.callTool({ name: `${up}.ask_twice`, arguments: {} })),
          'name=alice; model said: beep from alice',
        );
      }
      assert.deepEqual(a.asked.filter((x) => x.startsWith('elicit')).length, 4);
    });
  }

  it('a 2026-07-28 agent sees input_required: the upstream’s own state, or a parked call bound to it', async () => {
    const { url, mcp } = await serve();
    const a = await agent(url, 'auto', world().alice, { manual: true });
    const ask = (name: string, extra: Record<string, unknown> = {}) =>
      a.client.request(
        { method: 'tools/call', params: { name, arguments: {}, ...extra } },
        { allowInputRequired: true },
      ) as Promise<Record<string, unknown>>;

    // 2026-07-28 upstream: its input_required passes through unchanged (stateless).
    const modern = await ask('modern.ask_name');
    assert.equal(modern.resultType, 'input_required');
    assert.deepEqual(Object.keys(modern.inputRequests as object), ['who']);
    assert.equal(mcp.callsAwaitingInput(), 0);

    // 2025-11-25 upstream: the pushed request parks the call, named by an Airlock requestState.
    const parked = await ask('legacy.ask_name');
    assert.equal(parked.resultType, 'input_required');
    const state = String(parked.requestState);
    assert.ok(state.startsWith(RELAY_STATE_PREFIX), state);
    const [key] = Object.keys(parked.inputRequests as object);
    assert.equal(mcp.callsAwaitingInput(), 1);

    // Another identity cannot resume it, nor can the state be used for another tool.
    const b = await agent(url, 'auto', world().bob, { manual: true });
    await assert.rejects(
      b.client.request(
        {
          method: 'tools/call',
          params: { name: 'legacy.ask_name', arguments: {}, requestState: state, inputResponses: {} },
        },
        { allowInputRequired: true },
      ),
      /does not name a call waiting for your input/,
    );
    await assert.rejects(
      ask('legacy.ask_model', { requestState: state, inputResponses: {} }),
      /does not name a call waiting for your input/,
    );
    const done = await ask('legacy.ask_name', {
      requestState: state,
      inputResponses: { [key as string]: { action: 'accept', content: { name: 'manual alice' } } },
    });
    assert.equal(text(done), 'hello manual alice');
    assert.equal(mcp.callsAwaitingInput(), 0);
  });
});

describe('gateway relay: server→client requests, parked calls', () => {
  it('a parked call nobody answers is cancelled after inputWaitMs', async () => {
    const { url, mcp } = await serve({ inputWaitMs: 150 });
    const a = await agent(url, 'auto', world().alice, { manual: true });
    const parked = (await a.client.request(
      { method: 'tools/call', params: { name: 'legacy.ask_name', arguments: {} } },
      { allowInputRequired: true },
    )) as Record<string, unknown>;
    assert.equal(mcp.callsAwaitingInput(), 1);
    await until('the parked call to expire', () => mcp.callsAwaitingInput() === 0);
    await assert.rejects(
      a.client.request(
        {
          method: 'tools/call',
          params: {
            name: 'legacy.ask_name',
            arguments: {},
            requestState: parked.requestState,
            inputResponses: {},
          },
        },
        { allowInputRequired: true },
      ),
      (err: Error & { data?: { airlock?: string } }) => err.data?.airlock === 'AIRLOCK_RELAY_STATE_UNKNOWN',
    );
  });

  it('a 2025-11-25 agent cancelling while it is asked cancels the parked call', async () => {
    const { url, mcp } = await serve();
    const { open: asked, wait: wasAsked } = gate();
    const { open: unblock, wait: blocked } = gate();
    const a = await agent(url, 'legacy', world().alice, {
      onElicit: async () => {
        asked();
        await blocked;
        return { name: 'too late' };
      },
    });
    const cancel = new AbortController();
    const call = a.client.callTool({ name: 'legacy.ask_name', arguments: {} }, { signal: cancel.signal });
    await wasAsked;
    assert.equal(mcp.callsAwaitingInput(), 1);
    cancel.abort();
    await assert.rejects(call);
    await until('the parked call to be cancelled', () => mcp.callsAwaitingInput() === 0);
    unblock();
  });
});

describe('gateway relay: server→client requests, attribution', () => {
  it('each agent answers only its own requests: two agents at once on one HTTP upstream', async () => {
    const { url } = await serve();
    const { open: release, wait: bothAsked } = gate();
    let waiting = 0;
    const slow = async (message: string, who: string) => {
      if (++waiting === 2) release();
      await bothAsked; // both elicitations are open at the same time
      return { username: `${who} (asked: ${message})`, email: `${who}@example.com` };
    };
    const a = await agent(url, 'legacy', world().alice, { onElicit: (m) => slow(m, 'alice') });
    const b = await agent(url, 'legacy', world().bob, { onElicit: (m) => slow(m, 'bob') });
    const [ra, rb] = await Promise.all([
      a.client.callTool({ name: 'http.test_elicitation', arguments: { message: 'for alice' } }),
      b.client.callTool({ name: 'http.test_elicitation', arguments: { message: 'for bob' } }),
    ]);
    assert.match(text(ra), /alice \(asked: for alice\)/);
    assert.match(text(rb), /bob \(asked: for bob\)/);
    assert.deepEqual(a.asked, ['elicit:for alice']);
    assert.deepEqual(b.asked, ['elicit:for bob']);
  });

  it('stdio 2025-11-25: a request while two calls are in flight is refused as ambiguous, never guessed', async () => {
    const { url } = await serve();
    const { open: release, wait: held } = gate();
    const { open: first, wait: firstAsked } = gate();
    const a = await agent(url, 'legacy', world().alice, {
      onElicit: async () => {
        first();
        await held;
        return { name: 'alice' };
      },
    });
    const b = await agent(url, 'legacy', world().bob);
    const pa = a.client.callTool({ name: 'legacy.ask_name', arguments: {} });
    await firstAsked;
    const rb = await b.client.callTool({ name: 'legacy.ask_name', arguments: {} });
    release();
    assert.equal(text(await pa), 'hello alice');
    // The upstream's own shim turns the refusal into a tool error naming the reason.
    assert.equal(rb.isError, true);
    assert.match(text(rb), /2 agent requests are in flight/);
    assert.deepEqual(b.asked, []);
  });

  it('refuses what the agent cannot answer, and everything with allowServerRequests: false', async () => {
    const { url } = await serve();
    const noElicit = await agent(url, 'legacy', world().alice, { capabilities: { sampling: {} } });
    const legacy = await noElicit.client.callTool({ name: 'legacy.ask_name', arguments: {} });
    assert.equal(legacy.isError, true);
    assert.match(text(legacy), /did not declare the 'elicitation' capability/);
    // Towards a 2026-07-28 upstream the capability is simply not declared for this request.
    await assert.rejects(
      noElicit.client.callTool({ name: 'modern.ask_name', arguments: {} }),
      /client capabilities do not declare the required capability/,
    );

    const off = await serve({ allowServerRequests: false });
    for (const mode of ['legacy', 'auto'] as const) {
      const a = await agent(off.url, mode, world().bob);
      await assert.rejects(
        a.client.callTool({ name: 'modern.ask_name', arguments: {} }),
        (err: Error & { data?: { airlock?: string } }) =>
          err.data?.airlock === 'AIRLOCK_SERVER_REQUESTS_DISABLED' && /allowServerRequests/.test(err.message),
      );
      const pushed = await a.client.callTool({ name: 'legacy.ask_name', arguments: {} });
      assert.equal(pushed.isError, true);
      assert.match(text(pushed), /allowServerRequests: false/);
      assert.deepEqual(a.asked, []);
    }
  });
});
