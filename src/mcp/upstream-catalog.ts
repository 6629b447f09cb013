/**
 * Aggregation of several upstream MCP servers into one catalog for agents.
 *
 * - Tools and prompts are namespaced `<upstream><separator><name>` (separator default `.`), e.g.
 *   `erp.lookup_invoice`; calls are routed by a table built from the upstreams' lists, never by parsing.
 *   With `prefix: false` names are exposed as the upstreams give them (meant for a single upstream, so
 *   that agents see that server exactly; with several, collisions resolve as below).
 * - Resource URIs are kept as the upstream gives them; `resources/read` is routed by a table built from
 *   `resources/list`, then by matching each upstream's resource templates in config order.
 * - Collisions (same namespaced name, same URI, same URI template) are resolved deterministically: the
 *   first upstream in config order wins, and the loser is logged.
 * - Lists are fetched page by page (following `nextCursor`) when an upstream becomes ready (also after
 *   each restart) and whenever it sends `notifications/<kind>/list_changed`; `onChanged` fires when the
 *   aggregated list actually changed, so the endpoint can tell connected agents.
 * - Resource subscriptions are reference counted per URI and held at the upstream that serves the URI
 *   (`subscribeResource`); its `notifications/resources/updated` reach `onResourceUpdated` listeners.
 *   `setLoggingLevel` reaches every 2025-11-25 upstream that advertises `logging`.
 * - While an upstream is down its last known entries stay listed, so a call gets the clear
 *   "upstream unavailable, restarting" error instead of "unknown tool".
 *
 * @example
 * const catalog = UpstreamCatalog.fromConfig(config.upstreams, { logger });
 * await catalog.start();
 * catalog.tools().map((t) => t.name); // ['erp.lookup_invoice', 'wiki.search', ...]
 */

import {
  type LoggingLevel,
  type Prompt,
  ProtocolError,
  type Resource,
  ResourceNotFoundError,
  type ResourceTemplateType,
  type Tool,
  UriTemplate,
} from '@modelcontextprotocol/server';
import { type Logger, pino } from 'pino';
import { UpstreamError } from '../errors/airlock-error.js';
import { JSONRPC_INVALID_PARAMS, WireError } from '../errors/wire-error.js';
import { runWithUpstreamHeaders } from '../identity/upstream-token-context.js';
import {
  type ListKind,
  Upstream,
  type UpstreamOptions,
  type UpstreamRequestOptions,
  type UpstreamStatus,
} from './upstream.js';
import type { UpstreamConfig } from './upstream-config.js';

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

/** Where a namespaced name or URI goes. */
export interface CatalogRoute {
  upstream: Upstream;
  /** The name (or URI) as the upstream knows it. */
  name: string;
}

interface Snapshot {
  tools: Tool[];
  prompts: Prompt[];
  resources: Resource[];
  resourceTemplates: ResourceTemplateType[];
}

