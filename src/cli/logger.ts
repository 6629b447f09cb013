/** The CLI's logger: JSON lines on stderr (stdout stays free for machine-readable output). */
import { type Logger, pino } from 'pino';

export function cliLogger(level = process.env.AIRLOCK_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: undefined }, pino.destination(2));
}
