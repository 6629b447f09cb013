/**
 * The catalog's runtime side in the connector: decides, per request, whether a tool may be listed and
 * called, from the pins in the store and the definitions the upstreams serve now.
 *
 * - Every served definition is hashed (`definitionOf`) and observed in the store: first sight records it
 *   (`tofu` mode: approved at once unless the poisoning scan has a finding above `low`, and only for
 *   tools of an upstream's first catalog — see first-catalog.ts; `review` mode: hidden until an admin
 *   approves), a changed definition is recorded as the served one while the approved one stays pinned —
 *   the tool is quarantined until an admin approves the diff.
 * - The kill switch (`disabled_tools`) refuses and hides a tool at once, even one no upstream serves.
 * - Freshness: the store's catalog revision is read on every request (`stateTtlMs` 0, the default) and
 *   the full state reloaded only when it changed, so a change made by `airlock tools …` in another
 *   process applies on the connector's next request. A TTL up to 1000 ms can be set to save that read.
 * - `onChanged` fires when what agents may see changed (approval, quarantine, kill switch), also for
 *   changes made elsewhere (a background poll every `pollIntervalMs`), so the endpoint can send
 *   `notifications/tools/list_changed` (`endpoint.notifyListChanged('tools')`).
 *
 * Fail closed: when the store cannot be read, `verdict` and `visibleTools` throw (the catalog stage
 * refuses the request).
 *
 * @example
 * const pinning = new ToolPinning({ store: store.catalog, catalog, mode: () => watcher.engine.catalogMode });
 * await pinning.start();
 * pinning.onChanged(() => endpoint.notifyListChanged('tools'));
 * const stages = [..., catalogStage({ pinning }), validate({ policy, definitions: pinning }), ...];
 */
import { type Logger, pino } from 'pino';
import type { CatalogRepository, DisabledToolRecord, ToolPinRecord } from '../store/store.js';
import { CatalogAdmin } from './catalog-admin.js';
import { CatalogError } from './catalog-error.js';
import { inFirstCatalog } from './first-catalog.js';
import { atLeast, DEFAULT_QUARANTINE_SEVERITY, type PinState, pinState } from './pin-state.js';
import { maxSeverity, type ScanFinding, type ScanSeverity, scanToolDefinition } from './poisoning-scan.js';
import { definitionOf, type ToolLike } from './tool-definition.js';

/** Default: the store's catalog revision is read on every request. */
export const DEFAULT_CATALOG_STATE_TTL_MS = 0;
/** Largest accepted `stateTtlMs`: a kill switch must apply within a second. */
export const MAX_CATALOG_STATE_TTL_MS = 1000;
/** Default interval of the background poll that notices changes made by other processes. */
export const DEFAULT_CATALOG_POLL_INTERVAL_MS = 1000;

/** Where the live tool definitions come from (an `UpstreamCatalog`). */
export interface LiveToolSource {
  tools(): readonly ToolLike[];
  /** Called when an aggregated list changed; the pinning re-observes the tools. */
  onChanged?(listener: (kind: string) => void): () => void;
  /** The upstream-local name of a namespaced tool (an `UpstreamCatalog` has it), to find its namespace. */
  resolveTool?(name: string): { name: string } | undefined;
}

export interface ToolPinningOptions {
  /** Usually `store.catalog`. */
  store: CatalogRepository;
  /** The live tools, usually the connector's `UpstreamCatalog`. */
  catalog: LiveToolSource;
  /** `tofu` or `review`, read at each first sight. Usually `() => watcher.engine.catalogMode`. */
  mode: () => 'tofu' | 'review';
  /** Default {@link DEFAULT_CATALOG_STATE_TTL_MS} (0: read the revision on every request); at most 1000. */
  stateTtlMs?: number;
  /** Default {@link DEFAULT_CATALOG_POLL_INTERVAL_MS}; 0 disables the background poll. */
  pollIntervalMs?: number;
  /** Never-approved definitions with a finding at least this severe are quarantined. Default `medium` (above `low`). */
  quarantineSeverity?: ScanSeverity;
  /** Epoch ms. Default `Date.now`. */
  now?: () => number;
  logger?: Logger;
}

