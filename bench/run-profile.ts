/**
 * The CPU-profile phase of `npm run bench`: relay and connector in their own processes under
 * `node --cpu-prof`, driven by the closed-loop echo load and then by large results, each load in its own
 * time window of the profile; summarised by function and module (cpu-profile.ts).
 *
 * @example
 * const profile = await profilePhase(join(dir, 'profile'), upstreamUrl, settings, 'full');
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startConnectorProcess, startRelayProcess } from './airlock-processes.js';
import { log } from './bench-log.js';
import { waitUntilServing } from './bench-paths.js';
import type { BenchSettings, Skippable } from './bench-results.js';
import { type ProfileSummary, summarizeCpuProfile } from './cpu-profile.js';
import type { McpEndpointSpec } from './mcp-http-target.js';
import { McpHttpTarget } from './mcp-http-target.js';
import { blobCalls, closedLoop } from './measure-calls.js';
import type { PipelineVariant } from './pipeline-variants.js';

interface Window {
  startUs: number;
  endUs: number;
}
type Windows = { echo: Window; blob: Window };

const nowUs = () => Number(process.hrtime.bigint() / 1000n);

/** The echo closed loop, then 16 MiB results, against one endpoint; marks each load's window. */
async function profileLoad(
  endpoint: McpEndpointSpec,
  s: BenchSettings,
  windows: Windows,
  variant: PipelineVariant,
): Promise<void> {
  await waitUntilServing(endpoint, 20_000);
  const pool = new McpHttpTarget(endpoint, s.concurrency);
  const single = new McpHttpTarget(endpoint, 1);
  await closedLoop(pool, s.concurrency, 1, s.closedLoopWarmupCalls);
  windows.echo.startUs = nowUs();
  const loop = await closedLoop(pool, s.concurrency, s.profileMs, 0);
  windows.echo.endUs = nowUs();
  await single.callTool('blob', { mib: 1 }, { mode: 'size', minBytes: 1024 * 1024 });
  windows.blob.startUs = nowUs();
  const blob = await blobCalls(single, s.blobMib, 3);
  windows.blob.endUs = nowUs();
  log(
    `profile load (${variant}): ${Math.round(loop.callsPerSecond)} calls/s at c=${s.concurrency}, ` +
      `${blob.mbPerSecond.map((v) => v.toFixed(0)).join('/')} MB/s`,
  );
  await pool.close();
  await single.close();
}

/** Runs relay and connector with `--cpu-prof` under the load; the profiles land in `profDir`. */
async function profiledRun(
  dir: string,
  profDir: string,
  upstreamUrl: string,
  s: BenchSettings,
  variant: PipelineVariant,
): Promise<Windows> {
  const prof = (name: string) => [
    '--cpu-prof',
    '--cpu-prof-dir',
    profDir,
    '--cpu-prof-name',
    `${name}.cpuprofile`,
  ];
  const relayDataDir = join(dir, 'relay');
  const relay = await startRelayProcess({ dataDir: relayDataDir, execArgv: prof('relay') });
  const windows: Windows = { echo: { startUs: 0, endUs: 0 }, blob: { startUs: 0, endUs: 0 } };
  try {
    const connector = await startConnectorProcess({
      relay,
      relayDataDir,
      tenant: 'prof',
      dir: join(dir, 'connector'),
      upstreamUrl,
      variant,
      execArgv: prof('connector'),
    });
    try {
      await profileLoad(connector.endpoint, s, windows, variant);
    } finally {
      await connector.running.stop('SIGTERM', 20_000);
    }
  } finally {
    await relay.running.stop('SIGTERM', 20_000);
  }
  return windows;
}

/** Copies the raw profiles (open them in Chrome DevTools) and their load windows next to the results. */
async function keepProfiles(from: string, to: string, windows: Windows): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const name of ['relay', 'connector']) {
    await copyFile(join(from, `${name}.cpuprofile`), join(to, `${name}.cpuprofile`)).catch(() => undefined);
  }
  await writeFile(join(to, 'windows.json'), `${JSON.stringify(windows)}\n`);
}

/** Profiles relay and connector under load and summarises both profiles per load. */
export async function profilePhase(
  dir: string,
  upstreamUrl: string,
  s: BenchSettings,
  profileVariant: PipelineVariant,
  keepIn?: string,
): Promise<Skippable<ProfileSummary[]>> {
  const profDir = join(dir, 'profiles');
  await mkdir(profDir, { recursive: true });
  const windows = await profiledRun(dir, profDir, upstreamUrl, s, profileVariant);
  if (keepIn) await keepProfiles(profDir, join(keepIn, 'profiles'), windows);
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
