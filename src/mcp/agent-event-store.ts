/**
 * SSE resumability for 2025-11-25 agent sessions: the SDK `EventStore` of one session's transport. Every
 * event written to the session's SSE streams gets an id (`id:`); an agent whose stream dropped reconnects
 * (GET with `Last-Event-ID`) and receives what it missed, on the stream it lost. With the store the SDK
 * also primes each stream with an id and the `retry:` interval (agents of 2025-11-25 and later).
 *
 * Bounded per session by {@link EventStoreLimits}: events kept per stream, bytes kept over all streams
 * (oldest events dropped first), and age. One store per session: an id presented to another session is
 * unknown there (400), so events never cross sessions. Stored messages are the ones written to the wire,
 * after the redaction boundary (agent-outbound-guard.ts wraps `send` before the SDK stores them).
 *
 * @example
 * new WebStandardStreamableHTTPServerTransport({ eventStore: new SessionEventStore(), retryInterval: 1_000 });
 */
import type { EventId, EventStore, JSONRPCMessage, StreamId } from '@modelcontextprotocol/server';

/** Default events kept per SSE stream of a session. */
export const DEFAULT_EVENT_STORE_MAX_EVENTS_PER_STREAM = 100;
/** Default bytes (serialised messages) kept per session over all its streams: 1 MiB. */
export const DEFAULT_EVENT_STORE_MAX_BYTES = 1024 * 1024;
/** Default age after which an event can no longer be replayed: 5 min. */
export const DEFAULT_EVENT_STORE_TTL_MS = 5 * 60 * 1000;
/** Default `retry:` the SDK sends agents: reconnect after 1 s. */
export const DEFAULT_SSE_RETRY_MS = 1000;

export interface EventStoreLimits {
  /** Default {@link DEFAULT_EVENT_STORE_MAX_EVENTS_PER_STREAM}. */
  maxEventsPerStream?: number;
  /** Default {@link DEFAULT_EVENT_STORE_MAX_BYTES}. */
  maxBytes?: number;
  /** Default {@link DEFAULT_EVENT_STORE_TTL_MS}. */
  ttlMs?: number;
}

interface StoredEvent {
  id: EventId;
  streamId: StreamId;
  seq: number;
  message: JSONRPCMessage;
  bytes: number;
  at: number;
}

export class SessionEventStore implements EventStore {
  readonly #maxPerStream: number;
  readonly #maxBytes: number;
  readonly #ttlMs: number;
  readonly #now: () => number;
  /** Events of each stream, oldest first. */
  readonly #streams = new Map<StreamId, StoredEvent[]>();
  /** Every event, oldest first (for the byte bound). */
  readonly #all: StoredEvent[] = [];
  readonly #byId = new Map<EventId, StoredEvent>();
  #bytes = 0;
  #seq = 0;

  constructor(limits: EventStoreLimits = {}, now: () => number = Date.now) {
    this.#maxPerStream = Math.max(1, limits.maxEventsPerStream ?? DEFAULT_EVENT_STORE_MAX_EVENTS_PER_STREAM);
    this.#maxBytes = Math.max(1, limits.maxBytes ?? DEFAULT_EVENT_STORE_MAX_BYTES);
    this.#ttlMs = Math.max(1, limits.ttlMs ?? DEFAULT_EVENT_STORE_TTL_MS);
    this.#now = now;
  }

  /** Bytes held now (for tests and metrics). */
  get bytes(): number {
    return this.#bytes;
  }

  async storeEvent(streamId: StreamId, message: JSONRPCMessage): Promise<EventId> {
    const seq = ++this.#seq;
    const id = `${seq}`;
    const bytes = JSON.stringify(message).length + streamId.length;
    const event: StoredEvent = { id, streamId, seq, message, bytes, at: this.#now() };
    const stream = this.#streams.get(streamId) ?? [];
    this.#streams.set(streamId, stream);
    stream.push(event);
    this.#all.push(event);
    this.#byId.set(id, event);
    this.#bytes += bytes;
    while (stream.length > this.#maxPerStream) this.#drop(stream[0]);
    this.#evict();
    return id;
  }

  async getStreamIdForEventId(eventId: EventId): Promise<StreamId | undefined> {
    this.#evict();
    return this.#byId.get(eventId)?.streamId;
  }

  /** Sends the events of `lastEventId`'s stream that came after it; unknown or expired ids replay nothing. */
  async replayEventsAfter(
    lastEventId: EventId,
    { send }: { send: (eventId: EventId, message: JSONRPCMessage) => Promise<void> },
  ): Promise<StreamId> {
    this.#evict();
    const last = this.#byId.get(lastEventId);
    if (!last) return '';
    for (const event of [...(this.#streams.get(last.streamId) ?? [])]) {
      if (event.seq > last.seq && event.message.jsonrpc !== undefined) await send(event.id, event.message);
    }
    return last.streamId;
  }

  /** Drops expired events, then the oldest ones while over the byte bound. */
  #evict(): void {
    const oldest = this.#now() - this.#ttlMs;
    while (this.#all.length > 0) {
      const first = this.#all[0];
      if (!first || (first.at >= oldest && this.#bytes <= this.#maxBytes)) break;
      this.#drop(first);
    }
  }

  #drop(event: StoredEvent | undefined): void {
    if (!event || !this.#byId.delete(event.id)) return;
    this.#bytes -= event.bytes;
    const stream = this.#streams.get(event.streamId);
    const i = stream?.indexOf(event) ?? -1;
    if (stream && i >= 0) stream.splice(i, 1);
    if (stream?.length === 0) this.#streams.delete(event.streamId);
    const j = this.#all.indexOf(event);
    if (j >= 0) this.#all.splice(j, 1);
  }
}
