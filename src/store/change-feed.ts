/**
 * Change notifications between processes that share a store: a revocation, a kill switch, a policy
 * change or an approval decided on one connector reaches the other members at once instead of at
 * their next poll. PostgreSQL carries them with `LISTEN/NOTIFY` (postgres-change-feed.ts); an
 * embedded SQLite store has one process, so its feed is in-process (this file).
 *
 * Notifications are hints, never the data: a subscriber re-reads the store. A lost notification
 * (a reconnect) is covered by the `resync` event, after which subscribers re-read everything.
 *
 * @example
 * store.changes.subscribe('identities', () => endpoint.checkRevocations());
 * await store.changes.publish('identities', { name: 'claims-bot' });
 */
import { EventEmitter } from 'node:events';

/** What changed; subscribers re-read that part of the store. */
export type ChangeTopic = 'identities' | 'catalog' | 'policy' | 'approvals' | 'accounts';

export interface Change {
  topic: ChangeTopic;
  /** Small hint (an id, a name); never personal data or secrets. */
  detail?: Record<string, string | number | boolean>;
  /** Process that published it (a member ignores nothing: its own changes arrive too). */
  origin: string;
}

export type ChangeHandler = (change: Change) => void;

export interface ChangeFeed {
  publish(topic: ChangeTopic, detail?: Change['detail']): Promise<void>;
  /** Returns the unsubscribe function. Handler errors are caught and never reach the publisher. */
  subscribe(topic: ChangeTopic | 'resync', handler: ChangeHandler): () => void;
  close(): Promise<void>;
}

export const PROCESS_ORIGIN = `${process.pid}@${Math.random().toString(36).slice(2, 10)}`;

/** Delivers changes to subscribers; shared by both feeds. */
export class ChangeFanout {
  private readonly emitter = new EventEmitter();

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  deliver(change: Change | { topic: 'resync'; origin: string }): void {
    for (const listener of this.emitter.listeners(change.topic)) {
      try {
        (listener as ChangeHandler)(change as Change);
      } catch {
        // a subscriber's failure is its own; the feed keeps delivering
      }
    }
  }

  subscribe(topic: ChangeTopic | 'resync', handler: ChangeHandler): () => void {
    this.emitter.on(topic, handler);
    return () => this.emitter.off(topic, handler);
  }
}

/** The feed of a single-process store (SQLite). */
export class LocalChangeFeed implements ChangeFeed {
  private readonly fanout = new ChangeFanout();

  async publish(topic: ChangeTopic, detail?: Change['detail']): Promise<void> {
    const change: Change = { topic, origin: PROCESS_ORIGIN, ...(detail ? { detail } : {}) };
    queueMicrotask(() => this.fanout.deliver(change));
  }

  subscribe(topic: ChangeTopic | 'resync', handler: ChangeHandler): () => void {
    return this.fanout.subscribe(topic, handler);
  }

  async close(): Promise<void> {}
}
