/**
 * A compiled policy: the questions the gateway asks on every request, answered from precompiled
 * indexes and glob matchers (no I/O, no allocation beyond the answer). Fail closed throughout: an
 * identity no entry names has no roles and may call nothing.
 *
 * - `rolesFor(identity)`: roles of every entry that names the identity (file order, no duplicates).
 *   `name` / `spiffeId` entries only match mTLS identities, `subject` / `clientId` entries only match
 *   OAuth tokens, so a token whose `sub` happens to equal a certificate name gains nothing.
 * - `canCall` / `canReadResource` / `canGetPrompt`: does any of those roles list a matching glob.
 * - `decideTier(query)`: the first `tools` rule with a `tier` whose `match` matches and whose `when`
 *   conditions hold for this call (arguments, agent, end user, time); else `defaultTier`. Names the rule.
 * - `tierFor(tool)`: the tier without a call to judge: the one every call of `tool` gets, or `approve`
 *   when conditions make it depend on the call (so only an always-blocked tool is hidden from lists).
 * - `conditionProblemsFor(tool, inputSchema)`: conditions of rules for `tool` naming arguments the
 *   pinned schema does not declare.
 * - `schemaOverlayFor(tool)`: every matching rule's `schema` (allOf), or undefined.
 * - `limitsFor(identity)`: defaults ← policy `limits` ← each matching entry's `limits`, in file order.
 *
 * @example
 * const engine = compilePolicy(parseYamlConfig(text, policySchema, 'policy.yaml'));
 * const who = { authenticatedBy: 'mtls', name: 'claims-bot', spiffeId: 'spiffe://acme.airlock/agent/claims-bot' } as const;
 * engine.canCall(who, 'erp.list_claims'); // true
 * engine.tierFor('erp.delete_claim');     // 'block'
 * engine.decideTier({ tool: 'erp.refund', arguments: { amount: 20_000 }, agent: who, now: Date.now() });
 * // { tier: 'approve', rule: { index: 2, name: 'big-refunds', conditions: ['arguments'] } }
 */

import { compileGlobs, type NameMatcher } from '../catalog/tool-glob.js';
import { conditionPropertyProblems } from './condition-pin-check.js';
import {
  DEFAULT_LIMITS,
  type IdentityEntry,
  type Policy,
  type PolicyLimits,
  type ResolvedLimits,
  type Tier,
  type ToolRule,
} from './policy-schema.js';
import {
  type CompiledConditions,
  type ConditionFacts,
  compileConditions,
  conditionValidators,
} from './rule-conditions.js';

/**
 * The authenticated workload, as the gateway knows it. Structurally compatible with the gateway's
 * `GatewayIdentity` (which adds the certificate serial).
 */
export interface PolicySubject {
  /** `mtls`: client certificate from the tenant CA; `bearer`: OAuth access token. */
  authenticatedBy: 'mtls' | 'bearer';
  /** mTLS identity name, e.g. `claims-bot`. */
  name?: string;
  /** mTLS SPIFFE id, e.g. `spiffe://acme.airlock/agent/claims-bot`. */
  spiffeId?: string;
  /** Token `sub`. */
  subject?: string;
  /** Token `client_id` / `azp`. */
  clientId?: string;
  /** Token `iss`. */
  issuer?: string;
}

/** A JSON Schema object (2020-12). */
export type JsonSchemaObject = Record<string, unknown>;

interface CompiledRole {
  tools: NameMatcher;
  resources: NameMatcher;
  prompts: NameMatcher;
}

interface CompiledToolRule {
  index: number;
  name: string;
  matches: NameMatcher;
  tier: Tier | undefined;
  schema: JsonSchemaObject | undefined;
  when: CompiledConditions | undefined;
  quorum: ApprovalQuorum | undefined;
}

/** One `tools/call` as the tier decision sees it. */
export interface TierQuery {
  /** Namespaced tool name. */
  tool: string;
  /** The validated arguments. Default `{}`. */
  arguments?: Record<string, unknown>;
  /** The agent (its roles are looked up here). */
  agent?: PolicySubject & { scopes?: string[] };
  /** The verified end user: subject, issuer and any further claims. */
  endUser?: { subject: string; issuer: string; claims?: Record<string, unknown> };
  /** Epoch ms for time windows. Default `Date.now()`. */
  now?: number;
}

/** The rule that decided a tier. */
export interface RuleRef {
  /** Position in `tools:`. */
  index: number;
  /** The rule's `name`, or `tools[<index>]`. */
  name: string;
  /** The condition kinds the rule checked (`arguments`, `agent`, `endUser`, `time`); empty without `when`. */
  conditions: string[];
}

export interface TierDecision {
  tier: Tier;
  /** Undefined when no rule matched (`defaultTier`). */
  rule: RuleRef | undefined;
  /** For `approve`: the deciding rule's `approvers` (distinct principals, optional console roles). */
  quorum?: ApprovalQuorum;
}

/** A two-person (or more) rule: `approvers` distinct principals, from `roles` when given. */
export interface ApprovalQuorum {
  approvers: number;
  roles?: string[];
}

