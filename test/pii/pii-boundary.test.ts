/**
 * The redaction boundary (src/pii/pii-boundary.ts) against the MCP SDK's own schemas: every method of
 * the server→client request, notification and result unions (and every request an agent may send,
 * whose result the boundary redacts) must be routed, and a message of each kind carrying personal data
 * in known, unknown, nested and `_meta` fields must come out without it. Also: taint (glued tokens),
 * session token scope, and the endpoint's method table.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  ClientRequestSchema,
  ServerNotificationSchema,
  ServerRequestSchema,
  ServerResultSchema,
} from '@modelcontextprotocol/core';
import { WireError } from '../../src/errors/wire-error.js';
import { AGENT_METHODS } from '../../src/mcp/agent-method-table.js';
import { detokenizeArguments } from '../../src/pii/detokenize.js';
import { redactLogText } from '../../src/pii/log-redaction.js';
import {
  OUTBOUND_ROUTES,
  type OutboundKind,
  outboundRoute,
  PiiBoundary,
} from '../../src/pii/pii-boundary.js';
import { PiiVault } from '../../src/pii/pii-vault.js';
import { RequestTaint } from '../../src/pii/request-taint.js';
import { deriveTenantPiiKeys } from '../../src/pii/tenant-pii-keys.js';
import { PII_TOKEN_SCOPE_ERROR } from '../../src/pii/token-scope.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';

const EMAIL = 'anna.schmidt@example.com';
const CARD = '4111111111111111';

interface ZodLike {
  options?: readonly ZodLike[];
  shape?: Record<string, ZodLike>;
  value?: unknown;
  _zod?: { def?: { options?: readonly ZodLike[]; shape?: Record<string, ZodLike>; values?: unknown[] } };
}

function members(union: unknown): ZodLike[] {
  const u = union as ZodLike;
  return [...(u.options ?? u._zod?.def?.options ?? [])];
}

function shapeOf(schema: ZodLike): Record<string, ZodLike> {
  return schema.shape ?? schema._zod?.def?.shape ?? {};
}

/** The `method` literal of a request or notification schema. */
function methodOf(schema: ZodLike): string {
  const m = shapeOf(schema).method;
  const value = m?.value ?? m?._zod?.def?.values?.[0];
  assert.equal(typeof value, 'string', 'every member of the union has a literal method');
  return value as string;
}

/** Personal data in every corner of a payload: a known field, an unknown one, nested, a key, `_meta`. */
function hostilePayload(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ...extra,
    message: `contact ${EMAIL}`,
    unknownField: { deeper: [`card ${CARD}`] },
    [`key-${EMAIL}`]: 1,
    _meta: { note: EMAIL, 'io.example/card': Number(CARD) },
  };
}

/** A field of a message that may be undefined. */
function part<T>(message: Record<string, unknown> | undefined, key: string): T {
  return message?.[key] as T;
}

function assertClean(value: unknown, what: string): void {
  const text = JSON.stringify(value);
  assert.ok(!text.includes(EMAIL), `${what}: no raw e-mail in ${text}`);
  assert.ok(!text.includes(CARD), `${what}: no raw card in ${text}`);
}

interface VaultRig {
  vault: PiiVault;
  /** A tenant-scope boundary on `vault` with the default policy. */
  boundary: PiiBoundary;
}

/** The `acme` vault in an in-memory store, opened before and closed after the enclosing describe. */
function useVault(): VaultRig {
  const rig = {} as VaultRig;
  let store: Store | undefined;
  before(async () => {
    store = await openStore({ url: 'sqlite::memory:' });
    rig.vault = new PiiVault({
      tenant: 'acme',
      keys: deriveTenantPiiKeys('acme', randomBytes(32)),
      repository: store.vault,
    });
    rig.boundary = new PiiBoundary({ vault: rig.vault });
  });
  after(() => store?.close());
  return rig;
}

