/**
 * Budgets and limits end to end (real TLS, real SDK clients, real stdio upstream): each limit refuses
 * with -32004, `data.airlock` naming it, and `data.limit` / `data.value` giving the policy name and value.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ProtocolError } from '@modelcontextprotocol/client';
import { watchDecisions } from './decision-watch.js';
import { type GatewayHarness, resultText, startGateway } from './gateway-harness.js';

const POLICY = `
version: 1
catalog: { mode: tofu }
identities:
  - name: rate-bot
    roles: [agent]
    limits: { rate: { perSecond: 0.01, burst: 3 } }
  - name: turn-bot
    roles: [agent]
    limits: { turnBudget: 2 }
  - name: conc-bot
    roles: [agent]
    limits: { concurrencyPerTool: 1 }
  - name: size-bot
    roles: [agent]
    limits: { maxRequestBytes: 1024, maxResponseBytes: 2048 }
  - name: slow-bot
    roles: [agent]
    limits: { upstreamTimeoutMs: 200 }
roles:
  agent:
    tools: ["gw.*"]
tools:
  - match: gw.transfer
    tier: approve
  - match: "gw.*"
    tier: auto
limits:
  rate: { perSecond: 1000, burst: 1000 }
`;

let gateway: GatewayHarness;

before(async () => {
  gateway = await startGateway({
    policyYaml: POLICY,
    agents: ['rate-bot', 'turn-bot', 'conc-bot', 'size-bot', 'slow-bot'],
  });
});

after(async () => {
  await gateway.close();
});

function limitHit(airlock: string, limit: string, value: number, message: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof ProtocolError, String(err));
    assert.equal(err.code, -32004);
    const data = err.data as { airlock: string; limit: string; value: number };
    assert.equal(data.airlock, airlock);
    assert.equal(data.limit, limit);
    assert.equal(data.value, value);
    assert.match(err.message, message);
    return true;
  };
}

describe('budgets and limits: rate and turns', () => {
  it('rate limit per identity (token bucket): refused once the burst is spent, with retryAfterMs', async () => {
    const client = await gateway.connect('rate-bot', 'modern');
    const outcomes: unknown[] = [];
    for (let i = 0; i < 5; i++) {
      outcomes.push(
        await client.callTool({ name: 'gw.echo', arguments: { text: `${i}` } }).catch((e: unknown) => e),
      );
    }
    const refused = outcomes.filter((o) => o instanceof ProtocolError);
    assert.ok(refused.length >= 2, 'burst of 3, no refill to speak of: at least 2 of 5 refused');
    assert.ok(!(outcomes[0] instanceof ProtocolError), 'the first call passes');
    limitHit(
      'AIRLOCK_LIMIT_RATE',
      'rate',
      0.01,
      /Rate limit exceeded for identity 'rate-bot'.*burst 3/,
    )(refused[0]);
    assert.ok(((refused[0] as ProtocolError).data as { retryAfterMs: number }).retryAfterMs > 0);
  });

  it('turn budget: per session in the legacy era, per identity and window in the modern era', async () => {
    const legacy = await gateway.connect('turn-bot', 'legacy');
    for (let i = 0; i < 2; i++) await legacy.callTool({ name: 'gw.echo', arguments: { text: 'x' } });
    await assert.rejects(
      legacy.callTool({ name: 'gw.echo', arguments: { text: 'x' } }),
      limitHit(
        'AIRLOCK_LIMIT_TURNS',
        'turnBudget',
        2,
        /Turn budget exhausted: this session already made 2 tool calls/,
      ),
    );
    // Listing is not a turn.
    assert.ok((await legacy.listTools()).tools.length > 0);
    const fresh = await gateway.connect('turn-bot', 'legacy');
    assert.equal(
      resultText(await fresh.callTool({ name: 'gw.echo', arguments: { text: 'new session' } })),
      'new session',
    );

    const modern = await gateway.connect('turn-bot', 'modern');
    for (let i = 0; i < 2; i++) await modern.callTool({ name: 'gw.echo', arguments: { text: 'x' } });
    await assert.rejects(
      modern.callTool({ name: 'gw.echo', arguments: { text: 'x' } }),
      limitHit('AIRLOCK_LIMIT_TURNS', 'turnBudget', 2, /identity 'turn-bot' in the current 60-minute window/),
    );
    const another = await gateway.connect('turn-bot', 'modern');
    await assert.rejects(
      another.callTool({ name: 'gw.echo', arguments: { text: 'x' } }),
      /Turn budget exhausted/,
    );
  });
});

describe('budgets and limits: concurrency and sizes', () => {
  it('concurrency per tool: a second simultaneous call is refused, and the slot is freed afterwards', async () => {
    const client = await gateway.connect('conc-bot', 'legacy');
    const decisions = watchDecisions();
    const first = client.callTool({ name: 'gw.slow', arguments: { ms: 3_000 } });
    // Past the budget stage (authorize comes after it), the first call holds the tool's one slot.
    await decisions.seen(
      'the first call admitted',
      (m) =>
        m.identity?.name === 'conc-bot' &&
        m.method === 'tools/call' &&
        m.decision.stage === 'authorize' &&
        m.decision.outcome === 'allow',
    );
    decisions.close();
    await assert.rejects(
      client.callTool({ name: 'gw.slow', arguments: { ms: 10 } }),
      limitHit(
        'AIRLOCK_LIMIT_CONCURRENCY',
        'concurrencyPerTool',
        1,
        /Too many concurrent calls of tool 'gw\.slow'/,
      ),
    );
    // Another tool is not affected.
    assert.equal(
      resultText(await client.callTool({ name: 'gw.echo', arguments: { text: 'other' } })),
      'other',
    );
    assert.equal(resultText(await first), 'slept 3000');
    assert.equal(resultText(await client.callTool({ name: 'gw.slow', arguments: { ms: 1 } })), 'slept 1');
  });

  it('request and response size limits', async () => {
    const client = await gateway.connect('size-bot', 'modern');
    await assert.rejects(
      client.callTool({ name: 'gw.search', arguments: { query: 'q'.repeat(2000) } }),
      limitHit(
        'AIRLOCK_LIMIT_REQUEST_SIZE',
        'maxRequestBytes',
        1024,
        /Request too large: \d+ bytes .* maxRequestBytes = 1024/,
      ),
    );
    assert.equal(
      resultText(await client.callTool({ name: 'gw.big', arguments: { bytes: 100 } })).length,
      100,
    );
    await assert.rejects(
      client.callTool({ name: 'gw.big', arguments: { bytes: 5000 } }),
      limitHit(
        'AIRLOCK_LIMIT_RESPONSE_SIZE',
        'maxResponseBytes',
        2048,
        /result of tool 'gw\.big' is \d+ bytes/,
      ),
    );
  });
});

describe('budgets and limits: upstream timeout', () => {
  it('upstream timeout: the call is cancelled and refused naming the limit', async () => {
    const client = await gateway.connect('slow-bot', 'legacy');
    // The upstream would answer after ten minutes: only the 200 ms budget can end the call in time.
    await assert.rejects(
      client.callTool({ name: 'gw.slow', arguments: { ms: 600_000 } }),
      limitHit(
        'AIRLOCK_LIMIT_TIMEOUT',
        'upstreamTimeoutMs',
        200,
        /tool 'gw\.slow' took longer than upstreamTimeoutMs = 200 ms/,
      ),
    );
    assert.equal(resultText(await client.callTool({ name: 'gw.slow', arguments: { ms: 10 } })), 'slept 10');
  });

  it('upstream timeout does not count the time a person takes to approve', async () => {
    const client = await gateway.connect('slow-bot', 'legacy');
    // Approved after 600 ms, three times the 200 ms upstream timeout: the call still runs.
    const result = await client.callTool({
      name: 'gw.transfer',
      arguments: { amount: 600, to: 'patient-alice' },
    });
    assert.notEqual(result.isError, true, resultText(result));
  });
});
