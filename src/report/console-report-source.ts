/**
 * The report as the connector's console serves it: generated from the running connector (its
 * context, store and live upstream states) and signed like the CLI's, so the files offered for
 * download verify with `airlock report verify`.
 *
 * @example
 * startConsole({ ..., report: consoleReportSource({ ctx, store, tenant, live: () => catalog.status() }) });
 */
import type { ConnectorContext } from '../connector/connector-context.js';
import type { Store } from '../store/store.js';
import { generateReport } from './generate-report.js';
import type { LiveUpstreams } from './path-evidence.js';
import type { ReportDocument, ReportScope } from './report-model.js';
import { signReport } from './report-signing.js';

export interface GeneratedReport {
  report: ReportDocument;
  /** SHA-256 of the report's canonical JSON. */
  digest: string;
  /** The signed `report.json` and the `report.html` it signs. */
  json: string;
  html: string;
}

/** What the console's report page needs. */
export interface ReportSource {
  generate(scope: ReportScope): Promise<GeneratedReport>;
}

export function consoleReportSource(input: {
  ctx: ConnectorContext;
  store: Store;
  tenant: string;
  live?: LiveUpstreams;
}): ReportSource {
  return {
    async generate(scope) {
      const report = await generateReport({
        ctx: input.ctx,
        store: input.store,
        tenant: input.tenant,
        scope,
        ...(input.live ? { live: input.live } : {}),
      });
      const signed = await signReport(report, { dataDir: input.ctx.dataDir });
      return { report, digest: signed.file.signature.reportSha256, json: signed.json, html: signed.html };
    },
  };
}
