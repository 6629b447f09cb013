/**
 * The report as the connector's console serves it: generated from the running connector (its
 * context, store and live upstream states) and signed like the CLI's, so the files offered for
 * download verify with `airlock report verify`.
 *
 * @example
 * startConsole({ ..., report: consoleReportSource({ ctx, store, tenant, live: () => catalog.status() }) });
 */

import { signReport } from '../../report/report-signing.js';
import type { ReportSource } from '../../report/report-source.js';
import type { Store } from '../../store/store.js';
import type { ConnectorContext } from '../connector-context.js';
import { generateReport } from './generate-report.js';
import type { LiveUpstreams } from './path-evidence.js';

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
