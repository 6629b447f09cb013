/**
 * Transparency of the gateway beyond request/response, end to end over real TLS (tenant CA, client
 * certificates, AgentEndpoint) with real SDK agents of both eras and real upstreams of both eras:
 * server→client requests (sampling, elicitation, roots) reach the agent whose call they serve, logging
 * (levels per session / per request) and resource subscriptions (2025-11-25 sessions and 2026-07-28
 * `subscriptions/listen`). Upstreams: test/mcp/relay-fixture-server.ts over stdio, once per era, and the
 * conformance fixture over HTTP (2025-11-25, where correlation rides the request's SSE stream).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type CallToolResult,
  Client,
  type ClientCapabilities,
  LOG_LEVEL_META_KEY,
  type LoggingMessageNotificationParams,
  StreamableHTTPClientTransport,
} from '@modelcontextprotocol/client';
import { AgentEndpoint } from '../../src/connector/agent-endpoint.js';
import type { Stage } from '../../src/gateway/gateway-context.js';
import { gatewayStages } from '../../src/gateway/gateway-stages.js';
import { AgentMcpEndpoint } from '../../src/mcp/agent-mcp-endpoint.js';
import { RELAY_STATE_PREFIX } from '../../src/mcp/relayed-call.js';
import { UpstreamCatalog } from '../../src/mcp/upstream-catalog.js';
import { type ConformanceServer, startConformanceServer } from '../fixtures/conformance-server.js';
import {
  type AgentCredentials,
  createTenantKit,
  TENANT_HOST,
  type TenantKit,
  tlsFetch,
} from '../fixtures/tenant-tls-kit.js';

const FIXTURE = new URL('./relay-fixture-server.js', import.meta.url).pathname;
const ALL_CAPS: ClientCapabilities = { sampling: {}, elicitation: { form: {} }, roots: {} };
type Mode = 'legacy' | 'auto';

let kit: TenantKit;
let conformance: ConformanceServer;
let catalog: UpstreamCatalog;
let alice: AgentCredentials;
let bob: AgentCredentials;
const seen: string[] = [];
const closers: (() => Promise<unknown>)[] = [];

/**
 * Records the methods the gateway pipeline sees, and hands the next stage a derived context (as the
 * budget stage does with its timeout view): the relay must not depend on the context's identity.
 */
const recorder: Stage = (next) => async (ctx) => {
  seen.push(ctx.method);
  return next({ ...ctx });
};

/** An MCP endpoint behind a real TLS AgentEndpoint; closed after the file. */
async function serve(options: Partial<ConstructorParameters<typeof AgentMcpEndpoint>[0]> = {}) {
  const mcp = new AgentMcpEndpoint({
    catalog,
    stages: [...gatewayStages({ identities: kit.store.identities }), recorder],
    ...options,
  });
  const endpoint = new AgentEndpoint({
    tls: { keyPem: kit.server.keyPem, certPem: kit.server.certPem, caPem: kit.ca.certPem },
    identities: kit.store.identities,
    handler: mcp.nodeHandler,
  });
  const { port } = await endpoint.listen(0, '127.0.0.1');
  closers.push(
    () => endpoint.close(),
    () => mcp.close(),
  );
  return { mcp, url: new URL(`https://${TENANT_HOST}:${port}/mcp`) };
}

interface AgentOptions {
  capabilities?: ClientCapabilities;
  name?: string;
  manual?: boolean;
  onElicit?: (message: string) => Promise<Record<string, unknown>> | Record<string, unknown>;
}

/** A real SDK agent over TLS with its client certificate; answers elicitation, sampling and roots. */
async function agent(url: URL, mode: Mode, creds: AgentCredentials, options: AgentOptions = {}) {
  const capabilities = options.capabilities ?? ALL_CAPS;
  const client = new Client(
    { name: `agent-${creds.name}`, version: '1.0.0' },
    {
      versionNegotiation: { mode },
      capabilities,
      ...(options.manual ? { inputRequired: { autoFulfill: false } } : {}),
    },
  );
  const asked: string[] = [];
  const logs: LoggingMessageNotificationParams[] = [];
  const updated: string[] = [];
  if (capabilities.elicitation) {
    client.setRequestHandler('elicitation/create', async (r) => {
      const message = String((r.params as { message?: unknown }).message);
      asked.push(`elicit:${message}`);
      const content = options.onElicit
        ? await options.onElicit(message)
        : { name: options.name ?? creds.name };
      return { action: 'accept', content: content as Record<string, string> };
    });
  }
  if (capabilities.sampling) {
    client.setRequestHandler('sampling/createMessage', async () => {
      asked.push('sampling');
      return { role: 'assistant', content: { type: 'text', text: `beep from ${creds.name}` }, model: 'm' };
    });
  }
  if (capabilities.roots) {
    client.setRequestHandler('roots/list', async () => {
      asked.push('roots');
      return { roots: [{ uri: `file:///home/${creds.name}` }] };
    });
  }
  client.setNotificationHandler('notifications/message', (n) => {
    logs.push(n.params);
  });
  client.setNotificationHandler('notifications/resources/updated', (n) => {
    updated.push(n.params.uri);
  });
  const f = tlsFetch({ caPem: kit.ca.certPem, client: creds });
  closers.push(f.close);
  const transport = new StreamableHTTPClientTransport(url, { fetch: f.fetch });
  await client.connect(transport);
  closers.push(() => client.close());
  return { client, transport, asked, logs, updated };
}

