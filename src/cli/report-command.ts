/**
 * `airlock report`: the evidence a security review asks for, generated from this connector's live
 * state, signed with its audit key; `airlock report verify` checks a report later.
 *
 *   airlock report --config connector.yaml --out ./report [--since 2026-12-01 --until … --agent ID --upstream NAME] [--discover found.json]
 *   airlock report verify ./report [--config connector.yaml | --key audit-key.pub.pem]
 *
 * `verify` exits 0 when the signature, `report.json` and `report.html` all check, 1 otherwise.
 */
import type { Command } from 'commander';

interface ReportFlags {
  config?: string;
  out?: string;
  since?: string;
  until?: string;
  agent?: string;
  upstream?: string;
  discover?: string;
  json?: boolean;
}

interface VerifyFlags {
  config?: string;
  key?: string;
  json?: boolean;
}

export function register(program: Command): void {
  const report = program
    .command('report')
    .description('write a signed security report (report.html + report.json) from the connector’s live state')
    .option('-c, --config <file>', 'connector config file')
    .option('-o, --out <dir>', 'directory for report.html and report.json')
    .option('--since <iso>', 'period start (ISO 8601)')
    .option('--until <iso>', 'period end (ISO 8601)')
    .option('--agent <id>', 'only this agent identity')
    .option('--upstream <name>', 'only this upstream’s tools')
    .option('--discover <file.json>', 'include an "airlock discover --out" result')
    .option('--json', 'also print the report JSON on stdout')
    .action(async (flags: ReportFlags) => {
      await writeReport(flags);
    });

  report
    .command('verify <dir>')
    .description('check a report’s signature and that report.html matches report.json')
    .option('-c, --config <file>', 'pin the audit key of this connector')
    .option('-k, --key <file>', 'pin this audit public key (PEM)')
    .option('--json', 'print the result as JSON')
    .action(async (dir: string, _flags: VerifyFlags, cmd: Command) => {
      // `--config` is also an option of `report` itself: read the merged options.
      const flags = cmd.optsWithGlobals<VerifyFlags>();
      const { verifyReportDir } = await import('../report/report-signing.js');
      const publicKeyPem = await pinnedKey(flags);
      const result = await verifyReportDir(dir, publicKeyPem ? { publicKeyPem } : {});
      if (flags.json) process.stdout.write(`${JSON.stringify(result)}\n`);
      else if (result.ok) {
        process.stdout.write(
          `report OK: signed by audit key ${result.keyId}${result.pinned ? ' (pinned)' : ' (the key inside the report; pin it with --config or --key)'}\n`,
        );
      } else process.stdout.write(`report FAILED:\n${result.problems.map((p) => `  - ${p}`).join('\n')}\n`);
      if (!result.ok) process.exitCode = 1;
    });
}

async function pinnedKey(flags: VerifyFlags): Promise<string | undefined> {
  const { readFile } = await import('node:fs/promises');
  if (flags.key) return readFile(flags.key, 'utf8');
  if (!flags.config) return undefined;
  const { loadConnectorContext } = await import('../connector/connector-context.js');
  const { readAuditPublicKey } = await import('../connector/report/generate-report.js');
  const { ReportError } = await import('../report/report-model.js');
  const ctx = await loadConnectorContext(flags.config);
  const pem = await readAuditPublicKey(ctx.dataDir);
  if (!pem)
    throw new ReportError(
      'AIRLOCK_REPORT_NO_AUDIT_KEY',
      `the connector of ${flags.config} has no audit key yet`,
    );
  return pem;
}

async function writeReport(flags: ReportFlags): Promise<void> {
  const { ReportError, parseReportScope } = await import('../report/report-model.js');
  if (!flags.config || !flags.out) {
    throw new ReportError(
      'AIRLOCK_CLI_USAGE',
      'give --config <connector.yaml> and --out <dir> (or: airlock report verify <dir>)',
    );
  }
  const scope = parseReportScope(flags);
  const { readFile } = await import('node:fs/promises');
  const discovery = flags.discover ? JSON.parse(await readFile(flags.discover, 'utf8')) : undefined;
  if (discovery && discovery.format !== 'airlock-discovery/1') {
    throw new ReportError(
      'AIRLOCK_REPORT_DISCOVERY',
      `${flags.discover} is not an "airlock discover --out" result`,
    );
  }
  const { withConnectorStore } = await import('./connector-store.js');
  const { generateReport } = await import('../connector/report/generate-report.js');
  const { writeSignedReport } = await import('../report/report-signing.js');
  const { join } = await import('node:path');
  const { auditTenant } = await import('../connector/connector-audit.js');
  const out = flags.out;
  await withConnectorStore(flags.config, async (ctx, store) => {
    const report = await generateReport({
      ctx,
      store,
      tenant: auditTenant(ctx),
      scope,
      ...(discovery ? { discovery } : {}),
    });
    const signed = await writeSignedReport(out, report, { dataDir: ctx.dataDir });
    if (flags.json) process.stdout.write(`${JSON.stringify(signed)}\n`);
    const v = report.audit.verification;
    process.stderr.write(
      `wrote ${join(out, 'report.html')} and ${join(out, 'report.json')} (signed by audit key ${signed.signature.keyId.slice(0, 16)}…; audit trail ${v ? (v.ok ? 'verifies' : 'DOES NOT verify') : 'not started'})\n`,
    );
  });
}
