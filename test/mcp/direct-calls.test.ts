/**
 * The direct path of plain 2026-07-28 `tools/call` requests (src/mcp/direct-calls.ts) answers exactly as
 * the SDK's per-request server does: the same raw request goes to an endpoint with the direct path and to
 * one without it, over real HTTP, and the answers (status, media type, JSON-RPC message) must be equal —
 * for results of every shape, refusals of the pipeline, SEP-1303 argument errors, `input_required`,
 * held calls (SSE keep-alive), the redaction boundary, and every request the direct path leaves to the SDK.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Tool } from '@modelcontextprotocol/server';
import { request } from 'undici';
import { WireError } from '../../src/errors/wire-error.js';
import type { GatewayContext, Stage } from '../../src/gateway/gateway-context.js';
import type { OutboundContext, OutboundMessage } from '../../src/pii/pii-boundary.js';
import { until } from '../fixtures/wait-until.js';
import {
  type Answer,
  callBody,
  callHeaders,
  ENVELOPE,
  type EndpointPair,
  post,
  scriptedCatalog,
  startPair,
} from './direct-calls-rig.js';

const TOOLS: Tool[] = [
  { name: 'echo', inputSchema: { type: 'object' } },
  { name: 'shape', inputSchema: { type: 'object' } },
];

/** What the scripted upstream answers for `shape`, by `arguments.kind`. */
const SHAPES: Record<string, unknown> = {
  text: { content: [{ type: 'text', text: 'hello' }] },
  structured: { structuredContent: { n: 1 } },
  error: { content: [{ type: 'text', text: 'no' }], isError: true },
  meta: { content: [], _meta: { 'example.com/trace': 'x' } },
  complete: { content: [], resultType: 'complete' },
  ownInfo: { content: [], _meta: { 'io.modelcontextprotocol/serverInfo': { name: 'up', version: '9' } } },
  invalid: { content: 5 },
  elicit: {
    resultType: 'input_required',
    inputRequests: { q: { method: 'elicitation/create', params: { message: 'ok?', requestedSchema: {} } } },
  },
  stateOnly: { resultType: 'input_required', requestState: 'opaque' },
};

const catalog = scriptedCatalog(TOOLS, async (params) => {
  const args = (params.arguments ?? {}) as { kind?: string };
  if (params.name === 'echo') return { content: [{ type: 'text', text: JSON.stringify(params) }] };
  return SHAPES[args.kind ?? 'text'];
});

/** Refuses calls whose arguments say so, the way gateway stages refuse. */
const refusing: Stage = (next) => async (ctx) => {
  const args = (ctx.params.arguments ?? {}) as { refuse?: string };
  if (args.refuse === 'policy')
    throw new WireError(-32003, 'AIRLOCK_TOOL_DENIED', 'Tool not allowed', { tool: 'x' });
  if (args.refuse === 'arguments') throw new WireError(-32602, 'AIRLOCK_ARGUMENTS_INVALID', 'limit: too big');
  return next(ctx);
};

async function both(pair: EndpointPair, body: unknown, headers: Record<string, string>): Promise<Answer[]> {
  return Promise.all([post(pair.direct, body, headers), post(pair.sdk, body, headers)]);
}

function errorCode(answer: Answer | undefined): number | undefined {
  return (answer?.message.error as { code?: number } | undefined)?.code;
}

function assertSameAnswer([direct, sdk]: Answer[], what: string): void {
  assert.ok(direct && sdk);
  assert.equal(direct.status, sdk.status, `${what}: status`);
  assert.equal(direct.contentType.split(';')[0], sdk.contentType.split(';')[0], `${what}: media type`);
  assert.deepEqual(direct.message, sdk.message, `${what}: message`);
}

