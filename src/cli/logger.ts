/**
 * The CLI's logger, on stderr (stdout stays free for machine-readable output): pretty, coloured lines
 * (pino-pretty) when stderr is a terminal, JSON lines otherwise. `AIRLOCK_LOG_FORMAT=json|pretty` forces
 * one; `AIRLOCK_LOG_LEVEL` sets the level (default `info`).
 *
 * Child loggers never repeat a key: a component that adds `{ part: 'approvals' }` under a logger that
 * already has a `part` replaces it instead of emitting `"part":"connector","part":"approvals"`.
 *
 * @example
 * const logger = cliLogger();
 * logger.child({ part: 'tunnel' }).info({ slot: 0 }, 'tunnel up');
 */
import { type Logger, pino } from 'pino';
import PinoPretty from 'pino-pretty';

export type LogFormat = 'json' | 'pretty';

/** The format for this process: env override, else pretty on a TTY. */
export function logFormat(
  env: NodeJS.ProcessEnv = process.env,
  isTty = process.stderr.isTTY === true,
): LogFormat {
  if (env.AIRLOCK_LOG_FORMAT === 'json' || env.AIRLOCK_LOG_FORMAT === 'pretty') return env.AIRLOCK_LOG_FORMAT;
  return isTty ? 'pretty' : 'json';
}

/**
 * Makes `child()` of `root` and of all its descendants replace inherited bindings instead of repeating
 * them (pino concatenates child bindings, so a repeated key would appear twice in the JSON line).
 *
 * @example
 * const log = uniqueBindings(pino());
 * log.child({ part: 'a' }).child({ part: 'b' }).info('x'); // {"part":"b",...}
 */
export function uniqueBindings(root: Logger): Logger {
  type ChildOptions = { level?: string } & Record<string, unknown>;
  type ChildFn = (bindings: Record<string, unknown>, options?: ChildOptions) => Logger;
  const fromRoot = root.child.bind(root) as unknown as ChildFn;
  const wrap = (logger: Logger): Logger => {
    const own = logger.child.bind(logger) as unknown as ChildFn;
    const child: ChildFn = (bindings, options) => {
      const inherited = logger.bindings();
      const clash = Object.keys(bindings).some((key) => key in inherited);
      if (!clash) return wrap(own(bindings, options));
      const replaced = fromRoot({ ...inherited, ...bindings }, options);
      if (options?.level === undefined) replaced.level = logger.level;
      return wrap(replaced);
    };
    logger.child = child as unknown as Logger['child'];
    return logger;
  };
  return wrap(root);
}

export function cliLogger(level = process.env.AIRLOCK_LOG_LEVEL ?? 'info', format = logFormat()): Logger {
  const destination =
    format === 'pretty'
      ? PinoPretty({
          destination: 2,
          sync: true,
          colorize: true,
          translateTime: 'SYS:HH:MM:ss.l',
          // One line per event: `12:00:01.234 INFO: [tunnel] tunnel up {"slot":0}`.
          singleLine: true,
          messageFormat: '{if part}[{part}] {end}{if upstream}({upstream}) {end}{msg}',
          ignore: 'pid,hostname,part,upstream',
        })
      : pino.destination(2);
  return uniqueBindings(pino({ level, base: undefined }, destination));
}
