/**
 * The connector's policy file: who may call what, at which tier, within which limits. Validated at
 * load time with zod (strict: an unknown key is an error with a "did you mean"); roles named by
 * identities must exist, glob patterns must compile, and schema fragments must be valid JSON Schema
 * 2020-12, each problem reported with its file line by `parseYamlConfig`.
 *
 * @example
 * ```yaml
 * version: 1
 * defaultTier: approve            # tools no rule names wait for a human
 * catalog:
 *   mode: review                  # new tools need an admin's approval (tofu: the first definition is pinned)
 * identities:
 *   - name: claims-bot            # an mTLS identity issued by the tenant CA
 *     roles: [claims]
 *   - spiffeId: spiffe://acme.airlock/agent/audit-bot
 *     roles: [auditor]
 *   - subject: 0oa4f2c1           # a JWT `sub` (optionally pinned to an issuer)
 *     issuer: https://idp.acme.com
 *     roles: [claims]
 *   - clientId: vendor-agent      # a JWT `client_id` / `azp`
 *     roles: [auditor]
 *     limits: { rate: { perSecond: 2, burst: 5 } }
 * roles:
 *   claims:
 *     tools: ["erp.*", "everything.echo"]
 *     resources: ["erp://claims/**"]
 *   auditor:
 *     tools: ["erp.list_*", "erp.get_*"]
 * tools:                          # first rule with a tier wins; every matching schema applies
 *   - match: "erp.delete_*"
 *     tier: block
 *   - match: "erp.list_*"
 *     tier: auto
 *   - match: "everything.echo"
 *     tier: auto
 *     schema:
 *       properties:
 *         message: { type: string, maxLength: 200 }
 * limits:
 *   rate: { perSecond: 10, burst: 20 }
 *   turnBudget: 200
 * ```
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { z } from 'zod';
import { globProblem } from '../catalog/tool-glob.js';
import { suggest } from '../config/did-you-mean.js';
import { piiPolicySchema } from '../pii/pii-policy.js';
import { ruleConditionsSchema } from './rule-conditions.js';

/** `auto` runs at once, `approve` waits for a human in the approval queue, `block` is refused. */
export const TIERS = ['auto', 'approve', 'block'] as const;
export type Tier = (typeof TIERS)[number];

/** Tier of a tool no rule names. */
export const DEFAULT_TIER: Tier = 'approve';
/** `review`: every new tool waits for an admin; `tofu`: the first definition seen is pinned. */
export const DEFAULT_CATALOG_MODE: 'tofu' | 'review' = 'review';
/** Requests per second per identity (token bucket refill rate). */
export const DEFAULT_RATE_PER_SECOND = 10;
/** Requests an identity may send at once before the rate applies (bucket size). */
export const DEFAULT_RATE_BURST = 20;
/** `tools/call`s per session (legacy) or per task/conversation (modern). */
export const DEFAULT_TURN_BUDGET = 200;
/** Calls of one tool by one identity running at the same time. */
export const DEFAULT_CONCURRENCY_PER_TOOL = 4;
/** Largest JSON-RPC request body accepted from an agent. */
export const DEFAULT_MAX_REQUEST_BYTES = 1024 * 1024;
/** Largest upstream result passed back to an agent. */
export const DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024;
/** An upstream call is abandoned after this long. */
export const DEFAULT_UPSTREAM_TIMEOUT_MS = 60_000;

