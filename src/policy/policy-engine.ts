/**
 * A compiled policy: the questions the gateway asks on every request, answered from precompiled
 * indexes and glob matchers (no I/O, no allocation beyond the answer). Fail closed throughout: an
 * identity no entry names has no roles and may call nothing.
 *
 * - `rolesFor(identity)`: roles of every entry that names the identity (file order, no duplicates).
 *   `name` / `spiffeId` entries only match mTLS identities, `subject` / `clientId` entries only match
 *   OAuth tokens, so a token whose `sub` happens to equal a certificate name gains nothing.
 * - `canCall` / `canReadResource` / `canGetPrompt`: does any of those roles list a matching glob.
 * - `tierFor(tool)`: the first `tools` rule with a `tier` whose `match` matches; else `defaultTier`.
 * - `schemaOverlayFor(tool)`: every matching rule's `schema` (allOf), or undefined.
 * - `limitsFor(identity)`: defaults ← policy `limits` ← each matching entry's `limits`, in file order.
 *
 * @example
 * const engine = compilePolicy(parseYamlConfig(text, policySchema, 'policy.yaml'));
 * const who = { authenticatedBy: 'mtls', name: 'claims-bot', spiffeId: 'spiffe://acme.airlock/agent/claims-bot' } as const;
 * engine.canCall(who, 'erp.list_claims'); // true
 * engine.tierFor('erp.delete_claim');     // 'block'
 */

import {
  DEFAULT_LIMITS,
  type IdentityEntry,
  type Policy,
  type PolicyLimits,
  type ResolvedLimits,
  type Tier,
} from './policy-schema.js';
import { compileGlobs, type NameMatcher } from './tool-glob.js';

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
  matches: NameMatcher;
  tier: Tier | undefined;
  schema: JsonSchemaObject | undefined;
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
    this.#toolRules = policy.tools.map((rule) => ({
      matches: compileGlobs([rule.match]),
      tier: rule.tier,
      schema: rule.schema,
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

  /** The tier of `tool`: the first matching rule that sets one, else `defaultTier`. */
  tierFor(tool: string): Tier {
    for (const rule of this.#toolRules) {
      if (rule.tier !== undefined && rule.matches(tool)) return rule.tier;
    }
    return this.policy.defaultTier;
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
