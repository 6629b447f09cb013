/**
 * The live listeners of an approval queue (`queue.subscribe`): told of every change made through the
 * queue, and — while at least one listens — of changes made by other processes, found by polling the
 * pending requests every `intervalMs` and comparing their ids and vote counts.
 *
 * @example
 * const subs = new ApprovalSubscribers(() => queue.pending(500), 1_000, log);
 * const stop = subs.add((change) => render());
 * subs.notify({ type: 'created', approval });
 */
import type { Logger } from 'pino';
import type { ApprovalRecord } from '../store/store.js';
import type { ApprovalChange } from './approval-queue-options.js';

export class ApprovalSubscribers {
  readonly #listeners = new Set<(change: ApprovalChange) => void>();
  readonly #pending: () => Promise<ApprovalRecord[]>;
  readonly #intervalMs: number;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | undefined;
  #signature: string | undefined;
  #busy = false;
  #closed = false;

  constructor(pending: () => Promise<ApprovalRecord[]>, intervalMs: number, log: Logger) {
    this.#pending = pending;
    this.#intervalMs = intervalMs;
    this.#log = log;
  }

  /** Adds a listener (starting the store watch); returns the function that removes it. */
  add(listener: (change: ApprovalChange) => void): () => void {
    this.#listeners.add(listener);
    if (!this.#timer && !this.#closed) {
      this.#timer = setInterval(() => void this.#poll(), this.#intervalMs);
      this.#timer.unref();
      void this.#poll();
    }
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.#stop();
    };
  }

  /** Tells every listener; a throwing listener is logged and the others still hear. */
  notify(change: ApprovalChange): void {
    for (const listener of this.#listeners) {
      try {
        listener(change);
      } catch (err) {
        this.#log.warn({ err }, 'approval listener failed');
      }
    }
  }

  close(): void {
    this.#closed = true;
    this.#stop();
    this.#listeners.clear();
  }

  #stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#signature = undefined;
  }

  async #poll(): Promise<void> {
    if (this.#busy || this.#closed) return;
    this.#busy = true;
    try {
      const signature = (await this.#pending()).map((r) => `${r.id}:${r.votes?.length ?? 0}`).join(',');
      if (this.#signature !== undefined && signature !== this.#signature) this.notify({ type: 'external' });
      this.#signature = signature;
    } catch (err) {
      this.#log.debug({ err }, 'approval watch failed');
    } finally {
      this.#busy = false;
    }
  }
}
