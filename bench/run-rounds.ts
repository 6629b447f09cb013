/**
 * The interleaved perf rounds of `npm run bench`: each round runs each measure on every path, the paths
 * in a shuffled (seeded) order, with warm-up, so that drift of the machine hits all paths alike; the
 * CPU of each path's processes is tallied per call.
 *
 * @example
 * const states = await runRounds(setup, settings);
 * const cpu = perCall(states[0].cpuEcho); // { relay: 0.12, connector: 4.5, 'load generator': 0.3 }
 */

import { log } from './bench-log.js';
import type { BenchPath, BenchPaths } from './bench-paths.js';
import { type BenchSettings, MeasureAccumulator } from './bench-results.js';
import { firstToolCall } from './first-call.js';
import { type McpEndpointSpec, McpHttpTarget } from './mcp-http-target.js';
import { blobCalls, closedLoop, sequentialCalls } from './measure-calls.js';
import { sampleCpu } from './process-cpu.js';
import { round } from './sample-stats.js';

export interface PathState {
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

export interface CpuTally {
  ms: Record<string, number>;
  calls: number;
}

/** Deterministic shuffle (mulberry32), so a run's order can be reproduced from its round number. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
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

/** CPU ms per call of each process in a tally. */
export function perCall(t: CpuTally): Record<string, number> {
  return Object.fromEntries(Object.entries(t.ms).map(([k, v]) => [k, round(v / Math.max(1, t.calls), 3)]));
}

async function openStates(setup: BenchPaths, s: BenchSettings): Promise<PathState[]> {
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
  return states;
}

async function measureClosedLoop(st: PathState, s: BenchSettings): Promise<void> {
  // Warm-up outside the CPU window, then the measured window.
  await closedLoop(st.pool, s.concurrency, 1, s.closedLoopWarmupCalls);
  const b = await withCpu(st.path, st.cpuEcho, () => closedLoop(st.pool, s.concurrency, s.closedLoopMs, 0));
  st.loop.addRound(b.latenciesMs, b.errors, b.firstError);
  st.loop.extraRounds.push(b.callsPerSecond);
}

async function measureBlob(st: PathState, s: BenchSettings, r: number): Promise<void> {
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

/**
 * One round of the time-to-a-first-call measure: `samples` new agents (plus one warm-up) against
 * `endpoint`, added to `into` (also used by bench/cluster).
 */
export async function sampleFirstCalls(
  endpoint: McpEndpointSpec,
  samples: number,
  into: MeasureAccumulator,
): Promise<void> {
  const ms: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  for (let i = 0; i <= samples; i++) {
    try {
      const t = await firstToolCall(endpoint);
      if (i > 0) ms.push(t); // the first one of each round is a warm-up
    } catch (err) {
      errors++;
      firstError ??= (err as Error).message;
    }
  }
  into.addRound(ms, errors, firstError);
}

function fmt(n: number | undefined): string {
  return n === undefined || !Number.isFinite(n) ? 'n/a' : n.toFixed(2);
}

/** Every measure on every path, `s.rounds` times, interleaved; closes the load generator's pools. */
export async function runRounds(setup: BenchPaths, s: BenchSettings): Promise<PathState[]> {
  const states = await openStates(setup, s);
  for (let r = 0; r < s.rounds; r++) {
    const order = shuffled(states, r + 1);
    log(`round ${r + 1}/${s.rounds}: ${order.map((p) => p.path.id).join(', ')}`);
    for (const st of order) {
      const b = await sequentialCalls(st.single, s.c1Samples, s.c1Warmup);
      st.c1.addRound(b.latenciesMs, b.errors, b.firstError);
    }
    for (const st of order) await measureClosedLoop(st, s);
    for (const st of order) await measureBlob(st, s, r);
    for (const st of order) await sampleFirstCalls(st.path.endpoint, s.firstCallSamples, st.first);
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