describe('the redaction boundary: SDK unions', () => {
  const rig = useVault();

  const cases: [OutboundKind, unknown][] = [
    ['request', ServerRequestSchema],
    ['notification', ServerNotificationSchema],
  ];
  for (const [kind, union] of cases) {
    it(`routes and redacts every ${kind} of the SDK's Server${kind === 'request' ? 'Request' : 'Notification'} union`, async () => {
      const methods = members(union).map(methodOf);
      assert.ok(methods.length >= 4, 'the union was read');
      for (const method of methods) {
        assert.ok(outboundRoute(kind, method), `${kind} ${method} is routed through the boundary`);
        const message = {
          jsonrpc: '2.0',
          method,
          params: hostilePayload(),
          ...(kind === 'request' ? { id: 7 } : {}),
        };
        const safe = await rig.boundary.toAgent(message);
        assert.ok(safe, `${method} is delivered`);
        assert.equal(safe.method, method);
        assertClean(safe, method);
      }
    });
  }

  it('routes the result of every request an agent may send (ClientRequest union) and redacts each', async () => {
    const methods = members(ClientRequestSchema).map(methodOf);
    for (const method of methods) {
      assert.ok(outboundRoute('result', method), `the result of ${method} is routed through the boundary`);
      const safe = await rig.boundary.toAgent(
        { jsonrpc: '2.0', id: 1, result: hostilePayload() },
        { answers: method },
      );
      assertClean(safe, `result of ${method}`);
    }
    for (const method of AGENT_METHODS)
      assert.ok(outboundRoute('result', method), `endpoint method ${method}`);
  });

  it('redacts every field of every ServerResult shape, whatever the answered method', async () => {
    for (const schema of members(ServerResultSchema)) {
      const fields = Object.fromEntries(Object.keys(shapeOf(schema)).map((k) => [k, `${k} of ${EMAIL}`]));
      const safe = await rig.boundary.toAgent({ jsonrpc: '2.0', id: 2, result: hostilePayload(fields) });
      assertClean(safe, `result with ${Object.keys(fields).join(',')}`);
    }
  });

  it('redacts JSON-RPC errors from upstreams: message and data', async () => {
    const safe = await rig.boundary.toAgent({
      jsonrpc: '2.0',
      id: 3,
      error: {
        code: -32602,
        message: `no such customer ${EMAIL}`,
        data: { uri: `crm://${EMAIL}`, card: CARD },
      },
    });
    assertClean(safe, 'error');
    assert.equal(part<{ code: number }>(safe, 'error').code, -32602);
  });
});

describe('the redaction boundary: kept fields and taint', () => {
  const rig = useVault();

  it('keeps tool and prompt names in lists, binary data and the agent progress token as they are', async () => {
    const blob = Buffer.from(`${EMAIL}`).toString('base64');
    const safe = await rig.boundary.toAgent(
      { jsonrpc: '2.0', id: 4, result: { tools: [{ name: 'lookup', description: `for ${EMAIL}` }] } },
      { answers: 'tools/list' },
    );
    assert.deepEqual(part<{ tools: { name: string }[] }>(safe, 'result').tools[0]?.name, 'lookup');
    assertClean(safe, 'tools/list');
    const image = await rig.boundary.toAgent({
      jsonrpc: '2.0',
      method: 'notifications/progress',
      params: { progressToken: 'p-1', progress: 1, message: EMAIL, data: blob, type: 'image' },
    });
    assert.equal(part<{ data: string }>(image, 'params').data, blob);
    assert.equal(part<{ progressToken: string }>(image, 'params').progressToken, 'p-1');
  });

  it('taint: a de-tokenized value comes back as its token, glued to other characters or not', async () => {
    const token = await rig.vault.tokenize('CARD', CARD);
    const taint = new RequestTaint();
    const args = await detokenizeArguments(rig.vault, { message: `X${token}Y` }, new Map(), { taint });
    assert.deepEqual(args, { message: `X${CARD}Y` });
    const reflected = {
      content: [{ type: 'text', text: `X${CARD}Y` }],
      structuredContent: { m: `X${CARD}Y` },
    };
    const safe = await rig.boundary.toAgent(
      { jsonrpc: '2.0', id: 5, result: reflected },
      { answers: 'tools/call', taint },
    );
    assertClean(safe, 'glued echo');
    assert.ok(JSON.stringify(safe).includes(`X${token}Y`), 'the same token goes back');
    const log = await rig.boundary.toAgent(
      {
        jsonrpc: '2.0',
        method: 'notifications/message',
        params: {
          level: 'info',
          data: `a${CARD.slice(0, 4)} ${CARD.slice(4, 8)} ${CARD.slice(8, 12)} ${CARD.slice(12)}b`,
        },
      },
      { taint },
    );
    assertClean(log, 'spaced variant in a log message');
    const email = await rig.vault.tokenize('EMAIL', EMAIL);
    await detokenizeArguments(rig.vault, [email], new Map(), { taint });
    const upper = await rig.boundary.toAgent(
      {
        jsonrpc: '2.0',
        method: 'notifications/message',
        params: { level: 'info', data: `zz${EMAIL.toUpperCase()}zz` },
      },
      { taint },
    );
    assert.ok(!JSON.stringify(upper).toLowerCase().includes(EMAIL), 'case variants of a tainted e-mail');
  });
});