describe('direct path: the same answers as the SDK', () => {
  let pair: EndpointPair;
  before(async () => {
    pair = await startPair(catalog, [refusing]);
  });
  after(() => pair.close());

  it('results of every shape come back as the SDK stamps them', async () => {
    for (const kind of ['text', 'structured', 'error', 'meta', 'complete', 'ownInfo', 'stateOnly']) {
      const answers = await both(
        pair,
        callBody(1, { name: 'shape', arguments: { kind } }),
        callHeaders('shape'),
      );
      assertSameAnswer(answers, kind);
      assert.ok('result' in (answers[0]?.message ?? {}), `${kind}: a result`);
    }
  });

  it('the upstream sees the 2025-era params: envelope lifted, other _meta kept', async () => {
    const body = callBody('s-1', { name: 'echo', arguments: { a: 1 } });
    (body.params as { _meta: Record<string, unknown> })._meta = { ...ENVELOPE, 'example.com/k': 'v' };
    catalog.calls.length = 0;
    const answers = await both(pair, body, callHeaders('echo'));
    assertSameAnswer(answers, 'echo with extra _meta');
    assert.deepEqual(catalog.calls[0], catalog.calls[1]);
    assert.deepEqual(catalog.calls[0], {
      name: 'echo',
      arguments: { a: 1 },
      _meta: { 'example.com/k': 'v' },
    });
  });
});

describe('direct path: the same refusals as the SDK', () => {
  let pair: EndpointPair;
  before(async () => {
    pair = await startPair(catalog, [refusing]);
  });
  after(() => pair.close());

  it('refusals, argument errors (SEP-1303) and invalid results are encoded alike', async () => {
    for (const refuse of ['policy', 'arguments']) {
      const answers = await both(
        pair,
        callBody(2, { name: 'echo', arguments: { refuse } }),
        callHeaders('echo'),
      );
      assertSameAnswer(answers, refuse);
    }
    const [direct, sdk] = await both(
      pair,
      callBody(3, { name: 'shape', arguments: { kind: 'invalid' } }),
      callHeaders('shape'),
    );
    assert.equal(direct?.status, sdk?.status);
    assert.equal(errorCode(direct), -32602);
    assert.equal(errorCode(direct), errorCode(sdk));
  });

  it('input_required the agent cannot answer is refused with -32021 by both', async () => {
    const [direct, sdk] = await both(
      pair,
      callBody(4, { name: 'shape', arguments: { kind: 'elicit' } }),
      callHeaders('shape'),
    );
    assert.equal(direct?.status, 400);
    assert.equal(direct?.status, sdk?.status);
    assert.equal(errorCode(direct), -32021);
    assert.equal(errorCode(sdk), -32021);
  });

  it('input_required the agent declared it can answer is relayed alike', async () => {
    const body = callBody(5, { name: 'shape', arguments: { kind: 'elicit' } });
    (body.params as { _meta: Record<string, unknown> })._meta = {
      ...ENVELOPE,
      'io.modelcontextprotocol/clientCapabilities': { elicitation: { form: {} } },
    };
    assertSameAnswer(await both(pair, body, callHeaders('shape')), 'elicit, declared');
  });

  it('requests the direct path leaves to the SDK get the SDK answer on both', async () => {
    const wrongName = { ...callHeaders('echo'), 'mcp-name': 'other' };
    assertSameAnswer(await both(pair, callBody(6, { name: 'echo' }), wrongName), 'Mcp-Name mismatch');
    const noVersion: Record<string, string> = { ...callHeaders('echo') };
    delete noVersion['mcp-protocol-version'];
    assertSameAnswer(await both(pair, callBody(7, { name: 'echo' }), noVersion), 'no version header');
    assertSameAnswer(
      await both(pair, callBody(8, { name: 'echo', arguments: 5 }), callHeaders('echo')),
      'bad args',
    );
    const progress = callBody(9, { name: 'echo' });
    (progress.params as { _meta: Record<string, unknown> })._meta = { ...ENVELOPE, progressToken: 't' };
    assertSameAnswer(await both(pair, progress, callHeaders('echo')), 'progress token');
  });
});

describe('direct path: identity', () => {
  it('a request without identity is refused with 401 by both', async () => {
    const pair = await startPair(catalog, [], {}, null);
    try {
      const answers = await both(pair, callBody(1, { name: 'echo' }), callHeaders('echo'));
      assertSameAnswer(answers, 'no identity');
      assert.equal(answers[0]?.status, 401);
    } finally {
      await pair.close();
    }
  });
});

