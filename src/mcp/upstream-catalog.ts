/**
 * Aggregation of several upstream MCP servers into one catalog for agents.
 *
 * - Tools and prompts are namespaced `<upstream><separator><name>` (e.g. `erp.lookup_invoice`), routed by
 *   a table built from the upstreams' lists (upstream-catalog-tables.ts), never by parsing; with
 *   `prefix: false` names are exposed as the upstreams give them (meant for a single upstream).
 * - Resource URIs are kept as the upstream gives them; `resources/read` is routed by a table built from
 *   `resources/list`, then by matching each upstream's resource templates in config order.
 * - Collisions (same name, URI or URI template): the first upstream in config order wins, the loser is logged.
 * - Lists are fetched page by page when an upstream becomes ready and on its `list_changed`;
 *   `onChanged` fires when the aggregated list actually changed, so the endpoint can tell agents.
 * - Resource subscriptions are reference counted per URI and held at the upstream that serves the URI
 *   (`subscribeResource`); its `notifications/resources/updated` reach `onResourceUpdated` listeners.
 *   `setLoggingLevel` reaches every 2025-11-25 upstream that advertises `logging`.
 * - While an upstream is down its last entries stay listed: a call gets "upstream unavailable", not "unknown".
 *
 * @example
 * const catalog = UpstreamCatalog.fromConfig(config.upstreams, { logger });
 * await catalog.start();
 * catalog.tools().map((t) => t.name); // ['erp.lookup_invoice', 'wiki.search', ...]
 */
import {
  type LoggingLevel,
  type LoggingMessageNotificationParams,
  type Prompt,
  ProtocolError,
  type Resource,
  ResourceNotFoundError,
  type ResourceTemplateType,
  type Tool,
} from '@modelcontextprotocol/server';
import { type Logger, pino } from 'pino';
import { UpstreamError } from '../errors/airlock-error.js';
import { JSONRPC_INVALID_PARAMS, WireError } from '../errors/wire-error.js';
import { runWithUpstreamHeaders } from '../identity/upstream-token-context.js';
import { redactedErrorText } from '../pii/log-redaction.js';
import {
  type ListKind,
  Upstream,
  type UpstreamOptions,
  type UpstreamRequestOptions,
  type UpstreamStatus,
} from './upstream.js';
import { CatalogFace } from './upstream-catalog-face.js';
import { CatalogSubscriptions, onlySubscribable } from './upstream-catalog-subscriptions.js';
import {
  buildCatalogTables,
  type CatalogRoute,
  type CatalogSnapshot,
  type CatalogTables,
  changedLists,
  emptyCatalogTables,
} from './upstream-catalog-tables.js';
import type { UpstreamConfig } from './upstream-config.js';
import { withoutHopMeta } from './upstream-hop-meta.js';

/** A request's params or an upstream's result. */
type Params = Record<string, unknown>;

export type { CatalogRoute } from './upstream-catalog-tables.js';

/** Default separator between the upstream name and the tool / prompt name. */
export const DEFAULT_NAMESPACE_SEPARATOR = '.';

/** The aggregated lists agents see; one `list_changed` notification each. */
export type CatalogListKind = 'tools' | 'prompts' | 'resources';

export interface UpstreamCatalogOptions {
  /** Separator for namespaced names. Default {@link DEFAULT_NAMESPACE_SEPARATOR}. Must be 1–3 characters. */
  separator?: string;
  /**
   * Prefix tool and prompt names with `<upstream><separator>`. Default `true`. `false` exposes the
   * upstream's own names (connector config `mcp.namespace: none`, one upstream only).
   */
  prefix?: boolean;
  /** Default silent. */
  logger?: Logger;
}

const KIND_LISTS: Record<CatalogListKind, ListKind[]> = {
  tools: ['tools'],
  prompts: ['prompts'],
  resources: ['resources', 'resourceTemplates'],
};

