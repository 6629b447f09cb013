/**
 * The policy stages composed directly around a terminal (no network): fail-closed paths and hot reload
 * that the end-to-end tests do not reach.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ToolPinning } from '../../src/catalog/tool-pinning.js';
import { WireError } from '../../src/errors/wire-error.js';
import type { ApprovalHook } from '../../src/gateway/approval-hook.js';
import { compose } from '../../src/gateway/compose.js';
import type { GatewayContext, GatewayIdentity, Handler, Stage } from '../../src/gateway/gateway-context.js';
import { authorize } from '../../src/gateway/stages/authorize-stage.js';
import { budget } from '../../src/gateway/stages/budget-stage.js';
import { catalogStage } from '../../src/gateway/stages/catalog-stage.js';
import { tier } from '../../src/gateway/stages/tier-stage.js';
import { validate } from '../../src/gateway/stages/validate-stage.js';
import { parsePolicy } from '../../src/policy/policy-loader.js';
import { openStore } from '../../src/store/open-store.js';
import { CLAIMS_BOT, requestContext } from './request-context.js';

const bot = CLAIMS_BOT;

function ctx(
  method: string,
  params: Record<string, unknown>,
  identity: GatewayIdentity | null = bot,
): GatewayContext {
  return requestContext(method, params, { identity: identity ?? undefined });
}

const engineOf = (yaml: string) => parsePolicy(yaml, 'inline.yaml').engine;
const POLICY = `
identities: [{ name: claims-bot, roles: [r] }]
roles: { r: { tools: ["t.*"], prompts: ["t.p"], resources: ["t://ok/**"] } }
tools:
  - { match: t.auto, tier: auto }
  - { match: t.block, tier: block }
`;
const echo: Handler = async (c) => ({ content: [{ type: 'text', text: JSON.stringify(c.params) }] });

function rejectsWith(rpc: number, airlock: string) {
  return (err: unknown) => {
    assert.ok(err instanceof WireError, String(err));
    assert.equal(err.rpcCode, rpc);
    assert.equal(err.airlockCode, airlock);
    return true;
  };
}

describe('authorize', () => {
  it('refuses without identity, checks completion references, and applies a reloaded policy on the next request', async () => {
    const policy = { engine: engineOf(POLICY) };
    const handler = compose([authorize({ policy: () => policy.engine })], echo);
    await assert.rejects(
      handler(ctx('tools/call', { name: 't.x' }, null)),
      rejectsWith(-32001, 'AIRLOCK_IDENTITY_MISSING'),
    );
    await handler(ctx('completion/complete', { ref: { type: 'ref/prompt', name: 't.p' } }));
    await assert.rejects(
      handler(ctx('completion/complete', { ref: { type: 'ref/prompt', name: 't.secret' } })),
      rejectsWith(-32003, 'AIRLOCK_PROMPT_FORBIDDEN'),
    );
    await assert.rejects(
      handler(ctx('completion/complete', { ref: { type: 'ref/resource', uri: 't://no/1' } })),
      rejectsWith(-32003, 'AIRLOCK_RESOURCE_FORBIDDEN'),
    );
    await handler(ctx('tools/call', { name: 't.x' }));
    policy.engine = engineOf(POLICY.replace('tools: ["t.*"]', 'tools: ["t.other"]'));
    await assert.rejects(
      handler(ctx('tools/call', { name: 't.x' })),
      rejectsWith(-32003, 'AIRLOCK_TOOL_FORBIDDEN'),
    );
  });
});

describe('authorize: subscriptions', () => {
  it('checks every URI of a resources/subscribe and a subscriptions/listen filter', async () => {
    const handler = compose([authorize({ policy: () => engineOf(POLICY) })], async () => ({}));
    await handler(ctx('resources/subscribe', { uri: 't://ok/a' }));
    await handler(ctx('subscriptions/listen', { resourceSubscriptions: ['t://ok/a', 't://ok/b/c'] }));
    for (const request of [
      ctx('resources/subscribe', { uri: 't://secret/a' }),
      ctx('subscriptions/listen', { resourceSubscriptions: ['t://ok/a', 't://secret/a'] }),
    ]) {
      await assert.rejects(handler(request), (err: unknown) => {
        assert.ok(err instanceof WireError);
        assert.equal(err.airlockCode, 'AIRLOCK_RESOURCE_FORBIDDEN');
        assert.match(err.message, /t:\/\/secret\/a/);
        return true;
      });
    }
  });
});

describe('bearer identities', () => {
  it('are matched by token subject and issuer, never by a certificate name', async () => {
    const engine = engineOf(`
identities:
  - { subject: "0oa42", issuer: "https://idp.acme.test", roles: [r] }
  - { name: "0oa99", roles: [r] }
roles: { r: { tools: ["t.*"] } }
`);
    const handler = compose([authorize({ policy: () => engine })], echo);
    const bearer = (subject: string, issuer: string): GatewayIdentity => ({
      name: subject,
      spiffeId: '',
      certSerial: '',
      authenticatedBy: 'bearer',
      subject,
      issuer,
    });
    await handler(ctx('tools/call', { name: 't.x' }, bearer('0oa42', 'https://idp.acme.test')));
    await assert.rejects(
      handler(ctx('tools/call', { name: 't.x' }, bearer('0oa42', 'https://evil.test'))),
      rejectsWith(-32003, 'AIRLOCK_TOOL_FORBIDDEN'),
    );
    await assert.rejects(
      handler(ctx('tools/call', { name: 't.x' }, bearer('0oa99', 'https://idp.acme.test'))),
      rejectsWith(-32003, 'AIRLOCK_TOOL_FORBIDDEN'),
    );
  });
});

describe('tier', () => {
  const policy = () => engineOf(POLICY);
  it('fails closed without an approval queue, and when the queue fails', async () => {
    await assert.rejects(
      compose([tier({ policy })], echo)(ctx('tools/call', { name: 't.unruled', arguments: {} })),
      rejectsWith(-32003, 'AIRLOCK_APPROVAL_UNAVAILABLE'),
    );
    const broken: ApprovalHook = {
      request: async () => {
        throw new Error('queue down');
      },
    };
    await assert.rejects(
      compose(
        [tier({ policy, approvals: broken })],
        echo,
      )(ctx('tools/call', { name: 't.unruled', arguments: {} })),
      rejectsWith(-32603, 'AIRLOCK_APPROVAL_UNAVAILABLE'),
    );
  });

  it('an expired approval is a tool error telling the model to call again; auto and block need no queue', async () => {
    const expired: ApprovalHook = { request: async () => ({ decision: 'expired', approvalId: 'apr-9' }) };
    const c = ctx('tools/call', { name: 't.unruled', arguments: { a: 1 } });
    const result = (await compose([tier({ policy, approvals: expired })], echo)(c)) as {
      isError: boolean;
      content: { text: string }[];
    };
    assert.equal(result.isError, true);
    assert.match(
      result.content[0]?.text ?? '',
      /apr-9 .* expired .* calling the tool again asks for a new approval/,
    );
    assert.equal(c.decisions.at(-1)?.code, 'AIRLOCK_APPROVAL_EXPIRED');
    await compose([tier({ policy })], echo)(ctx('tools/call', { name: 't.auto' }));
    await assert.rejects(
      compose([tier({ policy })], echo)(ctx('tools/call', { name: 't.block' })),
      rejectsWith(-32003, 'AIRLOCK_TOOL_BLOCKED'),
    );
  });
});

describe('validate', () => {
  const policy = () => engineOf(POLICY);
  const tools = {
    't.ok': {
      tool: { name: 't.ok', inputSchema: { type: 'object', properties: { a: { type: 'number' } } } },
      hash: 'h1',
    },
    't.broken': {
      tool: { name: 't.broken', inputSchema: { type: 'object', properties: { a: { type: 'nope' } } } },
      hash: 'h2',
    },
  } as const;
  const definitions = {
    definitionOf: (name: string) => (name === 't.unpinned' ? null : tools[name as keyof typeof tools]),
  };
  const handler = compose([validate({ policy, definitions })], echo);

  it('refuses unusable schemas, unpinned tools and non-object arguments; unknown tools pass on', async () => {
    await assert.rejects(
      handler(ctx('tools/call', { name: 't.broken', arguments: {} })),
      rejectsWith(-32603, 'AIRLOCK_SCHEMA_UNUSABLE'),
    );
    await assert.rejects(
      handler(ctx('tools/call', { name: 't.unpinned', arguments: {} })),
      rejectsWith(-32003, 'AIRLOCK_TOOL_UNPINNED'),
    );
    await assert.rejects(
      handler(ctx('tools/call', { name: 't.ok', arguments: [1] })),
      rejectsWith(-32602, 'AIRLOCK_ARGUMENTS_INVALID'),
    );
    await handler(ctx('tools/call', { name: 't.nobody', arguments: { z: 1 } }));
  });

  it('stripped arguments stay visible to outer stages, also through the budget stage’s derived context', async () => {
    const seen: Record<string, unknown>[] = [];
    const outer: Stage = (next) => async (c) => {
      const r = await next(c);
      seen.push(c.params);
      return r;
    };
    const stack = compose([outer, budget({ policy }), validate({ policy, definitions })], echo);
    await stack(ctx('tools/call', { name: 't.ok', arguments: { a: 1, b: 2 } }));
    assert.deepEqual(seen[0], { name: 't.ok', arguments: { a: 1 } });
  });
});

describe('catalog stage', () => {
  it('fails closed when the catalog state cannot be read', async () => {
    const store = await openStore({ url: 'sqlite::memory:' });
    const pinning = new ToolPinning({
      store: store.catalog,
      catalog: { tools: () => [{ name: 't.x', inputSchema: { type: 'object' } }] },
      mode: () => 'tofu',
      pollIntervalMs: 0,
    });
    await pinning.start();
    await store.close();
    const handler = compose([catalogStage({ pinning })], echo);
    await assert.rejects(
      handler(ctx('tools/call', { name: 't.x' })),
      rejectsWith(-32603, 'AIRLOCK_CATALOG_UNAVAILABLE'),
    );
    await assert.rejects(
      compose([catalogStage({ pinning })], async () => ({ tools: [{ name: 't.x' }] }))(ctx('tools/list', {})),
      rejectsWith(-32603, 'AIRLOCK_CATALOG_UNAVAILABLE'),
    );
    pinning.close();
  });
});
