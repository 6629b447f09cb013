/**
 * `npm run bench`: Airlock side by side with a direct connection, an SSH reverse tunnel and an MCP
 * proxy, on loopback, all serving the same upstream MCP server and answering the same calls.
 *
 * Every path is measured in the same run, interleaved: each round runs each measure on every path
 * (in a shuffled, seeded order), with warm-up, so that drift of the machine hits all paths alike.
 * Then: relay restarts, idle-session memory (1,000 and 10,000 sessions, relay and connector in their
 * own processes) and a CPU profile of relay and connector under load.
 *
 * Usage: node dist/bench/run.js [--quick] [--rounds N] [--only perf,restart,sessions,profile,audit]
 *                               [--no-perf|--no-restart|--no-sessions|--no-profile|--no-audit] [--profile-ms N]
 *                               [--profile-variant full|tunnel] [--no-install]
 *                               [--out DIR] [--no-doc] [--root DIR] [--render]
 * `--render` measures nothing: it rewrites comparison.md, comparison.svg and BENCHMARKS.md from
 * `<out>/comparison.json` (e.g. after editing bench/analysis.md).
 * Writes bench/results/comparison{.json,-samples.json,.md,.svg} and BENCHMARKS.md (full
 * runs; `--quick` writes to bench/results/quick/ and leaves BENCHMARKS.md alone).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startConnectorProcess, startRelayProcess } from './airlock-processes.js';
import { type BenchPath, type BenchPaths, type PathId, startPaths, waitUntilServing } from './bench-paths.js';
import {
  type BenchResults,
  type BenchSettings,
  type BlobMeasure,
  type ClosedLoopMeasure,
  checkTargets,
  MeasureAccumulator,
  type PathMeasure,
  type Skippable,
} from './bench-results.js';
import { stopAllChildren } from './child-process.js';
import { type ProfileSummary, summarizeCpuProfile } from './cpu-profile.js';
import { firstToolCall } from './first-call.js';
import { measureIdleSessions, type SessionMemoryResult } from './idle-sessions.js';
import { machineInfo, packageVersions, sourceRevision } from './machine-info.js';
import { McpHttpTarget } from './mcp-http-target.js';
import { blobCalls, closedLoop, sequentialCalls } from './measure-calls.js';
import { PIPELINE_NOTE, type PipelineVariant } from './pipeline-variants.js';
import { cpuAccountingAvailable, sampleCpu } from './process-cpu.js';
import { measureRelayRestarts } from './relay-restart.js';
import { renderChartSvg } from './report-chart.js';
import { renderBenchmarksDoc, renderResultsMarkdown } from './report-markdown.js';
import { median, round, summarize } from './sample-stats.js';

/** The repository (dist/bench/run.js → ../..); `--root DIR` overrides it (a build elsewhere). */
const DEFAULT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

const FULL: BenchSettings = {
  mode: 'full',
  rounds: 5,
  c1Samples: 200,
  c1Warmup: 20,
  concurrency: 64,
  closedLoopMs: 3000,
  closedLoopWarmupCalls: 3,
  blobMib: 16,
  blobCalls: 2,
  firstCallSamples: 8,
  sessionCounts: [1000, 10_000],
  restartSignals: ['SIGKILL', 'SIGTERM', 'SIGKILL', 'SIGTERM'],
  profileMs: 8000,
};

const QUICK: BenchSettings = {
  mode: 'quick',
  rounds: 1,
  c1Samples: 30,
  c1Warmup: 5,
  concurrency: 64,
  closedLoopMs: 500,
  closedLoopWarmupCalls: 1,
  blobMib: 16,
  blobCalls: 1,
  firstCallSamples: 2,
  sessionCounts: [100, 300],
  restartSignals: ['SIGKILL'],
  profileMs: 0,
};

interface Args {
  settings: BenchSettings;
  perf: boolean;
  sessions: boolean;
  profile: boolean;
  restart: boolean;
  /** The audit-trail benchmark (bench/audit/audit-bench.ts → `<out>/audit.json`). */
  audit: boolean;
  root: string;
  outDir: string;
  writeDoc: boolean;
  profileVariant: PipelineVariant;
  installOpenSsh: boolean;
  /** Only re-render the reports from `<outDir>/comparison.json`. */
  render: boolean;
}

