/**
 * The MCP core's speed targets (issue 14), checked against a run: every figure is a ratio or a
 * difference against a direct path measured in the same run, so a busy machine moves both sides.
 *
 * @example
 * const checks = mcpCoreTargets(results); // [{ name, target, measured, met }, …]
 */
import type { BenchResults, TargetCheck } from './bench-results.js';

const fmt = (n: number, digits = 2): string => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

export function mcpCoreTargets(r: Omit<BenchResults, 'targets'>): TargetCheck[] {
  return [addedLatency(r), throughput(r), connectorCpu(r), blobVsSsh(r), firstCall(r)].filter(
    (t): t is TargetCheck => t !== undefined,
  );
}

function addedLatency(r: Omit<BenchResults, 'targets'>): TargetCheck | undefined {
  const full = r.latencyC1['airlock-full'];
  const tls = r.latencyC1['direct-tls'];
  if (!full || !tls) return undefined;
  const added = full.summary.p50 - tls.summary.p50;
  return {
    name: 'added p50 at concurrency 1 (airlock-full over direct-tls)',
    target: '≤ 1 ms',
    measured: `+${fmt(added)} ms (${fmt(full.summary.p50)} vs ${fmt(tls.summary.p50)} ms)`,
    met: added <= 1,
  };
}

function throughput(r: Omit<BenchResults, 'targets'>): TargetCheck | undefined {
  const full = r.latencyConcurrent['airlock-full'];
  const direct = r.latencyConcurrent['direct-http'];
  if (!full || !direct) return undefined;
  const ratio = full.callsPerSecond / direct.callsPerSecond;
  return {
    name: `calls/s at concurrency ${r.meta.settings.concurrency} (airlock-full ÷ direct-http)`,
    target: '≥ 0.8×',
    measured: `${fmt(ratio)}× (${Math.round(full.callsPerSecond)} vs ${Math.round(direct.callsPerSecond)} calls/s)`,
    met: ratio >= 0.8,
  };
}

function connectorCpu(r: Omit<BenchResults, 'targets'>): TargetCheck | undefined {
  if ('skipped' in r.cpuPerCall) return undefined;
  const ms = r.cpuPerCall['airlock-full']?.echo.connector;
  if (ms === undefined) return undefined;
  return {
    name: 'connector CPU per governed call (airlock-full, full pipeline, PII scanning on)',
    target: '≤ 0.5 ms',
    measured: `${fmt(ms, 3)} ms`,
    met: ms <= 0.5,
  };
}

function blobVsSsh(r: Omit<BenchResults, 'targets'>): TargetCheck | undefined {
  const full = r.blob['airlock-full'];
  const ssh = r.blob['ssh-R'];
  if (!full || !ssh) return undefined;
  const ratio = full.mbPerSecond.p50 / ssh.mbPerSecond.p50;
  return {
    name: `${r.meta.settings.blobMib} MiB tool result (airlock-full ÷ ssh -R)`,
    target: '≥ 1.0×',
    measured: `${fmt(ratio)}× (${fmt(full.mbPerSecond.p50, 0)} vs ${fmt(ssh.mbPerSecond.p50, 0)} MB/s)`,
    met: ratio >= 1,
  };
}

function firstCall(r: Omit<BenchResults, 'targets'>): TargetCheck | undefined {
  const full = r.firstCall['airlock-full'];
  const tls = r.firstCall['direct-tls'];
  if (!full || !tls) return undefined;
  const added = full.summary.p50 - tls.summary.p50;
  return {
    name: 'time to a first call (airlock-full over direct-tls)',
    target: '≤ +10 ms',
    measured: `+${fmt(added)} ms (${fmt(full.summary.p50)} vs ${fmt(tls.summary.p50)} ms)`,
    met: added <= 10,
  };
}
