/**
 * `airlock audit verify|export`: check and export the connector's audit trail.
 *
 *   airlock audit verify --config connector.yaml [--witness]     the trail in the connector store
 *   airlock audit verify --file trail.jsonl [--key audit.pub.pem] an exported copy, offline
 *   airlock audit export --config connector.yaml --format jsonl|ocsf --out trail.jsonl
 *
 * `verify` checks the hash chain, the checkpoint signatures and, with `--witness`, the checkpoints
 * the relay (and every configured witness) holds; it names the first bad entry and what is wrong
 * with it (modified, missing, inserted, reordered, truncated, bad signature). Exit status 0: the
 * trail verifies; 1: it does not (or it could not be checked).
 */
import type { Command } from 'commander';
import type { AuditVerifyReport } from '../audit/audit-verify.js';

interface VerifyFlags {
  config?: string;
  file?: string;
  key?: string;
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
    .description('verify and export the tamper-evident audit trail of a connector');

  audit
    .command('verify')
    .description('check the hash chain, checkpoint signatures and (with --witness) witnessed checkpoints')
    .option('-c, --config <file>', 'connector config file (the trail in its store, its audit key)')
    .option('-f, --file <export.jsonl>', 'verify an exported trail (airlock audit export) instead, offline')
    .option(
      '-k, --key <file>',
      'audit public key (PEM) to verify with (default: the connector’s, or the export’s)',
    )
    .option('-w, --witness', 'also check against the checkpoints the relay and other witnesses hold')
    .option('--json', 'print the report as JSON')
    .action(async (flags: VerifyFlags) => {
      const report = await verify(flags);
      if (flags.json) process.stdout.write(`${JSON.stringify(report)}\n`);
      else process.stdout.write(`${describeReport(report)}\n`);
      if (!report.ok) process.exitCode = 1;
    });

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

/** One line for people: OK with the counts, or the first problem. */
export function describeReport(r: AuditVerifyReport): string {
  const range = r.firstSeq !== undefined ? ` (seq ${r.firstSeq}..${r.lastSeq})` : '';
  const counts = `${r.checkpoints} checkpoints, ${r.witnessedCheckpoints} witnessed`;
  if (r.ok) {
    const pruned = r.pruned > 0 ? `, ${r.pruned} older entries pruned with a signed record` : '';
    return `audit trail OK: ${r.entries} entries${range}, signed through entry ${r.signedThrough} (${counts})${pruned}; head ${r.headHash ?? '-'}`;
  }
  const p = r.firstProblem;
  return `audit trail FAILED at entry ${p?.seq}: ${p?.kind}: ${p?.detail}\n  read ${r.entries} entries${range}, ${counts}`;
}

async function verify(flags: VerifyFlags): Promise<AuditVerifyReport> {
  const { AirlockError } = await import('../errors/airlock-error.js');
  const { verifyAuditTrail } = await import('../audit/audit-verify.js');
  const { readFile } = await import('node:fs/promises');
  if (!flags.config && !flags.file) {
    throw new AirlockError('AIRLOCK_CLI_USAGE', 'give --config <connector.yaml> or --file <export.jsonl>');
  }
  if (flags.witness && !flags.config) {
    throw new AirlockError(
      'AIRLOCK_CLI_USAGE',
      '--witness needs --config (the connector’s relay and credential)',
    );
  }
  const { loadConnectorContext } = await import('../connector/connector-context.js');
  const ctx = flags.config ? await loadConnectorContext(flags.config) : undefined;
  const pinnedKey = flags.key
    ? await readFile(flags.key, 'utf8')
    : ctx
      ? await connectorPublicKey(ctx.dataDir)
      : undefined;

  if (flags.file) {
    const { readAuditExport } = await import('../audit/audit-export.js');
    const trail = await readAuditExport(flags.file);
    if (!pinnedKey) {
      process.stderr.write(
        'airlock: verifying with the key named in the export itself; pin the connector’s key with --key <audit-key.pub.pem>\n',
      );
    }
    const tenant = ctx
      ? (await import('../connector/connector-audit.js')).auditTenant(ctx)
      : trail.header.tenant;
    const witnessed = flags.witness && ctx ? await witnessedCheckpoints(ctx, tenant) : undefined;
    return verifyAuditTrail({
      entries: trail.entries,
      checkpoints: trail.checkpoints,
      publicKey: pinnedKey ?? trail.header.publicKey,
      tenant,
      ...(witnessed ? { witnessed } : {}),
    });
  }
  if (!ctx || !pinnedKey) throw new AirlockError('AIRLOCK_CLI_USAGE', 'nothing to verify');
  const { auditTenant } = await import('../connector/connector-audit.js');
  const { storedAuditCheckpoints, storedAuditEntries } = await import('../audit/stored-trail.js');
  const { openStore } = await import('../store/open-store.js');
  const tenant = auditTenant(ctx);
  const witnessed = flags.witness ? await witnessedCheckpoints(ctx, tenant) : undefined;
  const store = await openStore({ url: ctx.storeUrl });
  try {
    return await verifyAuditTrail({
      entries: storedAuditEntries(store.audit),
      checkpoints: await storedAuditCheckpoints(store.audit),
      publicKey: pinnedKey,
      tenant,
      ...(witnessed ? { witnessed } : {}),
    });
  } finally {
    await store.close();
  }
}

/** Every checkpoint the relay and the configured witnesses hold for `tenant`. */
async function witnessedCheckpoints(
  ctx: import('../connector/connector-context.js').ConnectorContext,
  tenant: string,
) {
  const { AirlockError } = await import('../errors/airlock-error.js');
  const { fetchWitnessedCheckpoints } = await import('../audit/witness-client.js');
  const { configuredWitnesses, connectorRelayClient } = await import('../connector/connector-audit.js');
  const { relayWitnessUrl } = await import('../connector/relay-audit-witness.js');
  const out: Awaited<ReturnType<typeof fetchWitnessedCheckpoints>> = [];
  const relay = connectorRelayClient(ctx);
  const extra = await configuredWitnesses(ctx);
  try {
    if (!relay && extra.witnesses.length === 0) {
      throw new AirlockError(
        'AIRLOCK_CLI_USAGE',
        '--witness: this connector has no witness (no enrolled relay and no audit.witnesses)',
      );
    }
    if (relay) {
      out.push(
        ...(await fetchWitnessedCheckpoints({
          url: relayWitnessUrl(relay),
          tenant,
          dispatcher: relay.dispatcher,
        })),
      );
    }
    for (const w of extra.witnesses) {
      out.push(
        ...(await fetchWitnessedCheckpoints({
          url: w.url,
          tenant,
          ...(w.agent ? { dispatcher: w.agent } : {}),
          ...(w.headers ? { headers: w.headers } : {}),
        })),
      );
    }
    return out;
  } finally {
    await relay?.close();
    await extra.close();
  }
}

/** The connector's audit public key (PEM) from `<dataDir>/audit/`, without creating one. */
async function connectorPublicKey(dataDir: string): Promise<string> {
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