export class PolicyEngine {
  /** The validated policy this engine was compiled from. */
  readonly policy: Policy;
  readonly #byName = new Map<string, IdentityEntry[]>();
  readonly #bySpiffe = new Map<string, IdentityEntry[]>();
  readonly #bySubject = new Map<string, IdentityEntry[]>();
  readonly #byClientId = new Map<string, IdentityEntry[]>();
  readonly #order = new Map<IdentityEntry, number>();
  readonly #roles = new Map<string, CompiledRole>();
  readonly #toolRules: CompiledToolRule[];

  constructor(source: Policy) {
    // A private frozen copy: later changes to `source` cannot alter decisions.
    const policy = deepFreeze(structuredClone(source));
    this.policy = policy;
    policy.identities.forEach((entry, index) => {
      this.#order.set(entry, index);
      if (entry.name !== undefined) push(this.#byName, entry.name, entry);
      else if (entry.spiffeId !== undefined) push(this.#bySpiffe, entry.spiffeId, entry);
      else if (entry.subject !== undefined) push(this.#bySubject, entry.subject, entry);
      else if (entry.clientId !== undefined) push(this.#byClientId, entry.clientId, entry);
    });
    for (const [name, role] of Object.entries(policy.roles)) {
      this.#roles.set(name, {
        tools: compileGlobs(role.tools),
        resources: compileGlobs(role.resources),
        prompts: compileGlobs(role.prompts),
      });
    }
    const validators = conditionValidators(policy.tools.length);
    this.#toolRules = policy.tools.map((rule, index) => ({
      index,
      name: rule.name ?? `tools[${index}]`,
      matches: compileGlobs([rule.match]),
      tier: rule.tier,
      schema: rule.schema,
      when: rule.when ? compileConditions(rule.when, validators, `rule-${index}`) : undefined,
      quorum: quorumOf(rule.approvers),
    }));
  }

  /** `tofu` or `review`: how the catalog stage treats a tool it has never seen. */
  get catalogMode(): 'tofu' | 'review' {
    return this.policy.catalog.mode;
  }

  /** Roles granted to `identity`, in file order without duplicates; empty for an unknown identity. */
  rolesFor(identity: PolicySubject): string[] {
    const roles = new Set<string>();
    for (const entry of this.#entriesFor(identity)) for (const role of entry.roles) roles.add(role);
    return [...roles];
  }

  /** True when one of the identity's roles lists a glob matching `tool` (a namespaced tool name). */
  canCall(identity: PolicySubject, tool: string): boolean {
    return this.#anyRole(identity, (role) => role.tools(tool));
  }

  /** True when one of the identity's roles lists a glob matching the resource `uri`. */
  canReadResource(identity: PolicySubject, uri: string): boolean {
    return this.#anyRole(identity, (role) => role.resources(uri));
  }

  /** True when one of the identity's roles lists a glob matching the prompt name. */
  canGetPrompt(identity: PolicySubject, prompt: string): boolean {
    return this.#anyRole(identity, (role) => role.prompts(prompt));
  }

  /**
   * The tier of one call: the first rule with a tier whose `match` matches `query.tool` and whose `when`
   * conditions all hold; else `defaultTier`.
   */
  decideTier(query: TierQuery): TierDecision {
    let facts: ConditionFacts | undefined;
    for (const rule of this.#toolRules) {
      if (rule.tier === undefined || !rule.matches(query.tool)) continue;
      if (rule.when) {
        facts ??= this.#factsOf(query);
        if (!rule.when.holds(facts)) continue;
      }
      return {
        tier: rule.tier,
        rule: { index: rule.index, name: rule.name, conditions: rule.when?.kinds ?? [] },
        ...(rule.quorum ? { quorum: rule.quorum } : {}),
      };
    }
    return { tier: this.policy.defaultTier, rule: undefined };
  }

  /**
   * The tier of `tool` without a call to judge: the tier every call gets when the matching rules agree
   * (conditional ones up to the first unconditional one, or `defaultTier`), else `approve`.
   */
  tierFor(tool: string): Tier {
    const possible = new Set<Tier>();
    let settled = false;
    for (const rule of this.#toolRules) {
      if (rule.tier === undefined || !rule.matches(tool)) continue;
      possible.add(rule.tier);
      if (!rule.when) {
        settled = true;
        break;
      }
    }
    if (!settled) possible.add(this.policy.defaultTier);
    const [only] = possible;
    return possible.size === 1 && only !== undefined ? only : 'approve';
  }

  /**
   * Conditions of the rules matching `tool` that name arguments its pinned `inputSchema` does not
   * declare, each prefixed with the rule (`rule 'big-refunds' (tools[2]): arguments.amout is not …`).
   */
  conditionProblemsFor(tool: string, inputSchema: unknown): string[] {
    const problems: string[] = [];
    for (const rule of this.#toolRules) {
      const fragment = rule.when?.argumentsSchema;
      if (fragment === undefined || !rule.matches(tool)) continue;
      for (const p of conditionPropertyProblems(fragment, inputSchema)) {
        problems.push(`rule ${ruleLabel(rule)}: ${p}`);
      }
    }
    return problems;
  }

  /**
   * The extra schema `tool`'s arguments must satisfy besides its own input schema (validate against
   * `{ allOf: [inputSchema, overlay] }`): one matching fragment as is, several as `{ allOf: [...] }`,
   * undefined when no rule adds one.
   */
  schemaOverlayFor(tool: string): JsonSchemaObject | undefined {
    const fragments: JsonSchemaObject[] = [];
    for (const rule of this.#toolRules) {
      if (rule.schema !== undefined && rule.matches(tool)) fragments.push(rule.schema);
    }
    if (fragments.length === 0) return undefined;
    if (fragments.length === 1) return fragments[0];
    return { allOf: fragments };
  }

  /** Limits for `identity`: defaults, then the policy's `limits`, then each matching entry's, in file order. */
  limitsFor(identity: PolicySubject): ResolvedLimits {
    let limits = mergeLimits(DEFAULT_LIMITS, this.policy.limits);
    for (const entry of this.#entriesFor(identity)) {
      if (entry.limits) limits = mergeLimits(limits, entry.limits);
    }
    return limits;
  }

  /** Every entry naming `identity`, in file order. */
  #entriesFor(identity: PolicySubject): IdentityEntry[] {
    const found: IdentityEntry[] = [];
    if (identity.authenticatedBy === 'mtls') {
      if (identity.name !== undefined) found.push(...(this.#byName.get(identity.name) ?? []));
      if (identity.spiffeId !== undefined) found.push(...(this.#bySpiffe.get(identity.spiffeId) ?? []));
    } else if (identity.authenticatedBy === 'bearer') {
      const fromIssuer = (e: IdentityEntry) => e.issuer === undefined || e.issuer === identity.issuer;
      if (identity.subject !== undefined) {
        found.push(...(this.#bySubject.get(identity.subject) ?? []).filter(fromIssuer));
      }
      if (identity.clientId !== undefined) {
        found.push(...(this.#byClientId.get(identity.clientId) ?? []).filter(fromIssuer));
      }
    }
    if (found.length < 2) return found;
    return [...new Set(found)].sort((a, b) => (this.#order.get(a) ?? 0) - (this.#order.get(b) ?? 0));
  }

  #factsOf(query: TierQuery): ConditionFacts {
    const facts: ConditionFacts = { arguments: query.arguments ?? {}, now: query.now ?? Date.now() };
    const agent = query.agent;
    if (agent) {
      facts.agent = {
        authenticatedBy: agent.authenticatedBy,
        name: agent.name,
        spiffeId: agent.spiffeId,
        subject: agent.subject,
        clientId: agent.clientId,
        issuer: agent.issuer,
        scopes: agent.scopes,
        roles: this.rolesFor(agent),
      };
    }
    const user = query.endUser;
    if (user) facts.endUser = { ...user.claims, sub: user.subject, iss: user.issuer };
    return facts;
  }

  #anyRole(identity: PolicySubject, test: (role: CompiledRole) => boolean): boolean {
    for (const name of this.rolesFor(identity)) {
      const role = this.#roles.get(name);
      if (role && test(role)) return true;
    }
    return false;
  }
}

/**
 * Compiles a validated policy. Pure and synchronous; the result is immutable and safe to share.
 *
 * @example
 * const engine = compilePolicy(policySchema.parse({ roles: { r: { tools: ['erp.*'] } } }));
 */
export function compilePolicy(policy: Policy): PolicyEngine {
  return new PolicyEngine(policy);
}

/** `base` with every field `override` sets replaced (`rate` merged field by field). */
export function mergeLimits(base: Readonly<ResolvedLimits>, override: PolicyLimits): ResolvedLimits {
  return {
    rate: {
      perSecond: override.rate?.perSecond ?? base.rate.perSecond,
      burst: override.rate?.burst ?? base.rate.burst,
    },
    turnBudget: override.turnBudget ?? base.turnBudget,
    concurrencyPerTool: override.concurrencyPerTool ?? base.concurrencyPerTool,
    maxRequestBytes: override.maxRequestBytes ?? base.maxRequestBytes,
    maxResponseBytes: override.maxResponseBytes ?? base.maxResponseBytes,
    upstreamTimeoutMs: override.upstreamTimeoutMs ?? base.upstreamTimeoutMs,
  };
}

function quorumOf(approvers: ToolRule['approvers']): ApprovalQuorum | undefined {
  if (approvers === undefined) return undefined;
  if (approvers.count < 2 && approvers.roles === undefined) return undefined;
  return { approvers: approvers.count, ...(approvers.roles ? { roles: [...approvers.roles] } : {}) };
}

/** `'name' (tools[2])`, or `tools[2]` for an unnamed rule. */
export function ruleLabel(rule: { index: number; name: string }): string {
  const position = `tools[${rule.index}]`;
  return rule.name === position ? position : `'${rule.name}' (${position})`;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
