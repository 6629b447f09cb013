/** The shape of `bench/results/cluster-path.json` and its markdown table (`cluster-path.md`). */
import type { BenchSettings, ClosedLoopMeasure, PathMeasure } from '../bench-results.js';
import type { MachineInfo } from '../machine-info.js';
import type { ClusterPathId, SpliceCheck } from './cluster-path-setup.js';

export interface ClusterPathResults {
  meta: {
    startedAt: string;
    finishedAt: string;
    durationSeconds: number;
    machine: MachineInfo;
    settings: BenchSettings;
    warnings: string[];
  };
  paths: Array<{
    id: ClusterPathId;
    description: string;
    latencyC1: PathMeasure;
    latencyConcurrent: ClosedLoopMeasure;
    firstCall: PathMeasure;
  }>;
  /** What node A's and node B's `/metrics` counted during the run (the proof of the splice). */
  splices: SpliceCheck;
}

const ms = (n: number | undefined): string => (n === undefined || !Number.isFinite(n) ? 'n/a' : n.toFixed(2));

/** `+x.xx ms` / `×y.yy` of the cluster path against `base`. */
function versus(r: ClusterPathResults, base: ClusterPathId): string[] {
  const cluster = r.paths.find((p) => p.id === 'cluster-splice');
  const other = r.paths.find((p) => p.id === base);
  if (!cluster || !other) return [];
  const d = (a: number, b: number) =>
    Number.isFinite(a - b) ? `${a - b >= 0 ? '+' : ''}${(a - b).toFixed(2)} ms` : 'n/a';
  const base64 = other.latencyConcurrent.callsPerSecond;
  const rate = base64 > 0 ? `×${(cluster.latencyConcurrent.callsPerSecond / base64).toFixed(2)}` : 'n/a';
  return [
    `| cluster-splice vs ${base} | ${d(cluster.latencyC1.summary.p50, other.latencyC1.summary.p50)} | ` +
      `${d(cluster.latencyC1.summary.p99, other.latencyC1.summary.p99)} | ${rate} | ` +
      `${d(cluster.latencyConcurrent.summary.p50, other.latencyConcurrent.summary.p50)} | ` +
      `${d(cluster.firstCall.summary.p50, other.firstCall.summary.p50)} | |`,
  ];
}

/** The table of one run, with the splice proof and the machine. */
export function renderClusterPathMarkdown(r: ClusterPathResults): string {
  const s = r.meta.settings;
  const m = r.meta.machine;
  const lines = [
    `# Cluster path (${s.mode} run, ${r.meta.startedAt})`,
    '',
    `${m.nproc} CPUs (${m.cpuModel}), Node ${m.node}, load average ${m.loadAverageStart} at the start. ` +
      `${s.rounds} interleaved round(s); c=1: ${s.c1Samples} calls per round; c=${s.concurrency}: ` +
      `${s.closedLoopMs} ms closed loop per round; first call: ${s.firstCallSamples} new agents per round.`,
    ...r.meta.warnings.map((w) => `\n> ${w}`),
    '',
    `| path | c=1 p50 (ms) | c=1 p99 (ms) | c=${s.concurrency} calls/s | c=${s.concurrency} p50 (ms) | first call p50 (ms) | errors |`,
    '|---|---|---|---|---|---|---|',
    ...r.paths.map(
      (p) =>
        `| ${p.id} | ${ms(p.latencyC1.summary.p50)} | ${ms(p.latencyC1.summary.p99)} | ` +
        `${Math.round(p.latencyConcurrent.callsPerSecond)} | ${ms(p.latencyConcurrent.summary.p50)} | ` +
        `${ms(p.firstCall.summary.p50)} | ${p.latencyC1.errors + p.latencyConcurrent.errors + p.firstCall.errors} |`,
    ),
    ...versus(r, 'airlock-full'),
    ...versus(r, 'direct-tls'),
    '',
    ...r.paths.map((p) => `- \`${p.id}\`: ${p.description}`),
    '',
    `Splice proof: node A (no tunnel of the tenant: ${r.splices.tunnelsOnA} tunnels) spliced ` +
      `${r.splices.outOnA} agent connections out, node B (${r.splices.tunnelsOnB} tunnels) took ` +
      `${r.splices.inOnB} in; the path opened at least ${r.splices.expectedAtLeast}.`,
    '',
  ];
  return lines.join('\n');
}
