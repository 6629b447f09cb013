/**
 * The cost of a call through the relay cluster, next to a single relay node and a direct TLS
 * connection, measured in the same run and interleaved as `npm run bench` does (each round runs each
 * measure on every path, in a seeded shuffled order, so that drift of the machine hits all paths alike):
 *
 * - `direct-tls`: client → upstream over TLS on loopback;
 * - `airlock-full`: agent → relay → tunnel → connector (whole pipeline) → upstream (one relay);
 * - `cluster-splice`: agent → relay node A (no tunnel of the tenant) → node-to-node splice (mutual
 *   TLS, HTTP/2) → node B (the tenant's tunnels) → tunnel → connector (same pipeline) → upstream.
 *
 * The cluster is two `airlock relay` processes on PostgreSQL (fresh schema) and Redis (fresh prefix);
 * node A does not advertise its public address to connectors, so the connector's tunnels all stay on
 * node B. The run fails if node A ever holds a tunnel of the tenant or if its `/metrics` do not count
 * a splice for every agent connection the cluster path opened.
 *
 * Usage: node dist/bench/cluster/cluster-path.js [--quick] [--rounds N] [--out DIR] [--no-cluster]
 * Writes <out>/cluster-path.json and <out>/cluster-path.md (default bench/results/, `--quick`:
 * bench/results/quick/). Other flags are ignored (`npm run bench` passes bench/run.js's flags on);
 * `--no-cluster` skips this run. Needs Redis (AIRLOCK_TEST_REDIS_URL, default redis://127.0.0.1:6379)
 * and PostgreSQL (AIRLOCK_TEST_PG_URL, default postgres://postgres@127.0.0.1:5432/test).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { log, runStartedAt } from '../bench-log.js';
import { type BenchSettings, MeasureAccumulator } from '../bench-results.js';
import { stopAllChildren } from '../child-process.js';
import { type MachineInfo, machineInfo } from '../machine-info.js';
import { McpHttpTarget } from '../mcp-http-target.js';
import { closedLoop, sequentialCalls } from '../measure-calls.js';
import { FULL, QUICK } from '../run-args.js';
import { sampleFirstCalls, shuffled } from '../run-rounds.js';
import { median, round } from '../sample-stats.js';
import { type ClusterPathResults, renderClusterPathMarkdown } from './cluster-path-report.js';
import { type ClusterPathSetup, type PathSpec, startClusterPathSetup } from './cluster-path-setup.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** `npm run bench`'s sizes (bench/run-args.ts); a quick run interleaves two rounds. */
const SETTINGS = { full: FULL, quick: { ...QUICK, rounds: 2 } } as const;

interface PathRun {
  spec: PathSpec;
  single: McpHttpTarget;
  pool: McpHttpTarget;
  c1: MeasureAccumulator;
  loop: MeasureAccumulator;
  first: MeasureAccumulator;
}

async function runRounds(paths: PathSpec[], s: BenchSettings): Promise<PathRun[]> {
  const runs: PathRun[] = [];
  for (const spec of paths) {
    const single = new McpHttpTarget(spec.endpoint, 1);
    const pool = new McpHttpTarget(spec.endpoint, s.concurrency);
    const acc = () => new MeasureAccumulator();
    runs.push({ spec, single, pool, c1: acc(), loop: acc(), first: acc() });
  }
  try {
    for (let r = 0; r < s.rounds; r++) {
      const order = shuffled(runs, r + 1);
      log(`round ${r + 1}/${s.rounds}: ${order.map((p) => p.spec.id).join(', ')}`);
      for (const run of order) {
        const b = await sequentialCalls(run.single, s.c1Samples, s.c1Warmup);
        run.c1.addRound(b.latenciesMs, b.errors, b.firstError);
      }
      for (const run of order) {
        await closedLoop(run.pool, s.concurrency, 1, s.closedLoopWarmupCalls);
        const b = await closedLoop(run.pool, s.concurrency, s.closedLoopMs, 0);
        run.loop.addRound(b.latenciesMs, b.errors, b.firstError);
        run.loop.extraRounds.push(b.callsPerSecond);
      }
      for (const run of order) await sampleFirstCalls(run.spec.endpoint, s.firstCallSamples, run.first);
      log(
        `  c=1 p50 ms: ${order.map((p) => `${p.spec.id} ${p.c1.roundMedians.at(-1)?.toFixed(2)}`).join(', ')}; ` +
          `c=${s.concurrency} calls/s: ${order.map((p) => `${p.spec.id} ${Math.round(p.loop.extraRounds.at(-1) ?? 0)}`).join(', ')}`,
      );
    }
  } finally {
    for (const run of runs) {
      await run.single.close();
      await run.pool.close();
    }
  }
  return runs;
}

