/**
 * The reproductions, through the whole stack (relay, tunnel, connector with its default PII
 * policy, server-everything as upstream), with real SDK agents of both eras:
 *
 * - glued tokens: `everything.echo {"message":"X[[CARD:…]]Y"}` must not return the raw card;
 * - server→client requests: `everything.trigger-sampling-request` with a prompt holding two tokens
 *   must not give the agent's sampling handler the de-tokenized e-mail and card.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/client';
import { connectToTenant } from '../../src/agent/index.js';
import { everythingUpstream, OPEN_POLICY, type Stack, startStack } from '../e2e/airlock-stack.js';

const EMAIL = 'anna.schmidt@example.com';
const CARD = '4111 1111 1111 1111';
const RAW = [EMAIL, CARD, CARD.replace(/ /g, '')];
/** The harness policy without its `pii:` section: the default actions (tokenize personal data). */
const POLICY = OPEN_POLICY.slice(0, OPEN_POLICY.indexOf('pii:'));

let stack: Stack;

function assertNoRaw(value: unknown, where: string): void {
  const text = JSON.stringify(value);
  for (const raw of RAW) assert.ok(!text.includes(raw), `${where} leaked ${raw}: ${text.slice(0, 300)}`);
}

function textOf(result: unknown): string {
  const content = (result as { content?: { text?: string }[] }).content ?? [];
  return content.map((c) => c.text ?? '').join('');
}

async function tokenOf(client: Client, value: string, cls: string): Promise<string> {
  const result = await client.callTool({ name: 'everything.echo', arguments: { message: value } });
  assertNoRaw(result, 'echo of a raw value');
  const token = textOf(result).match(new RegExp(`\\[\\[${cls}:[0-9a-f]{8,}\\]\\]`))?.[0];
  assert.ok(token, `a ${cls} token in ${textOf(result)}`);
  return token;
}

before(async () => {
  stack = await startStack({ policy: POLICY, upstreams: () => ({ everything: everythingUpstream() }) });
});

after(async () => {
  await stack?.close();
});

for (const era of ['modern', 'legacy'] as const) {
  describe(`PII through the relay, ${era === 'modern' ? '2026-07-28' : '2025-11-25'} agent`, () => {
    it('glued tokens and sampling requests never carry the de-tokenized values', async () => {
      const sampled: unknown[] = [];
      const client = await connectToTenant(
        stack.tenant('acme').connection(),
        { name: 'pii-agent', version: '1.0.0' },
        {
          client: {
            versionNegotiation: { mode: era === 'modern' ? { pin: '2026-07-28' } : 'legacy' },
            capabilities: { sampling: {} },
          },
        },
      );
      client.setRequestHandler('sampling/createMessage', async (r) => {
        sampled.push(r.params);
        return { role: 'assistant', content: { type: 'text', text: 'noted' }, model: 'test' };
      });
      try {
        const email = await tokenOf(client, EMAIL, 'EMAIL');
        const card = await tokenOf(client, `card ${CARD}`, 'CARD');

        const glued = await client.callTool({ name: 'everything.echo', arguments: { message: `X${card}Y` } });
        assertNoRaw(glued, 'glued echo');
        assert.equal(textOf(glued), `Echo: X${card}Y`, 'the same token comes back, glued');

        const result = await client.callTool({
          name: 'everything.trigger-sampling-request',
          arguments: { prompt: `write to ${email} about ${card}`, maxTokens: 10 },
        });
        assert.equal(sampled.length, 1, "the agent's sampling handler was asked");
        assertNoRaw(sampled, 'sampling/createMessage params');
        assert.ok(JSON.stringify(sampled).includes(email) && JSON.stringify(sampled).includes(card));
        assertNoRaw(result, 'sampling tool result');
      } finally {
        await client.close();
      }
    });
  });
}
