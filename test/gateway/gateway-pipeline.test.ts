import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import { after, before, describe, it } from 'node:test';
import { Client, ProtocolError } from '@modelcontextprotocol/client';
import { type CallToolResult, InMemoryTransport, Server } from '@modelcontextprotocol/server';
import { JSONRPC_INVALID_PARAMS, WireError } from '../../src/errors/wire-error.js';
import { compose } from '../../src/gateway/compose.js';
import {
  DECISION_CHANNEL,
  type DecisionMessage,
  recordDecision,
} from '../../src/gateway/decision-channel.js';
import type { GatewayContext, GatewayIdentity, Handler, Stage } from '../../src/gateway/gateway-context.js';
import { gatewayStages } from '../../src/gateway/gateway-stages.js';
import { authenticate, JSONRPC_UNAUTHENTICATED } from '../../src/gateway/stages/authenticate-stage.js';
import { toProtocolError } from '../../src/mcp/protocol-error-mapping.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import { requestContext } from './request-context.js';

function context(
  identity: GatewayIdentity | undefined,
  method = 'tools/call',
  params: Record<string, unknown> = {},
): GatewayContext {
  return requestContext(method, params, { identity });
}

const bot: GatewayIdentity = {
  name: 'claims-bot',
  spiffeId: 'spiffe://acme.localhost/agent/claims-bot',
  certSerial: '0a1b2c',
  authenticatedBy: 'mtls',
};

describe('compose', () => {
  it('runs stages outermost first, then the terminal, and lets stages rewrite params and results', async () => {
    const order: string[] = [];
    const tag =
      (name: string): Stage =>
      (next) =>
      async (ctx) => {
        order.push(`${name}:before`);
        ctx.params[name] = true;
        const result = (await next(ctx)) as Record<string, unknown>;
        order.push(`${name}:after`);
        return { ...result, [name]: 'seen' };
      };
    const terminal: Handler = async (ctx) => {
      order.push('terminal');
      return { params: { ...ctx.params } };
    };
    const result = await compose([tag('a'), tag('b')], terminal)(context(bot));
    assert.deepEqual(order, ['a:before', 'b:before', 'terminal', 'b:after', 'a:after']);
    assert.deepEqual(result, { params: { a: true, b: true }, b: 'seen', a: 'seen' });
  });

  it('with no stages is the terminal itself', async () => {
    const result = await compose([], async (ctx) => ctx.method)(context(bot, 'tools/list'));
    assert.equal(result, 'tools/list');
  });

  it('a refusing stage stops the chain before the terminal', async () => {
    let reached = false;
    const refuse: Stage = () => async () => {
      throw new WireError(JSONRPC_INVALID_PARAMS, 'AIRLOCK_TEST_REFUSED', 'no');
    };
    await assert.rejects(
      compose([refuse], async () => {
        reached = true;
      })(context(bot)),
      (err: unknown) => err instanceof WireError && err.airlockCode === 'AIRLOCK_TEST_REFUSED',
    );
    assert.equal(reached, false);
  });
});

const terminal: Handler = async () => 'ok';

/** A real in-memory SQLite store holding `bot`, opened before and closed after the enclosing describe. */
function storeWithBot(): { store: Store } {
  const rig = {} as { store: Store };
  before(async () => {
    rig.store = await openStore({ url: 'sqlite::memory:' });
    await rig.store.identities.addIdentity({
      name: bot.name,
      spiffeId: bot.spiffeId,
      certSerial: bot.certSerial,
      certFingerprint: 'ff'.repeat(32),
      notAfter: Date.now() + 86_400_000,
      createdAt: Date.now(),
    });
  });
  after(() => rig.store.close());
  return rig;
}

describe('authenticate stage (real SQLite store)', () => {
  const rig = storeWithBot();

  it('lets a known identity through and records an allow decision', async () => {
    const ctx = context(bot);
    assert.equal(await compose(gatewayStages({ identities: rig.store.identities }), terminal)(ctx), 'ok');
    assert.equal(ctx.decisions.length, 1);
    assert.equal(ctx.decisions[0]?.stage, 'authenticate');
    assert.equal(ctx.decisions[0]?.outcome, 'allow');
  });

  it('refuses a missing identity, an unknown serial, a name mismatch and an expired certificate', async () => {
    const handler = compose([authenticate({ identities: rig.store.identities })], terminal);
    const cases: [GatewayIdentity | undefined, string][] = [
      [undefined, 'AIRLOCK_IDENTITY_MISSING'],
      [{ ...bot, certSerial: 'dead' }, 'AIRLOCK_IDENTITY_UNKNOWN'],
      [{ ...bot, name: 'impostor' }, 'AIRLOCK_IDENTITY_UNKNOWN'],
    ];
    for (const [identity, code] of cases) {
      const ctx = context(identity);
      await assert.rejects(handler(ctx), (err: unknown) => {
        assert.ok(err instanceof WireError);
        assert.equal(err.rpcCode, JSONRPC_UNAUTHENTICATED);
        assert.equal(err.airlockCode, code);
        return true;
      });
      assert.equal(ctx.decisions[0]?.outcome, 'deny');
      assert.equal(ctx.decisions[0]?.code, code);
    }
    const later = compose(
      [authenticate({ identities: rig.store.identities, now: () => Date.now() + 2 * 86_400_000 })],
      terminal,
    );
    await assert.rejects(
      later(context(bot)),
      (err: unknown) => err instanceof WireError && err.airlockCode === 'AIRLOCK_IDENTITY_EXPIRED',
    );
  });
});

