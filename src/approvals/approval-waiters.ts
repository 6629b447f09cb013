/**
 * Calls held by the approval queue, waiting on a request id: each waits up to a time (it then
 * re-reads the store) and is woken at once by a decision or vote made in this process, by the
 * agent giving up, or when the queue closes.
 *
 * @example
 * const waiters = new HeldCallWaiters();
 * await waiters.wait('apr_1', 250, req.signal); // elsewhere: waiters.wake('apr_1')
 */
export class HeldCallWaiters {
  readonly #byId = new Map<string, Set<() => void>>();

  /** Sleeps `ms`, or less when `id` is woken or `signal` aborts. */
  wait(id: string, ms: number, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      let set = this.#byId.get(id);
      if (!set) {
        set = new Set();
        this.#byId.set(id, set);
      }
      const waiters = set;
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        waiters.delete(done);
        if (waiters.size === 0 && this.#byId.get(id) === waiters) this.#byId.delete(id);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      waiters.add(done);
    });
  }

  /** Wakes every call waiting on `id`. */
  wake(id: string): void {
    for (const done of [...(this.#byId.get(id) ?? [])]) done();
  }

  /** Wakes every held call (the queue is closing). */
  wakeAll(): void {
    for (const id of [...this.#byId.keys()]) this.wake(id);
  }
}
