/**
 * No raw personal data reaches an agent, on any path: real SDK agents of both eras over real TLS
 * (tenant CA, client certificates, AgentEndpoint) in front of the gateway with its PII stage and
 * boundary, and a hostile upstream (pii-reflecting-upstream.ts) that reflects everything it receives
 * into every field it can. Each test asserts that neither the e-mail nor the card comes back — in
 * results, `_meta`, unknown fields, resource links, errors, logs, progress, sampling and elicitation
 * requests, lists, completions, resource updates, listen streams — nor in the connector's log.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { type Client, type ClientCapabilities, LOG_LEVEL_META_KEY } from '@modelcontextprotocol/client';
import { pino } from 'pino';
import { gatewayStages } from '../../src/gateway/gateway-stages.js';
import { piiStage } from '../../src/gateway/stages/pii-stage.js';
import { UpstreamCatalog } from '../../src/mcp/upstream-catalog.js';
import { PiiBoundary } from '../../src/pii/pii-boundary.js';
import type { PiiPolicy } from '../../src/pii/pii-policy.js';
import { PiiVault } from '../../src/pii/pii-vault.js';
import { deriveTenantPiiKeys } from '../../src/pii/tenant-pii-keys.js';
import { type AgentCredentials, createTenantKit, type TenantKit } from '../fixtures/tenant-tls-kit.js';
import { until } from '../fixtures/wait-until.js';
import { connectSdkAgent, serveGateway } from '../mcp/relayed-agent-kit.js';
import { CUSTOMER, CUSTOMER_URI } from './pii-reflecting-upstream.js';

const REFLECTOR = new URL('./pii-reflecting-upstream.js', import.meta.url).pathname;
const CARD_DIGITS = CUSTOMER.card.replace(/ /g, '');
const RAW = [CUSTOMER.email, CARD_DIGITS, CUSTOMER.card, encodeURIComponent(CUSTOMER.email)];
const TOKEN = /\[\[[A-Z]+:[0-9a-f]{8,}\]\]/;
const PII_KEYS = deriveTenantPiiKeys('acme', randomBytes(32));
const ALL_CAPS: ClientCapabilities = { sampling: {}, elicitation: { form: {} } };
type Mode = 'legacy' | 'auto';

let kit: TenantKit;
let catalog: UpstreamCatalog;
let alice: AgentCredentials;
const logLines: string[] = [];
const closers: (() => Promise<unknown>)[] = [];

function assertNoRaw(value: unknown, where: string): void {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  for (const raw of RAW) assert.ok(!text.includes(raw), `${where} leaked ${raw}: ${text.slice(0, 400)}`);
}

async function serve(policy?: PiiPolicy): Promise<URL> {
  const vault = new PiiVault({ tenant: 'acme', keys: PII_KEYS, repository: kit.store.vault });
  const boundary = new PiiBoundary({ vault, ...(policy ? { policy } : {}) });
  const stages = gatewayStages({ identities: kit.store.identities, pii: piiStage({ vault, boundary }) });
  const { url } = await serveGateway(kit, { catalog, stages, outbound: boundary }, closers);
  return url;
}

/** A real SDK agent that records every request and notification the gateway sends it. */
async function agent(url: URL, mode: Mode) {
  const received: unknown[] = [];
  const updated: string[] = [];
  const { client } = await connectSdkAgent(kit, url, mode, alice, closers, {
    capabilities: ALL_CAPS,
    handlers: (c) => {
      c.setRequestHandler('sampling/createMessage', async (r) => {
        received.push(r.params);
        return { role: 'assistant', content: { type: 'text', text: 'ok' }, model: 'm' };
      });
      c.setRequestHandler('elicitation/create', async (r) => {
        received.push(r.params);
        return { action: 'accept', content: { ok: 'yes' } };
      });
      c.setNotificationHandler('notifications/message', (n) => {
        received.push(n.params);
      });
      c.setNotificationHandler('notifications/resources/updated', (n) => {
        received.push(n.params);
        updated.push(n.params.uri);
      });
    },
  });
  if (mode === 'legacy') await client.setLoggingLevel('debug');
  return { client, received, updated };
}

/** The tokens of the customer's e-mail and card, as `lookup` hands them to the agent. */
async function customerTokens(client: Client): Promise<{ email: string; card: string }> {
  const result = await client.callTool({ name: 'reflect.lookup', arguments: {} });
  assertNoRaw(result, 'lookup');
  const s = result.structuredContent as { email: string; card: string };
  assert.match(s.email, /^\[\[EMAIL:[0-9a-f]{8,}\]\]$/);
  assert.match(s.card, /^\[\[CARD:[0-9a-f]{8,}\]\]$/);
  return s;
}