const glob = z
  .string()
  .superRefine((pattern, ctx) => {
    const problem = globProblem(pattern);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .describe('glob pattern');

const roleName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'role names are letters, digits, "_", "-" or "." (max 64)');

const MIB = 1024 * 1024;

/** Limits as written: every field optional; `resolveLimits` fills in the defaults. */
export const limitsSchema = z.strictObject({
  /** Token bucket per identity: `perSecond` refill, `burst` capacity. */
  rate: z
    .strictObject({
      perSecond: z.number().positive().max(1_000_000).optional(),
      burst: z.number().int().min(1).max(1_000_000).optional(),
    })
    .optional(),
  /** `tools/call`s per session / task. */
  turnBudget: z.number().int().min(1).max(1_000_000).optional(),
  /** Concurrent calls per tool per identity. */
  concurrencyPerTool: z.number().int().min(1).max(10_000).optional(),
  maxRequestBytes: z
    .number()
    .int()
    .min(1024)
    .max(64 * MIB)
    .optional(),
  maxResponseBytes: z
    .number()
    .int()
    .min(1024)
    .max(256 * MIB)
    .optional(),
  upstreamTimeoutMs: z.number().int().min(100).max(3_600_000).optional(),
});
export type PolicyLimits = z.infer<typeof limitsSchema>;

/** Limits with every default applied, as the engine hands them out. */
export interface ResolvedLimits {
  rate: { perSecond: number; burst: number };
  turnBudget: number;
  concurrencyPerTool: number;
  maxRequestBytes: number;
  maxResponseBytes: number;
  upstreamTimeoutMs: number;
}

export const DEFAULT_LIMITS: Readonly<ResolvedLimits> = Object.freeze({
  rate: Object.freeze({ perSecond: DEFAULT_RATE_PER_SECOND, burst: DEFAULT_RATE_BURST }),
  turnBudget: DEFAULT_TURN_BUDGET,
  concurrencyPerTool: DEFAULT_CONCURRENCY_PER_TOOL,
  maxRequestBytes: DEFAULT_MAX_REQUEST_BYTES,
  maxResponseBytes: DEFAULT_MAX_RESPONSE_BYTES,
  upstreamTimeoutMs: DEFAULT_UPSTREAM_TIMEOUT_MS,
});

const SELECTORS = ['name', 'spiffeId', 'subject', 'clientId'] as const;

/**
 * Who an entry is about: exactly one selector. `name` / `spiffeId` match mTLS identities (certificates
 * issued by the tenant CA); `subject` / `clientId` match OAuth access tokens (`sub`, `client_id`/`azp`),
 * optionally only from `issuer`. Matching is exact.
 */
export const identityEntrySchema = z
  .strictObject({
    name: z.string().min(1).optional(),
    spiffeId: z
      .string()
      .regex(
        /^spiffe:\/\/[^/\s]+\/\S*$/,
        'expected a SPIFFE id, e.g. "spiffe://acme.airlock/agent/claims-bot"',
      )
      .optional(),
    subject: z.string().min(1).optional(),
    clientId: z.string().min(1).optional(),
    /** With `subject` / `clientId`: only tokens from this issuer. */
    issuer: z.string().min(1).optional(),
    roles: z.array(roleName).min(1),
    /** Overrides of the policy-wide limits for this identity. */
    limits: limitsSchema.optional(),
    description: z.string().optional(),
  })
  .superRefine((entry, ctx) => {
    const used = SELECTORS.filter((s) => entry[s] !== undefined);
    if (used.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message:
          used.length === 0
            ? `an identity entry needs exactly one of: ${SELECTORS.join(', ')}`
            : `an identity entry takes exactly one of ${SELECTORS.join(', ')}, got ${used.join(' and ')}`,
      });
    }
    if (entry.issuer !== undefined && entry.subject === undefined && entry.clientId === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['issuer'],
        message: '"issuer" only applies to "subject" or "clientId" entries',
      });
    }
  });
export type IdentityEntry = z.infer<typeof identityEntrySchema>;

export const roleSchema = z.strictObject({
  description: z.string().optional(),
  /** Tools (namespaced, e.g. `erp.list_claims`) the role may call and see in `tools/list`. */
  tools: z.array(glob).default([]),
  /** Resource URIs the role may read. */
  resources: z.array(glob).default([]),
  /** Prompts the role may get. */
  prompts: z.array(glob).default([]),
});
export type RoleDefinition = z.infer<typeof roleSchema>;

