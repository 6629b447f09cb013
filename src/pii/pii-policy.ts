/**
 * What happens to each data class found in a result, with per-tool overrides and tenant patterns.
 *
 * | action | result shows | reversible |
 * |---|---|---|
 * | `tokenize` | `[[EMAIL:7f3a9c21]]` (same value → same token; agents may pass it back) | yes, by this connector only |
 * | `mask` | `[MASKED:CARD:…1111]` (cards, IBANs, phones keep their last 4) or `[MASKED:SECRET]` | no |
 * | `hash` | `[HASH:EMAIL:1f0c…]` (keyed, so it joins but cannot be brute-forced offline) | no |
 * | `allow` | the value itself | — |
 * | `block` | nothing: the whole result is refused | — |
 *
 * Defaults: personal data is tokenized so agents can still look records up and pass them on; secrets
 * are masked, because a reversible secret token would let any agent make the connector use the secret
 * for it; nothing is blocked. Tool overrides are matched in order with the policy's glob syntax; the
 * first override that names a class decides it.
 *
 * @example
 * ```yaml
 * pii:
 *   actions: { NAME: mask }
 *   tools:
 *     - match: "erp.get_customer"
 *       actions: { CARD: block }
 *     - match: "hr.*"
 *       actions: { SSN: hash, NINO: hash }
 *   patterns:
 *     - { name: acme-customer-no, pattern: "ACME-\\d{6}", class: CUSTOMER_NO }
 *   phoneRegions: [DE, GB, US]
 *   tokenScope: session   # default tenant
 * ```
 */
import { z } from 'zod';
import { compileGlob, globProblem, type NameMatcher } from '../catalog/tool-glob.js';
import type { CustomPattern } from './detectors/custom-pattern.js';
import { PII_ERROR_CODES, PiiError } from './pii-errors.js';
import { BUILTIN_DETECTORS } from './pii-scanner.js';
import { BUILTIN_PII_CLASSES, type BuiltinPiiClass, PII_CLASS_PATTERN, type PiiClass } from './pii-types.js';

export const PII_ACTIONS = ['tokenize', 'mask', 'hash', 'allow', 'block'] as const;
/**
 * Where a token is valid. `tenant`: one token per value for the whole tenant (joins across agents and
 * sessions). `session`: the token also depends on the agent's session (2025-11-25 `Mcp-Session-Id`; for
 * stateless 2026-07-28 requests, the agent identity), and tokens of another session are refused.
 */
export const PII_TOKEN_SCOPES = ['tenant', 'session'] as const;
export type PiiTokenScope = (typeof PII_TOKEN_SCOPES)[number];
/** Default token scope: tenant-wide (see SECURITY.md, "guessing oracle", for when to choose `session`). */
export const DEFAULT_PII_TOKEN_SCOPE: PiiTokenScope = 'tenant';
export type PiiAction = (typeof PII_ACTIONS)[number];

/** Actions per built-in class when the policy names none. */
export const DEFAULT_PII_ACTIONS: Readonly<Record<BuiltinPiiClass, PiiAction>> = {
  EMAIL: 'tokenize',
  PHONE: 'tokenize',
  CARD: 'tokenize',
  IBAN: 'tokenize',
  SSN: 'tokenize',
  NINO: 'tokenize',
  IP: 'tokenize',
  NAME: 'tokenize',
  SECRET: 'mask',
  DNI: 'tokenize',
  NIE: 'tokenize',
  CODICE_FISCALE: 'tokenize',
  NIR: 'tokenize',
  BSN: 'tokenize',
  STEUER_ID: 'tokenize',
  ADDRESS: 'tokenize',
  POSTCODE: 'tokenize',
  DOB: 'tokenize',
};
/** Action for a tenant class no rule names. */
export const DEFAULT_CUSTOM_CLASS_ACTION: PiiAction = 'tokenize';

