/**
 * What the two Airlock paths put in the connector's config, beyond relay, admin and upstreams. Both
 * connectors run `airlock connector run`, i.e. are assembled by `startConnector`, so every stage the
 * product wires is on in both: audit, authenticate, budget, authorize, catalog, PII, validate, tier.
 * The product has no switch that removes a stage, so the variants differ in the work the policy
 * gives the stages:
 *
 * - `full`: the policy a careful customer writes: the agent's role allows `bench.*` at tier `auto`,
 *   the catalog pins tool definitions (`tofu`), a schema overlay tightens `echo`'s argument, and the
 *   PII stage scans every result with all built-in detectors (the default actions);
 * - `tunnel`: the same identity, role, tiers and limits, but every PII detector disabled and no
 *   schema overlay: the stages still run, with the least work a valid policy allows.
 *
 * In both, the limits are raised far above the load the benchmark sends (rate, turn budget,
 * concurrency per tool) and results may be up to 64 MiB (the default cap is 4 MiB), so that no limit
 * refuses a benchmark call.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';

export type PipelineVariant = 'full' | 'tunnel';

/** The agent identity the benchmark issues and the policy names. */
export const BENCH_AGENT = 'bench-agent';

const ALL_PII_DETECTORS = ['email', 'phone', 'card', 'iban', 'ssn', 'nino', 'ip', 'name', 'secret'];

/** The policy file of a variant (policy file format: src/policy/policy-schema.ts). */
export function benchPolicy(variant: PipelineVariant): Record<string, unknown> {
  const full = variant === 'full';
  return {
    version: 1,
    defaultTier: 'block',
    catalog: { mode: 'tofu' },
    identities: [{ name: BENCH_AGENT, roles: ['bench'] }],
    roles: { bench: { tools: ['bench.*'], resources: ['bench://**'] } },
    tools: [
      full
        ? {
            match: 'bench.echo',
            tier: 'auto',
            schema: { properties: { text: { type: 'string', maxLength: 4096 } } },
          }
        : { match: 'bench.echo', tier: 'auto' },
      { match: 'bench.blob', tier: 'auto' },
    ],
    limits: {
      rate: { perSecond: 1_000_000, burst: 1_000_000 },
      turnBudget: 1_000_000,
      concurrencyPerTool: 10_000,
      maxResponseBytes: 64 * 1024 * 1024,
    },
    ...(full ? {} : { pii: { disable: ALL_PII_DETECTORS } }),
  };
}

/** Writes the variant's policy into `dir` and returns the extra top-level keys of the connector YAML. */
export async function pipelineConfig(
  variant: PipelineVariant,
  dir: string,
): Promise<Record<string, unknown>> {
  const file = join(dir, 'policy.yaml');
  await writeFile(file, stringify(benchPolicy(variant)));
  return { policy: { file } };
}

/** Printed in the report next to the Airlock paths. */
export const PIPELINE_NOTE =
  'Both Airlock paths run the product pipeline as `startConnector` assembles it: audit → authenticate → ' +
  'budget → authorize → catalog (tool pinning) → PII → validate → tier → upstream. The product has no switch ' +
  'to remove a stage, so `airlock-tunnel` keeps every stage and gives it the least work a valid policy allows ' +
  '(all PII detectors disabled, no schema overlay); `airlock-full` scans every result with every PII detector ' +
  'and adds a schema overlay (bench/pipeline-variants.ts).';
