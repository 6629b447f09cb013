/**
 * The golden corpus (golden/corpus.json, with golden/policy.yaml) through every gateway stage in
 * production order (`gatewayStages` with audit, PII and the policy stages), over real TLS with real SDK
 * clients, on both MCP eras: a v2 client pinned to 2026-07-28 (modern, stateless) and a v2 client on
 * 2025-11-25 (legacy sessions). Each case states the expected outcome: allowed, refused (JSON-RPC code,
 * `data.airlock`, message), tool error, stripped fields, and the personal data that reached the agent
 * only as tokens (resolved in the tenant's vault).
 */
import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { type Client, ProtocolError } from '@modelcontextprotocol/client';
import { DECISION_CHANNEL, type DecisionMessage } from '../../src/gateway/decision-channel.js';
import { findTokens } from '../../src/pii/token-format.js';
import { type Era, type GatewayHarness, resultText, startGateway } from './gateway-harness.js';

const GOLDEN = new URL('../../../test/gateway/golden/', import.meta.url);

interface Expectation {
  outcome: 'allowed' | 'refused' | 'tool-error';
  code?: number;
  airlock?: string;
  message?: string | string[];
  text?: string;
  names?: string[];
  stripped?: string[];
  upstreamArguments?: Record<string, unknown>;
  structuredContent?: Record<string, unknown>;
  /** `CLASS:value` of every value the answer carries as a PII token (sorted, unique). */
  tokenized?: string[];
  /** Tokenized values the answer also carries raw elsewhere (free text the scanner does not read as PII). */
}

interface GoldenCase {
  name: string;
  identity: string;
  method: string;
  params: Record<string, unknown>;
  expect: Expectation;
}

const corpus = JSON.parse(readFileSync(new URL('corpus.json', GOLDEN), 'utf8')) as { cases: GoldenCase[] };
const policyYaml = readFileSync(new URL('policy.yaml', GOLDEN), 'utf8');

let gateway: GatewayHarness;
const decisions: DecisionMessage[] = [];
const onDecision = (message: unknown) => decisions.push(message as DecisionMessage);

before(async () => {
  gateway = await startGateway({ policyYaml, agents: ['claims-bot', 'reader-bot', 'stranger-bot'] });
  diagnosticsChannel.subscribe(DECISION_CHANNEL, onDecision);
});

after(async () => {
  diagnosticsChannel.unsubscribe(DECISION_CHANNEL, onDecision);
  await gateway.close();
});

async function send(
  client: Client,
  method: string,
  params: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  switch (method) {
    case 'tools/call':
      return (await client.callTool(
        params as { name: string; arguments?: Record<string, unknown> },
      )) as Record<string, unknown>;
    case 'tools/list':
      return (await client.listTools()) as Record<string, unknown>;
    case 'prompts/list':
      return (await client.listPrompts()) as Record<string, unknown>;
    case 'prompts/get':
      return (await client.getPrompt(
        params as { name: string; arguments?: Record<string, string> },
      )) as Record<string, unknown>;
    case 'resources/list':
      return (await client.listResources()) as Record<string, unknown>;
    case 'resources/templates/list':
      return (await client.listResourceTemplates()) as Record<string, unknown>;
    case 'resources/read':
      return (await client.readResource(params as { uri: string })) as Record<string, unknown>;
    default:
      throw new Error(`corpus method not supported: ${method}`);
  }
}

function listedNames(result: Record<string, unknown>): string[] | undefined {
  for (const [key, field] of [
    ['tools', 'name'],
    ['prompts', 'name'],
    ['resources', 'uri'],
    ['resourceTemplates', 'uriTemplate'],
  ] as const) {
    const items = result[key];
    if (Array.isArray(items)) return (items as Record<string, unknown>[]).map((i) => String(i[field])).sort();
  }
  return undefined;
}

function anyText(result: Record<string, unknown>): string {
  if (Array.isArray(result.messages)) {
    return (result.messages as { content: { text?: string } }[]).map((m) => m.content.text ?? '').join('');
  }
  if (Array.isArray(result.contents)) {
    return (result.contents as { text?: string }[]).map((c) => c.text ?? '').join('');
  }
  return resultText(result);
}

function strippedDuring(start: number): string[] {
  return decisions
    .slice(start)
    .filter((d) => d.decision.code === 'AIRLOCK_ARGUMENTS_STRIPPED')
    .flatMap((d) => (d.decision.detail?.stripped as string[] | undefined) ?? []);
}

function airlockDecisions(start: number): string[] {
  return decisions.slice(start).flatMap((d) => (d.decision.code ? [d.decision.code] : []));
}

