/**
 * `npm run bench`: Airlock side by side with a direct connection, an SSH reverse tunnel and an MCP
 * proxy, on loopback, all serving the same upstream MCP server and answering the same calls.
 *
 * Every path is measured in the same run, interleaved: each round runs each measure on every path
 * (in a shuffled, seeded order), with warm-up, so that drift of the machine hits all paths alike
 * (run-rounds.ts). Then: relay restarts, idle-session memory (1,000 and 10,000 sessions, relay and
 * connector in their own processes) and a CPU profile of relay and connector under load (run-profile.ts).
 *
 * Usage: node dist/bench/run.js [--quick] [--rounds N] [--only perf,restart,sessions,profile,audit]
 *                               [--no-perf|--no-restart|--no-sessions|--no-profile|--no-audit] [--profile-ms N]
 *                               [--profile-variant full|tunnel] [--no-install]
 *                               [--out DIR] [--no-doc] [--root DIR] [--render] [--help]
 * `--render` measures nothing: it rewrites comparison.md, comparison.svg and BENCHMARKS.md from
 * `<out>/comparison.json` (e.g. after editing bench/analysis.md).
 * Writes bench/results/comparison{.json,-samples.json,.md,.svg} and BENCHMARKS.md (full
 * runs; `--quick` writes to bench/results/quick/ and leaves BENCHMARKS.md alone); the raw CPU
 * profiles go to `<out>/profiles/`.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { log } from './bench-log.js';
import { type BenchPaths, startPaths } from './bench-paths.js';
import { type BenchResults, type BenchSettings, checkTargets, type Skippable } from './bench-results.js';
import { stopAllChildren } from './child-process.js';
import type { ProfileSummary } from './cpu-profile.js';
import { measureIdleSessions, type SessionMemoryResult } from './idle-sessions.js';
import { type MachineInfo, machineInfo } from './machine-info.js';
import { measureRelayRestarts } from './relay-restart.js';
import { type Args, parseArgs, USAGE } from './run-args.js';
import { profilePhase } from './run-profile.js';
import { assembleResults, writeReports, writeResults } from './run-results.js';
import { runRounds } from './run-rounds.js';
import { summarize } from './sample-stats.js';

/** Durable audit entries/s and the latency the audit adds per call at concurrency 1 and 64. */
async function auditPhase(outDir: string, quick: boolean): Promise<void> {
  const { runAuditBench, summarizeAuditBench } = await import('./audit/audit-bench.js');
  const results = await runAuditBench(quick ? { entries: 2000, samples: 200 } : {});
  await mkdir(outDir, { recursive: true });
  await writeFile(join(outDir, 'audit.json'), `${JSON.stringify(results, null, 2)}\n`);
  for (const line of summarizeAuditBench(results)) log(line);
}

async function restartPhase(setup: BenchPaths, args: Args): Promise<BenchResults['relayRestart']> {
  const s = args.settings;
  // The connectors' backoff must have reset before the first sample too (after the perf rounds,
  // their tunnels have been up for minutes).
  if (!args.perf && s.mode === 'full') await new Promise((resolve) => setTimeout(resolve, 11_000));
  const samples = await measureRelayRestarts(
    setup.airlock,
    s.restartSignals,
    log,
    s.mode === 'full' ? undefined : 0,
  );
  return { samples, servingAfterRelayUpMs: summarize(samples.flatMap((x) => x.servingAfterRelayUpMs)) };
}

async function sessionsPhase(
  dir: string,
  upstreamUrl: string,
  s: BenchSettings,
  machine: MachineInfo,
  warnings: string[],
): Promise<Skippable<SessionMemoryResult>> {
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
    return await measureIdleSessions(join(dir, 'sessions'), upstreamUrl, counts, log);
  } catch (err) {
    const skipped = { skipped: `failed: ${(err as Error).message}` };
    log(`idle sessions: ${skipped.skipped}`);
    return skipped;
  }
}

async function profileOrSkip(
  dir: string,
  upstreamUrl: string,
  args: Args,
): Promise<Skippable<ProfileSummary[]>> {
  if (!args.profile) return { skipped: 'not run (quick run or --no-profile)' };
  try {
    return await profilePhase(
      join(dir, 'profile'),
      upstreamUrl,
      args.settings,
      args.profileVariant,
      args.outDir,
    );
  } catch (err) {
    const skipped = { skipped: `failed: ${(err as Error).message}` };
    log(`profile: ${skipped.skipped}`);
    return skipped;
  }
}

function startWarnings(machine: MachineInfo): string[] {
  if (machine.loadAverageStart <= machine.nproc * 0.5) return [];
  return [
    `The machine was busy when the run started (1-minute load average ${machine.loadAverageStart} on ` +
      `${machine.nproc} CPUs): other work competed for the CPUs, so absolute figures are pessimistic and ` +
      'noisier; the interleaving keeps the comparison between paths fair.',
  ];
}

/** Runs the phases the arguments ask for against the started paths and writes the results. */
async function measure(setup: BenchPaths, dir: string, args: Args, machine: MachineInfo): Promise<void> {
  const startedAt = new Date().toISOString();
  const warnings = startWarnings(machine);
  const states = args.perf ? await runRounds(setup, args.settings) : [];
  const upstreamUrl = `http://127.0.0.1:${setup.upstream.httpPort}/mcp`;
  const relayRestart: BenchResults['relayRestart'] = args.restart
    ? await restartPhase(setup, args)
    : { skipped: 'not run (--no-restart)' };
  const idleSessions: Skippable<SessionMemoryResult> = args.sessions
    ? await sessionsPhase(dir, upstreamUrl, args.settings, machine, warnings)
    : { skipped: 'not run (--no-sessions)' };
  if (args.audit) await auditPhase(args.outDir, args.settings.mode === 'quick');
  const profile = await profileOrSkip(dir, upstreamUrl, args);
  const parts = { setup, states, machine, startedAt, warnings, relayRestart, idleSessions, profile };
  await writeResults(assembleResults(parts, args), states, args);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (args.render) {
    // Re-render the reports of an earlier run (after editing bench/analysis.md, say); measure nothing.
    const results = JSON.parse(await readFile(join(args.outDir, 'comparison.json'), 'utf8')) as BenchResults;
    results.targets = checkTargets(results);
    await writeReports(results, {
      ...args,
      writeDoc: results.meta.settings.mode === 'full' && args.writeDoc,
    });
    return;
  }
  const s = args.settings;
  const machine = machineInfo();
  log(
    `airlock bench (${s.mode}): ${machine.nproc} CPUs (${machine.cpuModel}), ${machine.memoryGiB} GiB, ` +
      `Node ${machine.node}, load ${machine.loadAverageStart}`,
  );
  const dir = await mkdtemp(join(tmpdir(), 'airlock-bench-'));
  let setup: BenchPaths | undefined;
  try {
    setup = await startPaths(dir, log, { installOpenSsh: args.installOpenSsh });
    await measure(setup, dir, args, machine);
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
