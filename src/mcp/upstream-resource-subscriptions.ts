/**
 * The resource URIs the gateway is subscribed to on one upstream, kept across reconnects (re-applied
 * each time the upstream becomes ready):
 *
 * - 2025-11-25 upstreams: `resources/subscribe` / `resources/unsubscribe`, one per URI;
 * - 2026-07-28 upstreams: one `subscriptions/listen` stream whose filter lists every URI
 *   (`resourceSubscriptions`), reopened (new one first, then the old one closed) when the set changes.
 *
 * Only when the upstream advertises `resources.subscribe`; otherwise the URIs are only remembered (the
 * upstream never sends updates for them). `notifications/resources/updated` from the upstream is
 * delivered by the `Upstream` (`onResourceUpdated`). Operations are serialized.
 *
 * @example
 * const subs = new UpstreamResourceSubscriptions('wiki', logger);
 * subs.attach({ client, era: 'legacy', supported: true, send: (m, p) => upstream.request(m, p) });
 * await subs.add('wiki://page/1');
 */

import type { Client, McpSubscription } from '@modelcontextprotocol/client';
import type { Logger } from 'pino';
import { redactedErrorText, redactLogText } from '../pii/log-redaction.js';
import { upstreamCallStorage } from './upstream-interaction.js';

/** Default most URIs one upstream subscription set may hold. */
export const DEFAULT_MAX_SUBSCRIBED_URIS = 10_000;

export interface SubscriptionTarget {
  client: Client;
  era: 'legacy' | 'modern';
  /** The upstream advertises `resources.subscribe`. */
  supported: boolean;
  /** Sends a 2025-11-25 (un)subscribe request (with the upstream's timeout and error mapping). */
  send: (
    method: 'resources/subscribe' | 'resources/unsubscribe',
    params: { uri: string },
  ) => Promise<unknown>;
}

export class UpstreamResourceSubscriptions {
  readonly #name: string;
  readonly #log: Logger;
  readonly #max: number;
  readonly #uris = new Set<string>();
  #target: SubscriptionTarget | undefined;
  #listen: McpSubscription | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(name: string, log: Logger, maxUris = DEFAULT_MAX_SUBSCRIBED_URIS) {
    this.#name = name;
    this.#log = log;
    this.#max = maxUris;
  }

  /** URIs currently subscribed. */
  uris(): string[] {
    return [...this.#uris];
  }

  /** A connection became ready: apply every remembered URI to it. */
  attach(target: SubscriptionTarget): void {
    this.#target = target;
    this.#listen = undefined;
    if (this.#uris.size === 0 || !target.supported) return;
    void this.#serial(async () => {
      if (this.#target !== target) return;
      if (target.era === 'modern') await this.#relisten(target);
      else
        for (const uri of this.#uris)
          await target.send('resources/subscribe', { uri }).catch((err: unknown) => this.#warn(uri, err));
    });
  }

  /** The connection went away (its subscriptions went with it). */
  detach(): void {
    this.#target = undefined;
    const listen = this.#listen;
    this.#listen = undefined;
    if (listen) void listen.close().catch(() => {});
  }

  /**
   * Subscribes to `uri`. Rejects with the upstream's error when a 2025-11-25 upstream refuses (the URI is
   * then not remembered).
   */
  add(uri: string): Promise<void> {
    return this.#serial(async () => {
      if (this.#uris.has(uri)) return;
      if (this.#uris.size >= this.#max) throw new RangeError(`more than ${this.#max} subscribed URIs`);
      const target = this.#target;
      if (target?.supported && target.era === 'legacy') await target.send('resources/subscribe', { uri });
      this.#uris.add(uri);
      if (target?.supported && target.era === 'modern') await this.#relisten(target);
    });
  }

  /** Unsubscribes from `uri` (errors from the upstream are logged, never thrown). */
  remove(uri: string): Promise<void> {
    return this.#serial(async () => {
      if (!this.#uris.delete(uri)) return;
      const target = this.#target;
      if (!target?.supported) return;
      if (target.era === 'legacy')
        await target.send('resources/unsubscribe', { uri }).catch((err: unknown) => this.#warn(uri, err));
      else await this.#relisten(target);
    });
  }

  async #relisten(target: SubscriptionTarget): Promise<void> {
    const old = this.#listen;
    this.#listen = undefined;
    if (this.#uris.size > 0) {
      try {
        // Outside any agent request: the stream is the gateway's, not the agent's.
        const listen = await upstreamCallStorage.exit(() =>
          target.client.listen({ resourceSubscriptions: [...this.#uris] }),
        );
        if (this.#target === target) this.#listen = listen;
        else void listen.close().catch(() => {});
      } catch (err) {
        this.#warn('(listen)', err);
      }
    }
    if (old) await old.close().catch(() => {});
  }

  #serial<T>(op: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(op, op);
    this.#queue = run.catch(() => {});
    return run;
  }

  #warn(uri: string, err: unknown): void {
    this.#log.warn(
      { upstream: this.#name, uri: redactLogText(uri), err: redactedErrorText(err) },
      'resource subscription failed',
    );
  }
}
