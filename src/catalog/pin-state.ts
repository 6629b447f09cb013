/**
 * The state of one pinned tool, derived from its store record: `approved` (the served definition is the
 * approved one), or quarantined as `unreviewed` (never approved: review mode), `changed` (differs from
 * the approved definition: a rug pull) or `poisoning` (never approved because the scan flagged it).
 *
 * @example
 * pinState(record).state // 'changed'
 */

import type { ToolPinRecord } from '../store/store.js';
import { maxSeverity, type ScanFinding, type ScanSeverity } from './poisoning-scan.js';

export type PinState = 'approved' | 'unreviewed' | 'changed' | 'poisoning';

/**
 * Severity at or above which a never-approved definition is quarantined for poisoning: `medium`, i.e.
 * any finding above `low` (`tofu` mode trusts only definitions with nothing but low findings).
 */
export const DEFAULT_QUARANTINE_SEVERITY: ScanSeverity = 'medium';

const RANK: Record<ScanSeverity, number> = { low: 1, medium: 2, high: 3 };

export interface DerivedPinState {
  state: PinState;
  findings: ScanFinding[];
  severity: ScanSeverity | undefined;
}

/** Parses the findings JSON of a record (an unreadable value counts as one high finding: fail closed). */
export function recordFindings(record: ToolPinRecord): ScanFinding[] {
  try {
    const parsed = JSON.parse(record.observedFindings) as unknown;
    return Array.isArray(parsed) ? (parsed as ScanFinding[]) : [];
  } catch {
    return [
      {
        rule: 'unreadable',
        severity: 'high',
        where: '',
        message: 'stored findings are unreadable',
        excerpt: '',
      },
    ];
  }
}

/** True when `severity` reaches `threshold`. */
export function atLeast(severity: ScanSeverity | undefined, threshold: ScanSeverity): boolean {
  return severity !== undefined && RANK[severity] >= RANK[threshold];
}

/** See the module comment. */
export function pinState(
  record: ToolPinRecord,
  quarantineSeverity: ScanSeverity = DEFAULT_QUARANTINE_SEVERITY,
): DerivedPinState {
  const findings = recordFindings(record);
  const severity = maxSeverity(findings);
  let state: PinState;
  if (record.approvedHash !== null && record.approvedHash === record.observedHash) state = 'approved';
  else if (record.approvedHash !== null) state = 'changed';
  else state = atLeast(severity, quarantineSeverity) ? 'poisoning' : 'unreviewed';
  return { state, findings, severity };
}
