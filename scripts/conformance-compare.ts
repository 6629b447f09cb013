/**
 * Comparing the two conformance legs (direct and through Airlock): the passing sets, a side-by-side
 * table, the failure lines and the per-leg report written to `bench/results/conformance.json`.
 * See ./conformance.ts.
 */
import type { ConformanceResult } from './conformance.js';

export interface ConformanceComparison {
  /** The two legs passed exactly the same scenarios. */
  samePassingSet: boolean;
  /** Passed directly, failed through Airlock. */
  onlyDirect: string[];
  /** Passed through Airlock, failed directly. */
  onlyAirlock: string[];
  /** Ran in one leg only (a scenario that produced no result in the other counts as failed there). */
  missing: string[];
}

/**
 * Compares the passing sets of two runs.
 *
 * @example
 * const { samePassingSet, onlyDirect } = compareConformance(direct, throughAirlock);
 */
export function compareConformance(
  direct: ConformanceResult,
  airlock: ConformanceResult,
): ConformanceComparison {
  const a = new Set(direct.passed);
  const b = new Set(airlock.passed);
  const ranA = new Set(direct.raw.scenarios.map((s) => s.scenario));
  const ranB = new Set(airlock.raw.scenarios.map((s) => s.scenario));
  const onlyDirect = direct.passed.filter((s) => !b.has(s));
  const onlyAirlock = airlock.passed.filter((s) => !a.has(s));
  const missing = [...ranA].filter((s) => !ranB.has(s)).concat([...ranB].filter((s) => !ranA.has(s)));
  return {
    samePassingSet: onlyDirect.length === 0 && onlyAirlock.length === 0,
    onlyDirect,
    onlyAirlock,
    missing,
  };
}

function verdict(result: ConformanceResult, scenario: string): string {
  const s = result.raw.scenarios.find((x) => x.scenario === scenario);
  if (!s) return '-';
  return !s.passed ? 'FAIL' : result.warned.includes(scenario) ? 'pass (warn)' : 'pass';
}

/** Side-by-side table of both legs plus the verdict. */
export function formatComparison(
  direct: ConformanceResult,
  airlock: ConformanceResult,
  comparison = compareConformance(direct, airlock),
): string {
  const names = [...new Set([...direct.raw.scenarios, ...airlock.raw.scenarios].map((s) => s.scenario))];
  const rows = names.map((n) => {
    const d = verdict(direct, n);
    const a = verdict(airlock, n);
    return [n, d, a, d === a || (d.startsWith('pass') && a.startsWith('pass')) ? '' : 'DIFFERS'];
  });
  const header = ['scenario', 'direct', 'through airlock', ''];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  const summary = comparison.samePassingSet
    ? `same passing set: ${direct.passed.length} of ${names.length} scenarios pass both ways`
    : `passing sets DIFFER: only direct [${comparison.onlyDirect.join(', ')}], only through Airlock [${comparison.onlyAirlock.join(', ')}]`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line), '', summary].join('\n');
}

export function failureLines(result: ConformanceResult, leg: string): string[] {
  return result.raw.scenarios
    .filter((s) => !s.passed)
    .flatMap((s) => {
      const failures = s.checks.filter((c) => c.status === 'FAILURE');
      if (failures.length === 0) return [`  [${leg}] ${s.scenario}: no result (see --verbose output)`];
      return failures.map((c) => `  [${leg}] ${s.scenario}: ${c.name}: ${c.errorMessage ?? c.description}`);
    });
}

export function legReport(result: ConformanceResult): Record<string, unknown> {
  return {
    passed: result.passed,
    failed: result.failed,
    warned: result.warned,
    exitCodes: result.raw.exitCodes,
    scenarios: result.raw.scenarios.map((s) => ({
      scenario: s.scenario,
      passed: s.passed,
      checks: s.checks
        .filter((c) => c.status !== 'INFO')
        .map((c) => ({
          id: c.id,
          status: c.status,
          ...(c.errorMessage !== undefined ? { errorMessage: c.errorMessage } : {}),
        })),
    })),
  };
}