describe('authenticate stage: revocation and a failing store', () => {
  const rig = storeWithBot();

  it('sees a revocation on the very next request (no caching)', async () => {
    await rig.store.identities.addIdentity({
      name: 'temp-bot',
      spiffeId: 'spiffe://acme.localhost/agent/temp-bot',
      certSerial: '77',
      certFingerprint: 'ee'.repeat(32),
      notAfter: Date.now() + 86_400_000,
      createdAt: Date.now(),
    });
    const temp: GatewayIdentity = { ...bot, name: 'temp-bot', certSerial: '77' };
    const handler = compose(gatewayStages({ identities: rig.store.identities }), terminal);
    assert.equal(await handler(context(temp)), 'ok');
    assert.equal(await rig.store.identities.revokeIdentity('temp-bot', Date.now()), true);
    await assert.rejects(
      handler(context(temp)),
      (err: unknown) => err instanceof WireError && err.airlockCode === 'AIRLOCK_IDENTITY_REVOKED',
    );
  });

  it('fails closed when the store cannot answer', async () => {
    const broken = { getIdentityBySerial: async () => Promise.reject(new Error('database is locked')) };
    await assert.rejects(
      compose([authenticate({ identities: broken })], terminal)(context(bot)),
      (err: unknown) =>
        err instanceof WireError &&
        err.airlockCode === 'AIRLOCK_IDENTITY_UNVERIFIABLE' &&
        err.rpcCode === -32603,
    );
  });
});

describe('decision channel', () => {
  it('publishes every recorded decision on airlock:gateway:decision', () => {
    const seen: DecisionMessage[] = [];
    const listener = (message: unknown) => seen.push(message as DecisionMessage);
    diagnosticsChannel.subscribe(DECISION_CHANNEL, listener);
    try {
      const ctx = context(bot, 'tools/call');
      recordDecision(ctx, { stage: 'test', outcome: 'deny', code: 'AIRLOCK_TEST' });
      assert.equal(seen.length, 1);
      assert.equal(seen[0]?.method, 'tools/call');
      assert.equal(seen[0]?.identity?.name, 'claims-bot');
      assert.equal(seen[0]?.decision.code, 'AIRLOCK_TEST');
      assert.equal(ctx.decisions.length, 1);
    } finally {
      diagnosticsChannel.unsubscribe(DECISION_CHANNEL, listener);
    }
  });
});

describe('pipeline behind an SDK Server (InMemoryTransport pair)', () => {
  it('refusals reach the MCP client as JSON-RPC errors with data.airlock; allowed calls get the result', async () => {
    const store = await openStore({ url: 'sqlite::memory:' });
    const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
    const server = new Server({ name: 'pipeline-test', version: '1' }, { capabilities: { tools: {} } });
    let identity: GatewayIdentity | undefined;
    const pipeline = compose(gatewayStages({ identities: store.identities }), async (ctx) => ({
      content: [{ type: 'text', text: `hello ${ctx.identity?.name}` }],
    }));
    server.setRequestHandler('tools/call', async (request, ctx) => {
      const gatewayCtx = {
        ...context(identity, request.method, { ...request.params }),
        signal: ctx.mcpReq.signal,
      };
      try {
        return (await pipeline(gatewayCtx)) as CallToolResult;
      } catch (err) {
        throw toProtocolError(err);
      }
    });
    const client = new Client({ name: 'pipeline-test-client', version: '1' });
    try {
      await server.connect(serverTransport);
      await client.connect(clientTransport);
      await assert.rejects(client.callTool({ name: 'x', arguments: {} }), (err: unknown) => {
        assert.ok(err instanceof ProtocolError);
        assert.equal(err.code, JSONRPC_UNAUTHENTICATED);
        assert.deepEqual(err.data, { airlock: 'AIRLOCK_IDENTITY_MISSING' });
        return true;
      });
      await store.identities.addIdentity({
        name: bot.name,
        spiffeId: bot.spiffeId,
        certSerial: bot.certSerial,
        certFingerprint: 'ff'.repeat(32),
        notAfter: Date.now() + 86_400_000,
        createdAt: Date.now(),
      });
      identity = bot;
      const result = await client.callTool({ name: 'x', arguments: {} });
      assert.deepEqual(result.content, [{ type: 'text', text: 'hello claims-bot' }]);
      await assert.rejects(
        (async () => {
          throw toProtocolError(new Error('secret internal detail'));
        })(),
        (err: unknown) =>
          err instanceof ProtocolError && err.code === -32603 && !err.message.includes('secret'),
      );
    } finally {
      await client.close();
      await server.close();
      await store.close();
    }
  });
});