interface Tables {
  tools: Tool[];
  prompts: Prompt[];
  resources: Resource[];
  resourceTemplates: ResourceTemplateType[];
  toolRoutes: Map<string, CatalogRoute>;
  promptRoutes: Map<string, CatalogRoute>;
  resourceRoutes: Map<string, Upstream>;
  templateRoutes: { template: UriTemplate; raw: string; upstream: Upstream }[];
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
  readonly #log: Logger;
  readonly #snapshots = new Map<string, Snapshot>();
  readonly #refreshSeq = new Map<string, number>();
  readonly #listeners = new Set<(kind: CatalogListKind) => void>();
  readonly #resourceUpdatedListeners = new Set<(uri: string) => void>();
  /** Subscribed resource URIs: the owning upstream and how many subscribers (agent sessions, listen streams). */
  readonly #resourceSubs = new Map<string, { upstream: Upstream; count: number }>();
  readonly #unsubscribe: (() => void)[] = [];
  #tables: Tables = emptyTables();
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
        upstream.onResourceUpdated((uri) => {
          if (this.#resourceSubs.get(uri)?.upstream !== upstream) return;
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
  async subscribeResource(uri: string): Promise<void> {
    const existing = this.#resourceSubs.get(uri);
    if (existing) {
      existing.count++;
      return;
    }
    const upstream = this.resolveResource(uri);
    if (!upstream) throw new ResourceNotFoundError(uri);
    const entry = { upstream, count: 1 };
    this.#resourceSubs.set(uri, entry);
    try {
      await upstream.subscribeResource(uri);
    } catch (err) {
      if (--entry.count <= 0 && this.#resourceSubs.get(uri) === entry) this.#resourceSubs.delete(uri);
      throw err;
    }
  }

  /** Removes one subscriber from `uri`; the last one unsubscribes at the upstream. Unknown URIs are ignored. */
  async unsubscribeResource(uri: string): Promise<void> {
    const entry = this.#resourceSubs.get(uri);
    if (!entry || --entry.count > 0) return;
    this.#resourceSubs.delete(uri);
    await entry.upstream.unsubscribeResource(uri);
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
  async callTool(
    params: Record<string, unknown>,
    options: UpstreamRequestOptions = {},
  ): Promise<Record<string, unknown>> {
    const name = String(params.name ?? '');
    const route = this.resolveTool(name);
    if (!route)
      throw new WireError(JSONRPC_INVALID_PARAMS, 'AIRLOCK_TOOL_UNKNOWN', `Unknown tool '${name}'`, {
        tool: name,
      });
    return this.#forward(route.upstream, 'tools/call', { ...params, name: route.name }, options);
  }

  /** Forwards `prompts/get` for a namespaced prompt. Throws -32602 `AIRLOCK_PROMPT_UNKNOWN` for unknown names. */
  async getPrompt(
    params: Record<string, unknown>,
    options: UpstreamRequestOptions = {},
  ): Promise<Record<string, unknown>> {
    const name = String(params.name ?? '');
    const route = this.resolvePrompt(name);
    if (!route)
      throw new WireError(JSONRPC_INVALID_PARAMS, 'AIRLOCK_PROMPT_UNKNOWN', `Unknown prompt '${name}'`, {
        prompt: name,
      });
    return this.#forward(route.upstream, 'prompts/get', { ...params, name: route.name }, options);
  }

  /** Forwards `resources/read`. Throws the SDK's resource-not-found error (-32602, data.uri) when no upstream has it. */
  async readResource(
    params: Record<string, unknown>,
    options: UpstreamRequestOptions = {},
  ): Promise<Record<string, unknown>> {
    const uri = String(params.uri ?? '');
    const upstream = this.resolveResource(uri);
    if (!upstream) throw new ResourceNotFoundError(uri);
    return this.#forward(upstream, 'resources/read', params, options);
  }

  /** Forwards `completion/complete` to the upstream owning the referenced prompt or resource template. */
  async complete(
    params: Record<string, unknown>,
    options: UpstreamRequestOptions = {},
  ): Promise<Record<string, unknown>> {
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
    const updates: Partial<Snapshot> = {};
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
            this.#log.warn(
              { upstream: upstream.name, list, err: err instanceof Error ? err.message : String(err) },
              'could not list',
            );
          }
        }),
      ),
    );
    if (Object.keys(updates).length === 0) return;
    const current = this.#snapshots.get(upstream.name) ?? {
      tools: [],
      prompts: [],
      resources: [],
      resourceTemplates: [],
    };
    this.#snapshots.set(upstream.name, { ...current, ...updates });
    this.#rebuild();
  }

  #exposedName(upstream: Upstream, name: string): string {
    return this.prefix ? `${upstream.name}${this.separator}${name}` : name;
  }

  #rebuild(): void {
    const next = emptyTables();
    for (const upstream of this.upstreams) {
      const snap = this.#snapshots.get(upstream.name);
      if (!snap) continue;
      for (const tool of snap.tools) {
        const exposed = this.#exposedName(upstream, tool.name);
        const existing = next.toolRoutes.get(exposed);
        if (existing) {
          this.#log.warn(
            { tool: exposed, kept: existing.upstream.name, dropped: upstream.name },
            'tool name collision',
          );
          continue;
        }
        next.toolRoutes.set(exposed, { upstream, name: tool.name });
        next.tools.push({ ...tool, name: exposed });
      }
      for (const prompt of snap.prompts) {
        const exposed = this.#exposedName(upstream, prompt.name);
        const existing = next.promptRoutes.get(exposed);
        if (existing) {
          this.#log.warn(
            { prompt: exposed, kept: existing.upstream.name, dropped: upstream.name },
            'prompt name collision',
          );
          continue;
        }
        next.promptRoutes.set(exposed, { upstream, name: prompt.name });
        next.prompts.push({ ...prompt, name: exposed });
      }
      for (const resource of snap.resources) {
        const existing = next.resourceRoutes.get(resource.uri);
        if (existing) {
          this.#log.warn(
            { uri: resource.uri, kept: existing.name, dropped: upstream.name },
            'resource URI collision',
          );
          continue;
        }
        next.resourceRoutes.set(resource.uri, upstream);
        next.resources.push(resource);
      }
      for (const template of snap.resourceTemplates) {
        const existing = next.templateRoutes.find((t) => t.raw === template.uriTemplate);
        if (existing) {
          this.#log.warn(
            { uriTemplate: template.uriTemplate, kept: existing.upstream.name, dropped: upstream.name },
            'template collision',
          );
          continue;
        }
        let parsed: UriTemplate;
        try {
          parsed = new UriTemplate(template.uriTemplate);
        } catch {
          this.#log.warn(
            { uriTemplate: template.uriTemplate, upstream: upstream.name },
            'invalid URI template skipped',
          );
          continue;
        }
        next.templateRoutes.push({ template: parsed, raw: template.uriTemplate, upstream });
        next.resourceTemplates.push(template);
      }
    }
    const previous = this.#tables;
    this.#tables = next;
    const changed: CatalogListKind[] = [];
    if (JSON.stringify(previous.tools) !== JSON.stringify(next.tools)) changed.push('tools');
    if (JSON.stringify(previous.prompts) !== JSON.stringify(next.prompts)) changed.push('prompts');
    if (
      JSON.stringify(previous.resources) !== JSON.stringify(next.resources) ||
      JSON.stringify(previous.resourceTemplates) !== JSON.stringify(next.resourceTemplates)
    ) {
      changed.push('resources');
    }
    for (const kind of changed) {
      for (const listener of this.#listeners) listener(kind);
    }
  }
}

function emptyTables(): Tables {
  return {
    tools: [],
    prompts: [],
    resources: [],
    resourceTemplates: [],
    toolRoutes: new Map(),
    promptRoutes: new Map(),
    resourceRoutes: new Map(),
    templateRoutes: [],
  };
}

const RESERVED_META_PREFIX = 'io.modelcontextprotocol/';

/**
 * `_meta` keys that belong to one hop (the protocol envelope, the agent's progress token) are not
 * forwarded: the SDK sets its own on the next hop.
 */
function withoutHopMeta(value: Record<string, unknown>, dropProgressToken: boolean): Record<string, unknown> {
  const meta = value._meta;
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) return value;
  const kept: Record<string, unknown> = {};
  let dropped = false;
  for (const [key, v] of Object.entries(meta as Record<string, unknown>)) {
    if (key.startsWith(RESERVED_META_PREFIX) || (dropProgressToken && key === 'progressToken')) {
      dropped = true;
      continue;
    }
    kept[key] = v;
  }
  if (!dropped) return value;
  const { _meta: _ignored, ...rest } = value;
  return Object.keys(kept).length > 0 ? { ...rest, _meta: kept } : rest;
}
