/**
 * What one group commit of the audit ledger writes: the batch's entries sealed onto the chain and
 * appended to the Merkle tree, the checkpoints signed inside it (every `checkpointEvery` entries,
 * and at its end when a job asked for one), and a prune (retention) with its signed record.
 *
 * The tree is extended in place; the caller truncates it back to `treeSizeBefore` when the commit fails.
 *
 * @example
 * const plan = await planBatch(state, jobs, deps);
 * await repository.appendAuditExclusive(tenant, async (trail) => {
 *   const plan = await planBatch(state, jobs, { ...deps, repository: trail });
 *   return { batch: { entries: plan.rows, checkpoints: plan.checkpoints.map(checkpointRow) }, result: plan };
 * });
 */
import type { AuditCheckpointRow, AuditEntryRow, AuditTrailReader } from '../store/store.js';
import {
  type AuditEntry,
  type AuditEventInput,
  type PruneAuditEvent,
  sealEntryWithLeaf,
} from './audit-entry.js';
import type { AuditSigningKey } from './audit-key.js';
import { type AuditCheckpoint, signCheckpoint, signPrune } from './audit-signing.js';
import type { MerkleTree } from './merkle-tree.js';

export type LedgerJob =
  | { type: 'entry'; event: AuditEventInput }
  | { type: 'checkpoint' }
  | { type: 'prune'; olderThan: number };

/** What `prune` did. */
export interface PruneResult {
  /** Entries with `seq <= prunedThroughSeq` are gone (0: nothing was pruned). */
  prunedThroughSeq: number;
  prunedCount: number;
  /** The signed prune record appended to the chain, when something was pruned. */
  record: AuditEntry | undefined;
}

/** Marks where a checkpoint job's result goes once the batch's checkpoint is known. */
export const CHECKPOINT_SLOT = Symbol('checkpoint');
export type JobResult = AuditEntry | AuditCheckpoint | PruneResult | undefined;

export interface BatchState {
  tree: MerkleTree;
  seq: number;
  hash: string;
  checkpointed: number;
}

export interface BatchDeps {
  /** The trail as it stands (inside the writer's transaction). */
  repository: AuditTrailReader;
  key: AuditSigningKey;
  tenant: string;
  checkpointEvery: number;
  time: number;
  /** False on a member that does not hold the signer lease: it appends entries, never checkpoints. */
  signCheckpoints: boolean;
}

export interface BatchPlan {
  entries: AuditEntry[];
  /** The stored rows of `entries`, in order (text serialized once, while sealing). */
  rows: AuditEntryRow[];
  checkpoints: AuditCheckpoint[];
  pruneThroughSeq: number | undefined;
  seq: number;
  hash: string;
  treeSizeBefore: number;
  results: (JobResult | typeof CHECKPOINT_SLOT)[];
}

/** See the module comment. */
export async function planBatch(state: BatchState, jobs: LedgerJob[], deps: BatchDeps): Promise<BatchPlan> {
  const { checkpointEvery, time } = deps;
  const tree = state.tree;
  const plan: BatchPlan = {
    entries: [],
    rows: [],
    checkpoints: [],
    pruneThroughSeq: undefined,
    seq: state.seq,
    hash: state.hash,
    treeSizeBefore: tree.size,
    results: [],
  };
  let checkpointed = state.checkpointed;
  let wantCheckpoint = false;
  const sign = () => {
    if (!deps.signCheckpoints) return;
    plan.checkpoints.push(
      signCheckpoint(deps.key, {
        tenant: deps.tenant,
        treeSize: plan.seq,
        rootHash: tree.root(plan.seq),
        time,
      }),
    );
    checkpointed = plan.seq;
  };
  const seal = (event: AuditEventInput | PruneAuditEvent): AuditEntry => {
    plan.seq += 1;
    const header = { seq: plan.seq, prevHash: plan.hash, time, tenant: deps.tenant };
    const { entry, text, leafHash } = sealEntryWithLeaf(header, event);
    plan.hash = entry.hash;
    plan.entries.push(entry);
    plan.rows.push({ seq: entry.seq, time: entry.time, hash: entry.hash, entry: text });
    tree.append(leafHash);
    if (plan.seq - checkpointed >= checkpointEvery) sign();
    return entry;
  };
  for (const job of jobs) {
    if (job.type === 'entry') {
      plan.results.push(seal(job.event));
    } else if (job.type === 'checkpoint') {
      wantCheckpoint = true;
      plan.results.push(CHECKPOINT_SLOT);
    } else {
      const prune = await planPrune({ ...deps, tree }, plan, job.olderThan);
      if (!prune) {
        plan.results.push({ prunedThroughSeq: 0, prunedCount: 0, record: undefined });
        continue;
      }
      plan.pruneThroughSeq = prune.prunedThroughSeq;
      wantCheckpoint = true;
      plan.results.push({
        prunedThroughSeq: prune.prunedThroughSeq,
        prunedCount: prune.prunedCount,
        record: seal(prune),
      });
    }
  }
  if (wantCheckpoint && plan.seq > checkpointed) sign();
  return plan;
}

/** The prune record for entries older than `olderThan`, or undefined when there is nothing to prune. */
async function planPrune(
  deps: BatchDeps & { tree: MerkleTree },
  plan: BatchPlan,
  olderThan: number,
): Promise<PruneAuditEvent | undefined> {
  const repo = deps.repository;
  const before = await repo.lastAuditSeqBefore(olderThan);
  // Never prune the stored head: the chain must keep at least one stored entry before the record.
  const through = before === undefined ? undefined : Math.min(before, plan.seq - 1);
  const already = plan.pruneThroughSeq;
  if (through === undefined || through < 1 || (already !== undefined && through <= already)) return undefined;
  const [first] = await repo.listAuditEntries({ limit: 1 });
  const target = await repo.getAuditEntry(through);
  if (!first || !target || first.seq > through) return undefined;
  const fields = {
    tenant: deps.tenant,
    prunedThroughSeq: through,
    prunedThroughHash: target.hash,
    olderThan,
    time: deps.time,
  };
  return {
    kind: 'prune',
    prunedThroughSeq: through,
    prunedThroughHash: target.hash,
    prunedCount: through - first.seq + 1,
    olderThan,
    keyId: deps.key.keyId,
    signature: signPrune(deps.key, fields),
    frontier: deps.tree.frontier(through).map((n) => n.hash.toString('hex')),
  };
}

/** The stored form of a checkpoint. */
export function checkpointRow(cp: AuditCheckpoint): AuditCheckpointRow {
  return { treeSize: cp.treeSize, headHash: cp.rootHash, time: cp.time, checkpoint: JSON.stringify(cp) };
}
