/**
 * One log line for a start-up: `connector ready` once at least one tunnel is up and every required
 * upstream is ready, with the tunnels, each upstream's state and whether it runs sandboxed; or, if that
 * takes longer than `patienceMs`, one `connector not ready yet` warning with the reasons (then the ready
 * line when it comes). Polls the readiness report; stops once it has logged the ready line.
 *
 * @example
 * const stop = logStartupSummary(() => connector.readiness(), logger);
 * // ... on close: stop();
 */
import type { Logger } from 'pino';
import type { ReadinessReport } from './connector-readiness.js';

/** How often the start-up state is checked. */
export const DEFAULT_STARTUP_POLL_MS = 200;
/** After this long without being ready, one warning says why. */
export const DEFAULT_STARTUP_PATIENCE_MS = 15_000;

export interface StartupSummaryOptions {
  pollMs?: number;
  patienceMs?: number;
  /** Extra fields for the ready line (e.g. the console URL). */
  fields?: Record<string, unknown>;
}

/** The ready line's fields: `tunnels: '2/2 up'`, `upstreams: { erp: 'ready, sandboxed' }`. */
export function startupFields(report: ReadinessReport): Record<string, unknown> {
  const upstreams: Record<string, string> = {};
  for (const u of report.upstreams) {
    const how = u.kind === 'http' ? 'http' : u.sandboxed === false ? 'NOT sandboxed' : 'sandboxed';
    upstreams[u.name] = `${u.state}, ${how}`;
  }
  return {
    tenantHost: report.tenantHost,
    tunnels: report.tunnels.configured ? `${report.tunnels.up}/${report.tunnels.total} up` : 'no relay',
    upstreams,
  };
}

/** Starts watching; returns a function that stops it. */
export function logStartupSummary(
  readiness: () => Promise<ReadinessReport>,
  logger: Logger,
  opts: StartupSummaryOptions = {},
): () => void {
  const started = Date.now();
  const patienceMs = opts.patienceMs ?? DEFAULT_STARTUP_PATIENCE_MS;
  let warned = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const check = async (): Promise<void> => {
    if (stopped) return;
    const report = await readiness().catch(() => undefined);
    if (stopped || !report) return;
    if (report.ready) {
      logger.info({ ...startupFields(report), ...opts.fields }, 'connector ready');
      return;
    }
    if (!warned && Date.now() - started >= patienceMs) {
      warned = true;
      logger.warn({ ...startupFields(report), reasons: report.reasons }, 'connector not ready yet');
    }
    timer = setTimeout(() => void check(), opts.pollMs ?? DEFAULT_STARTUP_POLL_MS);
    timer.unref();
  };
  void check();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}
