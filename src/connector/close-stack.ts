/**
 * What an assembly opened, closed in reverse order: each step defers its own close as soon as the
 * thing is open, so a failure half-way closes exactly what was opened before it.
 *
 * @example
 * const opened = new CloseStack((err) => logger.warn({ err }, 'close failed'));
 * try {
 *   const store = await openStore(options);
 *   opened.defer(() => store.close());
 *   // … more steps …
 * } catch (err) {
 *   await opened.close();
 *   throw err;
 * }
 */
export class CloseStack {
  readonly #closers: Array<() => Promise<unknown> | unknown> = [];
  readonly #first: Array<() => void> = [];
  #closing: Promise<void> | undefined;

  /** @param onError what to do with a close that fails (the others still run). Default: rethrow after all ran. */
  constructor(private readonly onError?: (err: unknown) => void) {}

  /** Closes `fn`'s resource on `close()`, after everything deferred later. */
  defer(fn: () => Promise<unknown> | unknown): void {
    this.#closers.push(fn);
  }

  /** Runs `fn` first thing on `close()`, in the order given, before any deferred close (e.g. "stop expected"). */
  onClosing(fn: () => void): void {
    this.#first.push(fn);
  }

  /** Closes everything once (later calls share the first one's promise), newest first. */
  close(): Promise<void> {
    this.#closing ??= this.#closeAll();
    return this.#closing;
  }

  async #closeAll(): Promise<void> {
    for (const fn of this.#first) fn();
    let failure: { err: unknown } | undefined;
    for (const fn of this.#closers.reverse()) {
      try {
        await fn();
      } catch (err) {
        if (this.onError) this.onError(err);
        else failure ??= { err };
      }
    }
    if (failure) throw failure.err;
  }
}