/**
 * The answer as the agent saw it with every PII token written `[[CLASS:…]]` (the hex differs per tenant
 * key), and the `CLASS:value` each token stands for, resolved in the tenant's vault.
 */
async function tokensResolved(result: Record<string, unknown>) {
  const json = JSON.stringify(result);
  const values = new Set<string>();
  for (const found of findTokens(json)) {
    const resolved = await gateway.vault.resolve(found.token);
    assert.ok(resolved, `${found.token} was issued by the tenant's vault`);
    assert.equal(json.includes(resolved.value), false, `the raw value behind ${found.token} is never sent`);
    values.add(`${resolved.class}:${resolved.value}`);
  }
  const view = JSON.parse(json.replace(/\[\[([A-Z][A-Z0-9_]*):[0-9a-f]+\]\]/g, '[[$1:…]]'));
  return { view: view as Record<string, unknown>, tokenized: [...values].sort() };
}

function assertRefused(expect: Expectation) {
  return (err: unknown) => {
    assert.ok(err instanceof ProtocolError, `expected a JSON-RPC error, got ${String(err)}`);
    assert.equal(err.code, expect.code);
    assert.equal((err.data as { airlock?: string } | undefined)?.airlock, expect.airlock);
    for (const part of [expect.message ?? []].flat())
      assert.ok(err.message.includes(part), `"${err.message}" should include "${part}"`);
    return true;
  };
}

function assertToolError(result: Record<string, unknown>, expect: Expectation, mark: number) {
  assert.equal(result.isError, true, 'a tool error result');
  assert.ok(
    anyText(result).includes(expect.text ?? ''),
    `"${anyText(result)}" should include "${expect.text}"`,
  );
  assert.ok(airlockDecisions(mark).includes(expect.airlock ?? ''), `decision ${expect.airlock} recorded`);
}

async function assertAllowed(result: Record<string, unknown>, expect: Expectation, mark: number) {
  assert.notEqual(result.isError, true, `not a tool error: ${anyText(result)}`);
  const { view, tokenized } = await tokensResolved(result);
  assert.deepEqual(
    tokenized,
    [...(expect.tokenized ?? [])].sort(),
    'the values that reached the agent as tokens',
  );
  if (expect.names) assert.deepEqual(listedNames(view), [...expect.names].sort());
  if (expect.text !== undefined)
    assert.ok(anyText(view).includes(expect.text), `"${anyText(view)}" should include "${expect.text}"`);
  if (expect.upstreamArguments) assert.deepEqual(JSON.parse(anyText(view)), expect.upstreamArguments);
  if (expect.structuredContent) assert.deepEqual(view.structuredContent, expect.structuredContent);
  assert.deepEqual(strippedDuring(mark), expect.stripped ?? []);
}

/** Sends one corpus case and checks its expected outcome. */
async function runCase(client: Client, c: GoldenCase): Promise<void> {
  const mark = decisions.length;
  const expect = c.expect;
  if (expect.outcome === 'refused') {
    await assert.rejects(send(client, c.method, c.params), assertRefused(expect));
    return;
  }
  const result = await send(client, c.method, c.params);
  if (expect.outcome === 'tool-error') assertToolError(result, expect, mark);
  else await assertAllowed(result, expect, mark);
}

for (const era of ['modern', 'legacy'] as const satisfies readonly Era[]) {
  describe(`golden corpus, ${era} era`, () => {
    const clients = new Map<string, Client>();
    const clientFor = async (identity: string): Promise<Client> => {
      let client = clients.get(identity);
      if (!client) {
        client = await gateway.connect(identity, era);
        assert.equal(client.getProtocolEra(), era);
        clients.set(identity, client);
      }
      return client;
    };

    for (const c of corpus.cases) {
      it(c.name, async () => runCase(await clientFor(c.identity), c));
    }
  });
}

describe('approval binding', () => {
  it('the approval hook receives the identity, the tool and the SHA-256 of the canonical validated arguments', async () => {
    const { sha256Canonical } = await import('../../src/json/canonical-hash.js');
    const request = gateway.approvals.requests.find((r) => r.arguments.to === 'alice');
    assert.ok(request, 'the hook was asked');
    assert.equal(request.identity.name, 'claims-bot');
    assert.equal(request.tool, 'gw.transfer');
    assert.deepEqual(request.arguments, { amount: 10, to: 'alice' });
    assert.equal(request.argsHash, sha256Canonical({ to: 'alice', amount: 10 }));
    assert.match(request.argsHash, /^[0-9a-f]{64}$/);
  });
});
