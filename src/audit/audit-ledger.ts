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
 * - Several ledgers on one store (the members of a connector pair on PostgreSQL, an admin CLI
 *   command) stay one chain: each commit holds the trail's writer lock (`appendAuditExclusive`: a
 *   PostgreSQL advisory lock), reads (and checks) what the others appended, then seals its batch
 *   on top. No race, no retry, no fork.
 * - Exactly one of them signs checkpoints: the holder of the store's signer lease (a session
 *   advisory lock on PostgreSQL, handed over when its holder dies; always this ledger on SQLite).
 *   The others only append; the signer's timer covers their entries within `checkpointIntervalMs`.
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
import type { AuditRepository, AuditTrailReader, StoreLease } from '../store/store.js';
import { type AuditEntry, type AuditEventInput, GENESIS_HASH } from './audit-entry.js';
import {
  AUDIT_ERROR_CODES,
  AuditError,
  ledgerClosedError as closedError,
  auditUnavailable as unavailable,
} from './audit-error.js';
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
  #lease: StoreLease | undefined;
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
    ledger.#lease = await opts.repository.signerLease(opts.tenant);
    ledger.#lease.onChange((held) => ledger.#signerChanged(held));
    try {
      if (ledger.#lease.held) await ledger.#takeOver();
    } catch (err) {
      await ledger.#lease.close();
      throw err;
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

  /** Whether this ledger signs the trail's checkpoints now (it holds the store's signer lease). */
  get checkpointSigner(): boolean {
    return this.#lease?.held === true;
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
    if (!this.checkpointSigner) return undefined;
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
      checkpointSigner: this.checkpointSigner,
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
    if (this.#headKnown && !this.#tampered && this.checkpointSigner && this.#seq > this.#checkpointed) {
      await this.#group.submit({ type: 'checkpoint' }).catch(() => undefined);
    }
    this.#closing = true;
    await this.#lease?.close(); // hands the signer lease over to another member at once
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

  /** The signer, every interval: signs what is new, including entries other writers appended. */
  #tick(): void {
    if (this.#closing || this.#tampered || !this.#headKnown || this.#ticking || !this.checkpointSigner)
      return;
    this.#ticking = true;
    const run = async () => {
      const stored = (await this.#repo.auditHeadLink())?.seq ?? 0;
      if (stored > this.#checkpointed || this.#seq > this.#checkpointed)
        await this.#group.submit({ type: 'checkpoint' });
    };
    run()
      .catch((err) => this.#log.warn({ err: String(err) }, 'timed audit checkpoint failed'))
      .finally(() => {
        this.#ticking = false;
      });
  }

  /**
   * One transaction holding the trail's writer lock: catch up with what other writers appended, seal
   * the batch on top, write it. On failure the tree is cut back and nothing of the batch counts.
   */
  async #commit(jobs: LedgerJob[]): Promise<JobResult[]> {
    if (this.#tampered) throw this.#tampered;
    const treeSizeBefore = this.#tree.size;
    const signCheckpoints = this.checkpointSigner;
    try {
      const plan = await this.#repo.appendAuditExclusive(this.tenant, async (trail) => {
        const state = { tree: this.#tree, ...(await this.#caughtUp(trail)) };
        const deps = { key: this.#key, tenant: this.tenant, checkpointEvery: this.#every, signCheckpoints };
        const plan = await planBatch(state, jobs, { ...deps, repository: trail, time: this.#now() });
        const batch = { entries: plan.rows, checkpoints: plan.checkpoints.map(checkpointRow) };
        return { batch: { ...batch, pruneThroughSeq: plan.pruneThroughSeq }, result: { plan, state } };
      });
      this.#seq = plan.plan.seq;
      this.#hash = plan.plan.hash;
      this.#checkpointed = plan.state.checkpointed;
      const last = plan.plan.checkpoints.at(-1);
      if (last) this.#checkpointed = last.treeSize;
      this.#headKnown = true;
      this.#fanOut(plan.plan.entries, plan.plan.checkpoints);
      return plan.plan.results.map((r) => (r === CHECKPOINT_SLOT ? last : r));
    } catch (err) {
      if (this.#tree.size > treeSizeBefore) this.#tree.truncate(treeSizeBefore);
      if (err instanceof AuditError && err.code === AUDIT_ERROR_CODES.tampered) {
        this.#tampered = err;
        throw err;
      }
      this.#headKnown = false;
      this.#log.error({ err: String(err) }, 'audit entries could not be written');
      throw unavailable(err);
    }
  }

  /** Inside the writer lock: the head to extend, after adding (and checking) other writers' entries. */
  async #caughtUp(trail: AuditTrailReader): Promise<{ seq: number; hash: string; checkpointed: number }> {
    const known = { seq: this.#seq, hash: this.#hash, checkpointed: this.#checkpointed };
    const stored = await trail.auditHeadLink();
    if ((stored?.seq ?? 0) === known.seq && (stored?.hash ?? GENESIS_HASH) === known.hash) return known;
    const next = await catchUpTrail(trail, { tree: this.#tree, seq: known.seq, hash: known.hash });
    return { seq: next.seq, hash: next.hash, checkpointed: Math.max(known.checkpointed, next.checkpointed) };
  }

  /** This ledger became the signer: sign what is unsigned, or re-send the latest checkpoint to the witnesses. */
  async #takeOver(): Promise<void> {
    const signed = await this.#group.submit({ type: 'checkpoint' });
    if (signed) return;
    const latest = await this.#repo.latestAuditCheckpoint().catch(() => undefined);
    const cp = latest ? (JSON.parse(latest.checkpoint) as AuditCheckpoint) : undefined;
    if (cp && cp.treeSize <= this.#tree.size) for (const q of this.#queues) q.enqueue(cp);
  }

  #signerChanged(held: boolean): void {
    this.#log.info(
      { signer: held },
      held ? 'signing the audit checkpoints' : 'no longer signing the audit checkpoints',
    );
    this.#opts.onSignerChange?.(held);
    if (!held || this.#closing || this.#tampered) return;
    this.#takeOver().catch((err: unknown) =>
      this.#log.warn({ err: String(err) }, 'audit checkpoint on take-over failed'),
    );
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
