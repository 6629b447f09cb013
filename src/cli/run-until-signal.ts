/** Keeps a long-running command alive until SIGINT/SIGTERM, then closes it cleanly (second signal: exit now). */
export function runUntilSignal(close: () => Promise<void>, log: (msg: string) => void): Promise<void> {
  return new Promise((resolve) => {
    let closing = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (closing) process.exit(130);
      closing = true;
      log(`${signal} received, shutting down`);
      close()
        .catch((err: unknown) => log(`shutdown error: ${err instanceof Error ? err.message : String(err)}`))
        .finally(() => {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          resolve();
        });
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
