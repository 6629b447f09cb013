/**
 * What the two Airlock paths put in the connector's config file, beyond relay, admin and upstreams.
 * Both connectors are started with `airlock connector run`, i.e. assembled by `startConnector`, so
 * whatever stages the product wires in by default are on in both.
 *
 * - `full`: every optional pipeline stage the config can switch on (policy, schema validation,
 *   audit, PII) — add their config sections here as they land;
 * - `tunnel`: the optional stages off.
 *
 * As of this writing the connector config has no switches for optional stages and the product's
 * pipeline is `authenticate → route`, so both variants are the same config: the report says so
 * (`PIPELINE_NOTE`), and the two paths' difference is measurement noise.
 */

export type PipelineVariant = 'full' | 'tunnel';

/** Extra top-level keys for the connector YAML of a variant. */
export function pipelineConfig(_variant: PipelineVariant, _dataDir: string): Record<string, unknown> {
  return {};
}

/** Printed in the report next to the Airlock paths. */
export const PIPELINE_NOTE =
  'The connector config has no switches for optional stages yet and the product pipeline is ' +
  '`authenticate → route`; airlock-full and airlock-tunnel therefore run the same pipeline, and their ' +
  'difference shows the run-to-run noise.';
