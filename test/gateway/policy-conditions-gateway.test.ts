/**
 * `when:` conditions through the whole pipeline (real TLS, real SDK clients of both eras, a real stdio
 * upstream): the same tool runs at once below an argument threshold and waits for a human above it; a
 * time-window rule (injected clock, Europe/Berlin) refuses outside its window and names the rule; a
 * policy whose condition names a property the pinned schema lacks refuses the tool with a clear error.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ProtocolError } from '@modelcontextprotocol/client';
import { authenticate } from '../../src/gateway/stages/authenticate-stage.js';
import { authorize } from '../../src/gateway/stages/authorize-stage.js';
import { budget } from '../../src/gateway/stages/budget-stage.js';
import { catalogStage } from '../../src/gateway/stages/catalog-stage.js';
import { tier } from '../../src/gateway/stages/tier-stage.js';
import { validate } from '../../src/gateway/stages/validate-stage.js';
import { parsePolicy } from '../../src/policy/policy-loader.js';
import { type Era, type GatewayHarness, resultText, startGateway } from './gateway-harness.js';

const POLICY = `
catalog: { mode: tofu }
identities: [{ name: claims-bot, roles: [agent] }]
roles: { agent: { tools: ["gw.*"] } }
tools:
  - name: business-hours-echo
    match: gw.echo
    when: { time: { days: [mon, tue, wed, thu, fri], hours: "09:00-17:00", timeZone: Europe/Berlin } }
    tier: auto
  - name: echo-outside-hours
    match: gw.echo
    tier: block
  - name: small-transfers
    match: gw.transfer
    when: { arguments: { properties: { amount: { maximum: 100 } }, required: [amount] } }
    tier: auto
  - match: gw.transfer
    tier: approve
limits: { rate: { perSecond: 1000, burst: 1000 } }
`;

// Wednesday 2026-01-07 12:00 UTC = 13:00 in Berlin.
const clock = { now: Date.UTC(2026, 0, 7, 12, 0) };
let gateway: GatewayHarness;

before(async () => {
  gateway = await startGateway({
    policyYaml: POLICY,
    agents: ['claims-bot'],
    stages: ({ policy, pinning, approvals, kit }) => [
      authenticate({ identities: kit.store.identities }),
      budget({ policy }),
      authorize({ policy }),
      catalogStage({ pinning }),
      validate({ policy, definitions: pinning }),
      tier({ policy, approvals, now: () => clock.now }),
    ],
  });
});

after(async () => {
  await gateway.close();
});

function refused(code: number, airlock: string, ...parts: string[]) {
  return (err: unknown) => {
    assert.ok(err instanceof ProtocolError, String(err));
    assert.equal(err.code, code);
    assert.equal((err.data as { airlock?: string }).airlock, airlock);
    for (const part of parts)
      assert.ok(err.message.includes(part), `"${err.message}" should include "${part}"`);
    return true;
  };
}

for (const era of ['modern', 'legacy'] as const satisfies readonly Era[]) {
  describe(`conditions through the gateway, ${era} era`, () => {
    it('the same tool auto-runs below the threshold and waits for approval above it', async () => {
      const client = await gateway.connect('claims-bot', era);
      const asked = gateway.approvals.requests.length;
      const small = await client.callTool({ name: 'gw.transfer', arguments: { amount: 100, to: 'bob' } });
      assert.equal(resultText(small), 'transferred 100 to bob');
      assert.equal(gateway.approvals.requests.length, asked, 'no human was asked');
      const big = await client.callTool({ name: 'gw.transfer', arguments: { amount: 101, to: 'bob' } });
      assert.equal(big.isError, true);
      assert.match(resultText(big), /waiting for a human approval/);
      assert.equal(gateway.approvals.requests.length, asked + 1);
      // Approved above the threshold: runs (the test queue approves payments to alice).
      const approved = await client.callTool({
        name: 'gw.transfer',
        arguments: { amount: 5000, to: 'alice' },
      });
      assert.equal(resultText(approved), 'transferred 5000 to alice');
    });

    it('a time-window rule refuses outside its window, by the injected clock', async () => {
      const client = await gateway.connect('claims-bot', era);
      clock.now = Date.UTC(2026, 0, 7, 12, 0);
      assert.equal(resultText(await client.callTool({ name: 'gw.echo', arguments: { text: 'hi' } })), 'hi');
      for (const outside of [
        Date.UTC(2026, 0, 10, 12, 0), // Saturday noon
        Date.UTC(2026, 0, 7, 16, 0), // Wednesday 17:00 in Berlin (the excluded end)
        Date.UTC(2026, 0, 7, 7, 59), // Wednesday 08:59 in Berlin
      ]) {
        clock.now = outside;
        await assert.rejects(
          client.callTool({ name: 'gw.echo', arguments: { text: 'hi' } }),
          refused(
            -32003,
            'AIRLOCK_TOOL_BLOCKED',
            "Tool 'gw.echo' is blocked by policy",
            "'echo-outside-hours'",
          ),
        );
      }
      clock.now = Date.UTC(2026, 0, 12, 8, 0); // Monday 09:00 in Berlin
      assert.equal(
        resultText(await client.callTool({ name: 'gw.echo', arguments: { text: 'again' } })),
        'again',
      );
    });
  });
}

describe('conditions checked against the pinned schema at first use', () => {
  it('a condition on an undeclared property refuses the tool and names the rule', async () => {
    const client = await gateway.connect('claims-bot', 'modern');
    const previous = gateway.policy.engine;
    gateway.policy.engine = parsePolicy(
      `identities: [{ name: claims-bot, roles: [agent] }]
roles: { agent: { tools: ["gw.*"] } }
tools:
  - name: typo-threshold
    match: gw.transfer
    when: { arguments: { properties: { amout: { maximum: 100 } } } }
    tier: auto
  - { match: gw.transfer, tier: block }
`,
      'reloaded.yaml',
    ).engine;
    try {
      await assert.rejects(
        client.callTool({ name: 'gw.transfer', arguments: { amount: 1, to: 'bob' } }),
        refused(
          -32603,
          'AIRLOCK_POLICY_CONDITION_INVALID',
          "rule 'typo-threshold' (tools[0])",
          'arguments.amout is not a property',
          'did you mean "amount"',
        ),
      );
    } finally {
      gateway.policy.engine = previous;
    }
    assert.equal(
      resultText(await client.callTool({ name: 'gw.transfer', arguments: { amount: 1, to: 'bob' } })),
      'transferred 1 to bob',
    );
  });
});
