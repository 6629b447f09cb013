/**
 * A lease: at most one holder among the processes sharing a store, handed over when the holder goes
 * away. The audit trail uses one so that exactly one member of a connector pair signs checkpoints.
 *
 * On PostgreSQL it is a session-level advisory lock held by a dedicated connection
 * (`postgres-lease.ts`): when the holder's process dies, its connection drops and PostgreSQL releases
 * the lock, and a waiting member (blocked in `pg_advisory_lock`) gets it at once. SQLite serves one
 * process, so its lease is always held (`HeldLease`).
 *
 * @example
 * const lease = await store.audit.signerLease('acme');
 * lease.onChange((held) => log.info({ held }, 'checkpoint signer'));
 * if (lease.held) sign();
 * await lease.close();
 */

export interface StoreLease {
  /** The lease's name (unique per store). */
  readonly name: string;
  /** True while this process holds the lease. */
  readonly held: boolean;
  /** Called with the new state whenever `held` changes; returns an unsubscribe function. */
  onChange(listener: (held: boolean) => void): () => void;
  /** Releases the lease (if held) and stops waiting for it. */
  close(): Promise<void>;
}

/** Notifies listeners of a lease's state; shared by the lease implementations. */
export class LeaseState {
  #held = false;
  readonly #listeners = new Set<(held: boolean) => void>();

  get held(): boolean {
    return this.#held;
  }

  set(held: boolean): void {
    if (held === this.#held) return;
    this.#held = held;
    for (const listener of this.#listeners) listener(held);
  }

  onChange(listener: (held: boolean) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

/**
 * The lease of a single-process store (SQLite): held from the start until closed.
 *
 * @example
 * const lease = new HeldLease('audit-signer:acme'); // lease.held === true
 */
export class HeldLease implements StoreLease {
  readonly name: string;
  readonly #state = new LeaseState();

  constructor(name: string) {
    this.name = name;
    this.#state.set(true);
  }

  get held(): boolean {
    return this.#state.held;
  }

  onChange(listener: (held: boolean) => void): () => void {
    return this.#state.onChange(listener);
  }

  async close(): Promise<void> {
    this.#state.set(false);
  }
}