export class UpstreamCatalog {
  readonly upstreams: readonly Upstream[];
  readonly separator: string;
  /** Whether tool and prompt names carry the `<upstream><separator>` prefix. */
  readonly prefix: boolean;
  /** Capabilities and merged instructions of the upstreams, as agents see them. */
  readonly face: CatalogFace;
  readonly #log: Logger;
  readonly #snapshots = new Map<string, CatalogSnapshot>();
  readonly #refreshSeq = new Map<string, number>();
  readonly #listeners = new Set<(kind: CatalogListKind) => void>();
  readonly #resourceUpdatedListeners = new Set<(uri: string) => void>();
  readonly #logListeners = new Set<(upstream: string, params: LoggingMessageNotificationParams) => void>();
  readonly #resourceSubs = new CatalogSubscriptions(
    (uri) => this.resolveResource(uri) ?? onlySubscribable(this.upstreams),
  );
  readonly #unsubscribe: (() => void)[] = [];
  #tables: CatalogTables = emptyCatalogTables();
  #started = false;

  constructor(upstreams: readonly Upstream[], options: UpstreamCatalogOptions = {}) {
    const separator = options.separator ?? DEFAULT_NAMESPACE_SEPARATOR;
    if (separator.length < 1 || separator.length > 3) {
      throw new UpstreamError(
        'AIRLOCK_UPSTREAM_BAD_SEPARATOR',
        'namespace separator must be 1 to 3 characters',
      );
    }
    const names = new Set<string>();
    for (const u of upstreams) {
      if (names.has(u.name))
        throw new UpstreamError('AIRLOCK_UPSTREAM_DUPLICATE', `duplicate upstream name '${u.name}'`);
      names.add(u.name);
    }
    this.upstreams = upstreams;
    this.separator = separator;
    this.prefix = options.prefix ?? true;
    this.face = new CatalogFace(upstreams, { prefix: this.prefix });
    this.#log = (options.logger ?? pino({ level: 'silent' })).child({ part: 'catalog' });
  }

  /**
   * Builds the upstreams from configuration (config order = collision priority).
   *
   * @example
   * const catalog = UpstreamCatalog.fromConfig([{ name: 'erp', kind: 'stdio', command: 'erp-mcp' }]);
   */
  static fromConfig(
    configs: readonly UpstreamConfig[],
    options: UpstreamCatalogOptions & { upstream?: UpstreamOptions } = {},
  ): UpstreamCatalog {
    const upstreamOptions: UpstreamOptions = { logger: options.logger, ...options.upstream };
    return new UpstreamCatalog(
      configs.map((c) => new Upstream(c, upstreamOptions)),
      options,
    );
  }

  /** Starts every upstream (in parallel) and loads their lists. Resolves when each had its first attempt. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    for (const upstream of this.upstreams) {
      this.#unsubscribe.push(
        upstream.onStatusChange((s) => {
          if (s.state === 'ready') void this.#refreshUpstream(upstream, ['tools', 'prompts', 'resources']);
        }),
        upstream.onListChanged((kind) => {
          const list: CatalogListKind = kind === 'resourceTemplates' ? 'resources' : kind;
          void this.#refreshUpstream(upstream, [list]);
        }),
        upstream.onUnsolicitedLog((params) => {
          for (const listener of this.#logListeners) listener(upstream.name, params);
        }),
        upstream.onResourceUpdated((uri) => {
          if (this.#resourceSubs.ownerOf(uri) !== upstream) return;
          for (const listener of this.#resourceUpdatedListeners) listener(uri);
        }),
      );
    }
    await Promise.all(this.upstreams.map((u) => u.start()));
    await Promise.all(
      this.upstreams
        .filter((u) => u.status().state === 'ready')
        .map((u) => this.#refreshUpstream(u, ['tools', 'prompts', 'resources'])),
    );
  }

  /** Stops every upstream. */
  async close(): Promise<void> {
    for (const off of this.#unsubscribe.splice(0)) off();
    await Promise.all(this.upstreams.map((u) => u.close()));
  }

  /** Shutdown has begun (before children may get signals): lost upstreams are expected, not restarted. */
  beginStop(): void {
    for (const u of this.upstreams) u.beginStop();
  }

  /** Re-reads the lists of one upstream (or all), e.g. after an admin action. */
  async refresh(upstreamName?: string): Promise<void> {
    const targets = this.upstreams.filter((u) => upstreamName === undefined || u.name === upstreamName);
    await Promise.all(targets.map((u) => this.#refreshUpstream(u, ['tools', 'prompts', 'resources'])));
  }

  /** Status of every upstream, in config order. */
  status(): UpstreamStatus[] {
    return this.upstreams.map((u) => u.status());
  }

  /** Called with the aggregated list that changed. */
  onChanged(listener: (kind: CatalogListKind) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Called with log messages an upstream sent outside any agent request (unsolicited). */
  onUpstreamLog(listener: (upstream: string, params: LoggingMessageNotificationParams) => void): () => void {
    this.#logListeners.add(listener);
    return () => this.#logListeners.delete(listener);
  }

  /** Called with the URI when the upstream owning a subscribed resource reports it updated. */
  onResourceUpdated(listener: (uri: string) => void): () => void {
    this.#resourceUpdatedListeners.add(listener);
    return () => this.#resourceUpdatedListeners.delete(listener);
  }

  /**
   * Adds one subscriber to `uri` (reference counted; the first one subscribes at the owning upstream,
   * whose refusal is rethrown). Throws the SDK's resource-not-found error when no upstream serves it.
   *
   * @example
   * catalog.onResourceUpdated((uri) => notifySubscribers(uri));
   * await catalog.subscribeResource('wiki://page/1');
   */
  subscribeResource(uri: string): Promise<void> {
    return this.#resourceSubs.subscribe(uri);
  }

  /** Removes one subscriber from `uri`; the last one unsubscribes at the upstream. Unknown URIs are ignored. */
  unsubscribeResource(uri: string): Promise<void> {
    return this.#resourceSubs.unsubscribe(uri);
  }

  /**
   * Sets the log level of every 2025-11-25 upstream that advertises `logging` (2026-07-28 upstreams take
   * it per request). Refusals are logged by the upstream, never thrown.
   */
  async setLoggingLevel(level: LoggingLevel): Promise<void> {
    await Promise.all(this.upstreams.map((u) => u.setLoggingLevel(level)));
  }

  /** Namespaced tools. */
  tools(): Tool[] {
    return this.#tables.tools;
  }

  /** Namespaced prompts. */
  prompts(): Prompt[] {
    return this.#tables.prompts;
  }

  /** Resources, URIs as the upstreams give them. */
  resources(): Resource[] {
    return this.#tables.resources;
  }

  /** Resource templates, as the upstreams give them. */
  resourceTemplates(): ResourceTemplateType[] {
    return this.#tables.resourceTemplates;
  }

  /** Route of a namespaced tool name, or undefined. */
  resolveTool(name: string): CatalogRoute | undefined {
    return this.#tables.toolRoutes.get(name);
  }

  /** Route of a namespaced prompt name, or undefined. */
  resolvePrompt(name: string): CatalogRoute | undefined {
    return this.#tables.promptRoutes.get(name);
  }

  /** The upstream serving a resource URI (listed resource first, then templates in config order). */
  resolveResource(uri: string): Upstream | undefined {
    const listed = this.#tables.resourceRoutes.get(uri);
    if (listed) return listed;
    for (const t of this.#tables.templateRoutes) {
      if (t.template.match(uri) !== null) return t.upstream;
    }
    return undefined;
  }

  /** Forwards `tools/call` for a namespaced tool. Throws -32602 `AIRLOCK_TOOL_UNKNOWN` for unknown names. */
  callTool(params: Params, options: UpstreamRequestOptions = {}): Promise<Params> {
    return this.#forwardNamed('tool', params, options);
  }

  /** Forwards `prompts/get` for a namespaced prompt. Throws -32602 `AIRLOCK_PROMPT_UNKNOWN` for unknown names. */
  getPrompt(params: Params, options: UpstreamRequestOptions = {}): Promise<Params> {
    return this.#forwardNamed('prompt', params, options);
  }

  /** Forwards `resources/read`. Throws the SDK's resource-not-found error (-32602, data.uri) when no upstream has it. */
  async readResource(params: Params, options: UpstreamRequestOptions = {}): Promise<Params> {
    const uri = String(params.uri ?? '');
    const upstream = this.resolveResource(uri);
    if (!upstream) throw new ResourceNotFoundError(uri);
    return this.#forward(upstream, 'resources/read', params, options);
  }

  /** Forwards `completion/complete` to the upstream owning the referenced prompt or resource template. */
  async complete(params: Params, options: UpstreamRequestOptions = {}): Promise<Params> {
    const ref = (params.ref ?? {}) as Record<string, unknown>;
    if (ref.type === 'ref/prompt') {
      const route = this.resolvePrompt(String(ref.name ?? ''));
      if (!route)
        throw new WireError(
          JSONRPC_INVALID_PARAMS,
          'AIRLOCK_PROMPT_UNKNOWN',
          `Unknown prompt '${String(ref.name)}'`,
        );
      return this.#forward(
        route.upstream,
        'completion/complete',
        { ...params, ref: { ...ref, name: route.name } },
        options,
      );
    }
    if (ref.type === 'ref/resource') {
      const uri = String(ref.uri ?? '');
      const upstream =
        this.#tables.templateRoutes.find((t) => t.raw === uri)?.upstream ?? this.resolveResource(uri);
      if (!upstream) throw new ResourceNotFoundError(uri);
      return this.#forward(upstream, 'completion/complete', params, options);
    }
    throw new ProtocolError(JSONRPC_INVALID_PARAMS, 'Invalid completion reference');
  }

  // ---------------------------------------------------------------------------------------------

  /** Resolves a namespaced tool or prompt name and forwards the request with the upstream's own name. */
  async #forwardNamed(
    kind: 'tool' | 'prompt',
    params: Params,
    options: UpstreamRequestOptions,
  ): Promise<Params> {
    const name = String(params.name ?? '');
    const route = kind === 'tool' ? this.resolveTool(name) : this.resolvePrompt(name);
    if (!route) {
      const code = kind === 'tool' ? 'AIRLOCK_TOOL_UNKNOWN' : 'AIRLOCK_PROMPT_UNKNOWN';
      const noun = kind === 'tool' ? 'tool' : 'prompt';
      throw new WireError(JSONRPC_INVALID_PARAMS, code, `Unknown ${noun} '${name}'`, { [kind]: name });
    }
    const method = kind === 'tool' ? 'tools/call' : 'prompts/get';
    return this.#forward(route.upstream, method, { ...params, name: route.name }, options);
  }

  async #forward(
    upstream: Upstream,
    method: 'tools/call' | 'prompts/get' | 'resources/read' | 'completion/complete',
    params: Record<string, unknown>,
    options: UpstreamRequestOptions,
  ): Promise<Record<string, unknown>> {
    const send = () => upstream.request(method, withoutHopMeta(params, true), options);
    const headers = options.headersFor ? await options.headersFor(upstream.name) : undefined;
    const result =
      headers && Object.keys(headers).length > 0 ? await runWithUpstreamHeaders(headers, send) : await send();
    return withoutHopMeta(result, false);
  }

  async #refreshUpstream(upstream: Upstream, kinds: CatalogListKind[]): Promise<void> {
    const updates: Partial<CatalogSnapshot> = {};
    await Promise.all(
      kinds.flatMap((kind) =>
        KIND_LISTS[kind].map(async (list) => {
          const key = `${upstream.name}\0${list}`;
          const seq = (this.#refreshSeq.get(key) ?? 0) + 1;
          this.#refreshSeq.set(key, seq);
          try {
            const items = await upstream.listAll(list);
            if (this.#refreshSeq.get(key) !== seq) return; // a newer refresh superseded this one
            (updates as Record<string, unknown>)[list] = items;
          } catch (err) {
            this.#log.warn({ upstream: upstream.name, list, err: redactedErrorText(err) }, 'could not list');
          }
        }),
      ),
    );
    if (Object.keys(updates).length === 0) return;
    const none: CatalogSnapshot = { tools: [], prompts: [], resources: [], resourceTemplates: [] };
    const current = this.#snapshots.get(upstream.name) ?? none;
    this.#snapshots.set(upstream.name, { ...current, ...updates });
    this.#rebuild();
  }

  #rebuild(): void {
    const next = buildCatalogTables(
      this.upstreams,
      this.#snapshots,
      (u, n) => (this.prefix ? `${u.name}${this.separator}${n}` : n),
      this.#log,
    );
    const previous = this.#tables;
    this.#tables = next;
    const changed = changedLists(previous, next);
    for (const kind of changed) {
      for (const listener of this.#listeners) listener(kind);
    }
  }
}
