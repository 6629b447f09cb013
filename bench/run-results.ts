/**
 * Assembles `comparison.json` from the phases of `npm run bench` and writes it with its samples and
 * reports (comparison.md, comparison.svg and, for full runs, BENCHMARKS.md).
 *
 * @example
 * await writeResults(assembleResults(parts, args), states, args);
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { log, runStartedAt } from './bench-log.js';
import type { BenchPaths, PathId } from './bench-paths.js';
import {
  type BenchResults,
  type BlobMeasure,
  type ClosedLoopMeasure,
  checkTargets,
  type MeasureAccumulator,
  type PathMeasure,
  type Skippable,
} from './bench-results.js';
import type { ProfileSummary } from './cpu-profile.js';
import type { SessionMemoryResult } from './idle-sessions.js';
import { type MachineInfo, packageVersions, sourceRevision } from './machine-info.js';
import { PIPELINE_NOTE } from './pipeline-variants.js';
import { cpuAccountingAvailable } from './process-cpu.js';
import { renderChartSvg } from './report-chart.js';
import { renderBenchmarksDoc, renderResultsMarkdown } from './report-markdown.js';
import type { Args } from './run-args.js';
import { type PathState, perCall } from './run-rounds.js';
import { median, round, summarize } from './sample-stats.js';

/** What the phases measured, besides the perf rounds' states. */
export interface PhaseResults {
  setup: BenchPaths;
  states: PathState[];
  machine: MachineInfo;
  startedAt: string;
  warnings: string[];
  relayRestart: BenchResults['relayRestart'];
  idleSessions: Skippable<SessionMemoryResult>;
  profile: Skippable<ProfileSummary[]>;
}

function pathMeasures(states: PathState[], pick: (st: PathState) => MeasureAccumulator) {
  const out: Partial<Record<PathId, PathMeasure>> = {};
  for (const st of states) out[st.path.id] = pick(st).toMeasure();
  return out;
}

function concurrentAndBlob(states: PathState[]) {
  const latencyConcurrent: Partial<Record<PathId, ClosedLoopMeasure>> = {};
  const blob: Partial<Record<PathId, BlobMeasure>> = {};
  for (const st of states) {
    latencyConcurrent[st.path.id] = {
      ...st.loop.toMeasure(),
      callsPerSecondRounds: st.loop.extraRounds.map((v) => round(v, 1)),
      callsPerSecond: round(median(st.loop.extraRounds), 1),
    };
    blob[st.path.id] = {
      ...st.blob.toMeasure(),
      mbPerSecond: summarize(st.blob.extra),
      responseBytes: st.blob.extraRounds[0] ?? 0,
    };
  }
  return { latencyConcurrent, blob };
}

function noteBusyEnd(machine: MachineInfo, warnings: string[]): void {
  machine.loadAverageEnd = Math.round((os.loadavg()[0] ?? 0) * 100) / 100;
  if (machine.loadAverageEnd > machine.nproc * 0.5 && warnings.length === 0) {
    warnings.push(
      `The machine was busy when the run ended (1-minute load average ${machine.loadAverageEnd} on ` +
        `${machine.nproc} CPUs): absolute figures are pessimistic.`,
    );
  }
}

/** The whole `comparison.json` (targets checked). */
export function assembleResults(p: PhaseResults, args: Args): BenchResults {
  const { states, setup, machine } = p;
  noteBusyEnd(machine, p.warnings);
  const partial: Omit<BenchResults, 'targets'> = {
    meta: {
      startedAt: p.startedAt,
      finishedAt: new Date().toISOString(),
      durationSeconds: Math.round((Date.now() - runStartedAt()) / 1000),
      revision: sourceRevision(args.root),
      machine,
      versions: packageVersions(args.root),
      ...(setup.ssh ? { ssh: { version: setup.ssh.version, cipher: setup.ssh.cipher } } : {}),
      settings: args.settings,
      pipelineNote: PIPELINE_NOTE,
      warnings: p.warnings,
    },
    paths: setup.paths.map((x) => ({
      id: x.id,
      description: x.description,
      ...(x.skipped ? { skipped: x.skipped } : {}),
    })),
    latencyC1: pathMeasures(states, (st) => st.c1),
    ...concurrentAndBlob(states),
    firstCall: pathMeasures(states, (st) => st.first),
    cpuPerCall: cpuAccountingAvailable()
      ? Object.fromEntries(
          states.map((st) => [st.path.id, { echo: perCall(st.cpuEcho), blob: perCall(st.cpuBlob) }]),
        )
      : { skipped: 'no /proc CPU accounting on this system' },
    idleSessions: p.idleSessions,
    relayRestart: p.relayRestart,
    profile: p.profile,
  };
  return { ...partial, targets: checkTargets(partial) };
}

/** comparison.md, comparison.svg and (full runs) BENCHMARKS.md from `results`. */
export async function writeReports(results: BenchResults, args: Args): Promise<void> {
  await writeFile(join(args.outDir, 'comparison.md'), renderResultsMarkdown(results, 'comparison.svg'));
  await writeFile(join(args.outDir, 'comparison.svg'), renderChartSvg(results));
  if (args.writeDoc) {
    // Hand-written reading of the figures (why a target is missed), kept next to the generator.
    const analysis = await readFile(join(args.root, 'bench', 'analysis.md'), 'utf8').catch(() => undefined);
    await writeFile(
      join(args.root, 'BENCHMARKS.md'),
      renderBenchmarksDoc(results, 'bench/results/comparison.svg', analysis),
    );
  }
  log(`results written to ${args.outDir}${args.writeDoc ? ' and BENCHMARKS.md' : ''}`);
}

/** Writes comparison.json, every sample, the reports, and logs the target checks. */
export async function writeResults(results: BenchResults, states: PathState[], args: Args): Promise<void> {
  const samples = Object.fromEntries(
    states.map((st) => [
      st.path.id,
      {
        latencyC1Ms: st.c1.samples.map((v) => round(v, 3)),
        latencyConcurrentMs: st.loop.samples.map((v) => round(v, 2)),
        blobMs: st.blob.samples.map((v) => round(v, 2)),
        firstCallMs: st.first.samples.map((v) => round(v, 2)),
      },
    ]),
  );
  await mkdir(args.outDir, { recursive: true });
  await writeFile(join(args.outDir, 'comparison.json'), `${JSON.stringify(results, null, 2)}\n`);
  await writeFile(join(args.outDir, 'comparison-samples.json'), `${JSON.stringify(samples)}\n`);
  await writeReports(results, args);
  for (const t of results.targets) {
    log(
      `${t.met === undefined ? '?' : t.met ? 'MET ' : 'MISS'} ${t.name}: ${t.measured} (target ${t.target})`,
    );
  }
}
