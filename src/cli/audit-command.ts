/**
 * `airlock audit verify|prove|check-proof|export`: check and export the connector's audit trail.
 *
 *   airlock audit verify --config connector.yaml [--offline]      the trail in the connector store
 *   airlock audit verify --file trail.jsonl --key audit.pub.pem [--config c.yaml] [--offline]
 *   airlock audit prove <seq> --config connector.yaml [--from <size>]   inclusion (+ consistency) proof
 *   airlock audit check-proof --proof proof.json --key audit.pub.pem     checks a `prove` output offline
 *   airlock audit export --config connector.yaml --format jsonl|ocsf --out trail.jsonl
 *
 * `verify` checks the hash chain, every checkpoint's RFC 6962 Merkle root and signature, and asks
 * every witness (the relay, `audit.witnesses`) what it cosigned: `audit.quorum` of them must answer
 * and match. It names the first bad entry and what is wrong (modified, missing, inserted, reordered,
 * truncated, bad signature, unwitnessed). Without the witness quorum it fails, unless `--offline`:
 * then it says what was not checked. Exit status 0: the trail verifies; 1: it does not.
 */
import type { Command } from 'commander';
import type { AuditVerifyReport } from '../audit/audit-verify.js';
import type { ConnectorContext } from '../connector/connector-context.js';
import { registerProofCommands } from './audit-proof-command.js';

interface VerifyFlags {
  config?: string;
  file?: string;
  key?: string;
  offline?: boolean;
  witness?: boolean;
  json?: boolean;
}

interface ExportFlags {
  config: string;
  format: string;
  out: string;
}

export function register(program: Command): void {
  const audit = program
    .command('audit')
    .description('verify, prove and export the tamper-evident audit trail of a connector');

  audit
    .command('verify')
    .description('check the hash chain, Merkle roots, checkpoint signatures and what the witnesses cosigned')
    .option(
      '-c, --config <file>',
      'connector config file (the trail in its store, its audit key, its witnesses)',
    )
    .option('-f, --file <export.jsonl>', 'verify an exported trail (airlock audit export) instead')
    .option(
      '-k, --key <file>',
      'audit public key (PEM) to verify with (default: the connector’s, or the export’s)',
    )
    .option('--offline', 'accept the trail without a witness quorum (the report says what was not checked)')
    .option('-w, --witness', 'consult the witnesses (the default; kept for older scripts)')
    .option('--json', 'print the report as JSON')
    .action(async (flags: VerifyFlags) => {
      const report = await verify(flags);
      const { tree: _tree, ...printable } = report;
      if (flags.json) process.stdout.write(`${JSON.stringify(printable)}\n`);
      else process.stdout.write(`${describeReport(report)}\n`);
      if (!report.ok) process.exitCode = 1;
    });

  registerProofCommands(audit);

  audit
    .command('export')
    .description(
      'write the trail to a file: jsonl (verifiable offline) or ocsf (OCSF 1.3 API Activity, for a SIEM)',
    )
    .requiredOption('-c, --config <file>', 'connector config file')
    .option('--format <format>', 'jsonl or ocsf', 'jsonl')
    .requiredOption('-o, --out <file>', 'output file (written with mode 0600)')
    .action(async (flags: ExportFlags) => {
      const { AirlockError } = await import('../errors/airlock-error.js');
      if (flags.format !== 'jsonl' && flags.format !== 'ocsf') {
        throw new AirlockError('AIRLOCK_CLI_USAGE', `--format must be jsonl or ocsf, not "${flags.format}"`);
      }
      const format = flags.format;
      const { exportAuditTrail } = await import('../audit/audit-export.js');
      const { auditTenant } = await import('../connector/connector-audit.js');
      const { withConnectorStore } = await import('./connector-store.js');
      await withConnectorStore(flags.config, async (ctx, store) => {
        const publicKeyPem = await connectorPublicKey(ctx.dataDir);
        const { lines } = await exportAuditTrail({
          repository: store.audit,
          tenant: auditTenant(ctx),
          publicKeyPem,
          format,
          path: flags.out,
        });
        process.stdout.write(`exported ${lines} lines (${format}) to ${flags.out}\n`);
      });
    });
}

