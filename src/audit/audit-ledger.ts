/**
 * The connector's audit ledger: an append-only, hash-chained list of entries in the store, the
 * leaves of an RFC 6962 Merkle tree, with C2SP checkpoints signed by the audit key, tlog-witnesses
 * outside the connector, live sinks and retention.
 *
 * - `open` verifies the whole stored trail first (chain, every checkpoint's Merkle root, and the
 *   witnesses' views when given) and throws `AIRLOCK_AUDIT_TAMPERED` rather than extend a trail that
 *   does not verify. A witness that later answers "diverged" (tlog-witness 409/422) puts the ledger
 *   in the same state: every append is refused.
 *
 * - `append(event)` resolves with the sealed entry only once its transaction committed (SQLite WAL
 *   with `synchronous=FULL`, PostgreSQL COMMIT): an acknowledged entry survives `kill -9`. Appends
 *   arriving while a commit is in flight share the next transaction (group commit).
 * - When the store cannot write, `append` rejects with `AuditError` `AIRLOCK_AUDIT_UNAVAILABLE`
 *   (callers fail closed) and the ledger re-reads its head from the store before the next commit.
 * - Every `checkpointEvery` entries, every `checkpointIntervalMs` (1 s, when entries were added), after a
 *   prune and on close, a checkpoint signed with the audit key is written in the same transaction as
 *   the entries it covers, then handed to every witness queue at once (never waited for).
 * - Two ledgers on one store (the running connector and an admin CLI command, or a connector pair
 *   on PostgreSQL) stay one chain: one transaction writes at a time, and a commit that lost the race
 *   for a `seq` reads (and checks) the other writer's entries, then re-seals its batch.
 *
 * @example
 * const ledger = await AuditLedger.open({
 *   repository: store.audit,
 *   tenant: 'acme',
 *   key: await loadOrCreateAuditKey(dataDir),
 *   witnesses: [new TlogWitnessClient({ url: 'https://relay.example.com/v1/audit' })],
 * });
 * const entry = await ledger.append({ kind: 'admin', action: 'identity.revoke', actor: 'cli', target: 'claims-bot' });
 * await ledger.close();
 */
import pino, { type Logger } from 'pino';
import { StoreError } from '../errors/airlock-error.js';
import type { AuditRepository } from '../store/store.js';
import { type AuditEntry, type AuditEventInput, entryText, GENESIS_HASH } from './audit-entry.js';
import { AUDIT_ERROR_CODES, AuditError } from './audit-error.js';
import type { AuditSigningKey } from './audit-key.js';
import type { AuditCheckpoint } from './audit-signing.js';
import type { AuditSink } from './audit-sink.js';
import { GroupCommit } from './group-commit.js';
import {
  CHECKPOINT_SLOT,
  checkpointRow,
  type JobResult,
  type LedgerJob,
  type PruneResult,
  planBatch,
} from './ledger-batch.js';
import {
  type AuditLedgerOptions,
  type AuditLedgerStats,
  DEFAULT_CHECKPOINT_EVERY_ENTRIES,
  DEFAULT_CHECKPOINT_INTERVAL_MS,
  DEFAULT_CLOSE_DRAIN_MS,
} from './ledger-options.js';
import { catchUpTrail, checkStoredTrail, tamperedError } from './ledger-startup.js';
import type { MerkleTree } from './merkle-tree.js';
import { WitnessQueue } from './witness-queue.js';

export type { PruneResult } from './ledger-batch.js';

export {
  type AuditLedgerOptions,
  type AuditLedgerStats,
  DEFAULT_CHECKPOINT_EVERY_ENTRIES,
  DEFAULT_CHECKPOINT_INTERVAL_MS,
  DEFAULT_CLOSE_DRAIN_MS,
} from './ledger-options.js';

/** Commits retried after losing a `seq` race to another writer on the same database (a connector pair). */
const MAX_SEQ_RACE_ATTEMPTS = 30;