/** A JSON Schema 2020-12 object, checked by compiling it with Ajv (unknown keywords are errors). */
const schemaFragment = z.record(z.string(), z.unknown()).superRefine((fragment, ctx) => {
  const problem = jsonSchemaProblem(fragment);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** Console roles that may approve. */
export const APPROVER_ROLES = ['admin', 'supervisor'] as const;
/** Most approvers a rule may require. */
export const MAX_APPROVERS = 5;
const approverCount = z.number().int().min(1).max(MAX_APPROVERS);

export const toolRuleSchema = z
  .strictObject({
    /** Shown in decisions and refusals; default `tools[<index>]`. */
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'rule names are letters, digits, "_", "-" or "." (max 64)')
      .optional(),
    /** Glob over namespaced tool names. */
    match: glob,
    /**
     * Conditions (see src/policy/rule-conditions.ts): the rule decides the tier only when all hold.
     * Needs `tier`; schema overlays stay unconditional, so `when` and `schema` do not mix.
     */
    when: ruleConditionsSchema.optional(),
    tier: z.enum(TIERS).optional(),
    /**
     * With `tier: approve`: how many distinct principals must approve (two-person rule), optionally only
     * console accounts of the named roles. `approvers: 2` or `approvers: { count: 2, roles: [supervisor] }`.
     */
    approvers: z
      .preprocess(
        (v) => (typeof v === 'number' ? { count: v } : v),
        z.strictObject({ count: approverCount, roles: z.array(z.enum(APPROVER_ROLES)).min(1).optional() }),
      )
      .optional(),
    /**
     * A JSON Schema fragment the arguments must ALSO satisfy (allOf with the tool's own input schema):
     * it can only tighten (`maxLength`, `enum`, `pattern`, `maximum`...), never loosen.
     */
    schema: schemaFragment.optional(),
    description: z.string().optional(),
  })
  .superRefine((rule, ctx) => {
    if (rule.tier === undefined && rule.schema === undefined) {
      ctx.addIssue({ code: 'custom', message: 'a tool rule needs a "tier", a "schema", or both' });
    }
    const conditionSchema = rule.when?.arguments;
    const conditionProblem = conditionSchema ? jsonSchemaProblem(conditionSchema) : undefined;
    if (conditionProblem) {
      ctx.addIssue({ code: 'custom', path: ['when', 'arguments'], message: conditionProblem });
    }
    if (rule.approvers !== undefined && rule.tier !== 'approve') {
      ctx.addIssue({ code: 'custom', path: ['approvers'], message: '"approvers" needs "tier: approve"' });
    }
    if (rule.when !== undefined && rule.tier === undefined) {
      ctx.addIssue({ code: 'custom', path: ['when'], message: '"when" decides a tier: add "tier"' });
    }
    if (rule.when !== undefined && rule.schema !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['when'],
        message: 'schema overlays are unconditional: put "schema" in a rule of its own (without "when")',
      });
    }
  });
export type ToolRule = z.infer<typeof toolRuleSchema>;

export const policySchema = z
  .strictObject({
    version: z.literal(1).default(1),
    defaultTier: z.enum(TIERS).default(DEFAULT_TIER),
    catalog: z
      .strictObject({ mode: z.enum(['tofu', 'review']).default(DEFAULT_CATALOG_MODE) })
      .default({ mode: DEFAULT_CATALOG_MODE }),
    identities: z.array(identityEntrySchema).default([]),
    roles: z.record(roleName, roleSchema).default({}),
    /**
     * Ordered: the first rule with a `tier` whose `match` matches and whose `when` conditions hold
     * decides the tier; all matching `schema`s apply.
     */
    tools: z.array(toolRuleSchema).default([]),
    limits: limitsSchema.default({}),
    /** What happens to personal data and secrets in results: per data class, overridable per tool. */
    pii: piiPolicySchema.optional(),
  })
  .superRefine((policy, ctx) => {
    const names = new Map<string, number>();
    policy.tools.forEach((rule, i) => {
      if (rule.name === undefined) return;
      const first = names.get(rule.name);
      if (first === undefined) names.set(rule.name, i);
      else
        ctx.addIssue({
          code: 'custom',
          path: ['tools', i, 'name'],
          message: `rule name "${rule.name}" is already used by tools[${first}]`,
        });
    });
    const known = Object.keys(policy.roles);
    policy.identities.forEach((entry, i) => {
      entry.roles.forEach((role, j) => {
        if (policy.roles[role] !== undefined) return;
        const hint = suggest(role, known);
        ctx.addIssue({
          code: 'custom',
          path: ['identities', i, 'roles', j],
          message: `unknown role "${role}"${hint ? ` (did you mean "${hint}"?)` : known.length ? ` (defined roles: ${known.join(', ')})` : ' (no roles are defined)'}`,
        });
      });
    });
  });

/** A parsed, validated policy with defaults applied. */
export type Policy = z.infer<typeof policySchema>;

/**
 * Why `fragment` is not a usable JSON Schema 2020-12 (Ajv strict schema mode: unknown keywords, bad
 * keyword values, unresolvable `$ref`s), or undefined when it compiles.
 *
 * @example
 * jsonSchemaProblem({ properties: { q: { maxLenght: 5 } } }) // 'strict mode: unknown keyword: "maxLenght"'
 */
export function jsonSchemaProblem(fragment: Record<string, unknown>): string | undefined {
  const ajv = new Ajv2020({
    strict: true,
    strictTypes: false,
    strictTuples: false,
    strictRequired: false,
    allowUnionTypes: true,
    logger: false,
  });
  addFormats.default(ajv);
  try {
    ajv.compile(fragment);
    return undefined;
  } catch (cause) {
    return `invalid JSON Schema: ${(cause as Error).message}`;
  }
}
