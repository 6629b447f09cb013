/**
 * The connector's audit ledger: an append-only, hash-chained list of entries in the store, with
 * signed checkpoints, witnesses outside the connector, live sinks and retention.
 *
 * - `append(event)` resolves with the sealed entry only once its transaction committed (SQLite WAL
 *   with `synchronous=FULL`, PostgreSQL COMMIT): an acknowledged entry survives `kill -9`. Appends
 *   arriving while a commit is in flight share the next transaction (group commit).
 * - When the store cannot write, `append` rejects with `AuditError` `AIRLOCK_AUDIT_UNAVAILABLE`
 *   (callers fail closed) and the ledger re-reads its head from the store before the next commit.
 * - Every `checkpointEvery` entries, every `checkpointIntervalMs` (when entries were added), after a
 *   prune and on close, a checkpoint signed with the audit key is written in the same transaction as
 *   the entries it covers, then handed to every witness queue (never waited for).
 * - Two ledgers on one PostgreSQL database (a connector pair) stay one chain: a commit that lost
 *   the race for a `seq` re-reads the head and re-seals its batch.
 *
 * @example
 * const ledger = await AuditLedger.open({
 *   repository: store.audit,
 *   tenant: 'acme',
 *   key: await loadOrCreateAuditKey(dataDir),
 *   witnesses: [new HttpWitness({ url: 'https://relay.example.com/v1/audit' })],
 * });
 * const entry = await ledger.append({ kind: 'admin', action: 'identity.revoke', actor: 'cli', target: 'claims-bot' });
 * await ledger.close();
 */
import pino, { type Logger } from 'pino';
import { StoreError } from '../errors/airlock-error.js';
import type { AuditCheckpointRow, AuditRepository } from '../store/store.js';
import {
  type AuditEntry,
  type AuditEventInput,
  entryText,
  GENESIS_HASH,
  type PruneAuditEvent,
  sealEntry,
} from './audit-entry.js';
import { AUDIT_ERROR_CODES, AuditError } from './audit-error.js';
import type { AuditSigningKey } from './audit-key.js';
import { type AuditCheckpoint, parseCheckpoint, signCheckpoint, signPrune } from './audit-signing.js';
import type { AuditSink, AuditSinkStats } from './audit-sink.js';
import { canonicalJson } from './canonical-json.js';
import { GroupCommit, type GroupCommitOptions } from './group-commit.js';
import type { Witness } from './witness-client.js';
import { WitnessQueue, type WitnessQueueOptions, type WitnessQueueStats } from './witness-queue.js';

/** A checkpoint is signed at least every this many entries. */
export const DEFAULT_CHECKPOINT_EVERY_ENTRIES = 1000;
/** ...and at least this often while entries are being added. */
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 60_000;
/** How long `close()` lets witness queues deliver what is pending. */
export const DEFAULT_CLOSE_DRAIN_MS = 2_000;
/** Commits retried after losing a `seq` race to another writer on the same database. */
const MAX_SEQ_RACE_ATTEMPTS = 5;

export interface AuditLedgerOptions {
  /** Usually `store.audit`. */
  repository: AuditRepository;
  /** Tenant name, recorded in every entry and checkpoint. */
  tenant: string;
  /** The connector's audit key (`loadOrCreateAuditKey(dataDir)`). */
  key: AuditSigningKey;
  /** Default `DEFAULT_CHECKPOINT_EVERY_ENTRIES` (1000). */
  checkpointEvery?: number;
  /** Default `DEFAULT_CHECKPOINT_INTERVAL_MS` (60 s). 0 disables the timer. */
  checkpointIntervalMs?: number;
  /** Group commit tuning; see `GroupCommitOptions` for defaults. */
  groupCommit?: GroupCommitOptions;
  /** Where checkpoints are sent (e.g. the relay's witness). Each gets its own retry queue. */
  witnesses?: Witness[];
  /** Queue options for every witness. */
  witnessQueue?: Omit<WitnessQueueOptions, 'logger'>;
  /** Live copies of committed entries (syslog, OTLP). */
  sinks?: AuditSink[];
  /** Clock (epoch ms). Default `Date.now`. */
  now?: () => number;
  /** Default: silent. */
  logger?: Logger;
}

/** What `prune` did. */
export interface PruneResult {
  /** Entries with `seq <= prunedThroughSeq` are gone (0: nothing was pruned). */
  prunedThroughSeq: number;
  prunedCount: number;
  /** The signed prune record appended to the chain, when something was pruned. */
  record: AuditEntry | undefined;
}

export interface AuditLedgerStats {
  head: { seq: number; hash: string };
  checkpointedTreeSize: number;
  available: boolean;
  witnesses: WitnessQueueStats[];
  sinks: AuditSinkStats[];
}

type Job =
  | { type: 'entry'; event: AuditEventInput }
  | { type: 'checkpoint' }
  | { type: 'prune'; olderThan: number };
