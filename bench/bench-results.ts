/** The shape of `bench/results/comparison.json`, and the target checks computed from it. */
import type { PathId } from './bench-paths.js';
import type { ProfileSummary } from './cpu-profile.js';
import type { SessionMemoryResult } from './idle-sessions.js';
import type { MachineInfo } from './machine-info.js';
import { mcpCoreTargets } from './mcp-core-targets.js';
import type { RelayRestartSample } from './relay-restart.js';
import { median, relativeSpread, type Summary, summarize } from './sample-stats.js';

export interface BenchSettings {
  mode: 'quick' | 'full';
  rounds: number;
  c1Samples: number;
  c1Warmup: number;
  concurrency: number;
  closedLoopMs: number;
  closedLoopWarmupCalls: number;
  blobMib: number;
  blobCalls: number;
  firstCallSamples: number;
  sessionCounts: number[];
  restartSignals: Array<'SIGKILL' | 'SIGTERM'>;
  profileMs: number;
}

/** All samples of one measure on one path, plus each round's median (run-to-run stability). */
export interface PathMeasure {
  summary: Summary;
  roundMedians: number[];
  /** (max − min) / median of the round medians. */
  roundSpread: number;
  errors: number;
  firstError?: string;
}

export interface ClosedLoopMeasure extends PathMeasure {
  /** Calls per second, each round. */
  callsPerSecondRounds: number[];
  callsPerSecond: number;
}

export interface BlobMeasure extends PathMeasure {
  /** Per-call MB/s (10^6 bytes/s). `summary` is over the same calls, in ms. */
  mbPerSecond: Summary;
  responseBytes: number;
}

export type Skippable<T> = T | { skipped: string };

export interface TargetCheck {
  name: string;
  target: string;
  measured: string;
  met: boolean | undefined;
  note?: string;
}

export interface BenchResults {
  meta: {
    startedAt: string;
    finishedAt: string;
    durationSeconds: number;
    revision: string;
    machine: MachineInfo;
    versions: Record<string, string>;
    ssh?: { version: string; cipher: string | undefined };
    settings: BenchSettings;
    pipelineNote: string;
    warnings: string[];
  };
  paths: Array<{ id: PathId; description: string; skipped?: string }>;
  latencyC1: Partial<Record<PathId, PathMeasure>>;
  latencyConcurrent: Partial<Record<PathId, ClosedLoopMeasure>>;
  blob: Partial<Record<PathId, BlobMeasure>>;
  firstCall: Partial<Record<PathId, PathMeasure>>;
  /** CPU ms per call of each server-side process tree of a path, and of the load generator. */
  cpuPerCall: Skippable<
    Partial<Record<PathId, { echo: Record<string, number>; blob: Record<string, number> }>>
  >;
  idleSessions: Skippable<SessionMemoryResult>;
  relayRestart: Skippable<{ samples: RelayRestartSample[]; servingAfterRelayUpMs: Summary }>;
  profile: Skippable<ProfileSummary[]>;
  targets: TargetCheck[];
}

/** Collects samples round by round for one measure on one path. */
export class MeasureAccumulator {
  readonly samples: number[] = [];
  readonly roundMedians: number[] = [];
  readonly extra: number[] = [];
  readonly extraRounds: number[] = [];
  errors = 0;
  firstError: string | undefined;

  addRound(samples: number[], errors: number, firstError?: string): void {
    this.samples.push(...samples);
    if (samples.length > 0) this.roundMedians.push(median(samples));
    this.errors += errors;
    this.firstError ??= firstError;
  }

  toMeasure(): PathMeasure {
    return {
      summary: summarize(this.samples),
      roundMedians: this.roundMedians.map((v) => Math.round(v * 1000) / 1000),
      roundSpread: relativeSpread(this.roundMedians),
      errors: this.errors,
      ...(this.firstError ? { firstError: this.firstError } : {}),
    };
  }
}

function isSkipped<T>(value: Skippable<T>): value is { skipped: string } {
  return typeof value === 'object' && value !== null && 'skipped' in value;
}

const fmt = (n: number | undefined, digits = 2): string =>
  n === undefined || !Number.isFinite(n) ? 'n/a' : n.toFixed(digits);

/** The targets, checked against the results. */
export function checkTargets(r: Omit<BenchResults, 'targets'>): TargetCheck[] {
  const out: TargetCheck[] = mcpCoreTargets(r);
  const full = r.latencyConcurrent['airlock-full'];
  const direct = r.latencyConcurrent['direct-http'];
  const c = r.meta.settings.concurrency;
  if (full && direct) {
    const d50 = full.summary.p50 - direct.summary.p50;
    const d99 = full.summary.p99 - direct.summary.p99;
    out.push({
      name: `airlock-full p50 over direct at concurrency ${c}`,
      target: '≤ 1.5 ms',
      measured: `+${fmt(d50)} ms (${fmt(full.summary.p50)} vs ${fmt(direct.summary.p50)} ms)`,
      met: d50 <= 1.5,
    });
    out.push({
      name: `airlock-full p99 over direct at concurrency ${c}`,
      target: '≤ 5 ms',
      measured: `+${fmt(d99)} ms (${fmt(full.summary.p99)} vs ${fmt(direct.summary.p99)} ms)`,
      met: d99 <= 5,
    });
  }
  if (full) {
    out.push({
      name: 'tool calls/s through one connector (airlock-full)',
      target: '≥ 2,000',
      measured: `${Math.round(full.callsPerSecond).toLocaleString('en-US')}`,
      met: full.callsPerSecond >= 2000,
    });
  }
  if (!isSkipped(r.idleSessions)) {
    const last = r.idleSessions.points.at(-1);
    if (last) {
      out.push({
        name: `memory per idle session at the relay (${last.open.toLocaleString('en-US')} sessions)`,
        target: '≤ 64 KB',
        measured: `${fmt(last.relayPerSession.rss / 1024, 1)} KB RSS, ${fmt(last.relayPerSession.heap / 1024, 1)} KB heap`,
        met: Math.max(last.relayPerSession.rss, last.relayPerSession.heap) <= 64 * 1024,
      });
      out.push({
        name: `memory per idle session at the connector (${last.open.toLocaleString('en-US')} sessions)`,
        target: '≤ 256 KB',
        measured: `${fmt(last.connectorPerSession.rss / 1024, 1)} KB RSS, ${fmt(last.connectorPerSession.heap / 1024, 1)} KB heap`,
        met: Math.max(last.connectorPerSession.rss, last.connectorPerSession.heap) <= 256 * 1024,
      });
    }
  }
  if (!isSkipped(r.relayRestart)) {
    const s = r.relayRestart.servingAfterRelayUpMs;
    out.push({
      name: 'serving again after the relay restarts (relay listening → call works)',
      target: '≤ 2 s',
      measured: `p50 ${fmt(s.p50 / 1000)} s, worst ${fmt(s.max / 1000)} s (${s.n} connector recoveries)`,
      met: s.max <= 2000,
    });
  }
  return out;
}