/** What the catalog decides about one tool. */
export type ToolVerdict =
  | { status: 'approved'; tool: ToolLike; hash: string }
  | { status: 'disabled'; disabled: DisabledToolRecord }
  | {
      status: 'quarantined';
      reason: Exclude<PinState, 'approved'>;
      hash: string;
      approvedHash: string | null;
      findings: ScanFinding[];
    }
  /** No upstream serves a tool of that name (the terminal answers "unknown tool"). */
  | { status: 'unknown' };

/** A pinned definition, for the validate stage. */
export interface PinnedToolDefinition {
  tool: ToolLike;
  hash: string;
}

/**
 * What the validate stage needs: the approved definition of a tool; `null` when an upstream serves the
 * tool but its served definition is not the approved one (or it is disabled); `undefined` when no
 * upstream serves it.
 */
export interface ToolDefinitionLookup {
  definitionOf(name: string): PinnedToolDefinition | null | undefined;
}

interface State {
  revision: number;
  pins: Map<string, ToolPinRecord>;
  disabled: Map<string, DisabledToolRecord>;
}

export class ToolPinning implements ToolDefinitionLookup {
  readonly #store: CatalogRepository;
  readonly #catalog: LiveToolSource;
  readonly #mode: () => 'tofu' | 'review';
  readonly #ttl: number;
  readonly #pollMs: number;
  readonly #threshold: ScanSeverity;
  readonly #now: () => number;
  readonly #log: Logger;
  readonly #listeners = new Set<() => void>();
  readonly #observing = new Map<string, Promise<void>>();
  #state: State | undefined;
  #checkedAt = Number.NEGATIVE_INFINITY;
  #loading: Promise<void> | undefined;
  #liveList: readonly ToolLike[] | undefined;
  #liveByName = new Map<string, ToolLike>();
  #visibleSignature = '';
  #poll: NodeJS.Timeout | undefined;
  #offCatalog: (() => void) | undefined;
  #closed = false;

  constructor(options: ToolPinningOptions) {
    const ttl = options.stateTtlMs ?? DEFAULT_CATALOG_STATE_TTL_MS;
    if (!(ttl >= 0 && ttl <= MAX_CATALOG_STATE_TTL_MS)) {
      throw new CatalogError(
        'AIRLOCK_CATALOG_BAD_INPUT',
        `stateTtlMs must be between 0 and ${MAX_CATALOG_STATE_TTL_MS} ms`,
      );
    }
    this.#store = options.store;
    this.#catalog = options.catalog;
    this.#mode = options.mode;
    this.#ttl = ttl;
    this.#pollMs = options.pollIntervalMs ?? DEFAULT_CATALOG_POLL_INTERVAL_MS;
    this.#threshold = options.quarantineSeverity ?? DEFAULT_QUARANTINE_SEVERITY;
    this.#now = options.now ?? Date.now;
    this.#log = (options.logger ?? pino({ level: 'silent' })).child({ part: 'catalog-pins' });
  }