type JobResult = AuditEntry | AuditCheckpoint | PruneResult | undefined;

export class AuditLedger {
  readonly tenant: string;
  readonly #repo: AuditRepository;
  readonly #key: AuditSigningKey;
  readonly #every: number;
  readonly #now: () => number;
  readonly #log: Logger;
  readonly #group: GroupCommit<Job, JobResult>;
  readonly #queues: WitnessQueue[];
  readonly #sinks: AuditSink[];
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | undefined;
  #seq = 0;
  #hash = GENESIS_HASH;
  #checkpointed = 0;
  #headKnown = false;
  #closing = false;

  private constructor(opts: AuditLedgerOptions) {
    this.tenant = opts.tenant;
    this.#repo = opts.repository;
    this.#key = opts.key;
    this.#every = Math.max(1, Math.trunc(opts.checkpointEvery ?? DEFAULT_CHECKPOINT_EVERY_ENTRIES));
    this.#intervalMs = Math.max(0, opts.checkpointIntervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS);
    this.#now = opts.now ?? Date.now;
    this.#log = (opts.logger ?? pino({ level: 'silent' })).child({ part: 'audit' });
    this.#group = new GroupCommit((jobs) => this.#commit(jobs), opts.groupCommit);
    this.#queues = (opts.witnesses ?? []).map(
      (w) => new WitnessQueue(w, { ...opts.witnessQueue, logger: this.#log }),
    );
    this.#sinks = opts.sinks ?? [];
  }

  /**
   * Reads the head of the trail from the store and starts the checkpoint timer. The latest stored
   * checkpoint is re-sent to every witness (catch-up after a restart). Throws `AuditError`
   * `AIRLOCK_AUDIT_UNAVAILABLE` when the store cannot be read.
   */
  static async open(opts: AuditLedgerOptions): Promise<AuditLedger> {
    const ledger = new AuditLedger(opts);
    try {
      await ledger.#loadHead();
    } catch (cause) {
      throw unavailable(cause);
    }
    const latest = await opts.repository.latestAuditCheckpoint().catch(() => undefined);
    const checkpoint = latest && parseCheckpoint(safeJson(latest.checkpoint));
    if (checkpoint) for (const q of ledger.#queues) q.enqueue(checkpoint);
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

  /** False after a failed commit until the store answers again (see `probe`). */
  get available(): boolean {
    return this.#headKnown && !this.#closing;
  }

  /**
   * Appends one entry; resolves once it is durable. Rejects with `AuditError`
   * `AIRLOCK_AUDIT_UNAVAILABLE` (store cannot write) or `AIRLOCK_AUDIT_CLOSED`.
   *
   * @example
   * await ledger.append({ kind: 'admin', action: 'killswitch.enable', actor: 'console:alice', target: 'erp.delete_invoice' });
   */
  async append(event: AuditEventInput): Promise<AuditEntry> {
    if (this.#closing) throw closedError();
    return (await this.#group.submit({ type: 'entry', event })) as AuditEntry;
  }

  /**
   * Signs a checkpoint over the current head now (if entries were added since the last one) and
   * queues it for the witnesses. Resolves with it, or `undefined` when there was nothing new.
   */
  async checkpoint(): Promise<AuditCheckpoint | undefined> {
    if (this.#closing) throw closedError();
    return (await this.#group.submit({ type: 'checkpoint' })) as AuditCheckpoint | undefined;
  }

  /**
   * Retention: deletes entries older than `olderThan` (epoch ms) and appends a signed prune record
   * (plus a checkpoint) in the same transaction, so the prune is visible and the remaining trail
   * still verifies. The newest entry is never pruned.
   *
   * @example
   * await ledger.prune({ olderThan: Date.now() - 365 * 24 * 3600_000 });
   */
  async prune(opts: { olderThan: number }): Promise<PruneResult> {
    if (this.#closing) throw closedError();
    return (await this.#group.submit({ type: 'prune', olderThan: opts.olderThan })) as PruneResult;
  }

  /** Re-reads the head from the store; true (and `available`) when the store answered. */
  async probe(): Promise<boolean> {
    if (this.#closing) return false;
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
      checkpointedTreeSize: this.#checkpointed,
      available: this.available,
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
    if (this.#headKnown && this.#seq > this.#checkpointed) {
      await this.#group.submit({ type: 'checkpoint' }).catch(() => undefined);
    }
    this.#closing = true;
    const drainMs = opts.drainMs ?? DEFAULT_CLOSE_DRAIN_MS;
    await Promise.all(this.#queues.map((q) => q.drain(drainMs)));
    await Promise.all(this.#queues.map((q) => q.close()));
    await Promise.all(this.#sinks.map((s) => s.close(drainMs).catch(() => undefined)));
  }

  #tick(): void {
    if (this.#closing || !this.#headKnown || this.#seq <= this.#checkpointed) return;
    this.#group.submit({ type: 'checkpoint' }).catch((err) => {
      this.#log.warn({ err: String(err) }, 'timed audit checkpoint failed');
    });
  }

  async #loadHead(): Promise<void> {
    const head = await this.#repo.auditHead();
    const latest = await this.#repo.latestAuditCheckpoint();
    this.#seq = head?.seq ?? 0;
    this.#hash = head?.hash ?? GENESIS_HASH;
    this.#checkpointed = latest?.treeSize ?? 0;
    this.#headKnown = true;
  }

  async #commit(jobs: Job[]): Promise<JobResult[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        if (!this.#headKnown) await this.#loadHead();
        const plan = await this.#plan(jobs);
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
        this.#headKnown = false;
        const raced = err instanceof StoreError && err.code === 'AIRLOCK_STORE_DUPLICATE';
        if (raced && attempt < MAX_SEQ_RACE_ATTEMPTS) continue;
        this.#log.error({ err: String(err) }, 'audit entries could not be written');
        throw unavailable(err);
      }
    }
  }

  async #plan(jobs: Job[]): Promise<{
    entries: AuditEntry[];
    /** Signed every `checkpointEvery` entries inside the batch, plus one at its end when asked for. */
    checkpoints: AuditCheckpoint[];
    pruneThroughSeq: number | undefined;
    seq: number;
    hash: string;
    results: (JobResult | typeof CHECKPOINT_SLOT)[];
  }> {
    const time = this.#now();
    let seq = this.#seq;
    let hash = this.#hash;
    const entries: AuditEntry[] = [];
    const results: (JobResult | typeof CHECKPOINT_SLOT)[] = [];
    let wantCheckpoint = false;
    let pruneThroughSeq: number | undefined;
    const checkpoints: AuditCheckpoint[] = [];
    let checkpointed = this.#checkpointed;
    const sign = () => {
      checkpoints.push(
        signCheckpoint(this.#key, { tenant: this.tenant, treeSize: seq, headHash: hash, time }),
      );
      checkpointed = seq;
    };
    const seal = (event: AuditEventInput | PruneAuditEvent): AuditEntry => {
      seq += 1;
      const entry = sealEntry({ seq, prevHash: hash, time, tenant: this.tenant }, event);
      hash = entry.hash;
      entries.push(entry);
      if (seq - checkpointed >= this.#every) sign();
      return entry;
    };
    for (const job of jobs) {
      if (job.type === 'entry') {
        results.push(seal(job.event));
      } else if (job.type === 'checkpoint') {
        wantCheckpoint = true;
        results.push(CHECKPOINT_SLOT);
      } else {
        const prune = await this.#planPrune(job.olderThan, pruneThroughSeq, time);
        if (!prune) {
          results.push({ prunedThroughSeq: 0, prunedCount: 0, record: undefined });
          continue;
        }
        pruneThroughSeq = prune.event.prunedThroughSeq;
        wantCheckpoint = true;
        results.push({
          prunedThroughSeq: pruneThroughSeq,
          prunedCount: prune.event.prunedCount,
          record: seal(prune.event),
        });
      }
    }
    if (wantCheckpoint && seq > checkpointed) sign();
    return { entries, checkpoints, pruneThroughSeq, seq, hash, results };
  }

  /** The prune record for entries older than `olderThan`, or undefined when there is nothing to prune. */
  async #planPrune(
    olderThan: number,
    alreadyThrough: number | undefined,
    time: number,
  ): Promise<{ event: PruneAuditEvent } | undefined> {
    const before = await this.#repo.lastAuditSeqBefore(olderThan);
    // Never prune the stored head: the chain must keep at least one stored entry before the record.
    const through = before === undefined ? undefined : Math.min(before, this.#seq - 1);
    if (through === undefined || through < 1 || (alreadyThrough !== undefined && through <= alreadyThrough)) {
      return undefined;
    }
    const [first] = await this.#repo.listAuditEntries({ limit: 1 });
    const target = await this.#repo.getAuditEntry(through);
    if (!first || !target || first.seq > through) return undefined;
    const fields = {
      tenant: this.tenant,
      prunedThroughSeq: through,
      prunedThroughHash: target.hash,
      olderThan,
      time,
    };
    return {
      event: {
        kind: 'prune',
        prunedThroughSeq: through,
        prunedThroughHash: target.hash,
        prunedCount: through - first.seq + 1,
        olderThan,
        keyId: this.#key.keyId,
        signature: signPrune(this.#key, fields),
      },
    };
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
    for (const checkpoint of checkpoints) for (const q of this.#queues) q.enqueue(checkpoint);
  }
}

/** Marks where a checkpoint job's result goes once the batch's checkpoint is known. */
const CHECKPOINT_SLOT = Symbol('checkpoint');

function checkpointRow(cp: AuditCheckpoint): AuditCheckpointRow {
  return { treeSize: cp.treeSize, headHash: cp.headHash, time: cp.time, checkpoint: canonicalJson(cp) };
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

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
