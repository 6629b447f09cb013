/**
 * MCP logging levels (RFC 5424 severities, least to most severe) and the filtering the gateway applies
 * when it relays upstream `notifications/message` to agents.
 *
 * @example
 * passesLogThreshold('info', 'warning'); // false: the agent asked for warning and above
 * mostVerboseLevel(['error', 'info']);    // 'info'
 */
import type { LoggingLevel } from '@modelcontextprotocol/server';

/** Every logging level, from least to most severe. */
export const LOGGING_LEVELS: readonly LoggingLevel[] = [
  'debug',
  'info',
  'notice',
  'warning',
  'error',
  'critical',
  'alert',
  'emergency',
];

/** Whether `value` is one of the eight MCP logging levels. */
export function isLoggingLevel(value: unknown): value is LoggingLevel {
  return typeof value === 'string' && (LOGGING_LEVELS as readonly string[]).includes(value);
}

/**
 * Whether a message at `level` reaches an agent whose threshold is `threshold`. Without a threshold the
 * answer is `whenUnset` (2025-11-25 sessions that never called `logging/setLevel` get every message;
 * 2026-07-28 requests without a log level in their envelope get none).
 */
export function passesLogThreshold(
  level: unknown,
  threshold: LoggingLevel | undefined,
  whenUnset = true,
): boolean {
  if (!isLoggingLevel(level)) return false;
  if (threshold === undefined) return whenUnset;
  return LOGGING_LEVELS.indexOf(level) >= LOGGING_LEVELS.indexOf(threshold);
}

/** The most verbose of several levels (what a shared upstream must send so that every agent gets its share). */
export function mostVerboseLevel(levels: Iterable<LoggingLevel>): LoggingLevel | undefined {
  let best: LoggingLevel | undefined;
  for (const level of levels) {
    if (best === undefined || LOGGING_LEVELS.indexOf(level) < LOGGING_LEVELS.indexOf(best)) best = level;
  }
  return best;
}
