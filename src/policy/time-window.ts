/**
 * Time windows of policy conditions (`when.time`): days of the week and an hour range, read in an IANA
 * time zone with `Intl.DateTimeFormat` (no hand-written time-zone arithmetic). The range includes its
 * start and excludes its end; a range whose end is before its start wraps midnight (`22:00-06:00`).
 *
 * @example
 * const w = compileTimeWindow({ days: ['mon', 'tue', 'wed', 'thu', 'fri'], hours: '09:00-17:00', timeZone: 'Europe/Berlin' });
 * w.contains(Date.UTC(2026, 0, 5, 8, 30)); // true: Monday 09:30 in Berlin
 */

/** Day names as written in a policy. */
export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** Time zone of a window that names none. */
export const DEFAULT_TIME_ZONE = 'UTC';

/** A time window as written in a policy (`when.time`). */
export interface TimeWindowSpec {
  /** Days the window is open (in `timeZone`); all days when omitted. */
  days?: Weekday[];
  /** `HH:MM-HH:MM` (24 h, start included, end excluded); the whole day when omitted. */
  hours?: string;
  /** IANA time zone, e.g. `Europe/Berlin`. Default {@link DEFAULT_TIME_ZONE}. */
  timeZone?: string;
}

/** A compiled window. */
export interface TimeWindow {
  /** True when the instant `epochMs` falls inside the window. */
  contains(epochMs: number): boolean;
}

const HOURS = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]|24):([0-5]\d)$/;

/** Minutes since midnight of an `HH:MM-HH:MM` range, or undefined when it is malformed. */
export function parseHourRange(text: string): { start: number; end: number } | undefined {
  const m = HOURS.exec(text);
  if (!m) return undefined;
  const start = Number(m[1]) * 60 + Number(m[2]);
  const end = Number(m[3]) * 60 + Number(m[4]);
  if (end > 24 * 60) return undefined;
  return { start, end };
}

/** Why `zone` is not a time zone this runtime knows, or undefined. */
export function timeZoneProblem(zone: string): string | undefined {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return undefined;
  } catch {
    return `unknown time zone "${zone}" (use an IANA name such as "Europe/Berlin" or "UTC")`;
  }
}

/**
 * Why a window can never (or always-by-mistake) hold, or undefined: an empty `days` list, an hour
 * range whose start equals its end, a malformed range, an unknown time zone.
 */
export function timeWindowProblems(spec: TimeWindowSpec): { path: string; message: string }[] {
  const problems: { path: string; message: string }[] = [];
  if (spec.days !== undefined && spec.days.length === 0) {
    problems.push({ path: 'days', message: 'an empty "days" list can never hold' });
  }
  if (spec.hours !== undefined) {
    const range = parseHourRange(spec.hours);
    if (!range) {
      problems.push({ path: 'hours', message: 'expected "HH:MM-HH:MM" (24 h), e.g. "09:00-17:00"' });
    } else if (range.start === range.end || (range.start === 0 && range.end === 24 * 60)) {
      problems.push({
        path: 'hours',
        message:
          range.start === range.end
            ? 'the hour range starts where it ends, so it can never hold'
            : 'the hour range covers the whole day: omit "hours"',
      });
    }
  }
  const zoneProblem = spec.timeZone === undefined ? undefined : timeZoneProblem(spec.timeZone);
  if (zoneProblem) problems.push({ path: 'timeZone', message: zoneProblem });
  return problems;
}

/**
 * Compiles a validated window. The formatter is created once per window.
 *
 * @example
 * compileTimeWindow({ hours: '22:00-06:00' }).contains(Date.UTC(2026, 0, 1, 23)); // true
 */
export function compileTimeWindow(spec: TimeWindowSpec): TimeWindow {
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone: spec.timeZone ?? DEFAULT_TIME_ZONE,
    weekday: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  });
  const days = spec.days ? new Set<string>(spec.days) : undefined;
  const range = spec.hours ? parseHourRange(spec.hours) : undefined;
  return {
    contains(epochMs) {
      let weekday = '';
      let hour = 0;
      let minute = 0;
      for (const part of format.formatToParts(epochMs)) {
        if (part.type === 'weekday') weekday = part.value.slice(0, 3).toLowerCase();
        else if (part.type === 'hour') hour = Number(part.value) % 24;
        else if (part.type === 'minute') minute = Number(part.value);
      }
      if (days && !days.has(weekday)) return false;
      if (!range) return true;
      const t = hour * 60 + minute;
      return range.start < range.end ? t >= range.start && t < range.end : t >= range.start || t < range.end;
    },
  };
}
