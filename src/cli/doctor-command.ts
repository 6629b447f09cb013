/**
 * `airlock doctor agent|connector`: one line per check, each saying ok, or what is wrong and what to do.
 * Exit status 1 when a check fails.
 *
 * @example
 * airlock doctor agent --url https://acme.relay.example.com/mcp --ca tenant-ca.pem --cert agent.pem --key agent.key
 * airlock doctor connector --config /etc/airlock/connector.yaml
 */
import type { Command } from 'commander';
import type { DoctorStep } from '../agent/doctor-steps.js';
import { type TenantConnectionFlags, tenantConnectionOptions } from './tenant-connection-flags.js';

const MARK: Record<DoctorStep['status'], string> = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL', skip: 'skip' };

/** One line: `ok   tls          TLSv1.3 ...` or `FAIL tls  <what> [CODE] → <what to do>`. */
export function formatStep(step: DoctorStep): string {
  const code = step.code ? ` [${step.code}]` : '';
  const hint = step.hint ? ` → ${step.hint}` : '';
  return `${MARK[step.status]} ${step.name.padEnd(19)} ${step.detail}${code}${hint}\n`;
}

function print(step: DoctorStep): void {
  process.stdout.write(formatStep(step));
}

function finish(steps: DoctorStep[]): void {
  const failed = steps.filter((s) => s.status === 'fail').length;
  const warned = steps.filter((s) => s.status === 'warn').length;
  process.stdout.write(
    failed === 0
      ? `all checks passed${warned ? ` (${warned} warnings)` : ''}\n`
      : `${failed} check(s) failed\n`,
  );
  process.exitCode = failed === 0 ? 0 : 1;
}

export function register(program: Command): void {
  const doctor = program
    .command('doctor')
    .description('check, step by step, what stands between an agent or a connector and a working tenant');

  tenantConnectionOptions(
    doctor
      .command('agent')
      .description('from an agent: DNS, TCP, TLS with the pinned tenant CA, client certificate, clock, MCP'),
  )
    .option('--timeout <ms>', 'per network step', '5000')
    .action(async (flags: TenantConnectionFlags & { timeout: string }) => {
      const { tenantConnectionFromFlags } = await import('./tenant-connection-flags.js');
      const { diagnoseTenant } = await import('../agent/tenant-doctor.js');
      const conn = await tenantConnectionFromFlags(flags);
      finish(await diagnoseTenant(conn, { stepTimeoutMs: Number(flags.timeout), onStep: print }));
    });

  doctor
    .command('connector')
    .description('from the connector host: config, enrollment, relay DNS/TCP/TLS, clock, tunnels, upstreams')
    .requiredOption('-c, --config <file>', 'connector config file')
    .option('--admin <host:port>', 'admin address of the running connector (default: admin.listen)')
    .option('--timeout <ms>', 'per network step', '5000')
    .action(async (flags: { config: string; admin?: string; timeout: string }) => {
      const { diagnoseConnector } = await import('./doctor-connector.js');
      finish(
        await diagnoseConnector(flags.config, {
          ...(flags.admin ? { admin: flags.admin } : {}),
          stepTimeoutMs: Number(flags.timeout),
          onStep: print,
        }),
      );
    });
}
