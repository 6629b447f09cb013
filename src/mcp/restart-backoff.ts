/**
 * Restart pacing for supervised upstreams: exponential backoff with "equal jitter" (half fixed, half
 * random), capped. The clock is injectable so tests can drive restarts without waiting.
 */

/** Default first restart delay. */
export const DEFAULT_RESTART_INITIAL_DELAY_MS = 250;
/** Default longest restart delay. */
export const DEFAULT_RESTART_MAX_DELAY_MS = 30_000;

export { type Clock, systemClock } from '../supervision/clock.js';

export interface BackoffOptions {
  /** First delay in ms. Default {@link DEFAULT_RESTART_INITIAL_DELAY_MS}. */
  initialDelayMs?: number;
  /** Cap in ms. Default {@link DEFAULT_RESTART_MAX_DELAY_MS}. */
  maxDelayMs?: number;
  /** Random source in [0, 1). Default `Math.random`. */
  random?: () => number;
}

/**
 * Delay before restart attempt `attempt` (0-based): `d = min(max, initial * 2^attempt)`, then a value in
 * `[d/2, d)`.
 *
 * @example
 * backoffDelay(0) // 125..250 ms
 * backoffDelay(10) // 15..30 s
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const initial = options.initialDelayMs ?? DEFAULT_RESTART_INITIAL_DELAY_MS;
  const max = options.maxDelayMs ?? DEFAULT_RESTART_MAX_DELAY_MS;
  const random = options.random ?? Math.random;
  const capped = Math.min(max, initial * 2 ** Math.min(attempt, 30));
  return Math.round(capped / 2 + random() * (capped / 2));
}
