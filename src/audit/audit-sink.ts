/**
 * Live sinks stream committed audit entries to systems the customer already runs (a syslog
 * collector, an OpenTelemetry collector). A sink must never slow down or block the gateway: `offer`
 * only puts the entry in a bounded in-memory queue and returns; a background loop delivers. When the
 * queue is full the OLDEST entry is dropped and counted — the ledger in the store stays the record
 * of truth, sinks are a copy.
 *
 * @example
 * const sink = new SyslogSink({ host: 'siem.internal', port: 6514, tls: { ca } });
 * const ledger = await AuditLedger.open({ ..., sinks: [sink] });
 */
import type { AuditEntry } from './audit-entry.js';

/** Default capacity of a sink's queue (entries). */
export const DEFAULT_SINK_MAX_QUEUE = 10_000;

export interface AuditSinkStats {
  name: string;
  queued: number;
  sent: number;
  /** Dropped because the queue was full (or rejected permanently by the receiver). */
  dropped: number;
  failures: number;
  lastError: string | undefined;
}

/** A live destination for committed entries. */
export interface AuditSink {
  readonly name: string;
  /** Queues an entry for delivery. Never throws, never waits. */
  offer(entry: AuditEntry): void;
  stats(): AuditSinkStats;
  /** Tries to deliver what is queued for up to `timeoutMs`, then stops. */
  close(timeoutMs?: number): Promise<void>;
}

/** A FIFO with a capacity that drops its oldest item when full. */
export class BoundedQueue<T> {
  readonly capacity: number;
  #items: T[] = [];
  #head = 0;
  dropped = 0;

  constructor(capacity: number) {
    this.capacity = Math.max(1, Math.trunc(capacity));
  }

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): void {
    if (this.length >= this.capacity) {
      this.#head += 1;
      this.dropped += 1;
    }
    this.#items.push(item);
    this.#compact();
  }

  /** Removes and returns up to `n` items from the front. */
  take(n: number): T[] {
    const out = this.#items.slice(this.#head, this.#head + n);
    this.#head += out.length;
    this.#compact();
    return out;
  }

  /** Puts items taken earlier back at the front (a failed delivery); the oldest overflow is dropped. */
  restore(items: readonly T[]): void {
    const room = this.capacity - this.length;
    const kept = room >= items.length ? items : items.slice(items.length - Math.max(0, room));
    this.dropped += items.length - kept.length;
    this.#items = [...kept, ...this.#items.slice(this.#head)];
    this.#head = 0;
  }

  #compact(): void {
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
  }
}