export class AuditLedger {
  readonly tenant: string;
  readonly #repo: AuditRepository;
  readonly #key: AuditSigningKey;
  readonly #opts: AuditLedgerOptions;
  readonly #every: number;
  readonly #now: () => number;
  readonly #log: Logger;
  readonly #group: GroupCommit<LedgerJob, JobResult>;
  readonly #queues: WitnessQueue[];
  readonly #sinks: AuditSink[];
  readonly #intervalMs: number;
  #tree!: MerkleTree;
  #timer: NodeJS.Timeout | undefined;
  #seq = 0;
  #hash = GENESIS_HASH;
  #checkpointed = 0;
  #headKnown = false;
  #tampered: AuditError | undefined;
  #closing = false;
  #ticking = false;

  private constructor(opts: AuditLedgerOptions) {
    this.tenant = opts.tenant;
    this.#opts = opts;
    this.#repo = opts.repository;
    this.#key = opts.key;
    this.#every = Math.max(1, Math.trunc(opts.checkpointEvery ?? DEFAULT_CHECKPOINT_EVERY_ENTRIES));
    this.#intervalMs = Math.max(0, opts.checkpointIntervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS);
    this.#now = opts.now ?? Date.now;
    this.#log = (opts.logger ?? pino({ level: 'silent' })).child({ part: 'audit' });
    this.#group = new GroupCommit((jobs) => this.#commit(jobs), opts.groupCommit);
    this.#queues = (opts.witnesses ?? []).map(
      (w) =>
        new WitnessQueue(w, {
          ...opts.witnessQueue,
          logger: this.#log,
          prover: (old, size) => this.#tree.consistencyProof(old, size),
          onDiverged: (_cp, err) => this.#diverged(err),
        }),
    );
    this.#sinks = opts.sinks ?? [];
  }

  /**
   * Verifies the stored trail (start-up check), rebuilds its Merkle tree and starts the checkpoint
   * timer; the latest stored checkpoint is re-sent to every witness. Throws `AuditError`
   * `AIRLOCK_AUDIT_TAMPERED` (the trail does not verify: it is not extended) or
   * `AIRLOCK_AUDIT_UNAVAILABLE` (the store cannot be read).
   */
  static async open(opts: AuditLedgerOptions): Promise<AuditLedger> {
    const ledger = new AuditLedger(opts);
    const state = await checkStoredTrail({
      repository: opts.repository,
      key: opts.key,
      tenant: opts.tenant,
      ...(opts.witnessViews ? { witnesses: opts.witnessViews } : {}),
    });
    ledger.#tree = state.tree;
    ledger.#seq = state.seq;
    ledger.#hash = state.hash;
    ledger.#checkpointed = state.checkpointed;
    ledger.#headKnown = true;
    if (state.seq > state.checkpointed) await ledger.checkpoint();
    else {
      const latest = await opts.repository.latestAuditCheckpoint().catch(() => undefined);
      const cp = latest ? (JSON.parse(latest.checkpoint) as AuditCheckpoint) : undefined;
      if (cp) for (const q of ledger.#queues) q.enqueue(cp);
    }
    if (ledger.#intervalMs > 0) {
      ledger.#timer = setInterval(() => ledger.#tick(), ledger.#intervalMs);
      ledger.#timer.unref();
    }
    return ledger;
  }

  /** The audit public key (SPKI PEM) that verifies this ledger's checkpoints. */
  get publicKeyPem(): string {
    return this.#key.publicKeyPem;
  }

  get keyId(): string {
    return this.#key.keyId;
  }

  /** Seq and hash of the last committed entry (seq 0 and `GENESIS_HASH` for an empty trail). */
  get head(): { seq: number; hash: string } {
    return { seq: this.#seq, hash: this.#hash };
  }

  /** False after a failed commit until the store answers again (see `probe`), and for good once tampering was found. */
  get available(): boolean {
    return this.#headKnown && !this.#closing && !this.#tampered;
  }

  /** The tampering found (start-up check, catch-up or a witness), if any. */
  get tampered(): AuditError | undefined {
    return this.#tampered;
  }

  /** RFC 6962 inclusion proof of entry `seq` in the tree of `treeSize` entries (default: all). */
  inclusionProof(seq: number, treeSize = this.#seq): Buffer[] {
    return this.#tree.inclusionProof(seq - 1, treeSize);
  }

  /** RFC 6962 consistency proof between two tree sizes. */
  consistencyProof(oldSize: number, newSize = this.#seq): Buffer[] {
    return this.#tree.consistencyProof(oldSize, newSize);
  }

  /**
   * Appends one entry; resolves once it is durable. Rejects with `AuditError`
   * `AIRLOCK_AUDIT_UNAVAILABLE` (store cannot write), `AIRLOCK_AUDIT_TAMPERED` or `AIRLOCK_AUDIT_CLOSED`.
   *
   * @example
   * await ledger.append({ kind: 'admin', action: 'killswitch.enable', actor: 'console:alice', target: 'erp.delete_invoice' });
   */
  async append(event: AuditEventInput): Promise<AuditEntry> {
    if (this.#closing) throw closedError();
    if (this.#tampered) throw this.#tampered;
    return (await this.#group.submit({ type: 'entry', event })) as AuditEntry;
  }

  /**
   * Signs a checkpoint over the current head now (if entries were added since the last one) and
   * queues it for the witnesses. Resolves with it, or `undefined` when there was nothing new.
   */
  async checkpoint(): Promise<AuditCheckpoint | undefined> {
    if (this.#closing) throw closedError();
    if (this.#tampered) throw this.#tampered;
    return (await this.#group.submit({ type: 'checkpoint' })) as AuditCheckpoint | undefined;
  }

  /**
   * Retention: deletes entries older than `olderThan` (epoch ms) and appends a signed prune record
   * (with the pruned prefix's Merkle frontier) plus a checkpoint in the same transaction. The newest
   * entry is never pruned.
   *
   * @example
   * await ledger.prune({ olderThan: Date.now() - 365 * 24 * 3600_000 });
   */
  async prune(opts: { olderThan: number }): Promise<PruneResult> {
    if (this.#closing) throw closedError();
    if (this.#tampered) throw this.#tampered;
    return (await this.#group.submit({ type: 'prune', olderThan: opts.olderThan })) as PruneResult;
  }

  /** Re-reads the head from the store; true (and `available`) when the store answered. */
  async probe(): Promise<boolean> {
    if (this.#closing || this.#tampered) return false;
    if (this.#headKnown) return true;
    try {
      await this.#group.submit({ type: 'checkpoint' });
      return this.#headKnown;
    } catch {
      return false;
    }
  }

  stats(): AuditLedgerStats {
    return {
      head: this.head,
      rootHash: this.#tree.root().toString('hex'),
      checkpointedTreeSize: this.#checkpointed,
      available: this.available,
      tampered: this.#tampered?.message,
      witnesses: this.#queues.map((q) => q.stats()),
      sinks: this.#sinks.map((s) => s.stats()),
    };
  }

  /** Resolves when every checkpoint was delivered to every witness, or after `timeoutMs`. */
  async drainWitnesses(timeoutMs = DEFAULT_CLOSE_DRAIN_MS): Promise<boolean> {
    const results = await Promise.all(this.#queues.map((q) => q.drain(timeoutMs)));
    return results.every(Boolean);
  }

  /**
   * Waits for pending appends, signs a final checkpoint, gives witnesses and sinks up to
   * `drainMs` to deliver, then stops. Does not close the store.
   */
  async close(opts: { drainMs?: number } = {}): Promise<void> {
    if (this.#closing) return;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#group.idle();
    if (this.#headKnown && !this.#tampered && this.#seq > this.#checkpointed) {
      await this.#group.submit({ type: 'checkpoint' }).catch(() => undefined);
    }
    this.#closing = true;
    const drainMs = opts.drainMs ?? DEFAULT_CLOSE_DRAIN_MS;
    await Promise.all(this.#queues.map((q) => q.drain(drainMs)));
    await Promise.all(this.#queues.map((q) => q.close()));
    await Promise.all(this.#sinks.map((s) => s.close(drainMs).catch(() => undefined)));
  }

  #diverged(err: unknown): void {
    if (this.#tampered) return;
    this.#tampered = tamperedError(err instanceof Error ? err.message : String(err));
    this.#log.error(
      { err: this.#tampered.message },
      'audit trail diverged from a witness: refusing to extend it',
    );
    this.#opts.onDiverged?.(this.#tampered);
  }

  /** Every interval: sign what is new, including entries another writer (the admin CLI) appended. */
  #tick(): void {
    if (this.#closing || this.#tampered || !this.#headKnown || this.#ticking) return;
    this.#ticking = true;
    const run = async () => {
      const stored = (await this.#repo.auditHead())?.seq ?? 0;
      if (stored !== this.#seq) this.#headKnown = false; // the next commit catches up (and checks) first
      if (stored > this.#checkpointed || this.#seq > this.#checkpointed)
        await this.#group.submit({ type: 'checkpoint' });
    };
    run()
      .catch((err) => this.#log.warn({ err: String(err) }, 'timed audit checkpoint failed'))
      .finally(() => {
        this.#ticking = false;
      });
  }

  async #commit(jobs: LedgerJob[]): Promise<JobResult[]> {
    for (let attempt = 1; ; attempt++) {
      if (this.#tampered) throw this.#tampered;
      let treeSizeBefore = this.#tree.size;
      try {
        if (!this.#headKnown) await this.#catchUp();
        treeSizeBefore = this.#tree.size;
        const state = {
          tree: this.#tree,
          seq: this.#seq,
          hash: this.#hash,
          checkpointed: this.#checkpointed,
        };
        const deps = {
          repository: this.#repo,
          key: this.#key,
          tenant: this.tenant,
          checkpointEvery: this.#every,
        };
        const plan = await planBatch(state, jobs, { ...deps, time: this.#now() });
        await this.#repo.appendAudit({
          entries: plan.entries.map((e) => ({ seq: e.seq, time: e.time, hash: e.hash, entry: entryText(e) })),
          checkpoints: plan.checkpoints.map(checkpointRow),
          ...(plan.pruneThroughSeq !== undefined ? { pruneThroughSeq: plan.pruneThroughSeq } : {}),
        });
        this.#seq = plan.seq;
        this.#hash = plan.hash;
        const last = plan.checkpoints.at(-1);
        if (last) this.#checkpointed = last.treeSize;
        this.#fanOut(plan.entries, plan.checkpoints);
        return plan.results.map((r) => (r === CHECKPOINT_SLOT ? last : r));
      } catch (err) {
        if (this.#tree.size > treeSizeBefore) this.#tree.truncate(treeSizeBefore);
        if (err instanceof AuditError && err.code === AUDIT_ERROR_CODES.tampered) {
          this.#tampered = err;
          throw err;
        }
        this.#headKnown = false;
        const raced = err instanceof StoreError && err.code === 'AIRLOCK_STORE_DUPLICATE';
        if (raced && attempt < MAX_SEQ_RACE_ATTEMPTS) {
          // Another writer of the same trail (a connector pair) took these sequence numbers: catch
          // up and try again after a short random pause, so two writers do not keep colliding.
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * (attempt + 1)));
          continue;
        }
        this.#log.error({ err: String(err) }, 'audit entries could not be written');
        throw unavailable(err);
      }
    }
  }

  async #catchUp(): Promise<void> {
    const next = await catchUpTrail(this.#repo, { tree: this.#tree, seq: this.#seq, hash: this.#hash });
    this.#seq = next.seq;
    this.#hash = next.hash;
    this.#checkpointed = Math.max(this.#checkpointed, next.checkpointed);
    this.#headKnown = true;
  }

  #fanOut(entries: AuditEntry[], checkpoints: AuditCheckpoint[]): void {
    for (const sink of this.#sinks) {
      for (const entry of entries) {
        try {
          sink.offer(entry);
        } catch (err) {
          this.#log.warn({ sink: sink.name, err: String(err) }, 'audit sink refused an entry');
        }
      }
    }
    const newest = checkpoints.at(-1);
    if (newest) for (const q of this.#queues) q.enqueue(newest);
  }
}

function unavailable(cause: unknown): AuditError {
  if (cause instanceof AuditError) return cause;
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new AuditError(AUDIT_ERROR_CODES.unavailable, `the audit trail cannot be written: ${detail}`, {
    cause,
    retryable: true,
  });
}

function closedError(): AuditError {
  return new AuditError(AUDIT_ERROR_CODES.closed, 'the audit ledger is closed');
}
