/**
 * Policy engine decisions, table-driven, from the golden `valid-full.yaml`: roles per identity kind,
 * tool/resource/prompt authorization, tiers (first rule with a tier wins), schema overlays (all
 * matching, applied with allOf by a real JSON Schema validator), limits merging, glob semantics.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { compileGlob, compileGlobs, globProblem } from '../../src/catalog/tool-glob.js';
import { compilePolicy, type PolicyEngine, type PolicySubject } from '../../src/policy/policy-engine.js';
import { loadPolicyFile, parsePolicy } from '../../src/policy/policy-loader.js';
import { DEFAULT_LIMITS, policySchema } from '../../src/policy/policy-schema.js';

const GOLDEN = fileURLToPath(new URL('../../../test/policy/golden/', import.meta.url));

/** An mTLS agent of the golden policy's tenant. */
const mtls = (name: string, spiffeId = `spiffe://acme.airlock/agent/${name}`): PolicySubject => ({
  authenticatedBy: 'mtls',
  name,
  spiffeId,
});
const claimsBot = mtls('claims-bot');
const auditBot = mtls('audit-bot');
const user: PolicySubject = {
  authenticatedBy: 'bearer',
  subject: '0oa4f2c1',
  issuer: 'https://idp.acme.test',
};
const userFromOtherIdp: PolicySubject = { ...user, issuer: 'https://evil.example' };
const vendor: PolicySubject = { authenticatedBy: 'bearer', subject: 'svc-1', clientId: 'vendor-agent' };
const stranger = mtls('nobody');
// A token whose `sub` equals an mTLS identity name must not inherit that identity's roles.
const impersonator: PolicySubject = {
  authenticatedBy: 'bearer',
  subject: 'claims-bot',
  clientId: 'claims-bot',
};
const certNamedLikeSubject = mtls('0oa4f2c1', 'spiffe://x/y');

let engine: PolicyEngine;
before(async () => {
  engine = (await loadPolicyFile(join(GOLDEN, 'valid-full.yaml'))).engine;
});

describe('policy engine decisions: roles and authorization', () => {
  test('rolesFor: by name, SPIFFE id, subject (+issuer) and client id; never across kinds', () => {
    const table: [string, PolicySubject, string[]][] = [
      ['mTLS by name', claimsBot, ['claims']],
      ['mTLS by SPIFFE id', auditBot, ['auditor']],
      ['JWT subject from the pinned issuer', user, ['claims', 'auditor']],
      ['JWT subject from another issuer', userFromOtherIdp, []],
      ['JWT client id', vendor, ['auditor']],
      ['unknown identity', stranger, []],
      ['token named like a certificate', impersonator, []],
      ['certificate named like a token subject', certNamedLikeSubject, []],
    ];
    for (const [what, identity, roles] of table) assert.deepEqual(engine.rolesFor(identity), roles, what);
  });

  test('canCall: roles → tool globs (fail closed for unknown identities and tools)', () => {
    const table: [PolicySubject, string, boolean][] = [
      [claimsBot, 'erp.list_claims', true],
      [claimsBot, 'erp.delete_claim', true], // authorized, but the tier blocks it (below)
      [claimsBot, 'erp.a.b', true],
      [claimsBot, 'everything.echo', true],
      [claimsBot, 'everything.add', false],
      [claimsBot, 'erpx.list', false],
      [claimsBot, 'ERP.list_claims', false],
      [claimsBot, '', false],
      [auditBot, 'erp.list_claims', true],
      [auditBot, 'erp.get_claim', true],
      [auditBot, 'erp.update_claim', false],
      [auditBot, 'everything.echo', false],
      [user, 'erp.update_claim', true],
      [userFromOtherIdp, 'erp.list_claims', false],
      [vendor, 'erp.list_claims', true],
      [vendor, 'erp.update_claim', false],
      [stranger, 'erp.list_claims', false],
      [impersonator, 'erp.list_claims', false],
    ];
    for (const [identity, tool, allowed] of table) {
      assert.equal(engine.canCall(identity, tool), allowed, `${JSON.stringify(identity)} → ${tool}`);
    }
  });

  test('resources and prompts use their own globs', () => {
    assert.equal(engine.canReadResource(claimsBot, 'erp://claims/2024/17'), true);
    assert.equal(engine.canReadResource(claimsBot, 'erp://invoices/1'), false);
    assert.equal(engine.canReadResource(auditBot, 'erp://claims/1'), false);
    assert.equal(engine.canGetPrompt(claimsBot, 'erp.summarize_claim'), true);
    assert.equal(engine.canGetPrompt(claimsBot, 'erp.other'), false);
    assert.equal(engine.canGetPrompt(stranger, 'erp.summarize_claim'), false);
  });
});

