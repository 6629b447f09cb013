/**
 * What an upstream connection tells the rest of the gateway, and the resource subscriptions it keeps
 * across restarts: the listener plumbing of `Upstream` (upstream.ts), which extends this class.
 *
 * @example
 * upstream.onResourceUpdated((uri) => tellAgents(uri));
 * await upstream.subscribeResource('wiki://page/1');
 */
import type { LoggingMessageNotificationParams } from '@modelcontextprotocol/client';
import type { Logger } from 'pino';
import { UpstreamError } from '../errors/airlock-error.js';
import { UpstreamResourceSubscriptions } from './upstream-resource-subscriptions.js';
import { DEFAULT_UPSTREAM_CONNECT_TIMEOUT_MS, type ListKind, type UpstreamStatus } from './upstream-types.js';

export abstract class UpstreamEvents {
  protected readonly log: Logger;
  protected readonly resourceSubscriptions: UpstreamResourceSubscriptions;
  readonly #resourceUpdatedListeners = new Set<(uri: string) => void>();
  readonly #listChangedListeners = new Set<(kind: ListKind) => void>();
  readonly #statusListeners = new Set<(status: UpstreamStatus) => void>();
  readonly #logListeners = new Set<(params: LoggingMessageNotificationParams) => void>();

  /** Current status (state, restarts, last error). */
  abstract status(): UpstreamStatus;

  constructor(name: string, log: Logger) {
    this.log = log;
    this.resourceSubscriptions = new UpstreamResourceSubscriptions(name, log);
  }

  /** Resolves when the upstream is ready (immediately if it is). Rejects after `timeoutMs`. */
  whenReady(timeoutMs = DEFAULT_UPSTREAM_CONNECT_TIMEOUT_MS): Promise<void> {
    if (this.status().state === 'ready') return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(
          new UpstreamError(
            'AIRLOCK_UPSTREAM_NOT_READY',
            `upstream '${this.status().name}' not ready after ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      const off = this.onStatusChange((s) => {
        if (s.state !== 'ready') return;
        clearTimeout(timer);
        off();
        resolve();
      });
    });
  }

  /** Called with the list kind when the upstream reports `notifications/<kind>/list_changed`. */
  onListChanged(listener: (kind: ListKind) => void): () => void {
    this.#listChangedListeners.add(listener);
    return () => this.#listChangedListeners.delete(listener);
  }

  /** Called on every state change (including each time the upstream becomes ready after a restart). */
  onStatusChange(listener: (status: UpstreamStatus) => void): () => void {
    this.#statusListeners.add(listener);
    return () => this.#statusListeners.delete(listener);
  }

  /** Called with the URI when the upstream sends `notifications/resources/updated` (see `subscribeResource`). */
  /** Log messages the upstream sent outside any agent request (unsolicited). */
  onUnsolicitedLog(listener: (params: LoggingMessageNotificationParams) => void): () => void {
    this.#logListeners.add(listener);
    return () => this.#logListeners.delete(listener);
  }

  onResourceUpdated(listener: (uri: string) => void): () => void {
    this.#resourceUpdatedListeners.add(listener);
    return () => this.#resourceUpdatedListeners.delete(listener);
  }

  /**
   * Subscribes the gateway to updates of `uri` (kept across restarts; see
   * upstream-resource-subscriptions.ts). A 2025-11-25 upstream's refusal is rethrown.
   */
  subscribeResource(uri: string): Promise<void> {
    return this.resourceSubscriptions.add(uri);
  }

  /** Ends the gateway's subscription to `uri`. */
  unsubscribeResource(uri: string): Promise<void> {
    return this.resourceSubscriptions.remove(uri);
  }

  /** Resource URIs the gateway is subscribed to on this upstream. */
  subscribedResources(): string[] {
    return this.resourceSubscriptions.uris();
  }

  protected emitListChanged(kind: ListKind): void {
    for (const listener of this.#listChangedListeners) listener(kind);
  }

  protected emitStatus(status: UpstreamStatus): void {
    for (const listener of this.#statusListeners) listener(status);
  }

  protected emitUnsolicitedLog(params: LoggingMessageNotificationParams): void {
    for (const listener of this.#logListeners) listener(params);
  }

  protected emitResourceUpdated(uri: string): void {
    for (const listener of this.#resourceUpdatedListeners) listener(uri);
  }
}
