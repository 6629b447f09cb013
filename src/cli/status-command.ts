/**
 * `airlock status`: the running connector at a glance, from its admin port's `/readyz` (the same facts as
 * `/metrics`): ready or not and why, tunnels, upstreams (sandboxed or not, restarts), sessions, pending
 * approvals, audit checkpoint and witness lag. Exit status 0 when ready, 1 when not, 2 when unreachable.
 *
 * @example
 * airlock status --config /etc/airlock/connector.yaml
 * airlock status --admin 127.0.0.1:7070 --json
 */
import type { Command } from 'commander';
import type { ReadinessReport } from '../connector/health/connector-readiness.js';

/** How long `airlock status` waits for the admin port. */
export const DEFAULT_STATUS_TIMEOUT_MS = 5_000;

function upstreamLine(u: ReadinessReport['upstreams'][number]): string {
  const facts = [u.kind === 'http' ? 'http' : u.sandboxed === false ? 'NOT sandboxed' : 'sandboxed'];
  if (u.restarts > 0) facts.push(`${u.restarts} restarts`);
  if (!u.required) facts.push('optional');
  const error = u.lastError ? ` — ${u.lastError}` : '';
  return `${u.name} ${u.state} (${facts.join(', ')})${error}`;
}

/** The report as a few lines of text. */
export function formatReadiness(report: ReadinessReport): string {
  const lines = [
    `connector ${report.tenantHost}: ${report.ready ? 'ready' : `NOT READY — ${report.reasons.join('; ')}`}`,
  ];
  const t = report.tunnels;
  if (t.configured) {
    const slots = t.slots
      .map(
        (s) =>
          `#${s.slot} ${s.state}${s.transport && s.transport !== '-' ? ` ${s.transport}` : ''}${s.lastError && s.state !== 'up' ? ` (${s.lastError})` : ''}`,
      )
      .join(', ');
    lines.push(`  tunnels    ${t.up}/${t.total} up: ${slots}`);
  } else lines.push('  tunnels    none (no relay configured)');
  for (const [i, u] of report.upstreams.entries()) {
    lines.push(`  ${i === 0 ? 'upstreams ' : '          '} ${upstreamLine(u)}`);
  }
  lines.push(`  sessions   ${report.sessions}`);
  if (report.approvalsPending !== undefined) lines.push(`  approvals  ${report.approvalsPending} pending`);
  const a = report.audit;
  if (a) {
    const lag = Math.max(0, a.headSeq - a.checkpointedTreeSize);
    lines.push(
      `  audit      ${a.available ? 'writable' : 'NOT WRITABLE'}, head ${a.headSeq}, ${lag} entries after the last checkpoint`,
    );
    for (const w of a.witnesses) {
      const behind = Math.max(0, a.checkpointedTreeSize - w.witnessedTreeSize);
      lines.push(
        `  witness    ${w.witness}: ${behind} entries behind, ${w.pending} queued${w.lastError ? ` (${w.lastError})` : ''}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

/** `http://host:port` of the admin listener from `--admin` (host:port or URL) or the config's `admin.listen`. */
export function adminBaseUrl(admin: string): string {
  if (/^https?:\/\//.test(admin)) return admin.replace(/\/+$/, '');
  const match = /^(.*):(\d+)$/.exec(admin);
  let host = match?.[1] ?? admin;
  if (host === '0.0.0.0' || host === '') host = '127.0.0.1';
  if (host === '::' || host === '[::]') host = '[::1]';
  return `http://${host}:${match?.[2] ?? '7070'}`;
}

/** Fetches `/readyz` (200 and 503 both carry the report). Throws `AIRLOCK_CLI_CONNECTOR_UNREACHABLE`. */
export async function fetchReadiness(
  base: string,
  timeoutMs = DEFAULT_STATUS_TIMEOUT_MS,
): Promise<ReadinessReport> {
  const { AirlockError } = await import('../errors/airlock-error.js');
  try {
    const res = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(timeoutMs) });
    if (res.status !== 200 && res.status !== 503) throw new Error(`HTTP ${res.status} from ${base}/readyz`);
    return (await res.json()) as ReadinessReport;
  } catch (cause) {
    const why =
      cause instanceof Error ? ((cause.cause as Error | undefined)?.message ?? cause.message) : String(cause);
    throw Object.assign(
      new AirlockError('AIRLOCK_CLI_CONNECTOR_UNREACHABLE', `no connector answers at ${base}: ${why}`, {
        cause,
      }),
      {
        hint: 'start it ("airlock connector run --config <file>" or systemctl start airlock-connector), or pass --admin <host:port>',
      },
    );
  }
}

export async function adminFromConfig(configFile: string): Promise<string> {
  const { loadConnectorContext } = await import('../connector/connector-context.js');
  const ctx = await loadConnectorContext(configFile);
  return ctx.config.admin.listen;
}

export function register(program: Command): void {
  program
    .command('status')
    .description('the running connector at a glance: ready or not, tunnels, upstreams, approvals, audit')
    .option('-c, --config <file>', 'connector config file (its admin.listen is queried)')
    .option('--admin <host:port>', 'admin address of the connector (default: admin.listen of --config)')
    .option('--json', 'print the /readyz report as JSON')
    .action(async (opts: { config?: string; admin?: string; json?: boolean }) => {
      const admin = opts.admin ?? (opts.config ? await adminFromConfig(opts.config) : '127.0.0.1:7070');
      const report = await fetchReadiness(adminBaseUrl(admin));
      process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatReadiness(report));
      process.exitCode = report.ready ? 0 : 1;
    });
}
