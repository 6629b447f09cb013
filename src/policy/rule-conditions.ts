/**
 * `when:` conditions of a `tools:` rule: the rule decides the tier only when every condition it lists
 * holds (and its `match` matches). Conditions:
 *
 * - `arguments`: a JSON Schema 2020-12 fragment the validated arguments must satisfy (compiled with the
 *   gateway's Ajv, src/policy/argument-validator.ts);
 * - `endUser`: claims of the verified end-user token (`sub`, `iss`, and any other claim the connector
 *   passes on); each listed claim must equal one of the listed values (for an array claim: contain one);
 *   no end user → the condition does not hold;
 * - `agent`: attributes of the agent identity, matched the same way: `name`, `spiffeId`, `subject`,
 *   `clientId`, `issuer`, `authenticatedBy`, `scopes`, `roles`;
 * - `time`: days, hours (`HH:MM-HH:MM`) and IANA time zone (src/policy/time-window.ts), read from the
 *   stage's injected clock.
 *
 * Validation (at load, with the line of the offending key): a condition that can never hold (empty
 * `days`, an hour range starting where it ends, an unsatisfiable schema where detectable, an empty
 * value list) is an error.
 *
 * @example
 * ```yaml
 * tools:
 *   - name: big-adjustments
 *     match: erp.adjust_invoice_status
 *     when:
 *       arguments: { properties: { amount: { exclusiveMinimum: 10000 } }, required: [amount] }
 *       endUser: { groups: [finance] }
 *       time: { days: [mon, tue, wed, thu, fri], hours: "09:00-17:00", timeZone: Europe/Berlin }
 *     tier: approve
 * ```
 */
import { z } from 'zod';
import { suggest } from '../config/did-you-mean.js';
import { type CompiledSchema, SchemaValidatorCache } from './argument-validator.js';
import { unsatisfiable } from './schema-satisfiability.js';
import { compileTimeWindow, timeWindowProblems, WEEKDAYS } from './time-window.js';

/** Agent attributes a condition may name. */
export const AGENT_ATTRIBUTES = [
  'name',
  'spiffeId',
  'subject',
  'clientId',
  'issuer',
  'authenticatedBy',
  'scopes',
  'roles',
] as const;
export type AgentAttribute = (typeof AGENT_ATTRIBUTES)[number];

const scalar = z.union([z.string(), z.number(), z.boolean()]);
const accepted = z.union([scalar, z.array(scalar).min(1, 'an empty list can never match')]);

const agentConditionSchema = z.record(z.string(), accepted).superRefine((attrs, ctx) => {
  for (const key of Object.keys(attrs)) {
    if ((AGENT_ATTRIBUTES as readonly string[]).includes(key)) continue;
    const hint = suggest(key, AGENT_ATTRIBUTES);
    ctx.addIssue({
      code: 'custom',
      path: [key],
      message: `unknown agent attribute "${key}"${hint ? ` (did you mean "${hint}"?)` : ` (known: ${AGENT_ATTRIBUTES.join(', ')})`}`,
    });
  }
});

export const timeConditionSchema = z
  .strictObject({
    days: z.array(z.enum(WEEKDAYS)).optional(),
    hours: z.string().optional(),
    timeZone: z.string().optional(),
  })
  .superRefine((spec, ctx) => {
    for (const p of timeWindowProblems(spec))
      ctx.addIssue({ code: 'custom', path: [p.path], message: p.message });
  });

/** The `when:` block as written. */
export const ruleConditionsSchema = z
  .strictObject({
    arguments: z.record(z.string(), z.unknown()).optional(),
    endUser: z.record(z.string(), accepted).optional(),
    agent: agentConditionSchema.optional(),
    time: timeConditionSchema.optional(),
  })
  .superRefine((when, ctx) => {
    if (Object.values(when).every((v) => v === undefined)) {
      ctx.addIssue({
        code: 'custom',
        message: '"when" needs at least one of: arguments, endUser, agent, time',
      });
    }
    if (when.arguments === undefined) return;
    for (const p of unsatisfiable(when.arguments)) {
      ctx.addIssue({
        code: 'custom',
        path: ['arguments'],
        message: `this condition can never hold: ${p.path ? `${p.path}: ` : ''}${p.message}`,
      });
    }
  });
export type RuleConditions = z.infer<typeof ruleConditionsSchema>;

/** What conditions are evaluated against, for one `tools/call`. */
export interface ConditionFacts {
  /** The validated (stripped) arguments. */
  arguments: Record<string, unknown>;
  /** The agent's attributes (`roles` are filled in by the engine). */
  agent?: Partial<Record<AgentAttribute, unknown>>;
  /** The verified end user: `sub`, `iss` and any further claims. */
  endUser?: Record<string, unknown>;
  /** Epoch ms (the stage's clock). */
  now: number;
}

/** A compiled `when:` block. */
export interface CompiledConditions {
  /** The `arguments` fragment, when there is one (for checks against pinned schemas). */
  readonly argumentsSchema: Record<string, unknown> | undefined;
  /** Names the conditions read, for decisions: e.g. `['arguments', 'time']`. */
  readonly kinds: string[];
  holds(facts: ConditionFacts): boolean;
}

/**
 * Compiles a validated `when:` block; `validators` compiles the `arguments` fragment (shared by the
 * rules of one policy).
 */
export function compileConditions(
  when: RuleConditions,
  validators: SchemaValidatorCache,
  key: string,
): CompiledConditions {
  const window = when.time ? compileTimeWindow(when.time) : undefined;
  const args = when.arguments;
  const compiled: CompiledSchema | undefined = args ? validators.get(key, () => args) : undefined;
  const checks: ((facts: ConditionFacts) => boolean)[] = [];
  if (compiled) {
    checks.push((f) => {
      // Validated at load; should it still not compile, no rule may be skipped silently (fail closed).
      if (!compiled.ok) throw new Error(`the arguments condition cannot be compiled: ${compiled.reason}`);
      return compiled.validate(f.arguments) === true;
    });
  }
  if (when.agent) {
    const wanted = when.agent;
    checks.push((f) => f.agent !== undefined && attributesMatch(wanted, f.agent));
  }
  if (when.endUser) {
    const wanted = when.endUser;
    checks.push((f) => f.endUser !== undefined && attributesMatch(wanted, f.endUser));
  }
  if (window) checks.push((f) => window.contains(f.now));
  return {
    argumentsSchema: args,
    kinds: Object.keys(when).filter((k) => when[k as keyof RuleConditions] !== undefined),
    holds: (facts) => checks.every((check) => check(facts)),
  };
}

/** A cache sized for the rules of one policy. */
export function conditionValidators(rules: number): SchemaValidatorCache {
  return new SchemaValidatorCache({ maxEntries: Math.max(1, rules) });
}

/** Every listed attribute present with (for arrays: containing) one of the listed values. */
function attributesMatch(wanted: Record<string, unknown>, actual: Record<string, unknown>): boolean {
  for (const [key, spec] of Object.entries(wanted)) {
    const allowed = Array.isArray(spec) ? spec : [spec];
    const value = actual[key];
    const present = Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
    if (!present.some((v) => allowed.includes(v as string | number | boolean))) return false;
  }
  return true;
}