function text(result: unknown): string {
  const content = ((result as CallToolResult).content ?? []) as { type: string; text?: string }[];
  return content.map((c) => c.text ?? '').join('');
}

async function eventually(what: string, check: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

before(async () => {
  kit = await createTenantKit();
  conformance = await startConformanceServer();
  catalog = UpstreamCatalog.fromConfig(
    [
      {
        name: 'modern',
        kind: 'stdio',
        command: process.execPath,
        args: [FIXTURE],
        env: { RELAY_FIXTURE_SCHEME: 'modern' },
      },
      {
        name: 'legacy',
        kind: 'stdio',
        command: process.execPath,
        args: [FIXTURE],
        env: { RELAY_FIXTURE_SCHEME: 'legacy' },
        protocol: 'legacy',
      },
      { name: 'http', kind: 'http', url: conformance.url, protocol: 'legacy' },
    ],
    { upstream: { backoff: { initialDelayMs: 50, maxDelayMs: 500 } } },
  );
  await catalog.start();
  assert.deepEqual(
    catalog.status().map((s) => `${s.name}:${s.state}:${s.era}`),
    ['modern:ready:modern', 'legacy:ready:legacy', 'http:ready:legacy'],
  );
  alice = await kit.issueAgent('alice');
  bob = await kit.issueAgent('bob');
});

after(async () => {
  for (const close of closers.reverse()) await close().catch(() => {});
  await catalog.close();
  await conformance.close();
  await kit.close();
});

describe('gateway relay: server→client requests', () => {
  for (const mode of ['legacy', 'auto'] as const) {
    const era = mode === 'legacy' ? '2025-11-25' : '2026-07-28';
    it(`reach a ${era} agent from upstreams of both eras (sampling, elicitation, roots, two rounds)`, async () => {
      const { url } = await serve();
      const a = await agent(url, mode, alice);
      assert.equal(a.client.getProtocolEra(), mode === 'legacy' ? 'legacy' : 'modern');
      for (const up of ['modern', 'legacy']) {
        const before = seen.filter((m) => m === 'tools/call').length;
        assert.equal(text(await a.client.callTool({ name: `${up}.ask_name`, arguments: {} })), 'hello alice');
        // The answer came back as a second round, which passed the pipeline too.
        assert.equal(seen.filter((m) => m === 'tools/call').length - before, 2);
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
    const a = await agent(url, 'auto', alice, { manual: true });
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
    const b = await agent(url, 'auto', bob, { manual: true });
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

  it('a parked call nobody answers is cancelled after inputWaitMs', async () => {
    const { url, mcp } = await serve({ inputWaitMs: 150 });
    const a = await agent(url, 'auto', alice, { manual: true });
    const parked = (await a.client.request(
      { method: 'tools/call', params: { name: 'legacy.ask_name', arguments: {} } },
      { allowInputRequired: true },
    )) as Record<string, unknown>;
    assert.equal(mcp.callsAwaitingInput(), 1);
    await eventually('the parked call to expire', () => mcp.callsAwaitingInput() === 0);
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
    let asked: () => void = () => {};
    const wasAsked = new Promise<void>((resolve) => {
      asked = resolve;
    });
    let unblock: () => void = () => {};
    const blocked = new Promise<void>((resolve) => {
      unblock = resolve;
    });
    const a = await agent(url, 'legacy', alice, {
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
    await eventually('the parked call to be cancelled', () => mcp.callsAwaitingInput() === 0);
    unblock();
  });

  it('each agent answers only its own requests: two agents at once on one HTTP upstream', async () => {
    const { url } = await serve();
    let release: () => void = () => {};
    const bothAsked = new Promise<void>((resolve) => {
      release = resolve;
    });
    let waiting = 0;
    const slow = async (message: string, who: string) => {
      if (++waiting === 2) release();
      await bothAsked; // both elicitations are open at the same time
      return { username: `${who} (asked: ${message})`, email: `${who}@example.com` };
    };
    const a = await agent(url, 'legacy', alice, { onElicit: (m) => slow(m, 'alice') });
    const b = await agent(url, 'legacy', bob, { onElicit: (m) => slow(m, 'bob') });
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
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let first: () => void = () => {};
    const firstAsked = new Promise<void>((resolve) => {
      first = resolve;
    });
    const a = await agent(url, 'legacy', alice, {
      onElicit: async () => {
        first();
        await held;
        return { name: 'alice' };
      },
    });
    const b = await agent(url, 'legacy', bob);
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
    const noElicit = await agent(url, 'legacy', alice, { capabilities: { sampling: {} } });
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
      const a = await agent(off.url, mode, bob);
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

describe('gateway relay: logging', () => {
  it('2025-11-25: logging/setLevel passes the pipeline, is kept per session and filters relayed logs', async () => {
    const { url } = await serve();
    const a = await agent(url, 'legacy', alice);
    const quiet = await agent(url, 'legacy', bob);
    const caps = a.client.getServerCapabilities();
    assert.ok(caps?.logging, 'the gateway advertises logging');
    const before = seen.length;
    assert.deepEqual(await a.client.setLoggingLevel('warning'), {});
    assert.ok(seen.slice(before).includes('logging/setLevel'));
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
    const a = await agent(url, 'auto', alice);
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
    const a = await agent(url, 'legacy', alice);
    const other = await agent(url, 'legacy', bob);
    assert.equal(a.client.getServerCapabilities()?.resources?.subscribe, true);
    const before = seen.length;
    for (const uri of ['legacy://doc/1', 'legacy://doc/2', 'modern://doc/1'])
      assert.deepEqual(await a.client.subscribeResource({ uri }), {});
    assert.ok(seen.slice(before).includes('resources/subscribe'));
    const [modern, legacy] = catalog.upstreams;
    assert.deepEqual(legacy?.subscribedResources().sort(), ['legacy://doc/1', 'legacy://doc/2']);
    assert.deepEqual(modern?.subscribedResources(), ['modern://doc/1']);

    await a.client.callTool({ name: 'legacy.touch', arguments: { uri: 'legacy://doc/1' } });
    await a.client.callTool({ name: 'modern.touch', arguments: { uri: 'modern://doc/1' } });
    await eventually('both updates', () => a.updated.length === 2);
    assert.deepEqual([...a.updated].sort(), ['legacy://doc/1', 'modern://doc/1']);

    await a.client.unsubscribeResource({ uri: 'legacy://doc/1' });
    assert.ok(seen.includes('resources/unsubscribe'));
    assert.deepEqual(legacy?.subscribedResources(), ['legacy://doc/2']);
    a.updated.length = 0;
    await a.client.callTool({ name: 'legacy.touch', arguments: { uri: 'legacy://doc/1' } });
    await a.client.callTool({ name: 'legacy.touch', arguments: { uri: 'legacy://doc/2' } });
    await eventually('the doc/2 update', () => a.updated.includes('legacy://doc/2'));
    assert.deepEqual(a.updated, ['legacy://doc/2']);
    assert.deepEqual(other.updated, []);

    await assert.rejects(a.client.subscribeResource({ uri: 'nowhere://x' }), /nowhere:\/\/x/);
    // Ending the session releases its subscriptions at the upstreams.
    await a.transport.terminateSession();
    await a.client.close();
    await eventually(
      'subscriptions released',
      () => legacy?.subscribedResources().length === 0 && modern?.subscribedResources().length === 0,
    );
  });

  it('2026-07-28 agents: subscriptions/listen with resourceSubscriptions, held at the upstreams while open', async () => {
    const { url } = await serve();
    const a = await agent(url, 'auto', alice);
    const listen = await a.client.listen({ resourceSubscriptions: ['modern://doc/2', 'legacy://doc/1'] });
    assert.deepEqual(listen.honoredFilter.resourceSubscriptions, ['modern://doc/2', 'legacy://doc/1']);
    const [modern, legacy] = catalog.upstreams;
    assert.deepEqual(modern?.subscribedResources(), ['modern://doc/2']);
    assert.deepEqual(legacy?.subscribedResources(), ['legacy://doc/1']);
    await a.client.callTool({ name: 'modern.touch', arguments: { uri: 'modern://doc/2' } });
    await a.client.callTool({ name: 'legacy.touch', arguments: { uri: 'legacy://doc/1' } });
    await eventually('both updates', () => a.updated.length === 2);
    assert.deepEqual([...a.updated].sort(), ['legacy://doc/1', 'modern://doc/2']);
    await listen.close();
    await eventually(
      'subscriptions released',
      () => modern?.subscribedResources().length === 0 && legacy?.subscribedResources().length === 0,
    );
  });
});
