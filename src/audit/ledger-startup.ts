/**
 * The ledger's start-up check and catch-up: before a ledger extends a stored trail it verifies all
 * of it (hash chain, Merkle roots of every stored checkpoint, and — when given — what the witnesses
 * cosigned), and rebuilds its Merkle tree from it. A trail that does not verify is never extended:
 * `AuditError` `AIRLOCK_AUDIT_TAMPERED` says what is wrong and what to run.
 *
 * `catchUpTrail` reads entries another writer (the other member of a pair, an admin CLI command)
 * appended since, checking each link before adding it to the tree.
 *
 * @example
 * const state = await checkStoredTrail({ repository: store.audit, key, tenant: 'acme', witnesses });
 */
import type { AuditRepository, AuditTrailReader } from '../store/store.js';
import { entryHash, entryLeafHash, GENESIS_HASH } from './audit-entry.js';
import { AUDIT_ERROR_CODES, AuditError } from './audit-error.js';
import type { AuditSigningKey } from './audit-key.js';
import { type AuditVerifyReport, verifyAuditTrail, type WitnessView } from './audit-verify.js';
import type { MerkleTree } from './merkle-tree.js';
import { storedAuditCheckpoints, storedAuditEntries } from './stored-trail.js';

/** What to tell an operator when the trail does not verify. */
export const TAMPERED_ADVICE =
  'run `airlock audit verify --config <connector.yaml>` for the full report; keep the store as evidence and restore the trail (store and audit key) from a backup before starting the connector again';

export interface TrailState {
  tree: MerkleTree;
  seq: number;
  hash: string;
  /** Largest stored checkpoint size. */
  checkpointed: number;
  report: AuditVerifyReport;
}

/**
 * Verifies the stored trail and returns the state to extend it from. Throws `AIRLOCK_AUDIT_TAMPERED`
 * when it does not verify, `AIRLOCK_AUDIT_UNAVAILABLE` when the store cannot be read.
 */
export async function checkStoredTrail(o: {
  repository: AuditRepository;
  key: AuditSigningKey;
  tenant: string;
  /** Witness views fetched at start (unreachable ones are skipped, not fatal). */
  witnesses?: WitnessView[];
}): Promise<TrailState> {
  let report: AuditVerifyReport;
  let checkpointed = 0;
  try {
    const checkpoints = await storedAuditCheckpoints(o.repository);
    checkpointed = checkpoints.reduce((max, c) => Math.max(max, Number(c.treeSize) || 0), 0);
    report = await verifyAuditTrail({
      entries: storedAuditEntries(o.repository),
      checkpoints,
      publicKey: o.key.publicKey,
      tenant: o.tenant,
      ...(o.witnesses ? { witnesses: o.witnesses } : {}),
      offline: true,
    });
  } catch (cause) {
    throw new AuditError(
      AUDIT_ERROR_CODES.unavailable,
      `the audit trail cannot be read: ${(cause as Error).message}`,
      {
        cause,
        retryable: true,
      },
    );
  }
  if (!report.ok || !report.tree) throw tamperedError(report);
  return {
    tree: report.tree,
    seq: report.lastSeq ?? 0,
    hash: report.headHash ?? GENESIS_HASH,
    checkpointed,
    report,
  };
}

/** The error for a trail that does not verify. */
export function tamperedError(report: Pick<AuditVerifyReport, 'firstProblem'> | string): AuditError {
  const what =
    typeof report === 'string'
      ? report
      : `${report.firstProblem?.kind ?? 'problem'} at entry ${report.firstProblem?.seq ?? '?'}: ${report.firstProblem?.detail ?? ''}`;
  return new AuditError(
    AUDIT_ERROR_CODES.tampered,
    `the audit trail does not verify (${what}); the connector will not extend it and refuses calls: ${TAMPERED_ADVICE}`,
  );
}

/**
 * Adds entries after `state.seq` (written by another writer) to the tree, checking each one.
 * Throws `AIRLOCK_AUDIT_TAMPERED` when the stored trail no longer extends what this ledger knew.
 */
export async function catchUpTrail(
  repository: AuditTrailReader,
  state: { tree: MerkleTree; seq: number; hash: string },
): Promise<{ seq: number; hash: string; checkpointed: number }> {
  let { seq, hash } = state;
  const head = await repository.auditHead();
  if ((head?.seq ?? 0) < seq)
    throw tamperedError(`the stored trail ends at entry ${head?.seq ?? 0}, not ${seq}`);
  const mine = seq > 0 ? await repository.getAuditEntry(seq) : undefined;
  if (seq > 0 && mine?.hash !== hash) throw tamperedError(`entry ${seq} changed while this ledger held it`);
  for (;;) {
    const rows = await repository.listAuditEntries({ afterSeq: seq, limit: 500 });
    for (const row of rows) {
      let e: Record<string, unknown>;
      try {
        e = JSON.parse(row.entry) as Record<string, unknown>;
      } catch {
        throw tamperedError(`entry ${row.seq} is unreadable`);
      }
      if (row.seq !== seq + 1 || e.seq !== row.seq || e.prevHash !== hash || entryHash(e) !== e.hash) {
        throw tamperedError(`entry ${row.seq} does not extend the chain`);
      }
      state.tree.append(entryLeafHash(e));
      seq = row.seq;
      hash = String(e.hash);
    }
    if (rows.length < 500) break;
  }
  const latest = await repository.latestAuditCheckpoint();
  return { seq, hash, checkpointed: latest?.treeSize ?? 0 };
}