const PHASES = ['perf', 'restart', 'sessions', 'profile', 'audit'] as const;

function parseArgs(argv: string[]): Args {
  const has = (f: string) => argv.includes(f);
  const value = (f: string) => {
    const i = argv.indexOf(f);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const quick = has('--quick');
  const settings = { ...(quick ? QUICK : FULL) };
  const rounds = Number(value('--rounds'));
  if (Number.isInteger(rounds) && rounds > 0) settings.rounds = rounds;
  const profileMs = Number(value('--profile-ms'));
  if (Number.isInteger(profileMs) && profileMs > 0) settings.profileMs = profileMs;
  const only = value('--only')?.split(',');
  const unknown = only?.filter((p) => !(PHASES as readonly string[]).includes(p)) ?? [];
  if (unknown.length > 0)
    throw new Error(`--only: unknown phase ${unknown.join(', ')} (${PHASES.join(', ')})`);
  const phase = (name: (typeof PHASES)[number], byDefault: boolean) =>
    only ? only.includes(name) : byDefault && !has(`--no-${name}`);
  const perf = phase('perf', true);
  const root = resolve(value('--root') ?? DEFAULT_ROOT);
  const profile = phase('profile', !quick);
  if (profile && settings.profileMs === 0) settings.profileMs = 3000;
  return {
    settings,
    perf,
    sessions: phase('sessions', true),
    profile,
    restart: phase('restart', true),
    audit: phase('audit', true),
    root,
    outDir: resolve(value('--out') ?? join(root, 'bench', 'results', quick ? 'quick' : '.')),
    writeDoc: !quick && !only && !has('--no-doc'),
    profileVariant: value('--profile-variant') === 'tunnel' ? 'tunnel' : 'full',
    installOpenSsh: !has('--no-install'),
    render: has('--render'),
  };
}

const started = Date.now();
/** Durable audit entries/s and the latency the audit adds per call at concurrency 1 and 64. */
async function auditPhase(outDir: string, quick: boolean): Promise<void> {
  const { runAuditBench, summarizeAuditBench } = await import('./audit/audit-bench.js');
  const results = await runAuditBench(quick ? { entries: 2000, samples: 200 } : {});
  await mkdir(outDir, { recursive: true });
  await writeFile(join(outDir, 'audit.json'), `${JSON.stringify(results, null, 2)}\n`);
  for (const line of summarizeAuditBench(results)) log(line);
}

function log(line: string): void {
  process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${line}\n`);
}

/** Deterministic shuffle (mulberry32), so a run's order can be reproduced from its round number. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  let a = seed + 0x6d2b79f5;
  const rand = (): number => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

interface PathState {
  path: BenchPath & { endpoint: NonNullable<BenchPath['endpoint']> };
  single: McpHttpTarget;
  pool: McpHttpTarget;
  c1: MeasureAccumulator;
  loop: MeasureAccumulator;
  blob: MeasureAccumulator;
  first: MeasureAccumulator;
  /** CPU ms per process tree (and the load generator), summed over rounds, and the calls they served. */
  cpuEcho: CpuTally;
  cpuBlob: CpuTally;
}

interface CpuTally {
  ms: Record<string, number>;
  calls: number;
}

/** Runs `fn` and adds the CPU each of the path's processes (and this process) spent to `tally`. */
async function withCpu<T extends { calls: number }>(
  path: BenchPath,
  tally: CpuTally,
  fn: () => Promise<T>,
): Promise<T> {
  const trees = path.processes?.() ?? {};
  const before = sampleCpu(trees);
  const self0 = process.cpuUsage();
  const out = await fn();
  const after = sampleCpu(trees);
  const self = process.cpuUsage(self0);
  for (const name of Object.keys(trees)) {
    tally.ms[name] = (tally.ms[name] ?? 0) + ((after[name] ?? 0) - (before[name] ?? 0));
  }
  tally.ms['load generator'] = (tally.ms['load generator'] ?? 0) + (self.user + self.system) / 1000;
  tally.calls += out.calls;
  return out;
}

function perCall(t: CpuTally): Record<string, number> {
  return Object.fromEntries(Object.entries(t.ms).map(([k, v]) => [k, round(v / Math.max(1, t.calls), 3)]));
}

async function runRounds(setup: BenchPaths, s: BenchSettings): Promise<PathState[]> {
  const states: PathState[] = [];
  for (const path of setup.paths) {
    if (!path.endpoint) continue;
    const single = new McpHttpTarget(path.endpoint, 1);
    const pool = new McpHttpTarget(path.endpoint, s.concurrency);
    await single.init();
    await pool.init();
    states.push({
      path: path as PathState['path'],
      single,
      pool,
      c1: new MeasureAccumulator(),
      loop: new MeasureAccumulator(),
      blob: new MeasureAccumulator(),
      first: new MeasureAccumulator(),
      cpuEcho: { ms: {}, calls: 0 },
      cpuBlob: { ms: {}, calls: 0 },
    });
  }
  for (let r = 0; r < s.rounds; r++) {
    const order = shuffled(states, r + 1);
    log(`round ${r + 1}/${s.rounds}: ${order.map((p) => p.path.id).join(', ')}`);
    for (const st of order) {
      const b = await sequentialCalls(st.single, s.c1Samples, s.c1Warmup);
      st.c1.addRound(b.latenciesMs, b.errors, b.firstError);
    }
    for (const st of order) {
      // Warm-up outside the CPU window, then the measured window.
      await closedLoop(st.pool, s.concurrency, 1, s.closedLoopWarmupCalls);
      const b = await withCpu(st.path, st.cpuEcho, () =>
        closedLoop(st.pool, s.concurrency, s.closedLoopMs, 0),
      );
      st.loop.addRound(b.latenciesMs, b.errors, b.firstError);
      st.loop.extraRounds.push(b.callsPerSecond);
    }
    for (const st of order) {
      const b = await withCpu(st.path, st.cpuBlob, async () => {
        // The first round of a full run warms up; later rounds follow other paths' calls.
        const warm = r === 0 && s.mode === 'full';
        const batch = await blobCalls(st.single, s.blobMib, s.blobCalls, warm);
        return { ...batch, calls: batch.latenciesMs.length + (warm ? 1 : 0) };
      });
      st.blob.addRound(b.latenciesMs, b.errors, b.firstError);
      st.blob.extra.push(...b.mbPerSecond);
      if (b.bytes > 0) st.blob.extraRounds[0] = b.bytes;
    }
    for (const st of order) {
      const samples: number[] = [];
      let errors = 0;
      let firstError: string | undefined;
      for (let i = 0; i <= s.firstCallSamples; i++) {
        try {
          const ms = await firstToolCall(st.path.endpoint);
          if (i > 0) samples.push(ms); // the first one of each round is a warm-up
        } catch (err) {
          errors++;
          firstError ??= (err as Error).message;
        }
      }
      st.first.addRound(samples, errors, firstError);
    }
    log(
      `  c=1 p50: ${order.map((p) => `${p.path.id} ${fmt(p.c1.roundMedians.at(-1))}`).join(', ')} ms\n` +
        `           c=${s.concurrency} calls/s: ${order.map((p) => `${p.path.id} ${Math.round(p.loop.extraRounds.at(-1) ?? 0)}`).join(', ')}`,
    );
  }
  for (const st of states) {
    await st.single.close();
    await st.pool.close();
  }
  return states;
}

function fmt(n: number | undefined): string {
  return n === undefined || !Number.isFinite(n) ? 'n/a' : n.toFixed(2);
}

async function profilePhase(
  dir: string,
  upstreamUrl: string,
  s: BenchSettings,
  profileVariant: PipelineVariant,
): Promise<Skippable<ProfileSummary[]>> {
  const profDir = join(dir, 'profiles');
  await mkdir(profDir, { recursive: true });
  const prof = (name: string) => [
    '--cpu-prof',
    '--cpu-prof-dir',
    profDir,
    '--cpu-prof-name',
    `${name}.cpuprofile`,
  ];
  const relayDataDir = join(dir, 'relay');
  const relay = await startRelayProcess({ dataDir: relayDataDir, execArgv: prof('relay') });
  const now = () => Number(process.hrtime.bigint() / 1000n);
  const windows = { echo: { startUs: 0, endUs: 0 }, blob: { startUs: 0, endUs: 0 } };
  try {
    const connector = await startConnectorProcess({
      relay,
      relayDataDir,
      tenant: 'prof',
      dir: join(dir, 'connector'),
      upstreamUrl,
      variant: profileVariant,
      execArgv: prof('connector'),
    });
    try {
      await waitUntilServing(connector.endpoint, 20_000);
      const pool = new McpHttpTarget(connector.endpoint, s.concurrency);
      const single = new McpHttpTarget(connector.endpoint, 1);
      await closedLoop(pool, s.concurrency, 1, s.closedLoopWarmupCalls);
      windows.echo.startUs = now();
      const loop = await closedLoop(pool, s.concurrency, s.profileMs, 0);
      windows.echo.endUs = now();
      await single.callTool('blob', { mib: 1 }, { mode: 'size', minBytes: 1024 * 1024 });
      windows.blob.startUs = now();
      const blob = await blobCalls(single, s.blobMib, 3);
      windows.blob.endUs = now();
      log(
        `profile load (${profileVariant}): ${Math.round(loop.callsPerSecond)} calls/s at c=${s.concurrency}, ` +
          `${blob.mbPerSecond.map((v) => v.toFixed(0)).join('/')} MB/s`,
      );
      await pool.close();
      await single.close();
    } finally {
      await connector.running.stop('SIGTERM', 20_000);
    }
  } finally {
    await relay.running.stop('SIGTERM', 20_000);
  }
  const out: ProfileSummary[] = [];
  for (const name of ['relay', 'connector']) {
    for (const [load, window] of Object.entries(windows)) {
      const label = `${name}, ${load === 'echo' ? `echo calls at concurrency ${s.concurrency}` : `${s.blobMib} MiB results`} (airlock-${profileVariant})`;
      try {
        out.push(await summarizeCpuProfile(join(profDir, `${name}.cpuprofile`), label, 15, window));
      } catch (err) {
        log(`profile of ${name} not readable: ${(err as Error).message}`);
      }
    }
  }
  return out.length > 0 ? out : { skipped: 'no profile was written (processes did not exit cleanly)' };
}

function pathMeasures(states: PathState[], pick: (st: PathState) => MeasureAccumulator) {
  const out: Partial<Record<PathId, PathMeasure>> = {};
  for (const st of states) out[st.path.id] = pick(st).toMeasure();
  return out;
}

/** comparison.md, comparison.svg and (full runs) BENCHMARKS.md from `results`. */
async function writeReports(results: BenchResults, args: Args): Promise<void> {
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

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.render) {
    // Re-render the reports of an earlier run (after editing bench/analysis.md, say); measure nothing.
    const results = JSON.parse(await readFile(join(args.outDir, 'comparison.json'), 'utf8')) as BenchResults;
    await writeReports(results, {
      ...args,
      writeDoc: results.meta.settings.mode === 'full' && args.writeDoc,
    });
    return;
  }
  const s = args.settings;
  const machine = machineInfo();
  const startedAt = new Date().toISOString();
  log(
    `airlock bench (${s.mode}): ${machine.nproc} CPUs (${machine.cpuModel}), ${machine.memoryGiB} GiB, ` +
      `Node ${machine.node}, load ${machine.loadAverageStart}`,
  );
  const warnings: string[] = [];
  if (machine.loadAverageStart > machine.nproc * 0.5) {
    warnings.push(
      `The machine was busy when the run started (1-minute load average ${machine.loadAverageStart} on ` +
        `${machine.nproc} CPUs): other work competed for the CPUs, so absolute figures are pessimistic and ` +
        'noisier; the interleaving keeps the comparison between paths fair.',
    );
  }
  const dir = await mkdtemp(join(tmpdir(), 'airlock-bench-'));
  let setup: BenchPaths | undefined;
  try {
    setup = await startPaths(dir, log, { installOpenSsh: args.installOpenSsh });
    const states = args.perf ? await runRounds(setup, s) : [];
    const upstreamUrl = `http://127.0.0.1:${setup.upstream.httpPort}/mcp`;

    let relayRestart: BenchResults['relayRestart'] = { skipped: 'not run (--no-restart)' };
    if (args.restart) {
      // The connectors' backoff must have reset before the first sample too (after the perf rounds,
      // their tunnels have been up for minutes).
      if (!args.perf && s.mode === 'full') await new Promise((resolve) => setTimeout(resolve, 11_000));
      const samples = await measureRelayRestarts(
        setup.airlock,
        s.restartSignals,
        log,
        s.mode === 'full' ? undefined : 0,
      );
      relayRestart = {
        samples,
        servingAfterRelayUpMs: summarize(samples.flatMap((x) => x.servingAfterRelayUpMs)),
      };
    }

    let idleSessions: Skippable<SessionMemoryResult> = { skipped: 'not run (--no-sessions)' };
    if (args.sessions) {
      try {
        // Each idle session is a socket in this process and one in the relay: stay under the fd limit.
        const fdLimit = Number(machine.ulimitNoFile);
        const counts = Number.isFinite(fdLimit)
          ? s.sessionCounts.filter((n) => n + 1000 <= fdLimit)
          : s.sessionCounts;
        if (counts.length < s.sessionCounts.length) {
          warnings.push(
            `Idle sessions: the open-files limit (${machine.ulimitNoFile}) allows only ${counts.join(', ') || 'none'} of ${s.sessionCounts.join(', ')}; raise it with ulimit -n.`,
          );
        }
        if (counts.length === 0) throw new Error(`open-files limit ${machine.ulimitNoFile} too low`);
        idleSessions = await measureIdleSessions(join(dir, 'sessions'), upstreamUrl, counts, log);
      } catch (err) {
        idleSessions = { skipped: `failed: ${(err as Error).message}` };
        log(`idle sessions: ${idleSessions.skipped}`);
      }
    }

    if (args.audit) await auditPhase(args.outDir, s.mode === 'quick');
    let profile: Skippable<ProfileSummary[]> = { skipped: 'not run (quick run or --no-profile)' };
    if (args.profile) {
      try {
        profile = await profilePhase(join(dir, 'profile'), upstreamUrl, s, args.profileVariant);
      } catch (err) {
        profile = { skipped: `failed: ${(err as Error).message}` };
        log(`profile: ${profile.skipped}`);
      }
    }

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
    machine.loadAverageEnd = Math.round((os.loadavg()[0] ?? 0) * 100) / 100;
    if (machine.loadAverageEnd > machine.nproc * 0.5 && warnings.length === 0) {
      warnings.push(
        `The machine was busy when the run ended (1-minute load average ${machine.loadAverageEnd} on ` +
          `${machine.nproc} CPUs): absolute figures are pessimistic.`,
      );
    }
    const partial: Omit<BenchResults, 'targets'> = {
      meta: {
        startedAt,
        finishedAt: new Date().toISOString(),
        durationSeconds: Math.round((Date.now() - started) / 1000),
        revision: sourceRevision(args.root),
        machine,
        versions: packageVersions(args.root),
        ...(setup.ssh ? { ssh: { version: setup.ssh.version, cipher: setup.ssh.cipher } } : {}),
        settings: s,
        pipelineNote: PIPELINE_NOTE,
        warnings,
      },
      paths: setup.paths.map((p) => ({
        id: p.id,
        description: p.description,
        ...(p.skipped ? { skipped: p.skipped } : {}),
      })),
      latencyC1: pathMeasures(states, (st) => st.c1),
      latencyConcurrent,
      blob,
      firstCall: pathMeasures(states, (st) => st.first),
      cpuPerCall: cpuAccountingAvailable()
        ? Object.fromEntries(
            states.map((st) => [st.path.id, { echo: perCall(st.cpuEcho), blob: perCall(st.cpuBlob) }]),
          )
        : { skipped: 'no /proc CPU accounting on this system' },
      idleSessions,
      relayRestart,
      profile,
    };
    const results: BenchResults = { ...partial, targets: checkTargets(partial) };
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
  } finally {
    await setup?.close();
    await stopAllChildren();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch(async (err: unknown) => {
  log(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  await stopAllChildren();
  process.exitCode = 1;
});
