/**
 * What the console's report page asks of whoever can build a report (the connector provides it).
 */
import type { ReportDocument, ReportScope } from './report-model.js';

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
