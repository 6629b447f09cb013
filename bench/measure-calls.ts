/**
 * The per-path measurements driven by the light load generator (`McpHttpTarget`): sequential tool
 * calls (latency at concurrency 1), a closed loop of N concurrent callers for a fixed time (latency at
 * concurrency N and calls per second), and large tool results (MB/s).
 */
import { performance } from 'node:perf_hooks';
import type { McpHttpTarget } from './mcp-http-target.js';

/** The argument of every `echo` call: 128 characters, a typical small tool call. */
export const ECHO_TEXT = 'The quick brown fox jumps over the lazy dog; '.repeat(3).slice(0, 128);

export interface CallBatch {
  /** Latency of each successful call, ms. */
  latenciesMs: number[];
  errors: number;
  firstError?: string;
}

export interface ClosedLoopBatch extends CallBatch {
  calls: number;
  elapsedMs: number;
  callsPerSecond: number;
}

function noteError(batch: CallBatch, err: unknown): void {
  batch.errors++;
  batch.firstError ??= err instanceof Error ? err.message : String(err);
}

/** `warmup` unmeasured calls, then `samples` sequential calls. */
export async function sequentialCalls(
  target: McpHttpTarget,
  samples: number,
  warmup: number,
): Promise<CallBatch> {
  const batch: CallBatch = { latenciesMs: [], errors: 0 };
  for (let i = 0; i < warmup; i++) await target.callTool('echo', { text: ECHO_TEXT }).catch(() => undefined);
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    try {
      await target.callTool('echo', { text: ECHO_TEXT });
      batch.latenciesMs.push(performance.now() - t0);
    } catch (err) {
      noteError(batch, err);
    }
  }
  return batch;
}

/**
 * `concurrency` callers, each calling again as soon as its previous call ended. Warm-up: every caller
 * first makes `warmupCalls` unmeasured calls (so every connection is open and warm). Then the callers
 * start calls for `durationMs`; every call started in that window is measured to its end, and the
 * rate is the number of those calls over the time until the last one ended.
 */
export async function closedLoop(
  target: McpHttpTarget,
  concurrency: number,
  durationMs: number,
  warmupCalls: number,
): Promise<ClosedLoopBatch> {
  const batch: ClosedLoopBatch = { latenciesMs: [], errors: 0, calls: 0, elapsedMs: 0, callsPerSecond: 0 };
  const warm = async (): Promise<void> => {
    for (let i = 0; i < warmupCalls; i++)
      await target.callTool('echo', { text: ECHO_TEXT }).catch(() => undefined);
  };
  await Promise.all(Array.from({ length: concurrency }, warm));
  const start = performance.now();
  const end = start + durationMs;
  let lastEnd = start;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      const t0 = performance.now();
      try {
        await target.callTool('echo', { text: ECHO_TEXT });
        const t1 = performance.now();
        batch.latenciesMs.push(t1 - t0);
        batch.calls++;
        if (t1 > lastEnd) lastEnd = t1;
      } catch (err) {
        noteError(batch, err);
        if (batch.errors > 1000) return;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  batch.elapsedMs = Math.max(1, lastEnd - start);
  batch.callsPerSecond = (batch.calls / batch.elapsedMs) * 1000;
  return batch;
}

export interface BlobBatch extends CallBatch {
  /** Throughput of each call, MB/s (10^6 bytes of response body per second). */
  mbPerSecond: number[];
  bytes: number;
}

/** `calls` sequential `blob` calls of `mib` MiB each (after one unmeasured call when `warmup`). */
export async function blobCalls(
  target: McpHttpTarget,
  mib: number,
  calls: number,
  warmup = true,
): Promise<BlobBatch> {
  const batch: BlobBatch = { latenciesMs: [], errors: 0, mbPerSecond: [], bytes: 0 };
  const minBytes = mib * 1024 * 1024;
  if (warmup) await target.callTool('blob', { mib }, { mode: 'size', minBytes }).catch(() => undefined);
  for (let i = 0; i < calls; i++) {
    const t0 = performance.now();
    try {
      const { bytes } = await target.callTool('blob', { mib }, { mode: 'size', minBytes });
      const ms = performance.now() - t0;
      batch.latenciesMs.push(ms);
      batch.mbPerSecond.push(bytes / 1e6 / (ms / 1000));
      batch.bytes = bytes;
    } catch (err) {
      noteError(batch, err);
    }
  }
  return batch;
}
