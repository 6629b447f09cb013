/** Summaries of benchmark samples: percentiles (nearest rank), spread and a bootstrap-free stability hint. */

export interface Summary {
  n: number;
  min: number;
  p25: number;
  p50: number;
  p75: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
  /** Interquartile range (p75 − p25). */
  iqr: number;
  /** Standard deviation. */
  stdev: number;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] ?? Number.NaN;
}

export function round(value: number, digits = 3): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/**
 * Summarises samples (any unit).
 *
 * @example
 * summarize([1.2, 1.1, 1.4]).p50 // 1.2
 */
export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const n = sorted.length;
  const mean = n === 0 ? Number.NaN : sorted.reduce((a, b) => a + b, 0) / n;
  const variance = n < 2 ? 0 : sorted.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1);
  const p25 = percentile(sorted, 25);
  const p75 = percentile(sorted, 75);
  return {
    n,
    min: round(sorted[0] ?? Number.NaN),
    p25: round(p25),
    p50: round(percentile(sorted, 50)),
    p75: round(p75),
    p90: round(percentile(sorted, 90)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted[n - 1] ?? Number.NaN),
    mean: round(mean),
    iqr: round(p75 - p25),
    stdev: round(Math.sqrt(variance)),
  };
}

/** Median of a few values (e.g. per-round medians), for run-to-run stability. */
export function median(values: readonly number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
}

/** Relative spread of per-round values: (max − min) / median. */
export function relativeSpread(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const m = median(values);
  return m === 0 ? 0 : round((Math.max(...values) - Math.min(...values)) / m, 3);
}