const pattern = z
  .object({
    name: z.string().min(1).max(64),
    pattern: z.string().min(1).max(1000),
    class: z.string().regex(PII_CLASS_PATTERN, 'an upper-case class name such as CUSTOMER_NO'),
    flags: z
      .string()
      .regex(/^[imsy]*$/)
      .optional(),
    group: z.number().int().min(0).optional(),
    priority: z.number().int().min(0).max(1000).optional(),
    confidence: z.number().min(0).max(1).optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    try {
      new RegExp(p.pattern, 'u');
    } catch (cause) {
      ctx.addIssue({ code: 'custom', path: ['pattern'], message: (cause as Error).message });
    }
  });

const actions = z.record(
  z.string().regex(PII_CLASS_PATTERN, 'an upper-case class name'),
  z.enum(PII_ACTIONS),
);

/** zod schema of the `pii:` section of a policy file (strict). */
export const piiPolicySchema = z
  .object({
    actions: actions.optional(),
    tools: z
      .array(
        z
          .object({
            match: z.string().superRefine((m, ctx) => {
              const problem = globProblem(m);
              if (problem) ctx.addIssue({ code: 'custom', message: problem });
            }),
            actions,
          })
          .strict(),
      )
      .optional(),
    patterns: z.array(pattern).optional(),
    phoneRegions: z
      .array(z.string().regex(/^[A-Z]{2}$/))
      .min(1)
      .optional(),
    disable: z.array(z.enum(BUILTIN_DETECTORS)).optional(),
    tokenScope: z.enum(PII_TOKEN_SCOPES).optional(),
  })
  .strict();

export type PiiPolicy = z.infer<typeof piiPolicySchema>;

/**
 * A validated policy, ready to answer "what do I do with class X in tool Y".
 *
 * @example
 * const policy = compilePiiPolicy({ tools: [{ match: 'erp.get_*', actions: { CARD: 'block' } }] });
 * policy.actionFor('CARD', 'erp.get_customer') // 'block'
 * policy.actionFor('CARD', 'erp.lookup_invoice') // 'tokenize'
 */
export class CompiledPiiPolicy {
  readonly source: PiiPolicy;
  readonly patterns: readonly CustomPattern[];
  /** `tenant` (default) or `session`. */
  readonly tokenScope: PiiTokenScope;
  readonly #base: ReadonlyMap<string, PiiAction>;
  readonly #tools: readonly { matches: NameMatcher; actions: ReadonlyMap<string, PiiAction> }[];

  constructor(source: PiiPolicy) {
    this.source = source;
    this.patterns = (source.patterns ?? []) as CustomPattern[];
    this.tokenScope = source.tokenScope ?? DEFAULT_PII_TOKEN_SCOPE;
    this.#base = new Map(Object.entries({ ...DEFAULT_PII_ACTIONS, ...source.actions }));
    this.#tools = (source.tools ?? []).map((t) => ({
      matches: compileGlob(t.match),
      actions: new Map(Object.entries(t.actions)),
    }));
  }

  /** The action for `cls` in the result of `target` (a tool name, prompt name or resource URI). */
  actionFor(cls: PiiClass, target?: string): PiiAction {
    if (target !== undefined) {
      for (const t of this.#tools) {
        const action = t.actions.get(cls);
        if (action && t.matches(target)) return action;
      }
    }
    return this.#base.get(cls) ?? DEFAULT_CUSTOM_CLASS_ACTION;
  }

  /** Whether every class is `allow` for `target` (nothing to scan for). */
  allowsEverything(target?: string): boolean {
    const classes = new Set<string>([...BUILTIN_PII_CLASSES, ...this.patterns.map((p) => p.class)]);
    return [...classes].every((c) => this.actionFor(c, target) === 'allow');
  }
}

/**
 * Validates and compiles a policy (e.g. the `pii:` section of the policy file). Throws `PiiError`
 * `AIRLOCK_PII_POLICY_INVALID` naming the first problem.
 */
export function compilePiiPolicy(policy: unknown = {}): CompiledPiiPolicy {
  const parsed = piiPolicySchema.safeParse(policy);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
    throw new PiiError(PII_ERROR_CODES.policy, `invalid PII policy: ${where}${issue?.message ?? 'invalid'}`);
  }
  return new CompiledPiiPolicy(parsed.data);
}