describe('direct path: held calls and cancellation', () => {
  it('a held call streams at once (SSE) and ends with the same result', async () => {
    let open: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const holding: Stage = (next) => async (ctx) => {
      await ctx.sendProgress({ progress: 0 }); // no progress token: keep the connection alive
      await gate;
      return next(ctx);
    };
    const pair = await startPair(catalog, [holding]);
    try {
      const body = JSON.stringify(callBody(1, { name: 'shape', arguments: { kind: 'text' } }));
      // undici's request() resolves on the response headers: both must arrive while the call is held.
      const held = [pair.direct, pair.sdk].map((url) =>
        request(url, { method: 'POST', headers: callHeaders('shape'), body }),
      );
      let headers = 0;
      for (const h of held) void h.then(() => headers++);
      await until('SSE headers of both held calls', () => headers === 2);
      open();
      const answers = await Promise.all(
        held.map(async (h) => {
          const res = await h;
          const text = await res.body.text();
          assert.match(String(res.headers['content-type']), /^text\/event-stream/);
          return text.split('\n').filter((line) => line.startsWith('data: '));
        }),
      );
      assert.equal(answers[0]?.length, 1);
      assert.deepEqual(answers[0], answers[1]);
    } finally {
      await pair.close();
    }
  });

  it('the agent closing its connection aborts the call on both paths', async () => {
    const { seen, waiting } = stageThatWaitsForAbort();
    const pair = await startPair(catalog, [waiting]);
    try {
      for (const url of [pair.direct, pair.sdk]) {
        const before = seen.aborted;
        const controller = new AbortController();
        const call = post(url, callBody(1, { name: 'echo' }), callHeaders('echo'), controller.signal);
        await until('the call reached the stage', () => seen.entered > before);
        controller.abort();
        await assert.rejects(call);
        await until('the stage saw the abort', () => seen.aborted > before);
      }
    } finally {
      await pair.close();
    }
  });
});

/** A stage that holds each call until its signal aborts, counting calls that entered and saw the abort. */
function stageThatWaitsForAbort(): { seen: { entered: number; aborted: number }; waiting: Stage } {
  const seen = { entered: 0, aborted: 0 };
  const waiting: Stage = () => async (ctx: GatewayContext) => {
    seen.entered++;
    await new Promise<void>((resolve) =>
      ctx.signal.addEventListener('abort', () => resolve(), { once: true }),
    );
    seen.aborted++;
    return {};
  };
  return { seen, waiting };
}

describe('direct path: closing the endpoint', () => {
  it('stops a call in flight: its stages see the abort and the agent gets no answer', async () => {
    const { seen, waiting } = stageThatWaitsForAbort();
    const pair = await startPair(catalog, [waiting]);
    try {
      const call = post(pair.direct, callBody(1, { name: 'echo' }), callHeaders('echo'));
      await until('the call reached the stage', () => seen.entered > 0);
      await pair.endpoints[0]?.close();
      await assert.rejects(call, 'the connection is closed without an answer');
      await until('the stage saw the abort', () => seen.aborted > 0);
    } finally {
      await pair.close();
    }
  });
});

describe('direct path: redaction', () => {
  it('answers pass the redaction boundary with the same context on both paths', async () => {
    const contexts: OutboundContext[] = [];
    const outbound = {
      toAgent: async (message: OutboundMessage, context: OutboundContext) => {
        contexts.push(context);
        return JSON.parse(JSON.stringify(message).replaceAll('hello', '[REDACTED]')) as OutboundMessage;
      },
    };
    const pair = await startPair(catalog, [], { outbound });
    try {
      const answers = await both(
        pair,
        callBody(1, { name: 'shape', arguments: { kind: 'text' } }),
        callHeaders('shape'),
      );
      assertSameAnswer(answers, 'redacted');
      assert.ok(!answers[0]?.text.includes('hello'), 'the raw value never reaches the agent');
      assert.equal(contexts.length, 2);
      const [direct, sdk] = contexts;
      assert.deepEqual(
        { identity: direct?.identity, answers: direct?.answers, target: direct?.target },
        { identity: 'alpha', answers: 'tools/call', target: 'shape' },
      );
      assert.deepEqual(
        { identity: sdk?.identity, answers: sdk?.answers, target: sdk?.target },
        { identity: direct?.identity, answers: direct?.answers, target: direct?.target },
      );
    } finally {
      await pair.close();
    }
  });
});
