/**
 * Server→client requests with any number in flight on one stdio upstream, end to end over real TLS
 * with real SDK agents of both eras: each upstream request reaches the agent whose call it serves and
 * no other. Upstream: test/mcp/relay-fixture-server.ts over stdio (SDK v2), once per era.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { gatewayStages } from '../../src/gateway/gateway-stages.js';
import { UpstreamCatalog } from '../../src/mcp/upstream-catalog.js';
import { type AgentCredentials, createTenantKit, type TenantKit } from '../fixtures/tenant-tls-kit.js';
import { barrier, type Closer, relayedAgent, resultText, serveGateway } from './relayed-agent-kit.js';

const FIXTURE = new URL('./relay-fixture-server.js', import.meta.url).pathname;
const NAMES = ['alice', 'bob', 'carol', 'dave'] as const;

let kit: TenantKit;
let catalog: UpstreamCatalog;
const creds = new Map<string, AgentCredentials>();
const closers: Closer[] = [];

before(async () => {
  kit = await createTenantKit();
  catalog = UpstreamCatalog.fromConfig([
    { name: 'modern', kind: 'stdio', command: process.execPath, args: [FIXTURE] },
    { name: 'legacy', kind: 'stdio', command: process.execPath, args: [FIXTURE], protocol: 'legacy' },
    // The same 2025-11-25 server, one request in flight at a time (`maxInFlight: 1`).
    {
      name: 'serial',
      kind: 'stdio',
      command: process.execPath,
      args: [FIXTURE],
      protocol: 'legacy',
      maxInFlight: 1,
    },
  ]);
  await catalog.start();
  assert.deepEqual(
    catalog.status().map((s) => `${s.name}:${s.era}`),
    ['modern:modern', 'legacy:legacy', 'serial:legacy'],
  );
  for (const name of NAMES) creds.set(name, await kit.issueAgent(name));
});

after(async () => {
  for (const close of closers.reverse()) await close().catch(() => {});
  await catalog.close();
  await kit.close();
});

function credsOf(name: string): AgentCredentials {
  const c = creds.get(name);
  assert.ok(c, name);
  return c;
}

/** Four 2025-11-25 agents call `tool` at once, each with its own message. */
async function fourLegacyAgentsAsk(tool: string) {
  const { url } = await serveGateway(
    kit,
    { catalog, stages: gatewayStages({ identities: kit.store.identities }) },
    closers,
  );
  const agents = await Promise.all(
    NAMES.map((name) => relayedAgent(kit, url, 'legacy', credsOf(name), closers)),
  );
  const results = await Promise.all(
    agents.map((a, i) => a.client.callTool({ name: tool, arguments: { message: `for ${NAMES[i]}` } })),
  );
  return { agents, results };
}

describe('server→client requests: any number in flight on one stdio upstream', () => {
  it('2026-07-28 stdio: four agents of both eras are asked at once, each only its own question', async () => {
    const { url } = await serveGateway(
      kit,
      { catalog, stages: gatewayStages({ identities: kit.store.identities }) },
      closers,
    );
    // Every agent holds its answer until all four questions are open: four relayed requests in flight.
    const elicitRound = barrier(NAMES.length);
    const sampleRound = barrier(NAMES.length);
    let round = elicitRound;
    const agents = await Promise.all(
      NAMES.map((name, i) =>
        relayedAgent(kit, url, i % 2 === 0 ? 'legacy' : 'auto', credsOf(name), closers, {
          gate: () => round(),
        }),
      ),
    );
    const names = await Promise.all(
      agents.map((a, i) =>
        a.client.callTool({ name: 'modern.ask_name', arguments: { message: `for ${NAMES[i]}` } }),
      ),
    );
    round = sampleRound;
    const samples = await Promise.all(
      agents.map((a, i) =>
        a.client.callTool({ name: 'modern.ask_model', arguments: { prompt: `prompt of ${NAMES[i]}` } }),
      ),
    );
    NAMES.forEach((name, i) => {
      assert.equal(resultText(names[i]), `hello ${name}-answer`);
      assert.equal(resultText(samples[i]), `model said: ${name}-answer says hi`);
      assert.deepEqual(agents[i]?.asked, [`elicit:for ${name}`, `sample:prompt of ${name}`], name);
    });
  });

  it('2025-11-25 stdio (no correlation on the pipe): concurrent agents never see another agent’s request', async () => {
    const { agents, results } = await fourLegacyAgentsAsk('legacy.ask_name');
    NAMES.forEach((name, i) => {
      const text = resultText(results[i]);
      // Each call either completes with its own agent's answer or is refused (ambiguous): never crossed.
      if (results[i]?.isError) assert.match(text, /agent requests are in flight|Airlock cannot relay/, name);
      else assert.equal(text, `hello ${name}-answer`);
      for (const q of agents[i]?.asked ?? []) assert.equal(q, `elicit:for ${name}`, `${name} saw ${q}`);
    });
    // Alone in flight, the same call is related exactly.
    const alone = await agents[0]?.client.callTool({
      name: 'legacy.ask_name',
      arguments: { message: 'for alice' },
    });
    assert.equal(resultText(alone), 'hello alice-answer');
  });
});

describe('server→client requests: an upstream with maxInFlight 1', () => {
  it('2025-11-25 stdio with maxInFlight 1: concurrent agents each get their own question, none refused', async () => {
    const { agents, results } = await fourLegacyAgentsAsk('serial.ask_name');
    NAMES.forEach((name, i) => {
      assert.equal(resultText(results[i]), `hello ${name}-answer`, name);
      assert.deepEqual(agents[i]?.asked, [`elicit:for ${name}`], name);
    });
  });
});
