/**
 * Delivers checkpoints to one witness without ever blocking the ledger: checkpoints wait in a
 * bounded queue, are sent oldest first, and an unreachable witness is retried with exponential
 * backoff (with jitter) until it answers; the connector keeps working meanwhile and catches up.
 *
 * Only the newest queued checkpoint is sent (tlog-witness needs a consistency proof from the
 * witness's size, given by `prover`); delivered sizes and older ones are dropped. A refusal (unknown
 * key or origin, malformed) is permanent for that checkpoint: it is reported through `onRefused`. A
 * witness that holds another history (409 on the same size, 422) stops the queue and is reported
 * through `onDiverged`: the ledger then refuses to extend the trail.
 *
 * @example
 * const queue = new WitnessQueue(new TlogWitnessClient({ url }), { onRefused: (cp, err) => alarm(err) });
 * queue.enqueue(checkpoint);
 * await queue.close();
 */
import pino, { type Logger } from 'pino';
import { AUDIT_ERROR_CODES, AuditError } from './audit-error.js';
import type { AuditCheckpoint } from './audit-signing.js';
import type { NoteSignature } from './signed-note.js';
import type { Witness, WitnessSubmitContext } from './witness-client.js';

/** Most checkpoints waiting for one witness; the oldest is dropped first (newer ones supersede it). */
export const DEFAULT_WITNESS_QUEUE_MAX = 1000;
/** First retry delay after a failed delivery. */
export const DEFAULT_WITNESS_RETRY_MIN_MS = 1_000;
/** Longest retry delay. */
export const DEFAULT_WITNESS_RETRY_MAX_MS = 300_000;

export interface WitnessQueueOptions {
  /** Default `DEFAULT_WITNESS_QUEUE_MAX` (1000). */
  maxQueue?: number;
  /** Default `DEFAULT_WITNESS_RETRY_MIN_MS` (1 s). */
  retryMinMs?: number;
  /** Default `DEFAULT_WITNESS_RETRY_MAX_MS` (5 min). */
  retryMaxMs?: number;
  /** Called when the witness refuses a checkpoint for good (this is an alarm: investigate). */
  onRefused?: (checkpoint: AuditCheckpoint, error: unknown) => void;
  /** Called after each delivered checkpoint, with the witness's cosignatures. */
  onWitnessed?: (checkpoint: AuditCheckpoint, cosignatures: NoteSignature[]) => void;
  /** Called when the witness holds a history the trail contradicts; the queue stops. */
  onDiverged?: (checkpoint: AuditCheckpoint, error: unknown) => void;
  /** Consistency proofs for the witness (the ledger's Merkle tree). */
  prover?: (oldSize: number, newSize: number) => Buffer[];
  /** Default: silent. */
  logger?: Logger;
}

export interface WitnessQueueStats {
  witness: string;
  pending: number;
  /** Largest tree size the witness acknowledged, 0 if none yet. */
  witnessedTreeSize: number;
  failures: number;
  refused: number;
  lastError: string | undefined;
}

export class WitnessQueue {
  readonly witness: Witness;
  readonly #maxQueue: number;
  readonly #retryMinMs: number;
  readonly #retryMaxMs: number;
  readonly #opts: WitnessQueueOptions;
  readonly #log: Logger;
  #pending: AuditCheckpoint[] = [];
  #witnessed = 0;
  #failures = 0;
  #refused = 0;
  #consecutiveFailures = 0;
  #lastError: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  #sending: Promise<void> | undefined;
  #abort = new AbortController();
  #closed = false;

