/**
 * At most `limit` requests in flight to one upstream (`maxInFlight` in connector.yaml); the others wait
 * in arrival order. With 1, a 2025-11-25 stdio server's sampling or elicitation request (a pipe says
 * nothing about which call it belongs to) always belongs to the one call in flight, so it reaches that
 * call's agent instead of being refused as ambiguous (upstream-interaction.ts). A waiting request whose
 * agent gives up leaves the queue at once.
 *
 * @example
 * const gate = new InFlightLimit(1);
 * const result = await gate.run(signal, () => upstream.send('tools/call', params));
 */
import { requestCancelled } from './upstream-errors.js';

/** Requests in flight to an upstream that sets no `maxInFlight`: 0, no limit. */
export const DEFAULT_UPSTREAM_MAX_IN_FLIGHT = 0;

export class InFlightLimit {
  readonly #limit: number;
  #running = 0;
  readonly #waiting: Array<() => void> = [];

  /** `limit` 0 (or less): no limit. */
  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Requests waiting for a slot now. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** Runs `send` once a slot is free; rejects with `AIRLOCK_REQUEST_CANCELLED` if `signal` aborts while waiting. */
  async run<T>(signal: AbortSignal | undefined, send: () => Promise<T>): Promise<T> {
    if (this.#limit > 0 && this.#running >= this.#limit) await this.#slot(signal);
    else this.#running++;
    try {
      return await send();
    } finally {
      this.#release();
    }
  }

  /** Waits until a finishing request hands its slot over (the count stays the same). */
  #slot(signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) return Promise.reject(requestCancelled());
    return new Promise<void>((resolve, reject) => {
      const granted = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        const at = this.#waiting.indexOf(granted);
        if (at !== -1) this.#waiting.splice(at, 1);
        reject(requestCancelled());
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiting.push(granted);
    });
  }

  #release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#running--;
  }
}