/** For people: OK with the counts and what the witnesses vouch for, or the first problem. */
export function describeReport(r: AuditVerifyReport): string {
  const range = r.firstSeq !== undefined ? ` (seq ${r.firstSeq}..${r.lastSeq})` : '';
  const counts = `${r.checkpoints} checkpoints; witnesses: ${r.witnessesReached} answered, quorum ${r.quorum}, witnessed through entry ${r.witnessedThrough}`;
  const tail =
    r.unwitnessed.from <= r.unwitnessed.to
      ? `\n  entries ${r.unwitnessed.from}..${r.unwitnessed.to} are not witnessed yet: only the audit key vouches for them`
      : '';
  const offline = r.notChecked ? `\n  NOT CHECKED: ${r.notChecked}` : '';
  if (r.ok) {
    const pruned = r.pruned > 0 ? `, ${r.pruned} older entries pruned with a signed record` : '';
    return `audit trail OK: ${r.entries} entries${range}, signed through entry ${r.signedThrough} (${counts})${pruned}; root ${r.rootHash ?? '-'}${tail}${offline}`;
  }
  const p = r.firstProblem;
  return `audit trail FAILED at entry ${p?.seq}: ${p?.kind}: ${p?.detail}\n  read ${r.entries} entries${range}, ${counts}${offline}`;
}

async function verify(flags: VerifyFlags): Promise<AuditVerifyReport> {
  const { AirlockError } = await import('../errors/airlock-error.js');
  const { verifyAuditTrail } = await import('../audit/audit-verify.js');
  const { readFile } = await import('node:fs/promises');
  if (!flags.config && !flags.file) {
    throw new AirlockError('AIRLOCK_CLI_USAGE', 'give --config <connector.yaml> or --file <export.jsonl>');
  }
  const { loadConnectorContext } = await import('../connector/connector-context.js');
  const { auditTenant } = await import('../connector/connector-audit.js');
  const ctx = flags.config ? await loadConnectorContext(flags.config) : undefined;
  const pinnedKey = flags.key
    ? await readFile(flags.key, 'utf8')
    : ctx
      ? await connectorPublicKey(ctx.dataDir)
      : undefined;
  const offline = flags.offline === true;
  if (flags.file) {
    const { readAuditExport } = await import('../audit/audit-export.js');
    const trail = await readAuditExport(flags.file);
    if (!pinnedKey) {
      process.stderr.write(
        'airlock: verifying with the key named in the export itself; pin the connector’s key with --key <audit-key.pub.pem>\n',
      );
    }
    const tenant = ctx ? auditTenant(ctx) : trail.header.tenant;
    const w = ctx ? await witnessViews(ctx, tenant) : { views: [], quorum: 0 };
    return verifyAuditTrail({
      entries: trail.entries,
      checkpoints: trail.checkpoints,
      publicKey: pinnedKey ?? trail.header.publicKey,
      tenant,
      witnesses: w.views,
      quorum: w.quorum,
      offline,
    });
  }
  if (!ctx || !pinnedKey) throw new AirlockError('AIRLOCK_CLI_USAGE', 'nothing to verify');
  const { storedAuditCheckpoints, storedAuditEntries } = await import('../audit/stored-trail.js');
  const { openStore } = await import('../store/open-store.js');
  const tenant = auditTenant(ctx);
  const w = await witnessViews(ctx, tenant);
  const store = await openStore({ url: ctx.storeUrl });
  try {
    return await verifyAuditTrail({
      entries: storedAuditEntries(store.audit),
      checkpoints: await storedAuditCheckpoints(store.audit),
      publicKey: pinnedKey,
      tenant,
      witnesses: w.views,
      quorum: w.quorum,
      offline,
    });
  } finally {
    await store.close();
  }
}

/** What every configured witness (relay included) cosigned last, and the quorum. */
async function witnessViews(ctx: ConnectorContext, tenant: string) {
  const { connectorWitnesses } = await import('../connector/audit-witnesses.js');
  const set = await connectorWitnesses(ctx, tenant);
  try {
    const views = await set.views(tenant);
    for (const v of views.filter((x) => x.error)) {
      process.stderr.write(`airlock: audit witness ${v.name}: ${v.error}\n`);
    }
    return { views, quorum: set.quorum };
  } finally {
    await set.close();
  }
}

/** The connector's audit public key (PEM) from `<dataDir>/audit/`, without creating one. */
export async function connectorPublicKey(dataDir: string): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const { createPrivateKey, createPublicKey } = await import('node:crypto');
  const { AUDIT_KEY_FILE, AUDIT_PUBLIC_KEY_FILE, auditKeyDir } = await import('../audit/audit-key.js');
  const { AirlockError } = await import('../errors/airlock-error.js');
  const dir = auditKeyDir(dataDir);
  try {
    return await readFile(join(dir, AUDIT_PUBLIC_KEY_FILE), 'utf8');
  } catch {
    try {
      const privatePem = await readFile(join(dir, AUDIT_KEY_FILE), 'utf8');
      return createPublicKey(createPrivateKey(privatePem)).export({ type: 'spki', format: 'pem' }).toString();
    } catch (cause) {
      throw new AirlockError(
        'AIRLOCK_AUDIT_KEY',
        `no audit key in ${dir}: this connector has not written an audit trail yet (or pass --key)`,
        { cause },
      );
    }
  }
}