  constructor(witness: Witness, opts: WitnessQueueOptions = {}) {
    this.witness = witness;
    this.#opts = opts;
    this.#maxQueue = Math.max(1, Math.trunc(opts.maxQueue ?? DEFAULT_WITNESS_QUEUE_MAX));
    this.#retryMinMs = Math.max(1, opts.retryMinMs ?? DEFAULT_WITNESS_RETRY_MIN_MS);
    this.#retryMaxMs = Math.max(this.#retryMinMs, opts.retryMaxMs ?? DEFAULT_WITNESS_RETRY_MAX_MS);
    this.#log = (opts.logger ?? pino({ level: 'silent' })).child({
      part: 'audit-witness',
      witness: witness.name,
    });
  }

  /** Queues a checkpoint for delivery; never throws, never waits. */
  enqueue(checkpoint: AuditCheckpoint): void {
    if (this.#closed || checkpoint.treeSize <= this.#witnessed) return;
    if (this.#pending.some((c) => c.treeSize === checkpoint.treeSize)) return;
    this.#pending.push(checkpoint);
    this.#pending.sort((a, b) => a.treeSize - b.treeSize);
    while (this.#pending.length > this.#maxQueue) this.#pending.shift();
    if (!this.#timer) this.#kick();
  }

  stats(): WitnessQueueStats {
    return {
      witness: this.witness.name,
      pending: this.#pending.length,
      witnessedTreeSize: this.#witnessed,
      failures: this.#failures,
      refused: this.#refused,
      lastError: this.#lastError,
    };
  }

  /** Resolves when the queue is empty or `timeoutMs` passed (tests, graceful shutdown). */
  async drain(timeoutMs = 5_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.#pending.length > 0 && Date.now() < deadline && !this.#closed) {
      if (this.#timer && !this.#sending) {
        clearTimeout(this.#timer);
        this.#timer = undefined;
        this.#kick();
      }
      await (this.#sending ?? new Promise((r) => setTimeout(r, 10)));
    }
    return this.#pending.length === 0;
  }

  /** Stops delivering; pending checkpoints are dropped (the ledger re-queues its latest on restart). */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#abort.abort();
    await this.#sending?.catch(() => {});
  }

  #kick(): void {
    if (this.#sending || this.#closed) return;
    this.#sending = this.#sendAll().finally(() => {
      this.#sending = undefined;
    });
  }

  async #sendAll(): Promise<void> {
    while (!this.#closed) {
      // The newest checkpoint supersedes older ones: tlog-witness only needs a proof from the witness's size.
      const next = this.#pending.at(-1);
      if (!next) return;
      const prover = this.#opts.prover;
      const ctx: WitnessSubmitContext = {
        consistencyProof: (old) => (prover ? prover(old, next.treeSize) : []),
      };
      try {
        const cosignatures = await this.witness.submit(next, ctx, this.#abort.signal);
        this.#witnessed = Math.max(this.#witnessed, next.treeSize);
        this.#pending = this.#pending.filter((c) => c.treeSize > this.#witnessed);
        this.#consecutiveFailures = 0;
        this.#opts.onWitnessed?.(next, cosignatures);
      } catch (err) {
        if (this.#closed) return;
        this.#lastError = err instanceof Error ? err.message : String(err);
        if (err instanceof AuditError && err.code === AUDIT_ERROR_CODES.witnessDiverged) {
          this.#refused += 1;
          this.#pending = [];
          this.#log.error(
            { treeSize: next.treeSize, err: this.#lastError },
            'audit witness holds another history',
          );
          this.#opts.onDiverged?.(next, err);
          return;
        }
        if (err instanceof AuditError && err.code === AUDIT_ERROR_CODES.witnessSuperseded) {
          this.#pending = this.#pending.filter((c) => c.treeSize > next.treeSize);
          this.#log.debug({ treeSize: next.treeSize }, 'checkpoint superseded at the witness');
          continue;
        }
        if (err instanceof AuditError && err.code === AUDIT_ERROR_CODES.witnessRefused) {
          this.#refused += 1;
          this.#pending = this.#pending.filter((c) => c !== next);
          this.#log.error(
            { treeSize: next.treeSize, err: this.#lastError },
            'audit witness refused a checkpoint',
          );
          this.#opts.onRefused?.(next, err);
          continue;
        }
        this.#failures += 1;
        this.#consecutiveFailures += 1;
        const delay = this.#retryDelay();
        this.#log.warn(
          { treeSize: next.treeSize, err: this.#lastError, retryInMs: delay },
          'audit witness unreachable',
        );
        this.#timer = setTimeout(() => {
          this.#timer = undefined;
          this.#kick();
        }, delay);
        this.#timer.unref();
        return;
      }
    }
  }

  #retryDelay(): number {
    const base = Math.min(
      this.#retryMaxMs,
      this.#retryMinMs * 2 ** Math.min(30, this.#consecutiveFailures - 1),
    );
    return Math.round(base / 2 + (Math.random() * base) / 2);
  }
}
