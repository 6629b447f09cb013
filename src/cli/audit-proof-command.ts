/**
 * `airlock audit prove <seq>` and `airlock audit check-proof`: RFC 6962 proofs for one entry.
 *
 * `prove` prints (JSON) the entry, its leaf hash, its inclusion proof in the tree of the latest
 * stored checkpoint and that checkpoint (a C2SP signed note), plus, with `--from <size>`, the
 * consistency proof from an older tree size (e.g. one a witness cosigned). `check-proof` verifies
 * such a file with nothing but the audit public key: signature, inclusion, and consistency with
 * `--old-root <base64>` (the root an auditor holds for the older size).
 *
 * @example
 * airlock audit prove 42 --config connector.yaml > proof.json
 * airlock audit check-proof --proof proof.json --key audit-key.pub.pem
 */
import type { Command } from 'commander';

/** The JSON `prove` prints. */
export interface AuditProofFile {
  seq: number;
  /** 0-based leaf index (seq - 1). */
  leafIndex: number;
  /** The entry's RFC 8785 JSON: the leaf is its UTF-8 bytes. */
  leaf: string;
  leafHash: string;
  treeSize: number;
  rootHash: string;
  inclusionProof: string[];
  /** The signed checkpoint note of `treeSize`. */
  checkpoint: string;
  consistency?: { fromSize: number; proof: string[] };
}

export function registerProofCommands(audit: Command): void {
  audit
    .command('prove <seq>')
    .description('print the inclusion proof of one entry in the latest signed checkpoint (JSON)')
    .requiredOption('-c, --config <file>', 'connector config file')
    .option('--from <size>', 'also print the consistency proof from this older tree size')
    .action(async (seqText: string, flags: { config: string; from?: string }) => {
      const proof = await prove(Number(seqText), flags);
      process.stdout.write(`${JSON.stringify(proof, null, 2)}\n`);
    });

  audit
    .command('check-proof')
    .description('verify a `prove` output offline: checkpoint signature, inclusion, consistency')
    .requiredOption('--proof <file>', 'the JSON printed by `airlock audit prove`')
    .requiredOption('-k, --key <file>', 'the audit public key (PEM)')
    .option('--old-root <base64>', 'root hash of the older tree size, to check the consistency proof')
    .action(async (flags: { proof: string; key: string; oldRoot?: string }) => {
      const problems = await checkProof(flags);
      if (problems.length === 0) process.stdout.write('proof OK\n');
      else {
        process.stdout.write(`proof FAILED: ${problems.join('; ')}\n`);
        process.exitCode = 1;
      }
    });
}

async function prove(seq: number, flags: { config: string; from?: string }): Promise<AuditProofFile> {
  const { AirlockError } = await import('../errors/airlock-error.js');
  const { canonicalJson } = await import('../json/canonical-json.js');
  const { verifyAuditTrail } = await import('../audit/audit-verify.js');
  const { storedAuditCheckpoints, storedAuditEntries } = await import('../audit/stored-trail.js');
  const { auditTenant } = await import('../connector/connector-audit.js');
  const { withConnectorStore } = await import('./connector-store.js');
  const { connectorPublicKey } = await import('./audit-command.js');
  if (!Number.isSafeInteger(seq) || seq < 1)
    throw new AirlockError('AIRLOCK_CLI_USAGE', 'seq must be a positive integer');
  return withConnectorStore(flags.config, async (ctx, store) => {
    const checkpoints = await storedAuditCheckpoints(store.audit);
    const report = await verifyAuditTrail({
      entries: storedAuditEntries(store.audit),
      checkpoints,
      publicKey: await connectorPublicKey(ctx.dataDir),
      tenant: auditTenant(ctx),
    });
    if (!report.ok || !report.tree) {
      throw new AirlockError(
        'AIRLOCK_AUDIT_TAMPERED',
        `the trail does not verify: ${report.firstProblem?.detail}`,
      );
    }
    const cp = checkpoints.filter((c) => c.treeSize >= seq).at(-1);
    const row = await store.audit.getAuditEntry(seq);
    if (!cp || !row)
      throw new AirlockError('AIRLOCK_CLI_USAGE', `entry ${seq} is not covered by a signed checkpoint yet`);
    const b64 = (b: Buffer) => b.toString('base64');
    const leaf = canonicalJson(JSON.parse(row.entry));
    const { leafHash } = await import('../audit/merkle-tree.js');
    const from = flags.from !== undefined ? Number(flags.from) : undefined;
    return {
      seq,
      leafIndex: seq - 1,
      leaf,
      leafHash: b64(leafHash(Buffer.from(leaf, 'utf8'))),
      treeSize: cp.treeSize,
      rootHash: b64(Buffer.from(cp.rootHash, 'hex')),
      inclusionProof: report.tree.inclusionProof(seq - 1, cp.treeSize).map(b64),
      checkpoint: cp.note,
      ...(from !== undefined
        ? { consistency: { fromSize: from, proof: report.tree.consistencyProof(from, cp.treeSize).map(b64) } }
        : {}),
    };
  });
}

async function checkProof(flags: { proof: string; key: string; oldRoot?: string }): Promise<string[]> {
  const { readFile } = await import('node:fs/promises');
  const { auditPublicKeyFromPem } = await import('../audit/audit-key.js');
  const { checkpointFromNote, verifyCheckpointSignature } = await import('../audit/audit-signing.js');
  const { leafHash, verifyConsistency, verifyInclusion } = await import('../audit/merkle-tree.js');
  const p = JSON.parse(await readFile(flags.proof, 'utf8')) as AuditProofFile;
  const key = auditPublicKeyFromPem(await readFile(flags.key, 'utf8'));
  const problems: string[] = [];
  const cp = checkpointFromNote(String(p.checkpoint));
  if (!cp || !verifyCheckpointSignature(cp, key))
    problems.push('the checkpoint is not signed by the audit key');
  const root = Buffer.from(cp?.rootHash ?? '', 'hex');
  const leaf = leafHash(Buffer.from(String(p.leaf), 'utf8'));
  const proof = (p.inclusionProof ?? []).map((h) => Buffer.from(h, 'base64'));
  if (!verifyInclusion({ leafHash: leaf, index: p.leafIndex, size: cp?.treeSize ?? 0, proof, root })) {
    problems.push(`entry ${p.seq} is not included in the checkpoint's tree`);
  }
  if (p.consistency && flags.oldRoot) {
    const ok = verifyConsistency({
      oldSize: p.consistency.fromSize,
      newSize: cp?.treeSize ?? 0,
      proof: p.consistency.proof.map((h) => Buffer.from(h, 'base64')),
      oldRoot: Buffer.from(flags.oldRoot, 'base64'),
      newRoot: root,
    });
    if (!ok)
      problems.push(
        `the tree of ${cp?.treeSize} entries is not consistent with the given root of size ${p.consistency.fromSize}`,
      );
  }
  return problems;
}
