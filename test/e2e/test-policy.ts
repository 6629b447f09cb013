/**
 * Policy text for e2e tests: named agents with every tool, some tools on their own tier (approve,
 * block) before a catch-all `auto`, and generous limits, so that a test states only what it is about.
 *
 * @example
 * testPolicy({ agents: ['agent-1', 'agent-2'], tiers: { 'everything.echo': 'approve' } });
 */

/** Limits of a test policy (`limits:`); rate and turn budget are generous by default. */
export interface TestPolicyLimits {
  perSecond?: number;
  burst?: number;
  turnBudget?: number;
  concurrencyPerTool?: number;
  upstreamTimeoutMs?: number;
}

export interface TestPolicyOptions {
  /** Identities with role `all` (every tool). Default `['agent-1']`. */
  agents?: string[];
  /** Tools (patterns) on another tier than `auto`, in order, before the catch-all `auto`. */
  tiers?: Record<string, 'approve' | 'block'>;
  limits?: TestPolicyLimits;
}

/** Rate and turn budget no functional test reaches. */
export const TEST_POLICY_LIMITS = { perSecond: 1000, burst: 1000, turnBudget: 100_000 };

/** The policy YAML for `options` (see {@link TestPolicyOptions}). */
export function testPolicy(options: TestPolicyOptions = {}): string {
  const limits = { ...TEST_POLICY_LIMITS, ...options.limits };
  const lines = ['version: 1', 'catalog: { mode: tofu }', 'identities:'];
  for (const agent of options.agents ?? ['agent-1']) lines.push(`  - name: ${agent}`, '    roles: [all]');
  lines.push('roles:', '  all:', '    tools: ["**"]', 'tools:');
  for (const [match, tier] of Object.entries(options.tiers ?? {}))
    lines.push(`  - match: "${match}"`, `    tier: ${tier}`);
  lines.push('  - match: "**"', '    tier: auto', 'limits:');
  lines.push(`  rate: { perSecond: ${limits.perSecond}, burst: ${limits.burst} }`);
  lines.push(`  turnBudget: ${limits.turnBudget}`);
  if (limits.concurrencyPerTool !== undefined)
    lines.push(`  concurrencyPerTool: ${limits.concurrencyPerTool}`);
  if (limits.upstreamTimeoutMs !== undefined) lines.push(`  upstreamTimeoutMs: ${limits.upstreamTimeoutMs}`);
  return `${lines.join('\n')}\n`;
}