describe('policy engine decisions: tiers and overlays', () => {
  test('tierFor: first rule with a tier wins, schema-only rules are skipped, else defaultTier', () => {
    const table: [string, string][] = [
      ['erp.delete_claim', 'block'],
      ['erp.list_claims', 'auto'],
      ['erp.get_claim', 'auto'],
      ['erp.update_claim', 'approve'],
      ['everything.echo', 'auto'],
      ['everything.add', 'approve'], // only a schema rule matches
      ['unknown.tool', 'approve'],
    ];
    for (const [tool, tier] of table) assert.equal(engine.tierFor(tool), tier, tool);
    const blockByDefault = compilePolicy(policySchema.parse({ defaultTier: 'block' }));
    assert.equal(blockByDefault.tierFor('anything'), 'block');
    assert.equal(compilePolicy(policySchema.parse({})).tierFor('anything'), 'approve');
  });

  test('schemaOverlayFor: every matching fragment, tightening the tool schema through allOf', () => {
    assert.equal(engine.schemaOverlayFor('erp.list_claims'), undefined);
    assert.deepEqual(engine.schemaOverlayFor('everything.add'), {
      properties: { message: { pattern: '^[^<>]*$' } },
    });
    const overlay = engine.schemaOverlayFor('everything.echo');
    assert.deepEqual(overlay, {
      allOf: [
        { properties: { message: { type: 'string', maxLength: 20 } } },
        { properties: { message: { pattern: '^[^<>]*$' } } },
      ],
    });
    // The tool's own (looser) schema plus the overlay, as the validation stage will apply it.
    const toolSchema = { type: 'object', properties: { message: { type: 'string' } }, required: ['message'] };
    const validate = new Ajv2020({ strict: false }).compile({ allOf: [toolSchema, overlay] });
    const table: [unknown, boolean][] = [
      [{ message: 'hello' }, true],
      [{ message: 'x'.repeat(21) }, false],
      [{ message: '<script>' }, false],
      [{}, false],
    ];
    for (const [args, ok] of table) assert.equal(validate(args), ok, JSON.stringify(args));
  });
});

describe('policy engine decisions: limits, defaults and immutability', () => {
  test('limitsFor: defaults ← policy limits ← identity entry limits', () => {
    assert.deepEqual(engine.limitsFor(claimsBot), {
      ...DEFAULT_LIMITS,
      rate: { perSecond: 10, burst: 20 },
      maxResponseBytes: 2_097_152,
    });
    assert.deepEqual(engine.limitsFor(vendor), {
      ...DEFAULT_LIMITS,
      rate: { perSecond: 2, burst: 20 },
      turnBudget: 20,
      maxResponseBytes: 2_097_152,
    });
    assert.deepEqual(compilePolicy(policySchema.parse({})).limitsFor(stranger), DEFAULT_LIMITS);
    // Several entries for one identity: roles are combined, limits applied in file order.
    const layered = parsePolicy(
      [
        'roles: { a: { tools: ["a.*"] }, b: { tools: ["b.*"] } }',
        'identities:',
        '  - name: bot',
        '    roles: [a]',
        '    limits: { turnBudget: 5, rate: { burst: 3 } }',
        '  - spiffeId: spiffe://acme.airlock/agent/bot',
        '    roles: [b, a]',
        '    limits: { turnBudget: 7 }',
        '',
      ].join('\n'),
      'layered.yaml',
    ).engine;
    const bot: PolicySubject = {
      authenticatedBy: 'mtls',
      name: 'bot',
      spiffeId: 'spiffe://acme.airlock/agent/bot',
    };
    assert.deepEqual(layered.rolesFor(bot), ['a', 'b']);
    assert.equal(layered.canCall(bot, 'b.x'), true);
    assert.deepEqual(layered.limitsFor(bot), {
      ...DEFAULT_LIMITS,
      rate: { perSecond: DEFAULT_LIMITS.rate.perSecond, burst: 3 },
      turnBudget: 7,
    });
  });

  test('catalog mode and secure defaults', () => {
    assert.equal(engine.catalogMode, 'tofu');
    const empty = compilePolicy(policySchema.parse({}));
    assert.equal(empty.catalogMode, 'review');
    assert.equal(empty.canCall(claimsBot, 'erp.list_claims'), false);
  });

  test('the compiled policy is a frozen copy: mutating the source or the answer changes nothing', () => {
    const source = policySchema.parse({
      roles: { r: { tools: ['erp.*'] } },
      identities: [{ name: 'claims-bot', roles: ['r'] }],
      tools: [{ match: 'erp.*', tier: 'auto', schema: { properties: { q: { maxLength: 3 } } } }],
    });
    const e = compilePolicy(source);
    source.tools[0]!.tier = 'block';
    (source.roles.r as { tools: string[] }).tools.push('*');
    assert.equal(e.tierFor('erp.x'), 'auto');
    assert.equal(e.canCall(claimsBot, 'other.x'), false);
    const overlay = e.schemaOverlayFor('erp.x') as { properties: Record<string, unknown> };
    assert.throws(() => {
      overlay.properties.q = {};
    }, TypeError);
  });
});

describe('tool globs', () => {
  test('anchored, case-sensitive matching with * . ** ? {a,b}', () => {
    const table: [string, string, boolean][] = [
      ['erp.*', 'erp.list_claims', true],
      ['erp.*', 'erp', false],
      ['erp.*', 'xerp.list', false],
      ['erp.*', 'erp.a/b', false],
      ['everything.echo', 'everything.echo', true],
      ['everything.echo', 'everythingXecho', false],
      ['erp.{list,get}_*', 'erp.get_claim', true],
      ['erp.{list,get}_*', 'erp.put_claim', false],
      ['erp.get_claim?', 'erp.get_claims', true],
      ['erp://claims/*', 'erp://claims/1', true],
      ['erp://claims/*', 'erp://claims/1/2', false],
      ['erp://claims/**', 'erp://claims/1/2', true],
      ['*', 'anything.at.all', true],
      ['a\\*', 'a*', true],
      ['a\\*', 'ab', false],
    ];
    for (const [pattern, name, ok] of table)
      assert.equal(compileGlob(pattern)(name), ok, `${pattern} ~ ${name}`);
    assert.equal(compileGlobs([])('x'), false);
    assert.equal(compileGlobs(['a.*', 'b.*'])('b.x'), true);
  });

  test('negation, empty and whitespace patterns are refused', () => {
    for (const bad of ['!erp.*', '', 'erp .x']) {
      assert.ok(globProblem(bad), bad);
      assert.throws(() => compileGlob(bad), TypeError);
    }
    assert.equal(globProblem('erp.*'), undefined);
  });
});