  /** Loads the state, observes the tools served now, follows catalog changes and starts the poll. */
  async start(): Promise<void> {
    await this.refresh(true);
    await this.sync();
    this.#visibleSignature = this.#signature();
    this.#offCatalog = this.#catalog.onChanged?.((kind) => {
      if (kind === 'tools') void this.sync().catch((err) => this.#warn(err, 'catalog sync failed'));
    });
    if (this.#pollMs > 0) {
      this.#poll = setInterval(() => {
        void this.refresh(true).catch((err) => this.#warn(err, 'catalog poll failed'));
      }, this.#pollMs);
      this.#poll.unref();
    }
  }

  /** Stops following changes. */
  close(): void {
    this.#closed = true;
    if (this.#poll) clearInterval(this.#poll);
    this.#poll = undefined;
    this.#offCatalog?.();
    this.#offCatalog = undefined;
  }

  /**
   * Called when the set of tools agents may see changed. Returns an unsubscribe function.
   *
   * @example
   * pinning.onChanged(() => endpoint.notifyListChanged('tools'));
   */
  onChanged(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * An admin bound to this runtime: its changes are applied (and `onChanged` fired) before it returns.
   *
   * @example
   * await pinning.admin({ actor: 'alice' }).disable('erp.delete_customer', 'incident 42');
   */
  admin(opts: { actor?: string } = {}): CatalogAdmin {
    return new CatalogAdmin({
      store: this.#store,
      actor: opts.actor,
      now: this.#now,
      quarantineSeverity: this.#threshold,
      onChange: () => this.refresh(true),
    });
  }

  /**
   * Makes sure the state reflects the store: reads the catalog revision (unless read less than
   * `stateTtlMs` ago, or `force`) and reloads everything when it changed. Each call reads the revision
   * itself (never a read that started before it), so a change committed before a request arrived is
   * always seen by that request.
   */
  async refresh(force = false): Promise<void> {
    const startedAt = this.#now();
    if (!force && this.#state && startedAt - this.#checkedAt < this.#ttl) return;
    const revision = await this.#store.catalogRevision();
    if (startedAt > this.#checkedAt) this.#checkedAt = startedAt;
    while (!this.#state || this.#state.revision < revision) {
      if (!this.#loading) {
        this.#loading = this.#load().finally(() => {
          this.#loading = undefined;
        });
      }
      // A load already in flight may have started before `revision`: the loop then loads once more.
      await this.#loading;
    }
  }

  /** Observes every tool the upstreams serve now (records first sights and changes in the store). */
  async sync(): Promise<void> {
    await this.refresh();
    const pending: Promise<void>[] = [];
    for (const tool of this.#live().values()) {
      const pin = this.#state?.pins.get(tool.name);
      if (!pin || pin.observedHash !== definitionOf(tool).hash) pending.push(this.#observe(tool));
    }
    await Promise.all(pending);
    this.#emitIfVisibleChanged();
  }

  /**
   * The verdict on calling `name` now (refreshes the state and observes the served definition first).
   *
   * @example
   * const v = await pinning.verdict('erp.search'); // { status: 'approved', tool, hash }
   */
  async verdict(name: string): Promise<ToolVerdict> {
    await this.refresh();
    const disabled = this.#state?.disabled.get(name);
    if (disabled) return { status: 'disabled', disabled };
    const tool = this.#live().get(name);
    if (!tool) return { status: 'unknown' };
    const { hash } = definitionOf(tool);
    let pin = this.#state?.pins.get(name);
    if (!pin || pin.observedHash !== hash) {
      await this.#observe(tool);
      pin = this.#state?.pins.get(name);
      // A second request of the same tool may find the state disabled in between: check again.
      const off = this.#state?.disabled.get(name);
      if (off) return { status: 'disabled', disabled: off };
    }
    if (!pin) return { status: 'unknown' };
    if (pin.approvedHash === hash) return { status: 'approved', tool, hash };
    const derived = pinState({ ...pin, observedHash: hash }, this.#threshold);
    return {
      status: 'quarantined',
      reason: derived.state === 'approved' ? 'changed' : derived.state,
      hash,
      approvedHash: pin.approvedHash,
      findings: derived.findings,
    };
  }

  /**
   * `tools` without the ones agents may not see now: disabled, never approved, or changed since approval.
   *
   * @example
   * const { tools } = await next(ctx); return { tools: await pinning.visibleTools(tools) };
   */
  async visibleTools<T extends ToolLike>(tools: readonly T[]): Promise<T[]> {
    await this.refresh();
    const unseen = tools.filter((t) => this.#state?.pins.get(t.name)?.observedHash !== definitionOf(t).hash);
    if (unseen.length > 0) await Promise.all(unseen.map((t) => this.#observe(t)));
    const state = this.#state;
    if (!state) return [];
    return tools.filter((t) => {
      if (state.disabled.has(t.name)) return false;
      const pin = state.pins.get(t.name);
      return pin !== undefined && pin.approvedHash !== null && pin.approvedHash === definitionOf(t).hash;
    });
  }

  /**
   * The served definition of `name` when it is the approved one and the tool is not disabled; `null`
   * when served but not approved (or disabled); `undefined` when no upstream serves it. Synchronous:
   * uses the state loaded by the last `verdict` / `refresh`.
   */
  definitionOf(name: string): PinnedToolDefinition | null | undefined {
    const tool = this.#live().get(name);
    if (!tool) return undefined;
    const state = this.#state;
    if (!state || state.disabled.has(name)) return null;
    const { hash } = definitionOf(tool);
    return state.pins.get(name)?.approvedHash === hash ? { tool, hash } : null;
  }

  // ---------------------------------------------------------------------------------------------

  async #load(): Promise<void> {
    const snapshot = await this.#store.catalogSnapshot();
    if (this.#state && snapshot.revision < this.#state.revision) return;
    this.#state = {
      revision: snapshot.revision,
      pins: new Map(snapshot.pins.map((p) => [p.tool, p])),
      disabled: new Map(snapshot.disabled.map((d) => [d.tool, d])),
    };
    this.#emitIfVisibleChanged();
  }

  #observe(tool: ToolLike): Promise<void> {
    const def = definitionOf(tool);
    const key = `${tool.name}\0${def.hash}`;
    const inflight = this.#observing.get(key);
    if (inflight) return inflight;
    const run = (async () => {
      const findings = scanToolDefinition(def.fields);
      const flagged = atLeast(maxSeverity(findings), this.#threshold);
      const { record, change } = await this.#store.observeTool({
        tool: tool.name,
        hash: def.hash,
        definition: def.canonical,
        findings: JSON.stringify(findings),
        at: this.#now(),
        autoApprove:
          this.#mode() === 'tofu' &&
          !flagged &&
          this.#state !== undefined &&
          inFirstCatalog(this.#state.pins, tool.name, (n) => this.#catalog.resolveTool?.(n)),
      });
      if (this.#state) this.#state.pins.set(tool.name, record);
      if (change === 'changed' && record.approvedHash !== null && record.approvedHash !== def.hash) {
        this.#log.warn(
          { tool: tool.name, approved: record.approvedHash, served: def.hash },
          'tool definition changed since approval: quarantined until an admin approves the diff',
        );
      } else if (flagged && record.approvedHash !== def.hash) {
        this.#log.warn(
          { tool: tool.name, findings: findings.length },
          'tool definition flagged by the poisoning scan: quarantined',
        );
      } else if (change === 'first-seen' && record.approvedHash === null) {
        this.#log.info({ tool: tool.name }, 'new tool awaits review');
      }
      if (change !== 'unchanged') this.#emitIfVisibleChanged();
    })().finally(() => this.#observing.delete(key));
    this.#observing.set(key, run);
    return run;
  }

  #live(): Map<string, ToolLike> {
    const list = this.#catalog.tools();
    if (list !== this.#liveList) {
      this.#liveList = list;
      this.#liveByName = new Map(list.map((t) => [t.name, t]));
    }
    return this.#liveByName;
  }

  /** Names and hashes of the tools visible now: a change means agents should re-list. */
  #signature(): string {
    const state = this.#state;
    if (!state) return '';
    const visible: string[] = [];
    for (const tool of this.#live().values()) {
      if (state.disabled.has(tool.name)) continue;
      const hash = definitionOf(tool).hash;
      if (state.pins.get(tool.name)?.approvedHash === hash) visible.push(`${tool.name}@${hash}`);
    }
    return visible.sort().join('\n');
  }

  #emitIfVisibleChanged(): void {
    if (this.#closed) return;
    const signature = this.#signature();
    if (signature === this.#visibleSignature) return;
    this.#visibleSignature = signature;
    for (const listener of this.#listeners) {
      try {
        listener();
      } catch (err) {
        this.#warn(err, 'catalog change listener failed');
      }
    }
  }

  #warn(err: unknown, message: string): void {
    this.#log.warn({ err: err instanceof Error ? err.message : String(err) }, message);
  }
}