function results(
  runs: PathRun[],
  s: BenchSettings,
  meta: {
    startedAt: string;
    machine: MachineInfo;
    splices: ClusterPathResults['splices'];
    warnings: string[];
  },
): ClusterPathResults {
  const paths = runs.map((run) => ({
    id: run.spec.id,
    description: run.spec.description,
    latencyC1: run.c1.toMeasure(),
    latencyConcurrent: {
      ...run.loop.toMeasure(),
      callsPerSecondRounds: run.loop.extraRounds.map((v) => round(v, 1)),
      callsPerSecond: round(median(run.loop.extraRounds), 1),
    },
    firstCall: run.first.toMeasure(),
  }));
  return {
    meta: {
      startedAt: meta.startedAt,
      finishedAt: new Date().toISOString(),
      durationSeconds: Math.round((Date.now() - runStartedAt()) / 1000),
      machine: { ...meta.machine, loadAverageEnd: machineInfo().loadAverageStart },
      settings: s,
      warnings: meta.warnings,
    },
    paths,
    splices: meta.splices,
  };
}

async function main(): Promise<void> {
  // Not strict: `npm run bench -- <flags>` hands bench/run.js's flags to this run too.
  const { values } = parseArgs({
    strict: false,
    options: {
      quick: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      out: { type: 'string' },
      'no-cluster': { type: 'boolean', default: false },
    },
  });
  if (values['no-cluster']) return log('cluster path: not run (--no-cluster)');
  const s: BenchSettings = { ...(values.quick ? SETTINGS.quick : SETTINGS.full) };
  if (Number(values.rounds) > 0) s.rounds = Math.trunc(Number(values.rounds));
  const outFlag = typeof values.out === 'string' ? values.out : undefined;
  const outDir = resolve(outFlag ?? join(ROOT, 'bench', 'results', values.quick ? 'quick' : '.'));
  const machine = machineInfo();
  const warnings: string[] = [];
  if (machine.loadAverageStart > machine.nproc * 0.5)
    warnings.push(
      `The machine was busy when the run started (1-minute load average ${machine.loadAverageStart} on ` +
        `${machine.nproc} CPUs): absolute figures are pessimistic; compare the paths of this run.`,
    );
  log(`cluster path bench (${s.mode}): ${machine.nproc} CPUs, load ${machine.loadAverageStart}`);
  const startedAt = new Date().toISOString();
  const dir = await mkdtemp(join(tmpdir(), 'airlock-bench-cluster-'));
  let setup: ClusterPathSetup | undefined;
  try {
    setup = await startClusterPathSetup(dir, log);
    const before = await setup.spliceCounts();
    const runs = await runRounds(setup.paths, s);
    const splices = await setup.verifySpliced(before, s.concurrency + 1 + s.rounds * s.firstCallSamples);
    log(
      `spliced: node A out +${splices.outOnA}, node B in +${splices.inOnB}; node A tunnels of the tenant: 0`,
    );
    const out = results(runs, s, { startedAt, machine, splices, warnings });
    await mkdir(outDir, { recursive: true });
    await writeFile(join(outDir, 'cluster-path.json'), `${JSON.stringify(out, null, 2)}\n`);
    await writeFile(join(outDir, 'cluster-path.md'), renderClusterPathMarkdown(out));
    log(`results written to ${outDir}/cluster-path.{json,md}`);
    process.stdout.write(renderClusterPathMarkdown(out));
  } finally {
    await setup?.close().catch((err: unknown) => log(`close: ${(err as Error).message}`));
    await stopAllChildren();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch(async (err: unknown) => {
  log(`cluster path bench FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  await stopAllChildren();
  process.exitCode = 1;
});
