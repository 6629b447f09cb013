/**
 * Graceful shutdown for long-running commands. Call {@link catchShutdownSignals} FIRST, before
 * starting anything, so that a SIGINT/SIGTERM arriving during start-up is not lost (the default
 * action would kill the process without closing anything); then {@link runUntilSignal} after the
 * service is up. A second signal exits at once.
 */
export interface ShutdownSignals {
  /** Resolves with the first SIGINT/SIGTERM received. */
  received: Promise<NodeJS.Signals>;
  dispose(): void;
}

export function catchShutdownSignals(): ShutdownSignals {
  let resolveReceived: (signal: NodeJS.Signals) => void = () => undefined;
  const received = new Promise<NodeJS.Signals>((resolve) => {
    resolveReceived = resolve;
  });
  let count = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    count += 1;
    if (count > 1) process.exit(130);
    resolveReceived(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    received,
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/** Waits for the shutdown signal, then closes the service; errors while closing are logged. */
export async function runUntilSignal(
  signals: ShutdownSignals,
  close: () => Promise<void>,
  log: (msg: string) => void,
): Promise<void> {
  const signal = await signals.received;
  log(`${signal} received, shutting down`);
  try {
    await close();
  } catch (err) {
    log(`shutdown error: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    signals.dispose();
  }
}
