/** The bench's progress log: one line on stderr with the seconds since the run started. */
const started = Date.now();

/** When this run started (ms since the epoch). */
export function runStartedAt(): number {
  return started;
}

/**
 * Writes one progress line.
 *
 * @example
 * log('relay: :4433'); // "[   1.2 s] relay: :4433"
 */
export function log(line: string): void {
  process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${line}\n`);
}
