/**
 * Time for connectors to be serving again after the relay restarts: the relay process is stopped
 * (`SIGKILL`: a crash; `SIGTERM`: a graceful restart that sends every tunnel a GOAWAY), a new relay
 * process starts on the same port with the same data dir, and each connector is probed with a new
 * agent connection every 20 ms until a tool call goes through. The connectors are left alone: they
 * notice the loss and redial with their own backoff. Before each sample the connectors have been
 * stable long enough for that backoff to reset.
 */
import { performance } from 'node:perf_hooks';
import { DEFAULT_BACKOFF_RESET_AFTER_MS } from '../src/supervision/backoff.js';
import { startRelayProcess } from './airlock-processes.js';
import { type AirlockProcesses, waitUntilServing } from './bench-paths.js';

export interface RelayRestartSample {
  signal: 'SIGKILL' | 'SIGTERM';
  /** Stop signal sent → relay process gone. */
  stopMs: number;
  /** New relay process started → listening (its ready line). */
  relayStartMs: number;
  /** New relay listening → a call works, per connector (the figure the target is about). */
  servingAfterRelayUpMs: number[];
  /** Stop signal sent → every connector serving again. */
  totalMs: number;
}

/**
 * Restarts the relay `samples` times per signal and measures each recovery. `airlock.relay` is
 * replaced by the new relay process.
 */
export async function measureRelayRestarts(
  airlock: AirlockProcesses,
  signals: Array<'SIGKILL' | 'SIGTERM'>,
  log: (line: string) => void,
  gapMs = DEFAULT_BACKOFF_RESET_AFTER_MS + 1000,
): Promise<RelayRestartSample[]> {
  const out: RelayRestartSample[] = [];
  for (const signal of signals) {
    const port = airlock.relay.port;
    const t0 = performance.now();
    await airlock.relay.running.stop(signal, 10_000);
    const tDown = performance.now();
    airlock.relay = await startRelayProcess({ dataDir: airlock.relayDataDir, port });
    const tUp = performance.now();
    const serving = await Promise.all(
      airlock.connectors.map((c) => waitUntilServing(c.endpoint, 60_000, 20)),
    );
    const sample: RelayRestartSample = {
      signal,
      stopMs: tDown - t0,
      relayStartMs: tUp - tDown,
      servingAfterRelayUpMs: serving,
      totalMs: tUp - t0 + Math.max(...serving),
    };
    out.push(sample);
    log(
      `relay restart (${signal}): relay up after ${sample.relayStartMs.toFixed(0)} ms, connectors serving ` +
        `${serving.map((s) => `${s} ms`).join(', ')} later`,
    );
    // Each sample is a restart after a stable period: a connector's reconnect backoff resets only once
    // its tunnel has been up for DEFAULT_BACKOFF_RESET_AFTER_MS, so back-to-back restarts would measure
    // the backoff of the previous one.
    await new Promise((resolve) => setTimeout(resolve, gapMs));
  }
  return out;
}