before(async () => {
  kit = await createTenantKit();
  const sink = new Writable({
    write(chunk, _enc, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  catalog = UpstreamCatalog.fromConfig(
    [{ name: 'reflect', kind: 'stdio', command: process.execPath, args: [REFLECTOR] }],
    { logger: pino({ level: 'debug' }, sink) },
  );
  await catalog.start();
  alice = await kit.issueAgent('alice');
});

after(async () => {
  for (const close of closers.reverse()) await close().catch(() => {});
  await catalog.close();
  await kit.close();
});

for (const mode of ['legacy', 'auto'] as const) {
  const era = mode === 'legacy' ? '2025-11-25' : '2026-07-28';
  describe(`PII boundary, ${era} agent, hostile upstream`, () => {
    it('glued tokens: an echo of X<card token>Y comes back with the token, in every field it was reflected into', async () => {
      const a = await agent(await serve(), mode);
      const t = await customerTokens(a.client);
      const progress: unknown[] = [];
      const message = `X${t.card}Y mail:${t.email}.`;
      const result = await a.client.callTool(
        { name: 'reflect.echo', arguments: { message }, _meta: { [LOG_LEVEL_META_KEY]: 'debug' } },
        { onprogress: (p) => progress.push(p) },
      );
      assertNoRaw(result, 'echo result');
      assert.ok(JSON.stringify(result).includes(`X${t.card}Y`), 'the card token, glued, goes back');
      assert.equal(
        (result._meta as { echo?: string } | undefined)?.echo,
        message,
        '_meta reflected, tokenized',
      );
      await until('the log message', () => a.received.length > 0);
      assertNoRaw(a.received, 'log notifications');
      assertNoRaw(progress, 'progress notifications');
      assert.ok(progress.length > 0 || mode === 'auto', 'legacy agents asked for progress');
      await until('the stderr line', () => logLines.some((l) => l.includes('echo received')));
      assertNoRaw(logLines.join('\n'), 'connector log (stderr)');
    });

    it('server→client requests: sampling and elicitation reach the agent with tokens only', async () => {
      const a = await agent(await serve(), mode);
      const t = await customerTokens(a.client);
      const sampled = await a.client.callTool({
        name: 'reflect.ask_model',
        arguments: { prompt: `write to ${t.email} about card ${t.card}` },
      });
      assertNoRaw(sampled, 'sampling answer');
      const elicited = await a.client.callTool({
        name: 'reflect.ask_user',
        arguments: { message: `charge ${t.card} for ${t.email}` },
      });
      assertNoRaw(elicited, 'elicitation answer');
      assert.ok(a.received.length >= 2, 'the agent was asked twice');
      assertNoRaw(a.received, "the agent's sampling and elicitation handlers");
      assert.ok(JSON.stringify(a.received).includes(t.email), 'tokens, not nothing, reach the handlers');
    });
  });

  describe(`PII boundary, ${era} agent, hostile upstream: errors, lists and updates`, () => {
    it('errors, lists, resource URIs and completions pass the boundary', async () => {
      const a = await agent(await serve(), mode);
      const t = await customerTokens(a.client);
      const message = `${t.email}/${t.card}`;
      const toolError = await a.client.callTool({ name: 'reflect.fail', arguments: { message } });
      assertNoRaw(toolError, 'tool error result');
      assert.equal(toolError.isError, true);
      await assert.rejects(
        a.client.getPrompt({ name: 'reflect.fail', arguments: { message } }),
        (err: unknown) => {
          const seen = { message: (err as Error).message, data: (err as { data?: unknown }).data };
          assertNoRaw(seen, 'JSON-RPC error');
          assert.ok(JSON.stringify(seen).includes(t.email), 'the upstream error, tokenized');
          return true;
        },
      );
      const { resources } = await a.client.listResources();
      assertNoRaw(resources, 'resources/list');
      const customer = resources.find((r) => r.uri.startsWith('crm://'));
      assert.ok(customer, 'the customer resource is listed');
      assert.match(customer.uri, TOKEN, 'the URI is tokenized');
      const read = await a.client.readResource({ uri: customer.uri });
      assertNoRaw(read, 'resources/read');
      assert.equal(read.contents[0]?.uri, customer.uri, 'the tokenized URI reads the real resource');
      const completion = await a.client.complete({
        ref: { type: 'ref/resource', uri: customer.uri },
        argument: { name: 'q', value: t.email },
      });
      assertNoRaw(completion, 'completion/complete');
      assert.ok((completion.completion.values[0] ?? '').includes(t.email));
    });

    it('resource updates (subscriptions and listen streams) carry tokenized URIs', async () => {
      const a = await agent(await serve(), mode);
      const { resources } = await a.client.listResources();
      const uri = resources.find((r) => r.uri.startsWith('crm://'))?.uri ?? '';
      assert.ok(uri.match(TOKEN));
      const listen = mode === 'auto' ? await a.client.listen({ resourceSubscriptions: [uri] }) : undefined;
      if (listen) assert.deepEqual(listen.honoredFilter.resourceSubscriptions, [uri]);
      else await a.client.subscribeResource({ uri });
      assert.deepEqual(
        catalog.upstreams[0]?.subscribedResources(),
        [CUSTOMER_URI],
        'held at the upstream, real URI',
      );
      await a.client.callTool({ name: 'reflect.touch', arguments: { uri } });
      await until('the update', () => a.updated.length === 1);
      assert.deepEqual(a.updated, [uri]);
      assertNoRaw(a.received, 'resource updates');
      await listen?.close();
      if (!listen) await a.client.unsubscribeResource({ uri });
      await until('released', () => catalog.upstreams[0]?.subscribedResources().length === 0);
    });
  });
}

describe('pii.tokenScope: session', () => {
  it('two sessions get different tokens for the same value; a token of another session is refused', async () => {
    const url = await serve({ tokenScope: 'session' });
    const a = await agent(url, 'legacy');
    const b = await agent(url, 'legacy');
    const ta = await customerTokens(a.client);
    const tb = await customerTokens(b.client);
    assert.notEqual(ta.email, tb.email);
    assert.notEqual(ta.card, tb.card);
    const own = await b.client.callTool({ name: 'reflect.echo', arguments: { message: tb.email } });
    assert.equal((own.structuredContent as { echo: string }).echo, tb.email);
    await assert.rejects(
      b.client.callTool({ name: 'reflect.echo', arguments: { message: ta.email } }),
      (err: unknown) => {
        assert.match((err as Error).message, /another session/);
        assert.equal((err as { data?: { airlock?: string } }).data?.airlock, 'AIRLOCK_PII_TOKEN_SCOPE');
        assertNoRaw((err as Error).message, 'scope refusal');
        return true;
      },
    );
  });
});
