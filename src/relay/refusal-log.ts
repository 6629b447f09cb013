/**
 * Rate-limited logging of refused connections: a flood of refusals must not become a flood of log
 * lines. Each refusal is counted; one summary line per interval names the counts per reason (and one
 * sample SNI and peer). The exact numbers are in /metrics (`airlock_relay_routing_failures_total`).
 *
 * @example
 * const refusals = new RefusalLog(logger, 10_000);
 * refusals.note('source_connection_limit', { peer: '203.0.113.7:51000' });
 * refusals.close(); // flushes the last summary
 */
import type { Logger } from 'pino';

export interface RefusalSample {
  sni?: string;
  peer?: string;
}

export class RefusalLog {
  #counts = new Map<string, number>();
  #sample: RefusalSample | undefined;
  #timer: NodeJS.Timeout | undefined;

  /** `intervalMs`: time between summary lines (at most one line per interval). */
  constructor(
    private readonly logger: Logger,
    readonly intervalMs: number,
  ) {}

  /** Counts one refusal; the summary is written at the end of the current interval. */
  note(reason: string, sample: RefusalSample = {}): void {
    this.#counts.set(reason, (this.#counts.get(reason) ?? 0) + 1);
    this.#sample ??= sample;
    if (this.#timer === undefined) {
      this.#timer = setTimeout(() => this.flush(), this.intervalMs);
      this.#timer.unref();
    }
  }

  /** Writes the summary of the refusals counted since the last one (nothing when there were none). */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#counts.size === 0) return;
    const refused = Object.fromEntries(this.#counts);
    const total = [...this.#counts.values()].reduce((a, b) => a + b, 0);
    this.logger.info(
      { refused, total, sample: this.#sample, intervalMs: this.intervalMs },
      'connections refused',
    );
    this.#counts = new Map();
    this.#sample = undefined;
  }

  /** Flushes and stops. */
  close(): void {
    this.flush();
  }
}