describe('the redaction boundary: redacted results, logs and blocked classes', () => {
  const rig = useVault();

  it('a result the PII stage already redacted passes the transport without a second scan', async () => {
    const taint = new RequestTaint();
    taint.resultRedacted = true;
    const message = { jsonrpc: '2.0', id: 9, result: { text: 'already redacted upstream of here' } };
    assert.equal(await rig.boundary.toAgent(message, { answers: 'tools/call', taint }), message);
    const error = await rig.boundary.toAgent(
      { jsonrpc: '2.0', id: 9, error: { code: 1, message: EMAIL } },
      { taint },
    );
    assertClean(error, 'errors are always redacted');
  });

  it('log lines: tainted values become tokens, detected data is masked', async () => {
    const token = await rig.vault.tokenize('CARD', CARD);
    const taint = new RequestTaint();
    taint.record(token, 'CARD', CARD);
    const line = redactLogText(`stderr: X${CARD}Y mail ${EMAIL}`, { taints: [taint] });
    assert.equal(line, `stderr: X${token}Y mail [MASKED:EMAIL]`);
  });

  it('a result holding a blocked class becomes AIRLOCK_PII_BLOCKED; a notification holding one is dropped', async () => {
    const strict = new PiiBoundary({ vault: rig.vault, policy: { actions: { CARD: 'block' } } });
    const result = await strict.toAgent({
      jsonrpc: '2.0',
      id: 6,
      result: { content: [{ type: 'text', text: CARD }] },
    });
    assert.equal(part<{ data: { airlock: string } }>(result, 'error').data.airlock, 'AIRLOCK_PII_BLOCKED');
    assertClean(result, 'blocked result');
    assert.equal(
      await strict.toAgent({ jsonrpc: '2.0', method: 'notifications/message', params: { data: CARD } }),
      undefined,
    );
  });
});

describe('session token scope', () => {
  const rig = useVault();

  it('gives a value another token in another session and refuses tokens across sessions', async () => {
    const boundary = new PiiBoundary({ vault: rig.vault, policy: { tokenScope: 'session' } });
    const out = async (sessionId: string) => {
      const safe = await boundary.toAgent(
        { jsonrpc: '2.0', id: 1, result: { text: EMAIL } },
        { answers: 'tools/call', sessionId },
      );
      return part<{ text: string }>(safe, 'result').text;
    };
    const a = await out('session-a');
    const b = await out('session-b');
    assert.match(a, /^\[\[EMAIL:[0-9a-f]{8,}\]\]$/);
    assert.notEqual(a, b, 'the same value, another session: another token');
    assert.equal(await out('session-a'), a, 'stable within a session');

    const scopeA = boundary.scopeFor({ sessionId: 'session-a' });
    const scopeB = boundary.scopeFor({ sessionId: 'session-b' });
    assert.deepEqual(await detokenizeArguments(rig.vault, { to: a }, new Map(), { scope: scopeA }), {
      to: EMAIL,
    });
    await assert.rejects(
      detokenizeArguments(rig.vault, { to: a }, new Map(), { scope: scopeB }),
      (err: unknown) =>
        err instanceof WireError && err.airlockCode === PII_TOKEN_SCOPE_ERROR && !err.message.includes(EMAIL),
    );
    const tenantWide = await rig.vault.tokenize('EMAIL', 'other@example.com');
    await assert.rejects(
      detokenizeArguments(rig.vault, [tenantWide], new Map(), { scope: scopeA }),
      /another session/,
    );
    const list = async (sessionId: string) =>
      part<unknown>(
        await boundary.toAgent(
          { jsonrpc: '2.0', id: 2, result: { resources: [{ uri: `crm://${EMAIL}`, name: 'r' }] } },
          { answers: 'resources/list', sessionId },
        ),
        'result',
      );
    const listA = await list('session-a');
    assertClean(listA, 'resources/list');
    assert.deepEqual(await list('session-a'), listA, 'a cached list is the same within its session');
    assert.notDeepEqual(await list('session-b'), listA, 'and per session, not shared across sessions');
    const tenant = new PiiBoundary({ vault: rig.vault });
    assert.equal(tenant.scopeFor({ sessionId: 'session-a' }), undefined, 'tenant scope is the default');
  });

  it('routes cover what the table promises', () => {
    for (const kind of Object.keys(OUTBOUND_ROUTES) as OutboundKind[]) {
      for (const method of Object.keys(OUTBOUND_ROUTES[kind])) assert.ok(outboundRoute(kind, method));
    }
    assert.equal(outboundRoute('result', 'toString'), undefined, 'no prototype lookups');
  });
});
