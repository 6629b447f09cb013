/**
 * Resource subscriptions of the catalog, reference counted per URI and held at the upstream that serves
 * the URI: the first subscriber subscribes there (its refusal is rethrown), the last one unsubscribes.
 *
 * @example
 * const subs = new CatalogSubscriptions((uri) => catalog.resolveResource(uri));
 * await subs.subscribe('wiki://page/1');
 * subs.ownerOf('wiki://page/1'); // the wiki upstream
 */
import { ResourceNotFoundError } from '@modelcontextprotocol/server';
import type { Upstream } from './upstream.js';

export class CatalogSubscriptions {
  readonly #resolve: (uri: string) => Upstream | undefined;
  /** Subscribed URIs: the owning upstream and how many subscribers (agent sessions, listen streams). */
  readonly #subs = new Map<string, { upstream: Upstream; count: number }>();

  constructor(resolve: (uri: string) => Upstream | undefined) {
    this.#resolve = resolve;
  }

  /** The upstream holding the subscription to `uri`, if subscribed. */
  ownerOf(uri: string): Upstream | undefined {
    return this.#subs.get(uri)?.upstream;
  }

  /** Adds one subscriber. Throws the SDK's resource-not-found error when no upstream serves `uri`. */
  async subscribe(uri: string): Promise<void> {
    const existing = this.#subs.get(uri);
    if (existing) {
      existing.count++;
      return;
    }
    const upstream = this.#resolve(uri);
    if (!upstream) throw new ResourceNotFoundError(uri);
    const entry = { upstream, count: 1 };
    this.#subs.set(uri, entry);
    try {
      await upstream.subscribeResource(uri);
    } catch (err) {
      if (--entry.count <= 0 && this.#subs.get(uri) === entry) this.#subs.delete(uri);
      throw err;
    }
  }

  /** Removes one subscriber; the last one unsubscribes at the upstream. Unknown URIs are ignored. */
  async unsubscribe(uri: string): Promise<void> {
    const entry = this.#subs.get(uri);
    if (!entry || --entry.count > 0) return;
    this.#subs.delete(uri);
    await entry.upstream.unsubscribeResource(uri);
  }
}

/**
 * A subscription to a URI no list names (a resource an upstream serves without listing it) goes to the
 * one upstream that takes subscriptions, when there is exactly one; with several, nothing says which.
 */
export function onlySubscribable(upstreams: readonly Upstream[]): Upstream | undefined {
  const able = upstreams.filter((u) => u.capabilities()?.resources?.subscribe === true);
  return able.length === 1 ? able[0] : undefined;
}
