/**
 * Group commit: items submitted while a commit is in flight (or within `windowMs` of the first one)
 * are written together by ONE call of `commit`, so many concurrent appends share one transaction
 * and one fsync. Commits never overlap; each `submit` resolves with its own result once the commit
 * that carried it resolved, or rejects with the commit's error.
 *
 * @example
 * const group = new GroupCommit<string, number>(async (items) => {
 *   await db.transaction(...);     // write all items at once
 *   return items.map((_, i) => i); // one result per item, in order
 * });
 * const n = await group.submit('a');
 */

/** How long the first item of a batch waits for company before the commit starts: 0 = next turn of the event loop. */
export const DEFAULT_GROUP_COMMIT_WINDOW_MS = 0;
/** Most items in one commit. */
export const DEFAULT_GROUP_COMMIT_MAX_BATCH = 512;

export interface GroupCommitOptions {
  /** Default `DEFAULT_GROUP_COMMIT_WINDOW_MS` (0: commit on the next event-loop turn). */
  windowMs?: number;
  /** Default `DEFAULT_GROUP_COMMIT_MAX_BATCH` (512). */
  maxBatch?: number;
}

interface Waiting<I, R> {
  item: I;
  resolve: (result: R) => void;
  reject: (err: unknown) => void;
}

export class GroupCommit<I, R> {
  readonly #commit: (items: I[]) => Promise<R[]>;
  readonly #windowMs: number;
  readonly #maxBatch: number;
  #queue: Waiting<I, R>[] = [];
  #running: Promise<void> | undefined;
  #scheduled: NodeJS.Timeout | NodeJS.Immediate | undefined;

  constructor(commit: (items: I[]) => Promise<R[]>, opts: GroupCommitOptions = {}) {
    this.#commit = commit;
    this.#windowMs = Math.max(0, opts.windowMs ?? DEFAULT_GROUP_COMMIT_WINDOW_MS);
    this.#maxBatch = Math.max(1, Math.trunc(opts.maxBatch ?? DEFAULT_GROUP_COMMIT_MAX_BATCH));
  }

  /** Items waiting for a commit (not counting the one in flight). */
  get pending(): number {
    return this.#queue.length;
  }

  /** Queues `item` for the next commit. */
  submit(item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      this.#schedule();
    });
  }

  /** Resolves when nothing is queued or in flight. */
  async idle(): Promise<void> {
    while (this.#running || this.#scheduled || this.#queue.length > 0) {
      if (!this.#running && !this.#scheduled) this.#schedule();
      await (this.#running ?? new Promise((r) => setImmediate(r)));
    }
  }

  #schedule(): void {
    if (this.#running) return; // the running loop picks the queue up when its commit ends
    if (this.#queue.length >= this.#maxBatch) {
      this.#clearScheduled();
      this.#start();
      return;
    }
    if (this.#scheduled) return;
    this.#scheduled =
      this.#windowMs > 0
        ? setTimeout(() => this.#start(), this.#windowMs)
        : setImmediate(() => this.#start());
  }

  #clearScheduled(): void {
    if (this.#scheduled === undefined) return;
    clearTimeout(this.#scheduled as NodeJS.Timeout);
    clearImmediate(this.#scheduled as NodeJS.Immediate);
    this.#scheduled = undefined;
  }

  #start(): void {
    this.#clearScheduled();
    if (this.#running || this.#queue.length === 0) return;
    this.#running = this.#loop().finally(() => {
      this.#running = undefined;
      if (this.#queue.length > 0) this.#schedule();
    });
  }

  async #loop(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#maxBatch);
      try {
        const results = await this.#commit(batch.map((w) => w.item));
        batch.forEach((w, i) => {
          w.resolve(results[i] as R);
        });
      } catch (err) {
        for (const w of batch) w.reject(err);
      }
    }
  }
}
