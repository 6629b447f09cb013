/**
 * `when:` conditions on tool rules: arguments (JSON Schema), agent attributes, end-user claims and time
 * windows (IANA zones, injected clock); first rule whose match and conditions hold decides; conditions
 * that can never hold; conditions naming properties a pinned schema lacks.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePolicy } from '../../src/policy/policy-loader.js';
import { unsatisfiable } from '../../src/policy/schema-satisfiability.js';
import { compileTimeWindow } from '../../src/policy/time-window.js';

const POLICY = `
defaultTier: approve
identities:
  - { name: claims-bot, roles: [claims] }
  - { name: intern-bot, roles: [interns] }
roles:
  claims: { tools: ["erp.*"] }
  interns: { tools: ["erp.*"] }
tools:
  - name: no-weekend-refunds
    match: erp.refund
    when: { time: { days: [sat, sun], timeZone: Europe/Berlin } }
    tier: block
  - name: night-refunds
    match: erp.refund
    when: { time: { hours: "22:00-06:00", timeZone: America/New_York } }
    tier: block
  - name: small-adjustments
    match: erp.adjust
    when:
      arguments: { properties: { amount: { type: number, maximum: 10000 } }, required: [amount] }
      agent: { roles: [claims] }
    tier: auto
  - name: finance-users
    match: erp.adjust
    when: { endUser: { groups: [finance], iss: https://idp.example } }
    tier: approve
  - match: erp.adjust
    tier: block
  - match: erp.refund
    tier: auto
`;

const engine = parsePolicy(POLICY, 'inline.yaml').engine;
const claimsBot = { authenticatedBy: 'mtls', name: 'claims-bot' } as const;
const internBot = { authenticatedBy: 'mtls', name: 'intern-bot' } as const;
// Wednesday 2026-01-07 12:00 UTC (13:00 in Berlin, 07:00 in New York).
const WEDNESDAY_NOON = Date.UTC(2026, 0, 7, 12, 0);

describe('decideTier', () => {
  it('arguments and agent roles: the same tool runs below the threshold and is refused above it', () => {
    const small = engine.decideTier({ tool: 'erp.adjust', arguments: { amount: 500 }, agent: claimsBot });
    assert.deepEqual(small, {
      tier: 'auto',
      rule: { index: 2, name: 'small-adjustments', conditions: ['arguments', 'agent'] },
    });
    const big = engine.decideTier({ tool: 'erp.adjust', arguments: { amount: 10_001 }, agent: claimsBot });
    assert.equal(big.tier, 'block');
    assert.equal(big.rule?.name, 'tools[4]');
    // Same small amount, but the agent lacks the role: the next rules decide.
    assert.equal(
      engine.decideTier({ tool: 'erp.adjust', arguments: { amount: 5 }, agent: internBot }).tier,
      'block',
    );
    // A string amount does not satisfy `type: number`: no bypass by changing the JSON type.
    assert.equal(
      engine.decideTier({ tool: 'erp.adjust', arguments: { amount: '5' }, agent: claimsBot }).tier,
      'block',
    );
    // Missing argument: `required` fails, so the cheap rule does not apply.
    assert.equal(engine.decideTier({ tool: 'erp.adjust', arguments: {}, agent: claimsBot }).tier, 'block');
  });

  it('end-user claims: every listed claim must match; no end user never matches', () => {
    const big = { tool: 'erp.adjust', arguments: { amount: 50_000 }, agent: claimsBot };
    const finance = {
      subject: 'alice',
      issuer: 'https://idp.example',
      claims: { groups: ['staff', 'finance'] },
    };
    assert.equal(engine.decideTier({ ...big, endUser: finance }).rule?.name, 'finance-users');
    const otherIdp = { ...finance, issuer: 'https://evil.example' };
    assert.equal(engine.decideTier({ ...big, endUser: otherIdp }).tier, 'block');
    const noGroup = { subject: 'bob', issuer: 'https://idp.example' };
    assert.equal(engine.decideTier({ ...big, endUser: noGroup }).tier, 'block');
    assert.equal(engine.decideTier(big).tier, 'block');
    // A claim named `sub`/`iss` in the extra claims cannot override the verified subject and issuer.
    const forged = {
      subject: 'bob',
      issuer: 'https://evil.example',
      claims: { iss: 'https://idp.example', groups: ['finance'] },
    };
    assert.equal(engine.decideTier({ ...big, endUser: forged }).tier, 'block');
  });

  it('time windows read the injected clock in the rule time zone', () => {
    const refund = (now: number) =>
      engine.decideTier({ tool: 'erp.refund', arguments: {}, agent: claimsBot, now });
    assert.equal(refund(WEDNESDAY_NOON).tier, 'auto');
    // Saturday 2026-01-10 00:30 in Berlin is still Friday 23:30 UTC.
    const saturdayBerlin = Date.UTC(2026, 0, 9, 23, 30);
    assert.deepEqual(refund(saturdayBerlin).rule?.name, 'no-weekend-refunds');
    // 23:00 in New York (04:00 UTC Thursday): inside the window that wraps midnight.
    assert.equal(refund(Date.UTC(2026, 0, 8, 4, 0)).rule?.name, 'night-refunds');
    // 06:00 New York is the excluded end of the window.
    assert.equal(refund(Date.UTC(2026, 0, 8, 11, 0)).tier, 'auto');
  });

  it('tierFor without a call: a tool is only "block" when every call would be blocked', () => {
    assert.equal(engine.tierFor('erp.refund'), 'approve', 'auto or block depending on the time');
    assert.equal(engine.tierFor('erp.other'), 'approve');
    const always = parsePolicy(
      'tools:\n  - { match: x.y, when: { time: { days: [mon] } }, tier: block }\n  - { match: x.y, tier: block }\n',
      'i.yaml',
    ).engine;
    assert.equal(always.tierFor('x.y'), 'block');
  });
});

describe('conditions against pinned schemas', () => {
  const pinned = {
    type: 'object',
    properties: {
      amount: { type: 'number' },
      meta: { type: 'object', properties: { reason: { type: 'string' } } },
    },
  };
  it('names the rule and the property the pinned schema does not declare', () => {
    const e = parsePolicy(
      `tools:
  - name: typo
    match: erp.adjust
    when: { arguments: { properties: { amout: { minimum: 5 }, meta: { properties: { reasn: { type: string } } } } } }
    tier: auto
`,
      'i.yaml',
    ).engine;
    assert.deepEqual(e.conditionProblemsFor('erp.adjust', pinned), [
      `rule 'typo' (tools[0]): arguments.amout is not a property of the tool's pinned input schema (did you mean "amount"?)`,
      `rule 'typo' (tools[0]): arguments.meta.reasn is not a property of the tool's pinned input schema (did you mean "reason"?)`,
    ]);
    assert.deepEqual(e.conditionProblemsFor('erp.other', pinned), [], 'other tools are not concerned');
    assert.deepEqual(
      e.conditionProblemsFor('erp.adjust', { type: 'object', additionalProperties: true }),
      [],
    );
    assert.deepEqual(engine.conditionProblemsFor('erp.adjust', pinned), []);
  });
});

describe('conditions that can never hold', () => {
  const cases: [string, unknown, string][] = [
    ['false schema', { properties: { a: false } }, 'properties.a'],
    ['not {}', { not: {} }, 'not'],
    ['empty enum', { properties: { s: { enum: [] } } }, 'properties.s.enum'],
    [
      'exclusive bounds',
      { properties: { n: { exclusiveMinimum: 5, maximum: 5 } } },
      'properties.n.exclusiveMinimum',
    ],
    ['lengths', { properties: { s: { minLength: 3, maxLength: 2 } } }, 'properties.s.minLength'],
    ['const against type', { properties: { s: { type: 'string', const: 3 } } }, 'properties.s.const'],
    ['every anyOf branch', { anyOf: [{ minimum: 3, maximum: 1 }, false] }, 'anyOf'],
  ];
  for (const [label, schema, path] of cases) {
    it(label, () => {
      const problems = unsatisfiable(schema);
      assert.ok(
        problems.some((p) => p.path === path),
        JSON.stringify(problems),
      );
    });
  }
  it('satisfiable fragments pass', () => {
    for (const schema of [
      { properties: { amount: { exclusiveMinimum: 10000 } }, required: ['amount'] },
      { properties: { s: { type: 'string', enum: ['a', 1] } } },
      { anyOf: [{ minimum: 3, maximum: 1 }, { type: 'string' }] },
      { properties: { n: { minimum: 5, maximum: 5 } } },
    ]) {
      assert.deepEqual(unsatisfiable(schema), [], JSON.stringify(schema));
    }
  });
});

describe('time windows', () => {
  it('follow daylight saving time through Intl', () => {
    const berlin = compileTimeWindow({ hours: '09:00-17:00', timeZone: 'Europe/Berlin' });
    // Winter: UTC+1, 08:30 UTC = 09:30 local. Summer: UTC+2, 07:30 UTC = 09:30 local.
    assert.equal(berlin.contains(Date.UTC(2026, 0, 7, 8, 30)), true);
    assert.equal(berlin.contains(Date.UTC(2026, 6, 7, 7, 30)), true);
    assert.equal(berlin.contains(Date.UTC(2026, 0, 7, 7, 30)), false, '08:30 local in winter');
    assert.equal(berlin.contains(Date.UTC(2026, 6, 7, 15, 0)), false, '17:00 local is the excluded end');
  });
  it('days are the local day of the instant', () => {
    const tokyoMonday = compileTimeWindow({ days: ['mon'], timeZone: 'Asia/Tokyo' });
    // Sunday 2026-01-11 20:00 UTC is Monday 05:00 in Tokyo.
    assert.equal(tokyoMonday.contains(Date.UTC(2026, 0, 11, 20, 0)), true);
    assert.equal(tokyoMonday.contains(Date.UTC(2026, 0, 12, 20, 0)), false);
  });
});
